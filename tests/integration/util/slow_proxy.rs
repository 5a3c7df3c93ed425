//! A TCP proxy in front of a test server that holds every request for a while, as a distant
//! server would, and records the most requests of each kind that were in flight at once:
//! what tells requests sent one after another from requests sent together, on any machine.
//!
//! It reads HTTP/1.1 only as far as a request line: a client sends one request at a time
//! on a connection and waits for its response (hyper never pipelines), so a request starts
//! with the first bytes a client sends after the last response began, and is done, as far as
//! waiting goes, when its response begins.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What kind of request a request line is (`PUT /bucket/prefix/packs/ab/… HTTP/1.1`), or
/// `None` for requests not counted.
pub type Classify = fn(&str) -> Option<&'static str>;

#[derive(Default)]
struct Counts {
    now: HashMap<&'static str, usize>,
    most: HashMap<&'static str, usize>,
}

pub struct SlowProxy {
    pub addr: SocketAddr,
    counts: Arc<Mutex<Counts>>,
}

impl SlowProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`, holding each request
    /// `delay` before it is sent on. Its threads end with the test process.
    pub fn start(target: SocketAddr, delay: Duration, classify: Classify) -> SlowProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port for the proxy");
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Mutex::new(Counts::default()));
        let shared = counts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(target) else { continue };
                let counts = shared.clone();
                std::thread::spawn(move || relay(client, server, delay, classify, counts));
            }
        });
        SlowProxy { addr, counts }
    }

    /// The most requests of `kind` that were in flight at once.
    pub fn most_at_once(&self, kind: &str) -> usize {
        self.counts.lock().unwrap().most.get(kind).copied().unwrap_or(0)
    }
}

/// Copies both ways between one client connection and its server connection.
fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    delay: Duration,
    classify: Classify,
    counts: Arc<Mutex<Counts>>,
) {
    // The kind of this connection's request in flight: outer `None` when none is.
    let in_flight: Arc<Mutex<Option<Option<&'static str>>>> = Arc::default();
    let (mut from_server, mut to_client) = (server.try_clone().unwrap(), client.try_clone().unwrap());
    let (responses, response_counts) = (in_flight.clone(), counts.clone());
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 << 10];
        while let Ok(n @ 1..) = from_server.read(&mut buffer) {
            if let Some(kind) = responses.lock().unwrap().take()
                && let Some(kind) = kind
            {
                *response_counts.lock().unwrap().now.entry(kind).or_default() -= 1;
            }
            if to_client.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to_client.shutdown(Shutdown::Both);
    });
    let mut buffer = vec![0; 64 << 10];
    while let Ok(n @ 1..) = client.read(&mut buffer) {
        let starts_request = in_flight.lock().unwrap().is_none();
        if starts_request {
            let line = String::from_utf8_lossy(&buffer[..n]);
            let kind = classify(line.lines().next().unwrap_or(""));
            *in_flight.lock().unwrap() = Some(kind);
            if let Some(kind) = kind {
                let mut counts = counts.lock().unwrap();
                let now = counts.now.entry(kind).or_default();
                *now += 1;
                let now = *now;
                let most = counts.most.entry(kind).or_default();
                *most = (*most).max(now);
            }
            std::thread::sleep(delay);
        }
        if server.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
}
