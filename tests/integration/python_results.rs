//! Results for programs: `value --cbor` gives the stored CBOR to the byte, and the `jug_host`
//! Python package (guest-sdk/python-results), which decodes it, passes its own tests.

use std::path::PathBuf;
use std::sync::OnceLock;

use jug_core::cbor::Reader;

use crate::util::ExitCode;
use crate::util::{Language, TestDir, sdk_guest};

/// tests/fixtures/python/oddities.py built: results JSON cannot carry.
fn oddities() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| sdk_guest(Language::Python, "tests/fixtures/python/oddities.py")).clone()
}

fn with_oddities(name: &str) -> TestDir {
    let dir = TestDir::new(name);
    std::fs::copy(oddities(), dir.join("oddities.wasm")).expect("copy oddities.wasm");
    dir
}

/// The Python of the SDK's venv (beside `jug-py`), where scripts/sdk/python installs jug_host.
pub fn sdk_python() -> PathBuf {
    let jug_py = std::env::var_os("JUG_PY").expect("JUG_PY is set (eval \"$(scripts/sdks)\")");
    PathBuf::from(jug_py).with_file_name("python")
}

/// `--cbor`'s envelope, read by hand: [(key hex, name, the value's bytes)], with each value
/// as long as the stored result of its key (which the test then compares byte for byte).
fn entries(
    bytes: &[u8],
    stored: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Vec<(String, String, Vec<u8>)> {
    let mut reader = Reader::new(bytes);
    let text = |reader: &mut Reader| {
        let head = reader.head().unwrap();
        assert_eq!(head.major, 3, "a text string");
        String::from_utf8(reader.take(head.arg).unwrap().to_vec()).unwrap()
    };
    let array = reader.head().unwrap();
    assert_eq!(array.major, 4, "an array");
    let mut found = Vec::new();
    for _ in 0..array.arg {
        let map = reader.head().unwrap();
        assert_eq!((map.major, map.arg), (5, 3), "a map of three entries");
        assert_eq!(text(&mut reader), "key");
        let key = text(&mut reader);
        assert_eq!(text(&mut reader), "name");
        let name = text(&mut reader);
        assert_eq!(text(&mut reader), "value");
        let value = reader.take(stored[&key].len() as u64).unwrap().to_vec();
        found.push((key, name, value));
    }
    assert_eq!(reader.pos, bytes.len(), "nothing after the array");
    found
}

#[test]
fn value_cbor_gives_each_result_exactly_as_stored() {
    let dir = with_oddities("value-cbor");
    dir.jug(&["execute", "oddities.wasm"]).run().expect_code(ExitCode::Ok);
    let stored = dir.stored("oddities.jugdata");
    let cbor = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_jug-host"))
            .current_dir(&dir.path)
            .args(["value", "oddities.wasm", "--cbor"])
            .args(args)
            .env("JUG_NO_CONFIG", "1")
            .output()
            .expect("jug-host runs");
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        output.stdout // as bytes: Run's stdout is text
    };

    let special = entries(&cbor(&["special"]), &stored);
    let expected: [&[u8]; 5] = [
        &[0xf9, 0x7e, 0x00],             // NaN
        &[0xf9, 0x80, 0x00],             // -0.0
        &[0xf9, 0x7c, 0x00],             // inf
        &[0xf9, 0xfc, 0x00],             // -inf
        &[0xfb, 0, 0, 0, 0, 0, 0, 0, 1], // 5e-324, the smallest subnormal
    ];
    assert_eq!(special.len(), 5);
    for ((key, name, value), want) in special.iter().zip(expected) {
        assert_eq!(name, "oddities.special");
        assert_eq!(value, &stored[key], "the stored bytes, as they are");
        assert_eq!(value, want);
    }

    let big = entries(&cbor(&["big"]), &stored);
    let mut two_to_100 = vec![0xc2, 0x4d, 0x10]; // tag 2 (bignum), 13 bytes: 0x10 then 12 zeros
    two_to_100.extend([0; 12]);
    assert_eq!(big[0].2, two_to_100);
    assert_eq!(big[1].2, [0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // -(2^64)
    let blob = entries(&cbor(&["blob"]), &stored);
    assert_eq!(blob.iter().map(|e| e.2.clone()).collect::<Vec<_>>(), [vec![0x43, 0, 1, 2], vec![0x42, 0, 1]]);

    // The same tasks, in the same order, as --json lists them; --key picks one of them.
    let json = dir.jug(&["value", "oddities.wasm", "big", "--json"]).run().expect_code(ExitCode::Ok);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let keys: Vec<&str> = json.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys, big.iter().map(|e| e.0.as_str()).collect::<Vec<_>>());
    let one = entries(&cbor(&["--key", &big[1].0[..12]]), &stored);
    assert_eq!(one, [big[1].clone()]);
}

#[test]
fn value_cbor_prints_nothing_when_a_result_is_missing() {
    let dir = with_oddities("value-cbor-missing");
    let run = dir.jug(&["value", "oddities.wasm", "mixed", "--cbor"]).run();
    let run = run.expect_one_line_error(ExitCode::NotDone, "has no result yet");
    assert_eq!(run.stdout, "");
    dir.jug(&["value", "oddities.wasm", "--key", "00000000", "--cbor"])
        .run()
        .expect_one_line_error(ExitCode::NoMatch, "--key 00000000");
    dir.jug(&["value", "oddities.wasm", "mixed", "--cbor", "--json"]).run().expect_code(ExitCode::Usage);
}

#[test]
fn the_jug_host_python_package_passes_its_tests() {
    let dir = TestDir::new("python-results");
    let tests = crate::util::workspace().join("guest-sdk/python-results/tests");
    let run = dir
        .command(&sdk_python(), &["-m", "unittest", "discover", "-v", "-s", tests.to_str().unwrap()])
        .env("JUG_TEST_ODDITIES", oddities().to_str().unwrap())
        .run();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("skipped"), "the tests against jug-host ran: {}", run.stderr);
}

#[test]
fn value_cbor_reports_a_damaged_result_and_removes_it() {
    let dir = with_oddities("value-cbor-damaged");
    dir.jug(&["execute", "oddities.wasm"]).run().expect_code(ExitCode::Ok);
    let json = dir.jug(&["value", "oddities.wasm", "mixed", "--json"]).run().expect_code(ExitCode::Ok);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let key = json[0]["key"].as_str().unwrap().to_owned();
    let mut bytes = crate::util::sealed(1, &dir.stored("oddities.jugdata")[&key]);
    *bytes.last_mut().unwrap() ^= 1; // its checksum no longer matches
    dir.overwrite_result("oddities.jugdata", &key, &bytes);

    let run = dir.jug(&["value", "oddities.wasm", "mixed", "--cbor"]).run();
    let run = run.expect_one_line_error(ExitCode::DamagedResult, "damaged (checksum mismatch)");
    assert_eq!(run.stdout, "");
    assert!(!dir.stored("oddities.jugdata").contains_key(&key), "removed, so execute recomputes it");
}
