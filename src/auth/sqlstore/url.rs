//! `StoreUrl`: a store's address with its password held as a secret. Every message, trace and
//! error shows the masked form (`postgres://user:***@host/db`). No IO here.

use std::fmt;
use std::path::PathBuf;

use url::Url;

use super::error::{Kind, StoreError, classify};
use crate::auth::secret::Secret;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `sqlite:PATH`, `sqlite://PATH`, `sqlite:/abs`, `sqlite:///abs`: an embedded database file.
    Sqlite,
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `mysql://`: MySQL or MariaDB.
    MySql,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL/MariaDB",
        }
    }
}

/// A parsed store URL. `Display` and `Debug` show it with the password masked; the full URL is
/// read only by the driver, through [`StoreUrl::expose`].
#[derive(Clone)]
pub struct StoreUrl {
    backend: Backend,
    full: Secret,
    shown: String,
    password: Option<Secret>,
    sqlite_path: Option<PathBuf>,
    loopback: bool,
}

impl StoreUrl {
    /// Parses `sqlite:PATH`, `postgres://…`, `postgresql://…` or `mysql://…`.
    pub fn parse(value: &str) -> Result<StoreUrl, StoreError> {
        let value = value.trim();
        let scheme = value
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "sqlite" => Self::parse_sqlite(value),
            "postgres" | "postgresql" => Self::parse_server(value, Backend::Postgres),
            "mysql" => Self::parse_server(value, Backend::MySql),
            _ => Err(StoreError::BadUrl {
                shown: shown_without_parsing(value),
                reason: "it does not start with sqlite:, postgres://, postgresql:// or mysql://"
                    .into(),
            }),
        }
    }

    fn parse_sqlite(value: &str) -> Result<StoreUrl, StoreError> {
        let rest = &value["sqlite:".len()..];
        // `sqlite://PATH` is `sqlite:PATH`; `sqlite:///abs` keeps its leading slash.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let bad = |reason: &str| StoreError::BadUrl {
            shown: crate::auth::printable::printable(value),
            reason: reason.into(),
        };
        if path.is_empty() {
            return Err(bad(
                "it names no file (write sqlite:PATH, e.g. sqlite:tokens.db)",
            ));
        }
        if path.starts_with(':') || path.contains('?') {
            return Err(bad(
                "in-memory databases and URL options are not supported: name a file, e.g. sqlite:tokens.db",
            ));
        }
        Ok(StoreUrl {
            backend: Backend::Sqlite,
            full: Secret::new(value),
            shown: crate::auth::printable::printable(value),
            password: None,
            sqlite_path: Some(PathBuf::from(path)),
            loopback: true,
        })
    }

    fn parse_server(value: &str, backend: Backend) -> Result<StoreUrl, StoreError> {
        let url = Url::parse(value).map_err(|e| StoreError::BadUrl {
            shown: shown_without_parsing(value),
            reason: format!("it is not a valid URL ({e})"),
        })?;
        let password = url
            .password()
            .map(|p| {
                percent_decode(p).ok_or_else(|| StoreError::BadUrl {
                    shown: shown_without_parsing(value),
                    reason: "its password is not valid percent-encoded UTF-8".into(),
                })
            })
            .transpose()?
            .map(Secret::new);
        let mut masked = url.clone();
        if url.password().is_some() {
            // Cannot fail on a URL that has a host, which one with a password has.
            let _ = masked.set_password(Some("***"));
        }
        let shown = crate::auth::printable::printable(masked.as_str());
        let loopback = match url.host() {
            // No host: a Unix socket (`?host=/run/postgresql`) or the driver's local default.
            None => true,
            // Non-special schemes keep IP addresses as text.
            Some(url::Host::Domain(d)) => {
                d.is_empty()
                    || d.eq_ignore_ascii_case("localhost")
                    || d.trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        };
        Ok(StoreUrl {
            backend,
            full: Secret::new(value),
            shown,
            password,
            sqlite_path: None,
            loopback,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True for SQLite and for a server on a loopback address, `localhost` or a Unix socket:
    /// the only places a plain (unencrypted) connection is allowed.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// The SQLite file as written (relative to the working directory unless absolute).
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.sqlite_path.as_deref()
    }

    /// The URL with its password, for the driver only.
    pub fn expose(&self) -> &str {
        self.full.expose()
    }

    /// Removes the password (as written and percent-decoded) from text a driver produced, which
    /// may echo the URL.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some(password) = &self.password {
            let raw = password.expose();
            if !raw.is_empty() {
                out = out.replace(raw, "***");
                let encoded: String =
                    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
                out = out.replace(&encoded, "***");
                if let Ok(u) = Url::parse(self.full.expose())
                    && let Some(p) = u.password()
                {
                    out = out.replace(p, "***");
                }
            }
        }
        crate::auth::printable::printable(&out)
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({})", self.shown)
    }
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A URL that did not parse: show its scheme and host part only, never what could be a password.
fn shown_without_parsing(value: &str) -> String {
    match value.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let host = host.split(['/', '?']).next().unwrap_or("");
            crate::auth::printable::printable(&format!("{scheme}://…@{host}"))
        }
        None => "(a value that is not a URL)".into(),
    }
}

