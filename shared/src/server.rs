//! The built-in look-alike sites: a real HTTP/1.1 server on 127.0.0.1 that mimics the tutorial's two
//! sites, so that every example runs offline and every test stays on this machine.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};

mod timer;

use timer::Timer;

/// The size of `https://www.jython.org`'s page when the tutorial was written.
pub const JYTHON_BYTES: usize = 10966;

/// The size of `http://olympus.realpython.org/dice`'s page.
pub const DICE_BYTES: usize = 276;

/// The delay before each response by default: the tutorial's 14.29 s for 160 sequential downloads is
/// 89 ms a request, so `io_sync --local` takes about as long as the tutorial says.
pub const DEFAULT_LATENCY: Duration = Duration::from_millis(90);

/// The longest [`SitesServer::start_holding`] holds responses when fewer requests than it waits for
/// ever arrive together: then it lets them all through, and the test sees the smaller peak.
pub const HOLD_LIMIT: Duration = Duration::from_secs(10);

/// Pages that fail on purpose, for tests and for readers who want to see a failure reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `500 Internal Server Error`.
    ServerError,
    /// Promises the jython page's 10966 bytes in `Content-Length`, sends 1000, then closes.
    Truncated,
    /// Accepts the request and never answers.
    Stall,
    /// `307 Temporary Redirect` pointing at the jython page (a client that follows it reads 10966 bytes).
    Redirect,
}

impl Fault {
    /// Every fault page.
    pub const ALL: [Fault; 4] =
        [Fault::ServerError, Fault::Truncated, Fault::Stall, Fault::Redirect];

    /// The page's path on the server.
    pub fn path(self) -> &'static str {
        match self {
            Fault::ServerError => "/fault/500",
            Fault::Truncated => "/fault/truncated",
            Fault::Stall => "/fault/stall",
            Fault::Redirect => "/fault/redirect",
        }
    }
}

/// A running look-alike server. It serves on its own thread with its own tokio runtime, never on the
/// example's threads (io_async's "one thread" stays true), and stops when dropped.
pub struct SitesServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Counters {
    served: AtomicUsize,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

#[derive(Clone)]
struct AppState {
    latency: Duration,
    counters: Arc<Counters>,
    gate: Arc<Gate>,
    timer: Timer,
}

impl SitesServer {
    /// Starts a server on 127.0.0.1 on a free port, delaying every response by `latency`.
    pub fn start(latency: Duration) -> io::Result<SitesServer> {
        SitesServer::start_on(0, latency)
    }

    /// Like [`start`](SitesServer::start), but holds every response until `at_once` requests are in
    /// flight together (or for at most [`HOLD_LIMIT`]); from then on it answers after `latency`.
    /// A test's way to see how many downloads a client runs at once without racing the clock: a
    /// client that can run `at_once` reaches it however slow the machine is, one that cannot shows
    /// its smaller peak.
    pub fn start_holding(latency: Duration, at_once: usize) -> io::Result<SitesServer> {
        SitesServer::serve(0, latency, Gate::new(at_once))
    }

    /// Starts a server on 127.0.0.1:`port` (0 picks a free one). Every connection costs it a
    /// descriptor: a caller that expects thousands calls [`raise_open_files_limit`] first.
    pub fn start_on(port: u16, latency: Duration) -> io::Result<SitesServer> {
        SitesServer::serve(port, latency, Gate::new(1))
    }

    fn serve(port: u16, latency: Duration, gate: Gate) -> io::Result<SitesServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let timer = Timer::start()?;
        let state = AppState { latency, counters: counters.clone(), gate: Arc::new(gate), timer };
        let (shutdown, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = thread::Builder::new().name("sites-server".into()).spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(error) => return eprintln!("sites server: {error}"),
                };
                tokio::select! {
                    result = axum::serve(listener, router(state)) => {
                        if let Err(error) = result {
                            eprintln!("sites server: {error}");
                        }
                    }
                    _ = stopped => {}
                }
            });
            // Connections still open (a stalled page) are dropped here, not waited for.
            runtime.shutdown_background();
        })?;
        Ok(SitesServer { addr, counters, shutdown: Some(shutdown), thread: Some(thread) })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The look-alike of a real site's URL: `https://www.jython.org` becomes
    /// `http://127.0.0.1:PORT/www.jython.org`. The host becomes the first part of the path, so the
    /// output still says which site was read.
    pub fn url_for(&self, site: &str) -> String {
        let without_scheme = site.split_once("://").map_or(site, |(_, rest)| rest);
        format!("{}/{}", self.base_url(), without_scheme.trim_end_matches('/'))
    }

    /// The URL of a fault page.
    pub fn fault_url(&self, fault: Fault) -> String {
        format!("{}{}", self.base_url(), fault.path())
    }

    /// How many responses the server has started (every request that reached a page).
    pub fn served(&self) -> usize {
        self.counters.served.load(Ordering::SeqCst)
    }

    /// How many requests the server is handling right now.
    pub fn in_flight(&self) -> usize {
        self.counters.in_flight.load(Ordering::SeqCst)
    }

    /// The largest number of requests the server was handling at the same moment: 1 for a
    /// sequential client, the pool size for a pool of threads.
    pub fn peak_in_flight(&self) -> usize {
        self.counters.peak_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for SitesServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/www.jython.org", get(|s: State<AppState>| respond(s, jython_page())))
        .route("/olympus.realpython.org/dice", get(|s: State<AppState>| respond(s, dice_page())))
        .route(Fault::ServerError.path(), get(|s: State<AppState>| respond(s, server_error())))
        .route(Fault::Truncated.path(), get(|s: State<AppState>| respond(s, truncated())))
        .route(Fault::Redirect.path(), get(|s: State<AppState>| respond(s, redirect())))
        .route(Fault::Stall.path(), get(|s: State<AppState>| stall(s)))
        .with_state(state)
}

