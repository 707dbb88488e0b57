//! The env file editor. Rule: the file is edited, never regenerated: every byte of a line we were not
//! asked to change is written back as it was read, and writes are atomic with a `.bak` backup.
//!
//! Reading follows dotenvy's grammar (a double-quoted value may span lines; the last occurrence of a
//! key wins), without `$VAR` expansion from the process environment (only from earlier keys of the
//! same file, as dotenvy does when the variable is not set in the process).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::auth::secret::mask;

/// Keys whose values are secrets: masked in previews, and kept out of the file with keychain storage.
pub const SECRET_KEYS: &[&str] = &[
    "ZOHO_CLIENT_SECRET",
    "ZOHO_REFRESH_TOKEN",
    "ZOHO_ACCESS_TOKEN",
];

/// Whether a key holds a secret value (see [`SECRET_KEYS`]).
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// Environment variable that makes a debug build pause between the steps of [`write_atomic`], so a
/// test can kill the writer at each step. Its value is a folder: at each step the writer creates
/// `<step>.reached` there and waits (at most 30 s) until `<step>.go` exists.
pub const PAUSE_ENV: &str = "ZOHO_AUTH_TEST_PAUSE_WRITE";

/// The steps of [`write_atomic`] at which the test pause hook stops, in order.
pub const PAUSE_STEPS: &[&str] = &[
    "temp-created",
    "temp-partial",
    "temp-synced",
    "backup-written",
    "renamed",
];

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// The file holds bytes that are not UTF-8.
    #[error(
        "{} is not UTF-8 text ({at}), so it cannot be edited safely. Convert it to UTF-8 or choose another file with --env-file.",
        path.display()
    )]
    NotUtf8 {
        path: PathBuf,
        /// Where the first bad byte is: the line, and the key assigned there (never the value).
        at: String,
    },
    /// A quote opened on a line before the values written is never closed: dotenv loaders would
    /// read the rest of the file, the new values included, as part of that line's value.
    #[error(
        "{} has a quote that is never closed ({at}): dotenv loaders would read everything after it, the values zoho-auth writes included, as part of that value. Nothing was written. Close the quote (or remove the line) and run again.",
        path.display()
    )]
    UnclosedQuote { path: PathBuf, at: String },
    /// The edited text did not read back as intended (a bug); nothing was written.
    #[error(
        "internal error: {key} did not read back as it was set in {}, so nothing was written (a bug in zoho-auth; please report it).",
        path.display()
    )]
    ReadBack { path: PathBuf, key: String },
    /// Reading or writing failed; nothing was changed.
    #[error(
        "could not {during} {}: {source}. Check that the folder exists and is writable and that the disk is not full; the existing file was left as it was.",
        path.display()
    )]
    Io {
        path: PathBuf,
        during: &'static str,
        #[source]
        source: io::Error,
    },
}

impl EnvError {
    /// `bytes` (the content of `path`) are not UTF-8: says on which line, and the key of that
    /// line when it has one, so the user can find the value without it being printed.
    pub fn not_utf8(path: &Path, bytes: &[u8]) -> Self {
        let valid = match std::str::from_utf8(bytes) {
            Ok(_) => bytes.len(),
            Err(e) => e.valid_up_to(),
        };
        let before = &bytes[..valid];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // The valid start of that line names the key.
        let head = String::from_utf8_lossy(&before[start..]);
        let at = match key_named(&head) {
            Some(key) => format!("line {line}, in the value of {key}"),
            None => format!("line {line}"),
        };
        EnvError::NotUtf8 {
            path: path.to_path_buf(),
            at,
        }
    }

    fn io(path: &Path, during: &'static str, source: io::Error) -> Self {
        EnvError::Io {
            path: path.to_path_buf(),
            during,
            source,
        }
    }
}

/// The key a line starts to assign (`[export ]NAME=`), even when the rest cannot be read.
fn key_named(line: &str) -> Option<&str> {
    let head = line.trim_start_matches('\u{feff}').trim_start();
    let head = head.strip_prefix("export ").unwrap_or(head);
    head.split_once('=').map(|(k, _)| k.trim()).filter(|k| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    })
}

