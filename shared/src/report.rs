//! The summary lines and the exit-status policy, the same in every example.
//!
//! stdout carries exactly the tutorial's lines; everything else goes to stderr. Exit status: 0 when
//! everything succeeded, 1 when anything failed (a download, writing a line, or writing
//! `--timeline`'s file), 2 for a bad command line (clap's own). Nothing here panics on a stdout or
//! stderr that cannot be written (a full disk, `>/dev/full`): a failed summary line is reported on
//! stderr where it can be, and the exit status says so.

use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[cfg(feature = "io")]
use crate::args::IoArgs;
use crate::output::{escaped, warn};
use crate::timeline;

/// Reports one download's outcome: a failure gets one stderr line naming the site and the reason
/// (with its causes, such as "connection refused" or "operation timed out"). Returns whether it
/// succeeded, so a caller can count: `results.filter(|(url, result)| succeeded(url, result))`.
///
/// Python's `executor.map` and `asyncio.gather` would raise the first exception or drop it; here
/// every failure is printed and counted, and the run goes on.
pub fn succeeded<T>(url: &str, result: anyhow::Result<T>) -> bool {
    match result {
        Ok(_) => true,
        Err(error) => {
            warn(format_args!(
                "Failed to download {}: {}",
                escaped(url),
                escaped(&format!("{error:#}"))
            ));
            false
        }
    }
}

/// Runs one download and says whether it succeeded: a failure is reported as [`succeeded`] does,
/// and with `--timeline` the download becomes a bar of the picture. The examples count with it:
/// `sites.iter().filter(|url| shared::downloaded(url, || download_site(url, &client))).count()`.
pub fn downloaded(url: &str, download: impl FnOnce() -> anyhow::Result<()>) -> bool {
    succeeded(url, timeline::task(url, download))
}

/// [`downloaded`] for a future (io_async). A plain function returning a combinator, not an
/// `async fn` or an `async` block, so that the future it returns holds the download's future once
/// (an `async` block awaiting it would hold it twice): io_async keeps up to `--limit` of them.
#[cfg(feature = "io")]
pub fn downloaded_async<'a, F>(url: &'a str, download: F) -> impl Future<Output = bool> + 'a
where
    F: Future<Output = anyhow::Result<()>> + 'a,
{
    use futures_util::FutureExt;
    timeline::task_async(url, download).map(move |result| succeeded(url, result))
}

/// Prints the tutorial's summary, `Downloaded 160 sites in 14.29 seconds`, or, when some failed,
/// `Downloaded 158 of 160 sites in 14.29 seconds (2 failed)`, and with `--timeline` writes the
/// run's picture ([`crate::timeline::finish`]). When nothing could be downloaded, a hint on stderr
/// says where to look. Returns the exit status: failure when any site failed, or the line or the
/// picture could not be written.
#[cfg(feature = "io")]
pub fn report_downloads(downloaded: usize, args: &IoArgs, duration: Duration) -> ExitCode {
    let sites = args.sites.len();
    let printed = print_line(download_summary(downloaded, sites, duration));
    if downloaded == 0 && sites > 0 {
        warn(nothing_downloaded_hint(args));
    }
    let drawn = timeline::finish(duration);
    exit_status(downloaded == sites && printed && drawn)
}

/// What to say when no site at all could be downloaded, which depends on where they were.
#[cfg(feature = "io")]
fn nothing_downloaded_hint(args: &IoArgs) -> &'static str {
    if args.local.is_some() {
        "No site could be downloaded, even from the look-alike sites: see why above."
    } else if args.client.on_this_machine {
        "No site could be downloaded from these addresses on this machine: nothing answered, or \
         what answered sent no page (see why above)."
    } else {
        "No site could be downloaded. Without internet, add --local for the look-alike sites."
    }
}

/// Prints the tutorial's `Computed in 0.61 seconds`, and with `--timeline` writes the run's picture.
/// Returns failure only if the line or the picture could not be written.
pub fn report_computed(duration: Duration) -> ExitCode {
    let printed = print_line(format!("Computed in {} seconds", Seconds(duration)));
    let drawn = timeline::finish(duration);
    exit_status(printed && drawn)
}

/// For computations that can fail (a worker process that died): prints each failure on stderr
/// (`Computation failed: Process-2 died while running fib(35) (signal: 9 (SIGKILL))`), then
/// `Computed in 0.61 seconds`, or, when some failed, `Computed 19 of 20 in 0.61 seconds (1 failed)`.
/// With `--timeline`, writes the run's picture. Returns the exit status: failure when any
/// computation failed or the line or the picture could not be written.
pub fn report_computed_results<T>(results: &[anyhow::Result<T>], duration: Duration) -> ExitCode {
    for error in results.iter().filter_map(|result| result.as_ref().err()) {
        warn(format_args!("Computation failed: {}", escaped(&format!("{error:#}"))));
    }
    let computed = results.iter().filter(|result| result.is_ok()).count();
    let printed = print_line(computed_summary(computed, results.len(), duration));
    let drawn = timeline::finish(duration);
    exit_status(computed == results.len() && printed && drawn)
}

fn exit_status(success: bool) -> ExitCode {
    if success { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Writes one line on stdout, without the panic of `println!` on a full or closed stdout; says on
/// stderr (where it can) when it could not, and returns whether it could. The summaries use it,
/// and so do the cargo examples' own result lines.
pub fn print_line(line: String) -> bool {
    let written = writeln!(std::io::stdout(), "{line}").and_then(|()| std::io::stdout().flush());
    if let Err(error) = &written {
        warn(format_args!("Could not print the summary: {error}"));
    }
    written.is_ok()
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
    #[cfg(feature = "io")]
    fn exit_status_says_whether_all_succeeded() {
        let args = IoArgs::try_parse_from("io_non_concurrent.py", crate::Knob::None, ["io_sync"]);
        let args = IoArgs { sites: vec!["http://a".into(), "http://b".into()], ..args.unwrap() };
        assert_eq!(report_downloads(2, &args, Duration::ZERO), ExitCode::SUCCESS);
        assert_eq!(report_downloads(1, &args, Duration::ZERO), ExitCode::FAILURE);
    }

    #[test]
    #[cfg(feature = "io")]
    fn the_hint_after_total_failure_fits_the_run() {
        let hint = |args: &[&str]| {
            let args = IoArgs::try_parse_from("io_non_concurrent.py", crate::Knob::None, args);
            nothing_downloaded_hint(&args.unwrap())
        };
        assert!(hint(&["io_sync", "--local"]).contains("even from the look-alike sites"));
        assert!(hint(&["io_sync", "http://127.0.0.1:9/"]).contains("nothing answered"));
        assert!(hint(&["io_sync", "http://[::1]:9/", "http://localhost/"]).contains("nothing"));
        assert!(hint(&["io_sync"]).contains("add --local"));
        assert!(hint(&["io_sync", "http://127.0.0.1:9/", "https://x.org"]).contains("add --local"));
    }

    #[test]
    fn text_from_outside_is_escaped() {
        assert_eq!(escaped("http://a/\nb"), "http://a/\\nb");
        assert_eq!(escaped("line\nforged\u{1b}[31m"), "line\\nforged\\u{1b}[31m");
        assert_eq!(escaped("plain café"), "plain café");
        assert_eq!(escaped("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
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
