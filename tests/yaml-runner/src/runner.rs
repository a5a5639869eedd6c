//! Runs tests: skip evaluation, setup, steps, teardown, cleanup.

use std::collections::HashMap;

use base64::Engine as _;
use bytes::Bytes;
use elasticsearch_client::{CallOptions, Client, RequestBody};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::Method;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use crate::assert::{clip, extended_regex, regex_literal};
use crate::skip::{self, CapabilityCheck, Skip};
use crate::stash::{eval, text, Response, Stash};
use crate::suite::{Step, Test, TestFile};
use crate::{cleanup, modules, request};

/// How a test ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every step passed.
    Pass,
    /// A step failed.
    Fail(Failure),
    /// The test did not run, or stopped when the server showed it lacks a module.
    Skip(Skip),
}

/// Where and why a test failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `setup`, `test` or `teardown`.
    pub section: &'static str,
    /// The 1-based step number within the section.
    pub step: usize,
    /// The step as written.
    pub step_text: String,
    /// The last request sent (method, path, body), if the step sent one.
    pub request: Option<String>,
    /// Why it failed.
    pub reason: String,
}

enum StepError {
    Fail(String),
    Skip(Skip),
}

impl From<String> for StepError {
    fn from(s: String) -> Self {
        StepError::Fail(s)
    }
}

/// Runs tests against one node.
#[derive(Debug)]
pub struct Runner {
    client: Client,
    auth: Option<HeaderValue>,
    version: (u64, u64, u64),
    os: String,
    stash: Stash,
    last: Option<Response>,
    last_request: Option<String>,
    capabilities: HashMap<String, bool>,
    strict_warnings: bool,
    undeclared_warnings: Vec<String>,
}

