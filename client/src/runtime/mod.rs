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
    let mut de = serde_json::Deserializer::from_slice(body);
    let decode_error = |path: String, source: serde_json::Error| Error::Decode {
        endpoint,
        status,
        path,
        source,
    };
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| decode_error(e.path().to_string(), e.into_inner()))?;
    de.end().map_err(|e| decode_error(String::new(), e))?;
    Ok(value)
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
