//! Bulk operations: what the caller hands to the ingester, and the NDJSON lines each
//! one becomes.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// The kind of a bulk operation; also the key of its action line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BulkAction {
    /// Creates or replaces a document.
    Index,
    /// Creates a document; fails with 409 when the id exists.
    Create,
    /// Partially updates a document (or upserts it).
    Update,
    /// Deletes a document.
    Delete,
}

impl BulkAction {
    /// The name used in the action line and in response items.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Index => "index",
            BulkAction::Create => "create",
            BulkAction::Update => "update",
            BulkAction::Delete => "delete",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "index" => Some(BulkAction::Index),
            "create" => Some(BulkAction::Create),
            "update" => Some(BulkAction::Update),
            "delete" => Some(BulkAction::Delete),
            _ => None,
        }
    }
}

impl fmt::Display for BulkAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How `version` is compared with the stored document's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VersionType {
    /// The server's own versioning (the default).
    Internal,
    /// Succeeds when the given version is greater than the stored one.
    External,
    /// Succeeds when the given version is greater than or equal to the stored one.
    ExternalGte,
}

/// The metadata of an action line. Field order is the order on the wire.
#[derive(Clone, Debug, Default, Serialize)]
struct Meta {
    #[serde(rename = "_index", skip_serializing_if = "Option::is_none")]
    index: Option<String>,
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    routing: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    if_seq_no: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    if_primary_term: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_type: Option<VersionType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_on_conflict: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    require_alias: Option<bool>,
}

/// One operation for the [`BulkIngester`](super::BulkIngester): an action
/// (index, create, update, delete), its metadata, the document, and a caller key `K`
/// that comes back in the operation's [`BulkOutcome`](super::BulkOutcome).
///
/// Documents are serialized once, when the operation is built; a document that
/// cannot be serialized (a NaN float, a map with non-string keys, …) or raw bytes
/// that are not one JSON value do not make the operation vanish: it is reported as a
/// failed outcome (error type `serialization_error`) without being sent.
///
/// ```
/// use elasticsearch_client::helpers::bulk::{BulkOperation, VersionType};
/// use serde_json::json;
///
/// let op = BulkOperation::index(json!({"title": "Dune", "year": 1965}))
///     .index_name("books")
///     .id("dune")
///     .routing("scifi")
///     .key(42u64);
/// let raw = BulkOperation::create_raw(r#"{"title":"Emma"}"#).id("emma");
/// let bump = BulkOperation::update_doc(json!({"stock": 3})).id("dune").retry_on_conflict(3);
/// let gone = BulkOperation::delete("old").version(7).version_type(VersionType::External);
/// # let _ = (op, raw, bump, gone);
/// ```
#[derive(Clone)]
pub struct BulkOperation<K = ()> {
    pub(crate) key: K,
    pub(crate) action: BulkAction,
    meta: Meta,
    /// The source line without its newline, or why there is none.
    source: Result<Option<Bytes>, String>,
}

impl<K: fmt::Debug> fmt::Debug for BulkOperation<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("BulkOperation");
        s.field("key", &self.key)
            .field("action", &self.action)
            .field("meta", &self.meta);
        match &self.source {
            Ok(Some(bytes)) => s.field("source_len", &bytes.len()),
            Ok(None) => s.field("source", &"none"),
            Err(e) => s.field("source_error", e),
        };
        s.finish()
    }
}

fn serialize<T: Serialize>(doc: &T) -> Result<Option<Bytes>, String> {
    crate::runtime::to_json_vec("bulk", doc)
        .map(|v| Some(Bytes::from(v)))
        .map_err(|e| match e {
            crate::Error::Build {
                source: Some(source),
                ..
            } => format!("the document could not be serialized: {source}"),
            other => other.to_string(),
        })
}

