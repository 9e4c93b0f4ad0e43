//! A label set, `{name="value",…}`: label names checked, values unescaped as Prometheus
//! unescapes them, blanks and a trailing comma allowed, a name given twice refused (in
//! constant time per label, however many labels one series carries).

use std::collections::HashSet;

use super::error::quote;

type Labels = Vec<(String, String)>;

/// Up to this many labels, a new label name is checked against the ones before it one by one;
/// past it, in a set (one series may carry any number of labels).
const FEW_LABELS: usize = 8;

/// Parses `name="value",…}` and returns the labels and what follows the closing brace.
pub(super) fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    // The first few label names, then all of them in a set: each new one is looked up in
    // constant time, not compared with every one before it.
    let mut few: Vec<&str> = Vec::with_capacity(FEW_LABELS);
    let mut seen: HashSet<&str> = HashSet::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let eq = s
            .find('=')
            .ok_or_else(|| "a label without `=`, or a missing `}`".to_owned())?;
        let key = s[..eq].trim();
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("`{}` is not a valid label name", quote(key)));
        }
        let twice = if few.len() < FEW_LABELS {
            let twice = few.contains(&key);
            few.push(key);
            twice
        } else {
            if seen.is_empty() {
                seen.extend(few.iter().copied());
            }
            !seen.insert(key)
        };
        if twice {
            return Err(format!("label `{}` appears twice", quote(key)));
        }
        s = s[eq + 1..].trim_start();
        s = s
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{}` is not quoted", quote(key)))?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    // Any other escape is kept as written, as Prometheus keeps it.
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => {
                        return Err(format!("the value of label `{}` is not closed", quote(key)));
                    }
                },
                Some((_, c)) => value.push(c),
                None => return Err(format!("the value of label `{}` is not closed", quote(key))),
            }
        };
        labels.push((key.to_owned(), value));
        s = s[end + 1..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label `{}`", quote(key)));
        }
    }
}
