//! The one-pass check that bytes are deterministic CBOR (see the module docs), which also
//! records where the task references and wrapped arguments are, without building a value.

use super::wrappers::text_item;
use super::{
    CUSTOM_KEY_TAG, CborError, DIR_GRANT_TAG, DirInput, FILE_INPUT_TAG, FileInput, Head, KEY_EXEMPT_TAG,
    MAX_DEPTH, Reader, Reference, Step, TASK_REF_TAG, Wrapper, guest_path_is_valid,
};
use crate::Key;

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

/// One walk over one value: the reader's position, and what it has found so far.
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
