//! One run of one task, given its dependencies' results: what `execute` does under a lock,
//! and what `verify` does again to check a stored result.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Failure, FailureKind, Run, Runner};
use crate::cbor::{self, References};
use crate::{Graph, Key};

/// Splices the dependencies' results (`inputs`, by key) into the task's argument template,
/// runs it — in a sandbox, or host-side for a compound task — and checks that its result is
/// deterministic CBOR. A part of a result that is not there (a tasklet) fails the task like
/// any other error.
pub fn run_task(graph: &Graph, runner: &dyn Runner, task: usize, inputs: &HashMap<Key, Arc<[u8]>>) -> Run {
    let spec = graph.task(task);
    let input = cbor::splice(&spec.template, &spec.references, |r| {
        cbor::project(&inputs[&r.key], &r.path).map_err(|e| {
            let source = graph.index_of(&r.key).map_or("a task", |i| graph.name(i));
            format!("an argument taken from {source}: {e}")
        })
    });
    let run = match (input, spec.compound) {
        (Err(message), _) => {
            Run { outcome: Err(Failure { kind: FailureKind::BadArgument, message }), log: Vec::new() }
        }
        (Ok(input), false) => runner.run(graph.component(task), spec, graph.function(task), &input),
        (Ok(input), true) => compound_result(graph.name(task), &input),
    };
    let outcome = run.outcome.and_then(|bytes| match cbor::validate(&bytes, References::Forbidden) {
        Ok(_) => Ok(bytes),
        Err(e) => Err(Failure {
            kind: FailureKind::BadResult,
            message: format!("returned a result that is not deterministic CBOR: {e}"),
        }),
    });
    Run { outcome, log: run.log }
}

/// A compound task's result: the result of its sub-graph's final task, its only argument.
/// Without one, the builder found the result stored, and it has gone since: the sub-graph
/// must be declared again, which the next build does.
fn compound_result(name: &str, input: &[u8]) -> Run {
    let outcome = match cbor::project(input, &[cbor::Step::Index(0)]) {
        Ok(result) => Ok(result.to_vec()),
        Err(_) => Err(Failure {
            kind: FailureKind::BadArgument,
            message: format!(
                "the result of the compound task {name} is gone since the graph was built; run execute again to rebuild its sub-graph"
            ),
        }),
    };
    Run { outcome, log: Vec::new() }
}