impl Runner {
    /// A runner for the node behind `client`, whose version is `version`.
    pub fn new(client: Client, auth: Option<HeaderValue>, version: (u64, u64, u64)) -> Self {
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("ID=")
                        .map(|v| v.trim_matches('"').to_string())
                })
            })
            .unwrap_or_else(|| std::env::consts::OS.to_string());
        Runner {
            client,
            auth,
            version,
            os,
            stash: Stash::default(),
            last: None,
            last_request: None,
            capabilities: HashMap::new(),
            strict_warnings: false,
            undeclared_warnings: Vec::new(),
        }
    }

    /// Whether a `Warning` header that a step neither expects nor allows fails the
    /// test (the rule of Elasticsearch's own REST tests). Off, such warnings are kept
    /// for [`undeclared_warnings`](Self::undeclared_warnings) instead: the clients'
    /// suite is written for runners that do not fail on them (its legacy-template
    /// tests allow none, and every 9.x server sends one there).
    pub fn strict_warnings(&mut self, strict: bool) {
        self.strict_warnings = strict;
    }

    /// The warnings of the last test that no step declared (only kept when warnings
    /// are not strict).
    pub fn undeclared_warnings(&self) -> &[String] {
        &self.undeclared_warnings
    }

    /// Deletes what tests leave behind.
    pub async fn clean(&self) {
        cleanup::clean(&self.client, &self.options(HashMap::new())).await;
    }

    /// Runs one test of `file`.
    pub async fn run_test(&mut self, file: &TestFile, test: &Test) -> Outcome {
        if let Some(skip) = skip::file_requires(file.requires.as_ref()) {
            return Outcome::Skip(skip);
        }
        for steps in [&file.setup, &test.steps, &file.teardown] {
            if let Some(skip) = self.skip_of(steps).await {
                return Outcome::Skip(skip);
            }
        }
        self.stash.clear();
        self.last = None;
        self.last_request = None;
        self.undeclared_warnings.clear();

        let mut outcome = self.run_section("setup", &file.setup).await;
        if matches!(outcome, Outcome::Pass) {
            outcome = self.run_section("test", &test.steps).await;
        }
        let teardown = self.run_section("teardown", &file.teardown).await;
        if matches!(outcome, Outcome::Pass) {
            if let Outcome::Fail(_) = teardown {
                outcome = teardown;
            }
        }
        self.clean().await;
        outcome
    }

    async fn skip_of(&mut self, steps: &[Step]) -> Option<Skip> {
        let mut checks = Vec::new();
        for step in steps
            .iter()
            .take_while(|s| s.kind == "skip" || s.kind == "requires")
        {
            if let Some(skip) =
                skip::evaluate(&step.kind, &step.arg, self.version, &self.os, &mut checks)
            {
                return Some(skip);
            }
        }
        for check in checks {
            if !self.has_capability(&check).await {
                return Some(Skip::new(
                    "requires: capability absent",
                    format!("{} {} {:?}", check.method, check.path, check.capabilities),
                ));
            }
        }
        None
    }

    async fn has_capability(&mut self, check: &CapabilityCheck) -> bool {
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let mut query = format!(
            "/_capabilities?method={}&path={}",
            enc(&check.method),
            enc(&check.path)
        );
        if !check.parameters.is_empty() {
            query.push_str(&format!("&parameters={}", enc(&check.parameters.join(","))));
        }
        if !check.capabilities.is_empty() {
            query.push_str(&format!(
                "&capabilities={}",
                enc(&check.capabilities.join(","))
            ));
        }
        if let Some(known) = self.capabilities.get(&query) {
            return *known;
        }
        let supported = match self
            .client
            .request(Method::GET, &query, None, &self.options(HashMap::new()))
            .await
        {
            Ok(r) if r.status.is_success() => serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| v.get("supported").and_then(Value::as_bool))
                .unwrap_or(false),
            _ => false,
        };
        self.capabilities.insert(query, supported);
        supported
    }

    async fn run_section(&mut self, section: &'static str, steps: &[Step]) -> Outcome {
        for (i, step) in steps.iter().enumerate() {
            self.last_request = None;
            let result = match step.kind.as_str() {
                "skip" | "requires" => Ok(()),
                "do" => self.do_step(&step.arg).await,
                "set" => self.set_step(&step.arg),
                "transform_and_set" => self.transform_and_set(&step.arg),
                kind => crate::assert::check(kind, &step.arg, &self.stash, self.last.as_ref())
                    .map_err(StepError::Fail),
            };
            match result {
                Ok(()) => {}
                Err(StepError::Skip(skip)) => return Outcome::Skip(skip),
                Err(StepError::Fail(reason)) => {
                    return Outcome::Fail(Failure {
                        section,
                        step: i + 1,
                        step_text: clip(&format!("{}: {}", step.kind, step.arg), 600),
                        request: self.last_request.clone(),
                        reason,
                    })
                }
            }
        }
        Outcome::Pass
    }

    fn set_step(&mut self, arg: &Value) -> Result<(), StepError> {
        let Value::Object(map) = arg else {
            return Err(format!("set expects a map, got {arg}").into());
        };
        for (path, name) in map {
            let value = eval(path, &self.stash, self.last.as_ref())
                .ok_or_else(|| format!("set: no value at [{path}]"))?;
            self.stash.set(&text(name), value);
        }
        Ok(())
    }

    fn transform_and_set(&mut self, arg: &Value) -> Result<(), StepError> {
        let Value::Object(map) = arg else {
            return Err(format!("transform_and_set expects a map, got {arg}").into());
        };
        for (name, transform) in map {
            let t = text(transform);
            let inner = t
                .strip_prefix("#base64EncodeCredentials(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("unsupported transformation {t}"))?;
            let (a, b) = inner
                .split_once(',')
                .ok_or_else(|| format!("base64EncodeCredentials needs two fields: {t}"))?;
            let get = |p: &str| {
                eval(p.trim(), &self.stash, self.last.as_ref())
                    .map(|v| text(&v))
                    .ok_or_else(|| format!("transform_and_set: no value at [{p}]"))
            };
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                get(a)?,
                get(b)?
            ));
            self.stash.set(name, Value::String(encoded));
        }
        Ok(())
    }

    fn options(&self, headers: HashMap<String, String>) -> CallOptions {
        let mut options = CallOptions::new();
        if let Some(auth) = &self.auth {
            options = options.header(http::header::AUTHORIZATION, auth.clone());
        }
        for (name, value) in headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                options.headers.insert(n, v);
            }
        }
        options
    }

    async fn do_step(&mut self, arg: &Value) -> Result<(), StepError> {
        let Value::Object(map) = arg else {
            return Err(format!("do expects a map, got {arg}").into());
        };
        let mut catch = None;
        let mut headers = HashMap::new();
        let mut warnings = Vec::new();
        let mut warnings_regex = Vec::new();
        let mut allowed = Vec::new();
        let mut allowed_regex = Vec::new();
        let mut api = None;
        let last = self.last.as_ref();
        for (key, value) in map {
            let list = |v: &Value| -> Result<Vec<String>, String> {
                Ok(match self.stash.substitute(v, last)? {
                    Value::Array(items) => items.iter().map(text).collect(),
                    other => vec![text(&other)],
                })
            };
            match key.as_str() {
                "catch" => catch = Some(text(&self.stash.substitute(value, last)?)),
                "headers" => {
                    if let Value::Object(h) = self.stash.substitute(value, last)? {
                        for (k, v) in h {
                            headers.insert(k, text(&v));
                        }
                    }
                }
                "warnings" => warnings = list(value)?,
                "warnings_regex" => warnings_regex = list(value)?,
                "allowed_warnings" => allowed = list(value)?,
                "allowed_warnings_regex" => allowed_regex = list(value)?,
                "node_selector" => {}
                name => {
                    if api.is_some() {
                        return Err(format!("do has more than one API: {arg}").into());
                    }
                    api = Some((name.to_string(), value));
                }
            }
        }
        let (api, args) = api.ok_or_else(|| format!("do names no API: {arg}"))?;
        let mut params = match self.stash.substitute(&parse_text_body(args), last)? {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => return Err(format!("arguments of {api} are not a map: {other}").into()),
        };
        let ignore: Vec<u16> = match params.remove("ignore") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                items.iter().filter_map(|v| text(v).parse().ok()).collect()
            }
            Some(v) => text(&v).parse().ok().into_iter().collect(),
        };
        let body = params.remove("body");

        let built = request::build(&api, &params, body.as_ref());
        let built = match (built, catch.as_deref()) {
            (Err(request::BuildError::Param(_)), Some("param")) => return Ok(()),
            (Err(e), _) => return Err(format!("building the {api} request: {e}").into()),
            (Ok(b), Some("param")) => {
                return Err(format!(
                    "expected a parameter error, but the request was built: {} {}",
                    b.method, b.path_and_query
                )
                .into())
            }
            (Ok(b), _) => b,
        };

        let mut body = built.body;
        let content_type = headers
            .keys()
            .find(|k| k.eq_ignore_ascii_case("content-type"))
            .cloned();
        if let (Some(key), Some(b)) = (content_type, body.as_ref()) {
            // A `Content-Type` header of the test replaces the body's own.
            let value = headers.remove(&key).unwrap_or_default();
            let bytes: Bytes = b.bytes().clone();
            body = Some(RequestBody::Binary {
                content_type: intern(&value),
                bytes,
            });
        }
        let mut described = format!("{} {}", built.method, built.path_and_query);
        if let Some(b) = &body {
            described.push_str(&format!(
                "\n      body ({}): {}",
                b.content_type(),
                clip(&String::from_utf8_lossy(b.bytes()), 1500)
            ));
        }
        if !headers.is_empty() {
            described.push_str(&format!("\n      headers: {headers:?}"));
        }
        self.last_request = Some(described);

        let is_head = built.exists || built.method == Method::HEAD;
        let options = self.options(headers);
        let response = self
            .client
            .request(built.method.clone(), &built.path_and_query, body, &options)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let status = response.status.as_u16();
        let raw = String::from_utf8_lossy(&response.body).into_owned();
        let content_type = response
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let parsed = if is_head {
            Value::Bool(response.status.is_success())
        } else if raw.is_empty() {
            Value::Null
        } else if content_type.contains("json") {
            serde_json::from_str(&raw).unwrap_or_else(|_| Value::String(raw.clone()))
        } else {
            Value::String(raw.clone())
        };
        let header_warnings: Vec<String> = response
            .headers
            .get_all("warning")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(warning_text)
            .collect();
        self.last = Some(Response {
            body: parsed,
            raw: raw.clone(),
        });

        let is_error = status >= 400;
        let response_line = || format!("status {status}, body {}", clip(&raw, 1500));
        match catch.as_deref() {
            Some(c) => {
                if !is_error {
                    return Err(format!("expected an error ({c}), got {}", response_line()).into());
                }
                if !catch_matches(c, status, &raw)? {
                    if let Some(skip) =
                        modules::missing_module(status, &raw, &api, &built.path_and_query)
                    {
                        return Err(StepError::Skip(skip));
                    }
                    return Err(format!("expected error {c}, got {}", response_line()).into());
                }
            }
            None => {
                let accepted = !is_error || ignore.contains(&status) || (is_head && status == 404);
                if !accepted {
                    if let Some(skip) =
                        modules::missing_module(status, &raw, &api, &built.path_and_query)
                    {
                        return Err(StepError::Skip(skip));
                    }
                    return Err(format!("request failed: {}", response_line()).into());
                }
            }
        }
        let undeclared = check_warnings(
            &header_warnings,
            &warnings,
            &warnings_regex,
            &allowed,
            &allowed_regex,
        )?;
        if !undeclared.is_empty() {
            if self.strict_warnings {
                return Err(format!("warnings: unexpected {undeclared:?}").into());
            }
            self.undeclared_warnings.extend(undeclared);
        }
        Ok(())
    }
}

