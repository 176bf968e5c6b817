//! Every relative link in the repository's Markdown resolves: README.md,
//! docs/, deploy/, mixin/ and any other `*.md` point at files that exist,
//! and every `#anchor` (in the same page or another) names a heading of
//! its target, by GitHub's anchor rules. The README was split into docs/
//! (issue 15); this keeps the pages linked to each other as they move.
//!
//! Plain file reading: no network, no binary. The README's two set-up
//! commands are checked too: CI runs the test command as written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Directories never searched for Markdown: build output, VCS data,
/// installed JavaScript packages.
const SKIPPED_DIRS: [&str; 3] = ["target", "node_modules", ".git"];

/// A link as written: the page it is in, its line, and its destination.
#[derive(Debug)]
struct Link {
    line: usize,
    dest: String,
}

#[test]
fn every_relative_link_and_anchor_in_the_markdown_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = markdown_files(root);
    let names: Vec<String> = pages.iter().map(|p| relative(root, p)).collect();
    for expected in ["README.md", "docs/runbooks.md", "docs/metrics.md"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not found among the Markdown files: {names:?}"
        );
    }
    let texts: BTreeMap<PathBuf, String> = pages
        .iter()
        .map(|p| (p.clone(), fs::read_to_string(p).unwrap()))
        .collect();
    let broken = broken_links(root, &texts, |p: &Path| p.exists());
    assert!(
        broken.is_empty(),
        "broken links in the Markdown:\n{}",
        broken.join("\n")
    );
}

#[test]
fn a_missing_file_a_missing_anchor_and_an_escape_are_each_reported() {
    let root = Path::new("/repo");
    let texts = BTreeMap::from([
        (
            root.join("README.md"),
            "# Title\n\n## Quick start\n\nSee [the docs](docs/a.md#the-part), \
             [gone](docs/gone.md), [no such part](docs/a.md#nowhere),\n\
             [here](#quick-start), [not here](#quick-end), [out](../x.md) \
             and `[not a link](nowhere.md)`.\n\n```\n[in code](nowhere.md)\n```\n"
                .to_string(),
        ),
        (
            root.join("docs/a.md"),
            "The part\n--------\n\n[back](../README.md#title)\n".to_string(),
        ),
    ]);
    let exists = |p: &Path| texts.contains_key(p);
    let broken = broken_links(root, &texts, exists);
    assert_eq!(
        broken,
        [
            "README.md:5: docs/gone.md: no such file",
            "README.md:5: docs/a.md#nowhere: no heading docs/a.md#nowhere",
            "README.md:6: #quick-end: no heading README.md#quick-end",
            "README.md:6: ../x.md: leaves the repository",
        ],
    );
}

#[test]
fn anchors_follow_githubs_rules() {
    let page = "# certcentral-exporter\n\
                ## Order details: what `certcentral_up` does not say\n\
                ## Several accounts: `--config.file`\n\
                ### First start with order details (`cargo bench --bench first_start`)\n\
                ## Reloading (SIGHUP)\n\
                ## Linearity, 1k → 1M\n\
                ## [Linked](x.md) *heading*\n\
                ## Reloading (SIGHUP)\n\
                ```\n# not a heading\n```\n";
    let anchors = anchors(page);
    for expected in [
        "certcentral-exporter",
        "order-details-what-certcentral_up-does-not-say",
        "several-accounts---configfile",
        "first-start-with-order-details-cargo-bench---bench-first_start",
        "reloading-sighup",
        "linearity-1k--1m",
        "linked-heading",
        "reloading-sighup-1",
    ] {
        assert!(anchors.contains(expected), "{expected} not in {anchors:?}");
    }
    assert!(!anchors.contains("not-a-heading"), "{anchors:?}");
}

