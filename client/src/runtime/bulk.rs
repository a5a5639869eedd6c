//! Bulk operations and NDJSON bodies.
//!
//! Every NDJSON line is compact JSON followed by exactly one `\n`, the last line
//! included; newlines inside strings are escaped by the JSON encoder, and a
//! pre-serialised source with line breaks is re-encoded compactly.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::{push_ndjson_line, Error, RequestBody};

/// What a bulk operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BulkAction {
    /// Index (create or replace) a document.
    Index,
    /// Create a document; fails if it exists.
    Create,
    /// Update (partially) a document.
    Update,
    /// Delete a document.
    Delete,
}

impl BulkAction {
    /// The action's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Index => "index",
            BulkAction::Create => "create",
            BulkAction::Update => "update",
            BulkAction::Delete => "delete",
        }
    }
}

/// The metadata of a bulk action line (`{"index": {…}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BulkMeta {
    /// `_index`: the target index, data stream or alias.
    #[serde(rename = "_index", skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// `_id`: the document id.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `routing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<String>,
    /// `pipeline`: the ingest pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// `if_seq_no`: optimistic concurrency control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_seq_no: Option<i64>,
    /// `if_primary_term`: optimistic concurrency control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_primary_term: Option<i64>,
    /// `version`: external versioning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// `version_type`: `internal`, `external` or `external_gte`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_type: Option<String>,
    /// `retry_on_conflict` (updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_on_conflict: Option<i32>,
    /// `require_alias`: the target must be an alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_alias: Option<bool>,
    /// `require_data_stream`: the target must be a data stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_data_stream: Option<bool>,
    /// `dynamic_templates`: field name → dynamic template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_templates: Option<std::collections::BTreeMap<String, String>>,
}

/// The body of a bulk `update`: a partial document and/or upsert, or a script.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BulkUpdate<TDocument = Value, TPartialDocument = Value> {
    /// `doc`: the partial document to merge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<TPartialDocument>,
    /// `doc_as_upsert`: index `doc` when the document is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_as_upsert: Option<bool>,
    /// `upsert`: the document to index when it is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upsert: Option<TDocument>,
    /// `script`: an update script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<Value>,
    /// `scripted_upsert`: run the script when the document is missing too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scripted_upsert: Option<bool>,
    /// `detect_noop`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detect_noop: Option<bool>,
    /// `_source`: what to return of the updated source.
    #[serde(rename = "_source", skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
}

impl<T, P> BulkUpdate<T, P> {
    /// Merges `doc` into the document.
    pub fn doc(doc: P) -> Self {
        Self {
            doc: Some(doc),
            doc_as_upsert: None,
            upsert: None,
            script: None,
            scripted_upsert: None,
            detect_noop: None,
            source: None,
        }
    }

    /// Runs `script` (the `script` object, such as `{"source": "…"}`).
    pub fn script(script: Value) -> Self {
        Self {
            doc: None,
            doc_as_upsert: None,
            upsert: None,
            script: Some(script),
            scripted_upsert: None,
            detect_noop: None,
            source: None,
        }
    }

    /// Indexes `doc` when the document does not exist.
    pub fn doc_as_upsert(mut self, yes: bool) -> Self {
        self.doc_as_upsert = Some(yes);
        self
    }

    /// Indexes `upsert` when the document does not exist.
    pub fn upsert(mut self, upsert: T) -> Self {
        self.upsert = Some(upsert);
        self
    }
}

#[derive(Debug, Clone)]
enum Source<T, P> {
    None,
    Document(T),
    Update(BulkUpdate<T, P>),
    Raw(Bytes),
}

/// One operation of a bulk request: an action line and, except for deletes, a source line.
///
/// ```
/// use elasticsearch_client::runtime::BulkOperation;
/// use serde_json::json;
///
/// let ops: Vec<BulkOperation> = vec![
///     BulkOperation::index(json!({"msg": "hello"})).index_name("t").id("1"),
///     BulkOperation::delete("2").index_name("t"),
///     BulkOperation::index_raw(r#"{"msg":"pre-serialised"}"#).index_name("t"),
/// ];
/// ```
#[derive(Debug, Clone)]
pub struct BulkOperation<TDocument = Value, TPartialDocument = Value> {
    action: BulkAction,
    meta: BulkMeta,
    source: Source<TDocument, TPartialDocument>,
}

