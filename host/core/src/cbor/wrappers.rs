//! Wrapped arguments: `NoHash` and `CustomHash` (an argument that counts in the key as
//! something else), file inputs and directory grants (a path on the host that the task sees
//! at a path in its sandbox). Each stands for one thing in the key and another in the input.

use crate::Key;

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
pub(super) fn text_item(text: &str) -> Vec<u8> {
    let mut item = Vec::with_capacity(text.len() + 9);
    super::write_head(&mut item, 3, text.len() as u64);
    item.extend_from_slice(text.as_bytes());
    item
}
