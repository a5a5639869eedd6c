//! `yaml-runner [--dir DIR] [--filter PATTERN] [--url URL] [--ca-cert PEM]
//! [--known-failures FILE] [--strict-warnings] [--missing-ok]`: runs a directory of
//! Elasticsearch YAML REST tests against a node. Exits non-zero when a test fails,
//! unless `--known-failures` lists it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Runs Elasticsearch YAML REST tests against a node")]
struct Args {
    /// Directory of YAML test files; defaults to the shared clients-tests suite.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Only run tests whose `relative/file.yml/test name` matches this regex.
    #[arg(long)]
    filter: Option<String>,
    /// Node URL; defaults to $ELASTICSEARCH_URL, then the node from `cargo xtask es start`.
    #[arg(long)]
    url: Option<String>,
    /// A PEM CA certificate to trust for an HTTPS node (the local secure node's CA is
    /// used without it).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// A file listing failures whose cause is known (`file.yml :: test name` per line,
    /// `#` comments saying why): they are still run and reported as failed, but only
    /// failures not listed there make the exit code non-zero.
    #[arg(long)]
    known_failures: Option<PathBuf>,
    /// Fail a test on a `Warning` header that none of its steps expects or allows, as
    /// Elasticsearch's own REST tests do. Without it such warnings are printed under
    /// the test: the clients' suite is written for runners that do not fail on them.
    #[arg(long)]
    strict_warnings: bool,
    /// Exit successfully, running nothing, when the test directory does not exist.
    #[arg(long)]
    missing_ok: bool,
}

/// Where to send the tests and how to authenticate.
struct Target {
    url: String,
    authorization: Option<String>,
    ca_certificate: Option<PathBuf>,
}

/// `$YAML_TESTS_DIR`, else the clients' suite beside the workspace.
fn default_dir() -> PathBuf {
    std::env::var_os("YAML_TESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| local_node::workspace_root().join("../shared/yaml-tests/clients-tests"))
}

/// The node URL and, for a secured local node, its basic credentials and CA.
fn target(args: &Args) -> Result<Target> {
    if let Some(url) = args
        .url
        .clone()
        .or_else(|| std::env::var("ELASTICSEARCH_URL").ok())
    {
        let (url, authorization) = split_credentials(&url);
        return Ok(Target {
            url,
            authorization,
            ca_certificate: args.ca_cert.clone(),
        });
    }
    let info = local_node::cluster_info()
        .context("no --url, no ELASTICSEARCH_URL and no local node (`cargo xtask es start`)")?;
    let node = info
        .nodes
        .first()
        .context("the local cluster file lists no node")?;
    let auth = match (&info.username, &info.password) {
        (Some(u), Some(p)) => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )),
        _ => None,
    };
    Ok(Target {
        url: node.http_url.clone(),
        authorization: auth,
        ca_certificate: args.ca_cert.clone().or(info.ca_cert.map(PathBuf::from)),
    })
}

/// The entries of a known-failures file: one `file.yml :: test name` per line.
fn known_failures(path: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the known failures {}", path.display()))?;
    let mut known = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.contains(" :: ") {
            bail!(
                "{}:{}: expected `file.yml :: test name`, found {line:?}",
                path.display(),
                n + 1
            );
        }
        known.insert(line.to_string());
    }
    Ok(known)
}

/// `http://user:pass@host:port` gives the URL without credentials and a basic
/// `Authorization` value.
fn split_credentials(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some((userinfo, host)) = rest[..authority_end].rsplit_once('@') else {
        return (url.to_string(), None);
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = match userinfo.split_once(':') {
        Some((u, p)) => format!("{}:{}", decode(u), decode(p)),
        None => format!("{}:", decode(userinfo)),
    };
    (
        format!("{scheme}://{host}{}", &rest[authority_end..]),
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )),
    )
}

async fn run() -> Result<bool> {
    let args = Args::parse();
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    if args.missing_ok && !dir.is_dir() {
        println!(
            "no YAML tests at {}: nothing run (give --dir or set YAML_TESTS_DIR)",
            dir.display()
        );
        return Ok(true);
    }
    let target = target(&args)?;
    let known = args
        .known_failures
        .as_deref()
        .map(known_failures)
        .transpose()?;
    let filter = args
        .filter
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .context("invalid --filter")?;
    let config = yaml_runner::Config {
        dir,
        filter,
        url: target.url,
        authorization: target.authorization,
        ca_certificate: target.ca_certificate,
        strict_warnings: args.strict_warnings,
    };
    let mut stdout = std::io::stdout();
    let summary = yaml_runner::run(&config, &mut stdout).await?;
    let Some(known) = known else {
        return Ok(summary.failed == 0);
    };
    let unknown: Vec<&String> = summary
        .failures
        .iter()
        .filter(|f| !known.contains(*f))
        .collect();
    let gone: Vec<&String> = known
        .iter()
        .filter(|k| !summary.failures.contains(k))
        .collect();
    if !gone.is_empty() {
        eprintln!("known failures that did not fail this time (passed, skipped or filtered out):");
        for k in &gone {
            eprintln!("  {k}");
        }
    }
    if unknown.is_empty() {
        eprintln!(
            "{} failure(s), each listed with its cause in the known failures",
            summary.failed
        );
        return Ok(true);
    }
    eprintln!("failures not among the known ones:");
    for f in &unknown {
        eprintln!("  {f}");
    }
    Ok(false)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url() {
        let (url, auth) = split_credentials("http://elastic:p%40ss@127.0.0.1:9200/x");
        assert_eq!(url, "http://127.0.0.1:9200/x");
        assert_eq!(
            auth.unwrap(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("elastic:p@ss")
            )
        );
        assert_eq!(split_credentials("http://h:1").1, None);
    }
}
