//! The task graph: what a component's builder declared, in definition order.
//!
//! Definition order is always a topological order (a task can only refer to tasks declared
//! before it), and it is Jug's schedule order.

use std::collections::HashMap;

use crate::Key;
use crate::cbor::{self, CborError, Reference, References};
use crate::compound::{self, Library};
use crate::trace;

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

/// A component whose task functions a graph uses: the one being built, or a library it
/// declared tasks of (`graph.declare-in`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRef {
    /// The file's stem: Jug's module name, the first part of its task names.
    pub stem: String,
    /// The component's code identity.
    pub code: Key,
    /// The identities of the task functions it declares one for (see
    /// [`crate::code::function_digests`]); a task of any other function is keyed by `code`.
    pub functions: std::sync::Arc<std::collections::BTreeMap<String, Key>>,
}

impl ComponentRef {
    /// A component that declares no identity per function.
    pub fn new(stem: impl Into<String>, code: Key) -> ComponentRef {
        ComponentRef { stem: stem.into(), code, functions: Default::default() }
    }

    /// The code identity of `function`'s tasks: its own, or the component's. The batch
    /// variants of `jug::mapreduce` (`f.map`, `f.reduce`; task names have no dots of their own)
    /// run `f` through the SDK, which every function's identity covers: theirs derives from f's.
    pub fn code_of(&self, function: &str) -> Key {
        if let Some(&code) = self.functions.get(function) {
            return code;
        }
        let variant = batch_variant(function);
        match variant.and_then(|(base, variant)| Some((self.functions.get(base)?, variant))) {
            Some((code, variant)) => {
                let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-12 batch variant identity");
                hasher.update(&code.0);
                hasher.update(variant.as_bytes());
                Key(*hasher.finalize().as_bytes())
            }
            None => self.code,
        }
    }
}

/// `("f", "map")` for `f.map`, `("f", "reduce")` for `f.reduce`: the batch variants of
/// `jug::mapreduce`, which run `f`'s code.
pub fn batch_variant(function: &str) -> Option<(&str, &str)> {
    function.rsplit_once('.').filter(|(_, variant)| matches!(*variant, "map" | "reduce"))
}

/// The function whose code a task of `function` runs: `f` for `f.map` and `f.reduce`.
pub fn batch_base(function: &str) -> Option<&str> {
    batch_variant(function).map(|(base, _)| base)
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

/// Why a declaration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclareError {
    #[error("`{0}` is not a valid task function name (use letters, digits, `_`, `-` or `.`)")]
    BadFunctionName(String),
    #[error("the arguments of `{function}` are not deterministic CBOR: {problem}")]
    BadArguments { function: String, problem: CborError },
    #[error("the arguments of `{function}` must be a CBOR array")]
    NotAnArray { function: String },
    #[error("`{function}` refers to task {key}, which was not declared before it")]
    UnknownReference { function: String, key: String },
    #[error("cannot use the task component {component}: {problem}")]
    BadComponent { component: String, problem: String },
    #[error("cannot take the content of the directory `{path}` granted to `{function}`: {problem}")]
    GrantContent { function: String, path: String, problem: String },
    #[error("declared more than {limit} tasks, the --max-graph-tasks limit; raise it with --max-graph-tasks")]
    TooManyTasks { limit: u64 },
    #[error(
        "declared tasks whose arguments take more than {}, the --max-graph-bytes limit; raise it with --max-graph-bytes",
        crate::failure::bytes(*limit)
    )]
    TooManyBytes { limit: u64 },
}

impl DeclareError {
    /// Whether this is the graph outgrowing [`GraphLimits`] rather than one bad declaration.
    pub fn is_size_limit(&self) -> bool {
        matches!(self, DeclareError::TooManyTasks { .. } | DeclareError::TooManyBytes { .. })
    }
}

