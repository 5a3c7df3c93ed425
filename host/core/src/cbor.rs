//! Deterministic CBOR: the one value format of jug-host.
//!
//! Every argument template and every result must be exactly one CBOR item in the deterministic
//! encoding of RFC 8949 §4.2.1 — definite lengths, minimal integer and length heads, the
//! shortest float that keeps the value (NaN as `f9 7e00`), text-string map keys in strictly
//! increasing bytewise order. Equal values then have equal bytes on every machine and in every
//! guest language, which is what makes keys and result digests meaningful.
//!
//! [`validate`] checks those rules in one pass over the bytes without building a value, and on
//! the way records where the task references (tag [`TASK_REF_TAG`] around a 32-byte key) are,
//! so [`splice`] can later copy results into place by byte range.
//!
//! A reference may also name a part of a result — Jug's tasklets, `t[0]`: the tag then wraps
//! an array `[key, step, …]` where each step is an array index (unsigned) or a map key
//! (text). The part is taken from the result when the input is built ([`project`]); nothing
//! is stored for it, and the referring task depends on the whole task, so invalidation flows
//! through.

use crate::Key;

/// The CBOR tag of a reference to another task's result (payload: the 32-byte key).
/// 27253 is `0x6a75`, "ju", in the first-come-first-served range of the IANA registry.
pub const TASK_REF_TAG: u64 = 27253;

/// Jug's `NoHash`: the wrapped argument is passed to the task but left out of its key.
pub const KEY_EXEMPT_TAG: u64 = 27254;

/// Jug's `CustomHash`: wraps `[bytes, value]`; the task gets `value`, its key hashes `bytes`.
pub const CUSTOM_KEY_TAG: u64 = 27255;

/// A file input: wraps `[path, digest]`; the key hashes both, the task gets the path at which
/// the file is mounted in its sandbox (see [`FileInput`]).
pub const FILE_INPUT_TAG: u64 = 27256;

/// A directory grant for one task: wraps `[host path, guest path, writable]`; the key hashes
/// all three, the task gets the guest path (see [`DirInput`]).
pub const DIR_GRANT_TAG: u64 = 27257;

/// Nesting deeper than this is refused, so a hostile value cannot exhaust the host's stack.
/// Every reader that recurses into stored CBOR ([`project`], `json`) stops here too: a result
/// is validated when a task returns it, but one planted in a shared store never was.
pub const MAX_DEPTH: usize = 256;

/// Why bytes are not deterministic CBOR (or not allowed where they appear).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (at byte {offset})")]
pub struct CborError {
    pub offset: usize,
    pub problem: String,
}

/// A task reference inside a template: the bytes `start..end` (tag and payload) stand for the
/// result of the task with this key, or the part of it that `path` leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub start: usize,
    pub end: usize,
    pub key: Key,
    pub path: Vec<Step>,
}

/// A `NoHash` or `CustomHash` argument in a template: the bytes `start..end` stand for the
/// value at `value`, and count in the key as `key_form`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapper {
    pub start: usize,
    pub end: usize,
    /// What the task gets in place of the wrapper (CBOR).
    pub value: Vec<u8>,
    pub key_form: Vec<u8>,
    /// For a file input: which file, to mount in the sandbox.
    pub file: Option<FileInput>,
    /// For a directory grant: which directory, to mount in the sandbox.
    pub dir: Option<DirInput>,
}

/// A directory of the working directory granted to one task (`jug::directory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirInput {
    /// As the builder named it, relative to the working directory.
    pub path: String,
    /// Where the task sees it: absolute, without `.` or `..`, not under `/inputs`.
    pub guest: String,
    pub writable: bool,
    /// For a read-only grant, the digest of its content once the host has taken it (see
    /// [`crate::GraphBuilder::with_grant_contents`]).
    pub content: Option<Key>,
}

impl DirInput {
    /// How the grant counts in its task's key. A read-only grant is an input: what the task
    /// sees, `tag 27257 [guest path, content digest]`, and not where it lives on this machine.
    /// A writable one (or one whose content was not taken) is as the builder wrote it,
    /// `tag 27257 [path, guest path, writable]`: what it holds is the task's effect, not its
    /// input, and where that effect lands is part of the task.
    pub fn key_form(&self) -> Vec<u8> {
        let mut form = vec![0xd9, 0x6a, 0x79];
        match (self.writable, &self.content) {
            (false, Some(content)) => {
                form.push(0x82);
                form.extend_from_slice(&text_item(&self.guest));
                form.extend_from_slice(&[0x58, 0x20]);
                form.extend_from_slice(&content.0);
            }
            _ => {
                form.push(0x83);
                form.extend_from_slice(&text_item(&self.path));
                form.extend_from_slice(&text_item(&self.guest));
                form.push(if self.writable { 0xf5 } else { 0xf4 });
            }
        }
        form
    }
}

