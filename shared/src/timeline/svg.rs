//! The `--timeline` picture: a hand-written SVG of the recorded bars. [`draw`] lays out the page
//! (title, captions, lanes, time axis, legend); [`lanes`] orders the workers and stacks the tasks
//! that overlapped on one of them into rows; [`blocks`] draws each row's bars, merging those too
//! thin to see. Everything is in SVG user units, which browsers show as CSS pixels.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::{Heading, Work};
use blocks::{Kinds, Merged, Shape, draw_row, mix_id, stripes};
use lanes::{LaneRows, Workers, stack};

mod blocks;
mod lanes;

/// One task as drawn, in time since the start of the run.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Bar {
    /// The lane it is drawn on.
    pub(super) worker: Worker,
    /// What it was: a URL (its host and path choose the colour), or `fib`.
    pub(super) label: String,
    /// When it started.
    pub(super) start: Duration,
    /// When it ended.
    pub(super) end: Duration,
    /// False if it failed: it is then drawn hatched in red.
    pub(super) ok: bool,
    /// What it returned, shown in its hover text (`fib(35) = 9227465`), if anything.
    pub(super) value: Option<String>,
}

/// Who ran a task: one lane each.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Worker {
    /// A thread of this process: `main thread`, `thread 3`.
    Thread(String),
    /// A worker named by whoever recorded it: `Process-2`.
    Named(String),
}

impl Worker {
    /// The lane's name.
    pub(super) fn name(&self) -> &str {
        match self {
            Worker::Thread(name) | Worker::Named(name) => name,
        }
    }
}

const WIDTH: f64 = 1200.0;
const RIGHT: f64 = 30.0;
/// Room for lane names: at least this much, so that the pictures of the examples line up, and at
/// most this much (longer names overflow on the left rather than squeeze the plot).
const MIN_LABEL: f64 = 100.0;
const MAX_LABEL: f64 = 220.0;
const MIN_PLOT_WIDTH: f64 = WIDTH - MAX_LABEL - 16.0 - RIGHT;
/// The plot is at most this tall, so that a picture fits a screen whatever the number of lanes.
const PLOT_HEIGHT: f64 = 540.0;
/// A row is at most this tall (the one lane of io_sync is not a 540 px slab).
const ROW_HEIGHT: f64 = 28.0;
/// Beyond this many rows (io_async's stacked tasks with no limit), neighbouring rows are merged.
const MAX_ROWS: usize = 270;
/// Bars narrower than this are merged with their neighbours into one block.
pub(super) const THIN: f64 = 2.0;
/// Above this many tasks, single bars get no hover text, to keep the file small.
const MAX_TOOLTIPS: usize = 3000;
/// The colours of the first kinds of task (Okabe and Ito's colour-blind safe palette, without its
/// red, which marks failures); further kinds share OTHER.
pub(super) const PALETTE: [&str; 6] =
    ["#0072B2", "#E69F00", "#009E73", "#56B4E9", "#CC79A7", "#F0E442"];
pub(super) const OTHER: &str = "#BBBBBB";

