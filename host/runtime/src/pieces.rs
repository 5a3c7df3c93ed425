//! Loading's large byte ranges (a component's bytes, the builder's memory) split into pieces
//! for rayon's threads: the steps before the graph builder runs leave the other cores idle.
//!
//! Only worth it for large ranges: the first parallel call starts rayon's threads, ~1 ms of
//! CPU, which a small Rust component's whole `status` (~4 ms) would feel.

/// Each thread's share of the work: a multiple of the page size, as `madvise` needs.
pub(crate) const PIECE: usize = 1 << 20;

/// Whether `len` bytes are worth spreading over the cores: from 4 pieces on, where one core
/// spends ~2 ms or more (an interpreter's 8-18 MB component and memory).
pub(crate) fn worth_splitting(len: usize) -> bool {
    len >= 4 * PIECE
}
