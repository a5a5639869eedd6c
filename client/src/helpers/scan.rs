//! Every hit of a query as a [`Stream`], by scroll or by point-in-time with
//! `search_after` (optionally sliced for parallel reads).
//!
//! The pages are fetched by a background task that stays one page ahead of the
//! reader. The search context is always released: `DELETE /_search/scroll` (or
//! `DELETE /_pit`) is sent when the last page has been read, when a page request
//! fails, and when the stream is dropped early. A 404 on release is ignored (the
//! context already expired). Shard failures in a page are errors, not silently
//! missing hits.
//!
//! ```no_run
//! # async fn example() -> Result<(), elasticsearch_client::Error> {
//! use elasticsearch_client::helpers::scan::Scan;
//! use elasticsearch_client::Client;
//! use futures::StreamExt;
//! use serde_json::{json, Value};
//!
//! let client = Client::new("http://127.0.0.1:9200")?;
//! let mut hits = Scan::new(client)
//!     .index("books")
//!     .query(json!({"range": {"year": {"lt": 1900}}}))
//!     .keep_alive("2m")
//!     .hits::<Value>();
//! while let Some(hit) = hits.next().await {
//!     let hit = hit?;
//!     println!("{:?} {:?}", hit.id, hit.source);
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use http::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::runtime::{decode_body, UrlBuilder};
use crate::{ApiError, CallOptions, Client, Error, RequestBody};

/// One hit: where the document lives and its source.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Hit<T> {
    /// The index of the document.
    #[serde(rename = "_index")]
    pub index: String,
    /// The document id.
    #[serde(rename = "_id")]
    pub id: Option<String>,
    /// The document's routing, if it has custom routing.
    #[serde(rename = "_routing")]
    pub routing: Option<String>,
    /// The source (absent when `_source` is switched off).
    #[serde(rename = "_source")]
    pub source: Option<T>,
    /// The sort values (point-in-time scans).
    #[serde(default)]
    pub sort: Vec<Value>,
}

#[derive(Clone, Debug)]
enum Mode {
    Scroll,
    PointInTime { slices: u32 },
}

/// Configures a scan. Defaults: pages of 1000 hits, keep-alive `5m`, by scroll.
#[derive(Clone, Debug)]
pub struct Scan {
    client: Client,
    index: Option<String>,
    body: Map<String, Value>,
    size: u32,
    keep_alive: String,
    mode: Mode,
}

impl Scan {
    /// A scan of all indices (set [`index`](Self::index) to narrow it).
    pub fn new(client: Client) -> Self {
        Scan {
            client,
            index: None,
            body: Map::new(),
            size: 1000,
            keep_alive: "5m".to_string(),
            mode: Mode::Scroll,
        }
    }

    /// The index, alias, data stream or pattern to read (comma-separated list allowed).
    pub fn index(mut self, index: impl Into<String>) -> Self {
        self.index = Some(index.into());
        self
    }

    /// The query (the `query` of the search body); all documents without it.
    pub fn query(mut self, query: Value) -> Self {
        self.body.insert("query".to_string(), query);
        self
    }

    /// Another search body field (`_source`, `runtime_mappings`, …).
    pub fn body_field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.body.insert(name.into(), value);
        self
    }

    /// Hits per page.
    pub fn size(mut self, size: u32) -> Self {
        self.size = size.max(1);
        self
    }

    /// How long the server keeps the search context between pages (`30s`, `5m`).
    pub fn keep_alive(mut self, keep_alive: impl Into<String>) -> Self {
        self.keep_alive = keep_alive.into();
        self
    }

    /// Reads with a point in time and `search_after` instead of a scroll.
    pub fn point_in_time(mut self) -> Self {
        self.mode = Mode::PointInTime { slices: 1 };
        self
    }

    /// Reads with a point in time in `n` slices, fetched in parallel.
    pub fn sliced_point_in_time(mut self, n: u32) -> Self {
        self.mode = Mode::PointInTime { slices: n.max(1) };
        self
    }

    /// Starts the scan: the stream of every hit, sources decoded as `T`. Pages are
    /// fetched as the stream is read. Dropping the stream early releases the search
    /// context in the background (within a Tokio runtime).
    pub fn hits<T: DeserializeOwned + Send + 'static>(self) -> ScanStream<T> {
        let scan = Arc::new(self);
        let inner: BoxStream<'static, Result<Hit<T>, Error>> = match scan.mode {
            Mode::Scroll => scroll(scan).boxed(),
            Mode::PointInTime { slices } => point_in_time(scan, slices).boxed(),
        };
        ScanStream { inner }
    }

    async fn post(&self, name: &'static str, path: &str, body: &Value) -> Result<Bytes, Error> {
        let body = RequestBody::Json(Bytes::from(body.to_string()));
        let response = self
            .client
            .request(Method::POST, path, Some(body), &CallOptions::default())
            .await?;
        crate::runtime::check_status(name, &response, &[])?;
        Ok(response.body)
    }

    /// Releases a context; a 404 (already gone) is fine.
    async fn release(&self, path: &str, body: Value) {
        let body = RequestBody::Json(Bytes::from(body.to_string()));
        match self
            .client
            .request(Method::DELETE, path, Some(body), &CallOptions::default())
            .await
        {
            Ok(r) if r.status.is_success() || r.status.as_u16() == 404 => {}
            Ok(r) => tracing::warn!(status = %r.status, path, "could not release a search context"),
            Err(e) => tracing::warn!(error = %e, path, "could not release a search context"),
        }
    }
}

