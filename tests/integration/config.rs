//! Jug's configuration files (`.jugrc`, `jugrc`, `~/.config/jug/jugrc`) under every subcommand.
//!
//! Every test dir is its own git root (so no file above it counts) and has its own home (so
//! the machine's global file does not either).

use std::path::Path;

use crate::util::ExitCode;
use crate::util::{JugCommand, TestDir};

const SHORT: &str = "Executed:  101 tasks\nLoaded:  0 tasks\n** Total: 101 tasks.\n";

fn config_dir(name: &str) -> TestDir {
    let dir = TestDir::with_guest(name, "primes.wasm");
    std::fs::create_dir(dir.join(".git")).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `jug-host ARGS…` in `cwd`, with config files on and `home` as the home directory.
fn jug(cwd: &Path, home: &Path, args: &[&str]) -> JugCommand {
    let dir = TestDir { path: cwd.to_owned() };
    dir.jug(args)
        .env("HOME", home.to_str().unwrap())
        .env("XDG_CONFIG_HOME", home.join(".config").to_str().unwrap())
        .env_remove("JUG_NO_CONFIG")
}

#[test]
fn jugdir_takes_jugs_placeholders() {
    let dir = config_dir("config-jugdir");
    write(&dir.join(".jugrc"), "# Jug's own setting\n[main]\njugdir = %(jugfile)s.rcdata\n");
    jug(&dir.path, &dir.join("home"), &["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("primes.rcdata"), 101);
    assert!(!dir.join("primes.jugdata").exists());
    let status = jug(&dir.path, &dir.join("home"), &["status", "primes.wasm", "--short"]).run();
    assert_eq!(status.expect_code(ExitCode::Ok).stdout, "All tasks complete (101 tasks).\n");

    // %(date)s is today's date; %% is a percent sign.
    write(&dir.join(".jugrc"), "[main]\nstore = %(jugfile)s-%(date)s-100%%\n");
    jug(&dir.path, &dir.join("home"), &["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let stores: Vec<String> = std::fs::read_dir(&dir.path)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("primes-"))
        .collect();
    assert_eq!(stores.len(), 1, "{stores:?}");
    let date = stores[0].strip_prefix("primes-").unwrap().strip_suffix("-100%").unwrap();
    assert!(date.len() == 10 && date.chars().filter(|&c| c == '-').count() == 2, "{date}");
}

#[test]
fn a_section_sets_its_subcommand_only() {
    let dir = config_dir("config-section");
    write(&dir.join(".jugrc"), "[execute]\nshort = on\n[value]\nshort = on\n");
    let run = jug(&dir.path, &dir.join("home"), &["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, SHORT);
    // `value` has no --short: a warning, and the file goes on counting.
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("jug-host: warning: "), "{}", run.stderr);
    assert!(run.stderr.contains(".jugrc: [value] unknown option `short`"), "{}", run.stderr);
    let status =
        jug(&dir.path, &dir.join("home"), &["status", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert!(status.stdout.contains("Task name"), "{}", status.stdout);

    // In one file a section beats [main]; [main] keys a subcommand lacks are ignored.
    write(&dir.join(".jugrc"), "[execute]\nshort = no\n[main]\nshort = yes\nno_such_option = 1\n");
    let status =
        jug(&dir.path, &dir.join("home"), &["status", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!((status.stdout.as_str(), status.stderr.as_str()), ("All tasks complete (101 tasks).\n", ""));
    let run = jug(&dir.path, &dir.join("home"), &["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("    Executed      Loaded  Task name"), "{}", run.stdout);
}

#[test]
fn the_command_line_and_environment_beat_the_files() {
    let dir = config_dir("config-command-line");
    write(&dir.join(".jugrc"), "[main]\njugdir = from-file\n[execute]\nwait_cycle_time = not a number\n");
    let home = dir.join("home");
    jug(&dir.path, &home, &["execute", "primes.wasm", "--store", "flagged", "--wait-cycle-time=1"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("flagged"), 101);
    jug(&dir.path, &home, &["execute", "primes.wasm", "--jugdir", "aliased", "--wait-cycle-time", "1"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("aliased"), 101);
    write(&dir.join(".jugrc"), "[main]\njugdir = from-file\n");
    jug(&dir.path, &home, &["execute", "primes.wasm"])
        .env("JUG_STORE", "from-env")
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("from-env"), 101);
    assert!(!dir.join("from-file").exists());

    // A setting that conflicts with the command line gives way too: NAME beats `pattern`.
    write(&dir.join(".jugrc"), "[main]\njugdir = flagged\n[value]\npattern = /count|write/\n");
    let value =
        jug(&dir.path, &home, &["value", "primes.wasm", "count_primes"]).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "25\n");
    // Graph arguments after `--` keep working with settings in play.
    let status = jug(&dir.path, &home, &["status", "primes.wasm", "--short", "--", "10"]).run();
    assert_eq!(
        status.expect_code(ExitCode::NotDone).stdout,
        "2 tasks waiting to be run, 0 failed, 9 complete, (none active).\n"
    );
}

#[test]
fn a_closer_file_beats_a_farther_one() {
    // outside/.jugrc  repo/.git  repo/.jugrc  repo/sub/jugrc  repo/sub/.jugrc
    let dir = TestDir::with_guest("config-closer", "primes.wasm");
    let home = dir.join("home");
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(&dir.join(".jugrc"), "[main]\njugdir = outside\n[execute]\njobs = not a number\n");
    write(&repo.join(".jugrc"), "[main]\njugdir = repo-store\n[execute]\nshort = on\n");
    write(&repo.join("sub/jugrc"), "[main]\njugdir = plain-store\n");
    write(&repo.join("sub/.jugrc"), "[main]\njugdir = sub-store\n");
    let graph = dir.join("primes.wasm");
    let graph = graph.to_str().unwrap();

    // Key by key: the store from sub/.jugrc (over sub/jugrc), --short from the repo's root.
    let run = jug(&repo.join("sub"), &home, &["execute", graph]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, SHORT);
    assert_eq!(dir.result_count("repo/sub/sub-store"), 101);
    assert!(!repo.join("sub/plain-store").exists());

    let run = jug(&repo, &home, &["execute", graph]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, SHORT);
    assert_eq!(dir.result_count("repo/repo-store"), 101);
    assert!(!dir.join("outside").exists());
}

#[test]
fn the_global_file_fills_in() {
    let dir = config_dir("config-global");
    let home = dir.join("home");
    write(&home.join(".config/jug/jugrc"), "[main]\njugdir = global-store\n[execute]\nshort = on\n");
    // Read only when no file before it in the list exists.
    write(&home.join(".jug/configrc"), "[main]\njugdir = legacy-store\n");
    write(&dir.join(".jugrc"), "[execute]\nshort = off\n");
    let run = jug(&dir.path, &home, &["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_ne!(run.stdout, SHORT);
    assert_eq!(dir.result_count("global-store"), 101);

    // $XDG_CONFIG_HOME/jug/jugrc, then ~/.config/jugrc, then ~/.jug/configrc.
    let xdg = dir.join("xdg");
    write(&xdg.join("jug/jugrc"), "[main]\njugdir = xdg-store\n");
    let with_xdg =
        jug(&dir.path, &home, &["execute", "primes.wasm"]).env("XDG_CONFIG_HOME", xdg.to_str().unwrap());
    with_xdg.run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("xdg-store"), 101);
    std::fs::remove_file(home.join(".config/jug/jugrc")).unwrap();
    write(&home.join(".config/jugrc"), "[main]\njugdir = config-store\n");
    jug(&dir.path, &home, &["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("config-store"), 101);
    std::fs::remove_file(home.join(".config/jugrc")).unwrap();
    jug(&dir.path, &home, &["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("legacy-store"), 101);
}

#[test]
fn bad_files_are_one_line_usage_errors() {
    let dir = config_dir("config-bad");
    let home = dir.join("home");
    let bad = [
        ("[execute]\nwait-cycle-time = abc\n", ".jugrc: [execute] wait-cycle-time: invalid value 'abc'"),
        ("[main]\nlease = soon\n", ".jugrc: [main] lease: invalid value 'soon'"),
        ("[execute]\nshort = maybe\n", ".jugrc: [execute] short: expected on/off"),
        ("[main]\njugdir = %(user)s\n", ".jugrc: [main] jugdir: unknown placeholder `%(user)s`"),
        ("[execute]\n\nshort\n", ".jugrc:3: expected `key = value`, got `short`"),
        ("short = on\n", ".jugrc:1: `short` comes before any [section]"),
    ];
    for (text, needle) in bad {
        write(&dir.join(".jugrc"), text);
        jug(&dir.path, &home, &["execute", "primes.wasm"])
            .run()
            .expect_one_line_error(ExitCode::Usage, needle);
    }
    assert!(!dir.join("primes.jugdata").exists());

    // A bad value only matters to the subcommand that would use it.
    write(&dir.join(".jugrc"), "[execute]\nwait-cycle-time = abc\n");
    let status =
        jug(&dir.path, &home, &["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stderr, "");
}

#[test]
fn jug_no_config_turns_the_files_off() {
    let dir = config_dir("config-off");
    let home = dir.join("home");
    write(&dir.join(".jugrc"), "[main]\njugdir = from-file\n[execute]\nwait-cycle-time = abc\n");
    write(&home.join(".config/jug/jugrc"), "[main]\nbroken line\n");
    let run = jug(&dir.path, &home, &["execute", "primes.wasm", "--short"]).env("JUG_NO_CONFIG", "1").run();
    assert_eq!(run.expect_code(ExitCode::Ok).stdout, SHORT);
    assert_eq!(dir.result_count("primes.jugdata"), 101);
    assert!(!dir.join("from-file").exists());
    // `0` means "no, do read them".
    jug(&dir.path, &home, &["status", "primes.wasm"])
        .env("JUG_NO_CONFIG", "0")
        .run()
        .expect_one_line_error(ExitCode::Usage, "jugrc:2: expected `key = value`, got `broken line`");
}

#[test]
fn a_repository_file_cannot_grant_directories() {
    let dir = config_dir("config-grants");
    let home = dir.join("home");
    std::fs::create_dir(dir.join("data")).unwrap();
    let hostile = [
        ("[main]\ndir = ..:/up:rw\n", ".jugrc: [main] dir: a repository's configuration cannot grant"),
        ("[execute]\ndir = data\n", ".jugrc: [execute] dir: a repository's configuration cannot grant"),
        (
            "[status]\nallow_write = data\n",
            ".jugrc: [status] allow_write: a repository's configuration cannot",
        ),
        ("[main]\nallow-write = .\n", "give --allow-write on the command line"),
        // Nor loosen the limits that keep the host safe from the graph's builder.
        (
            "[main]\nbuild-timeout = 100y\n",
            ".jugrc: [main] build-timeout: a repository's configuration cannot loosen",
        ),
        ("[execute]\nmax_input = 1TiB\n", "give --max-input on the command line"),
        ("[main]\nmax-graph-tasks = 99999999999\n", "cannot loosen the limits that keep the host safe"),
    ];
    for (text, needle) in hostile {
        write(&dir.join(".jugrc"), text);
        for command in ["execute", "status"] {
            jug(&dir.path, &home, &[command, "primes.wasm"])
                .run()
                .expect_one_line_error(ExitCode::Usage, needle);
        }
        // Whatever the command line says.
        jug(&dir.path, &home, &["status", "primes.wasm", "--dir", "data"])
            .run()
            .expect_one_line_error(ExitCode::Usage, needle);
    }
    assert!(!dir.join("primes.jugdata").exists());

    // The user's own file may grant, and execute says what tasks may use before it runs them.
    std::fs::remove_file(dir.join(".jugrc")).unwrap();
    write(&home.join(".config/jug/jugrc"), "[main]\ndir = data\n");
    let run = jug(&dir.path, &home, &["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    let data = std::fs::canonicalize(dir.join("data")).unwrap();
    assert_eq!(
        run.stderr,
        format!(
            "jug-host: tasks may use {} as /data (read-only); results go to primes.jugdata\n",
            data.display()
        )
    );
    // No grant, no notice.
    std::fs::remove_file(home.join(".config/jug/jugrc")).unwrap();
    let run = jug(&dir.path, &home, &["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stderr, "");
}

#[test]
fn a_repository_file_names_a_store_elsewhere_only_once_the_user_confirms_it() {
    let dir = config_dir("config-store-elsewhere");
    let home = dir.join("home");
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::os::unix::fs::symlink("..", repo.join("up")).unwrap();
    let graph = dir.join("primes.wasm");
    let graph = graph.to_str().unwrap();
    let elsewhere = [
        ("redis://u:sekrit@127.0.0.1:1/", "sends results to redis://u:***@127.0.0.1:1/, outside the working"),
        ("s3://team/experiments", "JUG_TRUST_STORE=s3://team/experiments"),
        ("../outside", "a line `store = ../outside` under [trust] in"),
        ("up/outside", "sends results to up/outside"),
        ("file:///tmp/jug-outside", "sends results to file:///tmp/jug-outside"),
    ];
    for (store, needle) in elsewhere {
        write(&repo.join(".jugrc"), &format!("[main]\njugdir = {store}\n"));
        for command in ["execute", "status", "cleanup"] {
            let run = jug(&repo, &home, &[command, graph]).run();
            let run = run.expect_one_line_error(
                ExitCode::Usage,
                ".jugrc: [main] jugdir: this repository's configuration",
            );
            assert!(run.stderr.contains(needle) && !run.stderr.contains("sekrit"), "{}", run.stderr);
        }
    }
    assert!(!dir.join("outside").exists());

    // Inside the working directory: used as it is.
    write(&repo.join(".jugrc"), "[main]\njugdir = stores/./mine\n");
    jug(&repo, &home, &["execute", graph, "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("repo/stores/mine"), 101);

    // Confirmed by the environment, or by the user's own file (which covers what is below).
    write(&repo.join(".jugrc"), "[main]\njugdir = ../outside\n");
    let confirmed =
        jug(&repo, &home, &["execute", graph, "--short"]).env("JUG_TRUST_STORE", "memory:// ../outside");
    confirmed.run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("outside"), 101);
    write(&repo.join(".jugrc"), "[main]\njugdir = redis://u:sekrit@127.0.0.1:1/2?prefix=p\n");
    write(&home.join(".config/jug/jugrc"), "[trust]\nstore = redis://u:sekrit@127.0.0.1:1\n");
    // Confirmed, it is used: the unreachable server is now the error (exit 5, not 2).
    let run = jug(&repo, &home, &["status", graph])
        .env("JUG_STORE_RETRY_SECS", "0")
        .run()
        .expect_code(ExitCode::Store);
    assert!(
        !run.stderr.contains("sekrit") && run.stderr.contains("redis://u:***@127.0.0.1:1/2"),
        "{}",
        run.stderr
    );
    // The command line needs no confirmation.
    let mine = repo.join("stores/mine");
    jug(&repo, &home, &["status", graph, "--short", "--store", mine.to_str().unwrap()])
        .run()
        .expect_code(ExitCode::Ok);
}
