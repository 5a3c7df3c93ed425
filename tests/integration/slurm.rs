//! The README's SLURM recipe on a real cluster: a single-node SLURM (`slurmctld` and `slurmd` on
//! 127.0.0.1, with MUNGE, started by `scripts/services/run`) runs the README's job script as an
//! array of four workers that share one prefix of the SeaweedFS bucket. One array completes
//! every task exactly once; in another, `scancel` of one array task while it holds a task has
//! the others take that task over within one lease of the worker's death.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::ExitCode;
use crate::util::{Backend, Run, TestDir, count, workspace};

/// What `jug-host execute` prints (stderr) when it takes a task over from an expired lease.
const TAKEOVER: &str = "jug-host: taking over ";
/// What it prints (stderr, once) when all it could still run is held by other workers.
const WAITING: &str = "waiting for tasks held by other workers";

/// The cluster is part of the test setup, like the S3 server: without it the test fails, it
/// never skips.
fn require_slurm() {
    if std::env::var_os("JUG_TEST_SLURM").is_none() {
        let why = std::env::var("JUG_TEST_SLURM_UNAVAILABLE")
            .unwrap_or_else(|_| "JUG_TEST_SLURM is not set".into());
        panic!(
            "no SLURM cluster to submit to ({why}): run the tests with scripts/test, which starts a \
             single-node SLURM (or `eval \"$(scripts/services/run start-slurm)\"` first)"
        );
    }
}

/// A SLURM command (`squeue`, `scancel`, …) run to completion: its stdout, or a panic saying
/// what failed.
fn slurm(program: &str, args: &[&str]) -> String {
    let output =
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A required variable of the services' environment (`scripts/services/run start`).
fn service_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with scripts/test, which starts SeaweedFS")
    })
}

/// The README's SLURM job script, with the test's graph, store and credentials in place of the
/// README's placeholders and the graph's words after `worker.sh`. Everything else — the
/// `#SBATCH` lines, `srun examples/cluster/worker.sh` — is the README's, so this test fails
/// when the recipe stops working.
fn readme_job_script(store: &str, graph_words: &[&str]) -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("read README.md");
    let recipe = &readme[readme.find("**SLURM**").expect("the README has a **SLURM** recipe")..];
    let code = recipe.find("```sh\n").expect("the SLURM recipe has a sh block") + "```sh\n".len();
    let mut script = recipe[code..code + recipe[code..].find("```").expect("the block ends")].to_owned();
    let credentials = format!(
        "AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_ENDPOINT={} AWS_ALLOW_HTTP=true",
        service_env("AWS_ACCESS_KEY_ID"),
        service_env("AWS_SECRET_ACCESS_KEY"),
        service_env("AWS_ENDPOINT"),
    );
    for (placeholder, value) in [
        ("GRAPH=sweep.wasm", "GRAPH=tasks.wasm".to_owned()),
        ("JUG_STORE=s3://my-bucket/sweep-2026-11", format!("JUG_STORE={store}")),
        ("AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_ENDPOINT=https://s3.example.org", credentials),
        (
            "srun examples/cluster/worker.sh\n",
            format!("srun examples/cluster/worker.sh {}\n", graph_words.join(" ")),
        ),
    ] {
        assert_eq!(
            script.matches(placeholder).count(),
            1,
            "the README's SLURM recipe no longer has `{}`; update tests/integration/slurm.rs:\n{script}",
            placeholder.trim_end()
        );
        script = script.replace(placeholder, &value);
    }
    script
}

/// An array job of four workers running the README's script in a test's directory; cancelled
/// when dropped, so a failing test leaves nothing running.
struct ArrayJob {
    id: String,
    dir: std::path::PathBuf,
}

impl ArrayJob {
    /// `sbatch --array=1-4` of `script` in `dir`, with `env` added to the jobs' environment
    /// (SLURM passes the submitter's environment on, as it does by default: `JUG_HOST` names
    /// the jug-host under test, which the README's cluster has on its PATH instead).
    fn submit(dir: &TestDir, script: &str, env: &[(&str, &str)]) -> ArrayJob {
        // The README's `srun examples/cluster/worker.sh` is relative to the job's directory.
        std::fs::create_dir_all(dir.join("examples/cluster")).unwrap();
        let worker = workspace().join("examples/cluster/worker.sh");
        std::os::unix::fs::symlink(worker, dir.join("examples/cluster/worker.sh")).unwrap();
        std::fs::write(dir.join("job.sh"), script).unwrap();
        // The README asks for four CPUs per worker; the test node has eight in all, for the
        // arrays of both tests, so each worker gets one (and runs `-j 1`, as JUG_JOBS is
        // $SLURM_CPUS_PER_TASK). Options on the command line override the #SBATCH lines.
        let args = ["--parsable", "--array=1-4", "--cpus-per-task=1", "--output=worker-%a.out", "job.sh"];
        let mut sbatch = dir.command(Path::new("sbatch"), &args);
        for (key, value) in env {
            sbatch = sbatch.env(key, value);
        }
        let submitted = sbatch.run().expect_status(0);
        // "<id>" or "<id>;<cluster>".
        let id = submitted.stdout.trim().split(';').next().unwrap().to_owned();
        ArrayJob { id, dir: dir.path.clone() }
    }

