//! A component's top-level custom sections, read and rewritten in place: how tests give a
//! component a new code identity (`jug-code-digest`, as the Python and JavaScript SDKs do) or
//! take one away, without a rebuild.

/// Appends a custom section to a component, as the Python and JavaScript SDKs do with
/// `jug-code-digest` (which gives it a new code identity).
pub fn append_custom_section(path: &std::path::Path, name: &str, payload: &[u8]) {
    let mut bytes = std::fs::read(path).expect("read component");
    push_custom_section(&mut bytes, name, payload);
    std::fs::write(path, bytes).expect("write component");
}

fn push_custom_section(bytes: &mut Vec<u8>, name: &str, payload: &[u8]) {
    let mut content = vec![name.len() as u8];
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    bytes.push(0);
    let mut size = content.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        bytes.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    bytes.extend(content);
}

/// The top-level sections of a component: (id, where the section starts, its content).
fn sections(bytes: &[u8]) -> Vec<(u8, usize, std::ops::Range<usize>)> {
    let leb = |pos: &mut usize| {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let byte = bytes[*pos];
            *pos += 1;
            value |= ((byte & 0x7f) as usize) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    };
    let mut sections = Vec::new();
    let mut pos = 8;
    while pos < bytes.len() {
        let start = pos;
        pos += 1;
        let size = leb(&mut pos);
        sections.push((bytes[start], start, pos..pos + size));
        pos += size;
    }
    sections
}

/// The name and payload of a custom section's content (names here are under 128 bytes).
fn custom_section(content: &[u8]) -> (String, &[u8]) {
    let len = content[0] as usize;
    (String::from_utf8_lossy(&content[1..1 + len]).into_owned(), &content[1 + len..])
}

/// The top-level custom sections of a component, as (name, payload), in order.
pub fn custom_sections(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).expect("read component");
    let customs = sections(&bytes).into_iter().filter(|(id, ..)| *id == 0);
    customs.map(|(_, _, content)| custom_section(&bytes[content])).map(|(n, p)| (n, p.to_vec())).collect()
}

/// Drops the top-level custom sections named `name` from a component, and appends `payload`
/// under that name instead when given.
pub fn replace_custom_section(path: &std::path::Path, name: &str, payload: Option<&[u8]>) {
    let bytes = std::fs::read(path).expect("read component");
    let mut out = bytes[..8].to_vec();
    for (id, start, content) in sections(&bytes) {
        if id != 0 || custom_section(&bytes[content.clone()]).0 != name {
            out.extend_from_slice(&bytes[start..content.end]);
        }
    }
    if let Some(payload) = payload {
        push_custom_section(&mut out, name, payload);
    }
    std::fs::write(path, out).expect("write component");
}
