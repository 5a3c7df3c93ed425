//! `jug-host webstatus`: a live, read-only web page of a graph and its store.
//!
//! One thread reads the store every `--interval` (the listings `status` makes, see
//! `snapshot`) and publishes the result as a JSON document; every browser polling
//! `/api/status` gets that same document, so ten open pages cost the store what one `status`
//! a second costs, not ten. While nobody has asked for a while the thread stops reading, so a
//! forgotten server does not keep billing an S3 bucket. The page, its script and stylesheet
//! are compiled into the binary: nothing is fetched from anywhere but this server.
//!
//! Nothing here writes to the store, and nothing served names a store credential: the store
//! URL is shown with its password masked, and the page shows only the graph's tasks.

mod snapshot;
mod svg;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jug_core::Key;
use jug_core::results::StoreResults;
use jug_core::store::Store;
use tokio::sync::watch;

use crate::cli::WebstatusArgs;
use crate::errors::{Error, Result};
use crate::exit_code::ExitCode;

use super::Loaded;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// The page may load only what this server serves: no scripts or styles from elsewhere, no
/// inline script (names and messages from the store are inserted as text, never as markup).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// After this long without a request, the store is no longer read until the next one.
const IDLE_AFTER: Duration = Duration::from_secs(30);

struct Shared {
    /// The latest snapshot, serialized once for every reader.
    snapshot: watch::Receiver<Arc<str>>,
    /// For `/api/log/<key>`: the same read-only store the snapshots come from.
    store: Arc<Store>,
    /// Milliseconds since `started` of the latest request for a snapshot.
    asked_ms: Arc<AtomicU64>,
    started: Instant,
    interval: Duration,
}

/// How long the refresher goes on reading the store without a request.
fn idle_after(interval: Duration) -> Duration {
    IDLE_AFTER.max(interval * 10)
}

pub fn run(args: WebstatusArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let graph_file =
        args.graph.graph.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    // The first read happens before the server starts: a store that cannot be read is an
    // error now (exit 5), not a page that says so later.
    let first = snapshot::read(&loaded, &graph_file)?;
    let store = loaded.reader.get()?.clone();
    let (publish, snapshot) = watch::channel::<Arc<str>>(first.to_string().into());
    let started = Instant::now();
    let asked_ms = Arc::new(AtomicU64::new(0));
    let refresher = Refresher {
        loaded,
        words: args.builder.words.clone(),
        graph_file,
        interval: args.interval,
        last: first,
        asked_ms: asked_ms.clone(),
        started,
    };
    std::thread::Builder::new()
        .name("webstatus-refresh".into())
        .spawn(move || refresher.run(publish))
        .map_err(Error::system("cannot start the thread that reads the store"))?;

    let shared = Arc::new(Shared { snapshot, store, asked_ms, started, interval: args.interval });
    let app = Router::new()
        .route("/", get(page))
        .route("/page.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/page.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/api/status", get(status))
        .route("/api/log/{key}", get(log))
        .with_state(shared);

    let address = SocketAddr::new(args.bind, args.port);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::system("cannot start the web server's runtime"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(Error::system(format!("cannot listen on {address}")))?;
        let bound = listener.local_addr().map_err(Error::system(format!("cannot listen on {address}")))?;
        super::print(&format!(
            "Serving the status of {} at http://{bound}/ (Ctrl-C stops)\n",
            args.graph.graph.display()
        ))?;
        axum::serve(listener, app).await.map_err(Error::system(format!("serving http://{bound}/ failed")))
    })?;
    Ok(ExitCode::Ok)
}

/// The thread that reads the store: owns the graph, which it rebuilds while the builder
/// stops at a barrier (results arriving may let it declare more tasks).
struct Refresher {
    loaded: Loaded,
    words: Vec<String>,
    graph_file: String,
    interval: Duration,
    last: serde_json::Value,
    asked_ms: Arc<AtomicU64>,
    started: Instant,
}

impl Refresher {
    fn run(mut self, publish: watch::Sender<Arc<str>>) {
        loop {
            std::thread::sleep(self.interval);
            let asked = Duration::from_millis(self.asked_ms.load(Ordering::Relaxed));
            if self.started.elapsed().saturating_sub(asked) > idle_after(self.interval) {
                continue;
            }
            let document = match self.refresh() {
                Ok(document) => {
                    self.last = document.clone();
                    document
                }
                // The store went away or the builder failed: keep showing the last good
                // look, and say why it is not moving.
                Err(e) => {
                    let mut stale = self.last.clone();
                    let why = jug_core::store::mask_credentials_in(&jug_core::error_line(&e));
                    stale["error"] = format!("cannot read the store: {why}").into();
                    stale
                }
            };
            if publish.send(document.to_string().into()).is_err() {
                return;
            }
        }
    }

    fn refresh(&mut self) -> Result<serde_json::Value> {
        if self.loaded.graph.at_barrier() {
            let results = Arc::new(StoreResults::new(self.loaded.reader.clone()));
            self.loaded.graph = self.loaded.program.build(&self.words, results)?;
        }
        snapshot::read(&self.loaded, &self.graph_file)
    }
}

async fn page() -> Response {
    ([(header::CONTENT_SECURITY_POLICY, POLICY)], asset("text/html; charset=utf-8", PAGE)).into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let now = shared.started.elapsed().as_millis() as u64;
    let previous = shared.asked_ms.swap(now, Ordering::Relaxed);
    let mut snapshot = shared.snapshot.clone();
    // The refresher has stopped reading (nobody asked for a while): what it published last is
    // old, so wait for its next look, which this request has just asked for.
    if now.saturating_sub(previous) > idle_after(shared.interval).as_millis() as u64 {
        snapshot.borrow_and_update();
        let _ = tokio::time::timeout(shared.interval * 2 + Duration::from_secs(10), snapshot.changed()).await;
    }
    let body = snapshot.borrow().clone();
    let headers = [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")];
    (headers, body.to_string()).into_response()
}

/// A task's log as plain text: a header line saying how its last run ended, then what it
/// printed. Served as text that browsers must not sniff as HTML (it is the guest's output).
async fn log(State(shared): State<Arc<Shared>>, Path(key): Path<String>) -> Response {
    let text = |code: StatusCode, body: String| {
        let headers = [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ];
        (code, headers, body).into_response()
    };
    let Some(key) = Key::from_hex(&key) else {
        return text(StatusCode::NOT_FOUND, "not a task key\n".into());
    };
    let store = shared.store.clone();
    let read = tokio::task::spawn_blocking(move || store.get_task_log(&key)).await;
    match read {
        Ok(Ok(Some(log))) => {
            let ended = match (log.record.as_ref(), log.failure()) {
                (_, Some(failure)) => format!("failed ({}): {}", failure.kind, failure.message.trim_end()),
                (Some(_), None) => "ok".to_owned(),
                (None, None) => "ended (an older jug-host wrote this log)".to_owned(),
            };
            let name = log.record.as_ref().map_or("task", |r| r.name.as_str());
            let mut body = format!("== {name} (key {}): {ended}\n", key.short());
            body.push_str(&log.output_text());
            text(StatusCode::OK, body)
        }
        Ok(Ok(None)) => {
            text(StatusCode::NOT_FOUND, "no log: the task has not run, or printed nothing\n".into())
        }
        Ok(Err(e)) => text(
            StatusCode::BAD_GATEWAY,
            format!("cannot read the log: {}\n", jug_core::store::mask_credentials_in(&e.to_string())),
        ),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read the log: {e}\n")),
    }
}
