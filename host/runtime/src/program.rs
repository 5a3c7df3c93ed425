//! A loaded task component: build its graph, run its tasks.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use jug_core::code::{self, WasmKind};
use jug_core::execute::{Failure, FailureKind, Run, Runner};
use std::sync::Arc;

use jug_core::graph::ComponentRef;
use jug_core::results::Results;
use jug_core::{Graph, GraphBuilder, Key, TaskSpec};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::bindings::{Task, TaskPre};
use crate::policy::{Checker, Policy};
use crate::sandbox::{Phase, Sandbox};
use crate::{BuildError, Grant, Limits, LoadError, cache, engine, files, load_memo};

pub use crate::component_file::MAX_COMPONENT_BYTES;

/// A component ready to instantiate, any number of times, from any thread.
pub struct Program {
    engine: Engine,
    main: Arc<Loaded>,
    components: Arc<Components>,
    limits: Limits,
    /// Host directories every task sees (`--dir`).
    grants: Vec<Grant>,
    /// What the graph may grant its tasks on its own, and the working directory they are
    /// opened from.
    policy: Arc<Policy>,
    /// Keeps the timeout clock running while the program lives.
    _ticker: crate::limits::Ticker,
    slots: engine::Slots,
}

/// One compiled task component.
pub(crate) struct Loaded {
    pre: TaskPre<Sandbox>,
    pub(crate) component: ComponentRef,
    file: String,
    /// Its variant per task function (`cargo jug build`), compiled when a task first runs.
    variants: std::collections::BTreeMap<String, Variant>,
}

/// The variant of a component that runs one task function: what that function's tasks are
/// keyed by, and run in.
struct Variant {
    bytes: Vec<u8>,
    pre: std::sync::OnceLock<Result<TaskPre<Sandbox>, String>>,
}

/// Every component a graph may run: the graph's own and the libraries its builder declared
/// tasks of, each loaded (compiled, or read from the cache) once per process.
pub struct Components {
    engine: Engine,
    linker: Linker<Sandbox>,
    /// The directory of the graph's own component, held open: library paths are below it.
    base: cap_std::fs::Dir,
    libraries: Mutex<Vec<(String, Arc<Loaded>)>>,
    /// Nanoseconds spent loading libraries: the graph builder's clock stops meanwhile.
    loading: Arc<AtomicU64>,
}

impl Program {
    /// Reads, checks and compiles (or loads from the cache) the component at `path`.
    pub fn load(path: &Path) -> Result<Program, LoadError> {
        Program::load_with(path, Limits::default())
    }

    /// [`Program::load`], with limits for every task it runs.
    pub fn load_with(path: &Path, limits: Limits) -> Result<Program, LoadError> {
        let engine = engine::new_engine()?;
        let mut linker = Linker::<Sandbox>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        Task::add_to_linker::<_, HasSelf<_>>(&mut linker, |sandbox| sandbox)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let base = cap_std::fs::Dir::open_ambient_dir(base, cap_std::ambient_authority())
            .map_err(|source| LoadError::Unreadable { path: base.to_owned(), source })?;
        let components = Components {
            engine: engine.clone(),
            linker,
            base,
            libraries: Mutex::new(Vec::new()),
            loading: Arc::default(),
        };
        let main = Arc::new(components.load_main(path)?);
        let _ticker = crate::limits::Ticker::start(&engine);
        let policy =
            Policy::strict().map_err(|source| LoadError::Unreadable { path: PathBuf::from("."), source })?;
        Ok(Program {
            engine,
            main,
            components: Arc::new(components),
            limits,
            grants: Vec::new(),
            policy: Arc::new(policy),
            _ticker,
            slots: engine::Slots::default(),
        })
    }

    /// What the graph may grant its tasks (the default: nothing writable, see `policy`).
    pub fn with_policy(mut self, policy: Policy) -> Program {
        self.policy = Arc::new(policy);
        self
    }

    /// Lets every task see these host directories (`--dir`); read-write ones change every key.
    pub fn with_grants(mut self, grants: Vec<Grant>) -> Program {
        self.grants = grants;
        self
    }

    /// The directories every task sees.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Compiles (or finds in the cache) every per-task variant of the graph's component now,
    /// rather than when its first task runs; returns how many there are.
    pub fn compile_variants(&self) -> Result<usize, String> {
        for function in self.main.variants.keys() {
            self.components.pre_for(&self.main, function)?;
        }
        Ok(self.main.variants.len())
    }

