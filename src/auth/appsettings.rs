//! Merges a `Zoho` section into a .NET `appsettings.json` by editing its text: comments, trailing
//! commas, key order and every byte outside the values we own stay as they were. Written with
//! [`envfile::write_atomic`] (temp file, rename, `.bak` backup).

use std::path::{Path, PathBuf};

use crate::auth::envfile::{self, EnvError};
use crate::auth::secret::Secret;

/// The values we own in the `Zoho` section. Other keys in that section are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZohoSection {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub accounts_url: String,
    pub api_domain: String,
    /// `None` leaves an existing `OrganizationId` as it is.
    pub organization_id: Option<String>,
}

impl ZohoSection {
    /// The members in the order they are written, `None` for those left alone.
    fn members(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("ClientId", Some(self.client_id.as_str())),
            ("ClientSecret", Some(self.client_secret.expose())),
            ("RefreshToken", Some(self.refresh_token.expose())),
            ("AccountsUrl", Some(self.accounts_url.as_str())),
            ("ApiDomain", Some(self.api_domain.as_str())),
            ("OrganizationId", self.organization_id.as_deref()),
        ]
    }
}

/// The name of the section, matched without regard to case as .NET configuration does.
pub const SECTION: &str = "Zoho";

#[derive(Debug, thiserror::Error)]
pub enum AppSettingsError {
    /// The file is not JSON (comments and trailing commas allowed, as .NET allows them).
    #[error(
        "{} is not valid JSON at line {line}, column {column}: {reason}. Fix the file (comments and trailing commas are fine) and run again; it was left as it was.",
        path.display()
    )]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: &'static str,
    },
    /// The top level is an array or a scalar.
    #[error(
        "{} does not hold a JSON object at the top level, so a \"Zoho\" section cannot be added. Point --appsettings at the app's appsettings.json; the file was left as it was.",
        path.display()
    )]
    NotAnObject { path: PathBuf },
    /// `"Zoho"` exists but is not an object.
    #[error(
        "{}: \"Zoho\" at line {line} is not an object. Rename or remove it and run again; the file was left as it was.",
        path.display()
    )]
    SectionNotAnObject { path: PathBuf, line: usize },
    /// Reading or writing the file failed.
    #[error(transparent)]
    File(#[from] EnvError),
    /// The edit did not read back as intended: a bug in zoho-auth.
    #[error(
        "internal error: the edited {} did not read back as intended, so it was not written (a bug in zoho-auth; please report it). The file was left as it was.",
        path.display()
    )]
    Bug { path: PathBuf },
}

/// Merges `values` into the top-level `"Zoho"` object of the file, creating the section (as the
/// last member of the root object) or the file when missing.
pub fn merge_zoho_section(path: &Path, values: &ZohoSection) -> Result<(), AppSettingsError> {
    let text = match envfile::read_regular(path)? {
        Some(bytes) => {
            Some(String::from_utf8(bytes).map_err(|e| EnvError::not_utf8(path, e.as_bytes()))?)
        }
        None => None,
    };
    let old = text.unwrap_or_default();
    let new = merge_text(&old, values).map_err(|e| e.at(path, &old))?;
    if !reads_back(&new, values) {
        return Err(AppSettingsError::Bug {
            path: path.to_path_buf(),
        });
    }
    if new != old {
        envfile::write_atomic(path, &new)?;
    }
    Ok(())
}

/// The merge on text, without IO. Exposed for tests and previews.
pub fn merge_text(text: &str, values: &ZohoSection) -> Result<String, MergeError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        let newline = newline_of(text);
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        out.push('{');
        out.push_str(newline);
        out.push_str("  ");
        out.push_str(&new_section(values, "  ", "  ", newline));
        out.push_str(newline);
        out.push('}');
        out.push_str(newline);
        return Ok(out);
    }
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        text,
    };
    let root = parser.value(0)?;
    if let Some(extra) = tokens.get(parser.pos) {
        return Err(MergeError::Invalid {
            offset: extra.start,
            reason: "unexpected text after the top-level value",
        });
    }
    let Node::Object(root) = root else {
        return Err(MergeError::NotAnObject);
    };
    let newline = newline_of(text);
    let mut edits: Vec<Edit> = Vec::new();
    let section = root
        .members
        .iter()
        .find(|m| m.key.eq_ignore_ascii_case(SECTION));
    match section {
        Some(member) => {
            let Node::Object(obj) = &member.value else {
                return Err(MergeError::SectionNotAnObject {
                    offset: member.key_start,
                });
            };
            let mut missing = Vec::new();
            for (name, value) in values.members() {
                let Some(value) = value else { continue };
                let rendered = json_string(value);
                match obj
                    .members
                    .iter()
                    .find(|m| m.key.eq_ignore_ascii_case(name))
                {
                    Some(existing) => {
                        let (start, end) = existing.value.span();
                        if text[start..end] != rendered {
                            edits.push(Edit {
                                at: start,
                                end,
                                text: rendered,
                            });
                        }
                    }
                    None => missing.push(format!("{}: {rendered}", json_string(name))),
                }
            }
            if !missing.is_empty() {
                let member_indent = line_indent(text, member.key_start);
                insert_members(text, obj, &missing, &member_indent, newline, &mut edits);
            }
        }
        None => {
            let member_indent = members_indent(text, &root);
            let base = line_indent(text, root.open);
            let unit = member_indent
                .strip_prefix(base.as_str())
                .filter(|u| !u.is_empty())
                .unwrap_or("  ")
                .to_string();
            let member = new_section(values, &member_indent, &unit, newline);
            insert_members(text, &root, &[member], &base, newline, &mut edits);
        }
    }
    // From the end, so offsets stay valid; at the same offset the later edit goes in first, so
    // the text ends up in the order the edits were made.
    let mut edits: Vec<(usize, Edit)> = edits.into_iter().enumerate().collect();
    edits.sort_by_key(|(i, e)| std::cmp::Reverse((e.at, *i)));
    let mut out = text.to_string();
    for (_, edit) in edits {
        out.replace_range(edit.at..edit.end, &edit.text);
    }
    Ok(out)
}

