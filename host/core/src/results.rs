//! What a graph builder may learn about stored results while it builds (Jug's `barrier` and
//! `bvalue`): a read-only view of the store, listed at most once per build.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use crate::store::{Access, Store, StoreError, StoreLocation, Stored};
use crate::{Key, error_line};

/// Stored results as the builder sees them. Errors are strings: they end the build.
pub trait Results: Send + Sync {
    /// Whether every key has a stored result.
    fn all_stored(&self, keys: &mut dyn Iterator<Item = &Key>) -> Result<bool, String>;
    /// A task's stored result (its CBOR), if it has one that is intact.
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, String>;
}

/// A store opened on first use: a command whose graph never asks about results (and that
/// does not read them itself, like `count`) never touches the store — not even to connect.
pub struct LazyStore {
    location: StoreLocation,
    store: OnceLock<Arc<Store>>,
}

impl LazyStore {
    /// Opens `location` read-only when first needed.
    pub fn read_only(location: StoreLocation) -> LazyStore {
        LazyStore { location, store: OnceLock::new() }
    }

    /// A store that is open already.
    pub fn opened(store: Arc<Store>) -> LazyStore {
        LazyStore { location: store.location().clone(), store: OnceLock::from(store) }
    }

    pub fn get(&self) -> Result<&Arc<Store>, StoreError> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = Arc::new(Store::open(&self.location, Access::ReadOnly)?);
        Ok(self.store.get_or_init(|| store))
    }
}

/// A store, with its listing taken on the first `barrier()`.
pub struct StoreResults {
    store: Arc<LazyStore>,
    listed: OnceLock<HashSet<Key>>,
}

impl StoreResults {
    pub fn new(store: Arc<LazyStore>) -> StoreResults {
        StoreResults { store, listed: OnceLock::new() }
    }
}

impl Results for StoreResults {
    fn all_stored(&self, keys: &mut dyn Iterator<Item = &Key>) -> Result<bool, String> {
        let listed = match self.listed.get() {
            Some(listed) => listed,
            None => {
                let store = self.store.get().map_err(|e| error_line(&e))?;
                let listing = store.list_results().map_err(|e| error_line(&e))?;
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
        let store = self.store.get().map_err(|e| error_line(&e))?;
        match store.get_result(key).map_err(|e| error_line(&e))? {
            Stored::Present(bytes) => Ok(Some(bytes)),
            // A damaged result is as good as none: execute recomputes it.
            Stored::Missing | Stored::Damaged(_) => Ok(None),
        }
    }
}