impl<T, P> BulkOperation<T, P> {
    fn new(action: BulkAction, source: Source<T, P>) -> Self {
        Self {
            action,
            meta: BulkMeta::default(),
            source,
        }
    }

    /// Indexes `document` (creating or replacing it).
    pub fn index(document: T) -> Self {
        Self::new(BulkAction::Index, Source::Document(document))
    }

    /// Creates `document`; the item fails with 409 if the id exists.
    pub fn create(document: T) -> Self {
        Self::new(BulkAction::Create, Source::Document(document))
    }

    /// Updates the document `id`.
    pub fn update(id: impl Into<String>, update: BulkUpdate<T, P>) -> Self {
        Self::new(BulkAction::Update, Source::Update(update)).id(id)
    }

    /// Deletes the document `id`.
    pub fn delete(id: impl Into<String>) -> Self {
        Self::new(BulkAction::Delete, Source::None).id(id)
    }

    /// Indexes a source that is already JSON text (one trailing newline is dropped).
    pub fn index_raw(source: impl Into<Bytes>) -> Self {
        Self::new(BulkAction::Index, Source::Raw(source.into()))
    }

    /// Creates a document from a source that is already JSON text.
    pub fn create_raw(source: impl Into<Bytes>) -> Self {
        Self::new(BulkAction::Create, Source::Raw(source.into()))
    }

    /// Updates the document `id` with an update body that is already JSON text.
    pub fn update_raw(id: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self::new(BulkAction::Update, Source::Raw(body.into())).id(id)
    }

    /// Sets `_index`.
    pub fn index_name(mut self, index: impl Into<String>) -> Self {
        self.meta.index = Some(index.into());
        self
    }

    /// Sets `_id`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.meta.id = Some(id.into());
        self
    }

    /// Sets `routing`.
    pub fn routing(mut self, routing: impl Into<String>) -> Self {
        self.meta.routing = Some(routing.into());
        self
    }

    /// Sets `pipeline`.
    pub fn pipeline(mut self, pipeline: impl Into<String>) -> Self {
        self.meta.pipeline = Some(pipeline.into());
        self
    }

    /// Sets `if_seq_no` and `if_primary_term`.
    pub fn if_seq_no_primary_term(mut self, seq_no: i64, primary_term: i64) -> Self {
        self.meta.if_seq_no = Some(seq_no);
        self.meta.if_primary_term = Some(primary_term);
        self
    }

    /// Sets `version` and `version_type`.
    pub fn version(mut self, version: i64, version_type: impl Into<String>) -> Self {
        self.meta.version = Some(version);
        self.meta.version_type = Some(version_type.into());
        self
    }

    /// Sets `retry_on_conflict` (updates).
    pub fn retry_on_conflict(mut self, retries: i32) -> Self {
        self.meta.retry_on_conflict = Some(retries);
        self
    }

    /// Sets `require_alias`.
    pub fn require_alias(mut self, yes: bool) -> Self {
        self.meta.require_alias = Some(yes);
        self
    }

    /// The action.
    pub fn action(&self) -> BulkAction {
        self.action
    }

    /// The action metadata.
    pub fn meta(&self) -> &BulkMeta {
        &self.meta
    }

    /// The action metadata, for changing.
    pub fn meta_mut(&mut self) -> &mut BulkMeta {
        &mut self.meta
    }
}

impl<T: Serialize, P: Serialize> BulkOperation<T, P> {
    /// Appends this operation's lines to `out`.
    pub fn write_lines(&self, endpoint: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
        struct ActionLine<'a>(&'a str, &'a BulkMeta);
        impl Serialize for ActionLine<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(self.0, self.1)?;
                m.end()
            }
        }
        push_ndjson_line(endpoint, out, &ActionLine(self.action.as_str(), &self.meta))?;
        match &self.source {
            Source::None => Ok(()),
            Source::Document(d) => push_ndjson_line(endpoint, out, d),
            Source::Update(u) => push_ndjson_line(endpoint, out, u),
            Source::Raw(raw) => push_raw_line(endpoint, out, raw),
        }
    }
}

