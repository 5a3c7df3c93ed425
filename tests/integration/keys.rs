//! Task keys: a Merkle hash of code identity, function and arguments.

use std::collections::BTreeSet;

use crate::rust_crate::RustCrate;
use crate::util::ExitCode;
use crate::util::TestDir;

fn result_keys(dir: &TestDir, store: &str) -> BTreeSet<String> {
    dir.stored(store).into_keys().collect()
}

#[test]
fn same_graph_in_two_processes_has_the_same_keys() {
    let one = TestDir::with_guest("keys-one", "tasks.wasm");
    let two = TestDir::with_guest("keys-two", "tasks.wasm");
    one.jug(&["execute", "tasks.wasm", "--", "diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    two.jug(&["execute", "tasks.wasm", "-j", "1", "--", "diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    let keys = result_keys(&one, "tasks.jugdata");
    assert_eq!(keys.len(), 5);
    assert_eq!(keys, result_keys(&two, "tasks.jugdata"));
}

#[test]
fn changing_one_input_changes_exactly_the_downstream_keys() {
    let dir = TestDir::with_guest("keys-input", "tasks.wasm");
    // a = 1, b = 2, c = a + b, d = -c, e = -b
    dir.jug(&["execute", "tasks.wasm", "--store", "x1", "--", "diamond", "1", "2"])
        .run()
        .expect_code(ExitCode::Ok);
    // a changes: a, c and d get new keys; b and e keep theirs.
    dir.jug(&["execute", "tasks.wasm", "--store", "x5", "--", "diamond", "5", "2"])
        .run()
        .expect_code(ExitCode::Ok);
    let (before, after) = (result_keys(&dir, "x1"), result_keys(&dir, "x5"));
    assert_eq!(before.intersection(&after).count(), 2);

    // The same from the user's side: against the first store, only b and e are complete.
    let status =
        dir.jug(&["status", "tasks.wasm", "--store", "x1", "--short", "--", "diamond", "5", "2"]).run();
    assert_eq!(
        status.expect_code(ExitCode::NotDone).stdout,
        "3 tasks waiting to be run, 0 failed, 2 complete, (none active).\n"
    );
    assert_eq!(
        dir.jug(&["value", "tasks.wasm", "--store", "x5", "negate", "--", "diamond", "5", "2"]).run().stdout,
        "-7\n-2\n"
    );
}

#[test]
fn rebuilding_keeps_keys_and_editing_code_changes_them() {
    let copy = RustCrate::primes("keys-rebuild");
    copy.build();
    let dir = &copy.dir;
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);

    // Touch the source: cargo rebuilds the component, and every key stays the same.
    copy.edit("fn is_prime", "fn is_prime");
    let path = dir.join("crate/src/lib.rs");
    let source = std::fs::read(&path).unwrap();
    std::fs::write(&path, source).unwrap();
    copy.build();
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (101 tasks).\n");

    // Edit one function: the module's code identity changes, so every task of it re-runs.
    copy.edit("primes <= {limit}", "primes up to {limit}");
    copy.build();
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "101 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let value = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "\"Found 25 primes up to 100.\\n\"\n");
}
