//! examples/wordcount, a small data pipeline: file inputs, mapreduce, tasklets, identity, a
//! compound report and a NoHash title, in one graph.

use std::collections::BTreeMap;

use crate::util::ExitCode;
use crate::util::TestDir;

/// The texts, by path; `count_file` takes two per task, so a.txt and b.txt share one and
/// c.txt has one of its own.
const A: &str = "The cat sat on the mat.\nThe dog sat too.\n";
const B: &str = "A cat and a dog.\n";
const C: &str = "Dogs bark; cats sleep.\nThe end\n";
const C_EDITED: &str = "Dogs bark; cats sleep.\nThe end. The dog\n";

/// What `render` should say for these texts, computed here without the guest: words are runs
/// of letters and digits, lowercased; the top three are the most frequent, ties in word order.
fn expected_render(title: &str, texts: &[&str]) -> String {
    let mut counts = BTreeMap::<String, u64>::new();
    for text in texts {
        for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            *counts.entry(word.to_lowercase()).or_default() += 1;
        }
    }
    let lines: usize = texts.iter().map(|text| text.lines().count()).sum();
    let words: u64 = counts.values().sum();
    let mut top: Vec<_> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut text =
        format!("{title}\n{} files, {lines} lines, {words} words, {} distinct\n", texts.len(), counts.len());
    for (i, (word, n)) in top.iter().take(3).enumerate() {
        text.push_str(&format!("{}. {word} {n}\n", i + 1));
    }
    text
}

#[test]
fn wordcount_reruns_what_an_edited_text_reaches_and_nothing_for_its_title() {
    reruns_what_an_edited_text_reaches(TestDir::with_guest("wordcount", "wordcount.wasm"));
}

/// The same, built with `cargo jug build`: every task (the mapreduce batches, `identity`,
/// the compound's sub-tasks) runs in its function's variant, and gives the same results.
#[test]
fn wordcount_built_per_task_gives_the_same_results() {
    let dir = TestDir::new("wordcount-per-task");
    crate::rust_crate::build_workspace_guest("wordcount", &dir.join("wordcount.wasm"));
    reruns_what_an_edited_text_reaches(dir);
}

fn reruns_what_an_edited_text_reaches(dir: TestDir) {
    std::fs::create_dir_all(dir.join("texts")).unwrap();
    for (path, text) in [("texts/a.txt", A), ("texts/b.txt", B), ("texts/c.txt", C)] {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let words = ["texts/a.txt", "texts/b.txt", "texts/c.txt"];
    let execute = |words: &[&str], expected: &str| {
        let run = dir.jug(&["execute", "wordcount.wasm", "--short"]).arg_words(words).run();
        let run = run.expect_code(ExitCode::Ok);
        assert_eq!(run.stdout, expected, "{}", run.stderr);
    };
    let value = |name: &str, words: &[&str]| {
        dir.jug(&["value", "wordcount.wasm", name]).arg_words(words).run().expect_code(ExitCode::Ok).stdout
    };

    // 2 count_file.map (a+b, c), identity of the line counts, 1 merge.reduce, the report
    // compound with its top_words, summarize and assemble, and render.
    execute(&words, "Executed:  9 tasks\nLoaded:  0 tasks\n** Total: 9 tasks.\n");
    let text = expected_render("Word count", &[A, B, C]);
    assert_eq!(text, "Word count\n3 files, 5 lines, 21 words, 14 distinct\n1. the 4\n2. a 2\n3. cat 2\n");
    assert_eq!(value("render", &words), format!("{}\n", serde_json::to_string(&text).unwrap()));
    let report: serde_json::Value = serde_json::from_str(&value("report", &words)).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "top": [["the", 4], ["a", 2], ["cat", 2]],
            "summary": {"files": 3, "lines": 5, "words": 21, "distinct": 14},
        })
    );

    // Done, the compound's sub-graph leaves the graph: 9 - 3 tasks are left, all loaded.
    execute(&words, "Executed:  0 tasks\nLoaded:  6 tasks\n** Total: 6 tasks.\n");

    // Editing c.txt re-runs its count_file chunk, the merge, the report (built again with its
    // three sub-tasks) and render: 7; the a+b chunk is loaded, and so is the identity of the
    // line counts: c.txt has as many lines as before, so its input values are the same and its
    // earlier result is reused (early cutoff).
    std::fs::write(dir.join("texts/c.txt"), C_EDITED).unwrap();
    execute(
        &words,
        "Executed:  7 tasks\nLoaded:  2 tasks\n** Total: 9 tasks.\n1 result reused: their inputs' results were unchanged\n",
    );
    let text = expected_render("Word count", &[A, B, C_EDITED]);
    assert_eq!(text, "Word count\n3 files, 5 lines, 23 words, 14 distinct\n1. the 5\n2. dog 3\n3. a 2\n");
    assert_eq!(value("render", &words), format!("{}\n", serde_json::to_string(&text).unwrap()));

    // The title is NoHash: changing it re-runs nothing, and the stored text keeps the old one.
    let titled = ["texts/a.txt", "texts/b.txt", "texts/c.txt", "--title=Pets"];
    execute(&titled, "Executed:  0 tasks\nLoaded:  6 tasks\n** Total: 6 tasks.\n");
    assert_eq!(value("render", &titled), format!("{}\n", serde_json::to_string(&text).unwrap()));
}
