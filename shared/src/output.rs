//! Writing to stderr and showing text from outside: the two things every module that reports does,
//! kept here, below all of them, so that none depends on another for them.

use std::fmt::Display;
use std::io::Write;

/// Writes one line on stderr, and never panics: when stderr cannot be written either (a full disk),
/// there is nowhere left to say anything, and the exit status speaks instead.
pub fn warn(text: impl Display) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Text from outside (a URL, a server's answer inside an error) as it may be printed: control
/// characters, line breaks included, and the invisible marks that reorder text (`U+202E`) are
/// written as escapes (`\n`, `\u{1b}`), so that no text can forge an output line or drive the
/// terminal.
pub fn escaped(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        // Controls, and the invisible marks that reorder or hide text (bidirectional overrides,
        // zero-width characters).
        let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || invisible {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// [`escaped`], keeping the line breaks of a text made of several lines (a usage message, a
/// script's stderr): each line escaped on its own.
pub fn escaped_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(body) => escaped(body) + "\n",
            None => escaped(line),
        })
        .collect()
}
