//! Task functions written in Rust, used by the Python graph `pipeline.py`: a library
//! component with no graph of its own.

use serde::Serialize;

/// What `describe` reports about a sample.
#[derive(Serialize)]
pub struct Summary {
    count: u64,
    mean: f64,
    min: f64,
    max: f64,
    /// Population standard deviation.
    stdev: f64,
}

/// Summary statistics of all values of all groups.
#[jug::task]
fn describe(groups: Vec<Vec<f64>>) -> Result<Summary, String> {
    let values: Vec<f64> = groups.into_iter().flatten().collect();
    if values.is_empty() {
        return Err("describe needs at least one value".into());
    }
    let count = values.len() as f64;
    let mean = values.iter().sum::<f64>() / count;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
    Ok(Summary {
        count: values.len() as u64,
        mean,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        stdev: variance.sqrt(),
    })
}

/// Decodes any value and encodes it again: the polyglot test checks that what Python wrote
/// comes back from Rust byte for byte.
#[jug::task]
fn echo(value: ciborium::Value) -> ciborium::Value {
    value
}

jug::export!([describe, echo]);
