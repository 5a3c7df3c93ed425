//! The command line: Jug's subcommands and option names, as clap definitions.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod values;

pub use values::size;
use values::{duration, jobs, key_prefix, seconds, verbose_level};

/// Run Jug task graphs compiled to WebAssembly components: every task in its own sandbox,
/// every result stored under a hash of its code and inputs, shared through one store.
#[derive(Debug, Parser)]
#[command(name = "jug-host", version, about, max_term_width = 100, after_long_help = epilogue())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub jug: JugHabits,
}

/// Options Jug's job scripts pass to every subcommand.
#[derive(Debug, Args)]
pub struct JugHabits {
    /// Debug logs (as RUST_LOG=debug does for jug-host's own crates) and wasm backtraces
    /// with source lines where the component has debug info
    #[arg(long, global = true)]
    pub debug: bool,

    /// Jug's log level: debug, info, warning, error or critical [default: warning]
    #[arg(long, global = true, value_name = "LEVEL", value_parser = verbose_level)]
    pub verbose: Option<&'static str>,

    /// Accepted for Jug's job scripts: jug-host prints no citation notice to silence
    #[arg(long, global = true)]
    pub will_cite: bool,
}

/// What `--help` (and the man page) ends with: the environment, then the exit codes.
fn epilogue() -> String {
    format!("{ENVIRONMENT}\n{}", jug_host::exit_code::ExitCode::help_text())
}

/// The ENVIRONMENT section of `--help` (and of the man page): every variable jug-host reads.
pub const ENVIRONMENT: &str = "\
ENVIRONMENT:
  JUG_STORE               the store, as --store
  JUG_LEASE               execute --lease
  JUG_TIMEOUT, JUG_FUEL, JUG_MAX_MEMORY, JUG_MAX_RESULT, JUG_MAX_LOG, JUG_MAX_INPUT
                          per-task limits, as --timeout, --fuel, --max-memory, ...
  JUG_BUILD_TIMEOUT, JUG_BUILD_MAX_MEMORY, JUG_MAX_GRAPH_TASKS, JUG_MAX_GRAPH_BYTES
                          graph builder limits, as --build-timeout, ...
  JUG_MAX_TASKS, JUG_MAX_HOURS, JUG_MAX_MINUTES, JUG_MAX_SECONDS, JUG_EXIT_IF_FILE_EXISTS
                          when execute stops taking new tasks (Jug's; --no-check-environment
                          ignores them)
  JUG_CACHE_DIR, JUG_CACHE_MAX
                          compiled-code cache [default: ~/.cache/jug-host, 4GiB]
  JUG_PROGRESS            always | never: the compile progress line [default: on a terminal]
  JUG_NO_CONFIG           1: read no jugrc configuration file
  JUG_TRUST_STORE         a store a repository jugrc names that you confirm using (a URL
                          covers the stores below it)
  JUG_STORE_RETRY_SECS    how long to retry an S3/Redis store that is down [default: 60]
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT, AWS_REGION,
  AWS_ALLOW_HTTP          S3 credentials and endpoint
  RUST_LOG                log filter (tracing's syntax), over --verbose and --debug
  NO_COLOR                set: no colour in messages
  COLUMNS                 terminal width for tables
";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Execute tasks
    Execute(ExecuteArgs),
    /// Print status
    Status(StatusArgs),
    /// Print the results of tasks as JSON, one per line, in definition order (or as CBOR)
    Value(ValueArgs),
    /// Print the output of tasks' last runs, and how they ended
    Log(LogArgs),
    /// Invalidate the results of a task (and of every task that depends on it)
    Invalidate(InvalidateArgs),
    /// Cleanup: remove result files that are not used
    Cleanup(CleanupArgs),
    /// Returns 0 if all tasks are finished. 1 otherwise.
    Check(CheckArgs),
    /// Wait until all tasks are done, then exit.
    SleepUntil(SleepUntilArgs),
    /// Simply count tasks
    Count(CountArgs),
    /// Graph: produce a diagram of task dependencies
    Graph(GraphDiagramArgs),
    /// Run complete tasks again and check that they reproduce their stored results
    Verify(VerifyArgs),
    /// Show, prune or fill this machine's cache of compiled components
    Cache(CacheArgs),
    /// Serve a live, read-only web page of the graph's status, failures, leases and DAG
    Webstatus(WebstatusArgs),
    /// Write Jug's primes example (primes.py) into the current directory, with how to run it
    Demo(DemoArgs),
    /// Print a shell completion script: jug-host completions bash > /etc/bash_completion.d/jug-host
    Completions(CompletionsArgs),
    /// Print the manual page (roff): jug-host man > ~/.local/share/man/man1/jug-host.1
    Man,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Overwrite a primes.py that is already there
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `cache`: the compiled-code cache (`JUG_CACHE_DIR`), bounded by `JUG_CACHE_MAX`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Remove the least recently used entries until the cache holds at most its limit
    /// (JUG_CACHE_MAX, or --max)
    #[arg(long)]
    pub prune: bool,

    /// The limit for --prune [default: JUG_CACHE_MAX, else 4GiB]
    #[arg(long, value_name = "SIZE", value_parser = size, requires = "prune")]
    pub max: Option<u64>,

    /// Remove every entry
    #[arg(long, conflicts_with = "prune")]
    pub clear: bool,

    /// Compile these components (and their per-task variants) into the cache now, so the next
    /// command that runs them starts at once
    #[arg(long, value_name = "COMPONENT.wasm")]
    pub warm: Vec<PathBuf>,
}

