//! insta's `.snap` file: a YAML header between two `---` lines (`source`, `expression`, and
//! optionally `input_file`), then the snapshot's text. The harness reads and writes it itself,
//! so a team needs no Rust toolchain, and `cargo insta review` still works on the files.

/// One `.snap` (or pending `.snap.new`) file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    /// What made the snapshot (insta: the test's source file).
    pub source: String,
    /// What was snapshotted (insta: the asserted expression).
    pub expression: String,
    /// The input it was made from (insta's `glob!`: the input file).
    pub input_file: Option<String>,
    /// The snapshot itself, without a trailing newline.
    pub body: String,
}

#[cfg(test)]
impl SnapFile {
    /// A snapshot with this body and placeholder metadata, for tests.
    pub(crate) fn with_body(body: &str) -> SnapFile {
        SnapFile {
            source: "s".into(),
            expression: "e".into(),
            input_file: None,
            body: body.into(),
        }
    }
}

impl SnapFile {
    /// The file's text, as insta writes it.
    pub fn render(&self) -> String {
        let mut out = String::from("---\n");
        out.push_str(&format!("source: {}\n", scalar(&self.source)));
        out.push_str(&format!("expression: {}\n", scalar(&self.expression)));
        if let Some(input) = &self.input_file {
            out.push_str(&format!("input_file: {}\n", scalar(input)));
        }
        out.push_str("---\n");
        out.push_str(&self.body);
        out.push('\n');
        out
    }

    /// Reads a file's text. Header keys other than the three above (insta writes
    /// `assertion_line`, `info`, `snapshot_kind`…) are allowed and ignored.
    pub fn parse(text: &str) -> Result<SnapFile, String> {
        let text = text.replace("\r\n", "\n");
        let rest = text
            .strip_prefix("---\n")
            .ok_or("it does not start with the '---' line of a snapshot header")?;
        let (header, body) = if let Some(body) = rest.strip_prefix("---\n") {
            ("", body)
        } else {
            match rest.find("\n---\n") {
                Some(end) => (&rest[..end], &rest[end + 5..]),
                None => match rest.strip_suffix("\n---") {
                    Some(header) => (header, ""),
                    None => return Err("its header has no closing '---' line".into()),
                },
            }
        };
        let mut file = SnapFile {
            source: String::new(),
            expression: String::new(),
            input_file: None,
            body: body.trim_end_matches('\n').to_string(),
        };
        for (number, line) in header.lines().enumerate() {
            // Indented lines continue a nested value (insta's `info:`), which is not read.
            if line.starts_with([' ', '\t']) || line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(format!(
                    "header line {} is not 'key: value': {line:?}",
                    number + 2
                ));
            };
            let value = unscalar(value.trim())
                .map_err(|e| format!("header line {} ({key}): {e}", number + 2))?;
            match key.trim() {
                "source" => file.source = value,
                "expression" => file.expression = value,
                "input_file" => file.input_file = Some(value),
                _ => {}
            }
        }
        Ok(file)
    }
}

/// A YAML scalar: the text itself when YAML reads it back unchanged, else double-quoted (JSON's
/// escapes are YAML's).
fn scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./-,()".contains(c))
        && value.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !value.ends_with(' ');
    if plain {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
    }
}

/// A YAML scalar as insta writes them: plain, double-quoted, or single-quoted.
fn unscalar(value: &str) -> Result<String, String> {
    if value.starts_with('"') {
        return serde_json::from_str(value)
            .map_err(|e| format!("a quoted value that does not parse ({e})"));
    }
    if let Some(inner) = value.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or("a single-quoted value without its closing quote")?;
        return Ok(inner.replace("''", "'"));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(body: &str) -> SnapFile {
        SnapFile {
            source: "stripe-harness run --snapshots".into(),
            expression: "what the target did in refund_full".into(),
            input_file: Some("scenarios/refund_full.toml".into()),
            body: body.into(),
        }
    }

    #[test]
    fn a_file_reads_back_as_it_was_written() {
        let written = file("{\n  \"a\": \"paid\"\n}");
        let text = written.render();
        assert!(
            text.starts_with("---\nsource: stripe-harness run --snapshots\n"),
            "{text}"
        );
        assert!(text.ends_with("---\n{\n  \"a\": \"paid\"\n}\n"), "{text}");
        assert_eq!(SnapFile::parse(&text).unwrap(), written);
        let odd = SnapFile {
            expression: "a: \"quoted\" 'word'".into(),
            ..file("")
        };
        assert_eq!(SnapFile::parse(&odd.render()).unwrap(), odd);
    }

    #[test]
    fn files_insta_wrote_are_read() {
        let insta = "---\nsource: harness/tests/scenarios.rs\nassertion_line: 12\nexpression: result.snapshot()\ninput_file: scenarios/ach_success.toml\ninfo:\n  nested: 1\nsnapshot_kind: text\n---\n{\n  \"a\": 1\n}\n";
        let read = SnapFile::parse(insta).unwrap();
        assert_eq!(read.source, "harness/tests/scenarios.rs");
        assert_eq!(read.expression, "result.snapshot()");
        assert_eq!(
            read.input_file.as_deref(),
            Some("scenarios/ach_success.toml")
        );
        assert_eq!(read.body, "{\n  \"a\": 1\n}");
        let crlf = insta.replace('\n', "\r\n");
        assert_eq!(SnapFile::parse(&crlf).unwrap(), read);
        let quoted =
            SnapFile::parse("---\nsource: 'it''s'\nexpression: \"x: y\"\n---\nbody").unwrap();
        assert_eq!(
            (quoted.source.as_str(), quoted.expression.as_str()),
            ("it's", "x: y")
        );
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        assert!(SnapFile::parse("{}").unwrap_err().contains("'---'"));
        assert!(SnapFile::parse("---\nsource: x\n{}\n")
            .unwrap_err()
            .contains("closing"));
        assert!(SnapFile::parse("---\njust words\n---\n{}")
            .unwrap_err()
            .contains("header line 2"));
        assert!(SnapFile::parse("---\nsource: \"open\n---\n{}")
            .unwrap_err()
            .contains("source"));
    }
}