/// How a value is quoted in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Assignment {
    key: String,
    value: String,
    /// Byte range of the value as written (quotes included) inside the entry's raw text.
    value_start: usize,
    value_end: usize,
    quote: Quote,
}

/// One logical entry: a comment, a blank or unparseable line, or an assignment (which may span
/// several physical lines when its quoted value does). `raw` includes the line terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    raw: String,
    assignment: Option<Assignment>,
}

impl Entry {
    fn key(&self) -> Option<&str> {
        self.assignment.as_ref().map(|a| a.key.as_str())
    }

    fn terminator(&self) -> &str {
        if self.raw.ends_with("\r\n") {
            "\r\n"
        } else if self.raw.ends_with('\n') {
            "\n"
        } else {
            ""
        }
    }
}

/// One logical line of an [`EnvFile`], as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvLine<'a> {
    /// The key this line assigns; `None` for comments, blank lines and lines loaders reject.
    pub key: Option<&'a str>,
    /// The exact text, line ending included.
    pub raw: &'a str,
}

/// A parsed env file that keeps every original byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvFile {
    bom: bool,
    entries: Vec<Entry>,
}

impl EnvFile {
    /// Parses any text. Never fails: what cannot be read as an assignment is kept as an opaque line.
    pub fn parse(text: &str) -> EnvFile {
        let (bom, body) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let lines: Vec<&str> = body.split_inclusive('\n').collect();
        let mut substitutions: HashMap<String, String> = HashMap::new();
        let mut entries = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let end = logical_end(&lines, i);
            let raw: String = lines[i..end].concat();
            let assignment = parse_assignment(&raw, &substitutions);
            if let Some(a) = &assignment {
                substitutions.insert(a.key.clone(), a.value.clone());
            }
            entries.push(Entry { raw, assignment });
            i = end;
        }
        EnvFile { bom, entries }
    }

    /// The value of the last occurrence of `key` (the one dotenv loaders use), unquoted.
    pub fn get(&self, key: &str) -> Option<String> {
        self.last_index(key)
            .and_then(|i| self.entries[i].assignment.as_ref())
            .map(|a| a.value.clone())
    }

    /// Every key, in order of first appearance.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for key in self.entries.iter().filter_map(Entry::key) {
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_string());
            }
        }
        keys
    }

    /// Sets `key` to `value`: in place at its last occurrence (keeping its `export ` prefix, spacing,
    /// trailing comment, line ending and, when the value allows, its quote style), else appended.
    pub fn set(&mut self, key: &str, value: &str) {
        match self.last_index(key) {
            Some(i) => {
                let entry = &self.entries[i];
                let a = entry
                    .assignment
                    .as_ref()
                    .expect("last_index points at an assignment");
                let mut rendered = render_value(value, a.quote);
                let prefix = &entry.raw[..a.value_start];
                // `KEY= ` with nothing after the blank is a line dotenvy rejects: quote the empty value.
                if rendered.is_empty() && prefix.ends_with([' ', '\t']) {
                    rendered.push_str("''");
                }
                let rest = &entry.raw[a.value_end..];
                if rest.starts_with('#') {
                    rendered.push(' ');
                }
                let raw = format!("{}{}{}", &entry.raw[..a.value_start], rendered, rest);
                self.entries[i].raw = raw;
            }
            None => {
                let ending = self.line_ending();
                if let Some(last) = self.entries.last_mut()
                    && last.terminator().is_empty()
                {
                    last.raw.push_str(ending);
                }
                self.entries.push(Entry {
                    raw: format!("{key}={}{ending}", render_value(value, Quote::None)),
                    assignment: None,
                });
            }
        }
        self.reparse();
    }

    /// Removes every line that assigns `key`.
    pub fn remove(&mut self, key: &str) {
        let before = self.entries.len();
        self.entries.retain(|e| e.key() != Some(key));
        if self.entries.len() != before {
            self.reparse();
        }
    }

    /// The file's logical lines in order (a multi-line quoted value is one), each with the key it
    /// assigns, if any, and its exact text including its line ending. The BOM is not part of them.
    pub fn lines(&self) -> impl Iterator<Item = EnvLine<'_>> {
        self.entries.iter().map(|e| EnvLine {
            key: e.key(),
            raw: &e.raw,
        })
    }

    /// Whether the file starts with a UTF-8 byte order mark (kept when written).
    pub fn has_bom(&self) -> bool {
        self.bom
    }

    /// The file's text. Lines that were not edited are byte-for-byte as they were parsed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for entry in &self.entries {
            out.push_str(&entry.raw);
        }
        out
    }

    /// The line ending the file uses most (`\r\n` or `\n`; on a tie, the first one's); `\n` when
    /// no line is terminated.
    fn line_ending(&self) -> &'static str {
        let (mut crlf, mut lf, mut first) = (0usize, 0usize, None);
        for entry in &self.entries {
            match entry.terminator() {
                "\r\n" => crlf += 1,
                "\n" => lf += 1,
                _ => continue,
            }
            first.get_or_insert(crlf > 0);
        }
        if crlf > lf || (crlf == lf && first == Some(true)) {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// The first line that opens a quote and never closes it (1-based), with the key it assigns:
    /// dotenv loaders read everything after it as part of its value.
    pub fn unclosed_quote(&self) -> Option<(usize, Option<String>)> {
        let mut line = 1;
        for entry in &self.entries {
            let body = entry.raw.strip_suffix('\n').unwrap_or(&entry.raw);
            let open = matches!(
                end_state(LineState::Complete, &entry.raw),
                LineState::WeakOpen
                    | LineState::WeakOpenEscape
                    | LineState::StrongOpen
                    | LineState::StrongOpenEscape
            );
            // A quote closed on a later line makes one multi-line entry; one never closed is
            // left as a single physical line.
            if open && !body.contains('\n') && !entry.raw.trim_start().starts_with('#') {
                return Some((line, key_named(&entry.raw).map(str::to_string)));
            }
            line += entry.raw.matches('\n').count();
        }
        None
    }

    /// The 1-based line where the last occurrence of `key` starts.
    fn line_of(&self, key: &str) -> Option<usize> {
        let index = self.last_index(key)?;
        Some(
            1 + self.entries[..index]
                .iter()
                .map(|e| e.raw.matches('\n').count())
                .sum::<usize>(),
        )
    }

    fn last_index(&self, key: &str) -> Option<usize> {
        self.entries.iter().rposition(|e| e.key() == Some(key))
    }

    fn reparse(&mut self) {
        *self = EnvFile::parse(&self.render());
    }
}