/// Checks that `raw` is one JSON value and returns it on one line: whitespace outside
/// strings (such as the newlines of pretty-printed JSON) is removed, so the bulk body
/// keeps one line per source.
fn one_line(raw: Bytes) -> Result<Option<Bytes>, String> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&raw) {
        return Err(format!(
            "the pre-serialized source is not one JSON value: {e}"
        ));
    }
    let trimmed = raw.trim_ascii();
    if !trimmed.iter().any(|b| matches!(b, b'\n' | b'\r')) {
        return Ok(Some(raw.slice_ref(trimmed)));
    }
    let mut out = Vec::with_capacity(trimmed.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in trimmed {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
    Ok(Some(Bytes::from(out)))
}

impl BulkOperation<()> {
    fn new(action: BulkAction, source: Result<Option<Bytes>, String>) -> Self {
        BulkOperation {
            key: (),
            action,
            meta: Meta::default(),
            source,
        }
    }

    /// Indexes `doc` (creating or replacing it). Without [`id`](Self::id) the server
    /// picks one.
    pub fn index<T: Serialize>(doc: T) -> Self {
        Self::new(BulkAction::Index, serialize(&doc))
    }

    /// Indexes a pre-serialized JSON document.
    pub fn index_raw(json: impl Into<Bytes>) -> Self {
        Self::new(BulkAction::Index, one_line(json.into()))
    }

    /// Creates `doc`; the server answers 409 when the id exists. Data streams accept
    /// only this action.
    pub fn create<T: Serialize>(doc: T) -> Self {
        Self::new(BulkAction::Create, serialize(&doc))
    }

    /// Creates a pre-serialized JSON document.
    pub fn create_raw(json: impl Into<Bytes>) -> Self {
        Self::new(BulkAction::Create, one_line(json.into()))
    }

    /// Updates a document with a whole update body (`{"doc": …}`, `{"script": …}`,
    /// `doc_as_upsert`, `upsert`, …). Set the id with [`id`](Self::id).
    pub fn update<T: Serialize>(body: T) -> Self {
        Self::new(BulkAction::Update, serialize(&body))
    }

    /// Updates a document with a partial document: the body is `{"doc": partial}`.
    pub fn update_doc<T: Serialize>(partial: T) -> Self {
        #[derive(Serialize)]
        struct Doc<T> {
            doc: T,
        }
        Self::new(BulkAction::Update, serialize(&Doc { doc: partial }))
    }

    /// Updates a document with a pre-serialized update body.
    pub fn update_raw(body: impl Into<Bytes>) -> Self {
        Self::new(BulkAction::Update, one_line(body.into()))
    }

    /// Deletes the document `id`.
    pub fn delete(id: impl Into<String>) -> Self {
        Self::new(BulkAction::Delete, Ok(None)).id(id)
    }
}

impl<K> BulkOperation<K> {
    /// Attaches a caller key, returned with this operation's outcome.
    pub fn key<K2>(self, key: K2) -> BulkOperation<K2> {
        BulkOperation {
            key,
            action: self.action,
            meta: self.meta,
            source: self.source,
        }
    }

    /// The target index (or alias, or data stream); without it the ingester's
    /// default index is used.
    pub fn index_name(mut self, index: impl Into<String>) -> Self {
        self.meta.index = Some(index.into());
        self
    }

    /// The document id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.meta.id = Some(id.into());
        self
    }

    /// Custom routing.
    pub fn routing(mut self, routing: impl Into<String>) -> Self {
        self.meta.routing = Some(routing.into());
        self
    }

    /// The ingest pipeline to run (index and create).
    pub fn pipeline(mut self, pipeline: impl Into<String>) -> Self {
        self.meta.pipeline = Some(pipeline.into());
        self
    }

    /// Only applies when the document's last change had this sequence number
    /// (optimistic concurrency; use with [`if_primary_term`](Self::if_primary_term)).
    pub fn if_seq_no(mut self, seq_no: i64) -> Self {
        self.meta.if_seq_no = Some(seq_no);
        self
    }

    /// Only applies when the document's last change had this primary term.
    pub fn if_primary_term(mut self, term: i64) -> Self {
        self.meta.if_primary_term = Some(term);
        self
    }

    /// An explicit version (see [`version_type`](Self::version_type)).
    pub fn version(mut self, version: i64) -> Self {
        self.meta.version = Some(version);
        self
    }

    /// How [`version`](Self::version) is compared.
    pub fn version_type(mut self, version_type: VersionType) -> Self {
        self.meta.version_type = Some(version_type);
        self
    }

    /// How many times the server retries an update that meets a version conflict.
    pub fn retry_on_conflict(mut self, retries: u32) -> Self {
        self.meta.retry_on_conflict = Some(retries);
        self
    }

    /// Requires the target to be an alias.
    pub fn require_alias(mut self, require: bool) -> Self {
        self.meta.require_alias = Some(require);
        self
    }

    /// The caller key.
    pub fn caller_key(&self) -> &K {
        &self.key
    }

    /// The action.
    pub fn action(&self) -> BulkAction {
        self.action
    }

    /// The serialized operation as it goes into the bulk body: the action line and
    /// (except for deletes) the source line, each ending with `\n`; or why the
    /// operation cannot be sent.
    pub fn to_ndjson(&self) -> Result<Bytes, String> {
        match self.prepare_lines() {
            (lines, None) => Ok(lines),
            (_, Some(error)) => Err(error),
        }
    }

    /// The NDJSON lines; with an error, the lines hold what could be serialized
    /// (the action line, when only the document failed) and are not to be sent.
    pub(crate) fn prepare_lines(&self) -> (Bytes, Option<String>) {
        let source_len = match &self.source {
            Ok(Some(source)) => source.len() + 1,
            _ => 0,
        };
        let mut out =
            BytesMut::with_capacity(64 + self.meta.id.as_ref().map_or(0, |s| s.len()) + source_len);
        let line = ActionLine {
            action: self.action,
            meta: &self.meta,
        };
        if let Err(e) = serde_json::to_writer((&mut out).writer(), &line) {
            return (
                Bytes::new(),
                Some(format!("the action line could not be serialized: {e}")),
            );
        }
        out.put_u8(b'\n');
        match &self.source {
            Ok(Some(source)) => {
                out.extend_from_slice(source);
                out.put_u8(b'\n');
                (out.freeze(), None)
            }
            Ok(None) => (out.freeze(), None),
            Err(e) => (out.freeze(), Some(e.clone())),
        }
    }

    /// The document id named in the action line.
    pub(crate) fn doc_id(&self) -> Option<&str> {
        self.meta.id.as_deref()
    }
}

