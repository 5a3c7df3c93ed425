//! A component's code identity: what it computes, not how it was built.
//!
//! The identity is blake3 over the component's bytes with the custom sections that do not
//! change behaviour left out — `name`, `producers`, `.debug_*`, source maps, `target_features`
//! — at every nesting level (a component holds core modules, and may hold components). Section
//! sizes of enclosing modules are not hashed either, since they change with the custom
//! sections inside. So a rebuild that only moves debug info keeps every task key, while any
//! change to code or data changes it.
//!
//! A component may instead *declare* its identity in a top-level custom section named
//! `jug-code-digest` (see `wit/task.wit`). The Python and JavaScript SDKs do, because
//! componentize-py/js snapshot an interpreter and never produce the same bytes twice: their
//! digest covers the sources, the SDK and the toolchain versions. The host cannot check such a
//! claim; it is the SDK's promise that equal digests mean equal behaviour.
//!
//! It may also declare the identity of each task function (`jug-function-digests`): a task of
//! a function listed there is keyed by that function's identity instead of the component's,
//! so editing one function re-runs its tasks only (the Python SDK does, see `jug_py.digest`).
//!
//! A Rust graph built with `cargo jug build` carries more than a claim: a *variant* of itself per
//! task function (custom sections `jug-variant:<function>`), linked so that it holds only the
//! code and data that function can reach. The host computes that variant's identity like any
//! component's and runs the function's tasks in it, so what is hashed is what runs.

use crate::Key;

const IDENTITY_CONTEXT: &str = "jug-host 2026-11 code identity";
const DECLARED_CONTEXT: &str = "jug-host 2026-11 declared code identity";

/// The custom section in which a component declares its code identity.
pub const DECLARED_DIGEST_SECTION: &str = "jug-code-digest";

/// The custom section in which a component declares the identity of each task function.
pub const FUNCTION_DIGESTS_SECTION: &str = "jug-function-digests";
const FUNCTION_CONTEXT: &str = "jug-host 2026-12 declared function identity";

/// The 8-byte preambles: `\0asm` + version/layer.
const CORE_MODULE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const COMPONENT: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// Component section ids that hold a nested binary with sections of its own.
const CORE_MODULE_SECTION: u8 = 1;
const COMPONENT_SECTION: u8 = 4;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    Component,
    CoreModule,
    NotWasm,
}

/// Classifies a file by its preamble.
pub fn kind(bytes: &[u8]) -> WasmKind {
    match bytes.get(..8) {
        Some(p) if p == COMPONENT => WasmKind::Component,
        Some(p) if p == CORE_MODULE => WasmKind::CoreModule,
        Some(p) if p[..4] == COMPONENT[..4] && p[6..] == COMPONENT[6..] => WasmKind::Component,
        _ => WasmKind::NotWasm,
    }
}

/// A structural problem found while walking sections.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed WebAssembly binary: {0}")]
pub struct MalformedWasm(pub String);

/// Computes the code identity of a component (or core module): its declared digest if it
/// has one, else a digest of its code.
pub fn identity(bytes: &[u8]) -> Result<Key, MalformedWasm> {
    if let Some(declared) = declared_digest(bytes)? {
        return Ok(Key(blake3::derive_key(DECLARED_CONTEXT, declared)));
    }
    computed_identity(bytes)
}

/// The identity of a component's code, ignoring any digest it declares: for what the host
/// runs as it is (a variant, see [`variants`]).
pub fn computed_identity(bytes: &[u8]) -> Result<Key, MalformedWasm> {
    let mut hasher = blake3::Hasher::new_derive_key(IDENTITY_CONTEXT);
    digest(bytes, &mut hasher)?;
    Ok(Key(*hasher.finalize().as_bytes()))
}

fn digest(bytes: &[u8], hasher: &mut blake3::Hasher) -> Result<(), MalformedWasm> {
    let nested_allowed = match kind(bytes) {
        WasmKind::Component => true,
        WasmKind::CoreModule => false,
        WasmKind::NotWasm => return Err(MalformedWasm("missing the \\0asm preamble".into())),
    };
    hasher.update(&bytes[..8]);
    for section in sections(bytes) {
        let (id, content) = section?;
        if id == 0 {
            if is_non_semantic(custom_section_name(content)?) {
                continue;
            }
        } else if nested_allowed && (id == CORE_MODULE_SECTION || id == COMPONENT_SECTION) {
            hasher.update(&[id, 0xff]);
            digest(content, hasher)?;
            hasher.update(&[0xff, id]);
            continue;
        }
        hasher.update(&[id]);
        hasher.update(&(content.len() as u64).to_le_bytes());
        hasher.update(content);
    }
    Ok(())
}

