//! Authentication: credentials and the layer that puts them in the `Authorization` header.
//!
//! Credentials live behind a shared lock so they can be rotated on a live transport
//! ([`crate::Transport::set_credentials`]). They never appear in `Debug` output.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION};
use tower_layer::Layer;
use tower_service::Service;

/// Credentials sent with every request.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// An API key as its id and secret (as returned by the create API key API).
    ApiKey {
        /// The key's id.
        id: String,
        /// The key's secret.
        key: String,
    },
    /// An API key already encoded as `base64(id:key)` (the `encoded` field of the create API key API).
    EncodedApiKey(String),
    /// A bearer token (e.g. from the get token API or a service account).
    Bearer(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Credentials::ApiKey { id, .. } => f
                .debug_struct("ApiKey")
                .field("id", id)
                .field("key", &"***")
                .finish(),
            Credentials::EncodedApiKey(_) => f.write_str("EncodedApiKey(***)"),
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

impl Credentials {
    /// Basic authentication.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// An API key from its id and secret.
    pub fn api_key(id: impl Into<String>, key: impl Into<String>) -> Self {
        Credentials::ApiKey {
            id: id.into(),
            key: key.into(),
        }
    }

    /// An API key already encoded as `base64(id:key)`.
    pub fn encoded_api_key(encoded: impl Into<String>) -> Self {
        Credentials::EncodedApiKey(encoded.into())
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Credentials::Bearer(token.into())
    }

    /// The `Authorization` header value, marked sensitive.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let text = match self {
            Credentials::Basic { username, password } => {
                format!("Basic {}", b64.encode(format!("{username}:{password}")))
            }
            Credentials::ApiKey { id, key } => {
                format!("ApiKey {}", b64.encode(format!("{id}:{key}")))
            }
            Credentials::EncodedApiKey(encoded) => format!("ApiKey {encoded}"),
            Credentials::Bearer(token) => format!("Bearer {token}"),
        };
        let mut value = HeaderValue::from_str(&text)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Shared, rotatable credentials.
#[derive(Clone, Default)]
pub(crate) struct CredentialStore {
    header: Arc<RwLock<Option<HeaderValue>>>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.header.read().map(|h| h.is_some()).unwrap_or(false);
        f.write_str(if set { "Some(***)" } else { "None" })
    }
}

impl CredentialStore {
    pub(crate) fn set(&self, credentials: Option<&Credentials>) -> Result<(), crate::Error> {
        let value = credentials
            .map(|c| c.header_value())
            .transpose()
            .map_err(|_| {
                crate::Error::config(
                    "the credentials contain characters not allowed in an HTTP header",
                )
            })?;
        let mut guard = self.header.write().unwrap_or_else(|e| e.into_inner());
        *guard = value;
        Ok(())
    }

    fn get(&self) -> Option<HeaderValue> {
        self.header
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Adds the transport's credentials to requests that carry no `Authorization` header.
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    store: CredentialStore,
}

/// Layer for [`Auth`].
#[derive(Clone, Debug)]
pub struct AuthLayer {
    store: CredentialStore,
}

impl AuthLayer {
    pub(crate) fn new(store: CredentialStore) -> Self {
        Self { store }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            store: self.store.clone(),
        }
    }
}

impl<S> Service<http::Request<Bytes>> for Auth<S>
where
    S: Service<http::Request<Bytes>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Bytes>) -> Self::Future {
        if !request.headers().contains_key(AUTHORIZATION) {
            if let Some(value) = self.store.get() {
                request.headers_mut().insert(AUTHORIZATION, value);
            }
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let all = [
            Credentials::basic("elastic", "S3cr3t-Pw"),
            Credentials::api_key("id1", "S3cr3t-Pw"),
            Credentials::encoded_api_key("S3cr3t-Pw"),
            Credentials::bearer("S3cr3t-Pw"),
        ];
        for c in &all {
            let text = format!("{c:?}");
            assert!(!text.contains("S3cr3t"), "{text}");
            assert!(c.header_value().unwrap().is_sensitive());
        }
        assert_eq!(
            Credentials::api_key("ABC", "DEF").header_value().unwrap(),
            "ApiKey QUJDOkRFRg=="
        );
    }
}