/// What every subcommand needs to build the graph and find its store.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The graph component (e.g. primes.wasm); task names are `<file stem>.<function>`
    #[arg(value_name = "GRAPH.wasm")]
    pub graph: PathBuf,

    /// Where results live: a directory, file:///dir, s3://bucket/prefix, redis://host:port/ or
    /// memory:// [default: <stem>.jugdata]
    #[arg(long, visible_alias = "jugdir", env = "JUG_STORE", value_name = "URL")]
    pub store: Option<String>,

    /// Let every task see a host directory, read-only unless `:rw` (which goes into every
    /// key); repeatable. E.g. --dir data, --dir ./data:/input, --dir out:/out:rw
    #[arg(long = "dir", value_name = "HOST[:GUEST][:ro|rw]")]
    pub dirs: Vec<jug_runtime::Grant>,

    /// Let the graph grant its tasks write access (jug::directory(…).writable()) inside DIR,
    /// a directory below the working directory; repeatable. Mounts nothing by itself and
    /// changes no key
    #[arg(long = "allow-write", value_name = "DIR")]
    pub allow_write: Vec<PathBuf>,

    /// Give every task DIR (created if missing) as its working directory, writable: a task's
    /// `open("output.txt", "w")` writes DIR/output.txt. Goes into every key, as a writable
    /// --dir does
    #[arg(long, value_name = "DIR", value_parser = jug_runtime::Grant::workdir)]
    pub workdir: Option<jug_runtime::Grant>,

    #[command(flatten)]
    pub build: BuildLimitArgs,
}

impl GraphArgs {
    /// Every directory the tasks see: the `--dir` grants and the `--workdir`.
    pub fn grants(&self) -> Vec<jug_runtime::Grant> {
        self.dirs.iter().chain(&self.workdir).cloned().collect()
    }
}

/// What the graph builder may use: it runs in jug-host's process, before any task, whatever
/// graph file it came from.
#[derive(Debug, Args)]
pub struct BuildLimitArgs {
    /// Wall time for the graph builder (compiling the libraries it names not counted)
    #[arg(long, help_heading = BUILD_LIMITS, env = "JUG_BUILD_TIMEOUT", default_value = "60s", value_name = "DURATION", value_parser = duration)]
    pub build_timeout: std::time::Duration,

    /// Memory the graph builder may grow to
    #[arg(long, help_heading = BUILD_LIMITS, env = "JUG_BUILD_MAX_MEMORY", default_value = "2GiB", value_name = "SIZE", value_parser = size)]
    pub build_max_memory: u64,

    /// Tasks the graph may have
    #[arg(long, help_heading = BUILD_LIMITS, env = "JUG_MAX_GRAPH_TASKS", default_value_t = jug_core::graph::GraphLimits::default().max_tasks, value_name = "N")]
    pub max_graph_tasks: u64,

    /// Bytes of all the graph's task arguments (and function names) together
    #[arg(long, help_heading = BUILD_LIMITS, env = "JUG_MAX_GRAPH_BYTES", default_value = "1GiB", value_name = "SIZE", value_parser = size)]
    pub max_graph_bytes: u64,
}

/// Where `--help` lists them (a per-argument heading: one on the struct would also head the
/// arguments that follow it).
const BUILD_LIMITS: &str = "Graph builder limits";

impl BuildLimitArgs {
    pub fn limits(&self) -> jug_runtime::limits::BuildLimits {
        jug_runtime::limits::BuildLimits {
            timeout: self.build_timeout,
            max_memory: self.build_max_memory,
            graph: jug_core::graph::GraphLimits {
                max_tasks: self.max_graph_tasks,
                max_bytes: self.max_graph_bytes,
            },
        }
    }
}

