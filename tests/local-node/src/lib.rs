//! Local Elasticsearch nodes for tests, the demo and benchmarks.
//!
//! The nodes are real Elasticsearch: the integ-test distribution from Maven Central
//! (see [`ES_VERSION`]) started with its own launcher, one process per node, plus a
//! small plugin of ours (`tests/local-node/java`) serving `GET /` and `HEAD /`, since
//! the rest-root module is not published. Everything lives under `target/es/` at the
//! workspace root; the running cluster is described by `target/es/cluster.json`
//! ([`ClusterInfo`]), which [`cluster_info`] reads.
//!
//! `cargo xtask es start|stop|status` drives this crate; integration tests call
//! [`cluster_info`], [`kill_node`] and [`restart_node`].
//!
//! Each node gets a heap of 512 MiB unless the `LOCAL_ES_HEAP` environment variable
//! says otherwise (`LOCAL_ES_HEAP=1g`). The JDK is `ES_JAVA_HOME` when set, otherwise
//! the Temurin 25 JDK under `/usr/lib/jvm`, otherwise the newest JDK 21+ found there.

#![warn(missing_docs)]

pub mod npm;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

mod certs;
mod dist;
mod process;

/// The Elasticsearch version the nodes run: `[elasticsearch] version` of
/// `api-spec/spec.toml`, the same minor as the pinned specification.
pub const ES_VERSION: &str = env!("LOCAL_ES_VERSION");
/// The cluster name of the local nodes.
pub const CLUSTER_NAME: &str = "local-es";
/// The user whose password `--secure` sets.
pub const SECURE_USER: &str = "elastic";
/// Distance from a node's HTTP port to its transport port: HTTP 9200 → transport 9300,
/// so clusters started on different HTTP ports do not collide on transport ports either.
pub const TRANSPORT_PORT_OFFSET: u16 = 100;
/// Default heap per node (`-Xms`/`-Xmx`), overridden by `LOCAL_ES_HEAP`.
pub const DEFAULT_HEAP: &str = "512m";

/// How long one node may take to start before we give up on it.
/// Generous: several JVMs starting at once on a busy two-core machine take minutes.
const START_TIMEOUT: Duration = Duration::from_secs(900);
/// How long a node gets to shut down on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartOptions {
    /// Number of nodes, one process each.
    pub nodes: usize,
    /// HTTP port of node 0; node `k` listens on `http_port + k`.
    pub http_port: u16,
    /// X-Pack security with TLS on HTTP and transport, user [`SECURE_USER`].
    pub secure: bool,
    /// Extra node settings (`-E key=value`), applied to every node; they override ours.
    pub settings: Vec<(String, String)>,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            nodes: 1,
            http_port: 9200,
            secure: false,
            settings: Vec::new(),
        }
    }
}

/// The running cluster, as recorded in `target/es/cluster.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Elasticsearch version.
    pub version: String,
    /// Whether security and TLS are on.
    pub secure: bool,
    /// The nodes, `node-0` first.
    pub nodes: Vec<NodeInfo>,
    /// PEM file of the CA that signed the nodes' HTTP certificate (secure only).
    pub ca_cert: Option<String>,
    /// Hex SHA-256 of the CA certificate's DER encoding (secure only).
    pub ca_fingerprint: Option<String>,
    /// User for basic authentication (secure only).
    pub username: Option<String>,
    /// Password of [`ClusterInfo::username`] (secure only).
    pub password: Option<String>,
}

/// One node of the running cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node name (`node-K`).
    pub name: String,
    /// Base URL of the node's HTTP interface, e.g. `http://127.0.0.1:9200`.
    pub http_url: String,
    /// Process id of the node's JVM.
    pub pid: u32,
    /// The node's data path.
    pub data_dir: String,
    /// The node's main log file.
    pub log_file: String,
}

impl ClusterInfo {
    /// The HTTP URLs of all nodes.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.http_url.clone()).collect()
    }
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(manifest);
    root.canonicalize().unwrap_or(root)
}

/// `target/es` at the workspace root: distribution, node directories, cluster.json.
pub(crate) fn es_dir() -> PathBuf {
    workspace_root().join("target").join("es")
}

