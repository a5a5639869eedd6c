//! A loopback HTTP server with canned Elasticsearch answers, for measuring client
//! overhead without a real node in the way.
//!
//! `bench-server [--port N]` prints `listening <port>` and serves until its standard
//! input closes. `GET /` answers the cluster info; `/bench/_search` a search answer of
//! about 10 KB; anything else 404.

use std::convert::Infallible;
use std::io::Read;

use anyhow::Result;
use bench::{canned, Args};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

fn main() -> Result<()> {
    let args = Args::from_env();
    let port: u16 = args.num("port", 0)?;
    let threads: usize = args.num("threads", 1)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    // Exit when whoever started us closes our standard input.
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    runtime.block_on(serve(port))
}

async fn serve(port: u16) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening {}", listener.local_addr()?.port());
    let info = Bytes::from(canned::info());
    let search = Bytes::from(canned::search(canned::SEARCH_10KB_HITS));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let info = info.clone();
        let search = search.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let body = match req.uri().path() {
                    canned::INFO_PATH => Some(info.clone()),
                    canned::SEARCH_PATH => Some(search.clone()),
                    _ => None,
                };
                async move {
                    // Read the request body so the connection stays reusable.
                    let _ = req.into_body().collect().await;
                    let response = match body {
                        Some(body) => Response::builder()
                            .header("content-type", "application/json")
                            .header("x-elastic-product", "Elasticsearch")
                            .body(Full::new(body)),
                        None => Response::builder()
                            .status(404)
                            .header("content-type", "application/json")
                            .header("x-elastic-product", "Elasticsearch")
                            .body(Full::new(Bytes::from_static(b"{}"))),
                    };
                    Ok::<_, Infallible>(response.unwrap_or_default())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
