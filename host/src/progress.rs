//! The progress bar of `execute`: done/total, rate and ETA on a terminal, nothing at all
//! when stderr is a pipe or a file (logs and CI output stay clean).

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn on_terminal() -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
        let style = ProgressStyle::with_template("{bar:30} {pos}/{len} tasks  {per_sec}  ETA {eta}")
            .expect("a valid progress template");
        bar.set_style(style);
        Progress { bar: Some(bar) }
    }

    pub fn set(&self, done: usize, to_run: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(to_run as u64);
            bar.set_position(done as u64);
        }
    }

    /// Prints a line above the bar (or plainly, without one).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
