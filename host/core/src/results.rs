//! What a graph builder may learn about stored results while it builds (Jug's `barrier` and
//! `bvalue`): a read-only view of the store, listed at most once per build.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use crate::store::{Store, Stored};
use crate::{Key, error_line};

/// Stored results as the builder sees them. Errors are strings: they end the build.
pub trait Results: Send + Sync {
    /// Whether every key has a stored result.
    fn all_stored(&self, keys: &mut dyn Iterator<Item = &Key>) -> Result<bool, String>;
    /// A task's stored result (its CBOR), if it has one that is intact.
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, String>;
}

/// No store at all: nothing is ever stored.
pub struct NoResults;

impl Results for NoResults {
    fn all_stored(&self, keys: &mut dyn Iterator<Item = &Key>) -> Result<bool, String> {
        Ok(keys.next().is_none())
    }

    fn get(&self, _: &Key) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
}

/// A store, with its listing taken on the first `barrier()`.
pub struct StoreResults {
    store: Arc<Store>,
    listed: OnceLock<HashSet<Key>>,
}

impl StoreResults {
    pub fn new(store: Arc<Store>) -> StoreResults {
        StoreResults { store, listed: OnceLock::new() }
    }
}

impl Results for StoreResults {
    fn all_stored(&self, keys: &mut dyn Iterator<Item = &Key>) -> Result<bool, String> {
        let listed = match self.listed.get() {
            Some(listed) => listed,
            None => {
                let listing = self.store.list_results().map_err(|e| error_line(&e))?;
                self.listed.get_or_init(|| listing)
            }
        };
        for key in keys {
            if !listed.contains(key) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, String> {
        match self.store.get_result(key).map_err(|e| error_line(&e))? {
            Stored::Present(bytes) => Ok(Some(bytes)),
            // A damaged result is as good as none: execute recomputes it.
            Stored::Missing | Stored::Damaged(_) => Ok(None),
        }
    }
}