/// Where the logical entry that starts at physical line `start` ends (exclusive), following
/// dotenvy's rule that an open quote continues onto the next line. An entry whose quote never
/// closes is cut back to its first line, so the lines after it stay readable.
fn logical_end(lines: &[&str], start: usize) -> usize {
    if lines[start].trim_start().starts_with('#') {
        return start + 1;
    }
    let mut state = LineState::Complete;
    let mut j = start;
    while j < lines.len() {
        state = end_state(state, lines[j]);
        j += 1;
        if matches!(state, LineState::Complete | LineState::Comment) {
            return j;
        }
    }
    start + 1
}

#[derive(Clone, Copy)]
enum LineState {
    Complete,
    Escape,
    StrongOpen,
    StrongOpenEscape,
    WeakOpen,
    WeakOpenEscape,
    Comment,
    WhiteSpace,
}

/// dotenvy's line-continuation state machine over one physical line.
fn end_state(prev: LineState, line: &str) -> LineState {
    let mut state = prev;
    for c in line.chars() {
        state = match state {
            LineState::WhiteSpace => match c {
                '#' => return LineState::Comment,
                '\\' => LineState::Escape,
                '"' => LineState::WeakOpen,
                '\'' => LineState::StrongOpen,
                _ => LineState::Complete,
            },
            LineState::Escape => LineState::Complete,
            LineState::Complete => match c {
                c if c.is_whitespace() && c != '\n' && c != '\r' => LineState::WhiteSpace,
                '\\' => LineState::Escape,
                '"' => LineState::WeakOpen,
                '\'' => LineState::StrongOpen,
                _ => LineState::Complete,
            },
            LineState::WeakOpen => match c {
                '\\' => LineState::WeakOpenEscape,
                '"' => LineState::Complete,
                _ => LineState::WeakOpen,
            },
            LineState::WeakOpenEscape => LineState::WeakOpen,
            LineState::StrongOpen => match c {
                '\\' => LineState::StrongOpenEscape,
                '\'' => LineState::Complete,
                _ => LineState::StrongOpen,
            },
            LineState::StrongOpenEscape => LineState::StrongOpen,
            LineState::Comment => return LineState::Comment,
        };
    }
    state
}