/// Why a merge on text failed; [`merge_zoho_section`] turns it into an [`AppSettingsError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// Not JSON at this byte offset.
    Invalid { offset: usize, reason: &'static str },
    /// The top level is not an object.
    NotAnObject,
    /// The section exists but is not an object; its key starts at this byte offset.
    SectionNotAnObject { offset: usize },
}

impl MergeError {
    fn at(self, path: &Path, text: &str) -> AppSettingsError {
        let path = path.to_path_buf();
        match self {
            MergeError::Invalid { offset, reason } => {
                let (line, column) = line_column(text, offset);
                AppSettingsError::Invalid {
                    path,
                    line,
                    column,
                    reason,
                }
            }
            MergeError::NotAnObject => AppSettingsError::NotAnObject { path },
            MergeError::SectionNotAnObject { offset } => AppSettingsError::SectionNotAnObject {
                path,
                line: line_column(text, offset).0,
            },
        }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

struct Edit {
    at: usize,
    end: usize,
    text: String,
}

fn json_string(value: &str) -> String {
    serde_json::to_string(value).expect("a string always serializes")
}

fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// `"Zoho": { ... }` with every member we own, formatted at `indent` (the member's own line
/// indentation) with one more `unit` inside.
fn new_section(values: &ZohoSection, indent: &str, unit: &str, newline: &str) -> String {
    let inner: Vec<String> = values
        .members()
        .iter()
        .filter_map(|(name, value)| {
            value.map(|v| format!("{indent}{unit}{}: {}", json_string(name), json_string(v)))
        })
        .collect();
    format!(
        "{}: {{{newline}{}{newline}{indent}}}",
        json_string(SECTION),
        inner.join(&format!(",{newline}"))
    )
}

/// The whitespace at the start of the line holding `offset`.
fn line_indent(text: &str, offset: usize) -> String {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The indentation of an object's members: that of its last member when it starts its own line,
/// else the object's line indentation plus two spaces.
fn members_indent(text: &str, obj: &Object) -> String {
    if let Some(last) = obj.members.last() {
        let start = text[..last.key_start].rfind('\n').map_or(0, |i| i + 1);
        if text[start..last.key_start].trim().is_empty() && start > 0 {
            return text[start..last.key_start].to_string();
        }
    }
    format!("{}  ", line_indent(text, obj.open))
}

/// Adds members at the end of an object, after its last member (and its comment on the same
/// line), keeping a trailing comma style; `base` is the indentation of the object's own line.
fn insert_members(
    text: &str,
    obj: &Object,
    members: &[String],
    base: &str,
    newline: &str,
    edits: &mut Vec<Edit>,
) {
    let Some(last) = obj.members.last() else {
        // Empty object: lay it out over lines, keeping any comment inside it.
        let indent = format!("{base}  ");
        let body: Vec<String> = members.iter().map(|m| format!("{indent}{m}")).collect();
        let inside = &text[obj.open + 1..obj.close];
        let (end, tail) = if inside.trim().is_empty() {
            (obj.close, format!("{newline}{base}"))
        } else {
            (obj.open + 1, String::new())
        };
        edits.push(Edit {
            at: obj.open + 1,
            end,
            text: format!("{newline}{}{tail}", body.join(&format!(",{newline}"))),
        });
        return;
    };
    let indent = members_indent(text, obj);
    let (anchor, trailing) = match obj.trailing_comma {
        Some(comma) => (comma + 1, true),
        None => (last.value.span().1, false),
    };
    match end_of_line(text, anchor, obj.close) {
        Some(eol) => {
            if !trailing {
                edits.push(Edit {
                    at: anchor,
                    end: anchor,
                    text: ",".to_string(),
                });
            }
            let lines: Vec<String> = members
                .iter()
                .map(|m| format!("{newline}{indent}{m}"))
                .collect();
            let mut insert = lines.join(",");
            if trailing {
                insert.push(',');
            }
            edits.push(Edit {
                at: eol,
                end: eol,
                text: insert,
            });
        }
        None => {
            let mut insert = String::new();
            if !trailing {
                insert.push(',');
            }
            insert.push(' ');
            insert.push_str(&members.join(", "));
            if trailing {
                insert.push(',');
            }
            edits.push(Edit {
                at: anchor,
                end: anchor,
                text: insert,
            });
        }
    }
}

/// From `from`, skips blanks and comments that end on the same line; returns where that line's
/// ending starts, or `None` when something else (the closing brace) comes first.
fn end_of_line(text: &str, from: usize, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < limit {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => return Some(i),
            b'\n' => return Some(i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let nl = text[i..].find('\n').map_or(text.len(), |n| i + n);
                return Some(if nl > 0 && bytes[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                });
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let close = text[i + 2..].find("*/")? + i + 2;
                if text[i..close].contains('\n') {
                    return None;
                }
                i = close + 2;
            }
            _ => return None,
        }
    }
    None
}

/// Whether `text` parses and its section holds the values we wrote.
fn reads_back(text: &str, values: &ZohoSection) -> bool {
    let Ok(tokens) = tokenize(text) else {
        return false;
    };
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        text,
    };
    let Ok(Node::Object(root)) = parser.value(0) else {
        return false;
    };
    if parser.pos != tokens.len() {
        return false;
    }
    let Some(Node::Object(section)) = root
        .members
        .iter()
        .find(|m| m.key.eq_ignore_ascii_case(SECTION))
        .map(|m| &m.value)
    else {
        return false;
    };
    values.members().iter().all(|(name, value)| {
        let Some(value) = value else { return true };
        section
            .members
            .iter()
            .find(|m| m.key.eq_ignore_ascii_case(name))
            .is_some_and(|m| {
                let (s, e) = m.value.span();
                serde_json::from_str::<String>(&text[s..e]).is_ok_and(|v| v == *value)
            })
    })
}

// ---------------------------------------------------------------------------------------------
// A small JSON-with-comments reader that keeps byte offsets.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Colon,
    Comma,
    Str,
    Scalar,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

fn invalid(offset: usize, reason: &'static str) -> MergeError {
    MergeError::Invalid { offset, reason }
}

fn tokenize(text: &str) -> Result<Vec<Token>, MergeError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    while i < bytes.len() {
        let c = bytes[i];
        let single = match c {
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token {
                kind,
                start: i,
                end: i + 1,
            });
            i += 1;
            continue;
        }
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let close = text[i + 2..]
                    .find("*/")
                    .ok_or_else(|| invalid(i, "a /* comment is never closed"))?;
                i = i + 2 + close + 2;
            }
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(invalid(start, "a string is never closed")),
                        Some(b'"') => break,
                        Some(b'\\') => i += 2,
                        Some(b) if *b < 0x20 => {
                            return Err(invalid(
                                i,
                                "a line break or control character inside a string",
                            ));
                        }
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                if serde_json::from_str::<String>(&text[start..i]).is_err() {
                    return Err(invalid(start, "a string with an invalid escape"));
                }
                tokens.push(Token {
                    kind: Tok::Str,
                    start,
                    end: i,
                });
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || b"+-.".contains(&bytes[i]))
                {
                    i += 1;
                }
                let word = &text[start..i];
                let number = (word.starts_with('-')
                    || word.starts_with(|c: char| c.is_ascii_digit()))
                    && serde_json::from_str::<serde_json::Number>(word).is_ok();
                if !(number || matches!(word, "true" | "false" | "null")) {
                    return Err(invalid(
                        start,
                        "expected a value (a string, number, true, false, null, object or array)",
                    ));
                }
                tokens.push(Token {
                    kind: Tok::Scalar,
                    start,
                    end: i,
                });
            }
            _ => {
                return Err(invalid(
                    i,
                    "unexpected character (keys and strings need double quotes)",
                ));
            }
        }
    }
    Ok(tokens)
}