/// Counts a request as in flight for as long as it lives, including when its client hangs up.
struct InFlight(Arc<Counters>);

impl InFlight {
    /// Counts the request in, and returns how many are in flight with it.
    fn new(counters: &Arc<Counters>) -> (InFlight, usize) {
        counters.served.fetch_add(1, Ordering::SeqCst);
        let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        (InFlight(counters.clone()), now)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Holds responses until `opens_at` requests are in flight together, then lets every response
/// through for good. A gate that opens at 1 never holds anything.
struct Gate {
    opens_at: usize,
    open: watch::Sender<bool>,
}

impl Gate {
    fn new(opens_at: usize) -> Gate {
        Gate { opens_at, open: watch::Sender::new(opens_at <= 1) }
    }

    /// Returns once the gate is open: when `in_flight` reaches `opens_at` here or in another
    /// request, or after [`HOLD_LIMIT`], which opens it for every request.
    async fn pass(&self, in_flight: usize) {
        if in_flight >= self.opens_at {
            self.open.send_replace(true);
        }
        let mut open = self.open.subscribe();
        if tokio::time::timeout(HOLD_LIMIT, open.wait_for(|&open| open)).await.is_err() {
            self.open.send_replace(true);
        }
    }
}

async fn respond(State(state): State<AppState>, response: Response) -> Response {
    let (_in_flight, now) = InFlight::new(&state.counters);
    state.gate.pass(now).await;
    state.timer.sleep(state.latency).await;
    response
}

async fn stall(State(state): State<AppState>) -> Response {
    let (_in_flight, _) = InFlight::new(&state.counters);
    std::future::pending::<()>().await;
    unreachable!("a pending future never completes")
}

fn jython_page() -> Response {
    static PAGE: OnceLock<String> = OnceLock::new();
    html(PAGE.get_or_init(|| page("Home | Jython (look-alike)", JYTHON_BYTES)).clone())
}

fn dice_page() -> Response {
    static PAGE: OnceLock<String> = OnceLock::new();
    html(PAGE.get_or_init(|| page("Dice (look-alike)", DICE_BYTES)).clone())
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn server_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "look-alike server error\n").into_response()
}

fn redirect() -> Response {
    Redirect::temporary("/www.jython.org").into_response()
}

fn truncated() -> Response {
    let first_part = Bytes::from(vec![b'x'; 1000]);
    let chunks: [Result<Bytes, io::Error>; 2] =
        [Ok(first_part), Err(io::Error::other("the look-alike server cut this page short"))];
    // A pause between the parts, so that the first one is really sent before the connection drops.
    let paced = futures_util::stream::iter(chunks).then(|chunk| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        chunk
    });
    let body = Body::from_stream(paced);
    ([(header::CONTENT_LENGTH, JYTHON_BYTES.to_string())], body).into_response()
}

/// Generated HTML of exactly `size` bytes (ASCII, so bytes and characters agree).
fn page(title: &str, size: usize) -> String {
    let head = format!("<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n");
    let tail = "</body></html>\n";
    let mut body = head;
    let line = "<p>A page generated by the look-alike sites server, as long as the real one.</p>\n";
    while body.len() + line.len() + tail.len() <= size {
        body.push_str(line);
    }
    let filler = size - body.len() - tail.len();
    body.push_str(&" ".repeat(filler));
    body.push_str(tail);
    debug_assert_eq!(body.len(), size);
    body
}

/// Raises this process's open-files soft limit to its hard limit, once per process: `--local`'s
/// start-up does it, the `sites` binary too, and a test that opens thousands of connections.
pub fn raise_open_files_limit() {
    static RAISED: OnceLock<()> = OnceLock::new();
    RAISED.get_or_init(|| {
        #[cfg(unix)]
        if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
            crate::report::warn(format_args!("could not raise the open-files limit: {error}"));
        }
    });
}
