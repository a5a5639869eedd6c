//! `yaml-runner [--dir DIR] [--filter PATTERN] [--url URL]`: runs a directory of
//! Elasticsearch YAML REST tests against a node. Exits non-zero when a test fails.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
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
}

fn default_dir() -> PathBuf {
    local_node::workspace_root().join("../shared/yaml-tests/clients-tests")
}

/// The node URL and, for a secured local node, its basic credentials.
fn target(args: &Args) -> Result<(String, Option<String>)> {
    if let Some(url) = args
        .url
        .clone()
        .or_else(|| std::env::var("ELASTICSEARCH_URL").ok())
    {
        return Ok(split_credentials(&url));
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
    Ok((node.http_url.clone(), auth))
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
    let (url, authorization) = target(&args)?;
    let filter = args
        .filter
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .context("invalid --filter")?;
    let config = yaml_runner::Config {
        dir: args.dir.clone().unwrap_or_else(default_dir),
        filter,
        url,
        authorization,
    };
    let mut stdout = std::io::stdout();
    let summary = yaml_runner::run(&config, &mut stdout).await?;
    Ok(summary.failed == 0)
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
