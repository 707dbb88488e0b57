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

use crate::auth::keys;
use crate::auth::secret::mask;

/// Keys whose values are secrets: masked in previews, and kept out of the file with keychain storage.
pub const SECRET_KEYS: &[&str] = &[keys::CLIENT_SECRET, keys::REFRESH_TOKEN, keys::ACCESS_TOKEN];

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
    /// The path (or the file a link there leads to) is not a regular file.
    #[error(
        "{} is {kind}, not a regular file, so it cannot hold the settings: nothing was sent and nothing was written. Pass a regular file with --env-file (a missing one is created).",
        path.display()
    )]
    NotAFile { path: PathBuf, kind: &'static str },
    /// Something that is not a file sits where the backup goes.
    #[error(
        "{} is {kind}, so the previous file cannot be kept there as a backup: nothing was sent and nothing was written. Move it away and run again.",
        path.display()
    )]
    BackupBlocked { path: PathBuf, kind: &'static str },
    /// The file belongs to another user, and this process cannot give the new file back to them.
    #[error(
        "{} belongs to user id {uid}, and zoho-auth runs as user id {euid}, which cannot give the rewritten file back to that user (it would lose its own config): nothing was sent and nothing was written. Run the command as the file's owner (sudo -u), or as root.",
        path.display()
    )]
    Owner { path: PathBuf, uid: u32, euid: u32 },
    /// The disk is (nearly) full.
    #[error(
        "the disk holding {} has {available} bytes free, fewer than the {needed} the new file and its backup need: nothing was sent and nothing was written. Free some space and run again.",
        path.display()
    )]
    NoRoom {
        path: PathBuf,
        available: u64,
        needed: u64,
    },
    /// A value that a shell sourcing the file could run, or that loaders would read differently.
    #[error(
        "the value for {key} contains {reason}, so it cannot be written to {} in a form that a shell sourcing the file runs nothing of and every dotenv loader reads back unchanged. Nothing was written. Check the value: Zoho's ids, secrets, tokens, URLs and scopes never contain such characters.",
        path.display()
    )]
    UnsafeValue {
        path: PathBuf,
        key: String,
        reason: &'static str,
    },
    /// The compare-and-swap of [`update_if_unchanged`] found another value.
    #[error(
        "{key} in {} changed while this command ran (another command wrote the file): nothing was written, so that change stays. Run `zoho-auth check` to see where things stand.",
        path.display()
    )]
    Changed { path: PathBuf, key: String },
    /// Another writer held the folder's write lock for too long.
    #[error(
        "another program held the write lock of {} for more than {secs} s: nothing was written. Let the other zoho-auth command finish, then run again.",
        path.display()
    )]
    Busy { path: PathBuf, secs: u64 },
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
/// unquoted value, and that a POSIX shell sourcing the file neither runs nor expands (no `&`, `;`,
/// `|`, `<`, `>`, `$`, backticks, globs, `~`).
fn plain_ok(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-,:/+@%=".contains(c))
}

/// Control characters no loader keeps as they are (a tab and a newline are fine when quoted).
fn has_bad_control(value: &str) -> bool {
    value
        .chars()
        .any(|c| (c.is_control() && c != '\t' && c != '\n') || c == '\u{7f}')
}

/// Read literally inside single quotes by every common loader and by a shell: no `'` (nothing can
/// escape it in a shell), no `\r` (Node folds it), no `\\` or trailing `\` (python-dotenv decodes
/// `\\` and `\'` there), no `${` (python-dotenv expands it even there).
fn single_ok(value: &str) -> bool {
    !value.contains(['\'', '\r'])
        && !value.contains("\\\\")
        && !value.ends_with('\\')
        && !value.contains("${")
        && !has_bad_control(value)
}

/// Read literally inside double quotes by every common loader and by a shell: nothing a shell
/// expands there (`$`, backticks, `\`) and no `"` or line break.
fn double_ok(value: &str) -> bool {
    !value.contains(['"', '\\', '$', '`', '\n', '\r']) && !has_bad_control(value)
}

