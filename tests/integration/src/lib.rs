//! Support for the integration tests: finding (and, in tests that need it, controlling)
//! the local Elasticsearch node(s) started by `cargo xtask es start`.
