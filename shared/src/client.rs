//! How the examples' `reqwest` clients apply the command line, and read a page within its limits.
//! The clients themselves are built in the examples (they are the lesson); this is what each of
//! them would otherwise repeat:
//!
//! - `Client::builder().settings(&args.client).build()?` sets `--timeout`, and for sites that are
//!   all on this machine bypasses proxies and loads no certificates (plain HTTP on 127.0.0.1 needs
//!   none, and a container without a CA store still runs `--local`); it looks names up within
//!   `--timeout` ([`TimedResolver`]) and sends a GET again when its connection closed before any
//!   answer ([`retry_when_closed_before_answer`]);
//! - `client.get(url).send()?.page()?` is `.error_for_status()?.bytes()?` made strict: only a 2xx
//!   answer is a page (reqwest rejects only 4xx and 5xx), and a body over `--max-page` fails as it
//!   arrives, so that memory stays bounded whatever a server sends.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::bail;
use reqwest::Method;
use reqwest::StatusCode;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::args::ClientSettings;

/// The `--max-page` of this process, in bytes, set by [`ClientSettingsExt::settings`]: each process
/// builds its clients with the settings, io_processes' workers included, so reading a page needs
/// no handle besides the response.
static MAX_PAGE: AtomicU64 = AtomicU64::new(crate::args::DEFAULT_MAX_PAGE_MIB * 1024 * 1024);

/// The `--timeout` of this process, in microseconds, set with [`MAX_PAGE`], for the blocking
/// [`PageExt::page`].
static TIMEOUT_MICROS: AtomicU64 = AtomicU64::new(30_000_000);

/// [`ClientSettings`] applied to a client builder, blocking or async.
pub trait ClientSettingsExt {
    /// Applies `--timeout` and, for sites all on this machine, no proxy and no certificates; notes
    /// `--max-page` for [`PageExt::page`].
    fn settings(self, settings: &ClientSettings) -> Self;
}

/// The blocking and the async builders have the same methods but no common trait: one body
/// serves both.
macro_rules! settings_for {
    ($($builder:ty),*) => {$(
        impl ClientSettingsExt for $builder {
            fn settings(self, settings: &ClientSettings) -> Self {
                MAX_PAGE.store(settings.max_page, Ordering::Relaxed);
                let micros = u64::try_from(settings.timeout.as_micros()).unwrap_or(u64::MAX);
                TIMEOUT_MICROS.store(micros, Ordering::Relaxed);
                let builder = self
                    .timeout(settings.timeout)
                    .dns_resolver(Arc::new(TimedResolver::system(settings.timeout)))
                    .retry(retry_when_closed_before_answer());
                if settings.on_this_machine { builder.no_proxy().tls_certs_only([]) } else { builder }
            }
        }
    )*};
}

settings_for!(reqwest::blocking::ClientBuilder, reqwest::ClientBuilder);

/// The most name lookups waiting at once, each on its own thread (see [`TimedResolver`]).
const MAX_LOOKUP_THREADS: usize = 64;

static LOOKUP_THREADS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(MAX_LOOKUP_THREADS);

/// The system's name lookup (`getaddrinfo`, as reqwest's own resolver uses), given up after
/// `--timeout`. reqwest's total timeout does not cover its resolver, which runs on the runtime's
/// blocking threads, and the runtime waits for those at exit: with a DNS server that never
/// answers, each site took 5 to 10 s whatever `--timeout` said, and io_async went on for seconds
/// after its summary. Here each lookup runs on a thread of its own that nobody waits for: when it
/// takes too long, the download fails, naming the lookup, and the thread ends whenever the system
/// answers. At most 64 lookups wait at once, so that a short `--timeout` against a dead DNS server
/// cannot pile up threads. (URLs with an IP address, such as `--local`'s, need no lookup.)
pub struct TimedResolver {
    timeout: Duration,
    lookup: fn(&str) -> std::io::Result<Vec<SocketAddr>>,
}

impl TimedResolver {
    /// The system's lookup, within `timeout`.
    pub fn system(timeout: Duration) -> TimedResolver {
        TimedResolver::with_lookup(timeout, |host| Ok((host, 0).to_socket_addrs()?.collect()))
    }

    /// Any `lookup` function within `timeout`: the tests' way to try one that never answers.
    pub fn with_lookup(
        timeout: Duration,
        lookup: fn(&str) -> std::io::Result<Vec<SocketAddr>>,
    ) -> TimedResolver {
        TimedResolver { timeout, lookup }
    }
}

