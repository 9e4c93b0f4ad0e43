//! The examples of routemeter's documentation that need heavy crates, compiled as doc tests
//! (see `doctests.md`), and the check that they match the documentation's copies.
#![doc = include_str!("../doctests.md")]

#[cfg(test)]
mod tests {
    /// The bodies of the code blocks of `text` that open with `fence`.
    fn blocks(text: &str, fence: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() == fence {
                let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
                out.push(body.join("\n"));
            }
        }
        out
    }

    #[test]
    fn the_compiled_copies_match_the_documentation() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let mut documented = blocks(&read("README.md"), "```rust,ignore");
        documented.extend(blocks(&read("docs/production.md"), "```rust,ignore"));
        let compiled = blocks(include_str!("../doctests.md"), "```rust,no_run");
        assert_eq!(
            documented.len(),
            2,
            "the README's gRPC and the guide's OTLP examples"
        );
        assert_eq!(
            documented, compiled,
            "integrations/doctests.md is out of step"
        );
    }
}
