//! `cargo xtask spec fetch [--force]`: download the pinned specification with
//! `npm pack` into the git-ignored cache and verify both checksums.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Deserialize;

use crate::util::{npm_pack_extract, sha256_file, workspace_root};

#[derive(Parser)]
#[command(name = "cargo xtask spec")]
struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Download the pinned package and verify it (a cached copy is re-verified, not re-downloaded).
    Fetch {
        /// Download again even when a verified copy is cached.
        #[arg(long)]
        force: bool,
    },
    /// Print the path of the verified schema.json (fetching it first when needed).
    Path,
}

/// The contents of `api-spec/spec.toml`.
#[derive(Debug, Deserialize)]
pub struct Pin {
    /// The specification package.
    pub spec: SpecPin,
    /// The server release matching the specification.
    pub elasticsearch: ServerPin,
}

/// Which npm package and file hold the specification.
#[derive(Debug, Deserialize)]
pub struct SpecPin {
    pub package: String,
    pub version: String,
    pub file: String,
    pub tarball_sha256: String,
    pub file_sha256: String,
}

/// The Elasticsearch release served by the local node.
#[derive(Debug, Deserialize)]
pub struct ServerPin {
    pub version: String,
}

/// Reads `api-spec/spec.toml`.
pub fn pin() -> Result<Pin> {
    let path = workspace_root().join("api-spec/spec.toml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let pin: Pin = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    if minor(&pin.spec.version) != minor(&pin.elasticsearch.version) {
        bail!(
            "{}: the specification ({}) and the server release ({}) must share a minor version",
            path.display(),
            pin.spec.version,
            pin.elasticsearch.version
        );
    }
    Ok(pin)
}

pub fn run(args: &[String]) -> Result<()> {
    let args = crate::util::parse_args::<Args>("spec", args);
    match args.action {
        Action::Fetch { force } => {
            let path = fetch(force)?;
            println!("{}", path.display());
        }
        Action::Path => println!("{}", schema_path(None)?.display()),
    }
    Ok(())
}

/// The schema to generate from: `explicit` when given, else the pinned one
/// (fetched and verified on first use).
pub fn schema_path(explicit: Option<&Path>) -> Result<PathBuf> {
    match explicit {
        Some(path) => {
            if path.is_dir() {
                bail!(
                    "specification {} is a directory, not a file",
                    path.display()
                );
            }
            if !path.is_file() {
                bail!("specification {} does not exist", path.display());
            }
            Ok(path.to_path_buf())
        }
        None => fetch(false),
    }
}

fn cache_dir(pin: &SpecPin) -> PathBuf {
    let name = pin.package.trim_start_matches('@').replace('/', "-");
    workspace_root()
        .join(".cache/spec")
        .join(format!("{name}-{}", pin.version))
}

/// Downloads (unless cached) and verifies the pinned schema.json; returns its path.
pub fn fetch(force: bool) -> Result<PathBuf> {
    let pin = pin()?.spec;
    let dir = cache_dir(&pin);
    let schema = dir.join("schema.json");
    if !force && schema.is_file() && sha256_file(&schema)? == pin.file_sha256 {
        return Ok(schema);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    npm_pack_extract(
        &pin.package,
        &pin.version,
        Some(&pin.tarball_sha256),
        &pin.file,
        &dir,
        &schema,
    )?;
    let actual = sha256_file(&schema)?;
    if actual != pin.file_sha256 {
        let _ = fs::remove_file(&schema);
        bail!(
            "checksum mismatch for {}: expected {}, got {actual}; refusing to use it",
            pin.file,
            pin.file_sha256
        );
    }
    Ok(schema)
}
