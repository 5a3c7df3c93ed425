//! Task handles and how they are declared to the host.

use std::fmt;
use std::marker::PhantomData;

use ciborium::Value;

use crate::bindings::jug::task::graph;

/// A task declared in the graph, whose result will be a `T`.
///
/// Pass it to another task function wherever that function takes a `T` (or put it in a
/// container where the function takes a container of `T`): the host replaces it by the result
/// before the function runs.
pub struct Task<T> {
    key: [u8; 32],
    result: PhantomData<fn() -> T>,
}

impl<T> Task<T> {
    /// The task's key: the hash of its code, function name and arguments.
    pub fn key(&self) -> [u8; 32] {
        self.key
    }

    pub(crate) fn reference(&self) -> Value {
        Value::Tag(crate::TASK_REF_TAG, Box::new(Value::Bytes(self.key.to_vec())))
    }
}

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Task<T> {}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self.key.iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "Task({hex})")
    }
}

/// Declares `function(args…)` to the host and returns its handle.
///
/// Declaring can only fail on a bug (a reference to a task of another graph run, a map with
/// non-string keys): the builder panics, and the host reports the message as a build failure.
pub fn declare<T>(function: &str, args: Vec<Value>) -> Task<T> {
    let template = match crate::cbor::encode(Value::Array(args)) {
        Ok(bytes) => bytes,
        Err(e) => panic!("jug: cannot encode the arguments of `{function}`: {e}"),
    };
    match graph::declare(function, &template) {
        Ok(key) => {
            let key: [u8; 32] =
                key.try_into().unwrap_or_else(|_| panic!("jug: the host returned a malformed key"));
            Task { key, result: PhantomData }
        }
        Err(e) => panic!("jug: cannot declare task `{function}`: {e}"),
    }
}
