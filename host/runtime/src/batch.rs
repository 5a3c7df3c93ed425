//! `declare-many` batches: reading one, and resolving the references its calls make to the
//! calls before them.
//!
//! A builder that batches its declarations (the JavaScript SDK, see `guest-sdk/js/src/batch.js`)
//! does not know the keys of the tasks still in its batch, so a task that takes the result of
//! one of them refers to it by its place in the batch: [`BATCH_REF_TAG`] around the call's
//! index, or around `[index, steps…]` for a part of its result, as [`TASK_REF_TAG`] wraps a key
//! or `[key, steps…]`. Before a call is declared, each such reference becomes the task
//! reference to the key the earlier call got, so a task's key and the template the scheduler
//! sees are the same as if every task had been declared on its own.

use jug_core::cbor::{MAX_DEPTH, Reader, TASK_REF_TAG, write_head};

/// The CBOR tag of a reference to an earlier call of the same batch (see the module docs).
pub const BATCH_REF_TAG: u64 = 27258;

/// One call of a `declare-many` batch, borrowed from the batch's bytes.
pub(crate) struct Call<'a> {
    pub component: Option<&'a str>,
    pub function: &'a str,
    pub args: &'a [u8],
}

/// Reads a `declare-many` batch: a CBOR array of `[function, args]` and
/// `[component, function, args]` arrays, `args` a byte string.
pub(crate) fn parse_calls(bytes: &[u8]) -> Result<Vec<Call<'_>>, String> {
    let mut reader = Reader::new(bytes);
    let count = expect(&mut reader, 4, "an array of calls")?;
    // Not `with_capacity(count)`: the count is the guest's word; every call takes bytes.
    let mut calls = Vec::new();
    for _ in 0..count {
        let component =
            match expect(&mut reader, 4, "a call: [function, args] or [component, function, args]")? {
                2 => None,
                3 => Some(text(&mut reader)?),
                n => {
                    return Err(format!(
                        "a call is [function, args] or [component, function, args], not {n} items"
                    ));
                }
            };
        let function = text(&mut reader)?;
        let len = expect(&mut reader, 2, "the arguments of a call as a byte string")?;
        let args = reader.take(len).map_err(|e| e.to_string())?;
        calls.push(Call { component, function, args });
    }
    if reader.pos != bytes.len() {
        return Err("bytes after the array of calls".into());
    }
    Ok(calls)
}

/// The argument of the next head, which must be of CBOR major type `major`.
fn expect(reader: &mut Reader<'_>, major: u8, what: &str) -> Result<u64, String> {
    let head = reader.head().map_err(|e| e.to_string())?;
    if head.major != major {
        return Err(format!("expected {what} (at byte {})", reader.pos));
    }
    Ok(head.arg)
}

/// The next item, a UTF-8 text string.
fn text<'a>(reader: &mut Reader<'a>) -> Result<&'a str, String> {
    let len = expect(reader, 3, "a text string")?;
    std::str::from_utf8(reader.take(len).map_err(|e| e.to_string())?)
        .map_err(|_| "a text string is not UTF-8".into())
}

/// `args` with every batch reference replaced by a task reference to the key of the call it
/// names; `keys` holds the keys of the calls before this one, 32 bytes each. Anything else is
/// copied as it is: the builder validates the result as it does every template.
pub(crate) fn resolve_batch_refs(args: &[u8], keys: &[u8]) -> Result<Vec<u8>, String> {
    // The tag's head, 0xd9 0x6a 0x7a, is rare: most templates are copied without a walk.
    let tag = [0xd9, (BATCH_REF_TAG >> 8) as u8, BATCH_REF_TAG as u8];
    if !args.windows(3).any(|w| w == tag) {
        return Ok(args.to_vec());
    }
    let fail = |e: jug_core::cbor::CborError| e.to_string();
    let mut reader = Reader::new(args);
    let mut out = Vec::with_capacity(args.len() + 32);
    // Items still to copy at each level of nesting, innermost last.
    let mut levels: Vec<u64> = vec![1];
    while let Some(left) = levels.last_mut() {
        if *left == 0 {
            levels.pop();
            continue;
        }
        *left -= 1;
        let start = reader.pos;
        let head = reader.head().map_err(fail)?;
        match head.major {
            2 | 3 => {
                reader.take(head.arg).map_err(fail)?;
                out.extend_from_slice(&args[start..reader.pos]);
            }
            // Arrays, maps and tags: their items follow.
            4..=6 => {
                if levels.len() > MAX_DEPTH {
                    return Err("arguments nested too deeply".into());
                }
                let items = match head.major {
                    4 => head.arg,
                    5 => head.arg.saturating_mul(2),
                    _ => 1,
                };
                if head.major == 6 && head.arg == BATCH_REF_TAG {
                    write_head(&mut out, 6, TASK_REF_TAG);
                    batch_ref(&mut reader, &mut out, keys, &mut levels)?;
                    continue;
                }
                out.extend_from_slice(&args[start..reader.pos]);
                levels.push(items);
            }
            _ => out.extend_from_slice(&args[start..reader.pos]),
        }
    }
    if reader.pos != args.len() {
        return Err("bytes after the arguments".into());
    }
    Ok(out)
}

