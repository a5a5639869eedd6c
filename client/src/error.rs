//! The one error type of the client.

use std::fmt;

use bytes::Bytes;
use serde::Deserialize;

/// What went wrong with a call, and where.
///
/// Every variant names the endpoint (the API's name in the specification, such as
/// `indices.create`) when one was involved, and [`std::error::Error::source`] gives the
/// underlying failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built: a value that cannot be serialized, a body
    /// that is not valid JSON, an invalid header.
    #[error("could not build the {endpoint} request: {message}")]
    Build {
        /// The API name.
        endpoint: &'static str,
        /// What is wrong.
        message: String,
        /// The underlying failure, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// No response arrived: connection refused, TLS failure, timeout, every node dead.
    #[error("{endpoint}: {source}")]
    Transport {
        /// The API name.
        endpoint: &'static str,
        /// The transport's error.
        #[source]
        source: elasticsearch_transport::Error,
    },
    /// The server answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The response body did not match the expected model.
    #[error("could not decode the {endpoint} response (HTTP {status}) at `{path}`: {source}")]
    Decode {
        /// The API name.
        endpoint: &'static str,
        /// The HTTP status of the response.
        status: u16,
        /// Where in the document decoding failed, as a JSON path (`hits.hits[3]._source`).
        path: String,
        /// The serde failure, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// A failure to build a request.
    pub fn build(endpoint: &'static str, message: impl Into<String>) -> Self {
        Error::Build {
            endpoint,
            message: message.into(),
            source: None,
        }
    }

    /// The HTTP status of the server's answer, for [`Error::Api`] and [`Error::Decode`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error, when it answered with an error status.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The transport's error, when no response arrived.
    pub fn transport_error(&self) -> Option<&elasticsearch_transport::Error> {
        match self {
            Error::Transport { source, .. } => Some(source),
            _ => None,
        }
    }

    /// True when the request could not be built.
    pub fn is_build(&self) -> bool {
        matches!(self, Error::Build { .. })
    }

    /// True when no response arrived.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    /// True when the server answered with an error status.
    pub fn is_api(&self) -> bool {
        matches!(self, Error::Api(_))
    }

    /// True when the response could not be decoded.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode { .. })
    }

    /// True when the server answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// An error status from Elasticsearch, with the server's error body.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The API name.
    pub endpoint: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The error's `type`, such as `index_not_found_exception`.
    pub error_type: Option<String>,
    /// The error's `reason`.
    pub reason: Option<String>,
    /// `type: reason` of each root cause.
    pub root_causes: Vec<String>,
    /// The raw response body.
    pub body: Bytes,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorField,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Cause(Cause),
    Text(String),
}

#[derive(Deserialize)]
struct Cause {
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    root_cause: Vec<Cause>,
}

impl ApiError {
    /// Reads the server's error body; a body that is not Elasticsearch's error
    /// object is kept raw.
    pub fn new(endpoint: &'static str, status: u16, body: Bytes) -> Self {
        let mut error = ApiError {
            endpoint,
            status,
            error_type: None,
            reason: None,
            root_causes: Vec::new(),
            body,
        };
        match serde_json::from_slice::<ErrorBody>(&error.body) {
            Ok(ErrorBody {
                error: ErrorField::Cause(cause),
            }) => {
                error.error_type = cause.kind;
                error.reason = cause.reason;
                error.root_causes = cause
                    .root_cause
                    .into_iter()
                    .map(|c| {
                        format!(
                            "{}: {}",
                            c.kind.unwrap_or_default(),
                            c.reason.unwrap_or_default()
                        )
                    })
                    .collect();
            }
            Ok(ErrorBody {
                error: ErrorField::Text(text),
            }) => error.reason = Some(text),
            Err(_) => {}
        }
        error
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("endpoint", &self.endpoint)
            .field("status", &self.status)
            .field("error_type", &self.error_type)
            .field("reason", &self.reason)
            .field("root_causes", &self.root_causes)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} returned HTTP {}", self.endpoint, self.status)?;
        match (&self.error_type, &self.reason) {
            (Some(t), Some(r)) => write!(f, ": {t}: {r}")?,
            (Some(t), None) => write!(f, ": {t}")?,
            (None, Some(r)) => write!(f, ": {r}")?,
            (None, None) if !self.body.is_empty() => {
                let text = String::from_utf8_lossy(&self.body);
                let text: String = text.chars().take(200).collect();
                write!(f, ": {text}")?
            }
            (None, None) => {}
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_say_why_without_credentials() {
        for (url, says) in [
            ("", "client: invalid node URL ``: missing scheme"),
            (
                "http://user:secretpw@[bad",
                "client: invalid node URL `http://***@[bad`",
            ),
        ] {
            let err = crate::Client::new(url).expect_err("an invalid URL");
            assert!(err.is_transport(), "{err:?}");
            let (shown, debug) = (err.to_string(), format!("{err:?}"));
            assert!(shown.starts_with(says), "{shown}");
            assert!(
                !shown.contains("secretpw") && !debug.contains("secretpw"),
                "{debug}"
            );
        }
    }

    #[test]
    fn reads_elasticsearch_error_bodies() {
        let body = br#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [x]"}],"type":"index_not_found_exception","reason":"no such index [x]"},"status":404}"#;
        let err = ApiError::new("get", 404, Bytes::from_static(body));
        assert_eq!(err.error_type.as_deref(), Some("index_not_found_exception"));
        assert_eq!(
            err.root_causes,
            ["index_not_found_exception: no such index [x]"]
        );
        assert_eq!(
            err.to_string(),
            "get returned HTTP 404: index_not_found_exception: no such index [x]"
        );
    }

    #[test]
    fn keeps_bodies_that_are_not_error_objects() {
        let err = ApiError::new("info", 502, Bytes::from_static(b"<html>Bad Gateway</html>"));
        assert_eq!(err.error_type, None);
        assert_eq!(
            err.to_string(),
            "info returned HTTP 502: <html>Bad Gateway</html>"
        );
        let err = ApiError::new(
            "info",
            400,
            Bytes::from_static(br#"{"error":"plain text"}"#),
        );
        assert_eq!(err.reason.as_deref(), Some("plain text"));
    }
}
