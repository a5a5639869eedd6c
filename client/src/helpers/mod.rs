//! Helpers built on the client: bulk ingestion.

pub mod bulk;
