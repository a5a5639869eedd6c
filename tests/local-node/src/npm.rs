//! Files from published npm packages (the pinned specification, public datasets),
//! fetched with `npm pack` into the git-ignored cache and used only when their
//! checksum matches.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// A file inside a published npm package, pinned by its SHA-256.
#[derive(Debug, Clone, Copy)]
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

/// `data/movies.json` of `vega-datasets@3.2.1`: 3201 movies.
pub const MOVIES: Dataset = Dataset {
    package: "vega-datasets",
    version: "3.2.1",
    file: "data/movies.json",
    sha256: "e63c499759e3b07b49563e036f55290f87feb56def8703ec049ca305ab1523d3",
};

/// `data/flights-200k.json` of `vega-datasets@3.2.1`: 200,000 flights (`delay`,
/// `distance`, `time`).
pub const FLIGHTS_200K: Dataset = Dataset {
    package: "vega-datasets",
    version: "3.2.1",
    file: "data/flights-200k.json",
    sha256: "82c60682ccdec1a9cf1102b2a011bef789243053f1ac01a531580c72be3d8bc0",
};

impl Dataset {
    /// The verified file under `.cache/data/`, fetched on first use. A file whose
    /// checksum differs is never used.
    pub fn fetch(&self) -> Result<PathBuf> {
        let dir = crate::workspace_root()
            .join(".cache/data")
            .join(format!("{}-{}", self.package, self.version));
        let target = dir.join(self.file.replace('/', "_"));
        let fetched = !target.is_file();
        if fetched {
            npm_pack_extract(self.package, self.version, None, self.file, &dir, &target)?;
        }
        let actual = sha256_file(&target)?;
        if actual != self.sha256 {
            if fetched {
                let _ = std::fs::remove_file(&target);
            }
            bail!(
                "checksum mismatch for {} ({}@{} {}): expected {}, got {actual}; refusing to \
                 use it{}",
                target.display(),
                self.package,
                self.version,
                self.file,
                self.sha256,
                if fetched {
                    ""
                } else {
                    " (delete the file to download it again)"
                }
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

/// Downloads `package@version` with `npm pack` into `dir`, checks the tarball's
/// SHA-256 when one is given, and extracts `member` (a path inside the package) to
/// `target`. The tarball is removed afterwards.
pub fn npm_pack_extract(
    package: &str,
    version: &str,
    tarball_sha256: Option<&str>,
    member: &str,
    dir: &Path,
    target: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let spec = format!("{package}@{version}");
    eprintln!("fetching {spec} with npm pack");
    let output = Command::new("npm")
        .args(["pack", &spec, "--silent", "--pack-destination"])
        .arg(dir)
        .output()
        .context("running `npm pack` (is Node.js with npm installed?)")?;
    if !output.status.success() {
        bail!(
            "`npm pack {spec}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let name = String::from_utf8_lossy(&output.stdout);
    let tarball = dir.join(name.trim().lines().last().unwrap_or_default());
    if let Some(expected) = tarball_sha256 {
        let actual = sha256_file(&tarball)?;
        if actual != expected {
            let _ = std::fs::remove_file(&tarball);
            bail!(
                "checksum mismatch for {spec}: expected {expected}, got {actual}; refusing to use it"
            );
        }
    }
    let unpack = dir.join("package");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir)
        .arg(format!("package/{member}"))
        .status()
        .context("running tar")?;
    let _ = std::fs::remove_file(&tarball);
    if !status.success() {
        let _ = std::fs::remove_dir_all(&unpack);
        bail!("could not extract {member} from {spec}");
    }
    std::fs::rename(unpack.join(member), target)
        .with_context(|| format!("moving {member} to {}", target.display()))?;
    let _ = std::fs::remove_dir_all(&unpack);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_file() {
        let path = std::env::temp_dir().join(format!("npm-sha-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        let digest = sha256_file(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha256_file(Path::new("/nonexistent/file")).is_err());
    }
}
