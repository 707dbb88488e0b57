//! Cleaning pasted values and checking their shape (facts §9). No IO here. Rule: an error message
//! describes a value (its length, its `1000.` prefix) and never contains it; it may be a secret.

use serde_json::{Map, Value};
use thiserror::Error;
use url::Url;

use crate::auth::{Secret, scopes};

/// Pastes longer than this are refused without being looked at further.
pub const MAX_PASTE_BYTES: usize = 4096;

/// The length of a code, an access token and a refresh token: `1000.` + 32 + `.` + 32.
pub const CODE_LEN: usize = 70;
/// The length of a client id: `1000.` + 30.
pub const CLIENT_ID_LEN: usize = 35;
/// The length of a client secret.
pub const CLIENT_SECRET_LEN: usize = 42;

const QUOTE_PAIRS: [(char, char); 5] = [
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201C}', '\u{201D}'),
    ('\u{2018}', '\u{2019}'),
];

/// Whitespace, a byte-order mark and the zero-width characters that copying can bring along.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}'
        )
}

/// Removes a byte-order mark, every whitespace character (terminals wrap long lines) and layers of
/// matching surrounding quotes (`'` `"` `` ` `` and typographic ones), and a leading or trailing
/// `,` or `;` left by copying from JSON or a shell.
pub fn strip(value: &str) -> String {
    let joined: String = value.chars().filter(|&c| !is_invisible(c)).collect();
    strip_outer(&joined).to_string()
}

/// Like [`strip`], but keeps whitespace inside the value (a JSON body's strings may contain it).
fn strip_outer(value: &str) -> &str {
    let mut s = value;
    loop {
        let before = s.len();
        s = s.trim_matches(|c: char| is_invisible(c) || c == ',' || c == ';');
        if let Some(inner) = unquote(s) {
            s = inner;
        }
        if s.len() == before {
            return s;
        }
    }
}

fn unquote(s: &str) -> Option<&str> {
    let mut chars = s.chars();
    let first = chars.next()?;
    let last = chars.next_back()?;
    QUOTE_PAIRS
        .iter()
        .any(|&(open, close)| open == first && close == last)
        .then(|| &s[first.len_utf8()..s.len() - last.len_utf8()])
}

fn has_numeric_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'.'
}

fn is_lower_hex(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// `^\d{4}\.[0-9a-f]{32}\.[0-9a-f]{32}$`: a code, an access token or a refresh token.
fn is_code_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == CODE_LEN
        && has_numeric_prefix(s)
        && is_lower_hex(&b[5..37])
        && b[37] == b'.'
        && is_lower_hex(&b[38..])
}