impl Resolve for TimedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (timeout, lookup, host) = (self.timeout, self.lookup, name.as_str().to_string());
        let looked_up = async move {
            // A thread that waits for a dead DNS server holds its permit until the system gives
            // up (20 s or more), so that lookups given up on cannot pile up without bound.
            let permit = LOOKUP_THREADS.acquire().await.map_err(|error| error.to_string())?;
            let (answer, answered) = tokio::sync::oneshot::channel();
            let looking_up = move || {
                let _ = answer.send(lookup(&host));
                drop(permit);
            };
            thread::Builder::new()
                .name("name-lookup".into())
                .spawn(looking_up)
                .map_err(|error| format!("cannot start a thread to look the name up: {error}"))?;
            answered.await.map_err(|_| "the name lookup ended without an answer".to_string())
        };
        Box::pin(async move {
            match tokio::time::timeout(timeout, looked_up).await {
                Ok(Ok(Ok(addresses))) => Ok(Box::new(addresses.into_iter()) as Addrs),
                Ok(Ok(Err(error))) => Err(error.into()),
                Ok(Err(error)) => Err(error.into()),
                Err(_) => Err(format!("name lookup timed out after {timeout:?}").into()),
            }
        })
    }
}

/// Retries a GET, twice at most, when its connection closed before any byte of the answer came
/// back. A server may close an idle connection while the client is already sending it the next
/// request (HTTP/1.1 allows it, and many servers close after each answer without saying so): the
/// client cannot tell in time, and 3 to 35% of downloads failed against such a server. A GET that
/// got nothing back is safe to send again. Once was not always enough: with 5 threads, several
/// pooled connections can be closed at once, and a retry can take another of them (5 of 2000
/// downloads still failed with one retry, none of 6000 with two; reqwest's own retries stop at
/// two as well). Within `--timeout`, which covers the retries too.
pub fn retry_when_closed_before_answer() -> reqwest::retry::Builder {
    reqwest::retry::for_host(AnyHost).no_budget().max_retries_per_request(2).classify_fn(
        |attempt| {
            let closed = attempt.error().is_some_and(closed_before_answer);
            if attempt.method() == Method::GET && closed {
                attempt.retryable()
            } else {
                attempt.success()
            }
        },
    )
}

/// Every host is in the retry's scope.
struct AnyHost;

impl PartialEq<&str> for AnyHost {
    fn eq(&self, _: &&str) -> bool {
        true
    }
}

/// Whether `error` says the connection ended before an answer: hyper's "connection closed before
/// message completed", a reset from the server, or, over HTTP/2, what reqwest's default policy
/// (which a policy of our own replaces) retries: a graceful GOAWAY or a refused stream.
fn closed_before_answer(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        let incomplete =
            error.downcast_ref::<hyper::Error>().is_some_and(|e| e.is_incomplete_message());
        let reset = error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset);
        let refused = error.downcast_ref::<h2::Error>().is_some_and(|e| {
            let go_away = e.is_go_away() && e.reason() == Some(h2::Reason::NO_ERROR);
            let refused = e.is_reset() && e.reason() == Some(h2::Reason::REFUSED_STREAM);
            e.is_remote() && (go_away || refused)
        });
        if incomplete || reset || refused {
            return true;
        }
        cause = error.source();
    }
    false
}

/// With sites that are not all on this machine, checks before the run that HTTPS can be set up:
/// that `SSL_CERT_FILE`, when set, is a regular file (a FIFO there hung start-up for ever, and
/// `/dev/zero` filled memory), and that the system's CA certificates load. Returns what to tell
/// the user when they do not.
pub(crate) fn check_certificates(settings: &ClientSettings) -> Result<(), String> {
    if settings.on_this_machine {
        return Ok(());
    }
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        let path = std::path::Path::new(&file);
        if !std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file()) {
            return Err(format!(
                "SSL_CERT_FILE={} is not a certificate file: point it at a PEM bundle, or unset \
                 it. (--local needs no certificates.)",
                path.display()
            ));
        }
    }
    match reqwest::Client::builder().build() {
        Ok(_) => Ok(()),
        Err(error) => {
            let mut reason = error.to_string();
            let mut cause = std::error::Error::source(&error);
            while let Some(error) = cause {
                reason += &format!(": {error}");
                cause = error.source();
            }
            Err(format!(
                "Cannot set up HTTPS ({reason}). The real sites need the system's CA \
                 certificates: install them (Debian or Ubuntu: apt-get install ca-certificates; \
                 Fedora: dnf install ca-certificates; Alpine: apk add ca-certificates), or point \
                 SSL_CERT_FILE at a PEM bundle. --local needs none."
            ))
        }
    }
}

/// Reading a response as a page: the blocking and the async one.
pub trait PageExt {
    /// What reading gives: the page's bytes, or a future of them.
    type Page;
    /// The body of a 2xx answer, at most `--max-page` bytes; any other status, or a larger body,
    /// is an error naming it.
    fn page(self) -> Self::Page;
}

