//! Overhead of the full transport stack against a bare hyper-util client.
//!
//! Both send the same `GET /_search` to the same canned-response loopback server, which
//! runs in a child process so that the CPU time measured (from `/proc/self/stat`) is
//! the client's alone. "bare + timeout" wraps each bare request in a Tokio timeout,
//! the one cost the transport cannot skip (a per-attempt request timeout).
//!
//! ```text
//! cargo run --release -p elasticsearch-transport --example overhead -- [requests] [concurrency]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use elasticsearch_transport::Transport;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

const BODY: &str = r#"{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":1,"relation":"eq"},"max_score":1.0,"hits":[{"_index":"i","_id":"1","_score":1.0,"_source":{"title":"hello"}}]}}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve();
    }
    let requests: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(8);

    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let port: u16 = line.trim().parse()?;
    let url = format!("http://127.0.0.1:{port}");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let bare = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let transport = Transport::single(&url)?;
        let bare_url = url.clone();
        let bare_send = move || {
            let bare = bare.clone();
            let uri: http::Uri = format!("{bare_url}/_search").parse().expect("uri");
            async move {
                let req = http::Request::get(uri)
                    .header("accept", "application/json")
                    .body(Full::new(Bytes::new()))
                    .expect("request");
                let resp = bare.request(req).await.expect("bare request");
                let body = resp.into_body().collect().await.expect("body").to_bytes();
                assert_eq!(body.len(), BODY.len());
            }
        };
        let timed = bare_send.clone();
        let bare_timeout_send = move || {
            let fut = timed();
            async move {
                tokio::time::timeout(Duration::from_secs(30), fut)
                    .await
                    .expect("bare request timed out");
            }
        };
        let t = transport.clone();
        let stack_send = move || {
            let t = t.clone();
            async move {
                let req = http::Request::get("/_search")
                    .header("accept", "application/json")
                    .body(Bytes::new())
                    .expect("request");
                let resp = t.send(req).await.expect("transport request");
                assert_eq!(resp.body().len(), BODY.len());
            }
        };
        // Warm up both (connections, allocator).
        run(requests / 10, concurrency, bare_send.clone()).await;
        run(requests / 10, concurrency, stack_send.clone()).await;
        let bare = run(requests, concurrency, bare_send).await;
        let bare_timeout = run(requests, concurrency, bare_timeout_send).await;
        let stack = run(requests, concurrency, stack_send).await;
        Ok::<_, elasticsearch_transport::Error>((bare, bare_timeout, stack))
    });
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    let (bare, bare_timeout, stack) = result?;
    println!("requests: {requests}, concurrency: {concurrency}");
    println!("{:<22} {:>12} {:>16}", "", "requests/s", "CPU µs/request");
    for (name, m) in [
        ("bare hyper-util", &bare),
        ("bare + timeout", &bare_timeout),
        ("transport stack", &stack),
    ] {
        println!("{name:<22} {:>12.0} {:>16.1}", m.rps, m.cpu_us);
    }
    println!(
        "ratio (stack / bare): throughput {:.3}, CPU per request {:.3}",
        stack.rps / bare.rps,
        stack.cpu_us / bare.cpu_us
    );
    Ok(())
}

struct Measure {
    rps: f64,
    cpu_us: f64,
}

async fn run<F, Fut>(requests: usize, concurrency: usize, send: F) -> Measure
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu0 = cpu_time();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let counter = counter.clone();
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            while counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                send().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let wall = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    Measure {
        rps: requests as f64 / wall.as_secs_f64(),
        cpu_us: cpu.as_secs_f64() * 1e6 / requests.max(1) as f64,
    }
}

/// User + system CPU time of this process (Linux; clock ticks of 100 Hz).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut out = std::io::stdout();
        writeln!(out, "{}", listener.local_addr()?.port())?;
        out.flush()?;
        // Exit when the parent closes our stdin.
        std::thread::spawn(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
            std::process::exit(0);
        });
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(
                        http::Response::builder()
                            .header("content-type", "application/json")
                            .header("x-elastic-product", "Elasticsearch")
                            .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                            .expect("response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}
