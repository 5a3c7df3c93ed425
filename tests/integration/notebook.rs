//! examples/notebook/primes.ipynb runs as it is, under Jupyter (`jupyter nbconvert --execute`,
//! `$JUG_JUPYTER` from scripts/sdk/python), against a store `execute` filled: the results a
//! reader of the notebook sees are the graph's.

use crate::util::ExitCode;
use crate::util::{TestDir, workspace};

/// The text a notebook's cells printed or returned, in order. What a cell prints comes as
/// stream outputs that may split one `print` anywhere (the kernel sends what it has every
/// so often): they are joined as they are, as Jupyter shows them; a value gets a line.
fn outputs(notebook: &serde_json::Value) -> String {
    let text = |value: &serde_json::Value| match value {
        serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect::<String>(),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    let mut all = String::new();
    for cell in notebook["cells"].as_array().expect("cells") {
        for output in cell["outputs"].as_array().into_iter().flatten() {
            assert_ne!(output["output_type"], "error", "a cell failed: {output:#}");
            if output["output_type"] == "stream" {
                all.push_str(&text(&output["text"]));
            } else {
                all.push_str(&text(&output["data"]["text/plain"]));
                all.push('\n');
            }
        }
    }
    all
}

#[test]
fn the_primes_notebook_executes_and_shows_the_results() {
    let jupyter = std::env::var("JUG_JUPYTER").expect("JUG_JUPYTER is set (eval \"$(scripts/sdks)\")");
    let dir = TestDir::with_guest("notebook", "primes.wasm");
    dir.jug(&["execute", "primes.wasm", "--store", "results"]).run().expect_code(ExitCode::Ok);
    // A copy, so the checked-in notebook keeps no outputs; paths through the environment.
    std::fs::copy(workspace().join("examples/notebook/primes.ipynb"), dir.join("primes.ipynb")).unwrap();

    let run = dir
        .command(
            std::path::Path::new(&jupyter),
            &[
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "--ExecutePreprocessor.timeout=600",
                "primes.ipynb",
                "--output",
                "executed.ipynb",
            ],
        )
        .env("JUG_NOTEBOOK_GRAPH", dir.join("primes.wasm").to_str().unwrap())
        .env("JUG_NOTEBOOK_STORE", dir.join("results").to_str().unwrap())
        .env("JUPYTER_PLATFORM_DIRS", "1") // jupyter_core's future default; no warning
        .run();
    assert_eq!(run.code, 0, "nbconvert failed:\n{}{}", run.stdout, run.stderr);

    let executed = std::fs::read_to_string(dir.join("executed.ipynb")).expect("the executed notebook");
    let text = outputs(&serde_json::from_str(&executed).expect("a notebook is JSON"));
    for expected in [
        "primes.is_prime         99 complete of 99",
        "primes.write_output      1 complete of 1",
        "Found 25 primes <= 100.\n",
        "25 primes: [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97]",
        "\n25\n", // count_primes, as the cell's value
        "99 is_prime tasks; the first: ",
        "complete -> True",
        "MissingResult: primes.write_output (key ",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in the notebook's outputs:\n{text}");
    }
    // The store was only read: the notebook's empty store for MissingResult was a temporary one.
    assert_eq!(dir.result_count("results"), 101);
}

/// The kernel sent one `print` in two stream outputs (seen in CI: "99" and " is_prime tasks;
/// …"): the text reads as Jupyter shows it, and a cell's value still gets its own line.
#[test]
fn a_print_split_across_stream_outputs_reads_whole() {
    let notebook = serde_json::json!({"cells": [
        {"outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["99"]},
            {"output_type": "stream", "name": "stdout", "text": [" is_prime tasks; the first: 7257cfbc1730\n"]},
        ]},
        {"outputs": [{"output_type": "execute_result", "data": {"text/plain": ["25"]}}]},
    ]});
    assert_eq!(outputs(&notebook), "99 is_prime tasks; the first: 7257cfbc1730\n25\n");
}