/// What a batch reference wraps, written as what a task reference wraps: the index becomes the
/// key, and the steps of `[index, steps…]` are left for the walk to copy.
fn batch_ref(
    reader: &mut Reader<'_>,
    out: &mut Vec<u8>,
    keys: &[u8],
    levels: &mut Vec<u64>,
) -> Result<(), String> {
    let fail = |e: jug_core::cbor::CborError| e.to_string();
    let mut head = reader.head().map_err(fail)?;
    if head.major == 4 && head.arg >= 1 {
        write_head(out, 4, head.arg);
        levels.push(head.arg - 1);
        head = reader.head().map_err(fail)?;
    }
    let calls = keys.len() / 32;
    let key = usize::try_from(head.arg)
        .ok()
        .filter(|&index| head.major == 0 && index < calls)
        .map(|index| &keys[32 * index..32 * index + 32])
        .ok_or_else(|| {
            format!(
                "a batch reference (tag {BATCH_REF_TAG}) wraps the index of an earlier call of its batch \
                 (below {calls} here), or an array of it and steps"
            )
        })?;
    write_head(out, 2, 32);
    out.extend_from_slice(key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn a_batch_reference_becomes_the_task_reference_it_stands_for() {
        let keys = [key(1), key(2)].concat();
        // [tag 27258 (1), "x"]
        let args = [&[0x82, 0xd9, 0x6a, 0x7a, 0x01][..], &[0x61, b'x']].concat();
        let expected = [&[0x82, 0xd9, 0x6a, 0x75, 0x58, 0x20][..], &key(2), &[0x61, b'x']].concat();
        assert_eq!(resolve_batch_refs(&args, &keys).unwrap(), expected);
        // A part of a result: {"a": tag 27258 ([0, 3, "f"])}
        let args = [&[0xa1, 0x61, b'a', 0xd9, 0x6a, 0x7a, 0x83, 0x00, 0x03, 0x61, b'f'][..]].concat();
        let expected =
            [&[0xa1, 0x61, b'a', 0xd9, 0x6a, 0x75, 0x83, 0x58, 0x20][..], &key(1), &[0x03, 0x61, b'f']]
                .concat();
        assert_eq!(resolve_batch_refs(&args, &keys).unwrap(), expected);
        // Without one, the bytes are the same; a byte string holding the tag's bytes too.
        let plain = [0x81, 0x43, 0xd9, 0x6a, 0x7a];
        assert_eq!(resolve_batch_refs(&plain, &keys).unwrap(), plain);
    }

    #[test]
    fn a_batch_reference_to_no_earlier_call_or_malformed_is_refused() {
        let keys = key(1).to_vec();
        for args in [
            &[0x81, 0xd9, 0x6a, 0x7a, 0x01][..],       // call 1: not before this one
            &[0x81, 0xd9, 0x6a, 0x7a, 0x61, b'x'][..], // not an index
            &[0x81, 0xd9, 0x6a, 0x7a, 0x80][..],       // an empty array
            &[0x81, 0xd9, 0x6a, 0x7a][..],             // nothing after the tag
            &[0x82, 0xd9, 0x6a, 0x7a, 0x00][..],       // the array ends early
        ] {
            assert!(resolve_batch_refs(args, &keys).is_err(), "{args:02x?}");
        }
        // Deep nesting is refused, not recursed into.
        let mut deep = vec![0x81; 100_000];
        deep.extend_from_slice(&[0xd9, 0x6a, 0x7a, 0x00]);
        assert!(resolve_batch_refs(&deep, &keys).unwrap_err().contains("nested too deeply"));
    }
}
