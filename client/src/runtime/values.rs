//! Value types the generated code uses for shapes the specification repeats:
//! one-or-many lists, single-key objects, durations, numbers sent as strings, typed-key
//! maps, and the wire form of enums.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::url::{UrlBuilder, UrlValue};

/// A value the specification allows either alone or as a list (`T | T[]`).
///
/// Decodes both forms and re-encodes the form it was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }

    /// The values as a vector.
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

impl<T> From<T> for OneOrMany<T> {
    fn from(v: T) -> Self {
        OneOrMany::One(v)
    }
}

impl<T> From<Vec<T>> for OneOrMany<T> {
    fn from(v: Vec<T>) -> Self {
        OneOrMany::Many(v)
    }
}

impl From<&str> for OneOrMany<String> {
    fn from(v: &str) -> Self {
        OneOrMany::One(v.to_owned())
    }
}

impl From<Vec<&str>> for OneOrMany<String> {
    fn from(v: Vec<&str>) -> Self {
        OneOrMany::Many(v.into_iter().map(str::to_owned).collect())
    }
}

impl<const N: usize> From<[&str; N]> for OneOrMany<String> {
    fn from(v: [&str; N]) -> Self {
        OneOrMany::Many(v.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl<T: UrlValue> UrlValue for OneOrMany<T> {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        self.as_slice().write_values(push)
    }
}

/// An object with exactly one entry, such as `{"title": {"query": "rust"}}` in a match
/// query: the key is usually a field name.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleKey<K, V> {
    /// The key.
    pub key: K,
    /// The value.
    pub value: V,
}

impl<K, V> SingleKey<K, V> {
    /// `{key: value}`.
    pub fn new(key: impl Into<K>, value: impl Into<V>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl<K, V, K2: Into<K>, V2: Into<V>> From<(K2, V2)> for SingleKey<K, V> {
    fn from((k, v): (K2, V2)) -> Self {
        Self::new(k, v)
    }
}

impl<K: Serialize, V: Serialize> Serialize for SingleKey<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(&self.key, &self.value)?;
        map.end()
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for SingleKey<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V_<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for V_<K, V> {
            type Value = SingleKey<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with one entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some((key, value)) = map.next_entry()? else {
                    return Err(de::Error::invalid_length(0, &self));
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(2, &self));
                }
                Ok(SingleKey { key, value })
            }
        }
        d.deserialize_map(V_(PhantomData))
    }
}

/// A duration in Elasticsearch's notation (`1m`, `1500ms`, `30s`), or `-1`/`0`.
///
/// ```
/// use elasticsearch_client::runtime::Duration;
/// assert_eq!(Duration::from(std::time::Duration::from_secs(60)).as_str(), "1m");
/// assert_eq!(Duration::from(std::time::Duration::from_millis(1500)).as_str(), "1500ms");
/// assert_eq!(Duration::from("5s").as_str(), "5s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Duration {
    text: String,
    numeric: bool,
}

impl Duration {
    /// The duration as sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `-1`: no timeout / keep forever, where the API allows it.
    pub fn minus_one() -> Self {
        Self {
            text: "-1".into(),
            numeric: true,
        }
    }
}

impl From<&str> for Duration {
    fn from(v: &str) -> Self {
        Self {
            text: v.to_owned(),
            numeric: false,
        }
    }
}

impl From<String> for Duration {
    fn from(text: String) -> Self {
        Self {
            text,
            numeric: false,
        }
    }
}

impl From<std::time::Duration> for Duration {
    /// The largest whole unit: `d`, `h`, `m`, `s`, `ms`, `micros`, `nanos`.
    fn from(d: std::time::Duration) -> Self {
        let nanos = d.as_nanos();
        let units: [(u128, &str); 7] = [
            (86_400_000_000_000, "d"),
            (3_600_000_000_000, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
            (1_000_000, "ms"),
            (1_000, "micros"),
            (1, "nanos"),
        ];
        let text = if nanos == 0 {
            "0ms".to_string()
        } else {
            let (size, unit) = units
                .iter()
                .find(|(size, _)| nanos.is_multiple_of(*size))
                .copied()
                .unwrap_or((1, "nanos"));
            format!("{}{unit}", nanos / size)
        };
        Self {
            text,
            numeric: false,
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.numeric, self.text.parse::<i64>()) {
            (true, Ok(n)) => s.serialize_i64(n),
            _ => s.serialize_str(&self.text),
        }
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(text) => Ok(Self {
                text,
                numeric: false,
            }),
            serde_json::Value::Number(n) => Ok(Self {
                text: n.to_string(),
                numeric: true,
            }),
            other => Err(de::Error::custom(format!(
                "expected a duration, found {other}"
            ))),
        }
    }
}

impl UrlValue for Duration {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        push(&self.text)
    }
}

/// A value some APIs send as a JSON string (`"1234"`) and others as the value itself.
/// Re-encodes the form it was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stringified<T> {
    /// The value itself.
    Value(T),
    /// The value as a string.
    String(String),
}

impl<T> From<T> for Stringified<T> {
    fn from(v: T) -> Self {
        Stringified::Value(v)
    }
}

impl<T: UrlValue> UrlValue for Stringified<T> {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        match self {
            Stringified::Value(v) => v.write_values(push),
            Stringified::String(s) => push(s),
        }
    }
}

/// A query value sent as its compact JSON text (for parameter types that are objects).
#[derive(Debug)]
pub struct AsJson<'a, T>(pub &'a T);

