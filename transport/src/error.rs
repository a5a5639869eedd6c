//! The transport's error type.

use std::fmt;
use std::time::Duration;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request got no response.
///
/// Any HTTP status a server sends is a response, not an error: errors are
/// reserved for failures to get one. Every variant names where it failed, and
/// none of them ever carries credentials (node URLs are stored without userinfo).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node URL could not be used.
    #[error("invalid node URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given, with any credentials replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The transport could not be configured (TLS material, Cloud ID, proxy, ...).
    #[error("invalid transport configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
        /// The underlying failure, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// No connection could be established to the node.
    #[error("connection to {node} failed")]
    Connect {
        /// The node (`scheme://host:port`).
        node: String,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },
    /// The TLS handshake with the node failed (untrusted certificate, wrong fingerprint, ...).
    #[error("TLS handshake with {node} failed")]
    Tls {
        /// The node (`scheme://host:port`).
        node: String,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },
    /// The connection failed while the request was in flight (reset, closed, protocol error).
    #[error("request to {node} failed")]
    Request {
        /// The node (`scheme://host:port`).
        node: String,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },
    /// No response within the request timeout.
    #[error("request to {node} timed out after {timeout:?}")]
    Timeout {
        /// The node (`scheme://host:port`).
        node: String,
        /// The timeout in force.
        timeout: Duration,
    },
    /// The overall deadline passed before a response arrived.
    #[error("deadline of {deadline:?} exceeded after {} attempt(s){}", attempts.len(), AttemptList(attempts))]
    DeadlineExceeded {
        /// The deadline in force.
        deadline: Duration,
        /// The attempts made before the deadline passed.
        attempts: Vec<Attempt>,
    },
    /// Every attempt failed without a response; each attempt's node and cause are listed.
    #[error("all {} attempt(s) failed{}", attempts.len(), AttemptList(attempts))]
    AllAttemptsFailed {
        /// The attempts, in order.
        attempts: Vec<Attempt>,
    },
    /// A 2xx response did not identify itself as Elasticsearch.
    #[error("the server is not Elasticsearch: {reason} (the product check can be switched off for proxies that strip the `X-Elastic-Product` header)")]
    ProductCheck {
        /// What the response said instead.
        reason: String,
    },
    /// The response body could not be decompressed.
    #[error("cannot decode the `{encoding}` response body")]
    Decompression {
        /// The `Content-Encoding` of the response.
        encoding: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// The transport's service stack failed in another way (e.g. a user-supplied layer).
    #[error("transport service failed")]
    Service {
        /// The underlying failure.
        #[source]
        source: BoxError,
    },
}

/// One failed attempt of a request: the node it went to and why it failed.
#[derive(Debug)]
pub struct Attempt {
    /// The node (`scheme://host:port`).
    pub node: String,
    /// Why the attempt got no response.
    pub error: Error,
}

struct AttemptList<'a>(&'a [Attempt]);

impl fmt::Display for AttemptList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, attempt) in self.0.iter().enumerate() {
            write!(
                f,
                "{} {}: {}",
                if i == 0 { ":" } else { ";" },
                attempt.node,
                attempt.error
            )?;
            let mut source = std::error::Error::source(&attempt.error);
            while let Some(s) = source {
                write!(f, ": {s}")?;
                source = s.source();
            }
        }
        Ok(())
    }
}

impl Error {
    /// Whether no connection could be made (including TLS failures).
    pub fn is_connect(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Tls { .. } => true,
            Error::AllAttemptsFailed { attempts } => {
                attempts.last().is_some_and(|a| a.error.is_connect())
            }
            _ => false,
        }
    }

    /// Whether the TLS handshake failed.
    pub fn is_tls(&self) -> bool {
        match self {
            Error::Tls { .. } => true,
            Error::AllAttemptsFailed { attempts } => {
                attempts.last().is_some_and(|a| a.error.is_tls())
            }
            _ => false,
        }
    }

    /// Whether the request (or its last attempt) timed out or the deadline passed.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::DeadlineExceeded { .. } => true,
            Error::AllAttemptsFailed { attempts } => {
                attempts.last().is_some_and(|a| a.error.is_timeout())
            }
            _ => false,
        }
    }

    /// Whether the product check failed.
    pub fn is_product_check(&self) -> bool {
        matches!(self, Error::ProductCheck { .. })
    }

    /// Whether the transport was misconfigured (URL, TLS material, Cloud ID, ...).
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config { .. } | Error::InvalidUrl { .. })
    }

    /// The failed attempts, when the error is the result of several.
    pub fn attempts(&self) -> &[Attempt] {
        match self {
            Error::AllAttemptsFailed { attempts } | Error::DeadlineExceeded { attempts, .. } => {
                attempts
            }
            _ => &[],
        }
    }

    /// The node the failure happened on, for single-node failures.
    pub fn node(&self) -> Option<&str> {
        match self {
            Error::Connect { node, .. }
            | Error::Tls { node, .. }
            | Error::Request { node, .. }
            | Error::Timeout { node, .. } => Some(node),
            _ => None,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn config_with(reason: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Config {
            reason: reason.into(),
            source: Some(source.into()),
        }
    }
}
