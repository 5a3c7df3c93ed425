//! Files of the working directory as task inputs — better than Jug's `timed_path`.
//!
//! `jug::file("data/train.csv")?` is an argument for a task that takes a `String`: the task
//! gets a path it can open, read-only, inside its sandbox. The file's content digest is part
//! of the task's key, so editing the file re-runs exactly the tasks that read it. Only regular
//! files below the working directory can be named, since a graph is code you may not have
//! written: `jug-host` refuses absolute paths, `..`, symbolic links, hidden components
//! (`.ssh/id`) unless the user granted them with `--dir`, and files inside a directory tasks
//! may write (`--allow-write`, `--dir …:rw`); a refusal fails the build.

use ciborium::Value;

use crate::Arg;
use crate::bindings::jug::task::graph;

/// A file input (see [`file`]).
#[derive(Debug, Clone)]
pub struct InputFile {
    path: String,
    digest: Vec<u8>,
}

/// Names a file of the working directory as a task input.
pub fn file(path: &str) -> crate::Result<InputFile> {
    let digest = graph::input_file(path).map_err(crate::Error::from)?;
    Ok(InputFile { path: path.to_owned(), digest })
}

impl Arg<String> for InputFile {
    fn to_template(&self) -> Value {
        let wrapped = Value::Array(vec![Value::Text(self.path.clone()), Value::Bytes(self.digest.clone())]);
        Value::Tag(crate::FILE_INPUT_TAG, Box::new(wrapped))
    }
}