impl<T: Serialize> UrlValue for AsJson<'_, T> {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        match serde_json::to_value(self.0) {
            Ok(serde_json::Value::String(s)) => push(&s),
            Ok(v) => push(&v.to_string()),
            Err(_) => push(""),
        }
    }
}

/// A union that is told apart by a type tag carried outside of it, in the key of the
/// map holding it (`"sterms#by_tag"` with `typed_keys`).
pub trait TypedValue: Sized {
    /// Decodes the value of a `tag#name` key (`tag` is empty without typed keys).
    fn from_tagged(tag: &str, value: serde_json::Value) -> Result<Self, serde_json::Error>;
}

/// The type tag of a [`TypedValue`], written before `#` when encoding.
pub trait TypeTag {
    /// The tag (`None`: the key is written bare).
    fn type_tag(&self) -> Option<&str>;
}

impl<T: TypedValue> TypedValue for Vec<T> {
    fn from_tagged(tag: &str, value: serde_json::Value) -> Result<Self, serde_json::Error> {
        match value {
            serde_json::Value::Array(items) => {
                items.into_iter().map(|v| T::from_tagged(tag, v)).collect()
            }
            other => Ok(vec![T::from_tagged(tag, other)?]),
        }
    }
}

impl<T: TypeTag> TypeTag for Vec<T> {
    fn type_tag(&self) -> Option<&str> {
        self.first().and_then(T::type_tag)
    }
}

/// A map whose keys carry type tags (`"sterms#by_tag"`), as aggregation and suggestion
/// results do with `typed_keys`. Keys are stored without their tag; values know it.
#[derive(Debug, Clone)]
pub struct TypedKeys<V>(pub HashMap<String, V>);

impl<V> Default for TypedKeys<V> {
    fn default() -> Self {
        TypedKeys(HashMap::new())
    }
}

impl<V> TypedKeys<V> {
    /// The value under `name` (without its tag).
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.get(name)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Iterates over `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter()
    }
}

impl<V: TypeTag + Serialize> Serialize for TypedKeys<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            match v.type_tag() {
                Some(tag) => map.serialize_entry(&format!("{tag}#{k}"), v)?,
                None => map.serialize_entry(k, v)?,
            }
        }
        map.end()
    }
}

impl<'de, V: TypedValue> Deserialize<'de> for TypedKeys<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let mut out = HashMap::with_capacity(raw.len());
        for (k, v) in raw {
            let (tag, name) = match k.split_once('#') {
                Some((tag, name)) => (tag, name.to_owned()),
                None => ("", k.clone()),
            };
            let value = V::from_tagged(tag, v)
                .map_err(|e| de::Error::custom(format_args!("in `{k}`: {e}")))?;
            out.insert(name, value);
        }
        Ok(TypedKeys(out))
    }
}

/// Query parameters every API accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommonParams {
    /// `error_trace`: include stack traces in errors.
    pub error_trace: Option<bool>,
    /// `filter_path`: response filtering.
    pub filter_path: Option<Vec<String>>,
    /// `human`: human-readable units.
    pub human: Option<bool>,
    /// `pretty`: pretty-printed JSON.
    pub pretty: Option<bool>,
}

impl CommonParams {
    /// Appends the set parameters to a URL.
    pub fn write_to(&self, u: &mut UrlBuilder) {
        u.opt_param("error_trace", self.error_trace.as_ref());
        u.opt_param("filter_path", self.filter_path.as_ref());
        u.opt_param("human", self.human.as_ref());
        u.opt_param("pretty", self.pretty.as_ref());
    }
}

/// An enum with wire names and an `Unknown(String)` fallback; generated enums implement it
/// through a crate-internal `wire_enum!` macro.
pub trait WireEnum: Sized {
    /// The wire name.
    fn as_wire(&self) -> &str;
    /// The variant for a wire name (aliases included); unknown names are kept.
    fn from_wire(s: &str) -> Self;
}

/// Decodes a wire enum from a string (or a boolean/number, which some APIs send).
pub fn deserialize_wire_enum<'de, D: Deserializer<'de>, T: WireEnum>(d: D) -> Result<T, D::Error> {
    struct V_<T>(PhantomData<T>);
    impl<T: WireEnum> Visitor<'_> for V_<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok(T::from_wire(v))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
            Ok(T::from_wire(if v { "true" } else { "false" }))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            Ok(T::from_wire(&v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            Ok(T::from_wire(&v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            Ok(T::from_wire(&v.to_string()))
        }
    }
    d.deserialize_any(V_(PhantomData))
}

/// Implements [`WireEnum`], serde, [`UrlValue`] and `Display` for a generated enum with
/// an `Unknown(String)` variant: `wire_enum!(Name { Variant = "wire" | "alias", … })`.
macro_rules! wire_enum {
    ($name:ident { $($variant:ident = $wire:literal $(| $alias:literal)*),* $(,)? }) => {
        impl $crate::runtime::WireEnum for $name {
            fn as_wire(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown(s) => s,
                }
            }
            fn from_wire(s: &str) -> Self {
                match s {
                    $($wire $(| $alias)* => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }
        impl $name {
            /// The wire name.
            pub fn as_str(&self) -> &str {
                $crate::runtime::WireEnum::as_wire(self)
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                $crate::runtime::deserialize_wire_enum(d)
            }
        }
        impl $crate::runtime::UrlValue for $name {
            fn write_values(&self, push: &mut dyn FnMut(&str)) {
                push(self.as_str())
            }
        }
        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

/// `T: DeserializeOwned` helper for generated code.
pub fn from_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(v)
}
