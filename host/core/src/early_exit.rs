//! Jug's early-exit controls: stop starting tasks after N of them, after a time budget, or
//! when a file appears — what a worker under a batch system's wall-time limit needs. The
//! tasks in flight finish, their leases are released, and `execute` exits 0.

use std::path::PathBuf;
use std::time::Instant;

/// When this worker should stop taking new tasks. The default never stops.
#[derive(Debug, Clone, Default)]
pub struct EarlyExit {
    /// `JUG_MAX_TASKS`: how many tasks this process may start.
    pub max_tasks: Option<u64>,
    /// `JUG_MAX_HOURS` + `JUG_MAX_MINUTES` + `JUG_MAX_SECONDS` after the start.
    pub deadline: Option<Instant>,
    /// `JUG_EXIT_IF_FILE_EXISTS` and Jug's `__jug_please_stop_running.txt`.
    pub stop_files: Vec<PathBuf>,
}

impl EarlyExit {
    /// Why to stop now, having started `started` tasks; checked before each task starts.
    pub fn reason(&self, started: u64) -> Option<String> {
        if let Some(max) = self.max_tasks
            && started >= max
        {
            return Some(format!("{max} tasks started (JUG_MAX_TASKS)"));
        }
        if let Some(deadline) = self.deadline
            && Instant::now() >= deadline
        {
            return Some("the time budget (JUG_MAX_HOURS/MINUTES/SECONDS) is used up".to_owned());
        }
        self.stop_files.iter().find(|f| f.exists()).map(|f| format!("{} exists", f.display()))
    }
}