/// Appends JSON text as one NDJSON line: one trailing newline dropped, text with inner
/// line breaks re-encoded compactly (it must then be valid JSON).
pub fn push_raw_line(endpoint: &'static str, out: &mut Vec<u8>, raw: &[u8]) -> Result<(), Error> {
    let mut line = raw;
    if let Some(rest) = line.strip_suffix(b"\n") {
        line = rest.strip_suffix(b"\r").unwrap_or(rest);
    }
    if line.contains(&b'\n') || line.contains(&b'\r') {
        let value: Value = serde_json::from_slice(line).map_err(|e| Error::Build {
            endpoint,
            message: format!(
                "a pre-serialised line spans several lines and is not valid JSON: {e}"
            ),
            source: Some(Box::new(e)),
        })?;
        return push_ndjson_line(endpoint, out, &value);
    }
    out.extend_from_slice(line);
    out.push(b'\n');
    Ok(())
}

/// The NDJSON body of a bulk request.
pub fn bulk_body<T: Serialize, P: Serialize>(
    endpoint: &'static str,
    ops: &[BulkOperation<T, P>],
) -> Result<RequestBody, Error> {
    let mut out = Vec::with_capacity(ops.len() * 64);
    for op in ops {
        op.write_lines(endpoint, &mut out)?;
    }
    Ok(RequestBody::Ndjson(Bytes::from(out)))
}

/// An NDJSON body: one line per item.
pub fn ndjson_body<T: Serialize>(
    endpoint: &'static str,
    items: &[T],
) -> Result<RequestBody, Error> {
    let mut out = Vec::new();
    for item in items {
        push_ndjson_line(endpoint, &mut out, item)?;
    }
    Ok(RequestBody::Ndjson(Bytes::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_end_in_newlines_and_inner_newlines_are_escaped() {
        let ops: Vec<BulkOperation> = vec![
            BulkOperation::index(json!({"msg": "line1\nline2", "n": 1}))
                .index_name("t")
                .id("1"),
            BulkOperation::delete("2").index_name("t"),
            BulkOperation::index_raw(r#"{"msg":"raw"}"#).index_name("t"),
        ];
        let body = bulk_body("bulk", &ops).expect("serializable");
        let text = std::str::from_utf8(body.bytes()).expect("utf-8");
        assert_eq!(
            text,
            concat!(
                "{\"index\":{\"_index\":\"t\",\"_id\":\"1\"}}\n",
                "{\"msg\":\"line1\\nline2\",\"n\":1}\n",
                "{\"delete\":{\"_index\":\"t\",\"_id\":\"2\"}}\n",
                "{\"index\":{\"_index\":\"t\"}}\n",
                "{\"msg\":\"raw\"}\n",
            )
        );
        assert_eq!(body.content_type(), "application/x-ndjson");
    }

    #[test]
    fn a_raw_line_gets_exactly_one_newline() {
        let mut out = Vec::new();
        push_raw_line("bulk", &mut out, b"{\"a\":1}\n").expect("ok");
        push_raw_line("bulk", &mut out, b"{\"b\":2}").expect("ok");
        push_raw_line("bulk", &mut out, b"{\n  \"c\": 3\n}").expect("ok");
        assert_eq!(out, b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        assert!(push_raw_line("bulk", &mut Vec::new(), b"{\n oops").is_err());
    }

    #[test]
    fn updates_carry_doc_and_retry_on_conflict() {
        let ops: Vec<BulkOperation> =
            vec![
                BulkOperation::update("7", BulkUpdate::doc(json!({"n": 2})).doc_as_upsert(true))
                    .index_name("t")
                    .retry_on_conflict(3),
            ];
        let body = bulk_body("bulk", &ops).expect("serializable");
        assert_eq!(
            std::str::from_utf8(body.bytes()).expect("utf-8"),
            "{\"update\":{\"_index\":\"t\",\"_id\":\"7\",\"retry_on_conflict\":3}}\n{\"doc\":{\"n\":2},\"doc_as_upsert\":true}\n"
        );
    }
}
