//! Helpers built on the client: bulk ingestion and scans.

pub mod bulk;
pub mod scan;