/// Draws `bars` as a self-contained SVG: the title (crate, task count, workers, `duration`), a
/// caption, one lane per worker with a bar per task (tasks that overlap on one worker, as io_async's
/// do, are stacked in rows), a time axis in seconds and a legend. Failed tasks are hatched in red and
/// counted in the legend. Bars too thin to see are merged into blocks, and the caption says so. When
/// the machine's `cores` are known and a computation ran on more workers than that, a caption says
/// why each call took longer than it would alone.
pub(super) fn draw(
    heading: &Heading,
    bars: &[Bar],
    duration: Duration,
    cores: Option<usize>,
) -> String {
    let workers = Workers::of(bars);
    let kinds = Kinds::of(bars, heading.work);
    let last_end = bars.iter().map(|bar| bar.end).max().unwrap_or_default();
    let total = match duration.max(last_end).as_secs_f64() {
        0.0 => 1.0,
        total => total,
    };

    // Stack the tasks of each worker into rows. An overlap of half a pixel does not count (the plot
    // is at least MIN_PLOT_WIDTH wide, and draw_row merges only bars that overlap by a pixel).
    let mut lanes: Vec<LaneRows<'_>> = workers
        .names
        .iter()
        .map(|name| {
            let mut own: Vec<&Bar> = bars.iter().filter(|bar| bar.worker.name() == name).collect();
            own.sort_by(|a, b| (a.start, a.end, &a.label).cmp(&(b.start, b.end, &b.label)));
            let (slots, stacked) = stack(&own, 0.5 * total / MIN_PLOT_WIDTH);
            LaneRows { name: name.clone(), bars: own, slots, stacked, rows: stacked }
        })
        .collect();
    let note = |lane: &LaneRows<'_>| format!("up to {} at once", thousands(lane.stacked));
    let left = lanes
        .iter()
        .map(|lane| {
            let note = if lane.stacked > 1 { text_width(&note(lane), 11.0) } else { 0.0 };
            text_width(&lane.name, 12.0).max(note)
        })
        .fold(0.0, f64::max)
        .clamp(MIN_LABEL, MAX_LABEL)
        + 16.0;
    let scale = Scale { left, width: WIDTH - left - RIGHT, total };

    // Fit all rows into the plot, merging neighbouring rows when there are too many.
    let stacked_rows: usize = lanes.iter().map(|lane| lane.stacked).sum();
    let folded = stacked_rows > MAX_ROWS;
    if folded {
        for lane in &mut lanes {
            lane.rows = (lane.stacked * MAX_ROWS).div_ceil(stacked_rows).max(1);
        }
    }
    let rows: usize = lanes.iter().map(|lane| lane.rows).sum::<usize>().max(1);
    let lane_gap = match lanes.len() {
        0 | 1 => 0.0,
        2..=40 => 6.0,
        _ => 1.0,
    };
    let gaps = lane_gap * lanes.len().saturating_sub(1) as f64;
    let row_height = ((PLOT_HEIGHT - gaps).max(PLOT_HEIGHT / 2.0) / rows as f64).min(ROW_HEIGHT);
    let pad = match row_height {
        8.0.. => 1.5,
        3.0.. => 0.5,
        _ => 0.0,
    };

    // The lanes: their backgrounds, their bars, their names.
    let mut backgrounds = String::new();
    let mut body = String::new();
    let mut names = String::new();
    let mut merged = Merged::default();
    let tooltips = bars.len() <= MAX_TOOLTIPS;
    let mut y = 0.0;
    let mut names_bottom = f64::NEG_INFINITY;
    for lane in &lanes {
        let height = lane.rows as f64 * row_height;
        let _ = writeln!(
            backgrounds,
            r##"<rect class="lane-bg" x="{left:.1}" y="{y:.1}" width="{:.1}" height="{height:.1}" fill="#F0F0F0"/>"##,
            scale.width
        );
        let _ = write!(
            body,
            r#"<g class="lane" data-worker="{}" data-rows="{}">"#,
            escape(&lane.name),
            lane.stacked
        );
        let mut by_row: BTreeMap<usize, Vec<&Bar>> = BTreeMap::new();
        for (bar, slot) in lane.bars.iter().zip(&lane.slots) {
            by_row.entry(slot * lane.rows / lane.stacked).or_default().push(bar);
        }
        for (row, row_bars) in &by_row {
            let top = y + *row as f64 * row_height + pad;
            let shape = Shape { top, height: row_height - 2.0 * pad, tooltips, work: heading.work };
            // Failures last, so that they are drawn over anything merged near them.
            let (ok, failed): (Vec<&Bar>, Vec<&Bar>) = row_bars.iter().partition(|bar| bar.ok);
            for group in [ok, failed] {
                draw_row(&mut body, &group, &scale, &kinds, &shape, &mut merged);
            }
        }
        body.push_str("</g>\n");
        // The lane's name, unless it would overlap the one above (when there are many lanes).
        let middle = y + height / 2.0;
        if middle - 6.0 >= names_bottom {
            let stacked = lane.stacked > 1 && height >= 34.0;
            let baseline = if stacked { middle - 2.0 } else { middle + 4.0 };
            let _ = writeln!(
                names,
                r##"<text x="{:.1}" y="{baseline:.1}" text-anchor="end" font-size="12" fill="#222">{}</text>"##,
                left - 8.0,
                escape(&lane.name)
            );
            names_bottom = baseline + 4.0;
            if stacked {
                let _ = writeln!(
                    names,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#666">{}</text>"##,
                    left - 8.0,
                    baseline + 14.0,
                    note(lane)
                );
                names_bottom = baseline + 18.0;
            }
        }
        y += height + lane_gap;
    }
    let plot_height = (y - lane_gap).max(row_height);

    // The title and the caption, which say what the picture does not show by itself.
    let count = bars.len();
    let work = noun(count, heading.work);
    let mut title = format!(
        "{}: {} {work} on {} in {:.2} s",
        heading.example,
        thousands(count),
        workers.counted(),
        duration.as_secs_f64()
    );
    if count == 0 {
        title = format!("{}: no tasks were recorded", heading.example);
    }
    let mut captions = Vec::new();
    let colour = match heading.work {
        Work::Downloads => ", coloured by site",
        Work::Fib(_) => "",
    };
    captions.push(format!(
        "One bar per {} from its start to its end{colour}; one lane per {}.",
        noun(1, heading.work),
        workers.noun(1)
    ));
    if let (Work::Fib(_), Some(cores)) = (heading.work, cores)
        && workers.names.len() > cores
    {
        captions.push(format!(
            "{} shared this machine's {cores} CPU {}, so each call took longer than it would with a core to itself.",
            workers.counted(),
            if cores == 1 { "core" } else { "cores" }
        ));
    }
    if let Some(most) = lanes.iter().filter(|lane| lane.stacked > 1).max_by_key(|lane| lane.stacked)
    {
        let at_once = thousands(most.stacked);
        if lanes.len() == 1 && workers.threads {
            let on = if most.name == "main thread" { "the main thread" } else { &most.name };
            captions.push(format!(
                "All {} {work} ran on one thread ({on}): those that overlapped in time are stacked in rows, up to {at_once} at once.",
                thousands(count),
            ));
        } else {
            captions.push(format!(
                "Tasks that overlapped in time on one {} are stacked in rows (up to {at_once} at once, on {}).",
                workers.noun(1),
                most.name
            ));
        }
    }
    if folded {
        captions.push(format!(
            "There are too many rows to draw: each drawn row holds about {} of the {} rows.",
            stacked_rows.div_ceil(rows),
            thousands(stacked_rows)
        ));
    }
    if merged.tasks > 0 {
        captions.push(format!(
            "{} tasks too short or too crowded to draw alone are merged into {} {}, striped by {}; hover over one for its counts.",
            thousands(merged.tasks),
            thousands(merged.blocks),
            if merged.blocks == 1 { "block" } else { "blocks" },
            if heading.work == Work::Downloads { "site" } else { "kind" },
        ));
    }

    let top = 50.0 + 18.0 * captions.len() as f64;
    let axis_y = top + plot_height + 6.0;
    let legend = legend(&kinds, bars, &merged, left, axis_y + 56.0);
    let height = (legend.bottom + 14.0).ceil();

    let mut svg = String::with_capacity(body.len() + 16_384);
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif">"##
    );
    svg.push_str("<defs>");
    svg.push_str(&stripes("failed", &["#FDE2E2", "#D62728"], &[3.5, 2.5]));
    for mix in &merged.mixes {
        let colours: Vec<&str> = mix.iter().map(|&kind| Kinds::colour(kind)).collect();
        svg.push_str(&stripes(&mix_id(mix), &colours, &[3.0; PALETTE.len() + 1][..mix.len()]));
    }
    svg.push_str("</defs>\n");
    svg.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        svg,
        r##"<text class="title" x="{left:.1}" y="28" font-size="18" font-weight="bold" fill="#111">{}</text>"##,
        escape(&title)
    );
    for (i, caption) in captions.iter().enumerate() {
        let _ = writeln!(
            svg,
            r##"<text class="caption" x="{left:.1}" y="{:.1}" font-size="13" fill="#444">{}</text>"##,
            50.0 + 18.0 * i as f64,
            escape(caption)
        );
    }
    let _ = writeln!(svg, r#"<g class="plot" transform="translate(0 {top:.1})">"#);
    svg.push_str(&backgrounds);
    // Grid lines over the lanes' backgrounds and under their bars, then the axis below them.
    let step = tick_step(total, scale.width);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let axis = plot_height + 6.0;
    for i in 0..=(total / step + 1e-9).floor() as usize {
        let t = i as f64 * step;
        let x = scale.x(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{plot_height:.1}" stroke="#D8D8D8"/><line x1="{x:.1}" y1="{axis:.1}" x2="{x:.1}" y2="{:.1}" stroke="#444"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#444">{t:.decimals$}</text>"##,
            axis + 5.0,
            axis + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{left:.1}" y1="{axis:.1}" x2="{:.1}" y2="{axis:.1}" stroke="#444"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#444">seconds since the start of the run</text>"##,
        left + scale.width,
        left + scale.width / 2.0,
        axis + 34.0
    );
    svg.push_str(&body);
    svg.push_str(&names);
    svg.push_str("</g>\n");
    svg.push_str(&legend.svg);
    svg.push_str("</svg>\n");
    svg
}

/// What a picture of `bars` shows, for the line on stderr: `160 downloads on 5 threads`.
pub(super) fn summary(bars: &[Bar], work: Work) -> String {
    let workers = Workers::of(bars);
    format!("{} {} on {}", thousands(bars.len()), noun(bars.len(), work), workers.counted())
}

/// Where times go on the page.
pub(super) struct Scale {
    pub(super) left: f64,
    pub(super) width: f64,
    pub(super) total: f64,
}

impl Scale {
    pub(super) fn x(&self, seconds: f64) -> f64 {
        self.left + seconds / self.total * self.width
    }
}

struct Legend {
    svg: String,
    bottom: f64,
}

/// The legend, wrapped at the page's width: each kind with the number of its tasks that succeeded,
/// then the failures and the merged blocks when there are any.
fn legend(kinds: &Kinds, bars: &[Bar], merged: &Merged, left: f64, top: f64) -> Legend {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut others = 0;
    for (i, (name, count)) in kinds.names.iter().enumerate() {
        if i >= PALETTE.len() {
            others += count;
        } else if *count > 0 {
            let fill = format!(r#"fill="{}""#, Kinds::colour(i));
            entries.push((fill, format!("{name}: {}", thousands(*count))));
        }
    }
    if others > 0 {
        entries.push((format!(r#"fill="{OTHER}""#), format!("others: {}", thousands(others))));
    }
    let failed = bars.iter().filter(|bar| !bar.ok).count();
    if failed > 0 {
        let fill = r##"fill="url(#failed)" stroke="#B00000" stroke-width="1""##.to_string();
        entries.push((fill, format!("failed: {}", thousands(failed))));
    }
    if let Some(mix) = merged.mixes.first() {
        let fill = format!(r#"fill="url(#{})""#, mix_id(mix));
        entries.push((fill, "several tasks, merged".to_string()));
    }
    let mut svg = String::from("<g class=\"legend\">\n");
    let (mut x, mut y) = (left, top);
    for (fill, text) in entries {
        let width = 20.0 + text_width(&text, 12.0) + 24.0;
        if x > left && x + width > WIDTH - RIGHT {
            x = left;
            y += 22.0;
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="14" height="14" {fill}/><text x="{:.1}" y="{y:.1}" font-size="12" fill="#222">{}</text>"##,
            y - 11.0,
            x + 20.0,
            escape(&text)
        );
        x += width;
    }
    svg.push_str("</g>\n");
    Legend { svg, bottom: y + 6.0 }
}

/// A guess at a text's width in a sans-serif font, enough to lay out labels without font metrics.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.52
}

/// A step between ticks of 1, 2 or 5 times a power of ten, at least 70 px apart.
fn tick_step(total: f64, width: f64) -> f64 {
    let rough = total * 70.0 / width;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(power)
}

/// Text made safe inside XML elements and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `download`/`downloads`, `call of fib(35)`/`calls of fib(35)`.
fn noun(count: usize, work: Work) -> String {
    let one = count == 1;
    match work {
        Work::Downloads if one => "download".to_string(),
        Work::Downloads => "downloads".to_string(),
        Work::Fib(n) if one => format!("call of fib({n})"),
        Work::Fib(n) => format!("calls of fib({n})"),
    }
}

/// 10000 as `10,000`.
pub(super) fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(14.3, 1070.0), 1.0);
        assert_eq!(tick_step(0.4, 1070.0), 0.05);
        assert_eq!(tick_step(2.0, 1070.0), 0.2);
        assert_eq!(tick_step(929.0, 1070.0), 100.0);
    }

    #[test]
    fn more_workers_than_cores_is_explained() {
        let bar = |k: usize| Bar {
            worker: Worker::Thread(format!("thread {k}")),
            label: "fib".into(),
            start: Duration::ZERO,
            end: Duration::from_millis(90),
            ok: true,
            value: None,
        };
        let bars: Vec<Bar> = (1..=3).map(bar).collect();
        let heading = Heading { example: "cpu_threads".into(), work: Work::Fib(35) };
        let drawn = |cores| draw(&heading, &bars, Duration::from_millis(90), cores);
        let shared = "3 threads shared this machine&apos;s 2 CPU cores, so each call took longer";
        assert!(drawn(Some(2)).contains(shared));
        assert!(!drawn(Some(4)).contains("shared this machine"));
        assert!(!drawn(None).contains("shared this machine"));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(r#"a&b<c>"d'"#), "a&amp;b&lt;c&gt;&quot;d&apos;");
    }
}
