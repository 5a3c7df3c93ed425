//! The little of the binary format that is read and written by hand: sections of a module or
//! component, custom sections, LEB128 sizes.

/// The sections after the 8-byte preamble, as `(id, content)`; stops at a malformed one.
pub fn sections(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut pos = 8;
    std::iter::from_fn(move || {
        let id = *bytes.get(pos)?;
        let mut at = pos + 1;
        let size = read_leb128(bytes, &mut at)?;
        let content = bytes.get(at..at.checked_add(size)?)?;
        pos = at + size;
        Some((id, content))
    })
}

/// A custom section's name and payload.
pub fn custom(content: &[u8]) -> Option<(&str, &[u8])> {
    let mut pos = 0;
    let len = read_leb128(content, &mut pos)?;
    let name = std::str::from_utf8(content.get(pos..pos.checked_add(len)?)?).ok()?;
    Some((name, &content[pos + len..]))
}

/// Appends a section to a module or component.
pub fn push_section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    write_leb128(out, content.len());
    out.extend_from_slice(content);
}

/// Appends a custom section `name` holding `payload`.
pub fn push_custom(out: &mut Vec<u8>, name: &str, payload: &[u8]) {
    let mut content = Vec::with_capacity(name.len() + payload.len() + 5);
    write_leb128(&mut content, name.len());
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    push_section(out, 0, &content);
}

fn read_leb128(bytes: &[u8], pos: &mut usize) -> Option<usize> {
    let mut value = 0usize;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= ((byte & 0x7f) as usize) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn write_leb128(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n == 0 { byte } else { byte | 0x80 });
        if n == 0 {
            return;
        }
    }
}
