//! Declaring tasks: each declaration is checked (a valid name, deterministic CBOR arguments,
//! references only to tasks declared before it), keyed, and counted against the graph's
//! limits, so a hostile builder gets a one-line error rather than the host's memory.

use std::collections::HashMap;

use super::{ComponentRef, Graph, TaskLimits, TaskSpec};
use crate::Key;
use crate::cbor::{self, CborError, Reference, References};
use crate::compound::Library;
use crate::trace;

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

/// Collects declarations into a [`Graph`], computing each task's key. What the compound
/// steps (`compound_tasks`) also use is `pub(super)`; the rest is this file's.
pub struct GraphBuilder {
    pub(super) graph: Graph,
    function_ids: HashMap<(u32, String), u32>,
    /// Compound keys handed out in this build, with their names and handles.
    pub(super) compounds: HashMap<Key, (String, Key)>,
    /// The libraries behind compound keys handed out for stored results.
    pub(super) stored_compounds: HashMap<Key, Vec<Library>>,
    /// The names under which the builder asked for each library component (by index).
    pub(super) library_names: Vec<(String, u32)>,
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
    pub(super) fn admit(&mut self, bytes: usize) -> Result<(), DeclareError> {
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
    pub(super) fn take_grant_contents(
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
    pub(super) fn keyed_code(&self, code: Key) -> Key {
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

    pub(super) fn push(&mut self, task: TaskSpec) -> Key {
        let key = task.key;
        self.graph.index.insert(key, self.graph.tasks.len() as u32);
        self.graph.tasks.push(task);
        key
    }

    pub(super) fn function_id(&mut self, component: u32, function: &str) -> u32 {
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

    /// The graph as declared so far.
    pub fn so_far(&self) -> &Graph {
        &self.graph
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
