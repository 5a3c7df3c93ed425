//! The primes scenario against a real S3-compatible server (SeaweedFS, started by
//! `scripts/test` through `scripts/services/run`), shared by two working directories.

use crate::util::TestDir;

/// A fresh prefix in the test bucket. The server is part of the test setup: without it the
/// test fails, it never skips.
fn s3_store(name: &str) -> String {
    let base = std::env::var("JUG_TEST_S3").expect(
        "JUG_TEST_S3 is not set: run the tests with scripts/test, which starts SeaweedFS \
         (or `eval \"$(scripts/services/run start)\"` first)",
    );
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}/{name}-{nonce}")
}

#[test]
fn primes_through_s3_from_two_working_directories() {
    let store = s3_store("primes");
    let worker = TestDir::with_guest("s3-worker", "primes.wasm");
    let viewer = TestDir::with_guest("s3-viewer", "primes.wasm");

    let before = viewer.jug(&["status", "primes.wasm", "--store", &store, "--short"]).run().expect_code(1);
    assert_eq!(before.stdout, "101 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");

    let run = worker.jug(&["execute", "primes.wasm", "--store", &store, "--short"]).run().expect_code(0);
    assert_eq!(run.stdout, "Executed:  101 tasks\nLoaded:  0 tasks\n** Total: 101 tasks.\n");
    assert!(!worker.join("primes.jugdata").exists(), "nothing is stored locally");

    // Another directory (another machine, as far as the store can tell) sees the results.
    let status = viewer.jug(&["status", "primes.wasm", "--store", &store, "--short"]).run().expect_code(0);
    assert_eq!(status.stdout, "All tasks complete (101 tasks).\n");
    let value = viewer.jug(&["value", "primes.wasm", "write_output", "--store", &store]).run().expect_code(0);
    assert_eq!(value.stdout, "\"Found 25 primes <= 100.\\n\"\n");
    let again = viewer.jug(&["execute", "primes.wasm", "--store", &store, "--short"]).run().expect_code(0);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  101 tasks\n** Total: 101 tasks.\n");

    let invalidated = viewer
        .jug(&["invalidate", "primes.wasm", "--name", "count_primes", "--store", &store, "--short"])
        .run();
    assert_eq!(invalidated.expect_code(0).stdout, "Invalidated:  2 tasks\n** Total: 2 tasks.\n");
    let rerun = worker.jug(&["execute", "primes.wasm", "--store", &store, "--short"]).run().expect_code(0);
    assert_eq!(rerun.stdout, "Executed:  2 tasks\nLoaded:  99 tasks\n** Total: 101 tasks.\n");
}

#[test]
fn an_unreachable_s3_server_is_one_clear_error() {
    let dir = TestDir::with_guest("s3-down", "primes.wasm");
    let run = dir
        .jug(&["status", "primes.wasm", "--store", "s3://jug-test/x"])
        .env("AWS_ENDPOINT", "http://127.0.0.1:1")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "k")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .env("AWS_REGION", "us-east-1")
        .env("JUG_STORE_RETRY_SECS", "1")
        .run();
    run.expect_one_line_error(5, "cannot list s3://jug-test/x/results");
}

#[test]
fn s3_without_credentials_is_refused_before_any_request() {
    let dir = TestDir::with_guest("s3-no-keys", "primes.wasm");
    dir.jug(&["execute", "primes.wasm", "--store", "s3://jug-test/x"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .run()
        .expect_one_line_error(5, "s3:// stores need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
}