/// Reads one logical entry as `[export ]KEY = value [# comment]`, as dotenvy does. `None` for
/// comments, blank lines and anything dotenvy would reject.
fn parse_assignment(raw: &str, substitutions: &HashMap<String, String>) -> Option<Assignment> {
    let mut body = raw.strip_suffix('\n').unwrap_or(raw);
    body = body.strip_suffix('\r').unwrap_or(body);
    let line = body.trim_end();
    let mut pos = skip_whitespace(line, 0);
    if pos == line.len() || line[pos..].starts_with('#') {
        return None;
    }
    let (mut key, after_key) = parse_key(line, pos)?;
    pos = skip_whitespace(line, after_key);
    if key == "export" && !line[pos..].starts_with('=') {
        let (real, after) = parse_key(line, pos)?;
        key = real;
        pos = skip_whitespace(line, after);
    }
    if !line[pos..].starts_with('=') {
        return None;
    }
    let after_equal = pos + 1;
    pos = skip_whitespace(line, after_equal);
    if pos == line.len() || line[pos..].starts_with('#') {
        return Some(Assignment {
            key: key.to_string(),
            value: String::new(),
            value_start: after_equal,
            value_end: after_equal,
            quote: Quote::None,
        });
    }
    let (value, len) = parse_value(&line[pos..], substitutions)?;
    let written = &line[pos..pos + len];
    let quote = if written.len() >= 2 && written.starts_with('\'') && written.ends_with('\'') {
        Quote::Single
    } else if written.len() >= 2 && written.starts_with('"') && written.ends_with('"') {
        Quote::Double
    } else {
        Quote::None
    };
    Some(Assignment {
        key: key.to_string(),
        value,
        value_start: pos,
        value_end: pos + len,
        quote,
    })
}

fn skip_whitespace(line: &str, from: usize) -> usize {
    match line[from..].find(|c: char| !c.is_whitespace()) {
        Some(i) => from + i,
        None => line.len(),
    }
}

fn parse_key(line: &str, from: usize) -> Option<(&str, usize)> {
    let rest = &line[from..];
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    Some((&rest[..len], from + len))
}

#[derive(PartialEq, Eq)]
enum Substitution {
    None,
    Block,
    EscapedBlock,
}

/// dotenvy's value grammar. Returns the value and the byte length of its written form (up to the
/// first unquoted blank, after which only a comment may follow).
fn parse_value(input: &str, substitutions: &HashMap<String, String>) -> Option<(String, usize)> {
    let mut strong_quote = false;
    let mut weak_quote = false;
    let mut escaped = false;
    let mut end: Option<usize> = None;
    let mut output = String::new();
    let mut mode = Substitution::None;
    let mut name = String::new();
    let substitute = |name: &mut String, output: &mut String| {
        if let Some(v) = substitutions.get(name.as_str()) {
            output.push_str(v);
        }
        name.clear();
    };

    for (index, c) in input.char_indices() {
        if end.is_some() {
            if c == ' ' || c == '\t' {
                continue;
            } else if c == '#' {
                break;
            } else {
                return None;
            }
        } else if escaped {
            match c {
                '\\' | '\'' | '"' | '$' | ' ' => output.push(c),
                'n' => output.push('\n'),
                _ => return None,
            }
            escaped = false;
        } else if strong_quote {
            if c == '\'' {
                strong_quote = false;
            } else {
                output.push(c);
            }
        } else if mode != Substitution::None {
            if c.is_alphanumeric() {
                name.push(c);
            } else {
                match mode {
                    Substitution::None => {}
                    Substitution::Block => {
                        if c == '{' && name.is_empty() {
                            mode = Substitution::EscapedBlock;
                        } else {
                            substitute(&mut name, &mut output);
                            if c == '$' {
                                mode = Substitution::Block;
                            } else {
                                mode = Substitution::None;
                                output.push(c);
                            }
                        }
                    }
                    Substitution::EscapedBlock => {
                        if c == '}' {
                            mode = Substitution::None;
                            substitute(&mut name, &mut output);
                        } else {
                            name.push(c);
                        }
                    }
                }
            }
        } else if c == '$' {
            mode = Substitution::Block;
        } else if weak_quote {
            if c == '"' {
                weak_quote = false;
            } else if c == '\\' {
                escaped = true;
            } else {
                output.push(c);
            }
        } else if c == '\'' {
            strong_quote = true;
        } else if c == '"' {
            weak_quote = true;
        } else if c == '\\' {
            escaped = true;
        } else if c == ' ' || c == '\t' {
            end = Some(index);
        } else {
            output.push(c);
        }
    }
    if mode == Substitution::EscapedBlock || strong_quote || weak_quote {
        return None;
    }
    substitute(&mut name, &mut output);
    Some((output, end.unwrap_or(input.len())))
}

