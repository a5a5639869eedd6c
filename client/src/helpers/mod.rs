//! Helpers built on the client: bulk ingestion, scans and client-side reindexing.

pub mod bulk;
pub mod reindex;
pub mod scan;
