//! Reading CBOR one head at a time. Every reader of values (validation, projection, the CLI's
//! JSON view) goes through [`Reader`], so none of them can accept a non-minimal or
//! indefinite-length encoding that another would refuse.

use super::CborError;

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
    pub(super) bytes: &'a [u8],
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