/// A file of the working directory that a task reads, by its content's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInput {
    /// As the builder named it, relative to the working directory.
    pub path: String,
    pub digest: [u8; 32],
}

impl FileInput {
    /// The directory the file appears in inside the sandbox (one per content).
    pub fn guest_dir(&self) -> String {
        let hex: String = self.digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("/inputs/{hex}")
    }

    /// The file name inside [`FileInput::guest_dir`].
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("input")
    }

    pub fn guest_path(&self) -> String {
        format!("{}/{}", self.guest_dir(), self.file_name())
    }
}

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

/// Whether task references may appear in the value being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum References {
    /// Argument templates: references are collected.
    Allowed,
    /// Results: a result is a value, never a promise of one.
    Forbidden,
}

/// Checks that `bytes` is one deterministic CBOR item and returns its task references in order.
pub fn validate(bytes: &[u8], references: References) -> Result<Vec<Reference>, CborError> {
    validate_template(bytes, references).map(|(found, _)| found)
}

/// [`validate`], also returning the `NoHash`/`CustomHash` wrappers (allowed where references
/// are, and never nested or around a reference).
pub fn validate_template(
    bytes: &[u8],
    references: References,
) -> Result<(Vec<Reference>, Vec<Wrapper>), CborError> {
    let mut walker = Validator {
        reader: Reader::new(bytes),
        references,
        found: Vec::new(),
        wrappers: Vec::new(),
        in_wrapper: false,
    };
    walker.item(0)?;
    if walker.reader.pos != bytes.len() {
        return Err(walker.reader.error("trailing bytes after the value"));
    }
    Ok((walker.found, walker.wrappers))
}

/// `template` with each wrapper replaced by what `part` picks: its key form (for the key) or
/// its value (for the task's input).
pub fn unwrap<'t>(
    template: &'t [u8],
    wrappers: &'t [Wrapper],
    part: impl Fn(&'t Wrapper) -> &'t [u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len());
    let mut copied = 0;
    for wrapper in wrappers {
        out.extend_from_slice(&template[copied..wrapper.start]);
        out.extend_from_slice(part(wrapper));
        copied = wrapper.end;
    }
    out.extend_from_slice(&template[copied..]);
    out
}

/// Builds a task's input: `template` with each reference replaced by its value (`values[i]`
/// for `references[i]`). Results are themselves deterministic CBOR, so the output is too.
/// The caller checks [`spliced_len`] first: one result referenced many times would otherwise
/// make the output many times its size.
pub fn splice(template: &[u8], references: &[Reference], values: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(spliced_len(template, references, values) as usize);
    let mut copied = 0;
    for (reference, value) in references.iter().zip(values) {
        out.extend_from_slice(&template[copied..reference.start]);
        out.extend_from_slice(value);
        copied = reference.end;
    }
    out.extend_from_slice(&template[copied..]);
    out
}

/// The size of what [`splice`] would build, computed without building it.
pub fn spliced_len(template: &[u8], references: &[Reference], values: &[&[u8]]) -> u64 {
    let replaced: u64 = references.iter().map(|r| (r.end - r.start) as u64).sum();
    let spliced: u64 = values.iter().map(|v| v.len() as u64).sum();
    template.len() as u64 - replaced + spliced
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

/// The initial byte and argument of one CBOR data item.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    /// Major type, 0–7.
    pub major: u8,
    /// The additional-information bits.
    pub info: u8,
    /// The argument: integer value, length, tag number or float bits.
    pub arg: u64,
}