/// The blocking page also stops at `--timeout`: the blocking client's timeout bounds each read,
/// not the whole body, so a server that sends a byte now and then kept io_sync reading for hours.
/// The time counts from the end of the answer's head, so a page that arrives that slowly ends
/// within `--timeout` of it (twice `--timeout` from the request at the very worst).
impl PageExt for reqwest::blocking::Response {
    type Page = anyhow::Result<Vec<u8>>;
    fn page(mut self) -> anyhow::Result<Vec<u8>> {
        check_status(self.status(), self.url())?;
        let max = MAX_PAGE.load(Ordering::Relaxed);
        check_size(self.content_length().unwrap_or(0), max)?;
        let timeout = Duration::from_micros(TIMEOUT_MICROS.load(Ordering::Relaxed));
        let deadline = Instant::now() + timeout;
        let mut body = Vec::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = self.read(&mut buffer)?;
            if read == 0 {
                return Ok(body);
            }
            check_size(body.len() + read, max)?;
            body.extend_from_slice(&buffer[..read]);
            if Instant::now() > deadline {
                bail!("the page was still arriving after --timeout ({timeout:?}): timed out");
            }
        }
    }
}

impl PageExt for reqwest::Response {
    type Page = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<Vec<u8>>> + Send>>;
    fn page(mut self) -> Self::Page {
        Box::pin(async move {
            check_status(self.status(), self.url())?;
            let max = MAX_PAGE.load(Ordering::Relaxed);
            check_size(self.content_length().unwrap_or(0), max)?;
            let mut body = Vec::new();
            while let Some(chunk) = self.chunk().await? {
                check_size(body.len() + chunk.len(), max)?;
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
    }
}

/// Only a 2xx status is a page: a redirect that was not followed (no `Location`, or one to
/// `file:`), `304 Not Modified`, `101 Switching Protocols` or a status past 599 is not.
fn check_status(status: StatusCode, url: &Url) -> anyhow::Result<()> {
    if status.is_success() {
        Ok(())
    } else {
        bail!("HTTP status {status} for url ({url}): only a 2xx answer is a page")
    }
}

/// A body of `size` bytes, counted as it arrives or announced by `Content-Length`, fits `max`.
fn check_size(size: impl TryInto<u64>, max: u64) -> anyhow::Result<()> {
    if size.try_into().unwrap_or(u64::MAX) > max {
        bail!("the page is larger than --max-page ({} MiB)", max / (1024 * 1024));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup that never answers in time: the test's stand-in for a DNS server that is down.
    fn stuck(_: &str) -> std::io::Result<Vec<SocketAddr>> {
        thread::sleep(Duration::from_secs(60));
        Ok(Vec::new())
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(error) = cause {
            text += &format!(": {error}");
            cause = error.source();
        }
        text
    }

    #[test]
    fn a_lookup_that_never_answers_fails_after_the_timeout() {
        let resolver = TimedResolver::with_lookup(Duration::from_millis(50), stuck);
        let name = "slow-dns.example.test".parse().unwrap();
        let runtime = runtime();
        let result = runtime.block_on(resolver.resolve(name)).map(|addresses| addresses.count());
        let error = result.expect_err("a stuck lookup cannot succeed");
        assert!(error.to_string().contains("name lookup timed out"), "{error}");
        // The runtime does not wait for the lookup's thread (it would for 60 s).
        drop(runtime);
    }

    #[test]
    fn a_download_whose_lookup_never_answers_fails_naming_the_lookup() {
        let resolver = TimedResolver::with_lookup(Duration::from_millis(50), stuck);
        let client = reqwest::Client::builder().no_proxy().dns_resolver(Arc::new(resolver));
        let client = client.timeout(Duration::from_secs(30)).build().unwrap();
        let runtime = runtime();
        let result =
            runtime.block_on(async { client.get("http://slow-dns.example.test/").send().await });
        let error = result.expect_err("a stuck lookup cannot succeed");
        assert!(error_chain(&error).contains("name lookup timed out"), "{}", error_chain(&error));
        drop(runtime);
    }

    #[test]
    fn the_system_lookup_finds_localhost() {
        let resolver = TimedResolver::system(Duration::from_secs(10));
        let addresses = runtime().block_on(resolver.resolve("localhost".parse().unwrap()));
        let addresses: Vec<_> = addresses.unwrap().collect();
        assert!(!addresses.is_empty() && addresses.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn only_a_connection_closed_before_any_answer_is_retried() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(closed_before_answer(&reset));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!closed_before_answer(&refused));
        assert!(!closed_before_answer(&*anyhow::anyhow!("HTTP status 500").into_boxed_dyn_error()));
    }
}