    /// The component's code identity (part of every task key).
    pub fn code(&self) -> Key {
        self.main.component.code
    }

    /// The graph file's stem: the module part of task names.
    pub fn stem(&self) -> &str {
        &self.main.component.stem
    }

    /// Runs the component's graph builder with the words after `--`; `results` answers its
    /// `bvalue`/`barrier` questions. A builder that stops at a barrier gives the graph
    /// declared so far, marked [`Graph::at_barrier`].
    pub fn build(&self, args: &[String], results: Arc<dyn Results>) -> Result<Graph, BuildError> {
        self.build_ahead(args, results, None)
    }

    /// [`Program::build`], offering each task declared to `ahead`, whose threads may run it
    /// while the builder goes on (see `ahead`).
    pub fn build_ahead(
        &self,
        args: &[String],
        results: Arc<dyn Results>,
        ahead: Option<Arc<crate::ahead::Ahead>>,
    ) -> Result<Graph, BuildError> {
        let code = self.code();
        let runs_beside_others = ahead.is_some();
        let environment = crate::grants::environment(&self.grants).map_err(BuildError::Grant)?;
        let mut contents = crate::grants::Contents::new(self.policy.clone());
        let phase = Phase::Build {
            builder: Box::new(
                GraphBuilder::new(self.stem(), code)
                    .with_functions(self.main.component.functions.clone())
                    .with_environment(environment.key)
                    .with_grants(environment.grants)
                    .with_grant_contents(Box::new(move |dir: &jug_core::cbor::DirInput| contents.of(dir)))
                    .with_limits(self.limits.build.graph),
            ),
            first_error: None,
            results,
            store_error: None,
            components: self.components.clone(),
            grants: Box::new(Checker::new(self.policy.clone())),
            ahead,
        };
        let mut store = Store::new(&self.engine, Sandbox::new(&code, phase, &self.limits));
        store.limiter(|sandbox| &mut sandbox.memory);
        self.limits.apply_build(&mut store, self.components.loading.clone());
        let result = match self.slots.instantiate(|| self.main.pre.instantiate(&mut store)) {
            Ok(instance) => {
                if runs_beside_others {
                    let bytes = engine::prefault_for_writing(&mut store);
                    tracing::debug!("prefaulted {bytes} bytes of the builder's memory");
                }
                instance.call_build(&mut store, args)
            }
            Err(e) => Err(e),
        };
        let (output, written) = store.data_mut().take_log();
        let memory_wanted = store.data().memory.exceeded;
        let Phase::Build { builder, first_error, store_error, grants, .. } = store.into_data().phase else {
            unreachable!("the build sandbox stays in the build phase")
        };
        self.slots.dropped();
        let file = self.main.file.clone();
        if let Some(source) = grants.refused {
            return Err(BuildError::Refused { file, source });
        }
        // Past a limit, the builder's own account of what happened (a panic, an error) is only
        // a consequence: the limit is what the user needs to hear about.
        let over_limit = self
            .limits
            .output_over_limit(written)
            .or_else(|| first_error.as_ref().filter(|e| e.is_size_limit()).map(|e| e.to_string()))
            .or_else(|| {
                result.as_ref().err().and_then(|trap| self.limits.build_failure(trap, memory_wanted))
            });
        if let Some(message) = over_limit {
            return Err(BuildError::OverLimit { file, message });
        }
        if let (Err(_) | Ok(Err(_)), Some(source)) = (&result, first_error) {
            return Err(BuildError::Declare { file, source });
        }
        if let Some(message) = store_error {
            return Err(BuildError::Store { file, message });
        }
        let graph = builder.finish();
        match result {
            // Stopping at a barrier is the builder's way of saying "run these first".
            Ok(Err(_)) if graph.at_barrier() => {
                if !output.is_empty() {
                    eprint!("{}", jug_core::text::lines(&String::from_utf8_lossy(&output)));
                }
                Ok(graph)
            }
            Ok(Ok(())) => {
                // What the builder printed is for the user, as a jugfile's prints are.
                if !output.is_empty() {
                    eprint!("{}", jug_core::text::lines(&String::from_utf8_lossy(&output)));
                }
                Ok(graph)
            }
            Ok(Err(message)) => Err(BuildError::Rejected { file, message }),
            Err(trap) => Err(BuildError::Trapped { file, message: describe_trap(&trap, &output) }),
        }
    }
}

