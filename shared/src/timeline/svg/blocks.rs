//! The bars of one row, drawn as rectangles with their hover text, and merged into blocks where
//! they are too thin or too crowded to draw alone; and the kinds of task that choose the colours.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;

use super::{Bar, OTHER, PALETTE, Scale, THIN, Work, escape};
/// The kinds of task, in order of first start, each with its colour and the number of its tasks
/// that succeeded. A kind is a URL's host and path, without the port or the look-alike server's
/// address (so `--local` is coloured like the real sites), or else the label itself.
pub(super) struct Kinds {
    pub(super) names: Vec<(String, usize)>,
    index: HashMap<String, usize>,
}

impl Kinds {
    pub(super) fn of(bars: &[Bar], work: Work) -> Kinds {
        let mut by_start: Vec<&Bar> = bars.iter().collect();
        by_start.sort_by_key(|bar| bar.start);
        let mut kinds = Kinds { names: Vec::new(), index: HashMap::new() };
        for bar in by_start {
            let next = kinds.names.len();
            let i = *kinds.index.entry(kind_of(&bar.label)).or_insert(next);
            if i == next {
                let name = match work {
                    Work::Fib(_) if bar.label == "fib" => call(&bar.label, work),
                    _ => kind_of(&bar.label),
                };
                kinds.names.push((name, 0));
            }
            kinds.names[i].1 += usize::from(bar.ok);
        }
        kinds
    }

    /// The kind's number, which chooses its colour.
    fn of_label(&self, label: &str) -> usize {
        self.index.get(&kind_of(label)).copied().unwrap_or(usize::MAX)
    }

    pub(super) fn colour(kind: usize) -> &'static str {
        PALETTE.get(kind).copied().unwrap_or(OTHER)
    }
}

/// The call a task made, for its kind and its value: `fib` as `fib(35)`; a URL as it is.
fn call(label: &str, work: Work) -> String {
    match work {
        Work::Fib(n) if label == "fib" => format!("fib({n})"),
        _ => label.to_string(),
    }
}

