//! YAML parse errors without the file's contents.
//!
//! serde's messages quote the values they could not read (`invalid type:
//! string "k-..."`): pointed at the API key file or `/etc/shadow`, a config
//! flag would print the key or a password hash. [`describe`] keeps what
//! names the problem (the line and column, the field path, the kind of
//! value found, what was expected, a schema's field names) and drops every
//! quoted value the file supplied.

/// Longest field name from the file that is shown (longer ones may be a
/// value written where a name belongs).
const MAX_NAME: usize = 40;

/// Most digits in a field name that is shown.
const MAX_DIGITS: usize = 3;

/// `err` as one line naming the line, column and field, and no value from
/// the file.
pub fn describe(err: &serde_yaml_ng::Error) -> String {
    let text = err.to_string();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // The location is taken from the error, not from its text.
    let message = match text.rfind(" at line ") {
        Some(at) if err.location().is_some() => &text[..at],
        _ => &text[..],
    };
    let (path, message) = split_path(message);
    let description = content_free(message);
    let field = match path {
        Some(path) => sanitize_path(path),
        None => "top level".to_owned(),
    };
    match err.location() {
        Some(at) => format!(
            "line {} column {}, {field}: {description}",
            at.line(),
            at.column()
        ),
        None => format!("{field}: {description}"),
    }
}

/// serde's messages that follow a field path (`accounts[0].url: ...`).
const SERDE_MESSAGES: [&str; 7] = [
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown field ",
    "unknown variant ",
    "missing field ",
    "duplicate field ",
];

/// The field path serde_yaml_ng puts before a serde message, and the
/// message.
fn split_path(message: &str) -> (Option<&str>, &str) {
    for known in SERDE_MESSAGES {
        if message.starts_with(known) {
            return (None, message);
        }
        if let Some(at) = message.find(&format!(": {known}")) {
            return (Some(&message[..at]), &message[at + 2..]);
        }
    }
    (None, message)
}

/// A field path with every part that is not a plain name replaced by `?`.
fn sanitize_path(path: &str) -> String {
    path.split('.')
        .map(|part| {
            let name = part.split('[').next().unwrap_or(part);
            let indices = &part[name.len()..];
            let indices_ok = indices
                .chars()
                .all(|c| c.is_ascii_digit() || c == '[' || c == ']');
            if is_name(name) && indices_ok {
                part
            } else {
                "?"
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A field name as a schema would have it: lower-case snake_case, short,
/// hardly any digits (an API key or a hash is none of these).
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_NAME
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && text.chars().filter(char::is_ascii_digit).count() <= MAX_DIGITS
}

/// The message with the values the file supplied left out.
fn content_free(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The expected part is the schema's; the unexpected one may
            // quote anything (a string's value holds any text, even
            // ", expected ").
            let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, "?"));
            let what = prefix.trim_end_matches(": ");
            return format!(
                "{what}: found {}, expected {}",
                kind_of(found),
                expected_of(expected)
            );
        }
    }
    for prefix in ["unknown field ", "unknown variant "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (name, expected) = rest.split_once(", ").unwrap_or((rest, ""));
            let name = name.trim_matches('`');
            let name = if is_name(name) {
                format!("`{name}`")
            } else {
                "(not shown)".to_owned()
            };
            let expected = if expected.is_empty() {
                String::new()
            } else {
                format!(", {}", without_quoted_values(expected))
            };
            return format!("{prefix}{name}{expected}");
        }
    }
    without_quoted_values(message)
}

/// What kind of value serde found (its `Unexpected`), without the value.
fn kind_of(found: &str) -> &'static str {
    let kind = found.split(['"', '`']).next().unwrap_or_default().trim();
    match kind {
        "string" => "a string",
        "integer" => "an integer",
        "floating point" => "a number",
        "boolean" => "a boolean",
        "character" => "a character",
        "unit value" | "unit" => "an empty value",
        "sequence" => "a sequence",
        "map" => "a mapping",
        "enum" | "unit variant" | "newtype variant" | "tuple variant" | "struct variant" => {
            "a tagged value"
        }
        _ => "a value of another kind",
    }
}