/// The hits of a scan. Dropping it releases the search context.
pub struct ScanStream<T> {
    inner: BoxStream<'static, Result<Hit<T>, Error>>,
}

impl<T> fmt::Debug for ScanStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanStream").finish_non_exhaustive()
    }
}

impl<T> Stream for ScanStream<T> {
    type Item = Result<Hit<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A search context to release: at the end (awaited), or when dropped before that
/// (in the background).
struct Release {
    scan: Arc<Scan>,
    path: &'static str,
    /// The latest id; `None` once released.
    id: Mutex<Option<String>>,
    body: fn(String) -> Value,
}

impl Release {
    fn new(scan: Arc<Scan>, path: &'static str, body: fn(String) -> Value) -> Self {
        Release {
            scan,
            path,
            id: Mutex::new(None),
            body,
        }
    }

    fn set(&self, id: String) {
        if let Ok(mut slot) = self.id.lock() {
            *slot = Some(id);
        }
    }

    fn get(&self) -> Option<String> {
        self.id.lock().ok().and_then(|id| id.clone())
    }

    fn take(&self) -> Option<String> {
        self.id.lock().ok().and_then(|mut id| id.take())
    }

    async fn now(&self) {
        if let Some(id) = self.take() {
            self.scan.release(self.path, (self.body)(id)).await;
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let Some(id) = self.take() else { return };
        let (scan, path, body) = (self.scan.clone(), self.path, (self.body)(id));
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { scan.release(path, body).await });
            }
            Err(_) => tracing::warn!(
                path,
                "no runtime to release a search context; it expires with its keep-alive"
            ),
        }
    }
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(rename = "_scroll_id")]
    scroll_id: Option<String>,
    pit_id: Option<String>,
    #[serde(rename = "_shards")]
    shards: Option<Shards>,
    hits: Hits<T>,
}

#[derive(Deserialize)]
struct Shards {
    #[serde(default)]
    failed: u64,
    #[serde(default)]
    failures: Vec<Value>,
}

#[derive(Deserialize)]
struct Hits<T> {
    hits: Vec<Hit<T>>,
}