/// How big a graph may grow in host memory. A builder is untrusted code, and what it declares
/// lives in the host (about 350 bytes per task besides its arguments: a graph of a million
/// tiny tasks peaks at 340 MB), so a builder declaring tasks without end must hit a wall, not
/// the machine's memory. The defaults admit graphs far larger than any real one (five
/// million tasks, 1 GiB of arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphLimits {
    /// Tasks in one graph (`--max-graph-tasks`).
    pub max_tasks: u64,
    /// Bytes of all tasks' arguments and function names together (`--max-graph-bytes`).
    pub max_bytes: u64,
}

impl Default for GraphLimits {
    fn default() -> Self {
        GraphLimits { max_tasks: 5_000_000, max_bytes: 1 << 30 }
    }
}

/// Takes the content digest of a read-only directory granted to one task (see
/// [`GraphBuilder::with_grant_contents`]).
pub type GrantContents = Box<dyn FnMut(&cbor::DirInput) -> Result<Key, String> + Send>;

/// Collects declarations into a [`Graph`], computing each task's key.
pub struct GraphBuilder {
    graph: Graph,
    function_ids: HashMap<(u32, String), u32>,
    /// Compound keys handed out in this build, with their names and handles.
    compounds: HashMap<Key, (String, Key)>,
    /// The libraries behind compound keys handed out for stored results.
    stored_compounds: HashMap<Key, Vec<Library>>,
    /// The names under which the builder asked for each library component (by index).
    library_names: Vec<(String, u32)>,
    /// What the run's environment adds to every key (read-write directory grants), if
    /// anything.
    environment: Option<Key>,
    /// Digests the content of read-only per-task grants; without it they count by path.
    grant_contents: Option<GrantContents>,
    limits: GraphLimits,
    /// Bytes counted against [`GraphLimits::max_bytes`] so far.
    bytes: u64,
}

impl GraphBuilder {
    pub fn new(stem: impl Into<String>, code: Key) -> Self {
        let stem = stem.into();
        GraphBuilder {
            graph: Graph {
                components: vec![ComponentRef::new(stem.clone(), code)],
                stem,
                code,
                functions: Vec::new(),
                function_components: Vec::new(),
                names: Vec::new(),
                tasks: Vec::new(),
                index: HashMap::new(),
                compound_code: HashMap::new(),
                at_barrier: false,
                grants: Default::default(),
            },
            function_ids: HashMap::new(),
            compounds: HashMap::new(),
            stored_compounds: HashMap::new(),
            library_names: Vec::new(),
            environment: None,
            grant_contents: None,
            limits: GraphLimits::default(),
            bytes: 0,
        }
    }

    /// Keys the tasks of the functions in `functions` by their own identity (see
    /// [`ComponentRef::code_of`]) rather than the graph component's.
    pub fn with_functions(
        mut self,
        functions: std::sync::Arc<std::collections::BTreeMap<String, Key>>,
    ) -> Self {
        self.graph.components[0].functions = functions;
        self
    }

