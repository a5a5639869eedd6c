//! The generated endpoint registry against the pinned specification itself, read here
//! with plain `serde_json` (not through the generator): every public endpoint is
//! present under its name, with the specification's URL templates and methods, and
//! nothing else is. Needs the specification in the cache (`cargo xtask spec fetch`;
//! `cargo xtask codegen --check` fetches it too).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use elasticsearch_client::runtime::registry::apis;
use serde_json::Value;

/// `.cache/spec/<package>-<version>/schema.json`, as `api-spec/spec.toml` pins it.
fn spec_path() -> Result<PathBuf> {
    let root = local_node::workspace_root();
    let pin = std::fs::read_to_string(root.join("api-spec/spec.toml"))?;
    let version = pin
        .lines()
        .skip_while(|l| l.trim() != "[spec]")
        .find_map(|l| l.trim().strip_prefix("version = "))
        .context("api-spec/spec.toml has no [spec] version")?
        .trim_matches('"');
    Ok(root.join(format!(
        ".cache/spec/elastic-request-converter-{version}/schema.json"
    )))
}

/// The stack visibility of an endpoint (public when the specification says nothing).
fn visibility(endpoint: &Value) -> &str {
    endpoint["visibility"]
        .as_str()
        .or_else(|| endpoint["availability"]["stack"]["visibility"].as_str())
        .unwrap_or("public")
}

/// Path template → sorted methods.
type Urls = BTreeMap<String, BTreeSet<String>>;

#[test]
fn registry_holds_exactly_the_public_endpoints_of_the_spec() -> Result<()> {
    let path = spec_path()?;
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (fetch it with `cargo xtask spec fetch`)",
            path.display()
        )
    })?;
    let spec: Value = serde_json::from_slice(&text)?;
    let endpoints = spec["endpoints"]
        .as_array()
        .context("the specification has no endpoints array")?;

    let mut expected: BTreeMap<String, Urls> = BTreeMap::new();
    for e in endpoints {
        let excluded = e["codegenExclude"].as_bool().unwrap_or(false);
        if excluded || visibility(e) != "public" {
            continue;
        }
        let name = e["name"].as_str().context("an endpoint without a name")?;
        let mut urls = Urls::new();
        for url in e["urls"].as_array().into_iter().flatten() {
            let methods = url["methods"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect();
            urls.insert(url["path"].as_str().unwrap_or_default().to_owned(), methods);
        }
        expected.insert(name.to_owned(), urls);
    }

    let actual: BTreeMap<String, Urls> = apis()
        .iter()
        .map(|api| {
            let urls = api
                .paths
                .iter()
                .map(|p| {
                    let methods = p.methods.iter().map(|m| m.to_string()).collect();
                    (p.path.to_owned(), methods)
                })
                .collect();
            (api.name.to_owned(), urls)
        })
        .collect();

    let missing: Vec<&String> = expected
        .keys()
        .filter(|n| !actual.contains_key(*n))
        .collect();
    let extra: Vec<&String> = actual
        .keys()
        .filter(|n| !expected.contains_key(*n))
        .collect();
    ensure!(
        missing.is_empty(),
        "public endpoints missing from the registry: {missing:?}"
    );
    ensure!(
        extra.is_empty(),
        "registry entries the spec does not make public: {extra:?}"
    );
    let differing: Vec<&String> = expected
        .iter()
        .filter(|(name, urls)| actual.get(*name) != Some(urls))
        .map(|(name, _)| name)
        .collect();
    ensure!(
        differing.is_empty(),
        "URL templates or methods differ from the spec for: {differing:?}"
    );
    // The pinned 9.5 specification's count, as stated when it was pinned.
    ensure!(actual.len() == 563, "{} public endpoints", actual.len());
    Ok(())
}