/// Why `value` cannot be written so that a shell sourcing the file runs nothing and every loader
/// reads it back unchanged; `None` when it can.
fn unwritable(value: &str) -> Option<&'static str> {
    if plain_ok(value) || single_ok(value) || double_ok(value) {
        return None;
    }
    Some(if has_bad_control(value) || value.contains('\r') {
        "a control character"
    } else if value.contains("${") {
        "`${`, which python-dotenv expands"
    } else if value.contains("\\\\") || value.ends_with('\\') {
        "a backslash that loaders decode differently"
    } else {
        "a single quote together with a character a shell expands inside double quotes"
    })
}

/// Writes a value so that loaders read it back unchanged and a shell sourcing the file runs
/// nothing: as it is when it is plain, else in single quotes, else (a value with a `'` and nothing
/// a shell expands) in double quotes. The quote style of the line being updated is kept when the
/// value allows it. A value none of these fit is refused by [`update`]; in memory it gets
/// dotenvy's escapes.
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

/// Reads an env file. `Ok(None)` when it does not exist. Anything but a regular file (or a link to
/// one) is refused before a byte is read: a FIFO would block, a device reads as empty and swallows
/// what is written, a dangling link hides a typo.
pub fn load(path: &Path) -> Result<Option<EnvFile>, EnvError> {
    let Some(bytes) = read_regular(path)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|e| EnvError::not_utf8(path, e.as_bytes()))?;
    Ok(Some(EnvFile::parse(&text)))
}

/// The bytes of `path` when it is a regular file (through links); `None` when nothing is there.
/// A device, FIFO, folder, socket or dangling link is [`EnvError::NotAFile`], found without
/// blocking. For any file zoho-auth edits (appsettings.json too).
pub fn read_regular(path: &Path) -> Result<Option<Vec<u8>>, EnvError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EnvError::io(path, "read", e)),
        Ok(_) => {}
    }
    // Checks the kind (and follows links) before opening, then again on the opened file, so a
    // FIFO swapped in between cannot block the read.
    resolve(path)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = options
        .open(path)
        .map_err(|e| EnvError::io(path, "read", e))?;
    let meta = file.metadata().map_err(|e| EnvError::io(path, "read", e))?;
    if let Some(kind) = not_a_file(&meta.file_type()) {
        return Err(EnvError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| EnvError::io(path, "read", e))?;
    Ok(Some(bytes))
}

/// What a write did: the key changes, where the previous file was kept, and the `.gitignore`
/// that was given a line for that backup (so a repository never shows it as an untracked file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Written {
    /// Key by key, as [`update`] returns them (empty for [`write_atomic`]).
    pub changes: Vec<Change>,
    /// The copy of the previous file (`<name>.bak` beside the file actually rewritten, which is
    /// the link's target for a symlinked env file). `None` when there was no previous file or
    /// nothing was written.
    pub backup: Option<PathBuf>,
    /// The `.gitignore` that got the backup's line during this write, if one did.
    pub gitignore: Option<PathBuf>,
}

/// Loads the file (or starts from an empty one), applies the updates and writes it atomically.
/// Nothing is written when nothing changes.
/// Nothing is written unless every value set reads back, with our reader and where dotenv
/// loaders look (see [`check_update`]), and can be written without a shell running any of it.
/// [`update_with_report`] also says where the backup is.
pub fn update(path: &Path, updates: &[(&str, Option<&str>)]) -> Result<Vec<Change>, EnvError> {
    update_with_report(path, updates).map(|w| w.changes)
}

/// [`update`], reporting where the previous file was kept and whether `.gitignore` was extended.
/// Takes the file's write lock for the whole read-modify-rename.
pub fn update_with_report(
    path: &Path,
    updates: &[(&str, Option<&str>)],
) -> Result<Written, EnvError> {
    locked_update(path, None, updates)
}

/// Compare and swap: applies `updates` only when `key` still has the value `expected` (`None`:
/// the key is absent), read under the file's write lock, so that a command that read the file
/// earlier cannot overwrite what another command wrote since. Fails with [`EnvError::Changed`]
/// (nothing written) otherwise.
pub fn update_if_unchanged(
    path: &Path,
    key: &str,
    expected: Option<&str>,
    updates: &[(&str, Option<&str>)],
) -> Result<Written, EnvError> {
    locked_update(path, Some((key, expected)), updates)
}