    /// Refuses declarations past `limits` (instead of the defaults).
    pub fn with_limits(mut self, limits: GraphLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Counts a new task of `bytes` arguments against the limits, or refuses it.
    fn admit(&mut self, bytes: usize) -> Result<(), DeclareError> {
        if self.graph.tasks.len() as u64 >= self.limits.max_tasks {
            return Err(DeclareError::TooManyTasks { limit: self.limits.max_tasks });
        }
        let total = self.bytes.saturating_add(bytes as u64);
        if total > self.limits.max_bytes {
            return Err(DeclareError::TooManyBytes { limit: self.limits.max_bytes });
        }
        self.bytes = total;
        Ok(())
    }

    /// Records the directories every task sees (their part of the keys is the environment's),
    /// for `status --explain`.
    pub fn with_grants(
        mut self,
        grants: std::collections::BTreeMap<String, crate::manifest::Granted>,
    ) -> Self {
        self.graph.grants = grants;
        self
    }

    /// Makes the content of each read-only directory granted to a task part of its key:
    /// `contents` digests it (on the host, which can read the directory).
    pub fn with_grant_contents(mut self, contents: GrantContents) -> Self {
        self.grant_contents = Some(contents);
        self
    }

    /// Puts the content digest of each read-only grant among `wrappers` into its key form.
    fn take_grant_contents(
        &mut self,
        function: &str,
        wrappers: &mut [cbor::Wrapper],
    ) -> Result<(), DeclareError> {
        let Some(contents) = self.grant_contents.as_mut() else { return Ok(()) };
        for wrapper in wrappers {
            let Some(dir) = wrapper.dir.as_mut().filter(|d| !d.writable) else { continue };
            let content = contents(&*dir).map_err(|problem| DeclareError::GrantContent {
                function: function.to_owned(),
                path: dir.path.clone(),
                problem,
            })?;
            dir.content = Some(content);
            wrapper.key_form = dir.key_form();
        }
        Ok(())
    }

    /// Mixes `environment` into every key this builder derives: tasks that run with, say, a
    /// writable directory are not the tasks that run without one.
    pub fn with_environment(mut self, environment: Option<Key>) -> Self {
        self.environment = environment;
        self
    }

    /// The code identity keys derive from: the component's, with the environment mixed in.
    fn keyed_code(&self, code: Key) -> Key {
        match &self.environment {
            None => code,
            Some(environment) => {
                let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-11 code in an environment");
                hasher.update(&code.0);
                hasher.update(&environment.0);
                Key(*hasher.finalize().as_bytes())
            }
        }
    }

    /// Declares `function(template)` and returns its key. Declaring the same task again (same
    /// key) returns the same key and adds nothing: a task is its key.
    pub fn declare(&mut self, function: &str, template: Vec<u8>) -> Result<Key, DeclareError> {
        self.declare_in(0, function, template)
    }

    /// The index under which tasks of `component` are declared with
    /// [`GraphBuilder::declare_in`] (the graph's own component is 0).
    pub fn component(&mut self, component: ComponentRef) -> u32 {
        match self.graph.components.iter().position(|c| c.code == component.code) {
            Some(index) => index as u32,
            None => {
                self.graph.components.push(component);
                self.graph.components.len() as u32 - 1
            }
        }
    }

    /// [`GraphBuilder::component`] for a library the builder named `name` (its path relative
    /// to the graph): compound tasks whose sub-graphs use it record it under that name.
    pub fn library(&mut self, name: &str, component: ComponentRef) -> u32 {
        let index = self.component(component);
        if !self.library_names.iter().any(|(n, i)| n == name && *i == index) {
            self.library_names.push((name.to_owned(), index));
        }
        index
    }

    /// [`GraphBuilder::declare`] for a function of the component with index `component`: the
    /// key derives from that component's code identity.
    pub fn declare_in(
        &mut self,
        component: u32,
        function: &str,
        template: Vec<u8>,
    ) -> Result<Key, DeclareError> {
        let code = self.keyed_code(self.graph.components[component as usize].code_of(function));
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if function.is_empty() || !function.chars().all(valid_char) {
            return Err(DeclareError::BadFunctionName(function.to_owned()));
        }
        if template.first().is_none_or(|b| b >> 5 != 4) {
            return Err(DeclareError::NotAnArray { function: function.to_owned() });
        }
        let bad = |problem| DeclareError::BadArguments { function: function.to_owned(), problem };
        let (mut references, mut wrappers) =
            cbor::validate_template(&template, References::Allowed).map_err(bad)?;
        self.take_grant_contents(function, &mut wrappers)?;
        // A trace's shape needs the template as declared: taken now if unwrapping will replace
        // it, else only once the task turns out not to be declared yet.
        let may_write = wrappers.iter().any(|w| w.dir.as_ref().is_some_and(|d| d.writable))
            || self.graph.grants.values().any(|g| matches!(g, crate::manifest::Granted::Writable));
        let shape = |template: &[u8], references: &[Reference]| {
            (!may_write).then(|| trace::shape(&code, function, template, references, &wrappers))
        };
        let declared_shape = match wrappers.is_empty() {
            true => None,
            false => Some(shape(&template, &references)),
        };
        // NoHash/CustomHash: the key hashes their key forms, the task gets their values.
        let files: Vec<_> = wrappers.iter().filter_map(|w| w.file.clone()).collect();
        let dirs: Vec<_> = wrappers.iter().filter_map(|w| w.dir.clone()).collect();
        let (key_template, template) = match wrappers.is_empty() {
            true => (None, template),
            false => {
                let keyed = cbor::unwrap(&template, &wrappers, |w| &w.key_form);
                let input = cbor::unwrap(&template, &wrappers, |w| &w.value);
                references = cbor::validate(&input, References::Allowed).map_err(bad)?;
                (Some(keyed), input)
            }
        };
        let mut dependencies = Vec::new();
        for reference in &references {
            let Some(&dep) = self.graph.index.get(&reference.key) else {
                return Err(DeclareError::UnknownReference {
                    function: function.to_owned(),
                    key: reference.key.to_hex(),
                });
            };
            if !dependencies.contains(&dep) {
                dependencies.push(dep);
            }
        }
        let key = Key::derive(&code, function, key_template.as_deref().unwrap_or(&template));
        if self.graph.index.contains_key(&key) {
            return Ok(key);
        }
        self.admit(template.len() + function.len())?;
        let shape = declared_shape.unwrap_or_else(|| shape(&template, &references));
        let function = self.function_id(component, function);
        let limits = TaskLimits::default();
        Ok(self.push(TaskSpec {
            function,
            template,
            references,
            dependencies,
            key,
            files,
            dirs,
            compound: false,
            limits,
            shape,
        }))
    }

    fn push(&mut self, task: TaskSpec) -> Key {
        let key = task.key;
        self.graph.index.insert(key, self.graph.tasks.len() as u32);
        self.graph.tasks.push(task);
        key
    }

    /// Compound tasks, step one: the handle of `name(args)` as a compound task (see
    /// [`compound`]), its key if its sub-graph uses no library. Only keys handed out here or
    /// by [`GraphBuilder::stored_compound`] may be declared with
    /// [`GraphBuilder::declare_compound`].
    pub fn compound_key(&mut self, name: &str, args: &[u8]) -> Result<Key, DeclareError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if name.is_empty() || !name.chars().all(valid_char) {
            return Err(DeclareError::BadFunctionName(name.to_owned()));
        }
        let bad = |problem| DeclareError::BadArguments { function: name.to_owned(), problem };
        cbor::validate(args, References::Forbidden).map_err(bad)?;
        let key = Key::derive(&self.keyed_code(self.graph.code), &format!("compound:{name}"), args);
        self.compounds.insert(key, (name.to_owned(), key));
        Ok(key)
    }

