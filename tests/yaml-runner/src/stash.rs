//! The stash (variables saved by `set`), substitution of `$var` / `${var}`, and
//! response paths (`hits.hits.0._id`).

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

/// The last response, as assertions see it.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The parsed body: JSON, a string for text answers, a boolean for HEAD APIs.
    pub body: Value,
    /// The body as text.
    pub raw: String,
}

/// Saved values of one test.
#[derive(Debug, Default)]
pub struct Stash {
    vars: HashMap<String, Value>,
}

fn embedded() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\$\{([^}]+)\}").expect("valid regex"))
}

/// A value as text: strings bare, everything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

impl Stash {
    /// Forgets every variable.
    pub fn clear(&mut self) {
        self.vars.clear();
    }

    /// Saves `value` as `name`.
    pub fn set(&mut self, name: &str, value: Value) {
        self.vars
            .insert(name.trim_start_matches('$').to_string(), value);
    }

    /// The value of `name` (without `$`); `name` may continue with a path
    /// (`$foo.bar.0`) into a stashed map.
    pub fn get(&self, name: &str, last: Option<&Response>) -> Result<Value, String> {
        if name == "body" {
            return last
                .map(|r| r.body.clone())
                .ok_or_else(|| "$body used before any response".to_string());
        }
        if let Some(value) = self.vars.get(name) {
            return Ok(value.clone());
        }
        // `$var.path`: the longest stashed prefix, then a path into it.
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            if let Some(value) = self.vars.get(&name[..dot]) {
                return lookup(value, &name[dot + 1..], self, last)
                    .ok_or_else(|| format!("${name}: no such path in the stashed value"));
            }
            end = dot;
        }
        Err(format!("${name} is not in the stash"))
    }

    /// Replaces stashed references inside `value`, recursively (keys too).
    pub fn substitute(&self, value: &Value, last: Option<&Response>) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => self.substitute_str(s, last)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.substitute(v, last))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let key = if k.contains('$') {
                        text(&self.substitute_str(k, last)?)
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.substitute(v, last)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// `$name` (the whole string) keeps the stashed type; `${name}` inside a longer
    /// string is replaced by its text.
    pub fn substitute_str(&self, s: &str, last: Option<&Response>) -> Result<Value, String> {
        if let Some(name) = s.strip_prefix('$') {
            if !name.is_empty() && !name.starts_with('{') && is_name(name) {
                return self.get(name, last);
            }
        }
        if let Some(caps) = embedded().captures(s) {
            if caps.get(0).map(|m| m.as_str().len()) == Some(s.len()) {
                return self.get(&caps[1], last);
            }
        } else {
            return Ok(Value::String(s.to_string()));
        }
        let mut error = None;
        let replaced = embedded().replace_all(s, |caps: &regex::Captures<'_>| {
            match self.get(&caps[1], last) {
                Ok(v) => text(&v),
                Err(e) => {
                    error = Some(e);
                    String::new()
                }
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok(Value::String(replaced.into_owned())),
        }
    }
}

fn is_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Splits a response path on unescaped dots (`\.` is a literal dot).
pub fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push('.');
                chars.next();
            }
            '.' => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out
}

/// Evaluates `path` against `root`; `None` when a segment is missing.
pub fn lookup(root: &Value, path: &str, stash: &Stash, last: Option<&Response>) -> Option<Value> {
    if path.is_empty() {
        return Some(root.clone());
    }
    let mut current = root;
    for segment in split_path(path) {
        let segment = if segment.contains('$') {
            text(&stash.substitute_str(&segment, last).ok()?)
        } else {
            segment
        };
        current = match current {
            Value::Object(map) => {
                if segment == "_arbitrary_key_" {
                    return map.keys().next().map(|k| Value::String(k.clone()));
                }
                map.get(&segment)?
            }
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current.clone())
}

/// Evaluates a response path against the last response: `$body` and `''` give the
/// whole body; other paths may name stashed values in their segments.
pub fn eval(path: &str, stash: &Stash, last: Option<&Response>) -> Option<Value> {
    let response = last?;
    if path == "$body" {
        return Some(response.body.clone());
    }
    if let Some(name) = path.strip_prefix('$') {
        // A stashed value used as the path itself, such as `$body` above or `$var`.
        if is_name(name) && !path.contains('.') {
            return stash.get(name, last).ok();
        }
    }
    lookup(&response.body, path, stash, last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitution_keeps_types_and_interpolates() {
        let mut stash = Stash::default();
        stash.set("n", json!(3));
        stash.set("id", json!("abc"));
        stash.set("m", json!({"a": {"b": [1, 2]}}));
        let input = json!({"x": "$n", "y": "id-${id}", "$id": ["$m.a.b.1", "${n}"]});
        let out = stash.substitute(&input, None).unwrap();
        assert_eq!(out, json!({"x": 3, "y": "id-abc", "abc": [2, 3]}));
        assert!(stash.substitute(&json!("$missing"), None).is_err());
        assert_eq!(
            stash.substitute(&json!("cost $5"), None).unwrap(),
            json!("cost $5")
        );
    }

    #[test]
    fn paths_handle_escapes_indices_and_stash() {
        let mut stash = Stash::default();
        stash.set("node", json!("n1"));
        let body = json!({"nodes": {"n1": {"index.x": 5, "l": [ {"a": 1} ]}}});
        let last = Response {
            body: body.clone(),
            raw: body.to_string(),
        };
        assert_eq!(
            eval(r"nodes.$node.index\.x", &stash, Some(&last)),
            Some(json!(5))
        );
        assert_eq!(eval("nodes.n1.l.0.a", &stash, Some(&last)), Some(json!(1)));
        assert_eq!(eval("nodes.n1.l.3", &stash, Some(&last)), None);
        assert_eq!(
            eval("nodes._arbitrary_key_", &stash, Some(&last)),
            Some(json!("n1"))
        );
        assert_eq!(eval("", &stash, Some(&last)), Some(body));
    }
}