impl Runner for Program {
    fn run(&self, component: &ComponentRef, task: &TaskSpec, function: &str, input: &[u8]) -> Run {
        let loaded = match self.loaded(component) {
            Ok(loaded) => loaded,
            Err(failure) => return Run { outcome: Err(failure), log: Vec::new() },
        };
        let pre = match self.components.pre_for(&loaded, function) {
            Ok(pre) => pre,
            Err(message) => {
                return Run { outcome: Err(Failure { kind: FailureKind::Trap, message }), log: Vec::new() };
            }
        };
        // A timeout may be the machine's fault rather than the task's: one more try. Every
        // other failure is deterministic, and trying again would only fail again.
        let limits = self.limits.for_task(&task.limits);
        let first = self.run_once(pre, &limits, task, function, input, None);
        match &first.outcome {
            Err(failure) if failure.kind == FailureKind::Timeout => {
                let mut second = self.run_once(pre, &limits, task, function, input, None);
                let note = format!("jug-host: {}; retried once\n", failure.message);
                second.log.splice(0..0, first.log.into_iter().chain(note.into_bytes()));
                second
            }
            _ => first,
        }
    }

    fn max_input(&self) -> u64 {
        self.limits.max_input
    }
}

impl Program {
    /// The loaded component a task of `component` runs in.
    fn loaded(&self, component: &ComponentRef) -> Result<Arc<Loaded>, Failure> {
        let loaded = match component.code == self.main.component.code {
            true => Some(self.main.clone()),
            false => self.components.loaded(&component.code),
        };
        loaded.ok_or_else(|| Failure {
            // Libraries are loaded while building, which always precedes running.
            kind: FailureKind::BadArgument,
            message: format!("the component {} was not loaded by the graph builder", component.stem),
        })
    }

    /// One run of a task without dependencies (its input is its template) for `ahead`, which
    /// `cancel` stops at the next epoch tick; `None` if it cannot run here or was stopped.
    pub(crate) fn run_ahead(
        &self,
        component: &ComponentRef,
        task: &TaskSpec,
        function: &str,
        cancel: &Arc<AtomicBool>,
    ) -> Option<Run> {
        let loaded = self.loaded(component).ok()?;
        let pre = self.components.pre_for(&loaded, function).ok()?;
        let limits = self.limits.for_task(&task.limits);
        let run = self.run_once(pre, &limits, task, function, &task.template, Some(cancel));
        (!cancel.load(Ordering::SeqCst)).then_some(run)
    }

    /// A store for one task's instance, with its limits applied.
    fn store(&self, sandbox: Sandbox, limits: &Limits, cancel: Option<&Arc<AtomicBool>>) -> Store<Sandbox> {
        let mut store = Store::new(&self.engine, sandbox);
        store.limiter(|sandbox| &mut sandbox.memory);
        limits.apply(&mut store);
        if let Some(cancel) = cancel {
            limits.cancel_with(&mut store, cancel.clone());
        }
        store
    }

    fn run_once(
        &self,
        pre: &TaskPre<Sandbox>,
        limits: &Limits,
        task: &TaskSpec,
        function: &str,
        input: &[u8],
        cancel: Option<&Arc<AtomicBool>>,
    ) -> Run {
        // The files a task reads are copied, checked against the digests in its key, into a
        // private directory mounted read-only: the task sees exactly them.
        // `_mounted` holds the private directory until the task is done.
        let prepared = files::mount(&self.policy.cwd, &task.files).and_then(|mounted| {
            // Most tasks have no directory of their own: no copy of `--dir`'s grants for them.
            let grants: std::borrow::Cow<[Grant]> = match task.dirs.is_empty() {
                true => (&self.grants[..]).into(),
                false => {
                    let own = task
                        .dirs
                        .iter()
                        .map(|dir| files::grant(&self.policy, dir))
                        .collect::<Result<Vec<_>, _>>()?;
                    self.grants.iter().cloned().chain(own).collect::<Vec<_>>().into()
                }
            };
            Ok((Sandbox::with_files(&task.key, Phase::Run, mounted.as_ref(), limits, &grants)?, mounted))
        });
        let (sandbox, _mounted) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => {
                let outcome = Err(Failure { kind: FailureKind::BadArgument, message });
                return Run { outcome, log: Vec::new() };
            }
        };
        let mut store = self.store(sandbox, limits, cancel);
        let result = match self.slots.instantiate(|| pre.instantiate(&mut store)) {
            Ok(instance) => instance.call_run(&mut store, function, input),
            Err(e) => Err(e),
        };
        let memory_wanted = store.data().memory.exceeded;
        let (mut log, written) = store.data_mut().take_log();
        drop(store);
        self.slots.dropped();
        let outcome = match result {
            Ok(Ok(bytes)) => limits.check_result(&bytes).map(|()| bytes),
            Ok(Err(message)) => Err(Failure { kind: FailureKind::GuestError, message }),
            Err(trap) => {
                if let Some(backtrace) = trap.downcast_ref::<wasmtime::WasmBacktrace>() {
                    log.extend_from_slice(format!("{backtrace}\n").as_bytes());
                }
                Err(limits.failure(&trap, memory_wanted).unwrap_or_else(|| Failure {
                    kind: FailureKind::Trap,
                    message: describe_trap(&trap, &log),
                }))
            }
        };
        // Output cut off at the limit makes the run untrustworthy, whatever it returned.
        let outcome = limits.check_output(written).and(outcome);
        Run { outcome, log }
    }
}