/// Every problem with the relative links of `texts` (pages by path under
/// `root`), as `page:line: destination: what is wrong`.
fn broken_links(
    root: &Path,
    texts: &BTreeMap<PathBuf, String>,
    exists: impl Fn(&Path) -> bool,
) -> Vec<String> {
    let mut anchor_cache: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut broken = Vec::new();
    for (page, text) in texts {
        for link in links(text) {
            if is_external(&link.dest) {
                continue;
            }
            let (path_part, anchor) = match link.dest.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (link.dest.as_str(), None),
            };
            let at = format!("{}:{}: {}", relative(root, page), link.line, link.dest);
            let target = if path_part.is_empty() {
                page.clone()
            } else {
                match resolve(root, page, &percent_decoded(path_part)) {
                    Some(t) => t,
                    None => {
                        broken.push(format!("{at}: leaves the repository"));
                        continue;
                    }
                }
            };
            if !exists(&target) {
                broken.push(format!("{at}: no such file"));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if target.extension().and_then(|e| e.to_str()) != Some("md") {
                broken.push(format!("{at}: an anchor into a file that is not Markdown"));
                continue;
            }
            let known = anchor_cache.entry(target.clone()).or_insert_with(|| {
                let text = texts
                    .get(&target)
                    .cloned()
                    .unwrap_or_else(|| fs::read_to_string(&target).unwrap_or_default());
                anchors(&text)
            });
            if !known.contains(&percent_decoded(anchor).to_lowercase()) {
                broken.push(format!(
                    "{at}: no heading {}#{anchor}",
                    relative(root, &target)
                ));
            }
        }
    }
    broken
}

/// The `*.md` files below `root`, outside build output and VCS data.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_str()) {
                    dirs.push(path);
                }
            } else if name.ends_with(".md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `path` from `root`, with forward slashes, for messages.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A destination with a scheme (`https:`, `mailto:`) or a protocol-relative
/// one: not a file of this repository.
fn is_external(dest: &str) -> bool {
    if dest.starts_with("//") {
        return true;
    }
    match dest.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// The file `dest` names, seen from `page`; `None` when it would leave
/// `root`. A leading `/` is the repository's root, as on GitHub.
fn resolve(root: &Path, page: &Path, dest: &str) -> Option<PathBuf> {
    let (mut resolved, rest) = match dest.strip_prefix('/') {
        Some(rest) => (root.to_path_buf(), rest),
        None => (page.parent()?.to_path_buf(), dest),
    };
    let mut escaped = false;
    for component in Path::new(rest).components() {
        match component {
            Component::ParentDir => escaped |= !resolved.pop() || !resolved.starts_with(root),
            Component::Normal(part) => resolved.push(part),
            _ => {}
        }
    }
    (!escaped && resolved.starts_with(root)).then_some(resolved)
}

/// `%20` and the like decoded; anything malformed is kept as written.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The lines of `text` outside fenced code blocks, numbered from 1.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m))
                if open == m
                    && trimmed
                        .trim_end()
                        .chars()
                        .all(|c| c == m.as_bytes()[0] as char) =>
            {
                fence = None
            }
            (None, None) => lines.push((i + 1, line)),
            _ => {}
        }
    }
    lines
}

/// `line` with its code spans blanked out, so that a link shown as code
/// is not taken for one.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

/// The destinations of the inline links and images (`[text](dest)`),
/// reference definitions (`[label]: dest`) and HTML `href`/`src`
/// attributes of `text`.
fn links(text: &str) -> Vec<Link> {
    let mut found = Vec::new();
    for (line_no, raw) in prose_lines(text) {
        let line = without_code_spans(raw);
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix('[')
            && let Some((_, after)) = rest.split_once("]:")
            && let Some(dest) = after.split_whitespace().next()
        {
            found.push(Link {
                line: line_no,
                dest: dest.trim_matches(['<', '>']).to_string(),
            });
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let mut depth = 0usize;
            let end = after
                .char_indices()
                .find(|&(_, c)| match c {
                    '(' => {
                        depth += 1;
                        false
                    }
                    ')' if depth == 0 => true,
                    ')' => {
                        depth -= 1;
                        false
                    }
                    _ => false,
                })
                .map(|(i, _)| i)
                .unwrap_or(after.len());
            let inside = after[..end].trim();
            let dest = match inside.strip_prefix('<') {
                Some(angled) => angled.split('>').next().unwrap_or_default(),
                None => inside.split_whitespace().next().unwrap_or_default(),
            };
            if !dest.is_empty() {
                found.push(Link {
                    line: line_no,
                    dest: dest.to_string(),
                });
            }
            rest = &after[end.min(after.len())..];
        }
        for attribute in ["href=\"", "src=\""] {
            let mut rest = line.as_str();
            while let Some(at) = rest.find(attribute) {
                let after = &rest[at + attribute.len()..];
                let dest = after.split('"').next().unwrap_or_default();
                if !dest.is_empty() {
                    found.push(Link {
                        line: line_no,
                        dest: dest.to_string(),
                    });
                }
                rest = &after[dest.len()..];
            }
        }
    }
    found
}

