//! The contract between a request type and the client.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use crate::Error;

/// A request body and the media type it is sent with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RequestBody {
    /// One JSON document.
    Json(Bytes),
    /// Newline-delimited JSON (bulk, msearch, …): every line ends with `\n`.
    Ndjson(Bytes),
    /// Plain text.
    Text(Bytes),
    /// Bytes sent with the given content type.
    Binary {
        /// The `Content-Type` to send.
        content_type: &'static str,
        /// The bytes.
        bytes: Bytes,
    },
}

impl RequestBody {
    /// The body's bytes.
    pub fn bytes(&self) -> &Bytes {
        match self {
            RequestBody::Json(b) | RequestBody::Ndjson(b) | RequestBody::Text(b) => b,
            RequestBody::Binary { bytes, .. } => bytes,
        }
    }

    /// The media type the body is sent with; the transport turns the JSON ones into
    /// Elasticsearch's compatibility media types when those are enabled.
    pub fn content_type(&self) -> &'static str {
        match self {
            RequestBody::Json(_) => "application/json",
            RequestBody::Ndjson(_) => "application/x-ndjson",
            RequestBody::Text(_) => "text/plain",
            RequestBody::Binary { content_type, .. } => content_type,
        }
    }
}

/// A response as it arrived: status, headers and the whole body.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body bytes (empty for HEAD).
    pub body: Bytes,
}

impl RawResponse {
    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

/// One Elasticsearch API call: where it goes, what it carries, how its answer decodes.
///
/// Generated request types implement it; [`crate::Client::send`] uses it.
pub trait Endpoint {
    /// The decoded answer.
    type Response;

    /// The API's name in the specification, such as `indices.create`.
    const NAME: &'static str;

    /// The HTTP method, chosen from the URL pattern and whether a body is set.
    fn method(&self) -> Method;

    /// The request target: path and query string, percent-encoded.
    fn url(&self) -> String;

    /// The body, serialized, or `None`.
    fn body(&self) -> Result<Option<RequestBody>, Error> {
        Ok(None)
    }

    /// The media type to ask for (`Accept`).
    fn accept(&self) -> &'static str {
        "application/json"
    }

    /// Decodes the answer. `ignored` statuses count as success.
    fn decode(response: RawResponse, ignored: &[u16]) -> Result<Self::Response, Error>;
}

impl<E: Endpoint + ?Sized> Endpoint for &E {
    type Response = E::Response;
    const NAME: &'static str = E::NAME;

    fn method(&self) -> Method {
        (**self).method()
    }

    fn url(&self) -> String {
        (**self).url()
    }

    fn body(&self) -> Result<Option<RequestBody>, Error> {
        (**self).body()
    }

    fn accept(&self) -> &'static str {
        (**self).accept()
    }

    fn decode(response: RawResponse, ignored: &[u16]) -> Result<Self::Response, Error> {
        E::decode(response, ignored)
    }
}
