//! Recognises, from the server's own error, that the node lacks the module a test
//! needs: no handler for the endpoint, or an unknown script language, analyzer,
//! tokenizer, token filter, field type, aggregation or processor.

use std::sync::OnceLock;

use regex::Regex;

use crate::skip::Skip;

/// The skip group of every reason found here.
pub const GROUP: &str = "server lacks a module";

fn patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            (
                r"no handler found for uri \[([^\]\?]*)[^\]]*\] and method \[(\w+)\]",
                "no handler for the endpoint",
            ),
            (
                r"script_lang not supported \[([^\]]+)\]",
                "unknown script language",
            ),
            (
                r"stored script with unsupported lang \[([^\]]+)\]",
                "unknown script language",
            ),
            (r"Unknown analyzer type \[([^\]]+)\]", "unknown analyzer"),
            (
                r"failed to find (?:global )?analyzer (?:under name )?\[([^\]]+)\]",
                "unknown analyzer",
            ),
            (
                r"analyzer \[([^\]]+)\] has not been configured in mappings",
                "unknown analyzer",
            ),
            (r"Unknown tokenizer type \[([^\]]+)\]", "unknown tokenizer"),
            (
                r"failed to find (?:global )?tokenizer under (?:name )?\[([^\]]+)\]",
                "unknown tokenizer",
            ),
            (r"Unknown filter type \[([^\]]+)\]", "unknown token filter"),
            (
                r"failed to find (?:global )?(?:token )?filter under (?:name )?\[([^\]]+)\]",
                "unknown token filter",
            ),
            (
                r"Unknown char_filter type \[([^\]]+)\]",
                "unknown char filter",
            ),
            (
                r"failed to find (?:global )?char(?:_| )filter under (?:name )?\[([^\]]+)\]",
                "unknown char filter",
            ),
            (
                r"The mapper type \[([^\]]+)\] declared on field",
                "unknown field type",
            ),
            (
                r"No handler for type \[([^\]]+)\] declared on field",
                "unknown field type",
            ),
            (
                r"Unknown aggregation type \[([^\]]+)\]",
                "unknown aggregation",
            ),
            (
                r"No processor type exists with name \[([^\]]+)\]",
                "unknown processor",
            ),
            (
                r"failed to find action \[([^\]]+)\] to execute",
                "missing transport action",
            ),
            (
                r"unknown setting \[([^\]]+)\] please check that any required plugins are installed",
                "setting of a missing plugin",
            ),
        ]
        .into_iter()
        .map(|(p, what)| (Regex::new(p).expect("valid regex"), what))
        .collect()
    })
}

fn incorrect_method() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"Incorrect HTTP method for uri \[([^\]\?]*)[^\]]*\] and method \[(\w+)\]")
            .expect("valid regex")
    })
}

fn underscore_name() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"Invalid (?:index|snapshot) name \[(_[^\]]+)\], must not start with '_'")
            .expect("valid regex")
    })
}

/// The module-missing reason in an error answer, if any. `api` names the API called
/// and `path` is the request's path and query.
pub fn missing_module(status: u16, body: &str, api: &str, path: &str) -> Option<Skip> {
    if status < 400 {
        return None;
    }
    // A literal segment of the API's path (`/_enrich/_stats`) read by the server as an
    // index or snapshot name: it routed to a generic pattern, having no endpoint of its own.
    if let Some(c) = underscore_name().captures(body) {
        let segment = &c[1];
        let path = path.split('?').next().unwrap_or("");
        if path.split('/').any(|s| s == segment) {
            return Some(Skip::new(
                GROUP,
                format!("no handler for the endpoint: {api}"),
            ));
        }
    }
    if status == 405 {
        // The path matched only a generic pattern (`/{index}`), so the server has no
        // endpoint of its own for it: an API path (`/_name…`), not an index.
        if let Some(c) = incorrect_method().captures(body) {
            if c[1].trim_start_matches('/').starts_with('_') {
                return Some(Skip::new(
                    GROUP,
                    format!("no handler for the endpoint: {api}"),
                ));
            }
        }
    }
    for (re, what) in patterns() {
        if let Some(c) = re.captures(body) {
            let detail = if *what == "no handler for the endpoint" {
                format!("{what}: {api}")
            } else {
                format!("{what} [{}]", &c[1])
            };
            return Some(Skip::new(GROUP, detail));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_server_errors() {
        let s = missing_module(
            400,
            r#"{"error":"no handler found for uri [/_ml/anomaly_detectors/x?pretty] and method [PUT]"}"#,
            "ml.put_job",
            "/_ml/anomaly_detectors/x",
        )
        .unwrap();
        assert_eq!(s.detail, "no handler for the endpoint: ml.put_job");
        let s = missing_module(405, r#"{"error":"Incorrect HTTP method for uri [/_reindex] and method [POST], allowed: [GET]","status":405}"#, "reindex", "/_reindex").unwrap();
        assert_eq!(s.detail, "no handler for the endpoint: reindex");
        assert!(missing_module(405, r#"{"error":"Incorrect HTTP method for uri [/idx/_doc] and method [GET], allowed: [POST]"}"#, "index", "/idx/_doc").is_none());
        let s = missing_module(
            400,
            r#"{"reason":"The mapper type [scaled_float] declared on field [a] does not exist."}"#,
            "indices.create",
            "/i",
        )
        .unwrap();
        assert_eq!(s.detail, "unknown field type [scaled_float]");
        let s = missing_module(
            400,
            r#"{"reason":"Custom Analyzer [a] failed to find tokenizer under name [whitespace]"}"#,
            "x",
            "/x",
        )
        .unwrap();
        assert_eq!(s.detail, "unknown tokenizer [whitespace]");
        assert!(
            missing_module(400, r#"{"reason":"index [x] already exists"}"#, "x", "/x").is_none()
        );
        let s = missing_module(
            400,
            r#"{"reason":"Invalid index name [_enrich], must not start with '_'."}"#,
            "enrich.stats",
            "/_enrich/_stats",
        )
        .unwrap();
        assert_eq!(s.detail, "no handler for the endpoint: enrich.stats");
        assert!(missing_module(
            400,
            r#"{"reason":"Invalid index name [_x], must not start with '_'."}"#,
            "index",
            "/y/_doc"
        )
        .is_none());
        assert!(missing_module(
            200,
            r#"no handler found for uri [/] and method [GET]"#,
            "x",
            "/x"
        )
        .is_none());
    }
}
