//! Assertions: `match`, `is_true`, `is_false`, `length`, `gt`/`gte`/`lt`/`lte`,
//! `contains`, `exists`, `close_to`.

use regex::Regex;
use serde_json::Value;

use crate::stash::{eval, text, Response, Stash};

/// Runs one assertion step; `Err` carries the reason it failed.
pub fn check(
    kind: &str,
    arg: &Value,
    stash: &Stash,
    last: Option<&Response>,
) -> Result<(), String> {
    match kind {
        "is_true" | "is_false" | "exists" => {
            let path = path_of(arg)?;
            let actual = eval(&path, stash, last);
            let ok = match kind {
                "is_true" => actual.as_ref().is_some_and(truthy),
                "is_false" => !actual.as_ref().is_some_and(truthy),
                _ => actual.is_some(),
            };
            if ok {
                Ok(())
            } else {
                Err(format!("{kind} [{path}]: actual {}", show(actual.as_ref())))
            }
        }
        "match" | "length" | "gt" | "gte" | "lt" | "lte" | "contains" | "close_to" => {
            let Value::Object(map) = arg else {
                return Err(format!("{kind} expects a map, got {arg}"));
            };
            for (path, expected) in map {
                let path = if path.contains("${") {
                    text(&stash.substitute_str(path, last)?)
                } else {
                    path.clone()
                };
                let expected = stash.substitute(expected, last)?;
                let actual = eval(&path, stash, last);
                one(kind, &path, &expected, actual.as_ref(), last)?;
            }
            Ok(())
        }
        other => Err(format!("unknown assertion {other}")),
    }
}

fn path_of(arg: &Value) -> Result<String, String> {
    match arg {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        other => Ok(text(other)),
    }
}

fn one(
    kind: &str,
    path: &str,
    expected: &Value,
    actual: Option<&Value>,
    last: Option<&Response>,
) -> Result<(), String> {
    let fail = |what: &str| {
        Err(format!(
            "{kind} [{path}]: {what}; expected {expected}, actual {}",
            show(actual)
        ))
    };
    match kind {
        "match" => {
            if let Some(pattern) = regex_literal(expected) {
                let re = extended_regex(pattern)?;
                let subject = match (path, actual) {
                    ("$body", _) => last.map(|r| r.raw.clone()).unwrap_or_default(),
                    (_, Some(v)) => text(v),
                    (_, None) => return fail("the path is missing"),
                };
                if re.is_match(&subject) {
                    return Ok(());
                }
                return Err(format!(
                    "match [{path}]: {pattern} does not match {}",
                    clip(&subject, 2000)
                ));
            }
            let ok = match actual {
                None => expected.is_null(),
                Some(a) => equal(expected, a),
            };
            if ok {
                Ok(())
            } else {
                fail("not equal")
            }
        }
        "length" => {
            let n = match actual {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(m)) => m.len(),
                Some(Value::String(s)) => s.chars().count(),
                _ => return fail("no array, map or string there"),
            };
            match number(expected) {
                Some(e) if (n as f64 - e).abs() < f64::EPSILON => Ok(()),
                _ => fail(&format!("length is {n}")),
            }
        }
        "gt" | "gte" | "lt" | "lte" => {
            let (Some(a), Some(e)) = (actual.and_then(number), number(expected)) else {
                return fail("not numbers");
            };
            let ok = match kind {
                "gt" => a > e,
                "gte" => a >= e,
                "lt" => a < e,
                _ => a <= e,
            };
            if ok {
                Ok(())
            } else {
                fail("comparison does not hold")
            }
        }
        "contains" => {
            let ok = match actual {
                Some(Value::Array(items)) => items.iter().any(|item| contains(item, expected)),
                Some(Value::String(s)) => s.contains(&text(expected)),
                Some(map @ Value::Object(_)) => contains(map, expected),
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                fail("not contained")
            }
        }
        "close_to" => {
            let value = expected.get("value").and_then(number);
            let error = expected.get("error").and_then(number);
            let (Some(v), Some(e)) = (value, error) else {
                return fail("close_to needs numeric value and error");
            };
            match actual.and_then(number) {
                Some(a) if (a - v).abs() <= e => Ok(()),
                _ => fail("not close enough"),
            }
        }
        _ => Err(format!("unknown assertion {kind}")),
    }
}

