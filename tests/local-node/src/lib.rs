//! Local Elasticsearch nodes for tests, the demo and benchmarks.
