//! Generates the typed Elasticsearch API from the Elasticsearch specification.