    /// The key of the compound task `handle` (from [`GraphBuilder::compound_key`]) for the
    /// libraries its record names, with their code as it is now; a stored result under it may
    /// be declared with [`GraphBuilder::declare_compound`] without its sub-graph.
    pub fn stored_compound(
        &mut self,
        handle: &Key,
        mut libraries: Vec<Library>,
    ) -> Result<Key, DeclareError> {
        let Some((name, _)) = self.compounds.get(handle).cloned() else {
            return Err(DeclareError::UnknownReference {
                function: "a compound task".into(),
                key: handle.to_hex(),
            });
        };
        libraries.sort();
        libraries.dedup();
        let key = compound::key(handle, &libraries);
        self.compounds.insert(key, (name, *handle));
        self.stored_compounds.insert(key, libraries);
        Ok(key)
    }

    /// The libraries the result of task `index` depends on: the components of the tasks it
    /// depends on, directly or not, other than the graph's own (whose code is in every
    /// compound handle), under every name the builder gave them.
    fn libraries_behind(&self, index: u32) -> Vec<Library> {
        let mut components = std::collections::BTreeSet::new();
        let mut libraries = Vec::new();
        let mut seen = std::collections::HashSet::from([index]);
        let mut pending = vec![index];
        while let Some(task) = pending.pop() {
            if let Some(code) = self.graph.compound_code.get(&task) {
                // Its own libraries cover everything behind it.
                libraries.extend(code.libraries.iter().cloned());
                continue;
            }
            let spec = &self.graph.tasks[task as usize];
            components.insert(self.graph.function_components[spec.function as usize]);
            pending.extend(spec.dependencies.iter().filter(|&&dep| seen.insert(dep)));
        }
        for (name, component) in &self.library_names {
            if *component != 0 && components.contains(component) {
                libraries.push((name.clone(), self.graph.components[*component as usize].code));
            }
        }
        libraries.sort();
        libraries.dedup();
        libraries
    }

