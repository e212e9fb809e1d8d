//! The look-alike sites server, through a real HTTP client. Nothing here leaves 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use shared::server::{DICE_BYTES, JYTHON_BYTES, raise_open_files_limit};
use shared::{Fault, SitesServer};

fn client(timeout: Duration) -> Client {
    Client::builder().timeout(timeout).no_proxy().build().unwrap()
}

fn start(latency_ms: u64) -> SitesServer {
    SitesServer::start(Duration::from_millis(latency_ms)).unwrap()
}

#[test]
fn pages_have_the_real_sites_sizes() {
    let server = start(0);
    let client = client(Duration::from_secs(10));
    // The sizes written out, not the constants the server uses, so that a changed page fails here.
    for (site, size) in
        [("https://www.jython.org", 10966), ("http://olympus.realpython.org/dice", 276)]
    {
        let response = client.get(server.url_for(site)).send().unwrap().error_for_status().unwrap();
        let length = response.content_length();
        assert_eq!(response.bytes().unwrap().len(), size, "{site}");
        assert_eq!(length, Some(size as u64), "{site}: the Content-Length as served");
    }
    assert_eq!(server.served(), 2);
    assert_eq!(
        server.url_for("https://www.jython.org"),
        format!("{}/www.jython.org", server.base_url())
    );
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
}

#[test]
fn every_response_waits_at_least_the_latency() {
    let server = start(200);
    let client = client(Duration::from_secs(10));
    for _ in 0..3 {
        let start_time = Instant::now();
        client.get(server.url_for("http://olympus.realpython.org/dice")).send().unwrap();
        assert!(start_time.elapsed() >= Duration::from_millis(200));
    }
}

#[test]
fn peak_in_flight_counts_requests_held_open_together() {
    let server = start(0);
    let url = server.fault_url(Fault::Stall);
    let client = client(Duration::from_secs(30));
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            thread::spawn(move || client.get(url).send().is_err())
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.in_flight() < 50 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.in_flight(), 50);
    assert_eq!(server.peak_in_flight(), 50);
    drop(server); // stops the server, and with it the stalled responses
    for request in requests {
        assert!(request.join().unwrap(), "a stalled request cannot succeed");
    }
}

#[test]
fn a_holding_server_answers_once_enough_requests_wait_together() {
    let server = SitesServer::start_holding(Duration::from_millis(0), 3).unwrap();
    let url = server.url_for("https://www.jython.org");
    let client = client(Duration::from_secs(30));
    let send = |client: &Client| {
        let (client, url) = (client.clone(), url.clone());
        thread::spawn(move || client.get(url).send().map(|response| response.status()))
    };
    let first_two = [send(&client), send(&client)];
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.in_flight() < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(100));
    assert_eq!((server.in_flight(), server.served()), (2, 2), "two requests held");
    assert!(first_two.iter().all(|request| !request.is_finished()));
    let third = send(&client);
    for request in first_two.into_iter().chain([third]) {
        assert_eq!(request.join().unwrap().unwrap(), StatusCode::OK);
    }
    assert_eq!(server.peak_in_flight(), 3);
    // Open for good: later requests are not held.
    client.get(server.url_for("https://www.jython.org")).send().unwrap();
    assert_eq!(server.peak_in_flight(), 3);
}

#[test]
fn a_sequential_client_peaks_at_one() {
    let server = start(5);
    let client = client(Duration::from_secs(10));
    for _ in 0..5 {
        client.get(server.url_for("https://www.jython.org")).send().unwrap();
    }
    assert_eq!((server.served(), server.peak_in_flight(), server.in_flight()), (5, 1, 0));
}

#[test]
fn fault_pages_fail_as_named() {
    let server = start(0);
    let client = client(Duration::from_secs(1));

    let response = client.get(server.fault_url(Fault::ServerError)).send().unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let response = client.get(server.fault_url(Fault::Truncated)).send().unwrap();
    assert_eq!(response.content_length(), Some(JYTHON_BYTES as u64));
    assert!(response.bytes().is_err(), "a body cut short must fail to read");

    let error = client.get(server.fault_url(Fault::Stall)).send().unwrap_err();
    assert!(error.is_timeout(), "{error:?}");

    let response = client.get(server.fault_url(Fault::Redirect)).send().unwrap();
    assert_eq!(response.url().as_str(), server.url_for("https://www.jython.org"));
    assert_eq!(response.bytes().unwrap().len(), JYTHON_BYTES);

    let no_redirects =
        Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build();
    let response = no_redirects.unwrap().get(server.fault_url(Fault::Redirect)).send().unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);

    let response = client.get(format!("{}/no/such/page", server.base_url())).send().unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[test]
