//! One run of one task, given its dependencies' results: what `execute` does under a lock,
//! and what `verify` does again to check a stored result.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Failure, FailureKind, Run, Runner};
use crate::cbor::{self, References};
use crate::failure::bytes;
use crate::{Graph, Key};

/// Splices the dependencies' results (`inputs`, by key) into the task's argument template,
/// runs it — in a sandbox, or host-side for a compound task — and checks that its result is
/// deterministic CBOR. A part of a result that is not there (a tasklet) fails the task like
/// any other error.
pub fn run_task(graph: &Graph, runner: &dyn Runner, task: usize, inputs: &HashMap<Key, Arc<[u8]>>) -> Run {
    match input(graph, runner.max_input(), task, inputs) {
        Err(failure) => Run { outcome: Err(failure), log: Vec::new() },
        Ok(input) => run_input(graph, runner, task, &input),
    }
}

/// [`run_task`] on an input already spliced (by [`input`]).
pub(super) fn run_input(graph: &Graph, runner: &dyn Runner, task: usize, input: &[u8]) -> Run {
    let spec = graph.task(task);
    let run = match spec.compound {
        true => compound_result(graph.name(task), input),
        false => runner.run(graph.component(task), spec, graph.function(task), input),
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

/// The task's input: its template with the parts of results it takes spliced in, if that is
/// at most `max_input` bytes. The size is known from the parts' lengths before anything is
/// allocated, so a template naming one big result many times costs nothing to refuse.
pub(super) fn input(
    graph: &Graph,
    max_input: u64,
    task: usize,
    inputs: &HashMap<Key, Arc<[u8]>>,
) -> Result<Vec<u8>, Failure> {
    let spec = graph.task(task);
    let values = spec
        .references
        .iter()
        .map(|r| {
            cbor::project(&inputs[&r.key], &r.path).map_err(|e| {
                let source = graph.index_of(&r.key).map_or("a task", |i| graph.name(i));
                Failure {
                    kind: FailureKind::BadArgument,
                    message: format!("an argument taken from {source}: {e}"),
                }
            })
        })
        .collect::<Result<Vec<&[u8]>, Failure>>()?;
    let size = cbor::spliced_len(&spec.template, &spec.references, &values);
    if size > max_input {
        let message = format!(
            "would take an input of {} (its arguments with {} task results spliced in), more than the --max-input limit of {}; raise it with --max-input",
            bytes(size),
            values.len(),
            bytes(max_input)
        );
        return Err(Failure { kind: FailureKind::InputTooLarge, message });
    }
    Ok(cbor::splice(&spec.template, &spec.references, &values))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GraphBuilder;
    use crate::cbor::test_reference as reference;

    /// Runs nothing: the input is refused before a run, or passed back as the result.
    struct Echo(u64);

    impl Runner for Echo {
        fn run(&self, _: &crate::graph::ComponentRef, _: &crate::TaskSpec, _: &str, input: &[u8]) -> Run {
            Run { outcome: Ok(input.to_vec()), log: Vec::new() }
        }

        fn max_input(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn an_input_over_the_limit_is_refused_before_it_is_built() {
        let mut builder = GraphBuilder::new("g", Key([1; 32]));
        let big = builder.declare("big", vec![0x81, 0x01]).unwrap();
        // [big, big, …] 20 times: 20 × 1 MiB from one 1 MiB result.
        let template = [vec![0x94], reference(&big).repeat(20)].concat();
        builder.declare("uses", template).unwrap();
        let graph = builder.finish();
        let mut result = vec![0x5a, 0x00, 0x10, 0x00, 0x00];
        result.resize(5 + (1 << 20), b'z');
        let inputs = HashMap::from([(big, Arc::from(result))]);

        let refused = run_task(&graph, &Echo(8 << 20), 1, &inputs).outcome.unwrap_err();
        assert_eq!(refused.kind, FailureKind::InputTooLarge);
        assert_eq!(
            refused.message,
            "would take an input of 20 MiB (its arguments with 20 task results spliced in), more than \
             the --max-input limit of 8 MiB; raise it with --max-input"
        );
        let input = run_task(&graph, &Echo(21 << 20), 1, &inputs).outcome.unwrap();
        assert_eq!(input.len() as u64, 1 + 20 * (5 + (1 << 20)));
    }
}