    /// Compound tasks, step two: the task named by the compound, whose result is `inner`'s,
    /// under the key its handle and the libraries behind `inner` give (see [`compound`]); or,
    /// with no `inner`, under `key` itself, whose result is already stored. Returns the key.
    pub fn declare_compound(&mut self, key: Key, inner: Option<Key>) -> Result<Key, DeclareError> {
        let Some((name, handle)) = self.compounds.get(&key).cloned() else {
            return Err(DeclareError::UnknownReference {
                function: "a compound task".into(),
                key: key.to_hex(),
            });
        };
        let (key, code, template, references, dependencies) = match inner {
            None => {
                let libraries = self.stored_compounds.get(&key).cloned().unwrap_or_default();
                let code = CompoundCode { handle, libraries, with_sub_graph: false };
                (key, code, vec![0x80], Vec::new(), Vec::new())
            }
            Some(inner) => {
                let Some(&dep) = self.graph.index.get(&inner) else {
                    return Err(DeclareError::UnknownReference { function: name, key: inner.to_hex() });
                };
                let libraries = self.libraries_behind(dep);
                let key = compound::key(&handle, &libraries);
                let code = CompoundCode { handle, libraries, with_sub_graph: true };
                let mut template = vec![0x81, 0xd9, 0x6a, 0x75, 0x58, 0x20];
                template.extend_from_slice(&inner.0);
                let references =
                    cbor::validate(&template, References::Allowed).expect("a well-formed reference");
                (key, code, template, references, vec![dep])
            }
        };
        if self.graph.index.contains_key(&key) {
            return Ok(key);
        }
        self.admit(name.len())?;
        self.graph.compound_code.insert(self.graph.tasks.len() as u32, code);
        let function = self.function_id(0, &name);
        let files = Vec::new();
        let limits = TaskLimits::default();
        let dirs = Vec::new();
        self.push(TaskSpec {
            function,
            template,
            references,
            dependencies,
            key,
            files,
            dirs,
            compound: true,
            limits,
            shape: None,
        });
        Ok(key)
    }

    fn function_id(&mut self, component: u32, function: &str) -> u32 {
        if let Some(&id) = self.function_ids.get(&(component, function.to_owned())) {
            return id;
        }
        let id = self.graph.functions.len() as u32;
        self.graph.functions.push(function.to_owned());
        self.graph.function_components.push(component);
        let stem = &self.graph.components[component as usize].stem;
        self.graph.names.push(format!("{stem}.{function}"));
        self.function_ids.insert((component, function.to_owned()), id);
        id
    }

    /// Sets the limits of a task declared in this build.
    pub fn set_limits(&mut self, key: &Key, limits: TaskLimits) -> Result<(), DeclareError> {
        let Some(&index) = self.graph.index.get(key) else {
            return Err(DeclareError::UnknownReference { function: "set-limits".into(), key: key.to_hex() });
        };
        self.graph.tasks[index as usize].limits = limits;
        Ok(())
    }

    /// Notes that the builder asked for a result that is not stored yet.
    pub fn hit_barrier(&mut self) {
        self.graph.at_barrier = true;
    }

    /// Whether `key` was declared in this build.
    pub fn contains(&self, key: &Key) -> bool {
        self.graph.index.contains_key(key)
    }