impl crate::sandbox::Libraries for Components {
    fn library(&self, name: &str) -> Result<ComponentRef, String> {
        self.load_library(name).map(|loaded| loaded.component.clone())
    }
}

impl Components {
    /// Loads the graph's own component: without reading it when an earlier load of the same,
    /// unchanged file is remembered and its compiled form is cached (see `load_memo`).
    fn load_main(&self, path: &Path) -> Result<Loaded, LoadError> {
        let mut memo = load_memo::Memo::open(path);
        if let Some(facts) = memo.recalled()
            && let Some(loaded) = self.load_recalled(path, facts)
        {
            tracing::debug!("loaded {} as remembered, without reading it", path.display());
            return Ok(loaded);
        }
        let bytes = crate::component_file::read(path)?;
        let digest = cache::digest(&bytes);
        let loaded = self.load(path, &bytes, &digest)?;
        if loaded.variants.is_empty() {
            let functions = (*loaded.component.functions).clone();
            memo.remember(path, &load_memo::Facts { digest, code: loaded.component.code, functions });
        }
        Ok(loaded)
    }

    /// The component an earlier load learned `facts` from, from its cached compiled form;
    /// `None` when that is gone or does not link (then loading from the bytes says why).
    fn load_recalled(&self, path: &Path, facts: load_memo::Facts) -> Option<Loaded> {
        let component = cache::load_compiled(&self.engine, &facts.digest)?;
        let pre = TaskPre::new(self.linker.instantiate_pre(&component).ok()?).ok()?;
        let (stem, file) = names(path);
        let component = ComponentRef { stem, code: facts.code, functions: Arc::new(facts.functions) };
        Some(Loaded { pre, component, file, variants: Default::default() })
    }

    /// Compiles `bytes` (read from `path`, with blake3 `digest`) and checks that it is a task
    /// component.
    fn load(&self, path: &Path, bytes: &[u8], digest: &[u8; 32]) -> Result<Loaded, LoadError> {
        match code::kind(bytes) {
            WasmKind::Component => {}
            WasmKind::CoreModule => return Err(LoadError::CoreModule { path: path.to_owned() }),
            WasmKind::NotWasm => return Err(LoadError::NotWasm { path: path.to_owned() }),
        }
        let invalid = |reason: String| LoadError::Invalid { path: path.to_owned(), reason };
        let code = code::identity(bytes).map_err(|e| invalid(e.to_string()))?;
        let mut functions = code::function_digests(bytes).map_err(|e| invalid(e.to_string()))?;
        // A variant's identity is computed here, from the code that will run, whatever the
        // component declares.
        let mut variants = std::collections::BTreeMap::new();
        for (function, variant) in code::variants(bytes).map_err(|e| invalid(e.to_string()))? {
            functions.insert(
                function.clone(),
                code::computed_identity(variant).map_err(|e| invalid(e.to_string()))?,
            );
            variants.insert(function, Variant { bytes: variant.to_vec(), pre: Default::default() });
        }
        let (stem, file) = names(path);
        let pre = self.prepare(bytes, digest, &file).map_err(|(reason, world)| match world {
            true => LoadError::WrongWorld { path: path.to_owned(), reason },
            false => invalid(reason),
        })?;
        let component = ComponentRef { stem, code, functions: Arc::new(functions) };
        Ok(Loaded { pre, component, file, variants })
    }

