//! The `-v` request trace: method, URL and status on stderr, with every secret masked and every
//! line made printable (a URL or a status text a server chose cannot reach the terminal raw).

use std::io::Write;
use std::sync::{Arc, Mutex};

use url::Url;

use super::printable::printable;

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 5] = [
    "token",
    "code",
    "client_secret",
    "refresh_token",
    "access_token",
];

/// Where a captured trace's lines go (tests).
pub type TraceLines = Arc<Mutex<Vec<String>>>;

#[derive(Debug)]
pub struct Trace {
    enabled: bool,
    capture: Option<TraceLines>,
}

impl Trace {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            capture: None,
        }
    }

    /// An enabled trace whose lines go to `lines` instead of stderr.
    pub fn capture(lines: TraceLines) -> Self {
        Self {
            enabled: true,
            capture: Some(lines),
        }
    }

    pub fn request(&self, method: &str, url: &Url) {
        if self.enabled {
            self.line(&format!("-> {method} {}", redact_url(url)));
        }
    }

    pub fn status(&self, status: u16) {
        if self.enabled {
            self.line(&format!("<- HTTP {status}"));
        }
    }

    pub fn failure(&self, what: &str) {
        if self.enabled {
            self.line(&format!("<- {what}"));
        }
    }

    fn line(&self, text: &str) {
        let line = format!("zoho-auth: {}", printable(text));
        if let Some(lines) = &self.capture {
            lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}

/// The URL with the values of secret query parameters replaced by `***`.
pub fn redact_url(url: &Url) -> String {
    if url.query().is_none() {
        return url.to_string();
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let masked = SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s));
            let value = if masked {
                "***".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    let mut copy = url.clone();
    copy.set_query(None);
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{copy}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_values_are_masked() {
        let url =
            Url::parse("http://127.0.0.1:1/oauth/v2/token/revoke?token=1000.abc.def&x=1").unwrap();
        assert_eq!(
            redact_url(&url),
            "http://127.0.0.1:1/oauth/v2/token/revoke?token=***&x=1"
        );
        let plain = Url::parse("https://accounts.zoho.com/oauth/v2/token").unwrap();
        assert_eq!(
            redact_url(&plain),
            "https://accounts.zoho.com/oauth/v2/token"
        );
    }
}