fn cluster_file() -> PathBuf {
    es_dir().join("cluster.json")
}

/// The options the recorded cluster was started with (kept beside cluster.json).
fn options_file() -> PathBuf {
    es_dir().join("options.json")
}

/// The shared file-system snapshot repository root (`path.repo` of every node).
fn repo_dir() -> PathBuf {
    es_dir().join("repo")
}

fn node_dir(k: usize) -> PathBuf {
    es_dir().join("nodes").join(format!("node-{k}"))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("parsing {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The running cluster, read from `target/es/cluster.json`.
pub fn cluster_info() -> Result<ClusterInfo> {
    let path = cluster_file();
    read_json(&path)?.ok_or_else(|| {
        anyhow!(
            "no local Elasticsearch is running ({} is missing): run `cargo xtask es start` first",
            path.display()
        )
    })
}

/// The recorded cluster if all its node processes are alive, `None` when there is
/// none (or it is gone).
pub fn status() -> Result<Option<ClusterInfo>> {
    let Some(info) = read_json::<ClusterInfo>(&cluster_file())? else {
        return Ok(None);
    };
    if info.nodes.iter().all(|n| process::alive(n.pid)) {
        Ok(Some(info))
    } else {
        Ok(None)
    }
}

/// Every JVM started from our distribution, whatever pid files say.
fn our_jvms() -> Vec<u32> {
    let home = es_dir().join(format!("elasticsearch-{ES_VERSION}"));
    process::find(&format!("-Des.path.home={}", home.display()))
}

/// Stops every node of ours (SIGTERM, SIGKILL after 30 s) and removes cluster.json.
/// Stopping when nothing runs is fine. Returns how many nodes were running.
pub fn stop() -> Result<usize> {
    let mut pids: Vec<u32> = Vec::new();
    if let Ok(Some(info)) = read_json::<ClusterInfo>(&cluster_file()) {
        pids.extend(info.nodes.iter().map(|n| n.pid));
    }
    if let Ok(entries) = fs::read_dir(es_dir().join("nodes")) {
        for entry in entries.flatten() {
            if let Some(pid) = read_pid(&entry.path().join("node.pid")) {
                pids.push(pid);
            }
        }
    }
    // Only pids that are still our Elasticsearch: a recorded pid may have been reused.
    let ours = our_jvms();
    pids.retain(|p| ours.contains(p));
    pids.extend(ours);
    pids.sort_unstable();
    pids.dedup();
    process::terminate(&pids, STOP_GRACE)?;
    for path in [cluster_file(), options_file()] {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(pids.len())
}

fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn heap() -> String {
    std::env::var("LOCAL_ES_HEAP")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HEAP.to_string())
}

/// Starts the cluster described by `opts` and returns once its health is yellow or
/// green. If the same cluster is already running and healthy, returns it as is;
/// a different one of ours is stopped first. Node data starts empty.
pub fn start(opts: &StartOptions) -> Result<ClusterInfo> {
    if opts.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    if usize::from(opts.http_port) + usize::from(TRANSPORT_PORT_OFFSET) + opts.nodes
        > usize::from(u16::MAX)
    {
        bail!(
            "--http-port {} leaves no room for {} nodes",
            opts.http_port,
            opts.nodes
        );
    }
    if let Some(info) = status()? {
        let same = read_json::<StartOptions>(&options_file())?.as_ref() == Some(opts);
        if same && health(&info, opts.nodes, Duration::from_secs(5)).is_ok() {
            return Ok(info);
        }
        eprintln!("stopping the running local cluster (different options or unhealthy)");
    }
    stop()?;

    check_ports(opts)?;
    let java_home = dist::java_home()?;
    let home = dist::prepare(&java_home)?;
    if process::is_root() {
        process::ensure_run_user()?;
        process::check_run_user_can_read(&home.join("bin/elasticsearch"))?;
    }

    let nodes_root = es_dir().join("nodes");
    if nodes_root.exists() {
        fs::remove_dir_all(&nodes_root)
            .with_context(|| format!("removing {}", nodes_root.display()))?;
    }
    let certs = if opts.secure {
        Some(certs::generate(&es_dir().join("certs"))?)
    } else {
        None
    };
    let password = opts.secure.then(random_password).transpose()?;
    let keystore = match &password {
        Some(password) => Some(bootstrap_keystore(&home, &java_home, password)?),
        None => None,
    };

    let mut info = ClusterInfo {
        version: ES_VERSION.to_string(),
        secure: opts.secure,
        nodes: Vec::new(),
        ca_cert: certs.as_ref().map(|c| c.ca_cert.display().to_string()),
        ca_fingerprint: certs.as_ref().map(|c| c.fingerprint.clone()),
        username: opts.secure.then(|| SECURE_USER.to_string()),
        password: password.clone(),
    };
    let repo = repo_dir();
    if repo.exists() {
        fs::remove_dir_all(&repo)?;
    }
    fs::create_dir_all(&repo)?;
    process::give_to_run_user(&repo)?;
    for k in 0..opts.nodes {
        let dir = node_dir(k);
        setup_node(&dir, &home, k, opts, certs.as_ref(), keystore.as_deref())?;
        let scheme = if opts.secure { "https" } else { "http" };
        info.nodes.push(NodeInfo {
            name: format!("node-{k}"),
            http_url: format!("{scheme}://127.0.0.1:{}", opts.http_port + k as u16),
            pid: 0,
            data_dir: dir.join("data").display().to_string(),
            log_file: dir
                .join("logs")
                .join(format!("{CLUSTER_NAME}.log"))
                .display()
                .to_string(),
        });
    }

    // All launchers at once: with several nodes, none finishes starting alone.
    let mut launchers = Vec::new();
    for k in 0..opts.nodes {
        launchers.push(spawn_launcher(&home, &java_home, k)?);
    }
    let mut failure = None;
    for (k, child) in launchers.into_iter().enumerate() {
        if let Err(e) = wait_launcher(child, k, &info.nodes[k]) {
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = failure {
        let _ = stop();
        return Err(e);
    }
    for (k, node) in info.nodes.iter_mut().enumerate() {
        node.pid = read_pid(&node_dir(k).join("node.pid"))
            .ok_or_else(|| anyhow!("node-{k} started but wrote no pid file"))?;
    }
    write_json(&cluster_file(), &info)?;
    write_json(&options_file(), opts)?;
    if let Err(e) = health(&info, opts.nodes, START_TIMEOUT) {
        let _ = stop();
        return Err(e);
    }
    if opts.secure {
        security_ready(&info);
    }
    Ok(info)
}

/// Fails with a message naming the port when one we need is taken.
fn check_ports(opts: &StartOptions) -> Result<()> {
    for k in 0..opts.nodes {
        let http = opts.http_port + k as u16;
        let transport = http + TRANSPORT_PORT_OFFSET;
        for (port, what) in [(http, "HTTP"), (transport, "transport")] {
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                bail!(
                    "port {port} ({what} port of node-{k}) on 127.0.0.1 is already in use by \
                     another process; free it{}",
                    if what == "HTTP" {
                        " or choose another with --http-port"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(())
}

fn random_password() -> Result<String> {
    let mut bytes = [0u8; 12];
    let mut f = fs::File::open("/dev/urandom").context("opening /dev/urandom")?;
    std::io::Read::read_exact(&mut f, &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Creates the node directory: config (copied from the distribution, our settings
/// in elasticsearch.yml, certificates and keystore when secure), data, logs, tmp.
fn setup_node(
    dir: &Path,
    home: &Path,
    k: usize,
    opts: &StartOptions,
    certs: Option<&certs::Certs>,
    keystore: Option<&Path>,
) -> Result<()> {
    let config = dir.join("config");
    for sub in ["data", "logs", "tmp"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    copy_dir(&home.join("config"), &config)?;

    let mut settings: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        settings.insert(k.to_string(), v);
    };
    set("cluster.name", CLUSTER_NAME.into());
    set("node.name", format!("node-{k}"));
    set("network.host", "127.0.0.1".into());
    set("http.port", (opts.http_port + k as u16).to_string());
    set(
        "transport.port",
        (opts.http_port + TRANSPORT_PORT_OFFSET + k as u16).to_string(),
    );
    set("path.data", dir.join("data").display().to_string());
    set("path.logs", dir.join("logs").display().to_string());
    // Test machines often have fuller disks than production would accept.
    set(
        "cluster.routing.allocation.disk.threshold_enabled",
        "false".into(),
    );
    // Tests clean up with wildcard deletes.
    set("action.destructive_requires_name", "false".into());
    // As on the cluster Elasticsearch's own REST tests run against: `fs` snapshot
    // repositories under one shared root, and a node attribute to select nodes by.
    set("path.repo", repo_dir().display().to_string());
    set("node.attr.testattr", "test".into());
    if opts.nodes == 1 {
        set("discovery.type", "single-node".into());
    } else {
        let seeds: Vec<String> = (0..opts.nodes)
            .map(|j| {
                format!(
                    "127.0.0.1:{}",
                    opts.http_port + TRANSPORT_PORT_OFFSET + j as u16
                )
            })
            .collect();
        let names: Vec<String> = (0..opts.nodes).map(|j| format!("node-{j}")).collect();
        set("discovery.seed_hosts", seeds.join(","));
        set("cluster.initial_master_nodes", names.join(","));
    }
    if let Some(certs) = certs {
        let dest = config.join("certs");
        fs::create_dir_all(&dest)?;
        for f in ["ca.crt", "node.crt", "node.key"] {
            fs::copy(certs.dir.join(f), dest.join(f))?;
        }
        set("xpack.security.enabled", "true".into());
        // Bearer tokens (and other paid features) need more than the basic license.
        set("xpack.license.self_generated.type", "trial".into());
        for layer in ["http", "transport"] {
            let p = format!("xpack.security.{layer}.ssl");
            set(&format!("{p}.enabled"), "true".into());
            set(&format!("{p}.key"), "certs/node.key".into());
            set(&format!("{p}.certificate"), "certs/node.crt".into());
            set(
                &format!("{p}.certificate_authorities"),
                "certs/ca.crt".into(),
            );
        }
        set(
            "xpack.security.transport.ssl.verification_mode",
            "certificate".into(),
        );
    } else {
        set("xpack.security.enabled", "false".into());
    }
    for (key, value) in &opts.settings {
        set(key, value.clone());
    }
    let mut yml = String::from("# Written by the local-node crate; regenerated on every start.\n");
    for (key, value) in &settings {
        yml.push_str(&format!("{key}: {}\n", yaml_str(value)));
    }
    fs::write(config.join("elasticsearch.yml"), yml)?;
    if let Some(keystore) = keystore {
        fs::copy(keystore, config.join("elasticsearch.keystore"))?;
    }
    process::give_to_run_user(dir)
}

/// A keystore holding `bootstrap.password` (the `elastic` user's password until it is
/// changed), made once and copied to every node.
fn bootstrap_keystore(home: &Path, java_home: &Path, password: &str) -> Result<PathBuf> {
    let dir = es_dir().join("keystore");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    process::give_to_run_user(&dir)?;
    let mut cmd = process::command_as_run_user(&home.join("bin/elasticsearch-keystore"));
    cmd.args(["add", "-x", "-f", "bootstrap.password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    es_env(&mut cmd, &dir, java_home);
    cmd.env("ES_JAVA_OPTS", "-Xms64m -Xmx64m");
    let mut child = cmd.spawn().context("running elasticsearch-keystore")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(password.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "elasticsearch-keystore add bootstrap.password failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(dir.join("elasticsearch.keystore"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn es_env(cmd: &mut Command, config: &Path, java_home: &Path) {
    cmd.env("ES_PATH_CONF", config)
        .env("ES_JAVA_HOME", java_home)
        .env_remove("JAVA_HOME");
}

/// Runs `bin/elasticsearch -d` for node `k`; the launcher returns once the node has
/// started (or failed), leaving the node's JVM running in the background.
fn spawn_launcher(home: &Path, java_home: &Path, k: usize) -> Result<Child> {
    let dir = node_dir(k);
    let _ = fs::remove_file(dir.join("node.pid"));
    let out = fs::File::create(dir.join("launcher.out"))?;
    let mut cmd = process::command_as_run_user(&home.join("bin/elasticsearch"));
    cmd.arg("-d")
        .arg("-p")
        .arg(dir.join("node.pid"))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    es_env(&mut cmd, &dir.join("config"), java_home);
    let heap = heap();
    // No heap pre-touch: resident memory grows only as the heap is used.
    cmd.env(
        "ES_JAVA_OPTS",
        format!("-Xms{heap} -Xmx{heap} -XX:-AlwaysPreTouch"),
    )
    .env("ES_TMPDIR", dir.join("tmp"));
    cmd.spawn()
        .with_context(|| format!("starting {}", home.join("bin/elasticsearch").display()))
}

fn wait_launcher(mut child: Child, k: usize, node: &NodeInfo) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        sleep(Duration::from_millis(200));
    };
    match status {
        Some(s) if s.success() => Ok(()),
        other => {
            let why = match other {
                Some(s) => format!("exited with {s}"),
                None => format!("did not start within {} s", START_TIMEOUT.as_secs()),
            };
            bail!(
                "node-{k} {why}. Last 40 lines of {}:\n{}",
                node.log_file,
                node_log_tail(k, node, 40)
            )
        }
    }
}

/// The last `n` lines of the node's log, or of the launcher's output when the node
/// never got as far as logging.
fn node_log_tail(k: usize, node: &NodeInfo, n: usize) -> String {
    let log = fs::read_to_string(&node.log_file).unwrap_or_default();
    let text = if log.trim().is_empty() {
        fs::read_to_string(node_dir(k).join("launcher.out")).unwrap_or_default()
    } else {
        log
    };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One HTTP request with `curl`; returns the status code and body.
pub(crate) fn http(
    info: &ClusterInfo,
    method: &str,
    url: &str,
    timeout: Duration,
) -> Result<(u16, String)> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "--max-time"])
        .arg(timeout.as_secs().max(1).to_string())
        .args(["-w", "\n%{http_code}"]);
    if let Some(ca) = &info.ca_cert {
        cmd.arg("--cacert").arg(ca);
    }
    if let (Some(user), Some(password)) = (&info.username, &info.password) {
        // Through stdin, so the password does not show in the process list.
        cmd.args(["-K", "-"]).stdin(Stdio::piped());
        let config = format!("user = \"{user}:{password}\"\n");
        cmd.arg(url);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running `curl` (Debian: apt-get install curl)")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(config.as_bytes())?;
        }
        return curl_result(method, url, child.wait_with_output()?);
    }
    cmd.arg(url);
    let out = cmd
        .output()
        .context("running `curl` (Debian: apt-get install curl)")?;
    curl_result(method, url, out)
}

fn curl_result(method: &str, url: &str, out: std::process::Output) -> Result<(u16, String)> {
    if !out.status.success() {
        bail!(
            "{method} {url}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_ref()));
    let code = code
        .trim()
        .parse()
        .with_context(|| format!("{method} {url}: no status code from curl"))?;
    Ok((code, body.to_string()))
}

/// Waits until the cluster has `nodes` nodes and is yellow or green.
fn health(info: &ClusterInfo, nodes: usize, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Some(node) = info.nodes.iter().find(|n| process::alive(n.pid)) {
            let url = format!(
                "{}/_cluster/health?wait_for_status=yellow&wait_for_nodes={nodes}&timeout=5s",
                node.http_url
            );
            match http(info, "GET", &url, Duration::from_secs(10)) {
                Ok((200, body)) => {
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let status = v["status"].as_str().unwrap_or_default();
                    let count = v["number_of_nodes"].as_u64().unwrap_or_default();
                    if v["timed_out"] == false
                        && matches!(status, "yellow" | "green")
                        && count == nodes as u64
                    {
                        return Ok(());
                    }
                    last = body;
                }
                Ok((code, body)) => last = format!("HTTP {code}: {body}"),
                Err(e) => last = format!("{e:#}"),
            }
        }
        if let Some((k, node)) = info
            .nodes
            .iter()
            .enumerate()
            .find(|(_, n)| !process::alive(n.pid))
        {
            bail!(
                "{} (pid {}) died while waiting for cluster health. Last 40 lines of {}:\n{}",
                node.name,
                node.pid,
                node.log_file,
                node_log_tail(k, node, 40)
            );
        }
        sleep(Duration::from_millis(500));
    }
    bail!(
        "cluster health did not reach yellow with {nodes} nodes within {} s; last answer: {last}",
        timeout.as_secs()
    )
}

/// Right after start the nodes create the `.security` index (built-in roles go there);
/// until it is ready, a wrong password gets 503 instead of 401. Waits (up to two
/// minutes) until a wrong password is refused with 401, so tests see settled behaviour.
fn security_ready(info: &ClusterInfo) {
    let probe = ClusterInfo {
        password: Some("not-the-password".to_string()),
        ..info.clone()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        match http(
            &probe,
            "GET",
            &format!("{}/", info.nodes[0].http_url),
            Duration::from_secs(10),
        ) {
            Ok((401, _)) => return,
            _ => sleep(Duration::from_millis(500)),
        }
    }
    eprintln!("warning: the security index did not settle within 120 s");
}

/// SIGKILLs node `k` and waits until its process is gone.
pub fn kill_node(k: usize) -> Result<()> {
    let info = cluster_info()?;
    let node = info
        .nodes
        .get(k)
        .ok_or_else(|| anyhow!("no node-{k}: the cluster has {} nodes", info.nodes.len()))?;
    if !process::alive(node.pid) {
        return Ok(());
    }
    if !our_jvms().contains(&node.pid) {
        bail!(
            "pid {} of node-{k} is not our Elasticsearch any more",
            node.pid
        );
    }
    process::signal(node.pid, "KILL")?;
    if !process::wait_gone(&[node.pid], Duration::from_secs(30)) {
        bail!("node-{k} (pid {}) survived SIGKILL", node.pid);
    }
    Ok(())
}

/// Starts node `k` again on its data path and ports (killing it first if it still
/// runs); returns once it has joined and the cluster is yellow or green.
pub fn restart_node(k: usize) -> Result<()> {
    let mut info = cluster_info()?;
    if k >= info.nodes.len() {
        bail!("no node-{k}: the cluster has {} nodes", info.nodes.len());
    }
    kill_node(k)?;
    check_ports_of(&info, k)?;
    let java_home = dist::java_home()?;
    let home = es_dir().join(format!("elasticsearch-{ES_VERSION}"));
    let child = spawn_launcher(&home, &java_home, k)?;
    wait_launcher(child, k, &info.nodes[k])?;
    info.nodes[k].pid = read_pid(&node_dir(k).join("node.pid"))
        .ok_or_else(|| anyhow!("node-{k} restarted but wrote no pid file"))?;
    write_json(&cluster_file(), &info)?;
    // Ask the restarted node itself: it answers with all nodes only once it has joined,
    // whereas the others may still count its killed predecessor for a while.
    let mut via = info.clone();
    via.nodes.swap(0, k);
    health(&via, info.nodes.len(), START_TIMEOUT)
}

fn check_ports_of(info: &ClusterInfo, k: usize) -> Result<()> {
    let url = &info.nodes[k].http_url;
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| anyhow!("no port in {url}"))?;
    // The listening sockets of a killed JVM close with it; wait briefly for that.
    let deadline = Instant::now() + Duration::from_secs(10);
    for port in [port, port + TRANSPORT_PORT_OFFSET] {
        while TcpListener::bind(("127.0.0.1", port)).is_err() {
            if Instant::now() >= deadline {
                bail!("port {port} of node-{k} is still in use by another process");
            }
            sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}

/// The cluster's health document (`GET /_cluster/health`) from the first live node.
pub fn cluster_health(info: &ClusterInfo) -> Result<serde_json::Value> {
    let mut last = anyhow!("no live node");
    for node in info.nodes.iter().filter(|n| process::alive(n.pid)) {
        match http(
            info,
            "GET",
            &format!("{}/_cluster/health", node.http_url),
            Duration::from_secs(10),
        ) {
            Ok((200, body)) => return Ok(serde_json::from_str(&body)?),
            Ok((code, body)) => last = anyhow!("HTTP {code}: {body}"),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Whether node `k`'s process is alive.
pub fn node_alive(info: &ClusterInfo, k: usize) -> bool {
    info.nodes.get(k).is_some_and(|n| process::alive(n.pid))
}
