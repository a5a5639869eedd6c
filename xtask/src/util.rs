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

pub use local_node::npm::{npm_pack_extract, sha256_file};

/// Parses a subcommand's arguments; on a usage error (or `--help`) clap prints its
/// message and exits, with status 2 (0 for help), as the top-level parser does.
pub fn parse_args<T: clap::Parser>(name: &str, args: &[String]) -> T {
    T::try_parse_from(std::iter::once(name.to_string()).chain(args.iter().cloned()))
        .unwrap_or_else(|e| e.exit())
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
