//! How the examples' `reqwest` clients apply the command line, and read a page within its limits.
//! The clients themselves are built in the examples (they are the lesson); this is what each of
//! them would otherwise repeat:
//!
//! - `Client::builder().settings(&args.client).build()?` sets `--timeout`, and for sites that are
//!   all on this machine bypasses proxies and loads no certificates (plain HTTP on 127.0.0.1 needs
//!   none, and a container without a CA store still runs `--local`);
//! - `client.get(url).send()?.page()?` is `.error_for_status()?.bytes()?` made strict: only a 2xx
//!   answer is a page (reqwest rejects only 4xx and 5xx), and a body over `--max-page` fails as it
//!   arrives, so that memory stays bounded whatever a server sends.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::bail;
use reqwest::StatusCode;
use reqwest::Url;

use crate::args::ClientSettings;

/// The `--max-page` of this process, in bytes, set by [`ClientSettingsExt::settings`]: each process
/// builds its clients with the settings, io_processes' workers included, so reading a page needs
/// no handle besides the response.
static MAX_PAGE: AtomicU64 = AtomicU64::new(crate::args::DEFAULT_MAX_PAGE_MIB * 1024 * 1024);

/// [`ClientSettings`] applied to a client builder, blocking or async.
pub trait ClientSettingsExt {
    /// Applies `--timeout` and, for sites all on this machine, no proxy and no certificates; notes
    /// `--max-page` for [`PageExt::page`].
    fn settings(self, settings: &ClientSettings) -> Self;
}

impl ClientSettingsExt for reqwest::blocking::ClientBuilder {
    fn settings(self, settings: &ClientSettings) -> Self {
        MAX_PAGE.store(settings.max_page, Ordering::Relaxed);
        let builder = self.timeout(settings.timeout);
        if settings.on_this_machine { builder.no_proxy().tls_certs_only([]) } else { builder }
    }
}

impl ClientSettingsExt for reqwest::ClientBuilder {
    fn settings(self, settings: &ClientSettings) -> Self {
        MAX_PAGE.store(settings.max_page, Ordering::Relaxed);
        let builder = self.timeout(settings.timeout);
        if settings.on_this_machine { builder.no_proxy().tls_certs_only([]) } else { builder }
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

impl PageExt for reqwest::blocking::Response {
    type Page = anyhow::Result<Vec<u8>>;
    fn page(self) -> anyhow::Result<Vec<u8>> {
        check_status(self.status(), self.url())?;
        let max = MAX_PAGE.load(Ordering::Relaxed);
        let mut body = Vec::new();
        self.take(max + 1).read_to_end(&mut body)?;
        check_size(body.len(), max)?;
        Ok(body)
    }
}

impl PageExt for reqwest::Response {
    type Page = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<Vec<u8>>> + Send>>;
    fn page(mut self) -> Self::Page {
        Box::pin(async move {
            check_status(self.status(), self.url())?;
            let max = MAX_PAGE.load(Ordering::Relaxed);
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

fn check_size(size: usize, max: u64) -> anyhow::Result<()> {
    if size as u64 > max {
        bail!("the page is larger than --max-page ({} MiB)", max / (1024 * 1024));
    }
    Ok(())
}
