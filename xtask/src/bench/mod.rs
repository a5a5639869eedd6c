//! `cargo xtask bench [--quick] [--only 1,3] [--reps N] [--publish]`: every benchmark,
//! side by side with peer clients, written to `target/bench/report.md` and
//! `target/bench/report.json`.
//!
//! The measuring programs live in the `bench` crate (`tests/bench`) and run with
//! `cargo run --release -p bench --bin …` (built into `target/bench-build`); peers
//! (elasticsearch-py, go-elasticsearch, the official Rust client) are installed from
//! their registries into a scratch directory outside the workspace. Scenarios:
//!
//! 1. client overhead against a canned-response loopback server;
//! 2. decoding a 10,000-hit search answer, typed vs `serde_json::Value`;
//! 3. bulk ingestion of the flights set into the local node;
//! 4. scale: 3 million documents through the bulk ingester (shrunk under `--quick`);
//! 5. code generation time; clean debug builds (skipped under `--quick`).
//!
//! A peer that cannot be installed is reported as missing; a scenario that fails is
//! reported as failed; the run goes on either way.

mod peers;
mod proc;
mod report;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use self::peers::Peer;
use self::report::{Goal, Ratio, Report, Scenario};
use crate::util::workspace_root;

/// Sizes and repetitions of one run.
#[derive(Debug, Clone)]
struct Config {
    quick: bool,
    only: Option<Vec<u32>>,
    reps: usize,
    overhead_seconds: f64,
    overhead_warmup: f64,
    decode_hits: usize,
    decode_iterations: usize,
    bulk_docs: usize,
    scale_repeat: usize,
    clean_builds: bool,
    publish: bool,
}

