//! Support for the integration tests: finding (and, in tests that need it, controlling)
//! the local Elasticsearch node(s) started by `cargo xtask es start`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The client for the tests: `ELASTICSEARCH_URL` when set, else the first node of the
/// cluster recorded by `cargo xtask es start`.
pub fn client() -> Result<elasticsearch_client::Client> {
    let url = node_url()?;
    elasticsearch_client::Client::new(&url).with_context(|| format!("client for {url}"))
}

/// The node URL the tests use: `ELASTICSEARCH_URL`, else node 0 of `target/es/cluster.json`.
pub fn node_url() -> Result<String> {
    if let Ok(url) = std::env::var("ELASTICSEARCH_URL") {
        return Ok(url);
    }
    let info = local_node::cluster_info()?;
    match info.nodes.first() {
        Some(node) => Ok(node.http_url.clone()),
        None => bail!("the recorded cluster has no nodes"),
    }
}

/// A file inside a published npm package, pinned by its SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct NpmFile {
    /// The npm package.
    pub package: &'static str,
    /// Its exact version.
    pub version: &'static str,
    /// The file's path inside the package.
    pub path: &'static str,
    /// The file's SHA-256, lowercase hex.
    pub sha256: &'static str,
}

/// `data/flights-200k.json` of `vega-datasets@3.2.1`: 200,000 flight records.
pub const FLIGHTS_200K: NpmFile = NpmFile {
    package: "vega-datasets",
    version: "3.2.1",
    path: "data/flights-200k.json",
    sha256: "82c60682ccdec1a9cf1102b2a011bef789243053f1ac01a531580c72be3d8bc0",
};

impl NpmFile {
    /// The verified file under `.cache/data/` (git-ignored), fetched with `npm pack`
    /// on first use. A file whose checksum differs is never used.
    pub fn fetch(&self) -> Result<PathBuf> {
        let dir = local_node::workspace_root()
            .join(".cache/data")
            .join(format!("{}-{}", self.package, self.version));
        let target = dir.join(self.path.replace('/', "_"));
        if !target.is_file() {
            npm_pack_member(self.package, self.version, self.path, &dir, &target)?;
        }
        let actual = sha256_file(&target)?;
        if actual != self.sha256 {
            bail!(
                "checksum mismatch for {} ({}@{} {}): expected {}, got {actual}; delete it to fetch again",
                target.display(),
                self.package,
                self.version,
                self.path,
                self.sha256
            );
        }
        Ok(target)
    }
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn npm_pack_member(
    package: &str,
    version: &str,
    member: &str,
    dir: &Path,
    target: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let spec = format!("{package}@{version}");
    let output = Command::new("npm")
        .args(["pack", &spec, "--silent", "--pack-destination"])
        .arg(dir)
        .output()
        .context("running `npm pack` (is npm installed?)")?;
    if !output.status.success() {
        bail!(
            "`npm pack {spec}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tarball = dir.join(stdout.trim().lines().last().unwrap_or_default());
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir)
        .arg(format!("package/{member}"))
        .status()
        .context("running tar")?;
    if !status.success() {
        bail!("{} has no {member}", tarball.display());
    }
    let unpacked = dir.join("package").join(member);
    std::fs::rename(&unpacked, target)
        .with_context(|| format!("moving {} to {}", unpacked.display(), target.display()))?;
    let _ = std::fs::remove_dir_all(dir.join("package"));
    let _ = std::fs::remove_file(&tarball);
    Ok(())
}

/// Restarts node `k` of the local cluster when dropped if it is not running, so a test
/// that kills a node leaves the cluster whole even when it fails half-way.
#[derive(Debug)]
pub struct Revive(pub usize);

impl Drop for Revive {
    fn drop(&mut self) {
        if let Ok(info) = local_node::cluster_info() {
            if !local_node::node_alive(&info, self.0) {
                if let Err(e) = local_node::restart_node(self.0) {
                    eprintln!("could not restart node-{}: {e:#}", self.0);
                }
            }
        }
    }
}

/// Held by each test that changes the local cluster's membership (kills or restarts a
/// node), so tests of one binary that run in parallel never see each other's faults.
pub async fn cluster_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
