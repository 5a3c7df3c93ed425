//! `jug-host value`: print stored results as JSON (our counterpart of Jug's `shell` + `value`).

use jug_core::store::{Access, Store, Stored};

use crate::cli::ValueArgs;
use crate::exit_code;

pub fn run(args: ValueArgs) -> anyhow::Result<i32> {
    let selector = args.tasks.selector()?;
    let loaded = super::load(&args.graph, &args.builder)?;
    let chosen = super::select(&loaded.graph, &selector)?;
    let store = loaded.reader.get()?;

    let mut out = String::new();
    let mut documents = Vec::new();
    for &i in &chosen {
        let key = loaded.graph.task(i).key;
        let name = loaded.graph.name(i);
        match store.get_result(&key)? {
            Stored::Present(bytes) => {
                let json = crate::json::to_json(&bytes)
                    .map_err(|e| anyhow::anyhow!("the result of {name} is not valid CBOR: {e}"))?;
                out.push_str(&json.to_string());
                out.push('\n');
                documents.push(serde_json::json!({ "name": name, "key": key.to_hex(), "value": json }));
            }
            Stored::Missing => {
                eprintln!(
                    "jug-host: {name} (key {}) has no result yet; run `jug-host execute {}` first",
                    key.short(),
                    args.graph.graph.display()
                );
                return Ok(exit_code::NOT_DONE);
            }
            Stored::Damaged(damaged) => {
                // Removing it is what lets the next `execute` compute it again.
                Store::open(&loaded.store, Access::ReadWrite)?.delete_result(&key)?;
                return Err(anyhow::Error::new(damaged).context(format!(
                    "{name}: removed the damaged result; run `jug-host execute {}` to recompute it",
                    args.graph.graph.display()
                )));
            }
        }
    }
    if args.json {
        out = format!("{:#}\n", serde_json::Value::Array(documents));
    }
    super::print(&out)?;
    Ok(exit_code::OK)
}
