//! Why an exposition could not be parsed, and how an error message quotes the input it
//! refuses: whole when short, else cut to a bounded prefix with the length it had.

use std::fmt;

/// The most bytes of input an error message quotes.
pub(crate) const QUOTE_LIMIT: usize = 200;

/// `text` for an error message: whole if short, else its first [`QUOTE_LIMIT`] bytes (cut at a
/// character boundary) and how long it was.
pub(super) fn quote(text: &str) -> String {
    if text.len() <= QUOTE_LIMIT {
        return text.to_owned();
    }
    let mut end = QUOTE_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// Why an exposition could not be parsed: the 1-based line and what was wrong there.
///
/// The message quotes at most about 200 bytes of the input, however long the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line, counting from 1.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}
