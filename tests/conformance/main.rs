//! The store conformance suite: every backend (local directory, memory, S3, Redis) must
//! behave the same under the scheduler, so every scenario here runs against each of them.
//! The local directory runs twice: once as on a local disk, once as on NFS, where
//! `renameat2` flags are refused and files move into place with `link` + `unlink`.
//!
//! S3 and Redis are real servers started by `scripts/services/run` (the test command does
//! it): `JUG_TEST_S3` and `JUG_TEST_REDIS` name them. Without them those tests fail, loudly,
//! rather than skip — a green run must mean every backend was checked.

mod packs;
mod scenarios;

use std::sync::Arc;
use std::time::Duration;

use jug_core::store::{Access, Store, StoreLocation};

/// One backend under test: hands out independent handles on one store, as separate worker
/// processes would have.
pub struct Backend {
    location: StoreLocation,
    /// `memory://` lives inside one handle; its "workers" are handles made from it.
    shared: Option<Arc<Store>>,
    /// Lease length for lease scenarios: S3 dates are whole seconds, so it needs longer.
    pub lease: Duration,
    /// Local: move files into place with `link` + `unlink`, as on NFS (no `renameat2` flags).
    link_fallback: bool,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    pub fn open(&self) -> Arc<Store> {
        match &self.shared {
            Some(store) => Arc::new(store.new_worker()),
            None => {
                let store = Store::open(&self.location, Access::ReadWrite).expect("open the store");
                if self.link_fallback {
                    store.force_link_fallback();
                }
                Arc::new(store)
            }
        }
    }

    /// Opens the store again, as a new process would, format check included.
    pub fn reopen(&self, access: Access) -> Result<Store, jug_core::store::StoreError> {
        match &self.shared {
            Some(store) => {
                let store = store.new_worker();
                store.check_format(access)?;
                Ok(store)
            }
            None => Store::open(&self.location, access),
        }
    }

    fn local() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::Local(dir.path().join("store"));
        Backend {
            location,
            shared: None,
            lease: Duration::from_millis(1200),
            link_fallback: false,
            _dir: Some(dir),
        }
    }

    fn local_without_renameat2() -> Backend {
        Backend { link_fallback: true, ..Backend::local() }
    }

    fn memory() -> Backend {
        let store = Arc::new(Store::open(&StoreLocation::Memory, Access::ReadWrite).unwrap());
        let location = StoreLocation::Memory;
        Backend {
            location,
            shared: Some(store),
            lease: Duration::from_millis(1200),
            link_fallback: false,
            _dir: None,
        }
    }

    fn s3(scenario: &str) -> Backend {
        let base = required_env("JUG_TEST_S3");
        let location = StoreLocation::parse(&format!("{base}/conformance-{}", unique(scenario))).unwrap();
        Backend {
            location,
            shared: None,
            lease: Duration::from_millis(3000),
            link_fallback: false,
            _dir: None,
        }
    }

    fn redis(scenario: &str) -> Backend {
        let base = required_env("JUG_TEST_REDIS");
        let location =
            StoreLocation::parse(&format!("{base}?prefix=conformance-{}", unique(scenario))).unwrap();
        Backend {
            location,
            shared: None,
            lease: Duration::from_millis(1200),
            link_fallback: false,
            _dir: None,
        }
    }
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with scripts/test, which starts SeaweedFS and Redis")
    })
}

fn unique(scenario: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{scenario}-{}-{nanos}", std::process::id())
}

/// Runs each scenario against each backend, as `<backend>::<scenario>` tests.
macro_rules! conformance {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        mod local { $( #[test] fn $scenario() { crate::$module::$scenario(&crate::Backend::local()); } )* }
        mod local_without_renameat2 {
            $( #[test] fn $scenario() { crate::$module::$scenario(&crate::Backend::local_without_renameat2()); } )*
        }
        mod memory { $( #[test] fn $scenario() { crate::$module::$scenario(&crate::Backend::memory()); } )* }
        mod s3 {
            $( #[test] fn $scenario() { crate::$module::$scenario(&crate::Backend::s3(stringify!($scenario))); } )*
        }
        mod redis {
            $( #[test] fn $scenario() { crate::$module::$scenario(&crate::Backend::redis(stringify!($scenario))); } )*
        }
    };
}

conformance!(
    scenarios::results_round_trip,
    scenarios::a_damaged_result_is_never_returned,
    scenarios::logs_round_trip,
    scenarios::manifests_are_listed_by_name,
    scenarios::a_second_copy_of_a_result_is_reported,
    scenarios::a_lock_is_exclusive_until_released,
    scenarios::concurrent_lockers_have_one_winner,
    scenarios::a_renewed_lease_is_never_taken,
    scenarios::many_leases_renew_together_and_only_the_lost_are_reported,
    scenarios::an_expired_lease_is_taken_over_by_exactly_one_contender,
    scenarios::leases_are_listed_with_their_holder,
    scenarios::a_result_of_another_format_version_is_not_damaged,
    scenarios::a_store_of_a_newer_format_is_refused,
    scenarios::takeovers_are_counted_in_the_lease,
    scenarios::trace_packs_are_listed_read_and_rewritten,
    packs::packs_survive_removals_and_compaction,
    packs::batches_that_share_a_task_exclude_each_other,
    packs::a_result_committed_twice_is_one_result_and_a_counted_duplicate,
    packs::a_store_from_format_1_is_read_and_upgraded,
);
