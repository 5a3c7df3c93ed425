//! examples/polyglot: a Python graph running Rust and JavaScript tasks, with values crossing
//! the languages byte for byte.

use crate::util::ExitCode;
use crate::util::{Language, TestDir, guest, sdk_guest};

fn polyglot_dir(name: &str) -> TestDir {
    let dir = TestDir::new(name);
    let components = [
        ("pipeline.wasm", sdk_guest(Language::Python, "examples/polyglot/pipeline.py")),
        ("report.wasm", sdk_guest(Language::JavaScript, "examples/polyglot/report.js")),
        ("stats.wasm", guest("stats.wasm")),
    ];
    for (name, path) in components {
        std::fs::copy(path, dir.join(name)).expect("copy component");
    }
    dir
}

/// The stored CBOR of every task named `name`, in definition order.
fn stored(dir: &TestDir, name: &str) -> Vec<Vec<u8>> {
    let run = dir.jug(&["value", "pipeline.wasm", name, "--json"]).run().expect_code(ExitCode::Ok);
    let values: serde_json::Value = serde_json::from_str(&run.stdout).expect("value --json");
    let keys =
        values.as_array().expect("an array").iter().map(|v| v["key"].as_str().expect("a key").to_owned());
    let stored = dir.stored("pipeline.jugdata");
    keys.map(|key| stored[&key].clone()).collect()
}

/// The example's sample, computed here the way the Python task does.
fn expected_summary() -> (f64, f64, f64, f64) {
    let mut values = Vec::new();
    for seed in 0..8u128 {
        let mut state = seed * 2654435761 + 1;
        for _ in 0..100 {
            state = (state * 6364136223846793005 + 1442695040888963407) % (1u128 << 64);
            values.push((state >> 11) as f64 / (1u64 << 53) as f64);
        }
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, sd, min, max)
}

#[test]
fn a_python_graph_runs_rust_and_javascript_tasks() {
    let dir = polyglot_dir("polyglot-run");
    let status = dir.jug(&["status", "pipeline.wasm", "--json"]).run().expect_code(ExitCode::NotDone);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("status --json");
    let names: Vec<&String> = json["tasks"].as_object().expect("tasks").keys().collect();
    let expected = [
        "pipeline.measure",
        "pipeline.probe",
        "report.echo",
        "report.format",
        "stats.describe",
        "stats.echo",
    ];
    assert_eq!(names, expected, "{}", status.stdout);
    assert_eq!(json["tasks"]["pipeline.measure"]["ready"], 8);

    let run = dir.jug(&["execute", "pipeline.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("Executed:  13 tasks\n"), "{}", run.stdout);
    let text = dir.jug(&["value", "pipeline.wasm", "format"]).run().expect_code(ExitCode::Ok);
    let (mean, sd, min, max) = expected_summary();
    let expected = format!("n=800 mean={mean:.4} sd={sd:.4} range=[{min:.4}, {max:.4}]\n");
    assert_eq!(text.stdout, format!("{}\n", serde_json::to_string(&expected).expect("json")));
    let again = dir.jug(&["execute", "pipeline.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert!(again.stdout.starts_with("Executed:  0 tasks\nLoaded:  13 tasks"), "{}", again.stdout);
}

#[test]
fn values_cross_languages_byte_for_byte() {
    let dir = polyglot_dir("polyglot-bytes");
    dir.jug(&["execute", "pipeline.wasm"]).run().expect_code(ExitCode::Ok);
    let from_python = stored(&dir, "probe");
    let from_rust = stored(&dir, "stats.echo");
    let from_js = stored(&dir, "report.echo");
    assert_eq!(from_python.len(), 1);
    assert_eq!(from_rust, from_python, "Rust re-encoded the probe differently");
    assert_eq!(from_js, from_python, "JavaScript re-encoded the probe differently");

    let probe = dir.jug(&["value", "pipeline.wasm", "probe"]).run().expect_code(ExitCode::Ok);
    let probe: serde_json::Value = serde_json::from_str(&probe.stdout).expect("json");
    assert_eq!(probe["ints"][10], serde_json::json!(i64::MIN));
    assert_eq!(probe["ints"][11], serde_json::json!(u64::MAX));
    assert_eq!(probe["floats"][3], serde_json::json!(0.1));
    assert_eq!(probe["floats"][8], serde_json::json!(1.0 / 3.0));
    assert_eq!(probe["strings"][3], "日本語");
    assert_eq!(probe["nested"]["a"][1][1][1]["c"], serde_json::Value::Null);
}
