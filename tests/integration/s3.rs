//! The primes scenario against a real S3-compatible server (SeaweedFS, started by
//! `scripts/test` through `scripts/services/run`), shared by two working directories.

use crate::util::{ExitCode, SlowProxy, TestDir};

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

    let before = viewer
        .jug(&["status", "primes.wasm", "--store", &store, "--short"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(before.stdout, "101 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");

    let run =
        worker.jug(&["execute", "primes.wasm", "--store", &store, "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  101 tasks\nLoaded:  0 tasks\n** Total: 101 tasks.\n");
    assert!(!worker.join("primes.jugdata").exists(), "nothing is stored locally");

    // Another directory (another machine, as far as the store can tell) sees the results.
    let status =
        viewer.jug(&["status", "primes.wasm", "--store", &store, "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (101 tasks).\n");
    let value = viewer
        .jug(&["value", "primes.wasm", "write_output", "--store", &store])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "\"Found 25 primes <= 100.\\n\"\n");
    let again =
        viewer.jug(&["execute", "primes.wasm", "--store", &store, "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  101 tasks\n** Total: 101 tasks.\n");

    let invalidated = viewer
        .jug(&["invalidate", "primes.wasm", "--name", "count_primes", "--store", &store, "--short"])
        .run();
    assert_eq!(invalidated.expect_code(ExitCode::Ok).stdout, "Invalidated:  2 tasks\n** Total: 2 tasks.\n");
    let rerun =
        worker.jug(&["execute", "primes.wasm", "--store", &store, "--short"]).run().expect_code(ExitCode::Ok);
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
    // The first request of any command reads the store's format marker.
    run.expect_one_line_error(ExitCode::Store, "cannot read s3://jug-test/x/format");
}

#[test]
fn s3_without_credentials_is_refused_before_any_request() {
    let dir = TestDir::with_guest("s3-no-keys", "primes.wasm");
    dir.jug(&["execute", "primes.wasm", "--store", "s3://jug-test/x"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .run()
        .expect_one_line_error(
            ExitCode::Store,
            "s3:// stores need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        );
}

/// A SeaweedFS of this test's own (the shared one serves other tests), which the test can
/// stop and restart. Its data directory survives restarts, as a real server's disk would.
struct PrivateS3 {
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

const PRIVATE_S3_PORT: u16 = 8433;

impl PrivateS3 {
    fn start(dir: &TestDir) -> PrivateS3 {
        let dir = dir.join("seaweedfs");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let identities = format!(
            r#"{{"identities":[{{"name":"test","credentials":[{{"accessKey":"{}","secretKey":"{}"}}],"actions":["Admin","Read","Write","List"]}}]}}"#,
            std::env::var("AWS_ACCESS_KEY_ID").unwrap(),
            std::env::var("AWS_SECRET_ACCESS_KEY").unwrap()
        );
        std::fs::write(dir.join("s3.json"), identities).unwrap();
        let mut server = PrivateS3 { dir, child: None };
        server.restart();
        server
    }

    fn restart(&mut self) {
        let weed = std::env::var("JUG_TEST_WEED")
            .expect("JUG_TEST_WEED is not set: run the tests with scripts/test, which installs SeaweedFS");
        let log = std::fs::File::create(self.dir.join("weed.log")).unwrap();
        let child = std::process::Command::new(weed)
            .args(["mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false"])
            .args(["-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0"])
            .args(["-master.port=19433", "-volume.port=18180", "-filer.port=18988", "-admin.port=23746"])
            .args(["-volume.max=4", "-bucket=outage"])
            .arg(format!("-s3.port={PRIVATE_S3_PORT}"))
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .arg(format!("-s3.config={}", self.dir.join("s3.json").display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start SeaweedFS");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the PID of a child we started and have not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            child.wait().unwrap();
        }
    }
}

impl Drop for PrivateS3 {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn an_s3_outage_mid_run_is_reported_and_ridden_out() {
    let dir = TestDir::with_guest("s3-outage", "bench.wasm");
    let mut server = PrivateS3::start(&dir);
    let endpoint = format!("http://127.0.0.1:{PRIVATE_S3_PORT}");
    let store = "s3://outage/run";
    let status = || {
        dir.jug(&["status", "bench.wasm", "--store", store, "--short", "--", "cpu", "300", "40"])
            .env("AWS_ENDPOINT", &endpoint)
            .env("JUG_STORE_RETRY_SECS", "0")
            .run()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while status().exit() != Some(ExitCode::NotDone) {
        assert!(std::time::Instant::now() < deadline, "the private SeaweedFS did not come up");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    let worker = dir
        // 300 tasks of ~65 ms: a run of several seconds, whatever the store costs (batches
        // make 3,000 trivial tasks a second's work), so the outage comes mid-run.
        .jug(&["execute", "bench.wasm", "-j", "2", "--store", store, "--short", "--", "cpu", "300", "40"])
        .env("AWS_ENDPOINT", &endpoint)
        .spawn();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    server.stop();
    std::thread::sleep(std::time::Duration::from_secs(3));
    server.restart();

    let run = worker.wait().expect_code(ExitCode::Ok);
    assert!(run.stderr.contains("store s3://outage/run is unreachable"), "{}", run.stderr);
    assert!(run.stderr.contains("is reachable again after"), "{}", run.stderr);
    assert_eq!(run.stdout, "Executed:  300 tasks\nLoaded:  0 tasks\n** Total: 300 tasks.\n");
    assert_eq!(status().expect_code(ExitCode::Ok).stdout, "All tasks complete (300 tasks).\n");
}

/// The requests the slow proxy counts: pack writes, lease releases, listings of one shard's
/// packs (`prefix=<store>/packs/<shard>`, URL-encoded).
fn request_kind(line: &str) -> Option<&'static str> {
    let mut words = line.split(' ');
    let (method, target) = (words.next()?, words.next()?);
    let shard_listing = target.contains("list-type=2")
        && target
            .split("packs%2F")
            .nth(1)
            .is_some_and(|rest| rest.len() >= 2 && rest[..2].chars().all(|c| c.is_ascii_hexdigit()));
    match method {
        "PUT" if target.contains("/packs/") => Some("pack"),
        // object_store deletes through S3's multi-object delete; in a run, only leases go.
        "POST" if target.ends_with("?delete") => Some("release"),
        "GET" if shard_listing => Some("listing"),
        _ => None,
    }
}

/// Behind 20 ms a request, as a distant S3 is, a process must keep requests in flight side
/// by side to use its `-j`: the committer writes a round's packs and releases its leases
/// together, and a worker lists its new shard while others use the store's index. (Before,
/// `-j8` through 5 ms of latency was no faster than `-j1`: every pack, release and listing
/// waited for the one before.)
#[test]
fn through_a_slow_link_packs_releases_and_listings_go_out_side_by_side() {
    let endpoint = std::env::var("AWS_ENDPOINT").expect("AWS_ENDPOINT is set with JUG_TEST_S3");
    let target = endpoint.trim_start_matches("http://").parse().expect("AWS_ENDPOINT is http://<ip>:<port>");
    let proxy = SlowProxy::start(target, std::time::Duration::from_millis(20), request_kind);
    let dir = TestDir::with_guest("s3-slow-link", "bench.wasm");
    let store = s3_store("slow-link");
    let run = dir
        .jug(&["execute", "bench.wasm", "-j", "4", "--store", &store, "--short", "--", "200"])
        .env("AWS_ENDPOINT", &format!("http://{}", proxy.addr))
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  200 tasks\nLoaded:  0 tasks\n** Total: 200 tasks.\n");
    for kind in ["pack", "release", "listing"] {
        let most = proxy.most_at_once(kind);
        assert!(most >= 2, "at most {most} {kind} request(s) were in flight at once");
    }
}
