//! `webstatus` in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) loads the page while a worker runs, and the test reads what a person would see in
//! the DOM after the page's script ran: counts that move, a failure with its message, one
//! graph node per task name. Screenshots go to the test's directory.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::Command;

use crate::util::{Backend, ExitCode, Running, TestDir, each_backend};

/// A process that is stopped however the test ends, so a failed assertion leaves no server.
struct Stopped(Option<Running>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(running) = self.0.take() {
            running.signal(libc::SIGKILL);
            let _ = running.wait();
        }
    }
}

/// Chromium's DOM of `url` after its scripts ran for `budget_ms` of virtual time; with
/// `screenshot`, also a PNG of the page there.
fn chromium(dir: &TestDir, url: &str, screenshot: Option<&Path>) -> String {
    let binary = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| {
            Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| {
            panic!(
                "the webstatus test needs headless Chromium and it is not installed: \
                 apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
                 (scripts/services/run installs it)"
            )
        });
    let mut args = vec![
        "60".to_owned(),
        binary.to_owned(),
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--hide-scrollbars".into(),
        format!("--user-data-dir={}", dir.join("chromium-profile").display()),
        "--window-size=1100,1300".into(),
        "--virtual-time-budget=3000".into(),
    ];
    match screenshot {
        Some(png) => args.push(format!("--screenshot={}", png.display())),
        None => args.push("--dump-dom".into()),
    }
    args.push(url.to_owned());
    let output = Command::new("timeout").args(&args).output().expect("timeout(1) runs chromium");
    assert!(
        output.status.success(),
        "chromium failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The text of the element with `id` in a DOM dump: `<span id="complete-total">3</span>`.
fn text_of(dom: &str, id: &str) -> String {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{dom}"));
    let rest = &dom[start..];
    let open = rest.find('>').expect("a tag ends") + 1;
    let close = rest[open..].find('<').expect("text ends");
    rest[open..open + close].to_owned()
}

fn number(dom: &str, id: &str) -> usize {
    let text = text_of(dom, id);
    text.parse().unwrap_or_else(|_| panic!("#{id} is `{text}`, not a number"))
}

/// The nodes of the graph's SVG drawing, by their task name.
fn nodes(dom: &str) -> Vec<String> {
    dom.match_indices("<g class=\"node ")
        .map(|(at, _)| {
            let tag = &dom[at..at + dom[at..].find('>').expect("a tag ends")];
            let name = tag.split("data-name=\"").nth(1).expect("a node names its task");
            name[..name.find('"').expect("quoted")].to_owned()
        })
        .collect()
}

/// A plain HTTP GET, as a script would make it: (status line, body).
fn get(address: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect to webstatus");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("headers end");
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

each_backend!(a_browser_sees_a_run_progress_fail_and_its_graph);

/// The page on every store: the server and the worker share it, and nothing else.
fn a_browser_sees_a_run_progress_fail_and_its_graph(backend: Backend) {
    let dir = TestDir::with_guest(&format!("webstatus-{backend:?}"), "tasks.wasm");
    let store = backend.store_args("webstatus");
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    // Twelve tasks of ~300 ms, one after scaled, one that fails with one waiting on it.
    let words = ["webstatus", "12", "300"];
    let mut server = dir
        .jug(&[&["webstatus", "tasks.wasm", "--port", "0", "--interval", "200ms"], &store[..]].concat())
        .arg_words(&words)
        .spawn();
    let Some(line) = server.read_stdout_line() else {
        panic!("webstatus printed no address; it said:\n{}", server.wait().stderr);
    };
    let server = Stopped(Some(server));
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).expect("the URL is printed").to_owned();
    let address = url.trim_start_matches("http://").trim_end_matches('/').to_owned();

    // Before any worker: nothing complete, and the whole graph drawn, one node per name.
    let before = chromium(&dir, &url, None);
    assert_eq!(number(&before, "complete-total"), 0, "{before}");
    assert_eq!(number(&before, "tasks-total"), 15);
    let mut names = nodes(&before);
    names.sort();
    assert_eq!(names, ["tasks.add", "tasks.fail_on", "tasks.scaled", "tasks.spin"], "{before}");

    let worker = dir
        .jug(&[&["execute", "tasks.wasm", "-j", "1", "--keep-going", "--keep-failed"], &store[..]].concat())
        .arg_words(&words)
        .spawn();
    let mut worker = Stopped(Some(worker));
    // While it runs: a picture of the page, then its DOM.
    chromium(&dir, &url, Some(&dir.join("webstatus-running.png")));
    let during = chromium(&dir, &url, None);
    let finished = worker.0.take().expect("the worker").wait();
    assert_eq!(
        finished.exit(),
        Some(ExitCode::NotDone),
        "the worker reports the failed task:\n{}",
        finished.stderr
    );

    let after = chromium(&dir, &url, None);
    chromium(&dir, &url, Some(&dir.join("webstatus.png")));
    let (during_complete, after_complete) =
        (number(&during, "complete-total"), number(&after, "complete-total"));
    assert!(during_complete <= after_complete, "{during_complete} then {after_complete}");
    // Twelve spins and scaled: everything but the failure and the task waiting on it.
    assert_eq!(after_complete, 13, "{after}");
    assert_eq!(number(&after, "failed-total"), 1, "{after}");
    assert!(after.contains("refusing to process 2"), "the failure's message is shown:\n{after}");
    assert_eq!(number(&after, "failure-count"), 1);
    assert_eq!(nodes(&after).len(), 4);
    // Read-only and discreet: the store's credentials never reach the page.
    if let Ok(secret) = std::env::var("AWS_SECRET_ACCESS_KEY") {
        assert!(!after.contains(&secret), "the S3 secret is on the page:\n{after}");
    }
    assert!(after.contains("<tr data-name=\"tasks.spin\"><td>tasks.spin</td>"), "{after}");

    // The failure's log is a click away, as text; a key that is not one is refused.
    let link = after.split("href=\"/api/log/").nth(1).expect("a log link");
    let key = &link[..link.find('"').expect("quoted")];
    let (status, log) = get(&address, &format!("/api/log/{key}"));
    assert!(status.contains("200"), "{status}\n{log}");
    assert!(log.starts_with("== tasks.fail_on (key ") && log.contains("refusing to process 2"), "{log}");
    assert!(get(&address, "/api/log/not-a-key").0.contains("404"));
    // The JSON behind the page: counts per name and the graph, for scripts too.
    let (_, json) = get(&address, "/api/status");
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(json["totals"]["complete"], 13);
    assert_eq!(json["names"].as_array().map(Vec::len), Some(4));
    drop(server);
    assert!(dir.join("webstatus.png").is_file() && dir.join("webstatus-running.png").is_file());
}