/// A cursor over CBOR bytes that decodes heads and insists on minimal, definite encodings.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn error(&self, problem: impl Into<String>) -> CborError {
        CborError { offset: self.pos, problem: problem.into() }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let remaining = (self.bytes.len() - self.pos) as u64;
        if n > remaining {
            return Err(self.error("value ends early"));
        }
        let slice = &self.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(slice)
    }

    /// Reads one head, rejecting indefinite lengths, reserved values and non-minimal arguments.
    pub fn head(&mut self) -> Result<Head, CborError> {
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => info as u64,
            24..=27 => {
                let size = 1u64 << (info - 24);
                let arg = self.take(size)?.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64);
                // Floats (major 7, info 25–27) have their own shortest-form rule.
                let is_float = major == 7 && info >= 25;
                let minimal = match info {
                    24 => arg >= 24,
                    25 => arg > 0xff,
                    26 => arg > 0xffff,
                    _ => arg > 0xffff_ffff,
                };
                if !is_float && !minimal {
                    return Err(self.error("integer or length not in its shortest form"));
                }
                arg
            }
            31 => return Err(self.error("indefinite-length item")),
            _ => return Err(self.error("reserved additional information")),
        };
        Ok(Head { major, info, arg })
    }
}

struct Validator<'a> {
    reader: Reader<'a>,
    references: References,
    found: Vec<Reference>,
    wrappers: Vec<Wrapper>,
    in_wrapper: bool,
}