fn locked_update(
    path: &Path,
    guard: Option<(&str, Option<&str>)>,
    updates: &[(&str, Option<&str>)],
) -> Result<Written, EnvError> {
    check_values(path, updates)?;
    let dir = resolve(path)?.dir;
    let _lock = lock_folder(&dir)?;
    let original = load(path)?.unwrap_or_default();
    if let Some((key, expected)) = guard
        && original.get(key).as_deref() != expected
    {
        return Err(EnvError::Changed {
            path: path.to_path_buf(),
            key: key.to_string(),
        });
    }
    let mut file = original.clone();
    let changes = apply(&mut file, updates);
    if !changes.iter().any(Change::is_change) {
        return Ok(Written {
            changes,
            ..Written::default()
        });
    }
    check_read_back(path, &original, &file, updates)?;
    let target = resolve(path)?;
    let mut written = write_locked(path, &target, &file.render())?;
    written.changes = changes;
    Ok(written)
}

/// Refuses a value that cannot be written safely (see [`unwritable`]), naming the key only.
fn check_values(path: &Path, updates: &[(&str, Option<&str>)]) -> Result<(), EnvError> {
    for &(key, value) in updates {
        if let Some(reason) = value.and_then(unwritable) {
            return Err(EnvError::UnsafeValue {
                path: path.to_path_buf(),
                key: key.to_string(),
                reason,
            });
        }
    }
    Ok(())
}

/// Whether `updates` could be written to `file` (the content of `path`): the whole save is
/// checked without changing anything. The values read back (not after a quote that is never
/// closed) and can be written safely; the path is a regular file or absent (through links); the
/// folder takes a new file (one is created, given the file's owner and mode, and removed); the
/// backup can be made; the disk has room. Call it before work that cannot be repeated (a code
/// exchange), with the keys that will be written. See [`preflight`] when the file may not exist.
pub fn check_update(
    path: &Path,
    file: &EnvFile,
    updates: &[(&str, Option<&str>)],
) -> Result<(), EnvError> {
    let mut edited = file.clone();
    apply(&mut edited, updates);
    check_read_back(path, file, &edited, updates)?;
    check_values(path, updates)?;
    check_filesystem(path, edited.render().len())
}

/// [`check_update`] for whatever is at `path` now, a missing file included (it will be created).
pub fn preflight(path: &Path, updates: &[(&str, Option<&str>)]) -> Result<(), EnvError> {
    let file = load(path)?.unwrap_or_default();
    check_update(path, &file, updates)
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

/// The filesystem half of [`check_update`] for any file [`write_atomic`] will replace (such as
/// appsettings.json): a regular file or absent, a folder that takes a new file with the file's
/// owner and mode, a possible backup, and room for about `new_len` bytes more.
pub fn check_writable(path: &Path, new_len: usize) -> Result<(), EnvError> {
    check_filesystem(path, new_len)
}

/// Extra room asked for beyond the new file and its backup.
const ROOM_SLACK: u64 = 16 * 1024;

/// The bytes a write of `new_len` bytes over a file of `old_len` bytes needs free: the new file,
/// the backup, and some slack.
pub fn room_needed(old_len: u64, new_len: u64) -> u64 {
    new_len.saturating_add(old_len).saturating_add(ROOM_SLACK)
}

fn check_filesystem(path: &Path, new_len: usize) -> Result<(), EnvError> {
    let target = resolve(path)?;
    match fs::metadata(&target.dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(EnvError::io(
                &target.dir,
                "create a file in",
                io::Error::new(io::ErrorKind::NotADirectory, "it is not a folder"),
            ));
        }
        Err(e) => return Err(EnvError::io(&target.dir, "create a file in", e)),
    }
    // The folder takes a new file with the owner and mode the real one will get.
    let mut probe = temp_in(&target, "create a file in")?;
    secure_like(probe.as_file(), path, target.meta.as_ref())?;
    probe
        .write_all(&[0u8; 1024])
        .map_err(|e| EnvError::io(&target.dir, "write a file in", e))?;
    drop(probe);

    let old_len = target.meta.as_ref().map_or(0, fs::Metadata::len);
    let needed = room_needed(old_len, new_len as u64);
    if let Some(available) = available_space(&target.dir)
        && available < needed
    {
        return Err(EnvError::NoRoom {
            path: target.dir.clone(),
            available,
            needed,
        });
    }

    if target.meta.is_some() {
        File::open(&target.path).map_err(|e| EnvError::io(&target.path, "read", e))?;
        let backup = backup_path(&target.path);
        if let Ok(meta) = fs::symlink_metadata(&backup) {
            let ft = meta.file_type();
            if !ft.is_symlink()
                && let Some(kind) = not_a_file(&ft)
            {
                return Err(EnvError::BackupBlocked { path: backup, kind });
            }
        }
        if let Some(gitignore) = backup_ignore_file(&backup)
            && gitignore.exists()
        {
            OpenOptions::new()
                .append(true)
                .open(&gitignore)
                .map_err(|e| EnvError::io(&gitignore, "add the backup to", e))?;
        }
    }
    Ok(())
}

