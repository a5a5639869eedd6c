//! Runs Elasticsearch's YAML REST tests against a node through the generated endpoint registry.