/// `^\d{4}\.[0-9A-Z]{30}$`
fn is_client_id_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == CLIENT_ID_LEN
        && has_numeric_prefix(s)
        && b[5..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// 42 hexadecimal characters, either case.
fn is_client_secret_shape(s: &str) -> bool {
    s.len() == CLIENT_SECRET_LEN && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// A URL or a query string: a code, an id or a secret never contains any of these.
fn is_urlish(s: &str) -> bool {
    s.contains("://") || s.contains('?') || s.contains('=')
}

/// A single `NAME=value` pair, as copied from an env file or a shell (`ZOHO_CODE=…`).
fn labelled(s: &str) -> Option<(&str, &str)> {
    if s.contains("://") || s.contains('?') || s.contains('&') {
        return None;
    }
    let (name, value) = s.split_once('=')?;
    let name = name.strip_prefix("export").unwrap_or(name);
    let is_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_name.then(|| (name, strip_outer(value)))
}

fn names_a_token(name: &str) -> bool {
    name.to_ascii_lowercase().contains("token")
}

/// A description of a value that is safe to show: its length and, when it has one, its numeric
/// prefix, e.g. `72 characters, starts with 1000.`.
pub fn describe(value: &str) -> String {
    let n = value.chars().count();
    let plural = if n == 1 { "" } else { "s" };
    if has_numeric_prefix(value) {
        format!("{n} character{plural}, starts with {}", &value[..5])
    } else {
        format!("{n} character{plural}")
    }
}

/// What keeps a cleaned, non-empty value from being code-shaped, without quoting it.
fn code_problem(s: &str) -> String {
    let desc = describe(s);
    let problem = if !has_numeric_prefix(s) {
        "it does not start with four digits and a dot (like 1000.)".to_string()
    } else {
        let parts: Vec<&str> = s[5..].split('.').collect();
        if parts.len() != 2 {
            format!(
                "after the prefix it has {} part{} between dots instead of 2",
                parts.len(),
                if parts.len() == 1 { "" } else { "s" }
            )
        } else if s[5..].chars().any(|c| c != '.' && !c.is_ascii_hexdigit()) {
            "it has characters other than 0-9 and a-f".to_string()
        } else if s[5..].chars().any(|c| c.is_ascii_uppercase()) {
            "it has capital letters, but codes use only 0-9 and a-f".to_string()
        } else {
            format!(
                "its two parts are {} and {} characters long instead of 32 and 32 (cut off?)",
                parts[0].len(),
                parts[1].len()
            )
        }
    };
    format!("{desc}; {problem}")
}

/// What a pasted value looks like, judged by its shape after [`strip`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `1000.<32 hex>.<32 hex>`: a code, or an access or refresh token (the same shape).
    Code,
    /// `1000.` and 30 capital letters and digits.
    ClientId,
    /// 42 hexadecimal characters.
    ClientSecret,
    /// A token response (JSON with `access_token` or `refresh_token`).
    Token,
    /// A URL or query string, such as the redirect after consent.
    RedirectUrl,
    /// A `self_client.json` body (JSON with `code` or `client_id`).
    SelfClientJson,
    /// Nothing but whitespace, quotes and separators.
    Empty,
    /// None of the above.
    Unknown,
}

impl Kind {
    /// The kind in words, with an article: "a client secret".
    pub fn described(self) -> &'static str {
        match self {
            Kind::Code => "a code or token",
            Kind::ClientId => "a client id",
            Kind::ClientSecret => "a client secret",
            Kind::Token => "a token response",
            Kind::RedirectUrl => "a URL",
            Kind::SelfClientJson => "a self_client.json",
            Kind::Empty => "empty",
            Kind::Unknown => "something else",
        }
    }
}

/// What `value` looks like. Never fails; pastes over [`MAX_PASTE_BYTES`] are `Unknown`.
pub fn looks_like(value: &str) -> Kind {
    if value.len() > MAX_PASTE_BYTES {
        return Kind::Unknown;
    }
    let s = strip(value);
    if s.is_empty() {
        Kind::Empty
    } else if s.starts_with('{') {
        match parse_json_object(value, &s) {
            Some(obj) if obj.contains_key("code") => Kind::SelfClientJson,
            Some(obj) if obj.contains_key("access_token") || obj.contains_key("refresh_token") => {
                Kind::Token
            }
            Some(obj) if obj.contains_key("client_id") => Kind::SelfClientJson,
            _ => Kind::Unknown,
        }
    } else if labelled(&s).is_some_and(|(name, _)| names_a_token(name)) {
        Kind::Token
    } else if is_urlish(&s) {
        Kind::RedirectUrl
    } else if is_code_shape(&s) {
        Kind::Code
    } else if is_client_id_shape(&s) {
        Kind::ClientId
    } else if is_client_secret_shape(&s) {
        Kind::ClientSecret
    } else {
        Kind::Unknown
    }
}

/// Where a pasted code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasteSource {
    /// The code alone.
    BareCode,
    /// The redirect after consent, `…?code=…&location=…&accounts-server=…`.
    RedirectUrl,
    /// A `self_client.json` body downloaded from the API console.
    SelfClientJson,
}