#[derive(Debug)]
struct Member {
    key: String,
    key_start: usize,
    value: Node,
}

#[derive(Debug)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
    /// Offset of a comma after the last member.
    trailing_comma: Option<usize>,
}

#[derive(Debug)]
enum Node {
    Object(Object),
    Other { start: usize, end: usize },
}

impl Node {
    fn span(&self) -> (usize, usize) {
        match self {
            Node::Object(o) => (o.open, o.close + 1),
            Node::Other { start, end } => (*start, *end),
        }
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    text: &'a str,
}

const MAX_DEPTH: usize = 128;

impl Parser<'_> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn end_offset(&self) -> usize {
        self.text.len()
    }

    fn expect_any(&mut self, reason: &'static str) -> Result<Token, MergeError> {
        let t = self
            .peek()
            .ok_or_else(|| invalid(self.end_offset(), reason))?;
        self.pos += 1;
        Ok(t)
    }

    fn value(&mut self, depth: usize) -> Result<Node, MergeError> {
        if depth > MAX_DEPTH {
            let at = self.peek().map_or(self.end_offset(), |t| t.start);
            return Err(invalid(at, "nested too deeply"));
        }
        let t = self.expect_any("the file ends where a value was expected")?;
        match t.kind {
            Tok::Str | Tok::Scalar => Ok(Node::Other {
                start: t.start,
                end: t.end,
            }),
            Tok::LBrace => self.object(t.start, depth),
            Tok::LBracket => {
                let mut expecting_value = true;
                loop {
                    let next = self
                        .peek()
                        .ok_or_else(|| invalid(t.start, "an array is never closed"))?;
                    match next.kind {
                        Tok::RBracket => {
                            self.pos += 1;
                            return Ok(Node::Other {
                                start: t.start,
                                end: next.end,
                            });
                        }
                        Tok::Comma if !expecting_value => {
                            self.pos += 1;
                            expecting_value = true;
                        }
                        _ if expecting_value => {
                            self.value(depth + 1)?;
                            expecting_value = false;
                        }
                        _ => return Err(invalid(next.start, "expected ',' or ']'")),
                    }
                }
            }
            _ => Err(invalid(t.start, "expected a value")),
        }
    }

    fn object(&mut self, open: usize, depth: usize) -> Result<Node, MergeError> {
        let mut members = Vec::new();
        let mut trailing_comma = None;
        loop {
            let t = self.expect_any("an object is never closed")?;
            match t.kind {
                Tok::RBrace => {
                    return Ok(Node::Object(Object {
                        open,
                        close: t.start,
                        members,
                        trailing_comma,
                    }));
                }
                Tok::Str if members.is_empty() || trailing_comma.is_some() => {
                    let key = serde_json::from_str::<String>(&self.text[t.start..t.end])
                        .map_err(|_| invalid(t.start, "a key with an invalid escape"))?;
                    let colon = self.expect_any("the file ends after a key")?;
                    if colon.kind != Tok::Colon {
                        return Err(invalid(colon.start, "expected ':' after a key"));
                    }
                    let value = self.value(depth + 1)?;
                    members.push(Member {
                        key,
                        key_start: t.start,
                        value,
                    });
                    trailing_comma = None;
                    let next = self.expect_any("an object is never closed")?;
                    match next.kind {
                        Tok::Comma => trailing_comma = Some(next.start),
                        Tok::RBrace => {
                            return Ok(Node::Object(Object {
                                open,
                                close: next.start,
                                members,
                                trailing_comma,
                            }));
                        }
                        _ => return Err(invalid(next.start, "expected ',' or '}'")),
                    }
                }
                _ => return Err(invalid(t.start, "expected a key in double quotes or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> ZohoSection {
        ZohoSection {
            client_id: "1000.ID".into(),
            client_secret: Secret::new("sec"),
            refresh_token: Secret::new("1000.r.t"),
            accounts_url: "https://accounts.zoho.eu".into(),
            api_domain: "https://www.zohoapis.eu".into(),
            organization_id: None,
        }
    }

    #[test]
    fn inserts_into_an_empty_root() {
        let out = merge_text("{}", &section()).unwrap();
        assert_eq!(
            out,
            "{\n  \"Zoho\": {\n    \"ClientId\": \"1000.ID\",\n    \"ClientSecret\": \"sec\",\n    \"RefreshToken\": \"1000.r.t\",\n    \"AccountsUrl\": \"https://accounts.zoho.eu\",\n    \"ApiDomain\": \"https://www.zohoapis.eu\"\n  }\n}"
        );
    }

    #[test]
    fn single_line_root() {
        let out = merge_text("{\"a\": 1}", &section()).unwrap();
        assert!(out.starts_with("{\"a\": 1, \"Zoho\": {\n"), "{out}");
        assert!(reads_back(&out, &section()));
    }

    #[test]
    fn errors_point_at_the_line() {
        let err = merge_text("{\n  \"a\": 1\n  \"b\": 2\n}", &section()).unwrap_err();
        assert_eq!(
            err,
            MergeError::Invalid {
                offset: 13,
                reason: "expected ',' or '}'"
            }
        );
        assert_eq!(line_column("{\n  \"a\": 1\n  \"b\": 2\n}", 13), (3, 3));
    }
}