/// Free bytes for an unprivileged writer on the disk holding `dir`; `None` when unknown.
#[cfg(unix)]
fn available_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value for statvfs to overwrite.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a NUL-terminated string and stat a valid, writable struct.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)]
    Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
}

#[cfg(not(unix))]
fn available_space(_dir: &Path) -> Option<u64> {
    None
}

/// The name of the backup kept beside `path`: `<name>.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// The file a write replaces (the link's target for a symlink) and what is known of it.
struct Target {
    /// The regular file to rewrite (or create).
    path: PathBuf,
    /// Its folder, where the temp files and the backup go.
    dir: PathBuf,
    /// Its file name.
    name: String,
    /// Its metadata when it exists.
    meta: Option<fs::Metadata>,
}

/// What a file type is when it is not a regular file (links are followed before).
fn not_a_file(ft: &fs::FileType) -> Option<&'static str> {
    if ft.is_file() {
        return None;
    }
    if ft.is_dir() {
        return Some("a folder");
    }
    if ft.is_symlink() {
        return Some("a symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if ft.is_char_device() || ft.is_block_device() {
            return Some("a device");
        }
        if ft.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Where `path` leads: a symlink is followed to its target (which must exist), and the target
/// must be a regular file or absent.
fn resolve(path: &Path) -> Result<Target, EnvError> {
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => match fs::canonicalize(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(EnvError::NotAFile {
                    path: path.to_path_buf(),
                    kind: "a symbolic link to a file that does not exist",
                });
            }
            Err(e) => return Err(EnvError::io(path, "follow the link", e)),
        },
        _ => path.to_path_buf(),
    };
    let meta = match fs::metadata(&target) {
        Ok(meta) => {
            if let Some(kind) = not_a_file(&meta.file_type()) {
                return Err(EnvError::NotAFile {
                    path: path.to_path_buf(),
                    kind,
                });
            }
            Some(meta)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(EnvError::io(path, "read", e)),
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
    Ok(Target {
        path: target,
        dir,
        name,
        meta,
    })
}

/// How long a writer waits for another one to release the folder's lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Held while a file in the folder is read, modified and renamed; dropping it releases the lock.
struct FolderLock {
    _file: File,
}

/// Takes the exclusive write lock of `dir`: an advisory lock on the folder itself on Unix (no
/// lock file is left in the project), on a file named by the folder's hash in the temp folder
/// elsewhere. Waits up to [`LOCK_WAIT`] for another writer. Where the filesystem has no locks,
/// goes on without one.
fn lock_folder(dir: &Path) -> Result<FolderLock, EnvError> {
    let file = open_lock(dir).map_err(|e| EnvError::io(dir, "lock", e))?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FolderLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(EnvError::Busy {
                    path: dir.to_path_buf(),
                    secs: LOCK_WAIT.as_secs(),
                });
            }
            // A filesystem without locks (some network mounts): the write stays atomic, only
            // unserialised, as before locks existed.
            Err(fs::TryLockError::Error(_)) => return Ok(FolderLock { _file: file }),
        }
    }
}

#[cfg(unix)]
fn open_lock(dir: &Path) -> io::Result<File> {
    File::open(dir)
}

#[cfg(not(unix))]
fn open_lock(dir: &Path) -> io::Result<File> {
    use sha2::{Digest, Sha256};
    let abs = fs::canonicalize(dir)?;
    let hash = hex::encode(&Sha256::digest(abs.to_string_lossy().as_bytes())[..16]);
    let locks = std::env::temp_dir().join("zoho-auth-locks");
    fs::create_dir_all(&locks)?;
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(locks.join(format!("{hash}.lock")))
}