/// A decoded page, with the error its shard failures make (the page still carries
/// the context id to release).
fn decode_page<T: DeserializeOwned>(
    name: &'static str,
    body: &Bytes,
) -> Result<(Page<T>, Option<Error>), Error> {
    let page: Page<T> = decode_body(name, 200, body)?;
    if let Some(shards) = &page.shards {
        if shards.failed > 0 {
            let mut error = ApiError::new(name, 200, body.clone());
            error.error_type = Some("shard_failures".to_string());
            let reasons: Vec<String> = shards
                .failures
                .iter()
                .map(|f| {
                    let reason = &f["reason"];
                    format!(
                        "shard {} of [{}]: {}: {}",
                        f["shard"],
                        f["index"].as_str().unwrap_or("?"),
                        reason["type"].as_str().unwrap_or("?"),
                        reason["reason"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            error.reason = Some(format!(
                "{} shard(s) failed, their hits are missing: {}",
                shards.failed,
                reasons.join("; ")
            ));
            return Ok((page, Some(Error::Api(Box::new(error)))));
        }
    }
    Ok((page, None))
}

fn scroll<T: DeserializeOwned + Send + 'static>(
    scan: Arc<Scan>,
) -> impl Stream<Item = Result<Hit<T>, Error>> + Send {
    struct State<T> {
        scan: Arc<Scan>,
        release: Release,
        buffer: std::collections::VecDeque<Hit<T>>,
        started: bool,
        finished: bool,
    }
    let state = State {
        release: Release::new(
            scan.clone(),
            "/_search/scroll",
            |id| json!({ "scroll_id": [id] }),
        ),
        scan,
        buffer: Default::default(),
        started: false,
        finished: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(hit) = st.buffer.pop_front() {
                return Some((Ok(hit), st));
            }
            if st.finished {
                st.release.now().await;
                return None;
            }
            let page = if st.started {
                let Some(id) = st.release.get() else {
                    st.finished = true;
                    let e = Error::build("scroll", "the search answer has no _scroll_id");
                    return Some((Err(e), st));
                };
                let next = json!({"scroll": st.scan.keep_alive, "scroll_id": id});
                st.scan
                    .post("scroll", "/_search/scroll", &next)
                    .await
                    .and_then(|b| decode_page::<T>("scroll", &b))
            } else {
                st.started = true;
                let mut url = UrlBuilder::new();
                if let Some(index) = &st.scan.index {
                    url.literal("/").part(index);
                }
                url.literal("/_search");
                url.param("scroll", &st.scan.keep_alive);
                let mut body = Value::Object(st.scan.body.clone());
                body["size"] = json!(st.scan.size);
                if body.get("sort").is_none() {
                    body["sort"] = json!(["_doc"]);
                }
                st.scan
                    .post("search", &url.finish(), &body)
                    .await
                    .and_then(|b| decode_page::<T>("search", &b))
            };
            match page {
                Ok((page, shard_error)) => {
                    if let Some(id) = page.scroll_id {
                        st.release.set(id);
                    }
                    if let Some(e) = shard_error {
                        st.finished = true;
                        st.release.now().await;
                        return Some((Err(e), st));
                    }
                    if page.hits.hits.is_empty() {
                        st.finished = true;
                    }
                    st.buffer.extend(page.hits.hits);
                }
                Err(e) => {
                    st.finished = true;
                    st.release.now().await;
                    return Some((Err(e), st));
                }
            }
        }
    })
}

fn point_in_time<T: DeserializeOwned + Send + 'static>(
    scan: Arc<Scan>,
    slices: u32,
) -> impl Stream<Item = Result<Hit<T>, Error>> + Send {
    struct Shared {
        release: Release,
        remaining: std::sync::atomic::AtomicU32,
    }
    struct State<T> {
        scan: Arc<Scan>,
        shared: Arc<Shared>,
        slice: Option<(u32, u32)>,
        buffer: std::collections::VecDeque<Hit<T>>,
        search_after: Option<Vec<Value>>,
        finished: bool,
    }
    let open = async move {
        let mut url = UrlBuilder::new();
        url.literal("/");
        url.part(&scan.index.as_deref().unwrap_or("_all"));
        url.literal("/_pit");
        url.param("keep_alive", &scan.keep_alive);
        #[derive(Deserialize)]
        struct Opened {
            id: String,
        }
        let opened = scan
            .post("open_point_in_time", &url.finish(), &json!({}))
            .await
            .and_then(|b| decode_body::<Opened>("open_point_in_time", 200, &b));
        let id = match opened {
            Ok(opened) => opened.id,
            Err(e) => return futures::stream::once(async { Err(e) }).boxed(),
        };
        let shared = Arc::new(Shared {
            release: Release::new(scan.clone(), "/_pit", |id| json!({ "id": id })),
            remaining: std::sync::atomic::AtomicU32::new(slices),
        });
        shared.release.set(id);
        let streams = (0..slices).map(|n| {
            let state = State {
                scan: scan.clone(),
                shared: shared.clone(),
                slice: (slices > 1).then_some((n, slices)),
                buffer: Default::default(),
                search_after: None,
                finished: false,
            };
            futures::stream::unfold(state, |mut st| async move {
                loop {
                    if let Some(hit) = st.buffer.pop_front() {
                        return Some((Ok(hit), st));
                    }
                    if st.finished {
                        let left = st
                            .shared
                            .remaining
                            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        if left == 1 {
                            st.shared.release.now().await;
                        }
                        return None;
                    }
                    let id = st.shared.release.get()?;
                    let mut body = Value::Object(st.scan.body.clone());
                    body["size"] = json!(st.scan.size);
                    body["pit"] = json!({"id": id, "keep_alive": st.scan.keep_alive});
                    if body.get("sort").is_none() {
                        body["sort"] = json!([{"_shard_doc": "asc"}]);
                    }
                    if let Some((n, max)) = st.slice {
                        body["slice"] = json!({"id": n, "max": max});
                    }
                    if let Some(after) = &st.search_after {
                        body["search_after"] = json!(after);
                    }
                    let page = st
                        .scan
                        .post("search", "/_search", &body)
                        .await
                        .and_then(|b| decode_page::<T>("search", &b));
                    match page {
                        Ok((page, shard_error)) => {
                            if let Some(id) = page.pit_id {
                                st.shared.release.set(id);
                            }
                            if let Some(e) = shard_error {
                                st.finished = true;
                                return Some((Err(e), st));
                            }
                            let hits = page.hits.hits;
                            if (hits.len() as u32) < st.scan.size {
                                st.finished = true;
                            }
                            match hits.last() {
                                Some(last) if last.sort.is_empty() => {
                                    st.finished = true;
                                    let e = Error::build(
                                        "search",
                                        "a point-in-time hit has no sort values",
                                    );
                                    return Some((Err(e), st));
                                }
                                Some(last) => st.search_after = Some(last.sort.clone()),
                                None => st.finished = true,
                            }
                            st.buffer.extend(hits);
                        }
                        Err(e) => {
                            st.finished = true;
                            return Some((Err(e), st));
                        }
                    }
                }
            })
            .boxed()
        });
        futures::stream::select_all(streams).boxed()
    };
    futures::stream::once(open).flatten()
}
