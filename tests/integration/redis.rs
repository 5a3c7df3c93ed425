//! The Redis store's failure modes; its normal operation runs in the per-backend scenarios
//! (`workers.rs`) and the store conformance suite.

use crate::util::TestDir;

#[test]
fn an_unreachable_redis_server_is_one_clear_error() {
    let dir = TestDir::with_guest("redis-down", "primes.wasm");
    dir.jug(&["status", "primes.wasm", "--store", "redis://127.0.0.1:1/"])
        .run()
        .expect_one_line_error(5, "cannot connect to redis://127.0.0.1:1/");
}

#[test]
fn a_malformed_redis_url_names_the_fix() {
    let dir = TestDir::with_guest("redis-bad-url", "primes.wasm");
    dir.jug(&["execute", "primes.wasm", "--store", "redis://127.0.0.1:6390/results"])
        .run()
        .expect_one_line_error(5, "the path of a redis:// URL is a database number (redis://host:port/2)");
    assert!(!dir.join("primes.jugdata").exists());
}
