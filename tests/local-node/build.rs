//! Takes the Elasticsearch release to run from `api-spec/spec.toml`, so bumping the
//! pinned specification and its server release there is the whole upgrade.

use std::path::Path;

fn main() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../api-spec/spec.toml");
    println!("cargo:rerun-if-changed={}", spec.display());
    let text = std::fs::read_to_string(&spec)
        .unwrap_or_else(|e| panic!("reading {}: {e}", spec.display()));
    let pin: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("parsing {}: {e}", spec.display()));
    let version = pin
        .get("elasticsearch")
        .and_then(|server| server.get("version"))
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("{} has no [elasticsearch] version", spec.display()));
    println!("cargo:rustc-env=LOCAL_ES_VERSION={version}");
}