impl Validator<'_> {
    fn item(&mut self, depth: usize) -> Result<(), CborError> {
        if depth > MAX_DEPTH {
            return Err(self.reader.error("value nested too deeply"));
        }
        let start = self.reader.pos;
        let head = self.reader.head()?;
        match head.major {
            0 | 1 => Ok(()),
            2 => self.reader.take(head.arg).map(drop),
            3 => {
                let text = self.reader.take(head.arg)?;
                std::str::from_utf8(text)
                    .map(drop)
                    .map_err(|_| self.reader.error("text string is not valid UTF-8"))
            }
            4 => {
                self.check_count(head.arg)?;
                (0..head.arg).try_for_each(|_| self.item(depth + 1))
            }
            5 => self.map(head.arg, depth),
            6 if head.arg == TASK_REF_TAG => self.reference(start),
            6 if head.arg == KEY_EXEMPT_TAG || head.arg == CUSTOM_KEY_TAG => {
                self.wrapper(start, head.arg, depth)
            }
            6 if head.arg == FILE_INPUT_TAG => self.file_input(start),
            6 if head.arg == DIR_GRANT_TAG => self.dir_grant(start),
            6 => self.item(depth + 1),
            _ => self.simple_or_float(head),
        }
    }

    /// Each element takes at least one byte: a count beyond the remaining bytes is a lie that
    /// would otherwise make us loop for a long time.
    fn check_count(&self, count: u64) -> Result<(), CborError> {
        if count > (self.reader.bytes.len() - self.reader.pos) as u64 {
            return Err(self.reader.error("array or map longer than the value"));
        }
        Ok(())
    }

    fn map(&mut self, entries: u64, depth: usize) -> Result<(), CborError> {
        self.check_count(entries)?;
        let mut previous: Option<&[u8]> = None;
        for _ in 0..entries {
            let key_start = self.reader.pos;
            let head = self.reader.head()?;
            if head.major != 3 {
                self.reader.pos = key_start;
                return Err(self.reader.error("map key is not a text string"));
            }
            self.reader.pos = key_start;
            self.item(depth + 1)?;
            let key = &self.reader.bytes[key_start..self.reader.pos];
            if previous.is_some_and(|p| p >= key) {
                self.reader.pos = key_start;
                return Err(self.reader.error("map keys not in sorted order, or repeated"));
            }
            previous = Some(key);
            self.item(depth + 1)?;
        }
        Ok(())
    }

    fn wrapper(&mut self, start: usize, tag: u64, depth: usize) -> Result<(), CborError> {
        if self.references == References::Forbidden || self.in_wrapper {
            self.reader.pos = start;
            return Err(self
                .reader
                .error("NoHash/CustomHash (tags 27254, 27255) only wrap plain task arguments"));
        }
        let key_form = if tag == KEY_EXEMPT_TAG {
            vec![0xd9, 0x6a, 0x76, 0xf6] // tag 27254 around null: every exempt value is alike
        } else {
            let head = self.reader.head()?;
            if head.major != 4 || head.arg != 2 {
                return Err(self.reader.error("CustomHash wraps an array of the hash bytes and the value"));
            }
            let bytes_start = self.reader.pos;
            let bytes = self.reader.head()?;
            if bytes.major != 2 {
                return Err(self.reader.error("a CustomHash hash must be a byte string"));
            }
            self.reader.take(bytes.arg)?;
            let mut form = vec![0xd9, 0x6a, 0x77];
            form.extend_from_slice(&self.reader.bytes[bytes_start..self.reader.pos]);
            form
        };
        let value_start = self.reader.pos;
        self.in_wrapper = true;
        let inner = self.item(depth + 1);
        self.in_wrapper = false;
        inner?;
        let value = self.reader.bytes[value_start..self.reader.pos].to_vec();
        self.wrappers.push(Wrapper { start, end: self.reader.pos, value, key_form, file: None, dir: None });
        Ok(())
    }

    fn file_input(&mut self, start: usize) -> Result<(), CborError> {
        if self.references == References::Forbidden || self.in_wrapper {
            self.reader.pos = start;
            return Err(self.reader.error("a file input (tag 27256) only wraps a plain task argument"));
        }
        let head = self.reader.head()?;
        let path = self.reader.head()?;
        if head.major != 4 || head.arg != 2 || path.major != 3 {
            return Err(self.reader.error("a file input wraps an array of its path and its digest"));
        }
        let path = std::str::from_utf8(self.reader.take(path.arg)?)
            .map_err(|_| self.reader.error("text string is not valid UTF-8"))?
            .to_owned();
        let digest = self.reader.head()?;
        if digest.major != 2 || digest.arg != 32 {
            return Err(self.reader.error("a file input's digest is 32 bytes"));
        }
        let digest: [u8; 32] = self.reader.take(32)?.try_into().expect("took 32 bytes");
        let file = FileInput { path, digest };
        let value = text_item(&file.guest_path());
        let key_form = self.reader.bytes[start..self.reader.pos].to_vec();
        self.wrappers.push(Wrapper {
            start,
            end: self.reader.pos,
            value,
            key_form,
            file: Some(file),
            dir: None,
        });
        Ok(())
    }

    fn dir_grant(&mut self, start: usize) -> Result<(), CborError> {
        if self.references == References::Forbidden || self.in_wrapper {
            self.reader.pos = start;
            return Err(self.reader.error("a directory grant (tag 27257) only wraps a plain task argument"));
        }
        let shape = "a directory grant wraps an array of its path, its guest path and whether it is writable";
        let head = self.reader.head()?;
        if head.major != 4 || head.arg != 3 {
            return Err(self.reader.error(shape));
        }
        let mut text = || -> Result<String, CborError> {
            let head = self.reader.head()?;
            if head.major != 3 {
                return Err(self.reader.error(shape));
            }
            let bytes = self.reader.take(head.arg)?;
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| self.reader.error("text string is not valid UTF-8"))
        };
        let (path, guest) = (text()?, text()?);
        let writable = match self.reader.take(1)? {
            [0xf4] => false,
            [0xf5] => true,
            _ => return Err(self.reader.error(shape)),
        };
        let valid_guest = guest_path_is_valid(&guest);
        if !valid_guest {
            return Err(self.reader.error(format!(
                "a granted directory's guest path `{guest}` must be absolute, without empty, `.` or `..` parts, and not under /inputs"
            )));
        }
        let value = text_item(&guest);
        let key_form = self.reader.bytes[start..self.reader.pos].to_vec();
        let dir = Some(DirInput { path, guest, writable, content: None });
        self.wrappers.push(Wrapper { start, end: self.reader.pos, value, key_form, file: None, dir });
        Ok(())
    }

    fn reference(&mut self, start: usize) -> Result<(), CborError> {
        if self.in_wrapper {
            self.reader.pos = start;
            return Err(self.reader.error("a task reference cannot be inside NoHash or CustomHash"));
        }
        if self.references == References::Forbidden {
            self.reader.pos = start;
            return Err(self.reader.error("a result cannot contain a task reference (tag 27253)"));
        }
        let mut head = self.reader.head()?;
        let steps = match head.major {
            4 if head.arg >= 2 => {
                let steps = head.arg - 1;
                head = self.reader.head()?;
                steps
            }
            _ => 0,
        };
        if head.major != 2 || head.arg != 32 {
            return Err(self.reader.error(
                "a task reference must wrap a 32-byte key, or an array of a key and the steps into its result",
            ));
        }
        let key = Key(self.reader.take(32)?.try_into().expect("took 32 bytes"));
        let mut path = Vec::new();
        for _ in 0..steps {
            let head = self.reader.head()?;
            path.push(match head.major {
                0 => Step::Index(head.arg),
                3 => Step::Field(
                    std::str::from_utf8(self.reader.take(head.arg)?)
                        .map_err(|_| self.reader.error("text string is not valid UTF-8"))?
                        .to_owned(),
                ),
                _ => return Err(self.reader.error("a step into a result must be an index or a field name")),
            });
        }
        self.found.push(Reference { start, end: self.reader.pos, key, path });
        Ok(())
    }

    fn simple_or_float(&mut self, head: Head) -> Result<(), CborError> {
        let shorter_exists = match head.info {
            20..=23 => return Ok(()), // false, true, null, undefined
            25 => {
                let value = half::f16::from_bits(head.arg as u16);
                if value.is_nan() && head.arg != 0x7e00 {
                    return Err(self.reader.error("NaN must be encoded as f9 7e00"));
                }
                false
            }
            26 => {
                let value = f32::from_bits(head.arg as u32);
                value.is_nan() || half::f16::from_f32(value).to_f32() == value
            }
            27 => {
                let value = f64::from_bits(head.arg);
                value.is_nan() || (value as f32) as f64 == value
            }
            _ => return Err(self.reader.error("unsupported simple value")),
        };
        if shorter_exists {
            return Err(self.reader.error("float not in its shortest form"));
        }
        Ok(())
    }
}