/// A code pasted in any accepted form, with what its context told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pasted {
    pub code: Secret,
    /// The redirect's `location` (`us`, `in`, ...).
    pub location: Option<String>,
    /// The redirect's `accounts-server`, percent-decoded.
    pub accounts_server: Option<String>,
    /// From a self_client.json, shape-checked.
    pub client_id: Option<String>,
    /// From a self_client.json, shape-checked.
    pub client_secret: Option<Secret>,
    /// From a self_client.json, canonical.
    pub scopes: Option<Vec<String>>,
    /// From a self_client.json: when the code expires, in Unix milliseconds.
    pub expiry_time_ms: Option<i64>,
    pub source: PasteSource,
}

impl Pasted {
    fn new(code: String, source: PasteSource) -> Self {
        Pasted {
            code: Secret::new(code),
            location: None,
            accounts_server: None,
            client_id: None,
            client_secret: None,
            scopes: None,
            expiry_time_ms: None,
            source,
        }
    }
}

/// Why a paste is not a usable code: the cause and the fix, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasteError {
    /// Nothing but whitespace, quotes or separators.
    #[error(
        "Nothing was pasted. Generate a code in the API console (Self Client, Generate Code) and paste it here."
    )]
    Empty,
    /// Longer than [`MAX_PASTE_BYTES`]; not looked at.
    #[error(
        "That paste is {chars} characters long, far longer than a code ({CODE_LEN}), so none of it was used. Copy just the code, the redirect URL or the self_client.json."
    )]
    TooLong { chars: usize },
    /// 42 hexadecimal characters.
    #[error(
        "That is a client secret, not a code. Paste the code the API console generated: it looks like 1000.<32 characters>.<32 characters>."
    )]
    ClientSecret,
    /// `1000.` and 30 capital letters and digits.
    #[error(
        "That is a client id, not a code. Paste the code the API console generated: it looks like 1000.<32 characters>.<32 characters>."
    )]
    ClientId,
    /// A token response (JSON) or a line labelled as an access token (`access_token=…`). A bare
    /// token has the shape of a code and cannot be told apart.
    #[error(
        "That is an access or refresh token from an earlier exchange, not a code: its code was already used. A refresh token can go straight into ZOHO_REFRESH_TOKEN; otherwise generate a new code in the API console and paste that."
    )]
    Token,
    /// Labelled as a refresh token (`ZOHO_REFRESH_TOKEN=…`, a JSON with a `refresh_token` and no
    /// `access_token`), or bare but equal to the refresh token already saved
    /// ([`clean_code_paste_knowing`]; `saved`).
    #[error(
        "This is a refresh token, not a code: it is what an exchange returns and goes straight into ZOHO_REFRESH_TOKEN. To get a new one, generate a new code in the API console and paste that.{}",
        if *.saved { " (It is the one already in the env file.)" } else { "" }
    )]
    RefreshToken { saved: bool },
    /// Not code-shaped; `what` describes it.
    #[error(
        "That is not a code: {what}. A code is 70 characters: four digits, a dot, 32 of 0-9 and a-f, a dot and 32 more. Copy it again, whole, from the API console, or paste the whole redirect URL or self_client.json."
    )]
    NotACode { what: String },
    /// The redirect says the user declined consent.
    #[error(
        "Zoho says access was denied (error=access_denied): the consent screen was declined. Start again and choose Accept on Zoho's consent screen."
    )]
    AccessDenied,
    /// The redirect carries another error from Zoho and no code.
    #[error(
        "That redirect carries the error \"{error}\" from Zoho and no code. Start the sign-in again; if it repeats, check the client's redirect URI and the scopes in the API console."
    )]
    RedirectError { error: String },
    /// A URL or query string without a `code` parameter.
    #[error(
        "That URL has no code in it. Paste the whole address Zoho redirected to after you chose Accept (it contains code=), or just the code."
    )]
    UrlWithoutCode,
    /// JSON without a `code` field.
    #[error(
        "That JSON has no code in it. Use the self_client.json downloaded right after generating the code (it has a \"code\" field), or paste the code alone."
    )]
    JsonWithoutCode,
    /// Starts like JSON but does not parse as an object.
    #[error(
        "That looks like JSON but could not be read. Paste the whole content of self_client.json, or just the code."
    )]
    InvalidJson,
    /// A self_client.json whose client id or client secret has the wrong shape.
    #[error("In that self_client.json: {0}")]
    SelfClientField(ShapeError),
}