/// Characters that every common loader (dotenvy, python-dotenv, Node dotenv) reads literally in an
/// unquoted value.
fn plain_ok(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-,:/+@%=?&~*!^".contains(c))
}

/// Read literally inside single quotes by every common loader.
fn single_ok(value: &str) -> bool {
    !value.contains(['\'', '\\', '\n', '\r'])
}

/// Read literally inside double quotes by every common loader (no escapes, no expansion).
fn double_ok(value: &str) -> bool {
    !value.contains(['"', '\\', '$', '\n', '\r'])
}

/// Writes a value so that loaders read it back unchanged: as it is when it is plain, else quoted.
/// The quote style of the line being updated is kept when the value allows it.
fn render_value(value: &str, previous: Quote) -> String {
    match previous {
        Quote::Single if single_ok(value) => return format!("'{value}'"),
        Quote::Double if double_ok(value) => return format!("\"{value}\""),
        _ => {}
    }
    if plain_ok(value) {
        value.to_string()
    } else if single_ok(value) {
        format!("'{value}'")
    } else if double_ok(value) {
        format!("\"{value}\"")
    } else {
        // dotenvy's escapes. Node's dotenv decodes only `\n` of these; Zoho values never need them.
        let mut out = String::from("\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '$' => out.push_str("\\$"),
                '\n' => out.push_str("\\n"),
                _ => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// What an update did to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The key was not in the file and was appended.
    Added(String),
    /// The key was in the file with another value.
    Updated(String),
    /// The key's lines were removed.
    Removed(String),
    /// The file already had this value (or, for a removal, did not have the key).
    Unchanged(String),
}

impl Change {
    pub fn key(&self) -> &str {
        match self {
            Change::Added(k) | Change::Updated(k) | Change::Removed(k) | Change::Unchanged(k) => k,
        }
    }

    pub fn is_change(&self) -> bool {
        !matches!(self, Change::Unchanged(_))
    }
}

/// Applies updates (`None` removes the key) and reports what changed, key by key.
pub fn apply(file: &mut EnvFile, updates: &[(&str, Option<&str>)]) -> Vec<Change> {
    updates
        .iter()
        .map(|&(key, value)| {
            let old = file.get(key);
            match (old, value) {
                (Some(old), Some(new)) if old == new => Change::Unchanged(key.to_string()),
                (Some(_), Some(new)) => {
                    file.set(key, new);
                    Change::Updated(key.to_string())
                }
                (None, Some(new)) => {
                    file.set(key, new);
                    Change::Added(key.to_string())
                }
                (Some(_), None) => {
                    file.remove(key);
                    Change::Removed(key.to_string())
                }
                (None, None) => Change::Unchanged(key.to_string()),
            }
        })
        .collect()
}

/// Reads an env file. `Ok(None)` when it does not exist.
pub fn load(path: &Path) -> Result<Option<EnvFile>, EnvError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EnvError::io(path, "read", e)),
    };
    let text = String::from_utf8(bytes).map_err(|e| EnvError::not_utf8(path, e.as_bytes()))?;
    Ok(Some(EnvFile::parse(&text)))
}