fn kind_of(label: &str) -> String {
    // A URL's kind is its site: `host/path`, or only the path on a loopback host (the look-alike
    // server's `http://127.0.0.1:PORT/www.jython.org`). No URL parser: the CPU examples build
    // without one, and the timeline's URLs come from the examples' validated options.
    let Some((_, rest)) = label.split_once("://") else { return label.to_string() };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_matches('/');
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']').map_or(bracketed, |(host, _)| host),
        None => authority.split_once(':').map_or(authority, |(host, _)| host),
    };
    if host.is_empty() {
        return label.to_string();
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let host = if authority.starts_with('[') { format!("[{host}]") } else { host.to_string() };
    if loopback && !path.is_empty() {
        path.to_string()
    } else if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// A pattern of diagonal stripes in the given colours and widths.
pub(super) fn stripes(id: &str, colours: &[&str], widths: &[f64]) -> String {
    let period: f64 = widths.iter().sum();
    let mut pattern = format!(
        r#"<pattern id="{id}" patternUnits="userSpaceOnUse" width="{period}" height="{period}" patternTransform="rotate(45)">"#
    );
    let mut x = 0.0;
    for (colour, width) in colours.iter().zip(widths) {
        let _ =
            write!(pattern, r#"<rect x="{x}" width="{width}" height="{period}" fill="{colour}"/>"#);
        x += width;
    }
    pattern.push_str("</pattern>");
    pattern
}

/// The id of the pattern of a block of several kinds.
pub(super) fn mix_id(kinds: &[usize]) -> String {
    let numbers: Vec<String> = kinds.iter().map(usize::to_string).collect();
    format!("mix-{}", numbers.join("-"))
}

/// Where a row's bars go.
pub(super) struct Shape {
    pub(super) top: f64,
    pub(super) height: f64,
    pub(super) tooltips: bool,
    pub(super) work: Work,
}

/// What was merged, for the caption and the legend.
#[derive(Default)]
pub(super) struct Merged {
    pub(super) tasks: usize,
    pub(super) blocks: usize,
    /// The kinds of each block of several kinds (striped in their colours).
    pub(super) mixes: BTreeSet<Vec<usize>>,
}

/// A run of bars drawn as one shape.
struct Block<'a> {
    x0: f64,
    x1: f64,
    thin: bool,
    bars: Vec<&'a Bar>,
}

/// Draws one row's bars (all succeeded or all failed), sorted by start. A bar narrower than THIN px
/// that starts within a pixel of a block of such bars joins it, and so does any bar that overlaps a
/// block by more than a pixel (when rows were merged); a block of one bar is drawn as that bar.
pub(super) fn draw_row(
    out: &mut String,
    bars: &[&Bar],
    scale: &Scale,
    kinds: &Kinds,
    shape: &Shape,
    merged: &mut Merged,
) {
    let mut block: Option<Block<'_>> = None;
    for &bar in bars {
        let x0 = scale.x(bar.start.as_secs_f64());
        let x1 = scale.x(bar.end.as_secs_f64()).max(x0);
        let thin = x1 - x0 < THIN;
        if let Some(current) = &mut block {
            let overlaps = x0 < current.x1 - 1.0;
            if overlaps || (thin && current.thin && x0 <= current.x1 + 1.0) {
                current.x1 = current.x1.max(x1);
                current.thin &= thin;
                current.bars.push(bar);
                continue;
            }
            draw_block(out, current, kinds, shape, merged);
        }
        block = Some(Block { x0, x1, thin, bars: vec![bar] });
    }
    if let Some(current) = &block {
        draw_block(out, current, kinds, shape, merged);
    }
}

fn draw_block(
    out: &mut String,
    block: &Block<'_>,
    kinds: &Kinds,
    shape: &Shape,
    merged: &mut Merged,
) {
    let ok = block.bars[0].ok;
    let single = block.bars.len() == 1;
    let mut width = block.x1 - block.x0;
    // A pixel of white between bars that touch, so that a lane of back-to-back tasks shows each.
    if width > 3.0 {
        width -= 1.0;
    }
    let width = width.max(if ok { 1.0 } else { 2.0 });
    let mut kind_counts: BTreeMap<usize, usize> = BTreeMap::new();
    for bar in &block.bars {
        *kind_counts.entry(kinds.of_label(&bar.label)).or_default() += 1;
    }
    let mix: Vec<usize> = kind_counts.keys().map(|&kind| kind.min(PALETTE.len())).collect();
    let fill = match (ok, &mix[..]) {
        (false, _) => "url(#failed)".to_string(),
        (true, [kind]) => Kinds::colour(*kind).to_string(),
        (true, _) => {
            let fill = format!("url(#{})", mix_id(&mix));
            merged.mixes.insert(mix);
            fill
        }
    };
    let stroke = if ok { "" } else { r##" stroke="#B00000" stroke-width="1""## };
    let failed = if ok { "" } else { " failed" };
    let class = if single {
        format!(r#"class="task{failed}""#)
    } else {
        merged.tasks += block.bars.len();
        merged.blocks += 1;
        format!(r#"class="tasks{failed}" data-count="{}""#, block.bars.len())
    };
    let _ = write!(
        out,
        r#"<rect {class} x="{:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{fill}"{stroke}>"#,
        block.x0,
        shape.top,
        shape.height.max(0.5)
    );
    if single && shape.tooltips {
        let bar = block.bars[0];
        let _ = write!(
            out,
            "<title>{}{}: {:.3} to {:.3} s ({:.0} ms) on {}</title>",
            escape(&match &bar.value {
                None => bar.label.clone(),
                Some(value) => format!("{} = {value}", call(&bar.label, shape.work)),
            }),
            if bar.ok { "" } else { " (failed)" },
            bar.start.as_secs_f64(),
            bar.end.as_secs_f64(),
            bar.end.saturating_sub(bar.start).as_secs_f64() * 1000.0,
            escape(bar.worker.name())
        );
    } else if !single {
        let first = block.bars.iter().map(|bar| bar.start).min().unwrap_or_default();
        let last = block.bars.iter().map(|bar| bar.end).max().unwrap_or_default();
        let _ = write!(
            out,
            "<title>{} {}tasks from {:.3} to {:.3} s:",
            block.bars.len(),
            if ok { "" } else { "failed " },
            first.as_secs_f64(),
            last.as_secs_f64()
        );
        for (kind, count) in &kind_counts {
            let name = kinds.names.get(*kind).map_or("others", |(name, _)| name.as_str());
            let _ = write!(out, " {count} {}", escape(name));
        }
        out.push_str("</title>");
    }
    out.push_str("</rect>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_ignore_the_look_alike_server() {
        assert_eq!(kind_of("https://www.jython.org"), "www.jython.org");
        assert_eq!(kind_of("http://olympus.realpython.org/dice"), "olympus.realpython.org/dice");
        assert_eq!(kind_of("http://127.0.0.1:4000/www.jython.org"), "www.jython.org");
        assert_eq!(
            kind_of("http://localhost:9/olympus.realpython.org/dice"),
            "olympus.realpython.org/dice"
        );
        assert_eq!(kind_of("http://127.0.0.1:4000/"), "127.0.0.1");
        assert_eq!(kind_of("fib"), "fib");
    }
}