/// What serde expected (the schema's words), a struct named as a mapping.
fn expected_of(expected: &str) -> String {
    let expected = without_quoted_values(expected);
    match expected.strip_prefix("struct ") {
        Some(name) => format!("a mapping (struct {name})"),
        None => expected,
    }
}

/// `text` with every quoted span (`"..."`, `` `...` ``, `'...'`) longer than
/// one character and not a plain name replaced by `…`: quotes hold values.
fn without_quoted_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['"', '`', '\'']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(quote) else {
            // An unclosed quote: everything after it may be a value.
            out.push('…');
            return out;
        };
        let quoted = &after[..close];
        if quoted.chars().count() <= 1 || is_name(quoted) {
            out.push(quote);
            out.push_str(quoted);
            out.push(quote);
        } else {
            out.push('…');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Account {
        name: String,
        #[serde(default)]
        count: Option<u32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        #[serde(default)]
        accounts: Vec<Account>,
    }

    fn error(yaml: &str) -> String {
        describe(&serde_yaml_ng::from_str::<File>(yaml).unwrap_err())
    }

    #[test]
    fn a_key_or_a_password_file_is_named_by_line_never_shown() {
        for (text, secret) in [
            ("k-7f1e2d3c4b5a\n", "7f1e2d3c4b5a"),
            (
                "root:$6$salt$hash7f1e2d:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
                "hash7f1e2d",
            ),
            ("123456789012\n", "123456789012"),
            ("- k-7f1e2d3c4b5a\n", "7f1e2d3c4b5a"),
            ("\"k-7f1e2d3c4b5a\n", "7f1e2d3c4b5a"),
            ("accounts: k-7f1e2d3c4b5a\n", "7f1e2d3c4b5a"),
            ("accounts:\n  - name: [k-7f1e2d3c4b5a]\n", "7f1e2d3c4b5a"),
            (
                "accounts:\n  - name: a\n    count: k-7f1e2d3c4b5a\n",
                "7f1e2d3c4b5a",
            ),
            (
                "accounts:\n  - name: a\n    k-7f1e2d3c4b5a: 1\n",
                "7f1e2d3c4b5a",
            ),
            ("k-7f1e2d3c4b5a: 1\n", "7f1e2d3c4b5a"),
            (
                "accounts:\n  - name: a\n    k7f1e2d3c4b5a: 1\n",
                "7f1e2d3c4b5a",
            ),
            (
                "accounts: [\"a, expected k-7f1e2d3c4b5a\"]\n",
                "7f1e2d3c4b5a",
            ),
        ] {
            let message = error(text);
            assert!(!message.contains(secret), "{text:?}: {message}");
            assert!(message.starts_with("line "), "{text:?}: {message}");
        }
    }

    #[test]
    fn the_field_the_line_and_what_was_expected_are_named() {
        assert_eq!(
            error("k-7f1e2d3c4b5a\n"),
            "line 1 column 1, top level: invalid type: found a string, expected a mapping (struct File)"
        );
        assert_eq!(
            error("accounts:\n  - name: a\n    count: lots\n"),
            "line 3 column 12, accounts[0].count: invalid type: found a string, expected u32"
        );
        assert_eq!(
            error("accounts:\n  - name: a\n    urll: x\n"),
            "line 3 column 5, accounts[0]: unknown field `urll`, expected `name` or `count`"
        );
        assert_eq!(
            error("accounts:\n  - count: 1\n"),
            "line 2 column 5, accounts[0]: missing field `name`"
        );
        assert!(
            error("accounts:\n  - name: a\n   - b\n").starts_with("line 3 column "),
            "a YAML syntax error keeps its place"
        );
    }
}
