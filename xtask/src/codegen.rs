//! `cargo xtask codegen [--check] [--spec PATH]`: generate `client/src/generated/`
//! and the client's feature block from the specification.
//!
//! Output is written to a temporary directory first and swapped in only when the whole
//! generation succeeded, so a failure never leaves half-written files behind.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::util::workspace_root;

#[derive(Parser)]
#[command(name = "cargo xtask codegen")]
struct Args {
    /// Verify that the committed output is up to date instead of writing it.
    #[arg(long)]
    check: bool,
    /// Generate from this schema.json instead of the pinned one.
    #[arg(long)]
    spec: Option<PathBuf>,
}

pub fn run(args: &[String]) -> Result<()> {
    let args = crate::util::parse_args::<Args>("codegen", args);
    let schema = crate::spec::schema_path(args.spec.as_deref())?;
    let pin = crate::spec::pin()?.spec;
    let source = format!("{}@{}", pin.package, pin.version);
    let started = Instant::now();
    let json = fs::read(&schema).with_context(|| format!("reading {}", schema.display()))?;
    let out = elasticsearch_codegen::generate(&json, &source)
        .with_context(|| format!("generating from {}", schema.display()))?;
    let root = workspace_root();
    let gen_dir = root.join("client/src/generated");
    let cargo_path = root.join("client/Cargo.toml");
    let cargo = fs::read_to_string(&cargo_path)
        .with_context(|| format!("reading {}", cargo_path.display()))?;
    let new_cargo = elasticsearch_codegen::splice_features(&cargo, &out.features)?;

    if args.check {
        let stale = stale_files(&gen_dir, &out.files)?;
        let mut problems: Vec<String> = stale
            .iter()
            .map(|f| format!("client/src/generated/{f}"))
            .collect();
        if new_cargo != cargo {
            problems.push("client/Cargo.toml (generated features)".to_string());
        }
        if !problems.is_empty() {
            bail!(
                "generated code is stale; run `cargo xtask codegen`:\n  {}",
                problems.join("\n  ")
            );
        }
        eprintln!(
            "generated code is up to date ({} files, checked in {:.1?})",
            out.files.len(),
            started.elapsed()
        );
        return Ok(());
    }

    // Write everything into a sibling temp dir, then swap directories.
    let tmp = root.join("client/src/.generated.tmp");
    let old = root.join("client/src/.generated.old");
    for d in [&tmp, &old] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("clearing {}", d.display()))?;
        }
    }
    for (name, text) in &out.files {
        let path = tmp.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if gen_dir.exists() {
        fs::rename(&gen_dir, &old).context("moving the old output aside")?;
    }
    fs::rename(&tmp, &gen_dir).context("moving the new output in place")?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    if new_cargo != cargo {
        fs::write(&cargo_path, new_cargo)?;
    }
    let lines: usize = out.files.values().map(|t| t.lines().count()).sum();
    eprintln!(
        "wrote {} files ({lines} lines) to client/src/generated in {:.1?}",
        out.files.len(),
        started.elapsed()
    );
    Ok(())
}

/// Files that differ from, are missing from, or are extra in `dir`.
fn stale_files(dir: &Path, files: &BTreeMap<String, String>) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for (name, text) in files {
        match fs::read_to_string(dir.join(name)) {
            Ok(existing) if &existing == text => {}
            _ => stale.push(name.clone()),
        }
    }
    let mut on_disk = Vec::new();
    collect(dir, dir, &mut on_disk)?;
    for f in on_disk {
        if !files.contains_key(&f) {
            stale.push(format!("{f} (not generated any more)"));
        }
    }
    Ok(stale)
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(base, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}