/// The payload of the top-level `jug-code-digest` section, if there is one. Two such
/// sections, or an empty one, make the component malformed: which claim would be true?
pub fn declared_digest(bytes: &[u8]) -> Result<Option<&[u8]>, MalformedWasm> {
    declared_section(bytes, DECLARED_DIGEST_SECTION)
}

/// The identity of each task function a component declares (section `jug-function-digests`:
/// a JSON object of function name to digest string), each derived into a key of its own, or
/// an empty map if it declares none. Like the component's declared digest, a claim the host
/// cannot check; the SDK promises that equal digests mean equal behaviour of that function.
pub fn function_digests(bytes: &[u8]) -> Result<std::collections::BTreeMap<String, Key>, MalformedWasm> {
    let Some(payload) = declared_section(bytes, FUNCTION_DIGESTS_SECTION)? else {
        return Ok(Default::default());
    };
    let table: std::collections::BTreeMap<String, String> = serde_json::from_slice(payload).map_err(|e| {
        MalformedWasm(format!(
            "the `{FUNCTION_DIGESTS_SECTION}` section is not a JSON object of strings: {e}"
        ))
    })?;
    Ok(table
        .into_iter()
        .map(|(function, digest)| {
            let mut hasher = blake3::Hasher::new_derive_key(FUNCTION_CONTEXT);
            hasher.update(digest.as_bytes());
            (function, Key(*hasher.finalize().as_bytes()))
        })
        .collect())
}

/// The custom sections that hold a variant of the component per task function.
pub const VARIANT_SECTION_PREFIX: &str = "jug-variant:";

/// The per-function variants of a component (see the module's doc), by function name: each a
/// component of its own. Two variants of one function, or one that is not a component, make
/// the component malformed.
pub fn variants(bytes: &[u8]) -> Result<std::collections::BTreeMap<String, &[u8]>, MalformedWasm> {
    let mut found = std::collections::BTreeMap::new();
    if kind(bytes) != WasmKind::Component {
        return Ok(found);
    }
    for section in sections(bytes) {
        let (id, content) = section?;
        if id != 0 {
            continue;
        }
        let name = custom_section_name(content)?;
        let Some(function) = name.strip_prefix(VARIANT_SECTION_PREFIX) else { continue };
        let variant = &content[custom_payload_start(content)?..];
        if kind(variant) != WasmKind::Component {
            return Err(MalformedWasm(format!("the variant of `{function}` is not a component")));
        }
        if found.insert(function.to_owned(), variant).is_some() {
            return Err(MalformedWasm(format!("two variants of `{function}`")));
        }
    }
    Ok(found)
}

/// Where a custom section's payload starts: after its name's length and the name.
fn custom_payload_start(content: &[u8]) -> Result<usize, MalformedWasm> {
    let mut pos = 0;
    let len = leb128_u32(content, &mut pos)? as usize;
    Ok(pos + len)
}

/// The payload of the top-level custom section `name`: at most one, and not empty.
fn declared_section<'b>(bytes: &'b [u8], name: &str) -> Result<Option<&'b [u8]>, MalformedWasm> {
    if kind(bytes) != WasmKind::Component {
        return Ok(None);
    }
    let mut found = None;
    for section in sections(bytes) {
        let (id, content) = section?;
        if id != 0 || custom_section_name(content).ok() != Some(name) {
            continue;
        }
        let payload = &content[1 + name.len()..];
        if payload.is_empty() || found.replace(payload).is_some() {
            return Err(MalformedWasm(format!(
                "a component must have at most one non-empty `{name}` section"
            )));
        }
    }
    Ok(found)
}

/// The sections of a module or component after its preamble, as `(id, content)`.
fn sections(bytes: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), MalformedWasm>> {
    let mut pos = 8;
    std::iter::from_fn(move || {
        let id = *bytes.get(pos)?;
        pos += 1;
        let section = leb128_u32(bytes, &mut pos).and_then(|size| {
            let content = bytes
                .get(pos..pos + size as usize)
                .ok_or_else(|| MalformedWasm(format!("section {id} runs past the end of the file")))?;
            pos += size as usize;
            Ok((id, content))
        });
        if section.is_err() {
            pos = bytes.len(); // nothing after a malformed section can be trusted
        }
        Some(section)
    })
}