/// Loads the file (or starts from an empty one), applies the updates and writes it atomically.
/// Nothing is written when nothing changes.
/// Nothing is written unless every value set reads back, with our reader and where dotenv
/// loaders look (see [`check_update`]).
pub fn update(path: &Path, updates: &[(&str, Option<&str>)]) -> Result<Vec<Change>, EnvError> {
    let original = load(path)?.unwrap_or_default();
    let mut file = original.clone();
    let changes = apply(&mut file, updates);
    if changes.iter().any(Change::is_change) {
        check_read_back(path, &original, &file, updates)?;
        write_atomic(path, &file.render())?;
    }
    Ok(changes)
}

/// Whether `updates` could be written to `file` (the content of `path`) so that they read back:
/// not after a quote that is never closed. Call it before work that cannot be repeated (a code
/// exchange), with the keys that will be written.
pub fn check_update(
    path: &Path,
    file: &EnvFile,
    updates: &[(&str, Option<&str>)],
) -> Result<(), EnvError> {
    let mut edited = file.clone();
    apply(&mut edited, updates);
    check_read_back(path, file, &edited, updates)
}

fn check_read_back(
    path: &Path,
    original: &EnvFile,
    edited: &EnvFile,
    updates: &[(&str, Option<&str>)],
) -> Result<(), EnvError> {
    let reread = EnvFile::parse(&edited.render());
    let unclosed = original
        .unclosed_quote()
        .or_else(|| reread.unclosed_quote());
    for &(key, value) in updates {
        let swallowed = match (&unclosed, reread.line_of(key)) {
            (Some((at, _)), Some(line)) => value.is_some() && line > *at,
            _ => false,
        };
        let reads_back = reread.get(key).as_deref() == value;
        if swallowed || (!reads_back && unclosed.is_some()) {
            let (line, at_key) = unclosed.clone().unwrap_or_default();
            return Err(EnvError::UnclosedQuote {
                path: path.to_path_buf(),
                at: match at_key {
                    Some(k) => format!("line {line}, the value of {k}"),
                    None => format!("line {line}"),
                },
            });
        }
        if !reads_back {
            return Err(EnvError::ReadBack {
                path: path.to_path_buf(),
                key: key.to_string(),
            });
        }
    }
    Ok(())
}