impl Config {
    fn parse(args: &[String]) -> Result<Self> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut cfg = if quick {
            Config {
                quick,
                only: None,
                reps: 1,
                overhead_seconds: 1.0,
                overhead_warmup: 0.3,
                decode_hits: 10_000,
                decode_iterations: 5,
                bulk_docs: 20_000,
                scale_repeat: 5,
                clean_builds: false,
                publish: false,
            }
        } else {
            Config {
                quick,
                only: None,
                reps: 3,
                overhead_seconds: 3.0,
                overhead_warmup: 0.5,
                decode_hits: 10_000,
                decode_iterations: 30,
                bulk_docs: 200_000,
                scale_repeat: 15,
                clean_builds: true,
                publish: false,
            }
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--quick" => {}
                "--publish" => cfg.publish = true,
                "--only" => {
                    let list = it.next().context("--only needs a list, e.g. 1,3")?;
                    let ids = list
                        .split(',')
                        .map(|s| s.trim().parse::<u32>())
                        .collect::<Result<Vec<_>, _>>()
                        .with_context(|| format!("--only {list}"))?;
                    if let Some(bad) = ids.iter().find(|id| !(1..=5).contains(*id)) {
                        bail!("--only {list}: there is no scenario {bad} (they are 1 to 5)");
                    }
                    cfg.only = Some(ids);
                }
                "--reps" => {
                    let n = it.next().context("--reps needs a number")?;
                    cfg.reps = n.parse().with_context(|| format!("--reps {n}"))?;
                }
                "-h" | "--help" => {
                    println!(
                        "cargo xtask bench [--quick] [--only 1,2,3,4,5] [--reps N] [--publish]\n\n\
                         Runs the benchmarks beside peer clients and writes target/bench/report.md\n\
                         and report.json. --quick: small sizes, one repetition, no clean builds\n\
                         (under 5 minutes once peers are installed). --publish: also copy the\n\
                         report to tests/bench/results/."
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}` (see --help)"),
            }
        }
        if cfg.reps == 0 {
            bail!("--reps must be at least 1");
        }
        if cfg.publish && (cfg.quick || cfg.only.is_some()) {
            bail!("--publish replaces the published full report: run every scenario, without --quick or --only");
        }
        Ok(cfg)
    }

    fn wants(&self, id: u32) -> bool {
        self.only.as_ref().is_none_or(|ids| ids.contains(&id))
    }
}

/// Everything a scenario needs from the setup phase.
struct Env {
    cfg: Config,
    scratch: PathBuf,
    /// Peers by name; `Err` holds why a peer is missing.
    python: Result<Peer, String>,
    go: Result<Peer, String>,
    official: Result<Peer, String>,
    flights_ndjson: Result<PathBuf, String>,
    node: Result<String, String>,
}

const TIMEOUT: Duration = Duration::from_secs(900);

pub fn run(args: &[String]) -> Result<()> {
    let cfg = Config::parse(args)?;
    let started = Instant::now();
    let root = workspace_root();
    let out_dir = root.join("target/bench");
    fs::create_dir_all(&out_dir)?;
    let scratch = peers::scratch_dir();
    fs::create_dir_all(&scratch)
        .with_context(|| format!("creating the scratch directory {}", scratch.display()))?;
    let date = proc::version_of("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let load_start = load_average();

    eprintln!("bench: building the benchmark programs (release, target/bench-build)");
    let setup_started = Instant::now();
    build_bench_crate()?;

    let needs_peers_py_go = cfg.wants(3);
    let needs_official = cfg.wants(1) || (cfg.wants(5) && cfg.clean_builds);
    let python = if needs_peers_py_go {
        peers::python().map_err(|e| format!("missing: {e:#}"))
    } else {
        Err("not needed".into())
    };
    let go = if needs_peers_py_go {
        peers::go().map_err(|e| format!("missing: {e:#}"))
    } else {
        Err("not needed".into())
    };
    let official = if needs_official {
        peers::official_rs().map_err(|e| format!("missing: {e:#}"))
    } else {
        Err("not needed".into())
    };
    let needs_node = cfg.wants(3) || cfg.wants(4);
    let flights_ndjson = if needs_node {
        flights_ndjson(&scratch).map_err(|e| format!("dataset missing: {e:#}"))
    } else {
        Err("not needed".into())
    };
    let mut started_node = false;
    let node = if needs_node {
        ensure_node(&mut started_node).map_err(|e| format!("no local node: {e:#}"))
    } else {
        Err("not needed".into())
    };
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    let env = Env {
        cfg: cfg.clone(),
        scratch,
        python,
        go,
        official,
        flights_ndjson,
        node,
    };
    let measure_started = Instant::now();
    let mut scenarios = Vec::new();
    if cfg.wants(1) {
        scenarios.push(guard(1, "Client overhead", || overhead(&env)));
    }
    if cfg.wants(2) {
        scenarios.push(guard(2, "Decoding a 10,000-hit search answer", || {
            decode(&env)
        }));
    }
    if cfg.wants(3) {
        scenarios.push(guard(3, "Bulk ingestion of the flights set", || bulk(&env)));
    }
    if cfg.wants(4) {
        scenarios.push(guard(4, "Scale: bulk ingester memory", || scale(&env)));
    }
    if cfg.wants(5) {
        scenarios.push(guard(5, "Code generation and clean builds", || {
            codegen_and_builds(&env)
        }));
    }
    if started_node {
        eprintln!("bench: stopping the node this run started");
        let _ = local_node::stop();
    }

    let mut machine = machine();
    machine.insert("load average at start".into(), load_start);
    machine.insert("load average at end".into(), load_average());
    let mut versions = BTreeMap::new();
    versions.insert("rustc".into(), proc::version_of("rustc", &["--version"]));
    versions.insert("go".into(), proc::version_of("go", &["version"]));
    versions.insert("python".into(), proc::version_of("python3", &["--version"]));
    versions.insert(
        "client".into(),
        format!(
            "elasticsearch-client {} at {}",
            workspace_version(),
            proc::version_of("git", &["rev-parse", "--short", "HEAD"])
        ),
    );
    if let Ok(Some(info)) = local_node::status() {
        versions.insert("elasticsearch".into(), info.version);
    }
    for (name, peer) in [
        ("python peer", &env.python),
        ("go peer", &env.go),
        ("official rust peer", &env.official),
    ] {
        match peer {
            Ok(p) => {
                versions.insert(name.into(), p.version.clone());
            }
            Err(e) if e != "not needed" => {
                versions.insert(name.into(), "missing".into());
            }
            Err(_) => {}
        }
    }
    let measure_seconds = measure_started.elapsed().as_secs_f64();
    versions.insert(
        "setup".into(),
        format!(
            "{setup_seconds:.0} s building the bench crate and installing peers (not measured), \
             {measure_seconds:.0} s measuring"
        ),
    );
    let goals = goals(&scenarios);
    let mut command = "cargo xtask bench".to_string();
    if cfg.quick {
        command.push_str(" --quick");
    }
    if let Some(ids) = &cfg.only {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        command.push_str(&format!(" --only {}", ids.join(",")));
    }
    if cfg.reps != if cfg.quick { 1 } else { 3 } {
        command.push_str(&format!(" --reps {}", cfg.reps));
    }
    let report = Report {
        date,
        mode: if cfg.quick { "quick" } else { "full" }.to_string(),
        duration_seconds: started.elapsed().as_secs_f64(),
        machine,
        versions,
        command,
        scenarios,
        goals,
    };
    let md = report.to_markdown();
    let json = serde_json::to_string_pretty(&report.to_json())?;
    fs::write(out_dir.join("report.md"), &md)?;
    fs::write(out_dir.join("report.json"), &json)?;
    if cfg.publish {
        let results = root.join("tests/bench/results");
        fs::create_dir_all(&results)?;
        fs::write(results.join("report.md"), &md)?;
        fs::write(results.join("report.json"), &json)?;
    }
    println!("{md}");
    eprintln!(
        "bench: wrote {} and report.json in {:.0} s",
        out_dir.join("report.md").display(),
        report.duration_seconds
    );
    Ok(())
}

/// Runs a scenario; an error becomes a scenario marked as failed, not a crash.
fn guard(id: u32, title: &str, f: impl FnOnce() -> Result<Scenario>) -> Scenario {
    eprintln!("bench: scenario {id}: {title}");
    match f() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: scenario {id} failed: {e:#}");
            let mut s = Scenario::new(id, title, String::new());
            s.skipped = Some(format!("failed: {e:#}"));
            s
        }
    }
}

// ---------------------------------------------------------------------------
// Setup

const BENCH_TARGET: &str = "target/bench-build";

fn cargo_bench_env(cmd: &mut Command) {
    cmd.current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", workspace_root().join(BENCH_TARGET));
}

fn build_bench_crate() -> Result<()> {
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "--quiet", "-p", "bench", "--bins"]);
    cargo_bench_env(&mut cmd);
    proc::run(cmd, Duration::from_secs(1800)).context("building the bench crate")?;
    Ok(())
}

/// `cargo run --release -p bench --bin <bin> -- <args>`.
fn bench_bin(bin: &str, args: &[String]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args([
        "run",
        "--release",
        "--quiet",
        "-p",
        "bench",
        "--bin",
        bin,
        "--",
    ])
    .args(args);
    cargo_bench_env(&mut cmd);
    cmd
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The flights set as NDJSON (one document per line), converted once.
fn flights_ndjson(scratch: &Path) -> Result<PathBuf> {
    let json = local_node::npm::FLIGHTS_200K.fetch()?;
    let out = scratch.join("data/flights-200k.ndjson");
    if out.is_file() {
        return Ok(out);
    }
    fs::create_dir_all(out.parent().context("data dir")?)?;
    let text = fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?;
    let docs: Vec<Value> = serde_json::from_str(&text)?;
    let tmp = out.with_extension("tmp");
    let mut w = std::io::BufWriter::new(fs::File::create(&tmp)?);
    for doc in &docs {
        serde_json::to_writer(&mut w, doc)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    drop(w);
    fs::rename(&tmp, &out)?;
    Ok(out)
}

/// The URL of the running local node, starting one if none runs.
fn ensure_node(started: &mut bool) -> Result<String> {
    let info = match local_node::status()? {
        Some(info) => info,
        None => {
            eprintln!("bench: starting a local node");
            *started = true;
            local_node::start(&local_node::StartOptions::default())?
        }
    };
    if info.secure {
        bail!("the running node has security on; start a plain one (cargo xtask es start)");
    }
    info.nodes
        .first()
        .map(|n| n.http_url.clone())
        .ok_or_else(|| anyhow!("the running cluster has no nodes"))
}

fn machine() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    m.insert("nproc".into(), cpus.to_string());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    if let Some(kib) = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
    {
        m.insert("memory".into(), format!("{:.1} GiB", kib / 1024.0 / 1024.0));
    }
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if let Some(model) = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
    {
        m.insert("cpu".into(), model.1.trim().to_string());
    }
    m.insert("os".into(), proc::version_of("uname", &["-sr"]));
    m
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn workspace_version() -> String {
    let text = fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap_or_default();
    toml::from_str::<toml::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("workspace")?
                .get("package")?
                .get("version")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
}

fn num(v: &Value, key: &str) -> Result<f64> {
    v.get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| anyhow!("no `{key}` in {v}"))
}

// ---------------------------------------------------------------------------
// Scenario 1: client overhead

fn overhead(env: &Env) -> Result<Scenario> {
    let cfg = &env.cfg;
    let mut s = Scenario::new(
        1,
        "Client overhead",
        format!(
            "Loopback server with canned answers (`bench-server`, one worker thread): \
             `GET /` (the cluster info answer, about 400 bytes) and `POST /bench/_search` (a 105-hit answer, \
             about 10 KB). Each run: {:.1} s warm-up, then {:.1} s measured; CPU is the \
             client process's user+system time (10 ms resolution). `hyper`: bare \
             hyper-util pooled client, body read into bytes (the limit). `ours`: the \
             client's full stack (`Client::request`), body as bytes. `ours-typed`: \
             generated endpoints (`InfoRequest`, `SearchRequest<Flight>`) including \
             decoding. `official`: crate `elasticsearch` 9.1.0-alpha.1, body as bytes. \
             Default settings everywhere.",
            cfg.overhead_warmup,
            cfg.overhead_seconds
        ),
    );
    s.ratio = Some(Ratio {
        metric: "req/s".into(),
        baseline: "hyper".into(),
        baseline_over_this: false,
        label: "req/s ÷ hyper".into(),
    });
    let server = proc::Server::start(
        bench_bin("bench-server", &strings(&["--threads", "1"])),
        Duration::from_secs(600),
    )?;
    let url = format!("http://127.0.0.1:{}", server.port);
    let contenders = ["hyper", "ours", "ours-typed", "official"];
    let result = (|| -> Result<()> {
        for request in ["info", "search"] {
            for concurrency in [1usize, 64] {
                let case = format!(
                    "{} · {concurrency} caller{}",
                    if request == "info" {
                        "GET / (small)"
                    } else {
                        "search (10 KB)"
                    },
                    if concurrency == 1 { "" } else { "s" }
                );
                for _rep in 0..cfg.reps {
                    for contender in contenders {
                        let args = strings(&[
                            "--url",
                            &url,
                            "--request",
                            request,
                            "--concurrency",
                            &concurrency.to_string(),
                            "--seconds",
                            &cfg.overhead_seconds.to_string(),
                            "--warmup",
                            &cfg.overhead_warmup.to_string(),
                        ]);
                        let cmd = if contender == "official" {
                            match &env.official {
                                Ok(peer) => {
                                    let mut cmd = peer.command();
                                    cmd.args(&args);
                                    cmd
                                }
                                Err(e) => {
                                    s.row(&case, contender).fail(e.clone());
                                    continue;
                                }
                            }
                        } else {
                            let mut a = strings(&["--contender", contender]);
                            a.extend(args);
                            bench_bin("bench-overhead", &a)
                        };
                        eprintln!("bench:   {case} · {contender}");
                        let row = s.row(&case, contender);
                        match proc::run_json(cmd, Duration::from_secs(300)) {
                            Ok(v) => {
                                row.push("req/s", num(&v, "rps")?);
                                row.push("CPU µs/req", num(&v, "cpu_us_per_request")?);
                                let errors = num(&v, "errors")?;
                                if errors > 0.0 {
                                    row.note(format!("{errors} failed requests"));
                                }
                            }
                            Err(e) => row.fail(format!("failed: {e:#}")),
                        }
                    }
                }
            }
        }
        Ok(())
    })();
    server.stop();
    result?;
    Ok(s)
}

// ---------------------------------------------------------------------------
// Scenario 2: decoding

fn decode(env: &Env) -> Result<Scenario> {
    let cfg = &env.cfg;
    let args = strings(&[
        "--hits",
        &cfg.decode_hits.to_string(),
        "--iterations",
        &cfg.decode_iterations.to_string(),
    ]);
    let v = proc::run_json(bench_bin("bench-decode", &args), TIMEOUT)?;
    let bytes = num(&v, "body_bytes")?;
    let mut s = Scenario::new(
        2,
        "Decoding a 10,000-hit search answer",
        format!(
            "One search answer of {} flight hits ({:.1} MB), decoded {} times by each \
             contender, interleaved, in one process. `value`: `serde_json::Value`. \
             `typed-endpoint`: `SearchRequest::<Flight>::decode`, the path `Client::send` \
             takes. `typed`: `serde_json::from_slice::<SearchResponse<Flight>>`. \
             `typed-value-docs`: `SearchResponse<serde_json::Value>`.",
            cfg.decode_hits,
            bytes / 1e6,
            cfg.decode_iterations
        ),
    );
    s.ratio = Some(Ratio {
        metric: "ms/decode".into(),
        baseline: "value".into(),
        baseline_over_this: true,
        label: "speed ÷ Value".into(),
    });
    let case = format!("{} hits", cfg.decode_hits);
    let ms = v.get("ms").and_then(Value::as_object).context("no ms")?;
    for name in ["value", "typed-endpoint", "typed", "typed-value-docs"] {
        let row = s.row(&case, name);
        match ms.get(name).and_then(Value::as_array) {
            Some(samples) => {
                for x in samples.iter().filter_map(Value::as_f64) {
                    row.push("ms/decode", x);
                }
                if let Some(med) = row.median("ms/decode") {
                    row.push("MB/s", bytes / 1e6 / (med / 1e3));
                }
            }
            None => row.fail("failed: no samples".into()),
        }
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Scenarios 3 and 4: bulk ingestion into the local node

/// The arguments every bulk contender takes: node, index, NDJSON file and how many
/// of its documents to send.
fn ingest_args(url: &str, index: &str, file: &Path, docs: usize) -> Vec<String> {
    strings(&[
        "--url",
        url,
        "--index",
        index,
        "--file",
        &file.display().to_string(),
        "--docs",
        &docs.to_string(),
    ])
}

fn bulk_util(url: &str, mode: &str, index: &str) -> Result<Value> {
    let args = strings(&[mode, "--url", url, "--index", index]);
    proc::run_json(bench_bin("bench-bulk", &args), Duration::from_secs(300))
}

fn bulk(env: &Env) -> Result<Scenario> {
    let cfg = &env.cfg;
    let url = env.node.clone().map_err(|e| anyhow!(e))?;
    let file = env.flights_ndjson.clone().map_err(|e| anyhow!(e))?;
    let docs = cfg.bulk_docs;
    let mut s = Scenario::new(
        3,
        "Bulk ingestion of the flights set",
        format!(
            "The first {docs} documents of `vega-datasets@3.2.1/data/flights-200k.json` \
             (as NDJSON, streamed from disk by every contender), indexed with ids into a \
             fresh index (1 shard, 0 replicas) of the local node, each helper with its \
             default settings: ours 5000 ops or 5 MiB per request, 4 in flight; \
             `parallel_bulk` 500 per chunk, 4 threads; `streaming_bulk` 500 per chunk, one \
             at a time; go-elasticsearch `BulkIndexer` 5 MB flushes, NumCPU workers. \
             The count is checked after each run. Client CPU and peak RSS are the \
             client process's own (CPU from getrusage, peak RSS from `VmHWM` in \
             `/proc/self/status`: ru_maxrss would carry over the parent's across an exec)."
        ),
    );
    s.ratio = Some(Ratio {
        metric: "docs/s".into(),
        baseline: "ours".into(),
        baseline_over_this: true,
        label: "ours ÷ this (docs/s)".into(),
    });
    let case = format!("{docs} docs");
    let contenders: [(&str, Option<&Result<Peer, String>>); 4] = [
        ("ours", None),
        ("go-elasticsearch BulkIndexer", Some(&env.go)),
        ("elasticsearch-py parallel_bulk", Some(&env.python)),
        ("elasticsearch-py streaming_bulk", Some(&env.python)),
    ];
    // One unmeasured ingest first, so the node's JIT is as warm for the first contender
    // as for the last.
    {
        let index = "bench-bulk-warmup";
        let mut args = vec!["ingest".to_string()];
        args.extend(ingest_args(&url, index, &file, docs));
        eprintln!("bench:   {case} · warm-up (not measured)");
        bulk_util(&url, "prepare", index)?;
        proc::run_json(bench_bin("bench-bulk", &args), TIMEOUT)?;
        bulk_util(&url, "delete", index)?;
    }
    for _rep in 0..cfg.reps {
        for (name, peer) in contenders {
            let index = format!(
                "bench-bulk-{}",
                name.split_whitespace().last().unwrap_or(name)
            )
            .to_lowercase();
            let common = ingest_args(&url, &index, &file, docs);
            let cmd = match peer {
                None => {
                    let mut a = vec!["ingest".to_string()];
                    a.extend(common.clone());
                    bench_bin("bench-bulk", &a)
                }
                Some(Ok(peer)) => {
                    let mut cmd = peer.command();
                    if name.contains("go-") {
                        // Go's flag package takes single-dash flags.
                        for a in &common {
                            cmd.arg(a.strip_prefix('-').unwrap_or(a));
                        }
                    } else {
                        cmd.args(&common);
                        let helper = name.split_whitespace().last().unwrap_or_default();
                        cmd.args(["--helper", helper]);
                    }
                    cmd
                }
                Some(Err(e)) => {
                    s.row(&case, name).fail(e.clone());
                    continue;
                }
            };
            eprintln!("bench:   {case} · {name}");
            let outcome = (|| -> Result<Value> {
                bulk_util(&url, "prepare", &index)?;
                let v = proc::run_json(cmd, TIMEOUT)?;
                let count = num(&bulk_util(&url, "count", &index)?, "count")?;
                bulk_util(&url, "delete", &index)?;
                if count as usize != docs {
                    bail!("the index holds {count} documents, expected {docs}");
                }
                Ok(v)
            })();
            let row = s.row(&case, name);
            match outcome {
                Ok(v) => {
                    row.push("docs/s", num(&v, "docs_per_second")?);
                    row.push("client CPU s", num(&v, "cpu_seconds")?);
                    row.push("peak RSS MiB", num(&v, "peak_rss_kib")? / 1024.0);
                    let failures = num(&v, "failures").unwrap_or(0.0);
                    if failures > 0.0 {
                        row.note(format!("{failures} failed items"));
                    }
                    row.note(format!("count checked: {docs}"));
                }
                Err(e) => row.fail(format!("failed: {e:#}")),
            }
        }
    }
    Ok(s)
}

fn scale(env: &Env) -> Result<Scenario> {
    let cfg = &env.cfg;
    let url = env.node.clone().map_err(|e| anyhow!(e))?;
    let file = env.flights_ndjson.clone().map_err(|e| anyhow!(e))?;
    let per_round = if cfg.quick { cfg.bulk_docs } else { 200_000 };
    let total = per_round * cfg.scale_repeat;
    let mut s = Scenario::new(
        4,
        "Scale: bulk ingester memory",
        format!(
            "{total} documents through our bulk ingester: the first {per_round} flights \
             streamed {} times with new ids, default settings, into a fresh index \
             (1 shard, 0 replicas); one run. Goal: peak RSS ≤ 100 MB.{}",
            cfg.scale_repeat,
            if cfg.quick {
                " Shrunk under --quick (the full run sends 3,000,000)."
            } else {
                ""
            }
        ),
    );
    let case = format!("{total} docs");
    let index = "bench-scale";
    let mut args = vec!["ingest".to_string()];
    args.extend(ingest_args(&url, index, &file, per_round));
    args.extend(["--repeat".to_string(), cfg.scale_repeat.to_string()]);
    eprintln!("bench:   {case} · ours");
    let outcome = (|| -> Result<Value> {
        bulk_util(&url, "prepare", index)?;
        let v = proc::run_json(bench_bin("bench-bulk", &args), Duration::from_secs(3600))?;
        let count = num(&bulk_util(&url, "count", index)?, "count")?;
        bulk_util(&url, "delete", index)?;
        if count as usize != total {
            bail!("the index holds {count} documents, expected {total}");
        }
        Ok(v)
    })();
    let row = s.row(&case, "ours");
    match outcome {
        Ok(v) => {
            row.push("docs/s", num(&v, "docs_per_second")?);
            row.push("client CPU s", num(&v, "cpu_seconds")?);
            row.push("peak RSS MiB", num(&v, "peak_rss_kib")? / 1024.0);
            row.note(format!("count checked: {total}"));
        }
        Err(e) => row.fail(format!("failed: {e:#}")),
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Scenario 5: code generation and clean builds

fn codegen_and_builds(env: &Env) -> Result<Scenario> {
    let cfg = &env.cfg;
    let mut s = Scenario::new(
        5,
        "Code generation and clean builds",
        format!(
            "Generation: `cargo xtask codegen --check` (generates everything in memory and \
             compares; writes nothing), timed without cargo's own start-up. Clean builds{}: \
             `cargo build` (debug, this workspace's dev profile: line tables only, no debug \
             info for dependencies) in a fresh target directory, timed with \
             `/usr/bin/time -v`; peak RSS is the largest single process (rustc). The \
             official crate is built the same way from a scratch project with the same \
             profile settings.",
            if cfg.clean_builds {
                ""
            } else {
                " (skipped under --quick)"
            }
        ),
    );
    s.ratio = Some(Ratio {
        metric: "seconds".into(),
        baseline: "official elasticsearch 9.1.0-alpha.1".into(),
        baseline_over_this: false,
        label: "time ÷ official".into(),
    });
    // Generation, with this very xtask binary (its path, even if relinked since).
    let exe = crate::util::xtask_exe()?;
    let mut cmd = Command::new(&exe);
    cmd.args(["codegen", "--check"])
        .current_dir(workspace_root());
    eprintln!("bench:   codegen");
    let row = s.row("generate the client (563 endpoints)", "ours");
    let started = Instant::now();
    match cmd.output() {
        Ok(out) => {
            let secs = started.elapsed().as_secs_f64();
            row.push("seconds", secs);
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                if err.contains("stale") {
                    row.note("committed output is stale (time still measured)".into());
                } else {
                    row.fail(format!("failed: {}", proc::tail(&err, 4)));
                }
            }
        }
        Err(e) => row.fail(format!("failed: {e}")),
    }
    if !cfg.clean_builds {
        return Ok(s);
    }
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        s.row("clean debug build", "ours")
            .fail("missing: /usr/bin/time (apt-get install time)".into());
        return Ok(s);
    }
    let build_root = env.scratch.join("clean-builds");
    let mut builds: Vec<(&str, &str, PathBuf, Vec<&str>)> = vec![
        (
            "clean debug build",
            "ours (default features)",
            workspace_root(),
            vec!["build", "-p", "elasticsearch-client"],
        ),
        (
            "clean debug build",
            "ours (--features full)",
            workspace_root(),
            vec!["build", "-p", "elasticsearch-client", "--features", "full"],
        ),
    ];
    let official_dir = peers::official_rs_project();
    if let Ok(dir) = &official_dir {
        builds.push((
            "clean debug build",
            "official elasticsearch 9.1.0-alpha.1",
            dir.clone(),
            vec!["build", "-p", "elasticsearch"],
        ));
    }
    for (case, name, dir, args) in builds {
        eprintln!("bench:   {case} · {name}");
        let target = build_root.join(name.replace([' ', '(', ')', '-'], "_"));
        proc::remove_dir(&target)?;
        let mut cmd = Command::new(time);
        cmd.arg("-v")
            .arg("cargo")
            .args(&args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target);
        let row = s.row(case, name);
        match proc::run(cmd, Duration::from_secs(3600)) {
            Ok(done) => {
                let (wall, rss) = parse_time_v(&done.stderr);
                row.push("seconds", wall.unwrap_or(done.wall.as_secs_f64()));
                if let Some(kib) = rss {
                    row.push("peak RSS MiB", kib / 1024.0);
                }
            }
            Err(e) => row.fail(format!("failed: {e:#}")),
        }
        let _ = proc::remove_dir(&target);
    }
    if let Err(e) = official_dir {
        s.row("clean debug build", "official elasticsearch 9.1.0-alpha.1")
            .fail(format!("missing: {e:#}"));
    }
    Ok(s)
}

/// Wall time (s) and maximum RSS (KiB) from `/usr/bin/time -v` output.
fn parse_time_v(stderr: &str) -> (Option<f64>, Option<f64>) {
    let mut wall = None;
    let mut rss = None;
    for line in stderr.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Elapsed (wall clock) time (h:mm:ss or m:ss):") {
            let parts: Vec<f64> = v.trim().split(':').filter_map(|p| p.parse().ok()).collect();
            wall = Some(parts.iter().fold(0.0, |acc, p| acc * 60.0 + p));
        } else if let Some(v) = line.strip_prefix("Maximum resident set size (kbytes):") {
            rss = v.trim().parse().ok();
        }
    }
    (wall, rss)
}

// ---------------------------------------------------------------------------
// Goals

fn goals(scenarios: &[Scenario]) -> Vec<Goal> {
    let get = |id: u32| scenarios.iter().find(|s| s.id == id && s.skipped.is_none());
    let mut goals = Vec::new();

    // 1: ours ≥ 0.90 × bare hyper, every case.
    let mut g = Goal {
        goal: "client overhead: ours ≥ 0.90× bare hyper req/s (every case)".into(),
        verdict: "not measured".into(),
        detail: String::new(),
    };
    if let Some(s) = get(1) {
        let ratios: Vec<(String, f64)> = s
            .rows
            .iter()
            .filter(|r| r.contender == "ours" && r.status == "ok")
            .filter_map(|r| s.ratio_of(r).map(|x| (r.case.clone(), x)))
            .collect();
        if !ratios.is_empty() {
            let worst = ratios.iter().map(|(_, x)| *x).fold(f64::INFINITY, f64::min);
            g.verdict = verdict(worst >= 0.90);
            g.detail = ratios
                .iter()
                .map(|(c, x)| format!("{c}: {x:.2}×"))
                .collect::<Vec<_>>()
                .join("; ");
        }
    }
    goals.push(g);

    // 2: typed decode ≥ 1.5 × Value.
    let mut g = Goal {
        goal: "decode: typed (endpoint path) ≥ 1.5× the speed of serde_json::Value".into(),
        verdict: "not measured".into(),
        detail: String::new(),
    };
    if let Some(s) = get(2) {
        if let Some(x) = s
            .rows
            .iter()
            .find(|r| r.contender == "typed-endpoint" && r.status == "ok")
            .and_then(|r| s.ratio_of(r))
        {
            g.verdict = verdict(x >= 1.5);
            g.detail = format!("{x:.2}×");
        }
    }
    goals.push(g);

    // 3: bulk ≥ go-es and ≥ 2 × elasticsearch-py.
    for (peer, factor, label) in [
        (
            "go-elasticsearch BulkIndexer",
            1.0,
            "bulk: ours ≥ go-elasticsearch BulkIndexer docs/s",
        ),
        (
            "elasticsearch-py parallel_bulk",
            2.0,
            "bulk: ours ≥ 2× elasticsearch-py parallel_bulk docs/s",
        ),
        (
            "elasticsearch-py streaming_bulk",
            2.0,
            "bulk: ours ≥ 2× elasticsearch-py streaming_bulk docs/s",
        ),
    ] {
        let mut g = Goal {
            goal: label.into(),
            verdict: "not measured".into(),
            detail: String::new(),
        };
        if let Some(s) = get(3) {
            match s
                .rows
                .iter()
                .find(|r| r.contender == peer)
                .filter(|r| r.status == "ok")
                .and_then(|r| s.ratio_of(r))
            {
                Some(x) => {
                    g.verdict = verdict(x >= factor);
                    g.detail = format!("ours ÷ peer = {x:.2}×");
                }
                None => {
                    if let Some(r) = s.rows.iter().find(|r| r.contender == peer) {
                        g.detail = r.status.clone();
                    }
                }
            }
        }
        goals.push(g);
    }

    // 4: bounded RSS.
    let mut g = Goal {
        goal: "scale: peak RSS ≤ 100 MB while ingesting 3M documents".into(),
        verdict: "not measured".into(),
        detail: String::new(),
    };
    if let Some(s) = get(4) {
        if let Some(r) = s.rows.iter().find(|r| r.status == "ok") {
            if let Some(mib) = r.median("peak RSS MiB") {
                let mb = mib * 1.048_576;
                let full = r.case.starts_with("3000000");
                g.verdict = if full {
                    verdict(mb <= 100.0)
                } else {
                    format!("{} (shrunk run)", verdict(mb <= 100.0))
                };
                g.detail = format!("{mb:.1} MB peak RSS over {}", r.case);
            }
        }
    }
    goals.push(g);
    goals
}

fn verdict(met: bool) -> String {
    if met { "met" } else { "not met" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::report::{median, Row};
    use super::*;

    #[test]
    fn arguments_are_checked_before_anything_runs() {
        let parse = |args: &[&str]| Config::parse(&strings(args));
        assert!(parse(&["--only", "1,3"]).is_ok());
        for bad in [
            &["--only", "9"][..],
            &["--only", "x"],
            &["--reps", "0"],
            &["--reps", "x"],
            &["--quick", "--publish"],
            &["--only", "2", "--publish"],
            &["--frobnicate"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn time_v_output_is_parsed() {
        let stderr = "\tCommand being timed: \"cargo build\"\n\
                      \tElapsed (wall clock) time (h:mm:ss or m:ss): 1:18.42\n\
                      \tMaximum resident set size (kbytes): 993280\n";
        let (wall, rss) = parse_time_v(stderr);
        assert!((wall.unwrap() - 78.42).abs() < 1e-9);
        assert_eq!(rss, Some(993_280.0));
        let (wall, _) = parse_time_v("Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03\n");
        assert_eq!(wall, Some(3723.0));
    }

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let mut s = Scenario::new(1, "t", String::new());
        s.ratio = Some(Ratio {
            metric: "req/s".into(),
            baseline: "hyper".into(),
            baseline_over_this: false,
            label: "÷ hyper".into(),
        });
        s.row("c", "hyper").push("req/s", 100.0);
        s.row("c", "ours").push("req/s", 95.0);
        s.row("c", "ours").push("req/s", 85.0);
        s.row("c", "official").fail("missing: no cargo".into());
        let ours = s.find("c", "ours").unwrap().clone();
        assert!((s.ratio_of(&ours).unwrap() - 0.90).abs() < 1e-9);
        let goals = goals(&[s.clone()]);
        assert_eq!(goals[0].verdict, "met");
        assert_eq!(goals[1].verdict, "not measured");
        let report = Report {
            date: "d".into(),
            mode: "quick".into(),
            duration_seconds: 1.0,
            machine: BTreeMap::new(),
            versions: BTreeMap::new(),
            command: "cargo xtask bench --quick".into(),
            scenarios: vec![s],
            goals,
        };
        let md = report.to_markdown();
        assert!(
            md.contains("| c | ours | 90.00 (85.00–95.00) | 0.90× |"),
            "{md}"
        );
        assert!(md.contains("missing: no cargo"), "{md}");
        let _: Row = ours;
    }
}