fn odd_status_pages_answer_with_their_status() {
    let server = start(0);
    let no_redirects = Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none());
    let client = no_redirects.timeout(Duration::from_secs(10)).build().unwrap();
    for fault in Fault::odd_statuses() {
        let response = client.get(server.fault_url(fault)).send().unwrap();
        assert_eq!(Some(response.status().as_u16()), fault.status(), "{fault:?}");
    }
    let response = client.get(server.fault_url(Fault::FoundWithoutLocation)).send().unwrap();
    assert!(response.headers().get("location").is_none());
    let response = client.get(server.fault_url(Fault::RedirectToFile)).send().unwrap();
    assert_eq!(response.headers()["location"], "file:///etc/passwd");
}

#[test]
fn huge_pages_are_sent_as_they_are_read() {
    use std::io::Read;
    let server = start(0);
    let client = client(Duration::from_secs(10));
    let sized = client.get(server.fault_url(Fault::Huge)).send().unwrap();
    assert_eq!(sized.content_length(), Some(shared::server::HUGE_BYTES));
    let chunked = client.get(server.fault_url(Fault::HugeChunked)).send().unwrap();
    assert_eq!(chunked.headers()["transfer-encoding"], "chunked");
    for response in [sized, chunked] {
        let mut first = Vec::new();
        response.take(1 << 20).read_to_end(&mut first).unwrap();
        assert!(first.len() == 1 << 20 && first.iter().all(|&byte| byte == b'x'));
    }
}

#[test]
fn the_fault_list_is_complete() {
    let mut paths: Vec<_> = Fault::ALL.iter().map(|fault| fault.path()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), Fault::ALL.len(), "every fault page has its own path");
    assert_eq!(Fault::odd_statuses().count(), 7, "302 twice, 300, 304, 101, 600, 999");
}

#[cfg(unix)]
#[test]
fn starting_raises_the_open_files_limit() {
    let _server = start(0);
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    assert!(soft == hard || soft >= 10_240, "soft {soft}, hard {hard}");
}

/// The `sites` binary, killed when dropped.
struct SitesProcess(Child);

impl Drop for SitesProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cargo run -p shared --bin sites -- --port 0` and returns it with its base URL.
fn run_sites_binary(latency_ms: u64) -> (SitesProcess, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_sites"))
        .args(["--port", "0", "--latency", &latency_ms.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut process = SitesProcess(child);
    let mut stdout = BufReader::new(process.0.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).unwrap();
    thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink())); // the rest of its output
    // "Look-alike sites on http://127.0.0.1:PORT, 90 ms per response:"
    let base = first_line.split_whitespace().nth(3).unwrap().trim_end_matches(',').to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first_line}");
    (process, base)
}

#[test]
fn the_sites_binary_serves_both_pages() {
    let (_process, base) = run_sites_binary(0);
    let client = client(Duration::from_secs(10));
    let jython = client.get(format!("{base}/www.jython.org")).send().unwrap().bytes().unwrap();
    let dice =
        client.get(format!("{base}/olympus.realpython.org/dice")).send().unwrap().bytes().unwrap();
    assert_eq!((jython.len(), dice.len()), (JYTHON_BYTES, DICE_BYTES));
}

/// 10,000 connections open at once. The server runs in its own process (the `sites` binary), so that
/// neither side's open-files limit has to hold both ends of every connection.
#[test]
fn serves_ten_thousand_concurrent_connections() {
    raise_open_files_limit();
    let (_process, base) = run_sites_binary(200);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ok = runtime.block_on(async {
        let client =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap();
        let tasks: Vec<_> = (0..10_000)
            .map(|_| {
                let request = client.get(format!("{base}/olympus.realpython.org/dice")).send();
                tokio::spawn(async move { request.await?.error_for_status()?.bytes().await })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(body) if body.len() == DICE_BYTES => ok += 1,
                Ok(body) => panic!("wrong size {}", body.len()),
                Err(error) => eprintln!("{error:#}"),
            }
        }
        ok
    });
    assert_eq!(ok, 10_000);
}
