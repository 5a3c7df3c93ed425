//! The `jug-host execute …` a message tells the user to run: with the same graph, store,
//! directories and builder words (`-- …`) as the command that printed it, since without them
//! `execute` would build another graph (other keys) or fill another store. Quoted for a POSIX
//! shell, so it can be pasted as it is.

use crate::cli::{BuildLimitArgs, BuilderArgs, GraphArgs};

/// `jug-host execute GRAPH [options that shape the graph or its store] [-- words]`.
pub fn execute_command(args: &GraphArgs, builder: &BuilderArgs) -> String {
    let mut words = vec!["jug-host".to_owned(), "execute".to_owned(), args.graph.display().to_string()];
    if let Some(store) = &args.store {
        // A password in a URL is not repeated on the terminal (the store's own Display masks
        // it too); such a user types it again.
        words.extend(["--store".to_owned(), jug_core::store::mask_credentials_in(store)]);
    }
    for dir in &args.dirs {
        let rw = if dir.writable { ":rw" } else { "" };
        words.extend(["--dir".to_owned(), format!("{}:{}{rw}", dir.host.display(), dir.guest)]);
    }
    if let Some(workdir) = &args.workdir {
        words.extend(["--workdir".to_owned(), workdir.host.display().to_string()]);
    }
    for dir in &args.allow_write {
        words.extend(["--allow-write".to_owned(), dir.display().to_string()]);
    }
    words.extend(changed_build_limits(&args.build));
    if !builder.words.is_empty() {
        words.push("--".to_owned());
        words.extend(builder.words.iter().cloned());
    }
    words.iter().map(|w| shell_word(w)).collect::<Vec<_>>().join(" ")
}

/// The graph builder limits that differ from what `execute` would take by itself (a graph that
/// needed `--max-graph-tasks` to build needs it there too).
fn changed_build_limits(given: &BuildLimitArgs) -> Vec<String> {
    use clap::{Args as _, FromArgMatches as _};
    let command = BuildLimitArgs::augment_args(clap::Command::new("defaults"));
    let Ok(defaults) =
        command.try_get_matches_from(["defaults"]).and_then(|m| BuildLimitArgs::from_arg_matches(&m))
    else {
        return Vec::new();
    };
    let mut words = Vec::new();
    let mut differs = |flag: &str, changed: bool, value: String| {
        if changed {
            words.extend([flag.to_owned(), value]);
        }
    };
    // Plain seconds and bytes: what the options' own parsers read back exactly.
    let timeout = given.build_timeout;
    differs("--build-timeout", timeout != defaults.build_timeout, timeout.as_secs_f64().to_string());
    let memory = given.build_max_memory;
    differs("--build-max-memory", memory != defaults.build_max_memory, memory.to_string());
    let tasks = given.max_graph_tasks;
    differs("--max-graph-tasks", tasks != defaults.max_graph_tasks, tasks.to_string());
    let bytes = given.max_graph_bytes;
    differs("--max-graph-bytes", bytes != defaults.max_graph_bytes, bytes.to_string());
    words
}

/// `word` as one word of a POSIX shell: as it is when nothing in it is special, else in single
/// quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("primes.wasm"), "primes.wasm");
        assert_eq!(shell_word("--store=s3://b/p"), "--store=s3://b/p");
        assert_eq!(shell_word("two words"), "'two words'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }
}
