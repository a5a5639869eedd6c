//! Request compression (gzip, opt-in) and response decoding (gzip, deflate).

use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use flate2::write::GzEncoder;
use http::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;

/// Gzips request bodies (when enabled) and decodes gzip/deflate response bodies.
#[derive(Clone, Debug)]
pub struct Compression<S> {
    inner: S,
    gzip_requests: bool,
}

/// Layer for [`Compression`].
#[derive(Clone, Debug)]
pub struct CompressionLayer {
    gzip_requests: bool,
}

impl CompressionLayer {
    /// A layer that gzips request bodies when `gzip_requests` is true. Responses are
    /// always decoded.
    pub fn new(gzip_requests: bool) -> Self {
        Self { gzip_requests }
    }
}

impl<S> Layer<S> for CompressionLayer {
    type Service = Compression<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Compression {
            inner,
            gzip_requests: self.gzip_requests,
        }
    }
}

/// Future of [`Compression`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static>>;

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

fn decode(encoding: &str, body: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::with_capacity(body.len() * 4);
    match encoding {
        "gzip" | "x-gzip" => {
            MultiGzDecoder::new(body).read_to_end(&mut out)?;
        }
        "deflate" => {
            // HTTP's "deflate" is zlib-wrapped; some servers send raw deflate.
            if ZlibDecoder::new(body).read_to_end(&mut out).is_err() {
                out.clear();
                DeflateDecoder::new(body).read_to_end(&mut out)?;
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(out))
}

impl<S> Service<http::Request<Bytes>> for Compression<S>
where
    S: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Bytes>;
    type Error = Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Bytes>) -> Self::Future {
        if self.gzip_requests {
            request
                .headers_mut()
                .entry(ACCEPT_ENCODING)
                .or_insert(HeaderValue::from_static("gzip, deflate"));
            if !request.body().is_empty() && !request.headers().contains_key(CONTENT_ENCODING) {
                match gzip(request.body()) {
                    Ok(compressed) => {
                        *request.body_mut() = Bytes::from(compressed);
                        request
                            .headers_mut()
                            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                        request.headers_mut().remove(CONTENT_LENGTH);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot gzip the request body; sending it uncompressed")
                    }
                }
            }
        }
        let fut = self.inner.call(request);
        Box::pin(async move {
            let response = fut.await?;
            let Some(encoding) = response
                .headers()
                .get(CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_ascii_lowercase())
            else {
                return Ok(response);
            };
            if response.body().is_empty() {
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            match decode(&encoding, &body) {
                Ok(Some(decoded)) => {
                    parts.headers.remove(CONTENT_ENCODING);
                    parts
                        .headers
                        .insert(CONTENT_LENGTH, HeaderValue::from(decoded.len()));
                    Ok(http::Response::from_parts(parts, Bytes::from(decoded)))
                }
                Ok(None) => Ok(http::Response::from_parts(parts, body)),
                Err(source) => Err(Error::Decompression { encoding, source }),
            }
        })
    }
}
