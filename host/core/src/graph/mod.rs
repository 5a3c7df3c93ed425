//! The task graph: what a component's builder declared, in definition order.
//!
//! Definition order is always a topological order (a task can only refer to tasks declared
//! before it), and it is Jug's schedule order.
//!
//! [`Graph`] is what the rest of jug-host reads; [`GraphBuilder`] (in `builder`) is how a
//! component's builder adds to it, one declaration at a time, each checked and keyed as it
//! comes; `compound_tasks` holds the builder's two steps for compound tasks; `component` is
//! the code identity that keys derive from.

mod builder;
mod component;
mod compound_tasks;
#[cfg(test)]
mod tests;

pub use builder::{DeclareError, GrantContents, GraphBuilder, GraphLimits};
pub use component::{ComponentRef, batch_base, batch_variant};

use std::collections::HashMap;

use crate::Key;
use crate::cbor::{self, Reference};
use crate::compound::{self, Library};

/// One declared task.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// Index into [`Graph::function`].
    pub function: u32,
    /// The deterministic CBOR argument array, with task references.
    pub template: Vec<u8>,
    /// Where the references are in `template`.
    pub references: Vec<Reference>,
    /// The tasks this one needs, as indices into the graph, without repeats.
    pub dependencies: Vec<u32>,
    pub key: Key,
    /// Files of the working directory the task reads (mounted read-only in its sandbox).
    pub files: Vec<cbor::FileInput>,
    /// Directories of the working directory granted to this task (`jug::directory`).
    pub dirs: Vec<cbor::DirInput>,
    /// A compound task: its result is its only argument (the sub-graph's final result),
    /// copied by the host; nothing runs in a sandbox.
    pub compound: bool,
    /// Limits the builder set for this task (`graph.set-limits`), over `execute`'s.
    pub limits: TaskLimits,
    /// What its trace derives from (see [`crate::trace`]); `None` for a task whose result is
    /// never reused from another key: a compound task, or one that may write through a grant.
    pub shape: Option<Key>,
}

/// Per-task limits from the graph builder; `None` keeps the command line's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskLimits {
    pub timeout_ms: Option<u64>,
    pub fuel: Option<u64>,
    pub max_memory: Option<u64>,
}

/// The library code a compound task's result is valid for (see [`compound`]).
#[derive(Debug, Clone)]
pub struct CompoundCode {
    /// The key from its name and arguments, which its record is found by.
    pub handle: Key,
    /// The libraries its sub-graph's final task depends on, sorted by name.
    pub libraries: Vec<Library>,
    /// Declared with its sub-graph in this build: storing its result records the libraries.
    pub with_sub_graph: bool,
}

/// A whole graph as declared by one component for one set of arguments.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The graph file's stem (`primes` for `primes.wasm`): Jug's module name.
    pub stem: String,
    /// The component's code identity.
    pub code: Key,
    /// Components whose functions the tasks run; the first is the graph's own.
    components: Vec<ComponentRef>,
    functions: Vec<String>,
    /// For each function, the index of its component in `components`.
    function_components: Vec<u32>,
    names: Vec<String>,
    tasks: Vec<TaskSpec>,
    index: HashMap<Key, u32>,
    /// The compound tasks' code, by task index.
    compound_code: HashMap<u32, CompoundCode>,
    /// The builder stopped at a barrier (`barrier()`/`bvalue()` found a result missing): more
    /// tasks follow once these are done.
    at_barrier: bool,
    /// The directories every task sees (`--dir`), by guest path, as they went into the keys.
    grants: std::collections::BTreeMap<String, crate::manifest::Granted>,
}

impl Graph {
    /// Whether building stopped at a barrier, so that this is only the first part of the graph.
    pub fn at_barrier(&self) -> bool {
        self.at_barrier
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn tasks(&self) -> &[TaskSpec] {
        &self.tasks
    }

    pub fn task(&self, index: usize) -> &TaskSpec {
        &self.tasks[index]
    }

    /// The function a task runs, as exported by the component (`is_prime`).
    pub fn function(&self, index: usize) -> &str {
        &self.functions[self.tasks[index].function as usize]
    }

    /// The component whose function a task runs.
    pub fn component(&self, index: usize) -> &ComponentRef {
        &self.components[self.function_components[self.tasks[index].function as usize] as usize]
    }

    /// The code identity a task's key derives from: its function's, if its component declares
    /// one, else the component's (the environment is mixed in on top, see `keyed_code`).
    pub fn code_of(&self, index: usize) -> Key {
        self.component(index).code_of(self.function(index))
    }

    /// The task's name as Jug shows it: `stem.function` (`primes.is_prime`).
    pub fn name(&self, index: usize) -> &str {
        &self.names[self.tasks[index].function as usize]
    }

    /// Every distinct task name, in order of first declaration.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn index_of(&self, key: &Key) -> Option<usize> {
        self.index.get(key).map(|&i| i as usize)
    }

    /// The directories every task sees (`--dir`), by guest path.
    pub fn grants(&self) -> &std::collections::BTreeMap<String, crate::manifest::Granted> {
        &self.grants
    }

    /// The record to store with a compound task's result (see [`compound`]): its key and
    /// bytes, when its sub-graph was declared in this build and used a library.
    pub fn compound_record(&self, index: usize) -> Option<(Key, Vec<u8>)> {
        let code = self.compound_code.get(&(index as u32))?;
        (code.with_sub_graph && !code.libraries.is_empty())
            .then(|| (compound::record_key(&code.handle), compound::encode(&code.libraries)))
    }

    /// The keys of stored objects this graph relies on besides its tasks' results: the records
    /// of its compound tasks' libraries (`cleanup` keeps them).
    pub fn record_keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.compound_code
            .values()
            .filter(|c| !c.libraries.is_empty())
            .map(|c| compound::record_key(&c.handle))
    }

    /// For each task, the tasks that depend on it directly.
    pub fn dependents(&self) -> Vec<Vec<u32>> {
        let mut dependents = vec![Vec::new(); self.tasks.len()];
        for (i, task) in self.tasks.iter().enumerate() {
            for &dep in &task.dependencies {
                dependents[dep as usize].push(i as u32);
            }
        }
        dependents
    }
}