/// Arguments for the graph builder (after `--`); they change the graph, so every subcommand
/// takes them. A separate struct so that it comes after every other positional.
#[derive(Debug, Args)]
pub struct BuilderArgs {
    /// Arguments for the graph builder (after `--`)
    #[arg(last = true, value_name = "GRAPH ARGS")]
    pub words: Vec<String>,
}

/// Jug's task selection: strict `--name` (Jug's `--target`) or loose `--pattern`.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct Selection {
    /// Tasks whose name (or a dotted suffix of it) matches these shell wildcards
    #[arg(long, visible_alias = "target", value_name = "NAME")]
    pub name: Option<String>,

    /// Tasks whose name contains this text, or matches /regex/
    #[arg(long, value_name = "PATTERN")]
    pub pattern: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecuteArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    #[command(flatten)]
    pub selection: Selection,

    /// Run up to N tasks at once in this process [default: number of cores]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = jobs, allow_hyphen_values = true)]
    pub jobs: Option<u32>,

    /// Keep running independent tasks after a task fails (exit code is still 1)
    #[arg(long)]
    pub keep_going: bool,

    /// Mark failed tasks as Failed in the store: nobody retries them until
    /// `cleanup --failed-only`
    #[arg(long)]
    pub keep_failed: bool,

    /// Ignore JUG_MAX_TASKS, JUG_MAX_HOURS/MINUTES/SECONDS, JUG_EXIT_IF_FILE_EXISTS and the
    /// __jug_please_stop_running.txt stop file
    #[arg(long)]
    pub no_check_environment: bool,

    /// Seconds to wait between looks at tasks held by other workers
    #[arg(long, default_value_t = 12.0, value_name = "SECONDS", value_parser = seconds, allow_hyphen_values = true)]
    pub wait_cycle_time: f64,

    /// How many consecutive waits without progress before giving up
    #[arg(long, default_value_t = 150, value_name = "N")]
    pub nr_wait_cycles: u32,

    /// How long a lock lasts unless renewed (renewed every third of it while the task runs);
    /// a worker that dies blocks its tasks this long at most. E.g. 30s, 500ms, 2m
    #[arg(long, env = "JUG_LEASE", default_value = "30s", value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub lease: Duration,

    /// Print one-line summaries instead of tables
    #[arg(long)]
    pub short: bool,

    /// Accepted for Jug's job scripts: jug-host never keeps results in memory between tasks
    #[arg(long)]
    pub aggressive_unload: bool,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

