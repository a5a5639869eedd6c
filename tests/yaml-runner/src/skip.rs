//! `skip` and `requires` sections: runner features, version ranges, cluster
//! features and capabilities.

use serde_json::Value;

/// Runner features this runner implements.
pub const FEATURES: &[&str] = &[
    "headers",
    "warnings",
    "warnings_regex",
    "allowed_warnings",
    "allowed_warnings_regex",
    "node_selector",
    "contains",
    "close_to",
    "transform_and_set",
    "stash_in_key",
    "stash_in_path",
    "embedded_stash_key",
    "arbitrary_key",
    "default_shards",
    "capabilities",
    "exists",
    "skip_os",
];

/// Why a test does not run: a group (for the summary) and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The kind of reason, used to group skips in the summary.
    pub group: String,
    /// What exactly.
    pub detail: String,
}

impl Skip {
    /// A skip with the given group and detail.
    pub fn new(group: impl Into<String>, detail: impl Into<String>) -> Self {
        Skip {
            group: group.into(),
            detail: detail.into(),
        }
    }
}

/// A `capabilities` entry of a `requires` section, checked with `GET /_capabilities`.
#[derive(Debug, Clone)]
pub struct CapabilityCheck {
    /// HTTP method of the endpoint.
    pub method: String,
    /// Path of the endpoint.
    pub path: String,
    /// Parameters the endpoint must support.
    pub parameters: Vec<String>,
    /// Capabilities the endpoint must have.
    pub capabilities: Vec<String>,
}

/// A version `major.minor.patch`; missing parts are zero, suffixes are ignored.
pub fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim();
    let core = s.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.trim().parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// Whether `version` falls in `ranges` (`"7.0.0 - 7.9.99, 8.1.0 - "`, `all`).
pub fn in_ranges(ranges: &str, version: (u64, u64, u64)) -> Result<bool, String> {
    for range in ranges.split(',') {
        let range = range.trim();
        if range.eq_ignore_ascii_case("all") {
            return Ok(true);
        }
        let Some((low, high)) = range.split_once(" - ").or_else(|| {
            // " - 7.9.99" trimmed becomes "- 7.9.99"; "8.0.0 - " becomes "8.0.0 -".
            range
                .strip_prefix('-')
                .map(|h| ("", h))
                .or_else(|| range.strip_suffix('-').map(|l| (l, "")))
        }) else {
            return Err(format!("unrecognised version range {range:?}"));
        };
        let low = match low.trim() {
            "" => (0, 0, 0),
            l => parse_version(l).ok_or_else(|| format!("bad version {l:?}"))?,
        };
        let high = match high.trim() {
            "" => (u64::MAX, u64::MAX, u64::MAX),
            h => parse_version(h).ok_or_else(|| format!("bad version {h:?}"))?,
        };
        if low <= version && version <= high {
            return Ok(true);
        }
    }
    Ok(false)
}

fn list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(crate::stash::text).collect(),
        Value::Null => Vec::new(),
        other => vec![crate::stash::text(other)],
    }
}

fn missing_features(value: &Value) -> Vec<String> {
    list(value)
        .into_iter()
        .filter(|f| !FEATURES.contains(&f.as_str()))
        .collect()
}

/// Whether the cluster has a named feature: `gte_vX.Y.Z` compares versions; other
/// (server-internal) names are assumed present on this recent server.
fn has_cluster_feature(name: &str, version: (u64, u64, u64)) -> bool {
    match name.strip_prefix("gte_v").and_then(parse_version) {
        Some(v) => version >= v,
        None => true,
    }
}

fn reason(map: &serde_json::Map<String, Value>) -> String {
    map.get("reason")
        .map(crate::stash::text)
        .map(|r| format!(" ({})", r.trim()))
        .unwrap_or_default()
}

