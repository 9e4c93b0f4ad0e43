//! How user strings (routes, above all) become safe text in the generated files: PromQL string
//! literals, RE2 patterns inside them, Go templates (rule labels are expanded as templates) and
//! YAML scalars.
//!
//! Each function escapes for one layer only; the generator nests them in the order the readers
//! unwrap them: YAML is read first, then the template or the PromQL string, then the regex.

/// `s` as the content of a PromQL double-quoted string: the exact label value `s` once
/// Prometheus has read the string.
///
/// PromQL strings follow Go's escapes. Backslashes and quotes are escaped, and so are control
/// characters (a raw newline ends the string) and U+FFFD, which Prometheus's lexer takes for
/// invalid UTF-8 when it appears unescaped.
pub(crate) fn promql_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{FFFD}' => push_u(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// An RE2 pattern matching exactly one of `values` (Prometheus anchors it), as the content of a
/// PromQL string.
pub(crate) fn promql_regex_of(values: &[&str]) -> String {
    let alternatives: Vec<String> = values.iter().map(|v| regex_literal(v)).collect();
    promql_str(&alternatives.join("|"))
}

/// `s` as an RE2 pattern that matches `s` and nothing else: every metacharacter is escaped
/// (the characters Go's `regexp.QuoteMeta` escapes), and U+FFFD is written `\x{FFFD}` (see
/// [`needs_regex`]). Everything else, newlines and non-ASCII text included, stands for itself.
fn regex_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{FFFD}' {
            out.push_str("\\x{FFFD}");
            continue;
        }
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether a label value can only be matched through a regex.
///
/// Prometheus prints a rule's parsed expression back to text and parses that text again at
/// every evaluation. The printer writes U+FFFD unescaped (it is printable), and the lexer then
/// rejects it as invalid UTF-8, so a matcher holding U+FFFD fails at every evaluation. As a
/// regex, U+FFFD is written as the escape `\x{FFFD}`, which survives the round trip.
pub(crate) fn needs_regex(s: &str) -> bool {
    s.contains('\u{FFFD}')
}

/// `s` as text of a Go template that expands to exactly `s`.
///
/// Prometheus expands the labels and annotations of alerting rules as templates, so a value
/// holding `{{` would start an action. Each `{{` becomes an action that prints it; no other
/// sequence means anything to the template language outside an action.
pub(crate) fn template_literal(s: &str) -> String {
    s.replace("{{", "{{ \"{{\" }}")
}

/// `s` as a YAML double-quoted scalar.
///
/// Printable characters stand for themselves, except `"` and `\`. Everything else is a `\u`
/// escape: control characters, the characters YAML 1.1 readers (Prometheus and Alertmanager
/// use one) fold as line breaks (U+0085, U+2028, U+2029), and the characters YAML does not
/// allow in a document (C1 controls, U+FEFF, U+FFFE, U+FFFF).
pub(crate) fn yaml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
                ) =>
            {
                push_u(&mut out, c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Pushes `\uXXXX` (a character of the basic plane; every caller escapes only those).
fn push_u(out: &mut String, c: char) {
    use std::fmt::Write;
    let _ = write!(out, "\\u{:04X}", u32::from(c));
}

/// Whether `name` is a valid Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_strings_escape_what_ends_or_bends_them() {
        assert_eq!(promql_str("/a\"b\\c\nd"), "/a\\\"b\\\\c\\nd");
        assert_eq!(promql_str("\u{0}\u{7f}\u{85}"), "\\u0000\\u007F\\u0085");
        assert_eq!(promql_str("\u{FFFD}é中\u{2028}"), "\\uFFFDé中\u{2028}");
    }

    #[test]
    fn regexes_quote_metacharacters_then_the_string() {
        assert_eq!(promql_regex_of(&["/a.b", "/c"]), "/a\\\\.b|/c");
        assert_eq!(promql_regex_of(&["/{id}"]), "/\\\\{id\\\\}");
        assert_eq!(promql_regex_of(&["\"|\\"]), "\\\"\\\\|\\\\\\\\");
        assert_eq!(promql_regex_of(&["/\u{FFFD}"]), "/\\\\x{FFFD}");
    }

    #[test]
    fn templates_print_braces_literally() {
        assert_eq!(template_literal("/a"), "/a");
        assert_eq!(template_literal("{{x}}"), "{{ \"{{\" }}x}}");
        assert_eq!(
            template_literal("{{{"),
            "{{ \"{{\" }}{",
            "leftmost pairs first: no stray `{{` before an action"
        );
    }

    #[test]
    fn yaml_scalars_escape_breaks_and_non_printables() {
        assert_eq!(yaml_str("a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(
            yaml_str("\r\u{85}\u{2028}\u{2029}\u{feff}\u{fffe}\u{1b}"),
            "\"\\u000D\\u0085\\u2028\\u2029\\uFEFF\\uFFFE\\u001B\""
        );
        assert_eq!(yaml_str("café 中 🦀"), "\"café 中 🦀\"");
    }

    #[test]
    fn metric_names() {
        assert!(is_metric_name("shop_http"));
        assert!(is_metric_name("_a:b1"));
        assert!(!is_metric_name(""));
        assert!(!is_metric_name("1a"));
        assert!(!is_metric_name("up[5m]) or vector(1"));
    }
}