/// The name of the backup kept beside `path`: `<name>.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// Replaces `path` with `contents` so that a crash at any moment leaves either the old or the new
/// file: a temp file in the same folder is written, flushed and synced, the previous file is copied
/// to `<name>.bak`, and the temp file is renamed over. On Unix both files get mode 0600. On error
/// the old file is untouched and no temp file is left behind. A symlink is followed, not replaced.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), EnvError> {
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| EnvError::io(path, "follow the link", e))?
        }
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| {
            EnvError::io(
                path,
                "write",
                io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let temp_in = |purpose: &'static str| {
        tempfile::Builder::new()
            .prefix(&format!("{name}.zoho-auth."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| EnvError::io(&dir, purpose, e))
    };

    let mut temp = temp_in("create a temporary file in")?;
    restrict(temp.as_file()).map_err(|e| EnvError::io(temp.path(), "set permissions on", e))?;
    pause("temp-created");
    let bytes = contents.as_bytes();
    let half = bytes.len() / 2;
    let write_err = |e| EnvError::io(&target, "write", e);
    temp.write_all(&bytes[..half]).map_err(write_err)?;
    temp.flush().map_err(write_err)?;
    pause("temp-partial");
    temp.write_all(&bytes[half..]).map_err(write_err)?;
    temp.flush().map_err(write_err)?;
    temp.as_file().sync_all().map_err(write_err)?;
    pause("temp-synced");

    if target.is_file() {
        let backup = backup_path(&target);
        let mut old = File::open(&target).map_err(|e| EnvError::io(&target, "read", e))?;
        let mut copy = temp_in("create a backup in")?;
        restrict(copy.as_file()).map_err(|e| EnvError::io(&backup, "set permissions on", e))?;
        let backup_err = |e| EnvError::io(&backup, "write the backup", e);
        io::copy(&mut old, &mut copy).map_err(backup_err)?;
        copy.as_file().sync_all().map_err(backup_err)?;
        copy.persist(&backup).map_err(|e| backup_err(e.error))?;
        pause("backup-written");
    }

    temp.persist(&target)
        .map_err(|e| EnvError::io(&target, "replace", e.error))?;
    pause("renamed");
    sync_dir(&dir);
    Ok(())
}

#[cfg(unix)]
fn restrict(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Makes the rename durable. Best effort: some filesystems refuse to sync a folder.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The test pause hook (debug builds only; see [`PAUSE_ENV`]).
fn pause(step: &str) {
    #[cfg(debug_assertions)]
    if let Some(dir) = std::env::var_os(PAUSE_ENV) {
        let dir = PathBuf::from(dir);
        let _ = fs::write(dir.join(format!("{step}.reached")), b"");
        let go = dir.join(format!("{step}.go"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !go.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}

/// One row of the Save step's preview. Values of secret keys are masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLine {
    pub key: String,
    pub change: Change,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What `update` would do, with secret values masked, for the wizard's Save step.
pub fn preview(
    old: Option<&EnvFile>,
    updates: &[(&str, Option<&str>)],
    is_secret: impl Fn(&str) -> bool,
) -> Vec<PreviewLine> {
    let mut file = old.cloned().unwrap_or_default();
    let show =
        |key: &str, value: Option<String>| value.map(|v| if is_secret(key) { mask(&v) } else { v });
    updates
        .iter()
        .map(|&(key, value)| {
            let before = file.get(key);
            let change = apply(&mut file, &[(key, value)]).remove(0);
            let after = file.get(key);
            PreviewLine {
                key: key.to_string(),
                change,
                old: show(key, before),
                new: show(key, after),
            }
        })
        .collect()
}

/// The `ZOHO_*` keys among `keys` that are set in the environment, where they take precedence over
/// the file for loaders that do not override (dotenvy, python-dotenv, Node dotenv by default).
pub fn shadowing_vars(keys: &[&str], env: impl Fn(&str) -> Option<String>) -> Vec<String> {
    keys.iter()
        .filter(|k| k.starts_with("ZOHO_") && env(k).is_some())
        .map(|k| k.to_string())
        .collect()
}

/// Whether git would commit the env file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitignoreStatus {
    /// The folder is not inside a git repository.
    NotARepo,
    /// Git ignores the file.
    Ignored,
    /// The file is in a repository and not ignored: it could be committed.
    NotIgnored,
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// The working tree root above `env_path`: the nearest folder holding `.git` (a folder, or a file
/// in worktrees and submodules).
fn repo_root(env_path: &Path) -> Option<PathBuf> {
    let abs = absolute(env_path);
    abs.parent()?
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Whether the env file is ignored by git: asks `git check-ignore` when git is installed, else
/// reads the `.gitignore` files between the file and the repository root.
pub fn gitignore_status(env_path: &Path) -> GitignoreStatus {
    let Some(root) = repo_root(env_path) else {
        return GitignoreStatus::NotARepo;
    };
    let abs = absolute(env_path);
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["check-ignore", "-q", "--no-index", "--"])
        .arg(&abs)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match output.ok().and_then(|s| s.code()) {
        Some(0) => GitignoreStatus::Ignored,
        Some(1) => GitignoreStatus::NotIgnored,
        _ => {
            if ignored_by_files(&root, &abs) {
                GitignoreStatus::Ignored
            } else {
                GitignoreStatus::NotIgnored
            }
        }
    }
}

/// A plain reading of `.gitignore` files: `name`, `/name`, `*` and `?` globs, `!` negation, last
/// match wins. Used only when git itself is not available.
fn ignored_by_files(root: &Path, file: &Path) -> bool {
    let Some(dir) = file.parent() else {
        return false;
    };
    let mut folders: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| d.starts_with(root))
        .collect();
    folders.reverse();
    let mut ignored = false;
    for folder in folders {
        let Ok(text) = fs::read_to_string(folder.join(".gitignore")) else {
            continue;
        };
        let Ok(relative) = file.strip_prefix(folder) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        let name = relative.rsplit('/').next().unwrap_or(&relative).to_string();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.ends_with('/') {
                continue;
            }
            let (negate, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, line),
            };
            let matched = match pattern.strip_prefix('/') {
                Some(anchored) => glob_match(anchored, &relative),
                None if pattern.contains('/') => glob_match(pattern, &relative),
                None => glob_match(pattern, &name),
            };
            if matched {
                ignored = !negate;
            }
        }
    }
    ignored
}

fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) && p[pi] != '*' {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Adds the env file and its backup (`/.env`, `/.env.bak`) to the `.gitignore` beside it, keeping
/// the existing lines and line ending.
pub fn add_to_gitignore(env_path: &Path) -> io::Result<()> {
    let abs = absolute(env_path);
    let name = abs
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?
        .to_string_lossy()
        .into_owned();
    let gitignore = abs.with_file_name(".gitignore");
    let mut existing = String::new();
    match File::open(&gitignore) {
        Ok(mut f) => {
            f.read_to_string(&mut existing)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let ending = if existing.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let present: Vec<&str> = existing.lines().map(str::trim).collect();
    let mut addition = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        addition.push_str(ending);
    }
    for entry in [format!("/{name}"), format!("/{name}.bak")] {
        if !present.contains(&entry.as_str()) {
            addition.push_str(&entry);
            addition.push_str(ending);
        }
    }
    if addition.trim().is_empty() {
        return Ok(());
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&gitignore)?
        .write_all(addition.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_untouched_bytes_and_updates_the_last_occurrence() {
        let text = "# c\r\nexport A='x' # note\r\nA=1\r\nB=2";
        let mut f = EnvFile::parse(text);
        assert_eq!(f.render(), text);
        assert_eq!(f.get("A").as_deref(), Some("1"));
        f.set("A", "new");
        f.set("C", "3");
        assert_eq!(
            f.render(),
            "# c\r\nexport A='x' # note\r\nA=new\r\nB=2\r\nC=3\r\n"
        );
        f.set("A", "a b");
        assert_eq!(f.get("A").as_deref(), Some("a b"));
        f.remove("A");
        assert_eq!(f.render(), "# c\r\nB=2\r\nC=3\r\n");
    }

    #[test]
    fn keeps_quote_style_and_comment() {
        let mut f = EnvFile::parse("export K=\"old\" # keep\nL='x'\nM=#c\n");
        f.set("K", "1000.abc");
        f.set("L", "y");
        f.set("M", "v");
        assert_eq!(f.render(), "export K=\"1000.abc\" # keep\nL='y'\nM=v #c\n");
    }

    #[test]
    fn multi_line_value_is_one_entry() {
        let text = "A=\"line1\nline2\"\nB=2\n";
        let mut f = EnvFile::parse(text);
        assert_eq!(f.get("A").as_deref(), Some("line1\nline2"));
        assert_eq!(f.keys(), vec!["A", "B"]);
        f.set("A", "one");
        assert_eq!(f.render(), "A=\"one\"\nB=2\n");
    }

    #[test]
    fn values_are_quoted_when_needed() {
        assert_eq!(
            render_value("ZohoBooks.fullaccess.all,a", Quote::None),
            "ZohoBooks.fullaccess.all,a"
        );
        assert_eq!(
            render_value("https://x.zoho.eu/?a=b", Quote::None),
            "https://x.zoho.eu/?a=b"
        );
        assert_eq!(render_value("a#b", Quote::None), "'a#b'");
        assert_eq!(render_value("a$b", Quote::Double), "'a$b'");
        assert_eq!(render_value("it's", Quote::None), "\"it's\"");
        assert_eq!(
            render_value("a'\\\"$\n", Quote::None),
            "\"a'\\\\\\\"\\$\\n\""
        );
        assert_eq!(render_value("", Quote::None), "");
        assert_eq!(render_value("", Quote::Double), "\"\"");
    }

    #[test]
    fn glob() {
        assert!(glob_match("*.env", "prod.env"));
        assert!(glob_match(".env*", ".env.bak"));
        assert!(glob_match(".env", ".env"));
        assert!(!glob_match(".env", ".envrc"));
        assert!(glob_match("?env", ".env"));
    }
}
