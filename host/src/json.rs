//! Showing values to people and scripts: deterministic CBOR → JSON, for `value`.
//!
//! Byte strings become base64 text, non-finite floats become the strings `"NaN"`, `"Infinity"`
//! and `"-Infinity"` (JSON has no such numbers), and tags other than the ones JSON can express
//! become `{"$tag": n, "$value": …}`.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use jug_core::cbor::{CborError, MAX_DEPTH, Reader};

/// Converts one CBOR value to JSON. Values come from a store that others may write, so nesting
/// deeper than a task could return ([`MAX_DEPTH`]) is an error rather than a stack overflow.
pub fn to_json(bytes: &[u8]) -> Result<Value, CborError> {
    let mut reader = Reader::new(bytes);
    item(&mut reader, 0)
}

fn item(reader: &mut Reader<'_>, depth: usize) -> Result<Value, CborError> {
    if depth > MAX_DEPTH {
        return Err(reader.error(format!("value nested more than {MAX_DEPTH} levels deep")));
    }
    let head = reader.head()?;
    Ok(match head.major {
        0 => Value::Number(head.arg.into()),
        1 => match i64::try_from(head.arg) {
            Ok(n) => Value::Number((-1 - n).into()),
            // Below i64::MIN: keep every digit as text rather than round.
            Err(_) => Value::String(format!("-{}", head.arg as u128 + 1)),
        },
        2 => Value::String(base64::engine::general_purpose::STANDARD.encode(reader.take(head.arg)?)),
        3 => Value::String(String::from_utf8_lossy(reader.take(head.arg)?).into_owned()),
        4 => Value::Array((0..head.arg).map(|_| item(reader, depth + 1)).collect::<Result<_, _>>()?),
        5 => {
            let mut map = Map::new();
            for _ in 0..head.arg {
                let key = match item(reader, depth + 1)? {
                    Value::String(key) => key,
                    _ => return Err(reader.error("map key is not a text string")),
                };
                map.insert(key, item(reader, depth + 1)?);
            }
            Value::Object(map)
        }
        6 => {
            let mut tagged = Map::new();
            tagged.insert("$tag".into(), Value::Number(head.arg.into()));
            tagged.insert("$value".into(), item(reader, depth + 1)?);
            Value::Object(tagged)
        }
        _ => match head.info {
            20 => Value::Bool(false),
            21 => Value::Bool(true),
            22 | 23 => Value::Null,
            25 => float(half::f16::from_bits(head.arg as u16).to_f64()),
            26 => float(f32::from_bits(head.arg as u32) as f64),
            27 => float(f64::from_bits(head.arg)),
            _ => return Err(reader.error("unsupported simple value")),
        },
    })
}

fn float(value: f64) -> Value {
    match Number::from_f64(value) {
        Some(n) => Value::Number(n),
        None if value.is_nan() => Value::String("NaN".into()),
        None if value > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_every_kind_of_value() {
        let cases: &[(&[u8], &str)] = &[
            (&[0x18, 0x64], "100"),
            (&[0x38, 0x63], "-100"),
            (&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "\"-18446744073709551616\""),
            (&[0x43, 1, 2, 3], "\"AQID\""),
            (
                &[
                    0x78, 0x18, b'F', b'o', b'u', b'n', b'd', b' ', b'2', b'5', b' ', b'p', b'r', b'i', b'm',
                    b'e', b's', b' ', b'<', b'=', b' ', b'1', b'0', b'0', b'.', b'\n',
                ],
                "\"Found 25 primes <= 100.\\n\"",
            ),
            (&[0x82, 0xf4, 0xf6], "[false,null]"),
            (&[0xa1, 0x61, b'a', 0xf9, 0x3e, 0x00], "{\"a\":1.5}"),
            (&[0xf9, 0x7e, 0x00], "\"NaN\""),
            (&[0xf9, 0xfc, 0x00], "\"-Infinity\""),
            (&[0xc1, 0x01], "{\"$tag\":1,\"$value\":1}"),
        ];
        for (bytes, json) in cases {
            assert_eq!(to_json(bytes).unwrap().to_string(), *json);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        for opener in [0x81, 0xc1] {
            // [[[…]]] or tag(tag(…)), 100,000 deep.
            let mut bytes = vec![opener; 100_000];
            bytes.push(0x00);
            assert!(to_json(&bytes).unwrap_err().problem.contains("nested more than 256"));
        }
        let mut maps = b"\xa1\x61k".repeat(100_000);
        maps.push(0x00);
        assert!(to_json(&maps).unwrap_err().problem.contains("nested"));
        let mut deepest = vec![0x81; MAX_DEPTH];
        deepest.push(0x00);
        assert!(to_json(&deepest).is_ok());
        // An array that claims more elements than there are bytes.
        assert!(to_json(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
