//! Runs Elasticsearch's YAML REST tests against a node through the generated endpoint registry.
//!
//! A test file holds YAML documents: an optional clients-tests `requires` header,
//! `setup`, `teardown` and the tests. For each test the runner resets the stash,
//! runs setup, the steps and teardown, then cleans the cluster. Requests are built
//! by the client's endpoint registry from the API name and parameters
//! ([`request::build`]). The summary's last line is `N passed, N failed, N skipped`.

#![warn(missing_docs)]

pub mod assert;
pub mod cleanup;
pub mod modules;
pub mod request;
pub mod runner;
pub mod skip;
pub mod stash;
pub mod suite;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use elasticsearch_client::transport::Transport;
use elasticsearch_client::{CallOptions, Client};
use http::Method;
use regex::Regex;

use crate::runner::{Outcome, Runner};

/// What to run and where.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of YAML files (searched recursively).
    pub dir: PathBuf,
    /// Only tests whose `file/test name` matches.
    pub filter: Option<Regex>,
    /// Base URL of the node.
    pub url: String,
    /// `Authorization` header value for every request, for secured clusters.
    pub authorization: Option<String>,
    /// A PEM CA certificate to trust, for HTTPS nodes with a private CA.
    pub ca_certificate: Option<PathBuf>,
    /// Fail a test on a `Warning` header that no step expects or allows (see
    /// [`Runner::strict_warnings`]).
    pub strict_warnings: bool,
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests skipped, for a reason printed in the summary.
    pub skipped: usize,
    /// The failed tests, as `relative/file.yml :: test name`.
    pub failures: Vec<String>,
}

/// Runs the suite, printing per-file and per-test results to `out`.
pub async fn run(config: &Config, out: &mut dyn Write) -> Result<Summary> {
    let mut transport = Transport::builder().node(config.url.as_str());
    if let Some(ca) = &config.ca_certificate {
        transport = transport.ca_certificate_file(ca);
    }
    let transport = transport.build().context("creating the client")?;
    let client = Client::from_transport(transport);
    let auth = config
        .authorization
        .as_deref()
        .map(http::HeaderValue::from_str)
        .transpose()
        .context("invalid authorization")?;
    let mut options = CallOptions::new();
    if let Some(a) = &auth {
        options = options.header(http::header::AUTHORIZATION, a.clone());
    }
    let info = client
        .request(Method::GET, "/", None, &options)
        .await
        .with_context(|| format!("contacting {}", config.url))?;
    let info: serde_json::Value =
        serde_json::from_slice(&info.body).context("the answer of GET / is not JSON")?;
    let number = info
        .pointer("/version/number")
        .and_then(|v| v.as_str())
        .unwrap_or("0.0.0")
        .to_string();
    let version = skip::parse_version(&number).unwrap_or((0, 0, 0));
    writeln!(out, "Elasticsearch {number} at {}", config.url)?;
    writeln!(out, "Tests in {}", config.dir.display())?;

    let mut runner = Runner::new(client, auth, version);
    runner.strict_warnings(config.strict_warnings);
    runner.clean().await;
    let mut summary = Summary::default();
    let mut skips: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for path in suite::find_files(&config.dir)? {
        let file = match suite::load(&path, &config.dir) {
            Ok(f) => f,
            Err(e) => {
                let rel = path
                    .strip_prefix(&config.dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                if config.filter.as_ref().is_none_or(|f| f.is_match(&rel)) {
                    writeln!(out, "\n{rel}\n  FAIL  (file) cannot be loaded: {e:#}")?;
                    summary.failed += 1;
                    summary.failures.push(format!("{rel}: cannot be loaded"));
                }
                continue;
            }
        };
        let tests: Vec<_> = file
            .tests
            .iter()
            .filter(|t| {
                config
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.is_match(&format!("{}/{}", file.rel, t.name)))
            })
            .collect();
        if tests.is_empty() {
            continue;
        }
        writeln!(out, "\n{}", file.rel)?;
        for test in tests {
            let outcome = runner.run_test(&file, test).await;
            match &outcome {
                Outcome::Pass => {
                    summary.passed += 1;
                    writeln!(out, "  PASS  {}", test.name)?;
                }
                Outcome::Skip(skip) => {
                    summary.skipped += 1;
                    *skips
                        .entry(skip.group.clone())
                        .or_default()
                        .entry(skip.detail.clone())
                        .or_default() += 1;
                    writeln!(
                        out,
                        "  SKIP  {} ({}: {})",
                        test.name, skip.group, skip.detail
                    )?;
                }
                Outcome::Fail(f) => {
                    summary.failed += 1;
                    summary
                        .failures
                        .push(format!("{} :: {}", file.rel, test.name));
                    writeln!(out, "  FAIL  {}", test.name)?;
                    writeln!(out, "    step: {} #{}: {}", f.section, f.step, f.step_text)?;
                    if let Some(r) = &f.request {
                        writeln!(out, "    request: {r}")?;
                    }
                    writeln!(out, "    reason: {}", f.reason)?;
                }
            }
            for w in runner.undeclared_warnings() {
                writeln!(out, "    warning not declared by the test: {w}")?;
            }
            out.flush()?;
        }
    }

    writeln!(out, "\nSkip reasons:")?;
    for (group, details) in &skips {
        let total: usize = details.values().sum();
        writeln!(out, "  {group}: {total}")?;
        for (detail, n) in details {
            writeln!(out, "    {n:>4}  {detail}")?;
        }
    }
    if !summary.failures.is_empty() {
        writeln!(out, "\nFailures:")?;
        for f in &summary.failures {
            writeln!(out, "  {f}")?;
        }
    }
    writeln!(
        out,
        "\n{} passed, {} failed, {} skipped",
        summary.passed, summary.failed, summary.skipped
    )?;
    Ok(summary)
}
