//! Word counts of a few text files: a small data pipeline that uses each part of the graph API
//! for what it is for.
//!
//! 1. Every path after `--` is an input file ([`jug::file`]): its content digest is in the key,
//!    so editing a text re-runs what read it, and touching it re-runs nothing.
//! 2. [`count_file`] counts the words and lines of one text, `MAP_STEP` texts per task
//!    ([`jug::mapreduce::map`]).
//! 3. Each text's result is split into its two parts (tasklets, `.split()`): the word counts
//!    are merged by [`merge`] ([`jug::mapreduce::reduce`]), the line counts gathered into one
//!    task ([`jug::identity`]).
//! 4. A compound task, `report`, builds the top words and the totals from those two and
//!    assembles them ([`jug::compound`]); once it is stored, its sub-graph leaves the graph.
//! 5. [`render`] writes the report under a title that is not in its key ([`jug::NoHash`]).
//!
//! `jug-host execute wordcount.wasm -- texts/a.txt texts/b.txt` counts two texts; a word
//! `--title=TEXT` among the paths sets the report's title (default `Word count`).
//! A word is a run of letters and digits, lowercased; results are `BTreeMap`s and ties are
//! broken by the word, so every output is the same on every machine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Texts per `count_file` task. Texts are small, so two per task halve the per-task
/// bookkeeping; a chunk's key is its texts' digests, so editing one text re-runs its chunk
/// alone, and the other chunks are loaded.
const MAP_STEP: usize = 2;

/// Word-count maps per `merge` task in the reduce tree.
const REDUCE_STEP: usize = 4;

/// How many of the most frequent words the report lists.
const TOP_N: u64 = 3;

/// Word counts: a `BTreeMap`, so its order (and its bytes when stored) is the same every time.
type Counts = BTreeMap<String, u64>;

/// The totals of the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub files: u64,
    pub lines: u64,
    pub words: u64,
    pub distinct: u64,
}

/// What the `report` compound task returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The `TOP_N` most frequent words, most frequent first, ties in word order.
    pub top: Vec<(String, u64)>,
    pub summary: Summary,
}

/// The words of one text and how often each occurs, and its number of lines. `path` is where
/// the host mounted the input file, read-only.
#[jug::task]
fn count_file(path: String) -> Result<(Counts, u64), String> {
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut counts = Counts::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        *counts.entry(word.to_lowercase()).or_default() += 1;
    }
    Ok((counts, text.lines().count() as u64))
}

/// Adds two word-count maps. It is `f(T, T) -> T`, associative and cannot fail, so
/// `#[jug::task]` gives it `merge::Reduce` for [`jug::mapreduce::reduce`].
#[jug::task]
fn merge(mut a: Counts, b: Counts) -> Counts {
    for (word, n) in b {
        *a.entry(word).or_default() += n;
    }
    a
}

/// The `n` most frequent words, most frequent first; equal counts in word order.
#[jug::task]
fn top_words(counts: Counts, n: u64) -> Vec<(String, u64)> {
    let mut words: Vec<(String, u64)> = counts.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words.truncate(n as usize);
    words
}

/// Totals over all texts.
#[jug::task]
fn summarize(counts: Counts, lines: Vec<u64>) -> Summary {
    Summary {
        files: lines.len() as u64,
        lines: lines.iter().sum(),
        words: counts.values().sum(),
        distinct: counts.len() as u64,
    }
}

/// The report's result: the sub-graph's final task.
#[jug::task]
fn assemble(top: Vec<(String, u64)>, summary: Summary) -> Report {
    Report { top, summary }
}

/// The report as text. `title` is cosmetic, so the graph passes it as [`jug::NoHash`]: changing
/// it re-runs nothing (and the stored text keeps the title it was rendered with until this
/// task is invalidated, which is the price of that).
#[jug::task]
fn render(title: String, report: Report) -> String {
    let s = &report.summary;
    let mut out = format!(
        "{title}\n{} files, {} lines, {} words, {} distinct\n",
        s.files, s.lines, s.words, s.distinct
    );
    for (i, (word, n)) in report.top.iter().enumerate() {
        out.push_str(&format!("{}. {word} {n}\n", i + 1));
    }
    out
}

/// The jugfile: `args` are the text files, and optionally `--title=TEXT`.
fn graph(args: &[String]) -> jug::Result {
    let mut title = "Word count".to_owned();
    let mut files = Vec::new();
    for word in args {
        match word.strip_prefix("--title=") {
            Some(text) => title = text.to_owned(),
            None => files.push(jug::file(word)?),
        }
    }
    if files.is_empty() {
        return Err("give the text files to count after `--`".into());
    }

    // One tasklet per text, `MAP_STEP` texts per task; each is (word counts, line count).
    let per_file = jug::mapreduce::map(count_file::Map, &files, MAP_STEP);
    let (counts, lines): (Vec<_>, Vec<_>) = per_file.iter().map(|part| part.split()).unzip();

    let merged = jug::mapreduce::reduce(merge::Reduce, &counts, REDUCE_STEP).ok_or("no texts")?;
    // The line counts are parts of the map tasks' results (tasklets, which have no key of
    // their own). `identity` gathers them into one task whose key the compound task below can
    // name among its arguments, so that the report is keyed by every input it reads.
    let lines: jug::Task<Vec<u64>> = jug::identity(lines);

    // A compound task is keyed by its name and arguments, not by its sub-graph: the keys of
    // its two inputs and TOP_N. Once it is stored, the closure is not called again and
    // `status` shows `report` alone; an edited text changes `merged` and so its key.
    let report = jug::compound("report", &(merged.key(), lines.key(), TOP_N), || {
        let top = top_words(merged, TOP_N);
        let summary = summarize(merged, lines);
        Ok(assemble(top, summary))
    })?;
    render(jug::NoHash(title), report);
    Ok(())
}

jug::export!(graph, [count_file, merge, top_words, summarize, assemble, render]);