/// [`clean_code_paste`], knowing the refresh token already saved (the env file's
/// `ZOHO_REFRESH_TOKEN`): a bare paste of it has a code's shape but is named as the refresh token
/// it is ([`PasteError::RefreshToken`] with `saved`), so it is never sent as a code. The rule the
/// wizard's Paste screen and `exchange --code` share.
pub fn clean_code_paste_knowing(
    raw: &str,
    saved_refresh_token: Option<&str>,
) -> Result<Pasted, PasteError> {
    let pasted = clean_code_paste(raw)?;
    match saved_refresh_token.map(strip) {
        Some(saved) if !saved.is_empty() && saved == pasted.code.expose() => {
            Err(PasteError::RefreshToken { saved: true })
        }
        _ => Ok(pasted),
    }
}

/// Cleans a pasted code: a bare code, a whole redirect URL (or its query string), or a
/// `self_client.json` body. Returns the code with whatever its context told.
pub fn clean_code_paste(raw: &str) -> Result<Pasted, PasteError> {
    if raw.len() > MAX_PASTE_BYTES {
        return Err(PasteError::TooLong {
            chars: raw.chars().count(),
        });
    }
    let s = strip(raw);
    if s.is_empty() {
        return Err(PasteError::Empty);
    }
    if s.starts_with('{') {
        return from_self_client_json(raw, &s);
    }
    if let Some((name, value)) = labelled(&s) {
        if names_a_token(name) {
            return Err(if name.to_ascii_lowercase().contains("refresh") {
                PasteError::RefreshToken { saved: false }
            } else {
                PasteError::Token
            });
        }
        if name.to_ascii_lowercase().contains("code") {
            return Ok(Pasted::new(
                code_from(value, "line")?,
                PasteSource::BareCode,
            ));
        }
    }
    if is_urlish(&s) {
        return from_redirect(&s);
    }
    if is_code_shape(&s) {
        return Ok(Pasted::new(s, PasteSource::BareCode));
    }
    if is_client_secret_shape(&s) {
        return Err(PasteError::ClientSecret);
    }
    if is_client_id_shape(&s) {
        return Err(PasteError::ClientId);
    }
    Err(PasteError::NotACode {
        what: format!("it is {}", code_problem(&s)),
    })
}

/// True when `value` is, after cleaning, exactly a code in one of the accepted forms. For the
/// wizard's clipboard pick-up.
pub fn is_code_shaped(value: &str) -> bool {
    clean_code_paste(value).is_ok()
}

fn code_from(raw: &str, within: &str) -> Result<String, PasteError> {
    let code = strip(raw);
    if is_code_shape(&code) {
        Ok(code)
    } else if code.is_empty() {
        Err(PasteError::NotACode {
            what: format!("the code in that {within} is empty"),
        })
    } else {
        Err(PasteError::NotACode {
            what: format!("the code in that {within} is {}", code_problem(&code)),
        })
    }
}

