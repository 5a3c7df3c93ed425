//! The host side of the `jug:task/graph` imports: what a graph builder calls to declare its
//! graph, and to ask what is stored. Each works only while building; a task that calls one gets
//! an error, because a task must be a function of its inputs alone.

use jug_core::graph::DeclareError;
use jug_core::{GraphBuilder, Key};

use crate::batch::{parse_calls, resolve_batch_refs};
use crate::bindings::jug::task::graph;
use crate::sandbox::{Libraries, ONLY_WHILE_BUILDING, Phase, Sandbox};

impl Sandbox {
    /// One `declare` (no `component`) or `declare-in`: the task's key, or why not. A failure
    /// is also kept as the build's first error, which is what the build reports if the
    /// builder then fails.
    fn declare_one(&mut self, component: Option<&str>, function: &str, args: Vec<u8>) -> Result<Key, String> {
        let Phase::Build { builder, first_error, components, grants, ahead, .. } = &mut self.phase else {
            return Err(ONLY_WHILE_BUILDING.into());
        };
        // A grant the user did not allow ends the build on its own (see `policy`).
        grants.check_template(&args)?;
        let before = builder.so_far().len();
        let declared = match component {
            None => builder.declare(function, args),
            Some(component) => match components.library(component) {
                Ok(library) => {
                    let index = builder.library(component, library);
                    builder.declare_in(index, function, args)
                }
                Err(problem) => Err(DeclareError::BadComponent { component: component.to_owned(), problem }),
            },
        };
        match declared {
            Ok(key) => {
                offer_ahead(ahead, builder, before);
                Ok(key)
            }
            Err(e) => {
                let message = e.to_string();
                first_error.get_or_insert(e);
                Err(message)
            }
        }
    }
}

impl graph::Host for Sandbox {
    fn declare(&mut self, function: String, args: Vec<u8>) -> Result<Vec<u8>, String> {
        self.declare_one(None, &function, args).map(|key| key.0.to_vec())
    }

    fn declare_in(&mut self, component: String, function: String, args: Vec<u8>) -> Result<Vec<u8>, String> {
        self.declare_one(Some(&component), &function, args).map(|key| key.0.to_vec())
    }

    fn declare_many(&mut self, calls: Vec<u8>) -> Result<Vec<u8>, graph::DeclareFailure> {
        if !matches!(self.phase, Phase::Build { .. }) {
            return Err(graph::DeclareFailure { declared: Vec::new(), message: ONLY_WHILE_BUILDING.into() });
        }
        // All or nothing for a malformed batch: it is read whole before anything is declared.
        let calls = parse_calls(&calls).map_err(|problem| graph::DeclareFailure {
            declared: Vec::new(),
            message: format!("declare-many: {problem}"),
        })?;
        let mut keys = Vec::with_capacity(calls.len() * 32);
        for call in &calls {
            let declared = resolve_batch_refs(call.args, &keys)
                .and_then(|args| self.declare_one(call.component, call.function, args));
            match declared {
                Ok(key) => keys.extend_from_slice(&key.0),
                Err(message) => return Err(graph::DeclareFailure { declared: keys, message }),
            }
        }
        Ok(keys)
    }

    fn set_limits(&mut self, key: Vec<u8>, limits: graph::TaskLimits) -> Result<(), String> {
        let Phase::Build { builder, ahead, .. } = &mut self.phase else {
            return Err(ONLY_WHILE_BUILDING.into());
        };
        let key = jug_core::Key(key.try_into().map_err(|_| "a key is 32 bytes".to_owned())?);
        let limits = jug_core::graph::TaskLimits {
            timeout_ms: limits.timeout_ms,
            fuel: limits.fuel,
            max_memory: limits.max_memory,
        };
        builder.set_limits(&key, limits).map_err(|e| e.to_string())?;
        if let Some(ahead) = ahead {
            ahead.limits_set(&key, limits);
        }
        Ok(())
    }

    fn value(&mut self, key: Vec<u8>) -> Option<Vec<u8>> {
        let Phase::Build { builder, results, store_error, .. } = &mut self.phase else {
            return None; // during `run`: a task sees nothing but its inputs
        };
        let key = jug_core::Key(key.try_into().ok()?);
        if !builder.contains(&key) {
            // Only tasks declared in this build: asking for others would let a graph read
            // results it has no business depending on.
            builder.hit_barrier();
            return None;
        }
        match results.get(&key) {
            Ok(Some(bytes)) => Some(bytes),
            Ok(None) => {
                builder.hit_barrier();
                None
            }
            Err(e) => {
                store_error.get_or_insert(e);
                builder.hit_barrier();
                None
            }
        }
    }