impl StoreUrl {
    /// A driver error as a `StoreError` naming the store, its text scrubbed of the password.
    pub(crate) fn error_from(&self, err: &sqlx::Error) -> StoreError {
        let url = self;
        let store = url.to_string();
        let cause = url.scrub(&err.to_string());
        match classify(err) {
            Kind::Unreachable => StoreError::Unreachable { store, cause },
            Kind::AuthFailed => StoreError::AuthFailed { store, cause },
            Kind::ReadOnly => StoreError::ReadOnly { store, cause },
            Kind::DiskFull => StoreError::DiskFull { store, cause },
            Kind::LockBusy | Kind::Other => StoreError::Failed { store, cause },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_follow_the_contract() {
        let cases = [
            ("sqlite:tokens.db", "tokens.db"),
            ("sqlite://tokens.db", "tokens.db"),
            ("sqlite:dir/t.db", "dir/t.db"),
            ("sqlite:/abs/t.db", "/abs/t.db"),
            ("sqlite:///abs/t.db", "/abs/t.db"),
        ];
        for (url, path) in cases {
            let parsed = StoreUrl::parse(url).unwrap();
            assert_eq!(parsed.backend(), Backend::Sqlite);
            assert_eq!(
                parsed.sqlite_path().unwrap(),
                std::path::Path::new(path),
                "{url}"
            );
        }
        assert!(StoreUrl::parse("sqlite:").is_err());
        assert!(StoreUrl::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn the_password_is_masked_everywhere_it_could_show() {
        let password = "p@ss:w/rd%";
        let encoded: String = url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
        let url = StoreUrl::parse(&format!(
            "postgres://app:{encoded}@db.example.com:5432/zoho"
        ))
        .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://app:***@db.example.com:5432/zoho"
        );
        assert!(!format!("{url:?}").contains("rd"));
        let echoed = format!("failed to connect to {} with {password}", url.expose());
        let scrubbed = url.scrub(&echoed);
        assert!(!scrubbed.contains(password), "{scrubbed}");
        assert!(!scrubbed.contains(&encoded), "{scrubbed}");
        assert!(!url.is_loopback());
    }

    #[test]
    fn schemes_and_loopback() {
        let pg = StoreUrl::parse("postgresql://u:p@127.0.0.1:5/db").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert!(pg.is_loopback());
        let my = StoreUrl::parse("mysql://u:p@localhost/db").unwrap();
        assert_eq!(my.backend(), Backend::MySql);
        assert!(my.is_loopback());
        let err = StoreUrl::parse("redis://u:secretpw@host/0").unwrap_err();
        assert!(!err.to_string().contains("secretpw"), "{err}");
        let err = StoreUrl::parse("postgres://u:secretpw@[bad/db").unwrap_err();
        assert!(!err.to_string().contains("secretpw"), "{err}");
    }
}
