//! Public datasets from npm packages, fetched with `npm pack` into the git-ignored
//! cache and verified by checksum before use.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::util::{npm_pack_extract, sha256_file, workspace_root};

/// A file inside a published npm package, pinned by checksum.
pub struct Dataset {
    /// The npm package.
    pub package: &'static str,
    /// Its exact version.
    pub version: &'static str,
    /// The file's path inside the package.
    pub file: &'static str,
    /// The file's SHA-256, lowercase hex.
    pub sha256: &'static str,
}

/// 3201 movies from `vega-datasets`.
pub const MOVIES: Dataset = Dataset {
    package: "vega-datasets",
    version: "3.2.1",
    file: "data/movies.json",
    sha256: "e63c499759e3b07b49563e036f55290f87feb56def8703ec049ca305ab1523d3",
};

/// 200,000 flights (`delay`, `distance`, `time`) from `vega-datasets`.
pub const FLIGHTS_200K: Dataset = Dataset {
    package: "vega-datasets",
    version: "3.2.1",
    file: "data/flights-200k.json",
    sha256: "82c60682ccdec1a9cf1102b2a011bef789243053f1ac01a531580c72be3d8bc0",
};

impl Dataset {
    /// The verified file, fetched on first use.
    pub fn fetch(&self) -> Result<PathBuf> {
        let dir = workspace_root()
            .join(".cache/data")
            .join(format!("{}-{}", self.package, self.version));
        let target = dir.join(self.file.replace('/', "_"));
        if target.is_file() {
            let actual = sha256_file(&target)?;
            if actual == self.sha256 {
                return Ok(target);
            }
            bail!(
                "checksum mismatch for {}: expected {}, got {actual}; refusing to use it \
                 (delete the file to download it again)",
                target.display(),
                self.sha256
            );
        }
        npm_pack_extract(self.package, self.version, None, self.file, &dir, &target)?;
        let actual = sha256_file(&target)?;
        if actual != self.sha256 {
            let _ = fs::remove_file(&target);
            bail!(
                "checksum mismatch for {}@{} {}: expected {}, got {actual}; refusing to use it",
                self.package,
                self.version,
                self.file,
                self.sha256
            );
        }
        Ok(target)
    }
}