/// `/pattern/` (surrounding whitespace ignored) gives `pattern`.
pub fn regex_literal(value: &Value) -> Option<&str> {
    let s = value.as_str()?.trim();
    (s.len() >= 2 && s.starts_with('/') && s.ends_with('/')).then(|| &s[1..s.len() - 1])
}

/// Compiles a pattern in extended mode (whitespace and `#` comments ignored), as
/// the YAML tests write them.
pub fn extended_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("(?x){pattern}")).map_err(|e| format!("bad regex /{pattern}/: {e}"))
}

/// Deep equality where numbers compare by value.
pub fn equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(_), Value::Number(_)) => number(expected) == number(actual),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| equal(x, y))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|other| equal(v, other)))
        }
        _ => expected == actual,
    }
}

/// `item` equals `wanted`, or (for maps) holds every entry of it.
fn contains(item: &Value, wanted: &Value) -> bool {
    match (item, wanted) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(k, v)| have.get(k).is_some_and(|h| contains(h, v))),
        _ => equal(wanted, item),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !(s.is_empty() || s.eq_ignore_ascii_case("false")),
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "(missing)".to_string(),
        Some(v) => clip(&v.to_string(), 2000),
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(body: Value) -> Response {
        Response {
            raw: body.to_string(),
            body,
        }
    }

    #[test]
    fn match_compares_numbers_by_value_and_regexes() {
        let stash = Stash::default();
        let r = response(json!({"a": 76, "b": "node-1", "c": null}));
        assert!(check("match", &json!({"a": 76.0}), &stash, Some(&r)).is_ok());
        assert!(check("match", &json!({"a": 77}), &stash, Some(&r)).is_err());
        assert!(check(
            "match",
            &json!({"b": "/^node - \\d # digit\n/"}),
            &stash,
            Some(&r)
        )
        .is_ok());
        assert!(check(
            "match",
            &json!({"c": null, "missing": null}),
            &stash,
            Some(&r)
        )
        .is_ok());
        assert!(check("match", &json!({"b": "node-2"}), &stash, Some(&r)).is_err());
    }

    #[test]
    fn truthiness_length_comparisons_contains() {
        let stash = Stash::default();
        let r = response(json!({"t": "x", "f": 0, "l": [1, {"a": 1, "b": 2}], "s": "abc", "n": 5}));
        assert!(check("is_true", &json!("t"), &stash, Some(&r)).is_ok());
        assert!(check("is_true", &json!("f"), &stash, Some(&r)).is_err());
        assert!(check("is_false", &json!("f"), &stash, Some(&r)).is_ok());
        assert!(check("is_false", &json!("nope"), &stash, Some(&r)).is_ok());
        assert!(check("exists", &json!("nope"), &stash, Some(&r)).is_err());
        assert!(check("length", &json!({"l": 2, "s": 3}), &stash, Some(&r)).is_ok());
        assert!(check("gt", &json!({"n": 4}), &stash, Some(&r)).is_ok());
        assert!(check("lte", &json!({"n": 4}), &stash, Some(&r)).is_err());
        assert!(check("contains", &json!({"l": {"a": 1}}), &stash, Some(&r)).is_ok());
        assert!(check("contains", &json!({"l": 3}), &stash, Some(&r)).is_err());
        assert!(check("contains", &json!({"s": "bc"}), &stash, Some(&r)).is_ok());
        assert!(check(
            "close_to",
            &json!({"n": {"value": 5.1, "error": 0.2}}),
            &stash,
            Some(&r)
        )
        .is_ok());
    }
}