/// Whether a granted directory may appear at `guest`: an absolute path of plain parts
/// (no empty, `.` or `..` one, so no two spellings of one place), not at or under `/inputs`,
/// where file inputs are mounted.
pub fn guest_path_is_valid(guest: &str) -> bool {
    let mut parts = guest.split('/');
    parts.next() == Some("")
        && guest.len() > 1
        && parts.clone().all(|part| !matches!(part, "" | "." | ".."))
        && parts.next() != Some("inputs")
}

/// `text` as a CBOR text string item.
fn text_item(text: &str) -> Vec<u8> {
    let mut item = Vec::with_capacity(text.len() + 9);
    match text.len() {
        n @ 0..=23 => item.push(0x60 | n as u8),
        n @ 24..=255 => item.extend_from_slice(&[0x78, n as u8]),
        n @ 256..=65535 => {
            item.push(0x79);
            item.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            item.push(0x7a);
            item.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    item.extend_from_slice(text.as_bytes());
    item
}

/// A task reference (tag 27253 around a key) as a builder writes it, for tests.
#[cfg(test)]
pub(crate) fn test_reference(key: &crate::Key) -> Vec<u8> {
    let mut bytes = vec![0xd9, 0x6a, 0x75, 0x58, 0x20];
    bytes.extend_from_slice(&key.0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8]) -> Result<Vec<Reference>, CborError> {
        validate(bytes, References::Allowed)
    }

    fn problem(bytes: &[u8]) -> String {
        check(bytes).unwrap_err().problem
    }

    #[test]
    fn accepts_deterministic_values() {
        for bytes in [
            &[0x00][..],
            &[0x17],
            &[0x18, 0x18],
            &[0x19, 0x01, 0x00],
            &[0x38, 0x63],                                           // -100
            &[0x63, b'a', b'b', b'c'],                               // "abc"
            &[0x82, 0x01, 0xf5],                                     // [1, true]
            &[0xa2, 0x61, b'a', 0x01, 0x61, b'b', 0x02],             // {"a":1,"b":2}
            &[0xa2, 0x61, b'z', 0x01, 0x62, b'a', b'a', 0x02],       // length first: "z" < "aa"
            &[0xf9, 0x3e, 0x00],                                     // 1.5
            &[0xf9, 0x7e, 0x00],                                     // NaN
            &[0xfa, 0x47, 0xc3, 0x50, 0x00],                         // 100000.0 needs f32
            &[0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a], // 0.1 needs f64
            &[0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0],                   // other tags are fine
        ] {
            assert_eq!(check(bytes), Ok(vec![]), "{bytes:02x?}");
        }
    }

    #[test]
    fn rejects_non_minimal_heads() {
        assert!(problem(&[0x18, 0x17]).contains("shortest"));
        assert!(problem(&[0x19, 0x00, 0xff]).contains("shortest"));
        assert!(problem(&[0x1a, 0x00, 0x00, 0xff, 0xff]).contains("shortest"));
        assert!(problem(&[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).contains("shortest"));
        assert!(problem(&[0x78, 0x01, b'a']).contains("shortest"));
    }

    #[test]
    fn rejects_indefinite_lengths_and_trailing_bytes() {
        assert!(problem(&[0x9f, 0x01, 0xff]).contains("indefinite"));
        assert!(problem(&[0x01, 0x02]).contains("trailing"));
        assert!(problem(&[0x82, 0x01]).contains("longer"));
        assert!(problem(&[0x62, b'a']).contains("ends early"));
        assert!(problem(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).contains("longer"));
    }

    #[test]
    fn rejects_long_floats_and_odd_nans() {
        assert!(problem(&[0xfa, 0x3f, 0xc0, 0x00, 0x00]).contains("float")); // 1.5 as f32
        assert!(problem(&[0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]).contains("float")); // 1.5 as f64
        assert!(problem(&[0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]).contains("float")); // NaN as f64
        assert!(problem(&[0xf9, 0x7e, 0x01]).contains("NaN"));
    }

    #[test]
    fn rejects_unsorted_duplicate_and_non_text_keys() {
        assert!(problem(&[0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02]).contains("sorted"));
        assert!(problem(&[0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02]).contains("sorted"));
        assert!(problem(&[0xa1, 0x01, 0x02]).contains("text"));
        assert!(problem(&[0x62, 0xff, 0xfe]).contains("UTF-8"));
    }

    #[test]
    fn refuses_absurd_nesting() {
        let mut bytes = vec![0x81; MAX_DEPTH + 2];
        bytes.push(0x00);
        assert!(problem(&bytes).contains("nested"));
    }

    fn reference(key: u8) -> Vec<u8> {
        let mut bytes = vec![0xd9, 0x6a, 0x75, 0x58, 0x20];
        bytes.extend([key; 32]);
        bytes
    }

    #[test]
    fn finds_references_and_splices_results() {
        // [ref(1), 7, [ref(2)]]
        let mut template = vec![0x83];
        template.extend(reference(1));
        template.push(0x07);
        template.push(0x81);
        template.extend(reference(2));
        let refs = check(&template).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!((refs[0].key, refs[1].key), (Key([1; 32]), Key([2; 32])));

        let values: Vec<&[u8]> = refs
            .iter()
            .map(|r| if r.key == Key([1; 32]) { &[0xf5][..] } else { &[0x63, b'a', b'b', b'c'][..] })
            .collect();
        assert_eq!(spliced_len(&template, &refs, &values), 8);
        let input = splice(&template, &refs, &values);
        assert_eq!(input, [0x83, 0xf5, 0x07, 0x81, 0x63, b'a', b'b', b'c']);
        assert_eq!(validate(&input, References::Forbidden), Ok(vec![]));
    }

    #[test]
    fn references_are_checked() {
        assert!(validate(&reference(3), References::Forbidden).unwrap_err().problem.contains("result"));
        let short = [0xd9, 0x6a, 0x75, 0x41, 0x00];
        assert!(problem(&short).contains("32-byte"));
    }

    #[test]
    fn projects_parts_of_a_result_and_says_why_not() {
        // {"a": [1, [2, 3]], "b": "x"}
        let value = [0xa2, 0x61, b'a', 0x82, 0x01, 0x82, 0x02, 0x03, 0x61, b'b', 0x61, b'x'];
        let field = |name: &str| Step::Field(name.to_owned());
        assert_eq!(project(&value, &[]), Ok(&value[..]));
        assert_eq!(project(&value, &[field("b")]), Ok(&[0x61, b'x'][..]));
        assert_eq!(project(&value, &[field("a"), Step::Index(1), Step::Index(0)]), Ok(&[0x02][..]));
        assert_eq!(
            project(&value, &[field("a"), Step::Index(2)]),
            Err("the result.a has 2 elements, so there is no [2]".to_owned())
        );
        assert_eq!(project(&value, &[field("c")]), Err("the result has no field `c`".to_owned()));
        assert_eq!(
            project(&value, &[Step::Index(0)]),
            Err("the result is not an array, so there is no [0]".to_owned())
        );
    }

    #[test]
    fn projecting_a_deeply_nested_value_is_an_error_not_a_crash() {
        // [[[[…]]]] 100,000 deep, as a stored result nobody validated could be.
        let mut value = vec![0x81; 100_000];
        value.push(0x00);
        for path in [vec![Step::Index(0)], vec![Step::Index(0); 3]] {
            let error = project(&value, &path).unwrap_err();
            assert!(error.contains("nested more than 256 levels"), "{error}");
        }
        // [x, 1] where x is the deep value: skipping past it is refused the same way.
        let mut pair = vec![0x82];
        pair.extend_from_slice(&value);
        pair.push(0x01);
        assert!(project(&pair, &[Step::Index(1)]).unwrap_err().contains("nested"));
        // As deep as a validated value may be still projects.
        let mut deepest = vec![0x81; MAX_DEPTH];
        deepest.push(0x07);
        assert_eq!(check(&deepest), Ok(vec![]));
        assert_eq!(project(&deepest, &[Step::Index(0)]), Ok(&deepest[1..]));
    }

    #[test]
    fn a_reference_may_carry_a_path() {
        // tag 27253 [key, 1, "x"]
        let mut bytes = vec![0xd9, 0x6a, 0x75, 0x83, 0x58, 0x20];
        bytes.extend_from_slice(&[7; 32]);
        bytes.extend_from_slice(&[0x01, 0x61, b'x']);
        let found = check(&bytes).unwrap();
        assert_eq!(found[0].path, vec![Step::Index(1), Step::Field("x".into())]);
        assert_eq!((found[0].start, found[0].end), (0, bytes.len()));
        let at = bytes.len() - 3;
        bytes[at] = 0xf5; // `true` is not a step
        assert!(problem(&bytes).contains("index or a field name"));
    }

    #[test]
    fn a_read_only_grant_is_keyed_by_its_content_and_a_writable_one_by_its_place() {
        // [tag 27257 ["data", "/d", false]]
        let template = [&[0x81, 0xd9, 0x6a, 0x79, 0x83, 0x64][..], b"data", &[0x62], b"/d", &[0xf4]].concat();
        let (_, wrappers) = validate_template(&template, References::Allowed).unwrap();
        let mut dir = wrappers[0].dir.clone().unwrap();
        // Untouched, the key form is what the builder wrote.
        assert_eq!(dir.key_form(), wrappers[0].key_form);
        dir.content = Some(Key([7; 32]));
        let read_only = dir.key_form();
        assert_eq!(read_only[..8], [0xd9, 0x6a, 0x79, 0x82, 0x62, b'/', b'd', 0x58]);
        // Another place with the same content: the same key form; other content: another.
        assert_eq!(DirInput { path: "elsewhere".into(), ..dir.clone() }.key_form(), read_only);
        assert_ne!(DirInput { content: Some(Key([8; 32])), ..dir.clone() }.key_form(), read_only);
        // Writable: by place, whatever the content.
        let writable = DirInput { writable: true, ..dir.clone() };
        assert_ne!(writable.key_form(), DirInput { path: "other".into(), ..writable.clone() }.key_form());
        assert_eq!(writable.key_form(), DirInput { content: None, ..writable.clone() }.key_form());
    }

    #[test]
    fn wrapped_arguments_have_a_key_form_and_a_value() {
        // [NoHash(1), CustomHash(h'0102', "x")]
        let template = [0x82, 0xd9, 0x6a, 0x76, 0x01, 0xd9, 0x6a, 0x77, 0x82, 0x42, 0x01, 0x02, 0x61, b'x'];
        let (refs, wrappers) = validate_template(&template, References::Allowed).unwrap();
        assert!(refs.is_empty());
        let keyed = unwrap(&template, &wrappers, |w| &w.key_form);
        assert_eq!(keyed, [0x82, 0xd9, 0x6a, 0x76, 0xf6, 0xd9, 0x6a, 0x77, 0x42, 0x01, 0x02]);
        let input = unwrap(&template, &wrappers, |w| &w.value);
        assert_eq!(input, [0x82, 0x01, 0x61, b'x']);
        // Not in results, not nested, not around a task reference.
        assert!(validate(&template[1..5], References::Forbidden).is_err());
        assert!(problem(&[0xd9, 0x6a, 0x76, 0xd9, 0x6a, 0x76, 0x01]).contains("only wrap plain"));
        let mut around_reference = vec![0xd9, 0x6a, 0x76, 0xd9, 0x6a, 0x75, 0x58, 0x20];
        around_reference.extend_from_slice(&[0; 32]);
        assert!(problem(&around_reference).contains("cannot be inside NoHash"));
    }
}