/// Temp files of a write are `<name>.zoho-auth.<pid>.<random>.tmp`, mode 0600, in the folder.
const TEMP_MARK: &str = ".zoho-auth.";
const TEMP_SUFFIX: &str = ".tmp";
/// A temp file of ours older than this is stale whatever its process.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

fn temp_in(target: &Target, purpose: &'static str) -> Result<tempfile::NamedTempFile, EnvError> {
    let prefix = format!("{}{TEMP_MARK}{}.", target.name, std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    builder
        .tempfile_in(&target.dir)
        .map_err(|e| EnvError::io(&target.dir, purpose, e))
}

/// Removes temp files a crashed writer of this file left in `dir`: ours by name, whose process
/// is gone (or that are older than an hour). Called under the folder's lock. Best effort.
fn remove_stale_temps(target: &Target) {
    let prefix = format!("{}{TEMP_MARK}", target.name);
    let Ok(entries) = fs::read_dir(&target.dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if !rest.ends_with(TEMP_SUFFIX) {
            continue;
        }
        // DirEntry::metadata does not follow links: a link named like ours is left alone.
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let gone = pid.is_some_and(|p| !process_alive(p));
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if gone || old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    // Unknown here: the age decides.
    true
}

/// Gives `file` (a temp file about to replace the old one, or its backup) the old file's owner,
/// group and mode, never looser than 0600 (0600 for a new file). Running as root in an app's
/// folder must not hand the app's config to root. An owner that cannot be kept is an error; a
/// group that cannot be kept is not (with 0600 the group has no access anyway).
fn secure_like(file: &File, path: &Path, old: Option<&fs::Metadata>) -> Result<(), EnvError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if let Some(old) = old {
            let mine = file
                .metadata()
                .map_err(|e| EnvError::io(path, "set the owner of", e))?;
            if (mine.uid(), mine.gid()) != (old.uid(), old.gid())
                && std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).is_err()
                && mine.uid() != old.uid()
            {
                return Err(EnvError::Owner {
                    path: path.to_path_buf(),
                    uid: old.uid(),
                    euid: mine.uid(),
                });
            }
        }
        let mode = old.map_or(0o600, |m| m.mode() & 0o600);
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| EnvError::io(path, "set permissions on", e))?;
    }
    #[cfg(not(unix))]
    let _ = (file, path, old);
    Ok(())
}

/// Replaces `path` with `contents` so that a crash at any moment leaves either the old or the new
/// file: a temp file in the same folder is written, flushed and synced, the previous file is copied
/// to `<name>.bak`, and the temp file is renamed over. Both keep the old file's owner and mode
/// (never looser than 0600; 0600 for a new file). On error the old file is untouched and no temp
/// file is left behind; temp files a crashed writer left are removed. A symlink is followed, not
/// replaced. The folder's write lock is held throughout. In a git repository, the backup is added
/// to `.gitignore` when git would not ignore it.
pub fn write_atomic(path: &Path, contents: &str) -> Result<Written, EnvError> {
    let dir = resolve(path)?.dir;
    let _lock = lock_folder(&dir)?;
    let target = resolve(path)?;
    write_locked(path, &target, contents)
}

