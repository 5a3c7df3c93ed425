//! Compound tasks (see [`crate::compound`]), as the builder declares them: a handle from the
//! name and arguments, then the task itself, keyed by the handle and the library code behind
//! its sub-graph's final task, or, with no sub-graph, under a stored result's key.

use super::{CompoundCode, DeclareError, GraphBuilder, TaskLimits, TaskSpec};
use crate::Key;
use crate::cbor::{self, References};
use crate::compound::{self, Library};

impl GraphBuilder {
    /// Compound tasks, step one: the handle of `name(args)` as a compound task (see
    /// [`compound`]), its key if its sub-graph uses no library. Only keys handed out here or
    /// by [`GraphBuilder::stored_compound`] may be declared with
    /// [`GraphBuilder::declare_compound`].
    ///
    /// `args` may hold what a task's arguments may (Jug keys a compound task as the task
    /// `f(*args)`): a reference to a task declared before enters the handle as its key, and
    /// NoHash, CustomHash, file inputs and directory grants as their key forms, so the handle
    /// changes exactly when the key of a task with these arguments would. Nothing depends on
    /// them: the sub-graph's tasks do, if it uses them.
    pub fn compound_key(&mut self, name: &str, args: &[u8]) -> Result<Key, DeclareError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if name.is_empty() || !name.chars().all(valid_char) {
            return Err(DeclareError::BadFunctionName(name.to_owned()));
        }
        let bad = |problem| DeclareError::BadArguments { function: name.to_owned(), problem };
        let (references, mut wrappers) = cbor::validate_template(args, References::Allowed).map_err(bad)?;
        if let Some(unknown) = references.iter().find(|r| !self.graph.index.contains_key(&r.key)) {
            return Err(DeclareError::UnknownReference {
                function: name.to_owned(),
                key: unknown.key.to_hex(),
            });
        }
        self.take_grant_contents(name, &mut wrappers)?;
        let keyed = match wrappers.is_empty() {
            true => None,
            false => Some(cbor::unwrap(args, &wrappers, |w| &w.key_form)),
        };
        let keyed = keyed.as_deref().unwrap_or(args);
        let key = Key::derive(&self.keyed_code(self.graph.code), &format!("compound:{name}"), keyed);
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
}