/// Evaluates a `skip` or `requires` step. `Ok(None)` means run (after the returned
/// capability checks, if any, pass).
pub fn evaluate(
    kind: &str,
    arg: &Value,
    version: (u64, u64, u64),
    os: &str,
    capabilities: &mut Vec<CapabilityCheck>,
) -> Option<Skip> {
    let Value::Object(map) = arg else {
        return Some(Skip::new(
            format!("{kind}: unrecognised"),
            format!("{kind} section is not a map: {arg}"),
        ));
    };
    let why = reason(map);
    for (key, value) in map {
        match (kind, key.as_str()) {
            (_, "reason") => {}
            ("skip", "version") => match in_ranges(&crate::stash::text(value), version) {
                Ok(true) => {
                    return Some(Skip::new(
                        "skip: version",
                        format!("version {}{why}", crate::stash::text(value)),
                    ))
                }
                Ok(false) => {}
                Err(e) => return Some(Skip::new("skip: unrecognised condition", e)),
            },
            ("skip", "features") | ("requires", "test_runner_features") => {
                let missing = missing_features(value);
                if !missing.is_empty() {
                    return Some(Skip::new(
                        "runner feature not implemented",
                        missing.join(", "),
                    ));
                }
            }
            ("skip", "os") => {
                if list(value).iter().any(|o| o.eq_ignore_ascii_case(os)) {
                    return Some(Skip::new("skip: os", format!("{os}{why}")));
                }
            }
            ("skip", "cluster_features") => {
                let present: Vec<String> = list(value)
                    .into_iter()
                    .filter(|f| has_cluster_feature(f, version))
                    .collect();
                if !present.is_empty() {
                    return Some(Skip::new(
                        "skip: cluster feature present",
                        format!("{}{why}", present.join(", ")),
                    ));
                }
            }
            ("skip", "awaits_fix") => {
                return Some(Skip::new(
                    "skip: awaits fix",
                    format!("{}{why}", crate::stash::text(value)),
                ))
            }
            ("skip", "known_issues") => {}
            ("requires", "cluster_features") => {
                let absent: Vec<String> = list(value)
                    .into_iter()
                    .filter(|f| !has_cluster_feature(f, version))
                    .collect();
                if !absent.is_empty() {
                    return Some(Skip::new(
                        "requires: cluster feature absent",
                        format!("{}{why}", absent.join(", ")),
                    ));
                }
            }
            ("skip" | "requires", "capabilities") => {
                let Value::Array(items) = value else {
                    return Some(Skip::new(
                        format!("{kind}: unrecognised condition"),
                        format!("capabilities: {value}"),
                    ));
                };
                for item in items {
                    capabilities.push(CapabilityCheck {
                        method: item
                            .get("method")
                            .map(crate::stash::text)
                            .unwrap_or_else(|| "GET".into()),
                        path: item.get("path").map(crate::stash::text).unwrap_or_default(),
                        parameters: item.get("parameters").map(list).unwrap_or_default(),
                        capabilities: item.get("capabilities").map(list).unwrap_or_default(),
                    });
                }
                if kind == "skip" {
                    // Skipping when capabilities are present is not supported.
                    return Some(Skip::new(
                        "skip: unrecognised condition",
                        format!("skip on capabilities{why}"),
                    ));
                }
            }
            (_, other) => {
                return Some(Skip::new(
                    format!("{kind}: unrecognised condition"),
                    format!("{other}: {value}"),
                ))
            }
        }
    }
    None
}

/// Evaluates the clients-tests file header `{stack, serverless, feature_flag}`.
pub fn file_requires(requires: Option<&Value>) -> Option<Skip> {
    let map = requires?.as_object()?;
    if map.get("stack") == Some(&Value::Bool(false)) {
        return Some(Skip::new("file requires stack: false", "serverless only"));
    }
    if let Some(flag) = map.get("feature_flag") {
        return Some(Skip::new(
            "file requires a feature flag",
            crate::stash::text(flag),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_ranges() {
        let v = (9, 5, 3);
        assert!(in_ranges(" - 9.9.99", v).unwrap());
        assert!(!in_ranges(" - 7.9.99", v).unwrap());
        assert!(in_ranges("9.0.0 - ", v).unwrap());
        assert!(in_ranges("8.0.0 - 8.1.0, 9.5.0 - 9.5.3", v).unwrap());
        assert!(in_ranges("all", v).unwrap());
        assert!(in_ranges("nonsense", v).is_err());
    }

    #[test]
    fn features_and_cluster_features() {
        let v = (9, 5, 3);
        let mut caps = Vec::new();
        assert!(evaluate(
            "skip",
            &json!({"features": ["headers", "contains"]}),
            v,
            "linux",
            &mut caps
        )
        .is_none());
        assert_eq!(
            evaluate("skip", &json!({"features": "yaml"}), v, "linux", &mut caps)
                .unwrap()
                .detail,
            "yaml"
        );
        assert!(evaluate(
            "requires",
            &json!({"cluster_features": ["gte_v9.1.0"]}),
            v,
            "linux",
            &mut caps
        )
        .is_none());
        assert!(evaluate(
            "requires",
            &json!({"cluster_features": "gte_v10.0.0"}),
            v,
            "linux",
            &mut caps
        )
        .is_some());
        assert!(evaluate(
            "skip",
            &json!({"version": " - 8.0.0", "reason": "x"}),
            v,
            "linux",
            &mut caps
        )
        .is_none());
        assert!(evaluate(
            "requires",
            &json!({"capabilities": [{"method": "GET", "path": "/_x", "capabilities": ["c"]}]}),
            v,
            "linux",
            &mut caps
        )
        .is_none());
        assert_eq!(caps.len(), 1);
        assert!(file_requires(Some(&json!({"stack": false, "serverless": true}))).is_some());
        assert!(file_requires(Some(&json!({"stack": true, "serverless": true}))).is_none());
    }
}