/// [`write_atomic`] with the lock already held.
fn write_locked(path: &Path, target: &Target, contents: &str) -> Result<Written, EnvError> {
    remove_stale_temps(target);
    let old = target.meta.as_ref();
    let backup = old.map(|_| backup_path(&target.path));
    // Before the backup exists, so that no moment shows it to git.
    let gitignore = match &backup {
        Some(b) => ignore_backup(b)?,
        None => None,
    };

    let mut temp = temp_in(target, "create a temporary file in")?;
    secure_like(temp.as_file(), path, old)?;
    pause("temp-created");
    let bytes = contents.as_bytes();
    let half = bytes.len() / 2;
    let write_err = |e| EnvError::io(&target.path, "write", e);
    temp.write_all(&bytes[..half]).map_err(write_err)?;
    temp.flush().map_err(write_err)?;
    pause("temp-partial");
    temp.write_all(&bytes[half..]).map_err(write_err)?;
    temp.flush().map_err(write_err)?;
    temp.as_file().sync_all().map_err(write_err)?;
    pause("temp-synced");

    if let Some(backup) = &backup {
        let mut previous =
            File::open(&target.path).map_err(|e| EnvError::io(&target.path, "read", e))?;
        let mut copy = temp_in(target, "create a backup in")?;
        secure_like(copy.as_file(), backup, old)?;
        let backup_err = |e| EnvError::io(backup, "write the backup", e);
        io::copy(&mut previous, &mut copy).map_err(backup_err)?;
        copy.as_file().sync_all().map_err(backup_err)?;
        copy.persist(backup).map_err(|e| backup_err(e.error))?;
        pause("backup-written");
    }

    temp.persist(&target.path)
        .map_err(|e| EnvError::io(&target.path, "replace", e.error))?;
    pause("renamed");
    sync_dir(&target.dir);
    Ok(Written {
        changes: Vec::new(),
        backup,
        gitignore,
    })
}

/// The `.gitignore` that would get the backup's line: beside the backup, when the backup is in a
/// git working tree and not ignored yet. `None` when nothing is needed.
fn backup_ignore_file(backup: &Path) -> Option<PathBuf> {
    let name = backup.file_name()?.to_string_lossy().into_owned();
    let gitignore = backup.with_file_name(".gitignore");
    let line = format!("/{name}");
    // Our own line is already there: no need to ask git.
    if fs::read_to_string(&gitignore).is_ok_and(|t| t.lines().any(|l| l.trim() == line)) {
        return None;
    }
    match gitignore_status(backup) {
        GitignoreStatus::NotIgnored => Some(gitignore),
        GitignoreStatus::NotARepo | GitignoreStatus::Ignored => None,
    }
}

/// Adds `/<backup name>` to the `.gitignore` beside `backup` when git would show the backup (it
/// holds the previous secrets). Returns that `.gitignore` when a line was added.
fn ignore_backup(backup: &Path) -> Result<Option<PathBuf>, EnvError> {
    let Some(gitignore) = backup_ignore_file(backup) else {
        return Ok(None);
    };
    let name = backup
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    append_ignore_lines(&gitignore, &[format!("/{name}")])
        .map_err(|e| EnvError::io(&gitignore, "add the backup to", e))?;
    Ok(Some(gitignore))
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
    append_ignore_lines(
        &abs.with_file_name(".gitignore"),
        &[format!("/{name}"), format!("/{name}.bak")],
    )
}

/// Appends the `entries` that `gitignore` does not list yet, keeping its lines and line ending
/// (created when missing).
fn append_ignore_lines(gitignore: &Path, entries: &[String]) -> io::Result<()> {
    let mut existing = String::new();
    match File::open(gitignore) {
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
    for entry in entries {
        if !present.contains(&entry.as_str()) {
            addition.push_str(entry);
            addition.push_str(ending);
        }
    }
    if addition.trim().is_empty() {
        return Ok(());
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(gitignore)?
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
            render_value("https://x.zoho.eu/a", Quote::None),
            "https://x.zoho.eu/a"
        );
        // `?` and `&`: a glob and a shell's background operator.
        assert_eq!(
            render_value("https://x.zoho.eu/?a=b&c", Quote::None),
            "'https://x.zoho.eu/?a=b&c'"
        );
        assert_eq!(render_value("a#b", Quote::None), "'a#b'");
        assert_eq!(render_value("a$b", Quote::Double), "'a$b'");
        assert_eq!(render_value("a`b`", Quote::Double), "'a`b`'");
        assert_eq!(render_value("it's", Quote::None), "\"it's\"");
        assert_eq!(render_value("", Quote::None), "");
        assert_eq!(render_value("", Quote::Double), "\"\"");
    }

    #[test]
    fn values_no_form_keeps_are_unwritable() {
        for value in [
            "it's $HOME",
            "it's `x`",
            "a\\\\b",
            "a\\",
            "${HOME}",
            "a\rb",
            "a\u{0}b",
        ] {
            assert!(unwritable(value).is_some(), "{value:?}");
        }
        for value in ["it's", "a\nb", "$(x)", "a\\b c", "Zürich"] {
            assert!(unwritable(value).is_none(), "{value:?}");
        }
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
