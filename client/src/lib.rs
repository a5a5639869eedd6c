//! A typed Elasticsearch client, generated from the Elasticsearch specification.
//!
//! Every API is a request type implementing [`Endpoint`]; [`Client::send`] sends it
//! and decodes the typed response.

#![warn(missing_docs)]

mod api;
mod client;
mod endpoint;
mod error;
pub mod helpers;
pub mod runtime;

pub use crate::api::*;
pub use crate::client::{CallOptions, Client, ClientBuilder};
pub use crate::endpoint::{Endpoint, RawResponse, RequestBody};
pub use crate::error::{ApiError, Error};
pub use elasticsearch_transport as transport;
