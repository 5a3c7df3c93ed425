//! `jug-host value`: print stored results as JSON (our counterpart of Jug's `shell` + `value`),
//! or, with `--cbor`, as the stored CBOR itself for programs (the `jug_host` Python package).

use jug_core::cbor::{self, References, write_head};
use jug_core::store::{Access, Store, Stored};

use crate::cli::ValueArgs;
use crate::errors::{Error, Result};
use crate::exit_code::ExitCode;

pub fn run(args: ValueArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let chosen = super::select_named(&loaded.graph, &args.tasks)?;
    let store = loaded.reader.get()?;

    let mut out = String::new();
    let mut documents = Vec::new();
    let mut binary = Vec::new();
    write_head(&mut binary, 4, chosen.len() as u64);
    for &i in &chosen {
        let key = loaded.graph.task(i).key;
        let name = loaded.graph.name(i);
        match store.get_result(&key)? {
            Stored::Present(bytes) if args.cbor => {
                // The bytes go out as they are, inside the envelope, so they must be exactly
                // one well-formed item: anything else would corrupt the items after it.
                cbor::validate(&bytes, References::Forbidden)
                    .map_err(|e| Error::NotCbor { name: name.to_owned(), problem: e.to_string() })?;
                entry(&mut binary, name, &key.to_hex(), &bytes);
            }
            Stored::Present(bytes) => {
                let json = crate::json::to_json(&bytes)
                    .map_err(|e| Error::NotCbor { name: name.to_owned(), problem: e.to_string() })?;
                out.push_str(&json.to_string());
                out.push('\n');
                documents.push(serde_json::json!({ "name": name, "key": key.to_hex(), "value": json }));
            }
            Stored::Missing => {
                eprintln!(
                    "jug-host: {name} (key {}) has no result yet; run `{}` first",
                    key.short(),
                    super::rerun::execute_command(&args.graph, &args.builder)
                );
                return Ok(ExitCode::NotDone);
            }
            Stored::Damaged(damaged) => {
                // Removing it is what lets the next `execute` compute it again.
                Store::open(&loaded.store, Access::ReadWrite)?.delete_result(&key)?;
                return Err(Error::Damaged {
                    what: format!(
                        "{name}: removed the damaged result; run `{}` to recompute it",
                        super::rerun::execute_command(&args.graph, &args.builder)
                    ),
                    source: damaged,
                });
            }
        }
    }
    if args.cbor {
        // All or nothing, as for JSON: a missing result above printed nothing.
        super::print_bytes(&binary)?;
        return Ok(ExitCode::Ok);
    }
    if args.json {
        out = format!("{:#}\n", serde_json::Value::Array(documents));
    }
    super::print(&out)?;
    Ok(ExitCode::Ok)
}

/// One task in `--cbor`'s array: a map whose keys are in deterministic order (`key`, `name`,
/// `value`: shorter encodings first), so the whole output is deterministic CBOR when the
/// stored values are, as they are.
fn entry(out: &mut Vec<u8>, name: &str, key_hex: &str, value: &[u8]) {
    write_head(out, 5, 3);
    for (field, text) in [("key", key_hex), ("name", name)] {
        write_head(out, 3, field.len() as u64);
        out.extend_from_slice(field.as_bytes());
        write_head(out, 3, text.len() as u64);
        out.extend_from_slice(text.as_bytes());
    }
    write_head(out, 3, 5);
    out.extend_from_slice(b"value");
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_one_valid_deterministic_item() {
        let mut out = Vec::new();
        write_head(&mut out, 4, 2);
        entry(&mut out, "primes.is_prime", "ab", &[0xf5]);
        entry(&mut out, "primes.write_output", "cd", &[0xf9, 0x7e, 0x00]); // NaN
        cbor::validate(&out, References::Forbidden).expect("valid deterministic CBOR");
        assert_eq!(&out[..6], [0x82, 0xa3, 0x63, b'k', b'e', b'y']);
        assert_eq!(&out[out.len() - 3..], [0xf9, 0x7e, 0x00]);
    }
}