    /// Each array task's state (PENDING, RUNNING, COMPLETED, CANCELLED, …), by index. SLURM
    /// keeps finished ones for `MinJobAge` (300 s).
    fn states(&self) -> BTreeMap<u32, String> {
        slurm("squeue", &["-h", "-t", "all", "-j", &self.id, "-o", "%K %T"])
            .lines()
            .filter_map(|line| line.split_once(' '))
            // A pending array shows as one line "1-4 PENDING": no index of its own yet.
            .filter_map(|(index, state)| Some((index.parse().ok()?, state.trim().to_owned())))
            .collect()
    }

    fn finished(&self) -> bool {
        slurm("squeue", &["-h", "-j", &self.id]).trim().is_empty()
    }

    /// What array task `index` printed (stdout and stderr, as SLURM writes them).
    fn output(&self, index: u32) -> String {
        std::fs::read_to_string(self.dir.join(format!("worker-{index}.out"))).unwrap_or_default()
    }

    /// Every array task's output, for failure messages.
    fn outputs(&self) -> String {
        (1..=4).map(|i| format!("--- worker {i}:\n{}", self.output(i))).collect()
    }

    /// Waits until every array task has ended, calling `watch` now and then meanwhile.
    fn wait(&self, limit: Duration, mut watch: impl FnMut(&ArrayJob)) {
        let deadline = Instant::now() + limit;
        while !self.finished() {
            assert!(Instant::now() < deadline, "the array did not finish in {limit:?}:\n{}", self.outputs());
            watch(self);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for ArrayJob {
    fn drop(&mut self) {
        let _ = Command::new("scancel").arg(&self.id).status();
    }
}

/// Whether a process exists and has not yet exited (a zombie has).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        // "pid (comm) state …": the state follows the last ')'.
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

/// The pid of the one process of array task `index`'s job step: the worker script, which
/// `exec`s jug-host. SLURM knows it (`scontrol listpids`, on the node: here).
fn worker_pid(job: &ArrayJob, index: u32) -> u32 {
    let task_job = slurm("squeue", &["-h", "-j", &format!("{}_{index}", job.id), "-o", "%A"]);
    let listing = slurm("scontrol", &["listpids", task_job.trim()]);
    // PID JOBID STEPID LOCALID GLOBALID; the batch script is step "batch", srun's is step 0.
    let pid = listing
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|row| row.len() == 5 && row[2] == "0" && row[3] == "0")
        .unwrap_or_else(|| panic!("no worker process in step 0 of job {task_job}:\n{listing}"))[0];
    let pid = pid.parse().expect("a pid");
    let program = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(program.trim(), "jug-host", "array task {index}'s step runs jug-host");
    pid
}

/// `jug-host status --short` of the graph in the test's S3 prefix.
fn status(dir: &TestDir, store: &str, graph: &[&str]) -> Run {
    dir.jug(&["status", "tasks.wasm", "--short", "--store", store]).arg_words(graph).run()
}

/// A test directory with tasks.wasm and a fresh S3 prefix where none of the graph's `tasks`
/// has run. The `status` that checks so also compiles the component into the cache the
/// workers share, so none of them starts late.
fn fresh_graph(name: &str, graph: &[&str], tasks: usize) -> (TestDir, String) {
    require_slurm();
    let dir = TestDir::with_guest(name, "tasks.wasm");
    let store = Backend::S3.store_args(name)[1].clone();
    let before = status(&dir, &store, graph).expect_code(ExitCode::NotDone).stdout;
    assert_eq!(before, format!("{tasks} tasks waiting to be run, 0 failed, 0 complete, (none active).\n"));
    (dir, store)
}

/// Every task has a result, and every result reads back.
fn assert_complete(dir: &TestDir, store: &str, graph: &[&str], tasks: usize) {
    assert_eq!(
        status(dir, store, graph).expect_code(ExitCode::Ok).stdout,
        format!("All tasks complete ({tasks} tasks).\n")
    );
    dir.jug(&["value", "tasks.wasm", "spin", "--store", store])
        .arg_words(graph)
        .run()
        .expect_code(ExitCode::Ok);
}

#[test]
fn an_array_of_four_workers_on_slurm_runs_every_task_once() {
    // 16 tasks of about 1.5 s of CPU each: with four workers on two cores, about 12 s in all,
    // long enough for all four to start and take part.
    let graph = ["spin", "16", "1500"];
    let (dir, store) = fresh_graph("slurm-array", &graph, 16);

    let job = ArrayJob::submit(&dir, &readme_job_script(&store, &graph), &[]);
    let mut most_running = 0;
    job.wait(Duration::from_secs(300), |job| {
        most_running = most_running.max(job.states().values().filter(|s| *s == "RUNNING").count());
    });
    let outputs = job.outputs();
    assert_eq!(most_running, 4, "the four array tasks ran at once:\n{outputs}");
    let states = job.states();
    assert!(states.len() == 4 && states.values().all(|s| s == "COMPLETED"), "{states:?}:\n{outputs}");

    // Every task ran exactly once: the workers' counts add up to the graph, each took part,
    // and none ran a task another had run, or took one over, or lost a lease.
    let executed: Vec<usize> = (1..=4).map(|i| count(&job.output(i), "Executed:", "tasks")).collect();
    assert_eq!(executed.iter().sum::<usize>(), 16, "{executed:?}:\n{outputs}");
    assert!(executed.iter().all(|&n| n > 0), "each worker ran some of the tasks: {executed:?}:\n{outputs}");
    for unwanted in ["duplicate execution", TAKEOVER, "jug-host: warning"] {
        assert!(!outputs.contains(unwanted), "`{unwanted}` in:\n{outputs}");
    }
    assert_complete(&dir, &store, &graph, 16);
}

#[test]
fn a_cancelled_slurm_array_task_is_taken_over_within_one_lease() {
    // One task for four workers: one holds it, three wait for it. It outlasts the 5 s SLURM
    // gives a cancelled job between SIGTERM and SIGKILL, so the cancelled worker dies holding
    // it, as one does on a real cluster whose tasks outlast KillWait. `spin` is a chain of
    // dependent multiplications, about 3 cycles each: 16e9 of them take 18 s at 2.6 GHz, and
    // still over 8 s at 5.5 GHz.
    let graph = ["spin", "1", "16000"];
    let (dir, store) = fresh_graph("slurm-scancel", &graph, 1);
    let lease = Duration::from_secs(3);

    let job = ArrayJob::submit(&dir, &readme_job_script(&store, &graph), &[("JUG_LEASE", "3s")]);
    // Wait until three workers say they wait for the task: the fourth holds it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let holder = loop {
        assert!(Instant::now() < deadline, "the workers did not all start:\n{}", job.outputs());
        let idle: Vec<u32> = (1..=4).filter(|&i| job.output(i).contains(WAITING)).collect();
        if idle.len() == 3 {
            assert!(
                status(&dir, &store, &graph).stdout.ends_with("0 complete, (1 active).\n"),
                "{}",
                job.outputs()
            );
            break (1..=4).find(|i| !idle.contains(i)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let pid = worker_pid(&job, holder);

    let cancelled = Instant::now();
    slurm("scancel", &[&format!("{}_{holder}", job.id)]);
    // Time the worker's death and the takeover, both as seen from here.
    let (mut died, mut taken_over) = (None, None);
    while taken_over.is_none() {
        assert!(cancelled.elapsed() < Duration::from_secs(120), "no takeover in 120 s:\n{}", job.outputs());
        if died.is_none() && !alive(pid) {
            died = Some(cancelled.elapsed());
        }
        assert!(
            !job.output(holder).contains("Executed:"),
            "the cancelled worker finished its task before SIGKILL; this test needs a longer one"
        );
        if (1..=4).any(|i| job.output(i).contains(TAKEOVER)) {
            taken_over = Some(cancelled.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // It kept renewing its lease until SIGKILL, longer than a lease: a live lease is never taken.
    let died =
        died.unwrap_or_else(|| panic!("the task was taken over from a live worker:\n{}", job.outputs()));
    let after_death = taken_over.unwrap() - died;
    eprintln!(
        "scancel: worker {holder} (pid {pid}) died after {died:?}; its task was taken over {after_death:?} later"
    );
    job.wait(Duration::from_secs(300), |_| {});
    let outputs = job.outputs();

    // The lease ran out one lease after the worker's last renewal, and the waiting workers look
    // right after a lease they saw would expire. The margin covers the store's one-second
    // clock and a loaded machine.
    assert!(after_death <= lease + Duration::from_secs(2), "took {after_death:?}:\n{outputs}");

    let states = job.states();
    for i in 1..=4 {
        let expected = if i == holder { "CANCELLED" } else { "COMPLETED" };
        assert_eq!(
            states.get(&i).map(String::as_str),
            Some(expected),
            "array task {i}: {states:?}\n{outputs}"
        );
    }
    let cancelled_output = job.output(holder);
    assert!(cancelled_output.contains("CANCELLED"), "SLURM says so in its output:\n{cancelled_output}");
    assert!(!cancelled_output.contains("Executed:"), "it died before finishing:\n{cancelled_output}");
    // One of the three took the task over, from it, once, and ran it; nobody ran it twice.
    let takeovers: Vec<&str> = outputs.lines().filter(|line| line.starts_with(TAKEOVER)).collect();
    assert_eq!(takeovers.len(), 1, "{outputs}");
    assert!(takeovers[0].contains(&format!("(pid {pid} on ")), "{outputs}");
    let executed: usize = (1..=4).map(|i| count(&job.output(i), "Executed:", "tasks")).sum();
    assert_eq!(executed, 1, "{outputs}");
    assert!(!outputs.contains("duplicate execution") && !outputs.contains("jug-host: warning"), "{outputs}");
    assert_complete(&dir, &store, &graph, 1);
}
