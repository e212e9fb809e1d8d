//! The summary lines and the exit-status policy, the same in every example.
//!
//! stdout carries exactly the tutorial's lines; everything else goes to stderr. Exit status: 0 when
//! everything succeeded, 1 when anything failed (a download, or writing `--timeline`'s file), 2 for a
//! bad command line (clap's own).

use std::fmt::Display;
use std::process::ExitCode;
use std::time::Duration;

use crate::server::SitesServer;
use crate::timeline;

/// Reports one download's outcome: a failure gets one stderr line naming the site and the reason
/// (with its causes, such as "connection refused" or "operation timed out"). Returns whether it
/// succeeded, so a caller can count: `sites.iter().filter(|url| succeeded(url, ...)).count()`.
///
/// Python's `executor.map` and `asyncio.gather` would raise the first exception or drop it; here
/// every failure is printed and counted, and the run goes on.
pub fn succeeded<T>(url: &str, result: anyhow::Result<T>) -> bool {
    match result {
        Ok(_) => true,
        Err(error) => {
            eprintln!("Failed to download {url}: {error:#}");
            false
        }
    }
}

/// Prints the tutorial's summary, `Downloaded 160 sites in 14.29 seconds`, or, when some failed,
/// `Downloaded 158 of 160 sites in 14.29 seconds (2 failed)`, and with `--timeline` writes the
/// run's picture ([`crate::timeline::finish`]). Returns the exit status: failure when any site
/// failed or the picture could not be written.
pub fn report_downloads(downloaded: usize, sites: usize, duration: Duration) -> ExitCode {
    println!("{}", download_summary(downloaded, sites, duration));
    if downloaded == 0 && sites > 0 {
        if SitesServer::runs_in_this_process() {
            eprintln!(
                "No site could be downloaded, even from the look-alike sites: see why above."
            );
        } else {
            eprintln!(
                "No site could be downloaded. Without internet, add --local for the look-alike sites."
            );
        }
    }
    let drawn = timeline::finish(duration);
    if downloaded == sites && drawn { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Prints the tutorial's `Computed in 0.61 seconds`, and with `--timeline` writes the run's picture.
/// Returns failure only if the picture could not be written.
pub fn report_computed(duration: Duration) -> ExitCode {
    println!("Computed in {} seconds", Seconds(duration));
    if timeline::finish(duration) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// For computations that can fail (a worker process that died): prints each failure on stderr
/// (`Computation failed: Process-2 died while running fib(35) (signal: 9 (SIGKILL))`), then
/// `Computed in 0.61 seconds`, or, when some failed, `Computed 19 of 20 in 0.61 seconds (1 failed)`.
/// With `--timeline`, writes the run's picture. Returns the exit status: failure when any
/// computation failed or the picture could not be written.
pub fn report_computed_results<T>(results: &[anyhow::Result<T>], duration: Duration) -> ExitCode {
    for error in results.iter().filter_map(|result| result.as_ref().err()) {
        eprintln!("Computation failed: {error:#}");
    }
    let computed = results.iter().filter(|result| result.is_ok()).count();
    println!("{}", computed_summary(computed, results.len(), duration));
    let drawn = timeline::finish(duration);
    if computed == results.len() && drawn { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The text of [`report_computed_results`]'s line.
pub fn computed_summary(computed: usize, total: usize, duration: Duration) -> String {
    let seconds = Seconds(duration);
    if computed == total {
        format!("Computed in {seconds} seconds")
    } else {
        let failed = total - computed;
        format!("Computed {computed} of {total} in {seconds} seconds ({failed} failed)")
    }
}

/// The text of [`report_downloads`]'s line.
pub fn download_summary(downloaded: usize, sites: usize, duration: Duration) -> String {
    let seconds = Seconds(duration);
    if downloaded == sites {
        format!("Downloaded {sites} sites in {seconds} seconds")
    } else {
        let failed = sites - downloaded;
        format!("Downloaded {downloaded} of {sites} sites in {seconds} seconds ({failed} failed)")
    }
}

/// The seconds in a line that [`report_computed`] printed, `Computed in 0.61 seconds`: for tests and
/// the compare command, which check the examples' output.
pub fn parse_computed(line: &str) -> Option<f64> {
    parse_seconds(line.strip_prefix("Computed in ")?.strip_suffix(" seconds")?)
}

/// The seconds in a line that [`report_downloads`] printed when all of `sites` sites were
/// downloaded, `Downloaded 160 sites in 14.29 seconds`.
pub fn parse_downloaded(line: &str, sites: usize) -> Option<f64> {
    let rest = line.strip_prefix(&format!("Downloaded {sites} sites in "))?;
    parse_seconds(rest.strip_suffix(" seconds")?)
}

/// Seconds with exactly two decimals, as [`Seconds`] shows them.
fn parse_seconds(text: &str) -> Option<f64> {
    let (whole, decimals) = text.split_once('.')?;
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if digits(whole) && digits(decimals) && decimals.len() == 2 { text.parse().ok() } else { None }
}

/// A duration shown as the tutorial shows it: seconds with two decimals.
pub struct Seconds(pub Duration);

impl Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}", self.0.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_has_the_tutorial_shape() {
        let duration = Duration::from_millis(14_289);
        assert_eq!(download_summary(160, 160, duration), "Downloaded 160 sites in 14.29 seconds");
        assert_eq!(
            download_summary(158, 160, duration),
            "Downloaded 158 of 160 sites in 14.29 seconds (2 failed)"
        );
    }

    #[test]
    fn summaries_parse_back() {
        let duration = Duration::from_millis(14_289);
        assert_eq!(parse_downloaded(&download_summary(160, 160, duration), 160), Some(14.29));
        assert_eq!(parse_downloaded(&download_summary(160, 160, duration), 80), None);
        assert_eq!(parse_downloaded(&download_summary(158, 160, duration), 160), None);
        assert_eq!(
            parse_computed(&format!("Computed in {} seconds", Seconds(duration))),
            Some(14.29)
        );
        for line in
            ["Computed in 0.6 seconds", "Computed in .61 seconds", "Computed in 1e2 seconds"]
        {
            assert_eq!(parse_computed(line), None, "{line}");
        }
    }

    #[test]
    fn exit_status_says_whether_all_succeeded() {
        assert_eq!(report_downloads(2, 2, Duration::ZERO), ExitCode::SUCCESS);
        assert_eq!(report_downloads(1, 2, Duration::ZERO), ExitCode::FAILURE);
    }

    #[test]
    fn computed_summary_counts_failures() {
        let duration = Duration::from_millis(614);
        assert_eq!(computed_summary(20, 20, duration), "Computed in 0.61 seconds");
        assert_eq!(
            computed_summary(19, 20, duration),
            "Computed 19 of 20 in 0.61 seconds (1 failed)"
        );
        let results = [Ok(1), Err(anyhow::anyhow!("Process-1 died"))];
        assert_eq!(report_computed_results(&results, duration), ExitCode::FAILURE);
        assert_eq!(report_computed_results(&results[..1], duration), ExitCode::SUCCESS);
    }

    #[test]
    fn a_failure_is_counted_not_raised() {
        assert!(succeeded("http://a", Ok(())));
        assert!(!succeeded::<()>("http://a", Err(anyhow::anyhow!("boom"))));
    }
}