    /// Compiles a component (or reads it from the cache) and links it to the task world; an
    /// error says why, and whether the component was of the wrong world.
    fn prepare(
        &self,
        bytes: &[u8],
        digest: &[u8; 32],
        label: &str,
    ) -> Result<TaskPre<Sandbox>, (String, bool)> {
        let component =
            cache::load(&self.engine, bytes, digest, label).map_err(|e| (format!("{e:#}"), false))?;
        let wrong_world = |e: wasmtime::Error| (format!("{e:#}"), true);
        let instance_pre = self.linker.instantiate_pre(&component).map_err(wrong_world)?;
        TaskPre::new(instance_pre).map_err(wrong_world)
    }

    /// What `function`'s tasks run in: its variant (or, for `f.map`/`f.reduce`, f's), compiled
    /// on first use, or the whole component when it has none.
    fn pre_for<'l>(&self, loaded: &'l Loaded, function: &str) -> Result<&'l TaskPre<Sandbox>, String> {
        let base = jug_core::graph::batch_base(function).unwrap_or(function);
        let Some(variant) = loaded.variants.get(function).or_else(|| loaded.variants.get(base)) else {
            return Ok(&loaded.pre);
        };
        let pre = variant.pre.get_or_init(|| {
            let label = format!("{}'s {function} variant", loaded.file);
            self.prepare(&variant.bytes, &cache::digest(&variant.bytes), &label).map_err(|(reason, _)| {
                format!("the variant of `{function}` in {} cannot be loaded: {reason}", loaded.file)
            })
        });
        pre.as_ref().map_err(Clone::clone)
    }

    /// The library a builder names (`graph.declare-in`), loaded on first use. Its path is
    /// relative to the graph's own component, so a graph and its libraries move together.
    ///
    /// The name comes from a possibly hostile graph, and what is said back to it can end up
    /// in a result: so a path that is absolute or has `..` is refused before anything is
    /// touched (a graph cannot tell `/etc/passwd` from `/etc/nonexistent`), and the rest is
    /// opened below the graph's directory without following symbolic links, as a regular
    /// file (a FIFO cannot hang the build, `/dev/zero` cannot fill memory) of at most
    /// [`MAX_COMPONENT_BYTES`].
    fn load_library(&self, name: &str) -> Result<Arc<Loaded>, String> {
        let mut libraries = self.libraries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, loaded)) = libraries.iter().find(|(n, _)| n == name) {
            return Ok(loaded.clone());
        }
        if name.starts_with('/') || name.split('/').any(|part| part == "..") {
            return Err(format!(
                "library `{name}` is not below the graph's directory; name it by a relative path without `..`"
            ));
        }
        let bytes = files::read_below(&self.base, name, MAX_COMPONENT_BYTES)
            .map_err(|problem| problem.describe("library", name))?;
        let started = std::time::Instant::now();
        let loaded = self.load(Path::new(name), &bytes, &cache::digest(&bytes));
        self.loading.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let loaded = Arc::new(loaded.map_err(|e| e.to_string())?);
        libraries.push((name.to_owned(), loaded.clone()));
        Ok(loaded)
    }

    /// A library loaded earlier, by code identity.
    fn loaded(&self, code: &Key) -> Option<Arc<Loaded>> {
        let libraries = self.libraries.lock().unwrap_or_else(|e| e.into_inner());
        libraries.iter().find(|(_, l)| l.component.code == *code).map(|(_, l)| l.clone())
    }
}

/// A component file's stem (the module part of its task names) and its file name.
fn names(path: &Path) -> (String, String) {
    let shown = |s: Option<&std::ffi::OsStr>| s.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    (shown(path.file_stem()), shown(path.file_name()))
}

/// One line for a trap: the guest's panic message when it printed one (that is what the user
/// wrote), else what the engine says.
fn describe_trap(error: &wasmtime::Error, output: &[u8]) -> String {
    let output = String::from_utf8_lossy(output);
    if let Some(at) = output.find("panicked at ") {
        let mut lines = output[at..].lines();
        let location = lines.next().unwrap_or("").trim_end_matches(':');
        let message = lines.next().unwrap_or("").trim();
        return format!("{location}: {message}");
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return format!("called exit({}) instead of returning", exit.0);
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => format!("trapped: {trap}"),
        None => format!("{error:#}").lines().next().unwrap_or("trapped").to_owned(),
    }
}
