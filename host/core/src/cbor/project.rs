//! Tasklets (Jug's `t[0]`): a reference may name a part of a result by a path of steps, and
//! the part is taken from the stored result, by byte range, when the input is built.

use super::{MAX_DEPTH, Reader};

/// One step into a value: an array element or a map entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Index(u64),
    Field(String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Index(i) => write!(f, "[{i}]"),
            Step::Field(name) => write!(f, ".{name}"),
        }
    }
}

/// The part of `value` (deterministic CBOR) that `path` leads to, as a byte range of it.
pub fn project<'v>(value: &'v [u8], path: &[Step]) -> Result<&'v [u8], String> {
    if path.is_empty() {
        return Ok(value); // a plain reference: no need to walk the value
    }
    if path.len() > MAX_DEPTH {
        return Err(format!("a path into a result has at most {MAX_DEPTH} steps, not {}", path.len()));
    }
    let mut reader = Reader::new(value);
    for (depth, step) in path.iter().enumerate() {
        let at = || path[..depth].iter().map(Step::to_string).collect::<String>();
        let head = reader.head().map_err(|e| e.to_string())?;
        match (step, head.major) {
            (Step::Index(i), 4) if *i < head.arg => {
                for _ in 0..*i {
                    skip(&mut reader, depth + 1)?;
                }
            }
            (Step::Index(i), 4) => {
                return Err(format!("the result{} has {} elements, so there is no [{i}]", at(), head.arg));
            }
            (Step::Field(name), 5) => {
                let mut found = false;
                for _ in 0..head.arg {
                    let key_head = reader.head().map_err(|e| e.to_string())?;
                    let key = reader.take(key_head.arg).map_err(|e| e.to_string())?;
                    if key == name.as_bytes() {
                        found = true;
                        break;
                    }
                    skip(&mut reader, depth + 1)?;
                }
                if !found {
                    return Err(format!("the result{} has no field `{name}`", at()));
                }
            }
            (step, _) => {
                let what = if matches!(step, Step::Index(_)) { "an array" } else { "a map" };
                return Err(format!("the result{} is not {what}, so there is no {step}", at()));
            }
        }
    }
    let start = reader.pos;
    skip(&mut reader, path.len())?;
    Ok(&value[start..reader.pos])
}

/// Moves past one item, found `depth` levels into the value. Stored values are read, not
/// trusted: one nested deeper than [`MAX_DEPTH`] is an error, not a stack overflow.
fn skip(reader: &mut Reader<'_>, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(reader.error(format!("value nested more than {MAX_DEPTH} levels deep")).to_string());
    }
    let head = reader.head().map_err(|e| e.to_string())?;
    let nested = match head.major {
        2 | 3 => {
            reader.take(head.arg).map_err(|e| e.to_string())?;
            0
        }
        4 => head.arg,
        5 => head.arg * 2,
        6 => 1,
        _ => 0,
    };
    (0..nested).try_for_each(|_| skip(reader, depth + 1))
}
