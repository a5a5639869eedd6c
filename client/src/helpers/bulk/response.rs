//! A tolerant reading of bulk responses: every item the server sends is read on its
//! own, so one odd item never spoils the others, and nothing here can fail the batch.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::operation::BulkAction;

/// What one response item says about its operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemResult {
    /// Applied (or, for a delete of a missing document, found absent).
    Success(ItemSuccess),
    /// The server reported an error for the item.
    Failure {
        status: Option<u16>,
        error_type: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ItemSuccess {
    pub status: u16,
    pub result: Option<String>,
    pub index: Option<String>,
    pub id: Option<String>,
    pub version: Option<i64>,
    pub seq_no: Option<i64>,
    pub primary_term: Option<i64>,
}

/// One response item, with the action name it was keyed by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub action: Option<BulkAction>,
    pub id: Option<String>,
    pub result: ItemResult,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    items: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct ItemBody {
    #[serde(rename = "_index")]
    index: Option<String>,
    #[serde(rename = "_id")]
    id: Option<String>,
    #[serde(rename = "_version")]
    version: Option<i64>,
    #[serde(rename = "_seq_no")]
    seq_no: Option<i64>,
    #[serde(rename = "_primary_term")]
    primary_term: Option<i64>,
    result: Option<String>,
    status: Option<u16>,
    error: Option<Value>,
}

/// Reads the items of a 2xx bulk answer. `Err` carries why the body as a whole
/// could not be read (every operation of the request then fails with that reason).
pub(crate) fn parse_items(body: &[u8]) -> Result<Vec<Item>, String> {
    let body: Body<'_> = serde_json::from_slice(body)
        .map_err(|e| format!("the bulk response could not be read: {e}"))?;
    Ok(body.items.into_iter().map(parse_item).collect())
}

fn unreadable(reason: String) -> Item {
    Item {
        action: None,
        id: None,
        result: ItemResult::Failure {
            status: None,
            error_type: "unreadable_response_item".to_string(),
            reason,
        },
    }
}

fn parse_item(raw: &RawValue) -> Item {
    let map: serde_json::Map<String, Value> = match serde_json::from_str(raw.get()) {
        Ok(map) => map,
        Err(e) => return unreadable(format!("the response item is not an object: {e}")),
    };
    if map.len() != 1 {
        return unreadable(format!(
            "the response item has {} keys instead of one action: {}",
            map.len(),
            truncated(raw.get())
        ));
    }
    let Some((name, value)) = map.into_iter().next() else {
        return unreadable("empty response item".to_string());
    };
    let action = BulkAction::from_name(&name);
    let body: ItemBody = match serde_json::from_value(value) {
        Ok(body) => body,
        Err(e) => {
            return Item {
                action,
                ..unreadable(format!(
                    "the response item could not be read: {e}: {}",
                    truncated(raw.get())
                ))
            }
        }
    };
    let result = if let Some(error) = body.error {
        let (error_type, reason) = describe_error(&error);
        ItemResult::Failure {
            status: body.status,
            error_type,
            reason,
        }
    } else {
        match body.status {
            Some(status)
                if (200..300).contains(&status)
                    || (status == 404 && body.result.as_deref() == Some("not_found")) =>
            {
                ItemResult::Success(ItemSuccess {
                    status,
                    result: body.result,
                    index: body.index,
                    id: body.id.clone(),
                    version: body.version,
                    seq_no: body.seq_no,
                    primary_term: body.primary_term,
                })
            }
            Some(status) => ItemResult::Failure {
                status: Some(status),
                error_type: "unknown".to_string(),
                reason: format!(
                    "the server answered {status} without an error: {}",
                    truncated(raw.get())
                ),
            },
            None => ItemResult::Failure {
                status: None,
                error_type: "unreadable_response_item".to_string(),
                reason: format!("the response item has no status: {}", truncated(raw.get())),
            },
        }
    };
    Item {
        action,
        id: body.id,
        result,
    }
}

/// `type` and `reason` of an error object (with the first `caused_by` reason
/// appended when it adds something), or the text of a string error.
fn describe_error(error: &Value) -> (String, String) {
    match error {
        Value::Object(obj) => {
            let error_type = obj
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string();
            let mut reason = obj
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(cause) = obj.get("caused_by").and_then(Value::as_object) {
                let cause_type = cause.get("type").and_then(Value::as_str).unwrap_or("");
                let cause_reason = cause.get("reason").and_then(Value::as_str).unwrap_or("");
                if !cause_reason.is_empty() && !reason.contains(cause_reason) {
                    reason = format!("{reason} (caused by {cause_type}: {cause_reason})");
                }
            }
            if reason.is_empty() {
                reason = truncated(&error.to_string());
            }
            (error_type, reason)
        }
        Value::String(text) => ("unknown".to_string(), text.clone()),
        other => ("unknown".to_string(), truncated(&other.to_string())),
    }
}

fn truncated(text: &str) -> String {
    const MAX: usize = 500;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_successes_and_failures() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"index":{"_index":"t","_id":"1","_version":1,"result":"created","_shards":{"total":1},"_seq_no":0,"_primary_term":1,"status":201}},
            {"index":{"_index":"t","_id":"2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
            {"delete":{"_index":"t","_id":"3","_version":1,"result":"not_found","status":404}},
            {"update":{"_index":"t","_id":"4","status":400,"error":{"type":"document_parsing_exception","reason":"[1:9] failed to parse","caused_by":{"type":"illegal_argument_exception","reason":"bad int"}}}}
        ]}"#;
        let items = parse_items(body).expect("readable");
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].action, Some(BulkAction::Index));
        let ItemResult::Success(ok) = &items[0].result else {
            panic!("{:?}", items[0])
        };
        assert_eq!(
            (ok.status, ok.result.as_deref(), ok.seq_no, ok.version),
            (201, Some("created"), Some(0), Some(1))
        );
        assert_eq!(
            items[1].result,
            ItemResult::Failure {
                status: Some(429),
                error_type: "es_rejected_execution_exception".into(),
                reason: "rejected execution".into()
            }
        );
        assert!(matches!(&items[2].result, ItemResult::Success(s) if s.status == 404));
        let ItemResult::Failure { reason, .. } = &items[3].result else {
            panic!()
        };
        assert_eq!(
            reason,
            "[1:9] failed to parse (caused by illegal_argument_exception: bad int)"
        );
    }

    #[test]
    fn odd_items_become_failures_without_spoiling_others() {
        let body = br#"{"items":[
            42,
            {"index":{"status":"two hundred"}},
            {"index":{"_id":"x"}},
            {"a":{},"b":{}},
            {"frobnicate":{"status":200,"_id":"5"}},
            {"index":{"status":503,"error":"plain"}},
            {"create":{"status":201,"_id":"7"}}
        ]}"#;
        let items = parse_items(body).expect("readable");
        assert_eq!(items.len(), 7);
        for item in &items[..4] {
            assert!(
                matches!(&item.result, ItemResult::Failure { error_type, .. } if error_type == "unreadable_response_item"),
                "{item:?}"
            );
        }
        assert_eq!(items[4].action, None);
        assert!(
            matches!(items[5].result, ItemResult::Failure { status: Some(503), ref reason, .. } if reason == "plain")
        );
        assert!(matches!(items[6].result, ItemResult::Success(_)));
    }

    #[test]
    fn unreadable_bodies_are_errors() {
        assert!(parse_items(b"<html>").is_err());
        assert!(parse_items(br#"{"errors":false}"#).is_err());
        assert!(parse_items(b"").is_err());
    }
}
