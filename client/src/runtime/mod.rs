//! The hand-written runtime that generated code calls: URL building, body
//! serialization and response decoding. Generated code reaches the rest of the
//! crate only through this module.

mod bulk;
mod codec;
mod finite;
pub mod registry;
mod url;
mod values;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use self::bulk::{bulk_body, ndjson_body, BulkAction, BulkMeta, BulkOperation, BulkUpdate};
pub use self::codec::{
    de_shortcut, de_tagged, de_variant, decode_unit, map_insert, pick_method, ser_tagged,
    ser_variant, take_field, to_object,
};
pub use self::finite::Finite;
pub use self::url::{UrlBuilder, UrlValue};
pub(crate) use self::values::wire_enum;
pub use self::values::{
    deserialize_wire_enum, from_value, AsJson, CommonParams, Duration, OneOrMany, SingleKey,
    Stringified, TypeTag, TypedKeys, TypedValue, WireEnum,
};
pub use crate::endpoint::{Endpoint, RawResponse, RequestBody};
pub use crate::error::{ApiError, Error};

/// Serializes a JSON body.
pub fn json_body<T: Serialize + ?Sized>(
    endpoint: &'static str,
    value: &T,
) -> Result<RequestBody, Error> {
    Ok(RequestBody::Json(Bytes::from(to_json_vec(
        endpoint, value,
    )?)))
}

/// Serializes one JSON value, refusing what JSON cannot represent.
pub fn to_json_vec<T: Serialize + ?Sized>(
    endpoint: &'static str,
    value: &T,
) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&Finite(value)).map_err(|e| Error::Build {
        endpoint,
        message: format!("the body could not be serialized: {e}"),
        source: Some(Box::new(e)),
    })
}

/// Appends one NDJSON line (the compact JSON of `value` and `\n`) to `out`.
pub fn push_ndjson_line<T: Serialize + ?Sized>(
    endpoint: &'static str,
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), Error> {
    serde_json::to_writer(&mut *out, &Finite(value)).map_err(|e| Error::Build {
        endpoint,
        message: format!("a line of the body could not be serialized: {e}"),
        source: Some(Box::new(e)),
    })?;
    out.push(b'\n');
    Ok(())
}

/// Turns an error status (not in `ignored`) into [`Error::Api`].
pub fn check_status(
    endpoint: &'static str,
    response: &RawResponse,
    ignored: &[u16],
) -> Result<(), Error> {
    let status = response.status.as_u16();
    if response.status.is_success() || ignored.contains(&status) {
        Ok(())
    } else {
        Err(Error::Api(Box::new(ApiError::new(
            endpoint,
            status,
            response.body.clone(),
        ))))
    }
}

/// Decodes a JSON answer into `T`, naming the failing field on error.
pub fn decode_json<T: DeserializeOwned>(
    endpoint: &'static str,
    response: RawResponse,
    ignored: &[u16],
) -> Result<T, Error> {
    check_status(endpoint, &response, ignored)?;
    decode_body(endpoint, response.status.as_u16(), &response.body)
}

/// Decodes JSON bytes into `T`, naming the failing field on error.
pub fn decode_body<T: DeserializeOwned>(
    endpoint: &'static str,
    status: u16,
    body: &[u8],
) -> Result<T, Error> {
    // Tracking the path costs an allocation per key, so it is done only to describe a
    // failure: the answer is decoded again, the same way, to find where it failed.
    let source = match serde_json::from_slice(body) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let path = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => e.path().to_string(),
        Ok(_) => String::new(),
    };
    Err(Error::Decode {
        endpoint,
        status,
        path,
        source,
    })
}

/// The answer of a HEAD endpoint: 2xx is `true`, 404 is `false`, anything else an error.
pub fn decode_exists(
    endpoint: &'static str,
    response: RawResponse,
    ignored: &[u16],
) -> Result<bool, Error> {
    if response.status.is_success() {
        return Ok(true);
    }
    if response.status.as_u16() == 404 {
        return Ok(false);
    }
    check_status(endpoint, &response, ignored)?;
    Ok(false)
}

/// A text answer (`text/plain`), such as the cat APIs without `format=json`.
pub fn decode_text(
    endpoint: &'static str,
    response: RawResponse,
    ignored: &[u16],
) -> Result<String, Error> {
    check_status(endpoint, &response, ignored)?;
    let status = response.status.as_u16();
    String::from_utf8(response.body.to_vec()).map_err(|e| Error::Decode {
        endpoint,
        status,
        path: String::new(),
        source: serde::de::Error::custom(format!("the response is not UTF-8: {e}")),
    })
}

/// A binary answer, kept as bytes.
pub fn decode_bytes(
    endpoint: &'static str,
    response: RawResponse,
    ignored: &[u16],
) -> Result<Bytes, Error> {
    check_status(endpoint, &response, ignored)?;
    Ok(response.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Outer {
        hits: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn decode_body_names_the_failing_path() {
        let ok: Outer = decode_body("search", 200, br#"{"hits":[{"n":1},{"n":2}]}"#).unwrap();
        assert_eq!(ok.hits, vec![Inner { n: 1 }, Inner { n: 2 }]);
        let err =
            decode_body::<Outer>("search", 200, br#"{"hits":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        match &err {
            Error::Decode {
                endpoint,
                status,
                path,
                source,
            } => {
                assert_eq!(
                    (*endpoint, *status, path.as_str()),
                    ("search", 200, "hits[1].n")
                );
                assert!(source.to_string().contains("line 1"), "{source}");
            }
            other => panic!("{other:?}"),
        }
        // Trailing bytes after the document are an error too.
        let err = decode_body::<Outer>("search", 200, br#"{"hits":[]} x"#).unwrap_err();
        assert!(err.is_decode(), "{err:?}");
    }
}
