//! Serde helpers for the shapes generated code cannot derive: variant containers
//! (`{"match": {...}}`), internally tagged unions with default tags, shortcut forms,
//! and containers that carry extra properties beside their variant.

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::{self, SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{check_status, Error, RawResponse};

/// Writes `{name: value}`.
pub fn ser_variant<S: Serializer, T: Serialize + ?Sized>(
    s: S,
    name: &str,
    value: &T,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(name, value)?;
    map.end()
}

/// Reads a single-key object and hands its key and value to `f`.
pub fn de_variant<'de, D, T, F>(d: D, f: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str, Value) -> Result<T, serde_json::Error>,
{
    let map = Map::<String, Value>::deserialize(d)?;
    let mut entries = map.into_iter();
    let (key, value) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        (None, _) => {
            return Err(de::Error::custom(
                "expected an object with one key, found {}",
            ))
        }
        (Some((a, _)), Some((b, _))) => {
            return Err(de::Error::custom(format_args!(
                "expected an object with one key, found `{a}` and `{b}`"
            )))
        }
    };
    f(&key, value).map_err(|e| de::Error::custom(format_args!("in `{key}`: {e}")))
}

/// Writes `value` (an object) with `tag: tag_value` added.
pub fn ser_tagged<S: Serializer, T: Serialize + ?Sized>(
    s: S,
    tag: &str,
    tag_value: Value,
    value: &T,
) -> Result<S::Ok, S::Error> {
    let mut map = to_object::<S, T>(value)?;
    map.insert(tag.to_owned(), tag_value);
    map.serialize(s)
}

/// Reads an object, finds its `tag` (or `default` when missing) and hands tag and the
/// whole object to `f`.
pub fn de_tagged<'de, D, T, F>(d: D, tag: &str, default: Option<&str>, f: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str, Value) -> Result<T, serde_json::Error>,
{
    let value = Value::deserialize(d)?;
    let name = match value.get(tag) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(de::Error::custom(format_args!(
                "`{tag}` must be a string, found {other}"
            )))
        }
        None => match default {
            Some(d) => d.to_owned(),
            None => return Err(de::Error::missing_field("tag")),
        },
    };
    f(&name, value).map_err(|e| de::Error::custom(format_args!("in `{tag}: {name}`: {e}")))
}

/// Decodes a type that can also be given as its shortcut value (`"rust"` for
/// `{"query": "rust"}`): objects go to `full`, anything else to `short`.
pub fn de_shortcut<'de, D, T, F, G>(d: D, full: F, short: G) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(Value) -> Result<T, serde_json::Error>,
    G: FnOnce(Value) -> Result<T, serde_json::Error>,
{
    let value = Value::deserialize(d)?;
    let result = if value.is_object() {
        full(value)
    } else {
        short(value)
    };
    result.map_err(de::Error::custom)
}

/// Serializes `value` into a JSON object.
pub fn to_object<S: Serializer, T: Serialize + ?Sized>(
    value: &T,
) -> Result<Map<String, Value>, S::Error> {
    match serde_json::to_value(value).map_err(ser::Error::custom)? {
        Value::Object(map) => Ok(map),
        other => Err(ser::Error::custom(format_args!(
            "expected an object, found {other}"
        ))),
    }
}

/// Inserts `key: value` into an object being built.
pub fn map_insert<S: Serializer, T: Serialize + ?Sized>(
    map: &mut Map<String, Value>,
    key: &str,
    value: &T,
) -> Result<(), S::Error> {
    map.insert(
        key.to_owned(),
        serde_json::to_value(value).map_err(ser::Error::custom)?,
    );
    Ok(())
}

/// Removes the first of `names` from `map` and decodes it.
pub fn take_field<T: DeserializeOwned, E: de::Error>(
    map: &mut Map<String, Value>,
    names: &[&str],
) -> Result<Option<T>, E> {
    for name in names {
        if let Some(v) = map.remove(*name) {
            return serde_json::from_value(v)
                .map(Some)
                .map_err(|e| E::custom(format_args!("in `{name}`: {e}")));
        }
    }
    Ok(None)
}

/// Chooses the method among those a URL pattern allows: with a body the first of
/// `POST`/`PUT`, otherwise (or when neither is allowed) the first listed.
pub fn pick_method(methods: &[&str], has_body: bool) -> http::Method {
    let chosen = if has_body {
        methods
            .iter()
            .find(|m| **m == "POST" || **m == "PUT")
            .or(methods.first())
    } else {
        methods.first()
    };
    match chosen.copied() {
        Some("GET") | None => http::Method::GET,
        Some("POST") => http::Method::POST,
        Some("PUT") => http::Method::PUT,
        Some("DELETE") => http::Method::DELETE,
        Some("HEAD") => http::Method::HEAD,
        Some("PATCH") => http::Method::PATCH,
        Some(other) => http::Method::from_bytes(other.as_bytes()).unwrap_or(http::Method::GET),
    }
}

/// An answer without a body: only the status matters.
pub fn decode_unit(
    endpoint: &'static str,
    response: RawResponse,
    ignored: &[u16],
) -> Result<(), Error> {
    check_status(endpoint, &response, ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_follows_the_body() {
        assert_eq!(pick_method(&["GET", "POST"], false), http::Method::GET);
        assert_eq!(pick_method(&["GET", "POST"], true), http::Method::POST);
        assert_eq!(pick_method(&["PUT", "POST"], true), http::Method::PUT);
        assert_eq!(pick_method(&["POST"], false), http::Method::POST);
        assert_eq!(pick_method(&["DELETE"], true), http::Method::DELETE);
        assert_eq!(pick_method(&["HEAD"], false), http::Method::HEAD);
    }
}
