//! io_async's floor: the same downloads, at most `--limit` at once on one thread, but over raw
//! tokio sockets and without an HTTP library: a new connection for each download, a hand-written
//! GET, then the answer's head and its `Content-Length` bytes. What io_async takes beyond this is
//! what reqwest and hyper cost it; the rest is the kernel's loopback, the server and the process.
//! A benchmark for the look-alike server's plain answers, not a client for the web.
//!
//!     cargo run --release -p shared --bin sites -- --port 8932 --latency 20    # another terminal
//!     cargo build --release -p shared --example raw_http
//!     target/release/examples/raw_http 127.0.0.1:8932 --repeat 50

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::StreamExt;
use futures_util::stream;
use shared::server::path_for;
use shared::tutorial::SITES;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer read: the look-alike pages are 11 KB at most.
const MAX_ANSWER: usize = 64 * 1024;

#[derive(Parser)]
#[command(about = "Downloads the look-alike sites over raw sockets: io_async's floor")]
struct Args {
    /// The `sites` server's address.
    server: SocketAddr,
    /// How many times to repeat the two sites.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..))]
    repeat: u16,
    /// How many downloads may run at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    limit: u16,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let paths: Vec<String> = SITES.iter().map(|site| path_for(site)).collect();
    let sites = shared::tutorial::repeated(&paths, usize::from(args.repeat));
    let start_time = Instant::now();
    let downloads = sites.iter().map(|path| async move {
        let answer = tokio::time::timeout(Duration::from_secs(10), download(args.server, path));
        answer.await.unwrap_or_else(|_| bail!("no answer within 10 s"))
    });
    let mut downloads = stream::iter(downloads).buffer_unordered(usize::from(args.limit));
    let mut downloaded = 0;
    while let Some(answer) = downloads.next().await {
        match answer {
            Ok(_) => downloaded += 1,
            Err(error) => shared::output::warn(format_args!("Failed to download: {error:#}")),
        }
    }
    let seconds = start_time.elapsed().as_secs_f64();
    let summary =
        format!("Downloaded {downloaded} of {} sites in {seconds:.3} seconds", sites.len());
    writeln!(std::io::stdout(), "{summary}")?;
    Ok(if downloaded == sites.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// One GET on a connection of its own; returns the body's length.
async fn download(server: SocketAddr, path: &str) -> anyhow::Result<usize> {
    let mut connection = TcpStream::connect(server).await?;
    connection.set_nodelay(true)?; // as reqwest does
    let request = format!("GET {path} HTTP/1.1\r\nhost: {server}\r\nconnection: close\r\n\r\n");
    connection.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut buffer = [0; 16 * 1024];
    loop {
        let read = connection.read(&mut buffer).await?;
        if read == 0 {
            bail!("the connection closed after {} bytes", answer.len());
        }
        answer.extend_from_slice(&buffer[..read]);
        if let Some(length) = body_length(&answer)? {
            return Ok(length);
        }
        if answer.len() > MAX_ANSWER {
            bail!("an answer over {MAX_ANSWER} bytes");
        }
    }
}

/// The body's length once the head and the whole body are in `answer`, `None` before.
fn body_length(answer: &[u8]) -> anyhow::Result<Option<usize>> {
    let Some(end) = answer.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&answer[..end]);
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200 ") {
        bail!("not a page: {}", shared::output::escaped(status));
    }
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length").then_some(value)
    });
    let length: usize = length.context("no content-length")?.trim().parse()?;
    if length > MAX_ANSWER {
        bail!("a page of {length} bytes, over {MAX_ANSWER}");
    }
    Ok((answer.len() >= end + 4 + length).then_some(length))
}
