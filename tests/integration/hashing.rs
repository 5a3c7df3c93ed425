//! What enters a key: `NoHash` arguments do not, `CustomHash` arguments count as their hash,
//! and `identity` tasks pass a value on under a key of their own.

use crate::util::ExitCode;
use crate::util::TestDir;

fn values(dir: &TestDir, graph: &[&str]) -> String {
    dir.jug(&["value", "tasks.wasm", "--pattern", "/.*/"])
        .arg_words(graph)
        .run()
        .expect_code(ExitCode::Ok)
        .stdout
}

#[test]
fn no_hash_custom_hash_and_identity() {
    let dir = TestDir::with_guest("hashing", "tasks.wasm");
    // negate(NoHash(x)), add(CustomHash(x, version), 0), identity(x), negate(identity(x))
    let run = dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&["hashing", "5", "v1"]).run();
    assert_eq!(
        run.expect_code(ExitCode::Ok).stdout,
        "Executed:  4 tasks\nLoaded:  0 tasks\n** Total: 4 tasks.\n"
    );
    assert_eq!(values(&dir, &["hashing", "5", "v1"]), "-5\n5\n5\n-5\n");

    // A new x: the NoHash and CustomHash tasks keep their keys, so their stored results stand
    // (that is the contract: the user vouches that x does not matter to them, or that the
    // version says all); the identity chain runs again.
    let run = dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&["hashing", "7", "v1"]).run();
    assert_eq!(
        run.expect_code(ExitCode::Ok).stdout,
        "Executed:  2 tasks\nLoaded:  2 tasks\n** Total: 4 tasks.\n"
    );
    assert_eq!(values(&dir, &["hashing", "7", "v1"]), "-5\n5\n7\n-7\n");

    // A new version: the CustomHash task runs again, with the current x.
    let run = dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&["hashing", "7", "v2"]).run();
    assert_eq!(
        run.expect_code(ExitCode::Ok).stdout,
        "Executed:  1 tasks\nLoaded:  3 tasks\n** Total: 4 tasks.\n"
    );
    assert_eq!(values(&dir, &["hashing", "7", "v2"]), "-5\n7\n7\n-7\n");

    let count =
        dir.jug(&["count", "tasks.wasm"]).arg_words(&["hashing", "7", "v2"]).env("COLUMNS", "60").run();
    assert!(count.expect_code(ExitCode::Ok).stdout.contains("           1  tasks.jug.identity"));
}
