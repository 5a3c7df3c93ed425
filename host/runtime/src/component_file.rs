//! The graph's own component, read off disk as fast as the machine allows.
//!
//! Nothing else can happen until it is read (and hashed, and its compiled form found): under
//! `execute -j N` the other cores sit idle meanwhile. So a large one is read a piece on each core;
//! for an 18 MB Python component that is 6–7.5 ms on two cores instead of ~9.5 on one, the
//! time being the page faults of the fresh buffer and the copy, which proceed in parallel.

use std::path::Path;

use crate::error::LoadError;

/// The largest component (graph or library) that is read and compiled: far above any real
/// one, and low enough that a hostile graph naming a huge file cannot exhaust host memory.
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// Fills `bytes` from the start of `file`, a piece on each of rayon's threads when they are
/// many.
fn read_in_pieces(file: &std::fs::File, bytes: &mut [u8]) -> std::io::Result<()> {
    use crate::pieces::{PIECE, worth_splitting};
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    if !worth_splitting(bytes.len()) {
        return file.read_exact_at(bytes, 0);
    }
    bytes
        .par_chunks_mut(PIECE)
        .enumerate()
        .try_for_each(|(i, piece)| file.read_exact_at(piece, (i * PIECE) as u64))
}

/// Reads the graph's own component, which the user named: a regular file of at most
/// [`MAX_COMPONENT_BYTES`] (a FIFO or device named by mistake fails at once).
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let unreadable = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound { path: path.to_owned() },
        _ => LoadError::Unreadable { path: path.to_owned(), source },
    };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(LoadError::NotAFile { path: path.to_owned() });
    }
    if metadata.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge { path: path.to_owned(), max: MAX_COMPONENT_BYTES });
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // A file that changed size while it was read (or says it has none, as /proc's do) is read
    // again as a stream; `read_exact_at` left the file's offset at its start.
    let mut bytes = vec![0; metadata.len() as usize];
    if metadata.len() > 0
        && read_in_pieces(&file, &mut bytes).is_ok()
        && file.metadata().is_ok_and(|m| m.len() == metadata.len())
    {
        return Ok(bytes);
    }
    let mut bytes = Vec::new();
    (&file).take(MAX_COMPONENT_BYTES + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge { path: path.to_owned(), max: MAX_COMPONENT_BYTES });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_of_many_pieces_is_read_whole_and_in_order() {
        let path = std::env::temp_dir().join(format!("jug-component-file-{}.wasm", std::process::id()));
        // Enough pieces to be read in parallel, and a few bytes, each byte telling where it
        // belongs.
        let len = 5 * crate::pieces::PIECE + 5;
        assert!(crate::pieces::worth_splitting(len));
        let bytes: Vec<u8> = (0..len).map(|i: usize| (i % 251) as u8 ^ (i >> 20) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let read = read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(read == bytes, "read {} bytes, not the file's {}", read.len(), bytes.len());
    }

    #[test]
    fn a_file_that_says_it_is_empty_is_read_as_a_stream() {
        // /proc's files have a size of 0 and content all the same.
        let path = Path::new("/proc/self/status");
        assert_eq!(std::fs::metadata(path).unwrap().len(), 0);
        let read = read(path).unwrap();
        assert!(read.starts_with(b"Name:"), "{:?}", String::from_utf8_lossy(&read));
    }
}