/// The text of a `Warning` header: `299 Elasticsearch-9.5.3-… "text" "date"`.
fn warning_text(header: &str) -> String {
    let Some(start) = header.find('"') else {
        return header.to_string();
    };
    let mut out = String::new();
    let mut chars = header[start + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

/// Checks that every expected warning came; returns the warnings that were neither
/// expected nor allowed.
fn check_warnings(
    actual: &[String],
    expected: &[String],
    expected_regex: &[String],
    allowed: &[String],
    allowed_regex: &[String],
) -> Result<Vec<String>, String> {
    let compile = |ps: &[String]| -> Result<Vec<regex::Regex>, String> {
        ps.iter()
            .map(|p| regex::Regex::new(p).map_err(|e| format!("bad warning regex {p}: {e}")))
            .collect()
    };
    let expected_re = compile(expected_regex)?;
    let allowed_re = compile(allowed_regex)?;
    let missing: Vec<&String> = expected.iter().filter(|w| !actual.contains(w)).collect();
    let missing_re: Vec<&String> = expected_regex
        .iter()
        .zip(&expected_re)
        .filter(|(_, re)| !actual.iter().any(|a| re.is_match(a)))
        .map(|(p, _)| p)
        .collect();
    let unexpected: Vec<String> = actual
        .iter()
        .filter(|a| {
            !expected.contains(a)
                && !allowed.contains(a)
                && !expected_re
                    .iter()
                    .chain(&allowed_re)
                    .any(|re| re.is_match(a))
        })
        .cloned()
        .collect();
    if missing.is_empty() && missing_re.is_empty() {
        return Ok(unexpected);
    }
    Err(format!(
        "warnings: missing {:?}, unexpected {:?}",
        missing.iter().chain(&missing_re).collect::<Vec<_>>(),
        unexpected
    ))
}

/// A literal body (`body: |` or `body: >`) holding a JSON object, parsed, so stashed
/// values inside it (`"ids": ["$key_id"]`) are substituted like those of a map body.
/// Any other text (NDJSON lines, plain text) stays as written.
fn parse_text_body(args: &Value) -> std::borrow::Cow<'_, Value> {
    if let Some(Value::String(text)) = args.get("body") {
        if let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
            let mut args = args.clone();
            args["body"] = parsed;
            return std::borrow::Cow::Owned(args);
        }
    }
    std::borrow::Cow::Borrowed(args)
}