/// The anchors GitHub gives the headings of `text` (ATX `#` and setext
/// underlined ones; a repeated heading gets `-1`, `-2`, ...), plus explicit
/// `id="..."` and `name="..."` attributes.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |heading: &str, anchors: &mut BTreeSet<String>| {
        let slug = slug(heading);
        let count = seen.entry(slug.clone()).or_insert(0);
        let anchor = match *count {
            0 => slug.clone(),
            n => format!("{slug}-{n}"),
        };
        *count += 1;
        anchors.insert(anchor);
    };
    let lines = prose_lines(text);
    let mut previous: Option<(usize, &str)> = None;
    for &(line_no, line) in &lines {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes)
            && line.len() - trimmed.len() < 4
            && trimmed[hashes..].starts_with([' ', '\t'])
        {
            let heading = trimmed[hashes..].trim().trim_end_matches('#').trim_end();
            add(heading, &mut anchors);
        } else if is_setext_underline(line)
            && let Some((prev_no, prev)) = previous
            && prev_no + 1 == line_no
            && is_paragraph_line(prev)
        {
            add(prev.trim(), &mut anchors);
        }
        for attribute in ["id=\"", "name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(attribute) {
                let after = &rest[at + attribute.len()..];
                let value = after.split('"').next().unwrap_or_default();
                anchors.insert(value.to_lowercase());
                rest = &after[value.len()..];
            }
        }
        previous = Some((line_no, line));
    }
    anchors
}

/// A line of `=` or `-` only (up to three spaces before): what turns the
/// paragraph line above it into a heading.
fn is_setext_underline(line: &str) -> bool {
    let trimmed = line.trim();
    line.len() - line.trim_start().len() < 4
        && !trimmed.is_empty()
        && (trimmed.chars().all(|c| c == '=') || trimmed.chars().all(|c| c == '-'))
}

/// A line that can be a paragraph's: not blank, not a heading, list item,
/// quote, table row or thematic break.
fn is_paragraph_line(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty()
        && !trimmed.starts_with(['#', '>', '|', '-', '*', '+'])
        && !trimmed
            .split_once(['.', ')'])
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// GitHub's anchor for a heading: the text as rendered (link targets,
/// code-span backticks and emphasis stars dropped), lower-cased, every
/// character but letters, digits, `-`, `_` and spaces dropped, spaces
/// turned into `-`.
fn slug(heading: &str) -> String {
    let mut rendered = String::with_capacity(heading.len());
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|i| close + i) else {
            break;
        };
        rendered.push_str(&rest[..open]);
        rendered.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    rendered.push_str(rest);
    rendered
        .to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The README's Quick start has exactly two commands, the demo and the
/// test command, and `.ci/run` runs the test command as it is written.
#[test]
fn ci_runs_the_readmes_test_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("## Quick start")
        .expect("a Quick start section");
    let end = readme[start + 1..]
        .find("\n## ")
        .map_or(readme.len(), |at| start + 1 + at);
    let commands: Vec<&str> = readme[start..end]
        .split("```sh\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(str::trim)
        .collect();
    assert_eq!(
        commands,
        ["cargo run --release -- --demo", "scripts/test"],
        "the README's set-up commands"
    );
    let ci = fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|line| line.trim() == commands[1]),
        ".ci/run does not run the README's test command {:?}",
        commands[1]
    );
}