    /// The keys declared so far, in definition order.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.graph.tasks.iter().map(|t| &t.key)
    }

    pub fn finish(self) -> Graph {
        self.graph
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::test_reference as reference;

    #[test]
    fn keys_chain_through_references() {
        let mut builder = GraphBuilder::new("g", Key([9; 32]));
        let a = builder.declare("leaf", vec![0x81, 0x01]).unwrap();
        let b = builder.declare("leaf", vec![0x81, 0x02]).unwrap();
        let sum = builder.declare("sum", [vec![0x82], reference(&a), reference(&b)].concat()).unwrap();
        // Re-declaring is idempotent.
        assert_eq!(builder.declare("leaf", vec![0x81, 0x01]).unwrap(), a);
        let graph = builder.finish();
        assert_eq!(graph.len(), 3);
        assert_eq!(graph.task(2).dependencies, vec![0, 1]);
        assert_eq!(graph.task(2).key, sum);
        assert_eq!(graph.name(2), "g.sum");
        assert_eq!(graph.dependents()[0], vec![2]);

        // Changing one leaf changes that leaf and the sum, and not the other leaf.
        let mut changed = GraphBuilder::new("g", Key([9; 32]));
        let a2 = changed.declare("leaf", vec![0x81, 0x03]).unwrap();
        let b2 = changed.declare("leaf", vec![0x81, 0x02]).unwrap();
        let sum2 = changed.declare("sum", [vec![0x82], reference(&a2), reference(&b2)].concat()).unwrap();
        assert_ne!(a, a2);
        assert_eq!(b, b2);
        assert_ne!(sum, sum2);
    }

    #[test]
    fn tasks_of_another_component_are_keyed_and_named_by_it() {
        let mut builder = GraphBuilder::new("g", Key([1; 32]));
        let stats = builder.component(ComponentRef::new("stats", Key([2; 32])));
        assert_eq!(builder.component(ComponentRef::new("stats", Key([2; 32]))), stats);
        let own = builder.declare("mean", vec![0x81, 0x01]).unwrap();
        let theirs = builder.declare_in(stats, "mean", vec![0x81, 0x01]).unwrap();
        assert_ne!(own, theirs);
        assert_eq!(theirs, Key::derive(&Key([2; 32]), "mean", &[0x81, 0x01]));
        let uses = builder.declare("show", [vec![0x81], reference(&theirs)].concat()).unwrap();
        let graph = builder.finish();
        assert_eq!(graph.name(0), "g.mean");
        assert_eq!(graph.name(1), "stats.mean");
        assert_eq!(graph.component(1).code, Key([2; 32]));
        assert_eq!(graph.component(2).code, Key([1; 32]));
        assert_eq!(graph.task(2).key, uses);
        assert_eq!(graph.task(2).dependencies, vec![1]);
    }

    /// `[tag 27257 [path, "/d", writable]]`
    fn granting(path: &str, writable: bool) -> Vec<u8> {
        let mut template = vec![0x81, 0xd9, 0x6a, 0x79, 0x83, 0x60 | path.len() as u8];
        template.extend_from_slice(path.as_bytes());
        template.extend_from_slice(&[0x62, b'/', b'd', if writable { 0xf5 } else { 0xf4 }]);
        template
    }

    #[test]
    fn a_read_only_grant_counts_in_its_task_key_by_content() {
        let keys = |content: u8| {
            let mut builder = GraphBuilder::new("g", Key([1; 32])).with_grant_contents(Box::new(
                move |dir: &cbor::DirInput| match dir.path.as_str() {
                    "data" => Ok(Key([content; 32])),
                    other => Err(format!("no {other}")),
                },
            ));
            let read = builder.declare("read", granting("data", false)).unwrap();
            let write = builder.declare("write", granting("out", true)).unwrap();
            let plain = builder.declare("plain", vec![0x81, 0x01]).unwrap();
            let missing = builder.declare("read", granting("gone", false)).unwrap_err();
            assert!(matches!(missing, DeclareError::GrantContent { .. }), "{missing}");
            let graph = builder.finish();
            assert_eq!(graph.task(0).dirs[0].content, Some(Key([content; 32])));
            // The task gets the guest path, whatever the content.
            assert_eq!(graph.task(0).template, [0x81, 0x62, b'/', b'd']);
            // Early cutoff: the content is in the read's trace; a task that may write through
            // a grant has none (its run is an effect a copied result would not repeat).
            assert!(graph.task(1).shape.is_none() && graph.task(2).shape.is_some());
            (read, write, plain, graph.task(0).shape.expect("a reader has a trace"))
        };
        let (read, write, plain, shape) = keys(1);
        let (read2, write2, plain2, shape2) = keys(2);
        assert_ne!(read, read2);
        assert_ne!(shape, shape2);
        assert_eq!((write, plain), (write2, plain2));
    }

    #[test]
    fn a_function_with_an_identity_of_its_own_is_keyed_by_it_and_so_are_its_batch_variants() {
        let table = std::collections::BTreeMap::from([("f".to_owned(), Key([3; 32]))]);
        let keys = |f_code: u8, component: u8| {
            let table = table.keys().map(|n| (n.clone(), Key([f_code; 32]))).collect();
            let mut builder =
                GraphBuilder::new("g", Key([component; 32])).with_functions(std::sync::Arc::new(table));
            ["f", "f.map", "f.reduce", "g", "g.map"]
                .map(|function| builder.declare(function, vec![0x81, 0x01]).unwrap())
        };
        let base = keys(3, 1);
        // Another component identity: only the functions without one of their own change.
        let other_component = keys(3, 2);
        assert_eq!(base[..3], other_component[..3]);
        assert_ne!(base[3], other_component[3]);
        assert_ne!(base[4], other_component[4]);
        // Another identity of f: f and its variants change, g does not.
        let other_f = keys(4, 1);
        assert!((0..3).all(|i| base[i] != other_f[i]));
        assert_eq!(base[3..], other_f[3..]);
        // The variants are told apart from each other and from f.
        assert!(base[0] != base[1] && base[1] != base[2] && base[0] != base[2]);
    }

    #[test]
    fn bad_declarations_are_refused() {
        let mut builder = GraphBuilder::new("g", Key([0; 32]));
        assert!(matches!(builder.declare("a b", vec![0x80]), Err(DeclareError::BadFunctionName(_))));
        assert!(matches!(builder.declare("f", vec![0x01]), Err(DeclareError::NotAnArray { .. })));
        assert!(matches!(
            builder.declare("f", vec![0x81, 0x18, 0x01]),
            Err(DeclareError::BadArguments { .. })
        ));
        let dangling = [vec![0x81], reference(&Key([5; 32]))].concat();
        assert!(matches!(builder.declare("f", dangling), Err(DeclareError::UnknownReference { .. })));
        assert!(builder.finish().is_empty());
    }

    #[test]
    fn a_graph_stops_growing_at_its_limits() {
        // The defaults admit a million tasks (`examples/bench`'s largest graph).
        assert!(GraphLimits::default().max_tasks >= 1_000_000);
        let limits = GraphLimits { max_tasks: 3, max_bytes: 1 << 20 };
        let mut builder = GraphBuilder::new("g", Key([0; 32])).with_limits(limits);
        for i in 0..3u8 {
            builder.declare("f", vec![0x81, i]).unwrap();
        }
        // Declaring a task again adds nothing, so it is still answered.
        assert!(builder.declare("f", vec![0x81, 0x00]).is_ok());
        let refused = builder.declare("f", vec![0x81, 0x03]).unwrap_err();
        assert_eq!(refused, DeclareError::TooManyTasks { limit: 3 });
        assert!(refused.to_string().contains("raise it with --max-graph-tasks"), "{refused}");
        assert_eq!(builder.finish().len(), 3);

        // 1 KiB arguments against a 4 KiB budget: three fit (with their function names).
        let limits = GraphLimits { max_tasks: 100, max_bytes: 4 << 10 };
        let mut builder = GraphBuilder::new("g", Key([0; 32])).with_limits(limits);
        let declare = |builder: &mut GraphBuilder, i: u8| {
            let mut template = vec![0x81, 0x59, 0x04, 0x00];
            template.extend(std::iter::repeat_n(i, 1024));
            builder.declare("f", template)
        };
        for i in 0..3 {
            declare(&mut builder, i).unwrap();
        }
        let refused = declare(&mut builder, 3).unwrap_err();
        assert_eq!(refused, DeclareError::TooManyBytes { limit: 4 << 10 });
        assert!(refused.is_size_limit());
        assert_eq!(
            refused.to_string(),
            "declared tasks whose arguments take more than 4 KiB, the --max-graph-bytes limit; raise it with --max-graph-bytes"
        );
    }
}
