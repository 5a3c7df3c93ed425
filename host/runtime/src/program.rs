//! A loaded task component: build its graph, run its tasks.

use std::path::Path;

use jug_core::code::{self, WasmKind};
use jug_core::execute::{Failure, FailureKind, Run, Runner};
use std::sync::Arc;

use jug_core::cbor::FileInput;
use jug_core::results::Results;
use jug_core::{Graph, GraphBuilder, Key};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::bindings::{Task, TaskPre};
use crate::sandbox::{Phase, Sandbox};
use crate::{BuildError, LoadError, cache, engine, files};

/// A component ready to instantiate, any number of times, from any thread.
pub struct Program {
    engine: Engine,
    pre: TaskPre<Sandbox>,
    code: Key,
    stem: String,
    file: String,
}

impl Program {
    /// Reads, checks and compiles (or loads from the cache) the component at `path`.
    pub fn load(path: &Path) -> Result<Program, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => LoadError::NotFound { path: path.to_owned() },
            _ => LoadError::Unreadable { path: path.to_owned(), source },
        })?;
        match code::kind(&bytes) {
            WasmKind::Component => {}
            WasmKind::CoreModule => {
                return Err(LoadError::CoreModule { path: path.to_owned() });
            }
            WasmKind::NotWasm => {
                return Err(LoadError::NotWasm { path: path.to_owned() });
            }
        }
        let invalid = |reason: String| LoadError::Invalid { path: path.to_owned(), reason };
        let code = code::identity(&bytes).map_err(|e| invalid(e.to_string()))?;
        let engine = engine::new_engine()?;
        let component = cache::load(&engine, &bytes).map_err(|e| invalid(format!("{e:#}")))?;

        let wrong_world =
            |e: wasmtime::Error| LoadError::WrongWorld { path: path.to_owned(), reason: format!("{e:#}") };
        let mut linker = Linker::<Sandbox>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        Task::add_to_linker::<_, HasSelf<_>>(&mut linker, |sandbox| sandbox)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let instance_pre = linker.instantiate_pre(&component).map_err(wrong_world)?;
        let pre = TaskPre::new(instance_pre).map_err(wrong_world)?;

        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let file = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Program { engine, pre, code, stem, file })
    }

    /// The component's code identity (part of every task key).
    pub fn code(&self) -> Key {
        self.code
    }

    /// The graph file's stem: the module part of task names.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Runs the component's graph builder with the words after `--`; `results` answers its
    /// `bvalue`/`barrier` questions. A builder that stops at a barrier gives the graph
    /// declared so far, marked [`Graph::at_barrier`].
    pub fn build(&self, args: &[String], results: Arc<dyn Results>) -> Result<Graph, BuildError> {
        let phase = Phase::Build {
            builder: Box::new(GraphBuilder::new(&self.stem, self.code)),
            first_error: None,
            results,
            store_error: None,
        };
        let mut store = Store::new(&self.engine, Sandbox::new(&self.code, phase));
        let result = match self.pre.instantiate(&mut store) {
            Ok(instance) => instance.call_build(&mut store, args),
            Err(e) => Err(e),
        };
        let output = store.data_mut().take_log();
        let Phase::Build { builder, first_error, store_error, .. } = store.into_data().phase else {
            unreachable!("the build sandbox stays in the build phase")
        };
        let file = self.file.clone();
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
                    eprint!("{}", String::from_utf8_lossy(&output));
                }
                Ok(graph)
            }
            Ok(Ok(())) => {
                // What the builder printed is for the user, as a jugfile's prints are.
                if !output.is_empty() {
                    eprint!("{}", String::from_utf8_lossy(&output));
                }
                Ok(graph)
            }
            Ok(Err(message)) => Err(BuildError::Rejected { file, message }),
            Err(trap) => Err(BuildError::Trapped { file, message: describe_trap(&trap, &output) }),
        }
    }
}

impl Runner for Program {
    fn run(&self, key: &Key, function: &str, input: &[u8], files: &[FileInput]) -> Run {
        // The files a task reads are copied, checked against the digests in its key, into a
        // private directory mounted read-only: the task sees exactly them.
        // `_mounted` holds the private directory until the task is done.
        let prepared = files::mount(files)
            .and_then(|mounted| Ok((Sandbox::with_files(key, Phase::Run, mounted.as_ref())?, mounted)));
        let (sandbox, _mounted) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => {
                let outcome = Err(Failure { kind: FailureKind::BadArgument, message });
                return Run { outcome, log: Vec::new() };
            }
        };
        let mut store = Store::new(&self.engine, sandbox);
        let result = match self.pre.instantiate(&mut store) {
            Ok(instance) => instance.call_run(&mut store, function, input),
            Err(e) => Err(e),
        };
        let mut log = store.data_mut().take_log();
        let outcome = match result {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(message)) => Err(Failure { kind: FailureKind::GuestError, message }),
            Err(trap) => {
                if let Some(backtrace) = trap.downcast_ref::<wasmtime::WasmBacktrace>() {
                    log.extend_from_slice(format!("{backtrace}\n").as_bytes());
                }
                Err(Failure { kind: FailureKind::Trap, message: describe_trap(&trap, &log) })
            }
        };
        Run { outcome, log }
    }
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
