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

    /// A handle for a key the host gave.
    pub(crate) fn from_key(key: Vec<u8>) -> crate::Result<Task<T>> {
        let key: [u8; 32] =
            key.try_into().map_err(|_| crate::Error::from("jug: the host returned a malformed key"))?;
        Ok(Task { key, result: PhantomData })
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

/// A part of a task's result — Jug's tasklet: `t.index(0)`, `t.field("mean")`, `t.split()`.
///
/// Nothing is stored for it: the host takes the part from the task's result when a task that
/// uses it runs. The using task depends on the whole task, so invalidating that task (or
/// changing its inputs) reaches everything downstream of the part too. Pass a `Tasklet<T>`
/// wherever a task function takes a `T`.
pub struct Tasklet<T> {
    key: [u8; 32],
    path: Vec<Value>,
    result: PhantomData<fn() -> T>,
}

impl<T> Tasklet<T> {
    fn step<U>(&self, step: Value) -> Tasklet<U> {
        let mut path = self.path.clone();
        path.push(step);
        Tasklet { key: self.key, path, result: PhantomData }
    }

    /// The field `name` of a struct or string-keyed map result, as a `U`.
    pub fn field<U>(&self, name: &str) -> Tasklet<U> {
        self.step(Value::Text(name.to_owned()))
    }

    pub(crate) fn reference(&self) -> Value {
        if self.path.is_empty() {
            // The whole result: the plain reference, so the key is the same as for the task.
            return Value::Tag(crate::TASK_REF_TAG, Box::new(Value::Bytes(self.key.to_vec())));
        }
        let mut payload = vec![Value::Bytes(self.key.to_vec())];
        payload.extend(self.path.iter().cloned());
        Value::Tag(crate::TASK_REF_TAG, Box::new(Value::Array(payload)))
    }
}

impl<T> Clone for Tasklet<T> {
    fn clone(&self) -> Self {
        Tasklet { key: self.key, path: self.path.clone(), result: PhantomData }
    }
}

impl<T> fmt::Debug for Tasklet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self.key.iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "Tasklet({hex}, {:?})", self.path)
    }
}

impl<T> Task<T> {
    pub(crate) fn whole(&self) -> Tasklet<T> {
        Tasklet { key: self.key, path: Vec::new(), result: PhantomData }
    }

    /// The field `name` of a struct or string-keyed map result, as a `U`.
    pub fn field<U>(&self, name: &str) -> Tasklet<U> {
        self.whole().field(name)
    }
}

impl<T> Task<Vec<T>> {
    /// Element `i` of a list result (Jug's `t[i]`).
    pub fn index(&self, i: usize) -> Tasklet<T> {
        self.whole().index(i)
    }

    /// The first `n` elements, one tasklet each (Jug's `iteratetask(t, n)`).
    pub fn iterate(&self, n: usize) -> Vec<Tasklet<T>> {
        (0..n).map(|i| self.index(i)).collect()
    }
}

impl<T> Tasklet<Vec<T>> {
    /// Element `i` of a list.
    pub fn index(&self, i: usize) -> Tasklet<T> {
        self.step(Value::Integer((i as u64).into()))
    }

    /// The first `n` elements, one tasklet each.
    pub fn iterate(&self, n: usize) -> Vec<Tasklet<T>> {
        (0..n).map(|i| self.index(i)).collect()
    }
}

macro_rules! split_tuples {
    ($(($($t:ident $i:tt),+))*) => { $(
        impl<$($t),+> Task<($($t,)+)> {
            /// The parts of a tuple result, one tasklet each (`let (a, b) = t.split();`).
            pub fn split(&self) -> ($(Tasklet<$t>,)+) {
                ($(self.whole().step(Value::Integer(($i as u64).into())),)+)
            }
        }

        impl<$($t),+> Tasklet<($($t,)+)> {
            /// The parts of a tuple, one tasklet each.
            pub fn split(&self) -> ($(Tasklet<$t>,)+) {
                ($(self.step(Value::Integer(($i as u64).into())),)+)
            }
        }
    )* };
}

split_tuples! {
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
}