/// Whether an error answer is the one `catch` names.
fn catch_matches(catch: &str, status: u16, body: &str) -> Result<bool, String> {
    Ok(match catch {
        "bad_request" => status == 400,
        "unauthorized" => status == 401,
        "forbidden" => status == 403,
        "missing" => status == 404,
        "request_timeout" => status == 408,
        "conflict" => status == 409,
        "unavailable" => status == 503,
        "request" => status >= 400 && ![400, 401, 403, 404, 408, 409].contains(&status),
        other => match regex_literal(&Value::String(other.to_string())) {
            Some(pattern) => extended_regex(pattern)?.is_match(body),
            // clients-tests also write a bare error type (`resource_not_found_exception`).
            None => body.contains(other),
        },
    })
}

/// A `'static` media type for a test's `Content-Type` header.
fn intern(value: &str) -> &'static str {
    match value.trim() {
        "application/json" => "application/json",
        "application/x-ndjson" => "application/x-ndjson",
        "text/plain" => "text/plain",
        "application/yaml" => "application/yaml",
        other => Box::leak(other.to_string().into_boxed_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_json_bodies_take_stashed_values() {
        let args = serde_json::json!({"body": "{\"ids\": [\"$id\"]}\n", "x": 1});
        assert_eq!(
            *parse_text_body(&args),
            serde_json::json!({"body": {"ids": ["$id"]}, "x": 1})
        );
        let ndjson = serde_json::json!({"body": "{\"index\":{}}\n{\"a\":1}\n"});
        assert_eq!(*parse_text_body(&ndjson), ndjson);
        let text = serde_json::json!({"body": "plain $id"});
        assert_eq!(*parse_text_body(&text), text);
    }

    #[test]
    fn warning_headers_and_checks() {
        let w = warning_text(
            r#"299 Elasticsearch-9.5.3-abc "the [x] is \"deprecated\"" "Thu, 01 Jan""#,
        );
        assert_eq!(w, r#"the [x] is "deprecated""#);
        let actual = vec!["a".to_string(), "b 1".to_string()];
        // All came, none left over.
        assert_eq!(
            check_warnings(&actual, &["a".into()], &[], &[], &["b \\d".into()]),
            Ok(vec![])
        );
        // The one neither expected nor allowed is handed back.
        assert_eq!(
            check_warnings(&actual, &["a".into()], &[], &[], &[]),
            Ok(vec!["b 1".to_string()])
        );
        assert!(check_warnings(
            &actual,
            &["c".into()],
            &[],
            &["a".into(), "b 1".into()],
            &[]
        )
        .is_err());
        assert!(check_warnings(&[], &[], &[], &["a".into()], &[]).is_ok());
        // An expected regex that matches nothing is a failure.
        assert!(check_warnings(&actual, &[], &["^z".into()], &[], &[]).is_err());
    }

    #[test]
    fn catch_values() {
        assert!(catch_matches("missing", 404, "").unwrap());
        assert!(!catch_matches("missing", 400, "").unwrap());
        assert!(catch_matches("request", 500, "").unwrap());
        assert!(!catch_matches("request", 404, "").unwrap());
        assert!(catch_matches(
            "/index_not_found/",
            404,
            r#"{"type":"index_not_found_exception"}"#
        )
        .unwrap());
        assert!(catch_matches(
            "resource_not_found_exception",
            404,
            r#"{"type":"resource_not_found_exception"}"#
        )
        .unwrap());
    }
}
