//! Deterministic CBOR (RFC 8949 §4.2.1) through ciborium.
//!
//! ciborium already writes minimal integer heads, definite lengths and the shortest float that
//! round-trips; what it does not do is order map keys, so every value passes through
//! [`canonicalize`] on its way out.

use ciborium::Value;
use serde::{Serialize, de::DeserializeOwned};

/// Encodes a template or result value deterministically.
pub(crate) fn encode(mut value: Value) -> Result<Vec<u8>, String> {
    canonicalize(&mut value)?;
    let mut out = Vec::new();
    ciborium::into_writer(&value, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Serializes any serde value to a CBOR template value.
pub(crate) fn to_value<T: Serialize + ?Sized>(x: &T) -> Value {
    Value::serialized(x).unwrap_or_else(|e| panic!("jug: cannot encode a value as CBOR: {e}"))
}

/// Sorts map keys (text only) and rejects duplicates, depth first.
fn canonicalize(value: &mut Value) -> Result<(), String> {
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(canonicalize),
        Value::Tag(_, inner) => canonicalize(inner),
        Value::Map(entries) => {
            for (key, item) in entries.iter_mut() {
                if !key.is_text() {
                    return Err(format!("map keys must be strings, found {key:?}"));
                }
                canonicalize(item)?;
            }
            // For text keys, bytewise order of the encoded keys is length first, then bytes.
            entries.sort_by(|(a, _), (b, _)| {
                let (a, b) = (a.as_text().unwrap_or(""), b.as_text().unwrap_or(""));
                (a.len(), a.as_bytes()).cmp(&(b.len(), b.as_bytes()))
            });
            if let Some(pair) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(format!("duplicate map key {:?}", pair[0].0));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Decodes a task's argument tuple.
pub fn decode_args<T: DeserializeOwned>(input: &[u8], function: &str) -> Result<T, String> {
    ciborium::from_reader(input).map_err(|e| format!("cannot decode the arguments of `{function}`: {e}"))
}

/// Encodes a task's result.
pub fn encode_result<T: Serialize + ?Sized>(result: &T) -> Result<Vec<u8>, String> {
    encode(Value::serialized(result).map_err(|e| format!("cannot encode the result: {e}"))?)
}
