//! The Redis store's failure modes; its normal operation runs in the per-backend scenarios
//! (`workers.rs`) and the store conformance suite.

use std::time::{Duration, Instant};

use crate::util::ExitCode;
use crate::util::TestDir;

#[test]
fn an_unreachable_redis_server_is_one_clear_error() {
    let dir = TestDir::with_guest("redis-down", "primes.wasm");
    let started = Instant::now();
    dir.jug(&["status", "primes.wasm", "--store", "redis://127.0.0.1:1/"])
        .env("JUG_STORE_RETRY_SECS", "1")
        .run()
        .expect_one_line_error(ExitCode::Store, "cannot connect to redis://127.0.0.1:1/");
    let took = started.elapsed();
    // Retried for the second it was given, then gave up.
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(6), "took {took:?}");
}

/// A Redis server of this test's own, on a port nobody else uses; killed when dropped.
struct PrivateRedis {
    child: std::process::Child,
}

impl PrivateRedis {
    fn start(dir: &TestDir, port: u16) -> PrivateRedis {
        let log = std::fs::File::create(dir.join("redis.log")).unwrap();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(dir.join("."))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("redis-server is installed (scripts/services/run needs it too)");
        PrivateRedis { child }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of a child we started and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_redis_server_that_comes_up_late_is_waited_for() {
    let dir = TestDir::with_guest("redis-late", "primes.wasm");
    let port = free_port();
    let store = format!("redis://127.0.0.1:{port}/");
    let mut worker = dir
        .jug(&["execute", "primes.wasm", "--store", &store, "--short", "--", "30"])
        .env("JUG_STORE_RETRY_SECS", "60")
        .spawn();
    // The server starts once the worker has said it cannot reach it.
    assert!(worker.wait_for_stderr("is unreachable"), "the worker never said the store was unreachable");
    let _server = PrivateRedis::start(&dir, port);
    let run = worker.wait().expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("Executed:  "), "{}", run.stdout);
    // Down for longer than a blip: said so, once, and that it came back.
    assert_eq!(run.stderr.matches("is unreachable").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("is reachable again after"), "{}", run.stderr);
    dir.jug(&["status", "primes.wasm", "--store", &store, "--short", "--", "30"])
        .run()
        .expect_code(ExitCode::Ok);
}

#[test]
fn a_malformed_redis_url_names_the_fix() {
    let dir = TestDir::with_guest("redis-bad-url", "primes.wasm");
    dir.jug(&["execute", "primes.wasm", "--store", "redis://127.0.0.1:6390/results"])
        .run()
        .expect_one_line_error(
            ExitCode::Store,
            "the path of a redis:// URL is a database number (redis://host:port/2)",
        );
    assert!(!dir.join("primes.jugdata").exists());
}