fn from_redirect(s: &str) -> Result<Pasted, PasteError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if s.contains("://") {
        let url = Url::parse(s).map_err(|_| PasteError::UrlWithoutCode)?;
        pairs.extend(
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        if let Some(fragment) = url.fragment() {
            pairs.extend(
                url::form_urlencoded::parse(fragment.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
    } else {
        let query = s.split_once('?').map_or(s, |(_, q)| q);
        pairs.extend(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let code = get("code").filter(|c| !c.trim().is_empty());
    if code.is_none()
        && let Some(error) = get("error")
    {
        let error = error.trim().to_ascii_lowercase();
        if error == "access_denied" {
            return Err(PasteError::AccessDenied);
        }
        // Zoho's error codes are words like `invalid_scope`; anything else is not echoed.
        let printable = !error.is_empty()
            && error.len() <= 40
            && error.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        return Err(PasteError::RedirectError {
            error: if printable {
                error
            } else {
                "unrecognised".to_string()
            },
        });
    }
    let Some(code) = code else {
        return Err(PasteError::UrlWithoutCode);
    };
    let mut pasted = Pasted::new(code_from(code, "URL")?, PasteSource::RedirectUrl);
    pasted.location = get("location")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    pasted.accounts_server = get("accounts-server")
        .or_else(|| get("accounts_server"))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    Ok(pasted)
}

/// The JSON object in a paste: as pasted first (strings may hold spaces), then without line
/// breaks (a terminal may have wrapped a line inside a string), then without any whitespace.
fn parse_json_object(raw: &str, stripped: &str) -> Option<Map<String, Value>> {
    let parse = |text: &str| match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => Some(obj),
        _ => None,
    };
    parse(strip_outer(raw))
        .or_else(|| {
            let unwrapped: String = raw.chars().filter(|c| !c.is_control()).collect();
            parse(strip_outer(&unwrapped))
        })
        .or_else(|| parse(stripped))
}

fn json_string(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn from_self_client_json(raw: &str, stripped: &str) -> Result<Pasted, PasteError> {
    let obj = parse_json_object(raw, stripped).ok_or(PasteError::InvalidJson)?;
    let Some(code) = obj.get("code") else {
        if obj.contains_key("access_token") {
            return Err(PasteError::Token);
        }
        if obj.contains_key("refresh_token") {
            return Err(PasteError::RefreshToken { saved: false });
        }
        return Err(PasteError::JsonWithoutCode);
    };
    let code = match code {
        Value::String(c) => code_from(c, "JSON")?,
        _ => {
            return Err(PasteError::NotACode {
                what: "the code in that JSON is not text".to_string(),
            });
        }
    };
    let mut pasted = Pasted::new(code, PasteSource::SelfClientJson);
    if let Some(id) = json_string(&obj, "client_id").filter(|v| !strip(v).is_empty()) {
        pasted.client_id = Some(clean_client_id(&id).map_err(PasteError::SelfClientField)?);
    }
    if let Some(secret) = json_string(&obj, "client_secret").filter(|v| !strip(v).is_empty()) {
        pasted.client_secret =
            Some(clean_client_secret(&secret).map_err(PasteError::SelfClientField)?);
    }
    pasted.scopes = match obj.get("scope").or_else(|| obj.get("scopes")) {
        Some(Value::String(s)) => Some(scopes::parse_list(s)),
        Some(Value::Array(items)) => {
            let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            Some(scopes::parse_list(&joined.join(",")))
        }
        _ => None,
    };
    pasted.expiry_time_ms = match obj.get("expiry_time") {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    pasted.location = json_string(&obj, "location").filter(|v| !v.trim().is_empty());
    pasted.accounts_server = json_string(&obj, "accounts-server")
        .or_else(|| json_string(&obj, "accounts_server"))
        .filter(|v| !v.trim().is_empty());
    Ok(pasted)
}

/// The value a [`ShapeError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `ZOHO_CLIENT_ID`
    ClientId,
    /// `ZOHO_CLIENT_SECRET`
    ClientSecret,
    /// A grant code from the API console or a redirect.
    Code,
    /// `ZOHO_REFRESH_TOKEN`
    RefreshToken,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::ClientId => "client id",
            Field::ClientSecret => "client secret",
            Field::Code => "code",
            Field::RefreshToken => "refresh token",
        }
    }

    /// The expected shape, in words.
    pub fn shape(self) -> &'static str {
        match self {
            Field::ClientId => {
                "35 characters: four digits, a dot and 30 capital letters and digits"
            }
            Field::ClientSecret => "42 characters, all 0-9 and a-f",
            Field::Code | Field::RefreshToken => {
                "70 characters: four digits, a dot, 32 of 0-9 and a-f, a dot and 32 more"
            }
        }
    }

    /// Where to get a good value.
    pub fn fix(self) -> &'static str {
        match self {
            Field::ClientId => {
                "Copy the Client ID from your client's Client Secret tab in the Zoho API console."
            }
            Field::ClientSecret => {
                "Copy the Client Secret from your client's Client Secret tab in the Zoho API console."
            }
            Field::Code => {
                "Generate a new code in the API console (Self Client, Generate Code) and copy it whole."
            }
            Field::RefreshToken => {
                "Use the refresh_token Zoho returned when the code was exchanged, or run `zoho-auth setup` to get a new one."
            }
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a value does not have its field's shape: the field, what is wrong and the fix, never the
/// value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShapeError {
    /// Nothing but whitespace, quotes or separators.
    #[error("The {field} is empty. {}", .field.fix())]
    Empty { field: Field },
    /// Longer than [`MAX_PASTE_BYTES`]; not looked at.
    #[error("The {field} is {chars} characters long, far longer than any Zoho value, so it was not used. {}", .field.fix())]
    TooLong { field: Field, chars: usize },
    /// A value of another kind, such as a client secret where the client id goes.
    #[error("That is {}, not a {field}. {}", .found.described(), .field.fix())]
    WrongKind { field: Field, found: Kind },
    /// Not the field's shape; `problem` describes the value.
    #[error("The {field} does not look right: {problem}. A {field} is {}. {}", .field.shape(), .field.fix())]
    Malformed { field: Field, problem: String },
}

/// Strips `raw` and rejects empty and over-long values.
fn pre_clean(raw: &str, field: Field) -> Result<String, ShapeError> {
    if raw.len() > MAX_PASTE_BYTES {
        return Err(ShapeError::TooLong {
            field,
            chars: raw.chars().count(),
        });
    }
    let s = strip(raw);
    if s.is_empty() {
        return Err(ShapeError::Empty { field });
    }
    Ok(s)
}

/// A value of another kind, when that is certain from its shape.
fn other_kind(s: &str, field: Field) -> Option<Kind> {
    let kind = if s.starts_with('{') {
        Kind::SelfClientJson
    } else if is_urlish(s) {
        Kind::RedirectUrl
    } else if is_code_shape(s) {
        Kind::Code
    } else if is_client_id_shape(s) {
        Kind::ClientId
    } else if is_client_secret_shape(s) {
        Kind::ClientSecret
    } else {
        return None;
    };
    let same = matches!(
        (field, kind),
        (Field::ClientId, Kind::ClientId)
            | (Field::ClientSecret, Kind::ClientSecret)
            | (Field::Code | Field::RefreshToken, Kind::Code)
    );
    (!same).then_some(kind)
}

/// A client id: `\d{4}\.` and 30 capital letters and digits, cleaned by [`strip`].
pub fn clean_client_id(raw: &str) -> Result<String, ShapeError> {
    let field = Field::ClientId;
    let s = pre_clean(raw, field)?;
    if is_client_id_shape(&s) {
        return Ok(s);
    }
    if let Some(found) = other_kind(&s, field) {
        return Err(ShapeError::WrongKind { field, found });
    }
    let desc = describe(&s);
    let problem = if !has_numeric_prefix(&s) {
        format!("it is {desc} and does not start with four digits and a dot (like 1000.)")
    } else if s[5..].chars().any(|c| !c.is_ascii_alphanumeric()) {
        format!("it is {desc} and has characters other than letters and digits after the dot")
    } else if s[5..].chars().any(|c| c.is_ascii_lowercase()) {
        format!("it is {desc} and has lower-case letters")
    } else {
        format!("it is {desc} instead of {CLIENT_ID_LEN} (cut off?)")
    };
    Err(ShapeError::Malformed { field, problem })
}

/// A client secret: 42 hexadecimal characters (either case), cleaned by [`strip`].
pub fn clean_client_secret(raw: &str) -> Result<Secret, ShapeError> {
    let field = Field::ClientSecret;
    let s = pre_clean(raw, field)?;
    if is_client_secret_shape(&s) {
        return Ok(Secret::new(s));
    }
    if let Some(found) = other_kind(&s, field) {
        return Err(ShapeError::WrongKind { field, found });
    }
    let desc = describe(&s);
    let problem = if s.chars().any(|c| !c.is_ascii_hexdigit()) {
        format!("it is {desc} and has characters other than 0-9 and a-f")
    } else {
        format!("it is {desc} instead of {CLIENT_SECRET_LEN} (cut off?)")
    };
    Err(ShapeError::Malformed { field, problem })
}

/// A refresh token: `\d{4}\.[0-9a-f]{32}\.[0-9a-f]{32}`, cleaned by [`strip`]. A whole token
/// response (JSON) is accepted too: its `refresh_token` is taken.
pub fn clean_token(raw: &str) -> Result<Secret, ShapeError> {
    let field = Field::RefreshToken;
    let s = pre_clean(raw, field)?;
    if is_code_shape(&s) {
        return Ok(Secret::new(s));
    }
    if s.starts_with('{')
        && let Some(obj) = parse_json_object(raw, &s)
        && let Some(Value::String(token)) = obj.get("refresh_token")
    {
        let token = strip(token);
        if is_code_shape(&token) {
            return Ok(Secret::new(token));
        }
    }
    if let Some(found) = other_kind(&s, field) {
        let found = if found == Kind::SelfClientJson {
            looks_like(raw)
        } else {
            found
        };
        return Err(ShapeError::WrongKind { field, found });
    }
    Err(ShapeError::Malformed {
        field,
        problem: format!("it is {}", code_problem(&s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // An obviously fake code, assembled so that no token-shaped literal sits in the source.
    const CODE: &str = concat!(
        "1000.",
        "0123456789abcdef0123456789abcdef",
        ".",
        "fedcba9876543210fedcba9876543210"
    );

    #[test]
    fn shapes() {
        assert!(is_code_shape(CODE));
        assert!(is_code_shape(&CODE.replacen("1000", "1004", 1)));
        assert!(!is_code_shape(&CODE.to_uppercase()));
        assert!(!is_code_shape(&CODE[..69]));
        assert!(is_client_id_shape("1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX"));
        assert!(!is_client_id_shape("1000.0sqkhcomcqobelbgmdtl9k1904gnix"));
        assert!(is_client_secret_shape(&"a1".repeat(21)));
        assert!(is_client_secret_shape(&"A1".repeat(21)));
        assert!(!is_client_secret_shape(&"a1".repeat(20)));
    }

    #[test]
    fn strip_outer_keeps_inner_whitespace() {
        assert_eq!(strip_outer(" '{\"a\": \"b c\"}'; "), "{\"a\": \"b c\"}");
        assert_eq!(strip_outer("\"\""), "");
        assert_eq!(strip_outer("\""), "\"");
    }

    #[test]
    fn code_problem_names_what_is_wrong() {
        assert_eq!(
            code_problem(&CODE[..60]),
            "60 characters, starts with 1000.; its two parts are 32 and 22 characters long instead of 32 and 32 (cut off?)"
        );
        assert!(code_problem("hello").contains("does not start with four digits"));
        assert!(code_problem("1000.abc").contains("1 part between dots"));
        assert!(code_problem("1000.xyz.abc").contains("other than 0-9 and a-f"));
        assert!(code_problem("1000.ABC.abc").contains("capital letters"));
    }
}
