//! Small helpers shared by the xtask commands.

use std::path::PathBuf;

/// The workspace root (the parent of the `xtask` crate).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes)
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
    dir: &std::path::Path,
    target: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::{bail, Context};
    use std::process::Command;

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
            bail!("checksum mismatch for {spec}: expected {expected}, got {actual}; refusing to use it");
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

/// This xtask binary, for running its own subcommands. A build during the run may
/// replace the file, after which Linux reports the running image as `… (deleted)`;
/// the path itself then holds the new build, which is what is wanted.
/// The Cargo target directory: `CARGO_TARGET_DIR`, else `target` at the workspace root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

pub fn xtask_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}