/// What one task may use; a task over a limit fails with a message naming it.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Wall time per task, e.g. 30s, 10m (a task that times out is retried once) [default: none]
    #[arg(long, env = "JUG_TIMEOUT", value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub timeout: Option<Duration>,

    /// Instructions per task, counted the same on every machine [default: none]
    #[arg(long, env = "JUG_FUEL", value_name = "N")]
    pub fuel: Option<u64>,

    /// Memory per task, e.g. 512MiB, 2GiB [default: 4GiB, all a 32-bit guest can address]
    #[arg(long, env = "JUG_MAX_MEMORY", value_name = "SIZE", value_parser = size)]
    pub max_memory: Option<u64>,

    /// Size of one task's result
    #[arg(long, env = "JUG_MAX_RESULT", default_value = "256MiB", value_name = "SIZE", value_parser = size)]
    pub max_result: u64,

    /// What one task may write to stdout, stderr and the log together
    #[arg(long, env = "JUG_MAX_LOG", default_value = "16MiB", value_name = "SIZE", value_parser = size)]
    pub max_log: u64,

    /// Size of one task's input: its arguments with the results of the tasks it uses
    #[arg(long, env = "JUG_MAX_INPUT", default_value = "1GiB", value_name = "SIZE", value_parser = size)]
    pub max_input: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> jug_runtime::Limits {
        jug_runtime::Limits {
            timeout: self.timeout,
            fuel: self.fuel,
            max_memory: self.max_memory,
            max_result: self.max_result,
            max_log: self.max_log,
            max_input: self.max_input,
            ..Default::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    /// One line instead of the table
    #[arg(long)]
    pub short: bool,

    /// Counts per task name and state, and expired leases, as one JSON document
    #[arg(long, conflicts_with = "short")]
    pub json: bool,

    /// Why the tasks NAME picks (`--name` rules) will run: never run, new code, a new input,
    /// new arguments, result removed, or failed; one line per task
    #[arg(long, value_name = "NAME", conflicts_with_all = ["short", "json"])]
    pub explain: Option<String>,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

/// The tasks a command shows: a name (with `--name` rules) or `--pattern`, and or a key.
#[derive(Debug, Args)]
pub struct TaskNames {
    /// Tasks to show, with `--name` rules (e.g. `write_output`, `primes.is_*`)
    #[arg(value_name = "NAME", required_unless_present_any = ["pattern", "key"], conflicts_with = "pattern")]
    pub name: Option<String>,

    /// Tasks to show, with `--pattern` rules (substring or /regex/)
    #[arg(long, value_name = "PATTERN")]
    pub pattern: Option<String>,

    /// Only the task whose key starts with HEX (8 or more hex digits; `log --json` and
    /// `value --json` print keys): one task of many with the same name
    #[arg(long, value_name = "HEX", value_parser = key_prefix)]
    pub key: Option<String>,
}

impl TaskNames {
    /// The name selector, if a name or a pattern was given (`--key` alone looks at every task).
    pub fn selector(&self) -> Result<Option<jug_core::select::Selector>, jug_core::select::SelectError> {
        use jug_core::select::Selector;
        Ok(match (&self.name, &self.pattern) {
            (Some(name), _) => Some(Selector::name(name)?),
            (None, Some(pattern)) => Some(Selector::pattern(pattern)?),
            (None, None) => None,
        })
    }
}

#[derive(Debug, Args)]
pub struct ValueArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    #[command(flatten)]
    pub tasks: TaskNames,

    /// One JSON array of {name, key, value} instead of one value per line
    #[arg(long)]
    pub json: bool,

    /// Binary, for programs: one CBOR array of {"key": hex text, "name": text, "value": the
    /// stored result}, in definition order, the value's bytes exactly as stored (JSON loses
    /// byte strings, big integers and NaN)
    #[arg(long, conflicts_with = "json")]
    pub cbor: bool,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    #[command(flatten)]
    pub tasks: TaskNames,

    /// Show every matching task, also those without a log (of several, only the tasks with
    /// a log or a failure mark are shown)
    #[arg(long)]
    pub all: bool,

    /// One JSON array of every matching task: {name, key, state, marked_failed, log}
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct CleanupMode {
    /// Only remove expired locks (leases of workers that are gone)
    #[arg(long)]
    pub locks_only: bool,

    /// Only remove the failure marks left by `execute --keep-failed`
    #[arg(long)]
    pub failed_only: bool,

    /// Remove unused results but leave every lock alone
    #[arg(long)]
    pub keep_locks: bool,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    #[command(flatten)]
    pub mode: CleanupMode,

    /// List what would be removed, and remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Also remove unused results that no record ties to this graph: other graphs' in a
    /// shared store, and unrecorded ones (Jug's cleanup)
    #[arg(long)]
    pub all_graphs: bool,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct SleepUntilArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    /// Seconds between looks at the store
    #[arg(long, default_value_t = 12.0, value_name = "SECONDS", value_parser = seconds, allow_hyphen_values = true)]
    pub wait_cycle_time: f64,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct CountArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    /// One line instead of the table
    #[arg(long)]
    pub short: bool,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct GraphDiagramArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    /// Label nodes with task names only (do not read the store)
    #[arg(long)]
    pub no_status: bool,

    /// Format `dot` renders to
    #[arg(long, default_value = "png", value_name = "FORMAT")]
    pub file_format: String,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct WebstatusArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    /// Port to listen on (0: any free port; the URL is printed)
    #[arg(long, default_value_t = 8080, value_name = "N")]
    pub port: u16,

    /// Address to listen on; the default keeps the page on this machine
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: std::net::IpAddr,

    /// How often the store is read (once for every browser watching), e.g. 1s, 500ms
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = duration)]
    pub interval: Duration,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    /// Run N complete tasks, picked at random, again [default: 20]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sample: Option<u64>,

    /// Run every complete task again
    #[arg(long, conflicts_with_all = ["sample", "seed"])]
    pub all: bool,

    /// Seed for picking the sample, to repeat one [default: from the clock; printed]
    #[arg(long, value_name = "SEED")]
    pub seed: Option<u64>,

    /// Run up to N tasks at once [default: number of cores]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = jobs, allow_hyphen_values = true)]
    pub jobs: Option<u32>,

    /// One JSON document: the counts, and a verdict per task run
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("selection-required").args(["name", "pattern", "invalid"]).required(true)))]
pub struct InvalidateArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    #[command(flatten)]
    pub selection: Selection,

    /// Jug's spelling of --name for invalidate
    #[arg(long, value_name = "NAME", conflicts_with_all = ["name", "pattern"])]
    pub invalid: Option<String>,

    /// One line instead of the table
    #[arg(long)]
    pub short: bool,

    #[command(flatten)]
    pub builder: BuilderArgs,
}