    fn compound(&mut self, name: String, args: Vec<u8>) -> Result<(Vec<u8>, bool), String> {
        let Phase::Build { builder, results, store_error, first_error, components, .. } = &mut self.phase
        else {
            return Err(ONLY_WHILE_BUILDING.into());
        };
        let handle = match builder.compound_key(&name, &args) {
            Ok(key) => key,
            Err(e) => {
                let message = e.to_string();
                first_error.get_or_insert(e);
                return Err(message);
            }
        };
        match stored_compound(builder, results.as_ref(), components.as_ref(), &handle) {
            Ok(Some(key)) => Ok((key.0.to_vec(), true)),
            Ok(None) => Ok((handle.0.to_vec(), false)),
            Err(e) => {
                store_error.get_or_insert(e.clone());
                Err(e)
            }
        }
    }

    fn declare_compound(&mut self, key: Vec<u8>, inner: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
        let Phase::Build { builder, first_error, .. } = &mut self.phase else {
            return Err(ONLY_WHILE_BUILDING.into());
        };
        let as_key =
            |bytes: Vec<u8>| bytes.try_into().map(jug_core::Key).map_err(|_| "a key is 32 bytes".to_owned());
        let key = as_key(key)?;
        let inner = inner.map(as_key).transpose()?;
        match builder.declare_compound(key, inner) {
            Ok(key) => Ok(key.0.to_vec()),
            Err(e) => {
                let message = e.to_string();
                first_error.get_or_insert(e);
                Err(message)
            }
        }
    }

    fn input_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        match &mut self.phase {
            Phase::Run => Err(ONLY_WHILE_BUILDING.into()),
            Phase::Build { grants, .. } => {
                grants.check(&path, crate::policy::Access::File)?;
                crate::files::digest(grants.working_directory(), &path).map(|d| d.to_vec())
            }
        }
    }

    fn barrier(&mut self) -> bool {
        let Phase::Build { builder, results, store_error, .. } = &mut self.phase else {
            return false;
        };
        let answer = results.all_stored(&mut builder.keys());
        match answer {
            Ok(true) => true,
            Ok(false) => {
                builder.hit_barrier();
                false
            }
            Err(e) => {
                store_error.get_or_insert(e);
                builder.hit_barrier();
                false
            }
        }
    }
}

/// Offers a task the builder just declared (if the declaration added one: a task declared
/// twice is one task) to the threads running tasks ahead.
fn offer_ahead(ahead: &Option<std::sync::Arc<crate::ahead::Ahead>>, builder: &GraphBuilder, before: usize) {
    if let Some(ahead) = ahead
        && builder.so_far().len() > before
    {
        ahead.declared(builder.so_far(), before);
    }
}

/// The key under which the compound task `handle` has a result valid for the code of the
/// libraries its sub-graph used (see `jug_core::compound`), if it has one: under the handle
/// itself when the sub-graph used only the graph's own code, else under the key the libraries
/// named in its record give with their code as it is now.
fn stored_compound(
    builder: &mut GraphBuilder,
    results: &dyn jug_core::results::Results,
    components: &dyn Libraries,
    handle: &Key,
) -> Result<Option<Key>, String> {
    if results.all_stored(&mut std::iter::once(handle))? {
        return Ok(Some(*handle));
    }
    let record = jug_core::compound::record_key(handle);
    if !results.all_stored(&mut std::iter::once(&record))? {
        return Ok(None);
    }
    // A record that does not read, or names a library that is gone or broken, is as good as
    // none: the sub-graph is declared again (and says what is wrong with the library).
    let Some(names) = results.get(&record)?.as_deref().and_then(jug_core::compound::decode) else {
        return Ok(None);
    };
    let mut libraries = Vec::with_capacity(names.len());
    for name in names {
        match components.library(&name) {
            Ok(library) => libraries.push((name, library.code)),
            Err(_) => return Ok(None),
        }
    }
    let key = builder.stored_compound(handle, libraries).map_err(|e| e.to_string())?;
    Ok(results.all_stored(&mut std::iter::once(&key))?.then_some(key))
}