struct ActionLine<'a> {
    action: BulkAction,
    meta: &'a Meta,
}

impl Serialize for ActionLine<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.action.as_str(), self.meta)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines<K>(op: &BulkOperation<K>) -> String {
        String::from_utf8(op.to_ndjson().expect("serializable").to_vec()).expect("utf-8")
    }

    #[test]
    fn action_lines_carry_all_metadata_in_wire_order() {
        let op = BulkOperation::index(json!({"a": 1}))
            .index_name("t")
            .id("1")
            .routing("r")
            .pipeline("p")
            .if_seq_no(3)
            .if_primary_term(1)
            .require_alias(true);
        assert_eq!(
            lines(&op),
            "{\"index\":{\"_index\":\"t\",\"_id\":\"1\",\"routing\":\"r\",\"pipeline\":\"p\",\"if_seq_no\":3,\"if_primary_term\":1,\"require_alias\":true}}\n{\"a\":1}\n"
        );
        let op = BulkOperation::delete("x")
            .version(7)
            .version_type(VersionType::ExternalGte);
        assert_eq!(
            lines(&op),
            "{\"delete\":{\"_id\":\"x\",\"version\":7,\"version_type\":\"external_gte\"}}\n"
        );
        let op = BulkOperation::update_doc(json!({"n": 2}))
            .id("u")
            .retry_on_conflict(3);
        assert_eq!(
            lines(&op),
            "{\"update\":{\"_id\":\"u\",\"retry_on_conflict\":3}}\n{\"doc\":{\"n\":2}}\n"
        );
    }

    #[test]
    fn inner_newlines_are_escaped_and_raw_sources_get_one_newline() {
        let op = BulkOperation::index(json!({"msg": "line1\nline2", "n": 1}))
            .index_name("t")
            .id("1");
        assert_eq!(
            lines(&op),
            "{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n{\"msg\":\"line1\\nline2\",\"n\":1}\n"
        );
        let raw = BulkOperation::create_raw("{\"a\":1}").id("3");
        assert_eq!(lines(&raw), "{\"create\":{\"_id\":\"3\"}}\n{\"a\":1}\n");
        let raw = BulkOperation::create_raw("{\"a\":1}\n\n").id("3");
        assert_eq!(lines(&raw), "{\"create\":{\"_id\":\"3\"}}\n{\"a\":1}\n");
    }

    #[test]
    fn pretty_printed_raw_sources_are_put_on_one_line() {
        let raw = BulkOperation::index_raw("{\n  \"a\": \"x y\\\" \\n\",\r\n  \"b\": [1, 2]\n}\n");
        assert_eq!(
            lines(&raw),
            "{\"index\":{}}\n{\"a\":\"x y\\\" \\n\",\"b\":[1,2]}\n"
        );
    }

    #[test]
    fn unserializable_documents_are_errors_not_panics() {
        let op = BulkOperation::index(json!({"a": 1})).key(1);
        assert!(op.to_ndjson().is_ok());
        let op = BulkOperation::index(json!({"a": 1.5})).id("n");
        assert!(op.to_ndjson().is_ok());
        let op = BulkOperation::index(vec![1.0, f64::NAN]);
        assert!(op.to_ndjson().unwrap_err().contains("NaN"), "{op:?}");
        let op = BulkOperation::index(f64::INFINITY);
        assert!(op.to_ndjson().is_err());
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let op = BulkOperation::index(map);
        assert!(op.to_ndjson().is_err());
        let op = BulkOperation::index_raw("{\"a\":1} {\"b\":2}");
        assert!(op.to_ndjson().unwrap_err().contains("not one JSON value"));
        let op = BulkOperation::index_raw("");
        assert!(op.to_ndjson().is_err());
    }
}