fn custom_section_name(content: &[u8]) -> Result<&str, MalformedWasm> {
    let mut pos = 0;
    let len = leb128_u32(content, &mut pos)? as usize;
    content
        .get(pos..pos + len)
        .and_then(|name| std::str::from_utf8(name).ok())
        .ok_or_else(|| MalformedWasm("custom section with a bad name".into()))
}

/// Custom sections that tools add for people and debuggers; the code never reads them.
fn is_non_semantic(name: &str) -> bool {
    matches!(
        name,
        "name"
            | "component-name"
            | "producers"
            | "target_features"
            | "sourceMappingURL"
            | "external_debug_info"
    ) || name.starts_with(".debug_")
}

fn leb128_u32(bytes: &[u8], pos: &mut usize) -> Result<u32, MalformedWasm> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos).ok_or_else(|| MalformedWasm("truncated section header".into()))?;
        *pos += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value).map_err(|_| MalformedWasm("section size overflows".into()));
        }
    }
    Err(MalformedWasm("section size is not a valid LEB128".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut out = vec![id, content.len() as u8];
        out.extend_from_slice(content);
        out
    }

    fn custom(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut content = vec![name.len() as u8];
        content.extend_from_slice(name.as_bytes());
        content.extend_from_slice(payload);
        section(0, &content)
    }

    fn component_with_module(module_extra: &[u8]) -> Vec<u8> {
        let mut module = CORE_MODULE.to_vec();
        module.extend(section(1, &[0x01, 0x60, 0x00, 0x00])); // type section: one func type
        module.extend_from_slice(module_extra);
        let mut component = COMPONENT.to_vec();
        component.extend(section(CORE_MODULE_SECTION, &module));
        component
    }

    #[test]
    fn debug_and_name_sections_do_not_change_identity() {
        let plain = identity(&component_with_module(&[])).unwrap();
        let with_debug = [custom("name", b"\x00\x05hello"), custom(".debug_info", b"/home/a/src")].concat();
        assert_eq!(identity(&component_with_module(&with_debug)).unwrap(), plain);
        let other_debug = custom(".debug_info", b"/somewhere/else/entirely/src");
        assert_eq!(identity(&component_with_module(&other_debug)).unwrap(), plain);
    }

    #[test]
    fn semantic_changes_change_identity() {
        let plain = identity(&component_with_module(&[])).unwrap();
        let code = section(10, &[0x01, 0x02, 0x00, 0x0b]);
        assert_ne!(identity(&component_with_module(&code)).unwrap(), plain);
        let unknown_custom = custom("my-config", b"x");
        assert_ne!(identity(&component_with_module(&unknown_custom)).unwrap(), plain);
    }

    #[test]
    fn a_declared_digest_is_the_identity() {
        let declared = |code: &[u8], digest: &[u8]| {
            let mut bytes = component_with_module(code);
            bytes.extend(custom(DECLARED_DIGEST_SECTION, digest));
            identity(&bytes).unwrap()
        };
        let code = section(10, &[0x01, 0x02, 0x00, 0x0b]);
        // Different code, same declaration: same identity (the SDK vouches for it) ...
        assert_eq!(declared(&[], b"sha256:aa"), declared(&code, b"sha256:aa"));
        // ... and a different declaration changes it.
        assert_ne!(declared(&[], b"sha256:aa"), declared(&[], b"sha256:ab"));
        assert_ne!(declared(&[], b"sha256:aa"), identity(&component_with_module(&[])).unwrap());

        let mut twice = component_with_module(&[]);
        twice.extend(custom(DECLARED_DIGEST_SECTION, b"one"));
        twice.extend(custom(DECLARED_DIGEST_SECTION, b"two"));
        assert!(identity(&twice).is_err());
        let mut empty = component_with_module(&[]);
        empty.extend(custom(DECLARED_DIGEST_SECTION, b""));
        assert!(identity(&empty).is_err());
    }

    #[test]
    fn tells_components_modules_and_other_files_apart() {
        assert_eq!(kind(&component_with_module(&[])), WasmKind::Component);
        assert_eq!(kind(&CORE_MODULE), WasmKind::CoreModule);
        assert_eq!(kind(b"#!/bin/sh\necho hi\n"), WasmKind::NotWasm);
        assert_eq!(kind(b"\0asm"), WasmKind::NotWasm);
    }

    #[test]
    fn truncated_files_are_malformed() {
        let mut bytes = component_with_module(&[]);
        bytes.truncate(bytes.len() - 3);
        assert!(identity(&bytes).is_err());
    }
}
