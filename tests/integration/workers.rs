//! Many workers on one store, as on a cluster: real processes, started together, killed with
//! real signals, against each store backend.

use std::time::{Duration, Instant};

use crate::util::ExitCode;
use crate::util::{Backend, TestDir, count, each_backend, with_store, workspace};

each_backend!(four_workers_share_ten_thousand_tasks, a_worker_killed_mid_task_is_taken_over);

fn four_workers_share_ten_thousand_tasks(backend: Backend) {
    let dir = TestDir::with_guest(&format!("four-workers-{backend:?}"), "bench.wasm");
    let store = backend.store_args("four-workers");
    let workers: Vec<_> = (0..4)
        .map(|_| {
            dir.jug(&with_store(&["execute", "bench.wasm", "-j", "2", "--short"], &store))
                .arg_words(&["10000"])
                .spawn()
        })
        .collect();
    let runs: Vec<_> = workers.into_iter().map(|w| w.wait().expect_code(ExitCode::Ok)).collect();

    let executed: usize = runs.iter().map(|r| count(&r.stdout, "Executed:", "tasks")).sum();
    let duplicates: usize = runs.iter().map(|r| count(&r.stdout, "", "duplicate execution")).sum();
    assert_eq!(executed, 10_000 + duplicates, "every task ran once, plus the duplicates reported: {runs:?}");
    // On a loaded machine a worker may start after the others have done everything.
    let took_part = runs.iter().filter(|r| count(&r.stdout, "Executed:", "tasks") > 0).count();
    assert!(took_part >= 2, "the workers shared the work: {runs:?}");

    let status =
        dir.jug(&with_store(&["status", "bench.wasm", "--short"], &store)).arg_words(&["10000"]).run();
    assert_eq!(status.expect_code(ExitCode::Ok).stdout, "All tasks complete (10000 tasks).\n");
    // Every result reads back intact (a damaged one would fail `value`) and is right.
    let values = dir.jug(&with_store(&["value", "bench.wasm", "double"], &store)).arg_words(&["10000"]).run();
    let values = values.expect_code(ExitCode::Ok);
    let expected: String = (0..10_000u64).map(|i| format!("{}\n", 2 * i)).collect();
    assert!(values.stdout == expected, "some value is wrong");
    assert!(dir.open_store_at(&store, "bench.jugdata").list_locks().unwrap().is_empty(), "locks were left");
}

/// `kill -9` of a worker holding tasks: another worker, started right away, takes them over
/// once their leases expire and finishes the graph; nothing is left half-written or locked.
fn a_worker_killed_mid_task_is_taken_over(backend: Backend) {
    let dir = TestDir::with_guest(&format!("kill-9-{backend:?}"), "tasks.wasm");
    let store = backend.store_args("kill-9");
    let graph = ["spin", "24", "250"]; // 24 tasks of about a quarter of a second
    let lease = "2s";
    let execute = with_store(&["execute", "tasks.wasm", "-j", "2", "--short", "--lease", lease], &store);

    let victim = dir.jug(&execute).arg_words(&graph).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Reopened each time: a local store only exists once the worker has created it.
    while dir.open_store_at(&store, "tasks.jugdata").list_results().unwrap().len() < 4 {
        assert!(Instant::now() < deadline, "the first worker made no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    victim.signal(libc::SIGKILL);
    let victim = victim.wait();
    let opened = dir.open_store_at(&store, "tasks.jugdata");
    assert_eq!(victim.code, -1, "killed by the signal: {victim:?}");
    assert!(!opened.list_locks().unwrap().is_empty(), "the victim died holding tasks");

    // Once the leases run out, status tells them apart from live ones.
    std::thread::sleep(Duration::from_millis(2600));
    let status = dir
        .jug(&with_store(&["status", "tasks.wasm"], &store))
        .arg_words(&graph)
        .run()
        .expect_code(ExitCode::NotDone);
    assert!(status.stdout.contains("expired lease"), "{}", status.stdout);

    let started = Instant::now();
    let rescuer = dir.jug(&execute).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert!(rescuer.stdout.contains("taken over from"), "{rescuer:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());

    let done = dir.jug(&with_store(&["status", "tasks.wasm", "--short"], &store)).arg_words(&graph).run();
    assert_eq!(done.expect_code(ExitCode::Ok).stdout, "All tasks complete (24 tasks).\n");
    dir.jug(&with_store(&["value", "tasks.wasm", "spin"], &store))
        .arg_words(&graph)
        .run()
        .expect_code(ExitCode::Ok);
    assert!(opened.list_locks().unwrap().is_empty(), "the dead worker's locks were left behind");
}

/// The README's cluster recipe, shaped as on a cluster: three copies of
/// `examples/cluster/worker.sh`, each in a directory of its own (a pod, an array task),
/// sharing only the S3 bucket; a fourth directory watches.
#[test]
fn the_cluster_recipe_shares_one_bucket_between_background_workers() {
    let store = Backend::S3.store_args("cluster")[1].clone();
    let script = workspace().join("examples/cluster/worker.sh");
    let graph = ["spin", "30", "40"];
    let pods: Vec<_> = (0..3)
        .map(|i| {
            let dir = TestDir::with_guest(&format!("cluster-pod{i}"), "tasks.wasm");
            let pod = dir
                .command(&script, &graph)
                .env("GRAPH", "tasks.wasm")
                .env("JUG_STORE", &store)
                .env("JUG_JOBS", "1")
                .env("JUG_LEASE", "5s")
                .spawn();
            (dir, pod)
        })
        .collect();
    let mut executed = 0;
    for (dir, pod) in pods {
        let run = pod.wait().expect_code(ExitCode::Ok);
        executed += count(&run.stdout, "Executed:", "tasks");
        assert!(!dir.join("tasks.jugdata").exists(), "nothing is stored in the pod");
    }
    assert_eq!(executed, 30);
    let watcher = TestDir::with_guest("cluster-watcher", "tasks.wasm");
    let status = watcher.jug(&["status", "tasks.wasm", "--short", "--store", &store]).arg_words(&graph).run();
    assert_eq!(status.expect_code(ExitCode::Ok).stdout, "All tasks complete (30 tasks).\n");
}
