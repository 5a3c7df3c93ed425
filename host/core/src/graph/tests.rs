//! Keys, names, grants, batch variants and limits of declared graphs.

use super::*;
use crate::Key;
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
    assert!(matches!(builder.declare("f", vec![0x81, 0x18, 0x01]), Err(DeclareError::BadArguments { .. })));
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

#[test]
fn a_compound_handle_keys_task_arguments_as_a_task_key_would() {
    let mut builder = GraphBuilder::new("g", Key([4; 32]));
    let a = builder.declare("leaf", vec![0x81, 0x01]).unwrap();
    let b = builder.declare("leaf", vec![0x81, 0x02]).unwrap();
    // A reference enters the handle by its key: another task, another handle.
    let on_a = builder.compound_key("twice", &[vec![0x81], reference(&a)].concat()).unwrap();
    let on_b = builder.compound_key("twice", &[vec![0x81], reference(&b)].concat()).unwrap();
    assert_ne!(on_a, on_b);
    assert_eq!(builder.compound_key("twice", &[vec![0x81], reference(&a)].concat()).unwrap(), on_a);
    // Plain arguments keep the handle they always had.
    let plain = builder.compound_key("twice", &[0x81, 0x01]).unwrap();
    assert_eq!(plain, Key::derive(&Key([4; 32]), "compound:twice", &[0x81, 0x01]));
    // NoHash: its value does not count.
    let exempt_1 = builder.compound_key("twice", &[0x81, 0xd9, 0x6a, 0x76, 0x01]).unwrap();
    let exempt_2 = builder.compound_key("twice", &[0x81, 0xd9, 0x6a, 0x76, 0x02]).unwrap();
    assert_eq!(exempt_1, exempt_2);
    assert_ne!(exempt_1, plain);
    // A reference to a task not declared in this build is refused, as in a task's arguments.
    let unknown = builder.compound_key("twice", &[vec![0x81], reference(&Key([7; 32]))].concat());
    assert!(matches!(unknown, Err(DeclareError::UnknownReference { .. })), "{unknown:?}");
    // Nothing was declared by asking: the compound task exists once declared.
    let graph = builder.finish();
    assert_eq!(graph.len(), 2);
}
