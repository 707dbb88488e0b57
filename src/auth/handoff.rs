//! Handing an access token to programs (design.md, "Handing tokens to programs"): the token with
//! what a program needs beside it ([`AccessToken`]), the versioned `token --json` object built from
//! it, the environment `run` gives its child, and [`TokenSource`], the one seam through which
//! `run`, `serve` and `api` ask for a token (the env file and the token cache today, a SQL store
//! later, a counting fake in tests). No IO here.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;

use super::Dc;
use super::cache::MIN_REMAINING_SECS;
use super::diagnosis::Diagnosis;
use super::keys;
use super::secret::Secret;

/// The `version` of the `token --json` object. Bumped only for a change a program must notice.
pub const JSON_VERSION: u32 = 1;

/// The `token_type` of the object: the word Zoho's `Authorization` header starts with.
pub const TOKEN_TYPE: &str = "Zoho-oauthtoken";

/// Variables `run` never hands to its child, even when they are set in its own environment: the
/// client secret, the refresh token, and the store URL (which may carry a database password).
pub const WITHHELD_FROM_CHILD: [&str; 3] =
    [keys::CLIENT_SECRET, keys::REFRESH_TOKEN, keys::AUTH_STORE];

/// A valid access token and what a program needs to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: Secret,
    /// Unix seconds.
    pub expires_at: u64,
    /// Where API requests go (`https://www.zohoapis.eu`), no trailing slash.
    pub api_domain: String,
    /// The data center, when known (the sandbox is none).
    pub dc: Option<Dc>,
    /// `ZOHO_ORGANIZATION_ID`, when set.
    pub organization_id: Option<String>,
}

impl AccessToken {
    /// Seconds left at `now` (unix seconds); 0 once expired.
    pub fn remaining(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// More than `secs` seconds left at `now`.
    pub fn lasts_beyond(&self, now: u64, secs: u64) -> bool {
        self.expires_at > now.saturating_add(secs)
    }

    /// The versioned `token --json` object, one line without a newline. The one place the token
    /// is put into JSON; keys without a value are left out.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            version: JSON_VERSION,
            access_token: self.token.expose(),
            token_type: TOKEN_TYPE,
            expires_at: rfc3339(self.expires_at),
            api_domain: non_empty(&self.api_domain),
            dc: self.dc.map(Dc::code),
            organization_id: self.organization_id.as_deref().and_then(non_empty),
        };
        serde_json::to_string(&wire).expect("plain strings and numbers serialize")
    }

    /// The variables `run` sets for its child: `ZOHO_ACCESS_TOKEN`, `ZOHO_API_DOMAIN`, `ZOHO_DC`
    /// and `ZOHO_ORGANIZATION_ID`, each only with a value.
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![(keys::ACCESS_TOKEN, self.token.expose().to_string())];
        if let Some(domain) = non_empty(&self.api_domain) {
            vars.push((keys::API_DOMAIN, domain.to_string()));
        }
        if let Some(dc) = self.dc {
            vars.push((keys::DC, dc.code().to_string()));
        }
        if let Some(org) = self.organization_id.as_deref().and_then(non_empty) {
            vars.push((keys::ORGANIZATION_ID, org.to_string()));
        }
        vars
    }
}

fn non_empty(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

/// The wire form. No `Debug`: it holds the token in the clear.
#[derive(Serialize)]
struct Wire<'a> {
    version: u32,
    access_token: &'a str,
    token_type: &'static str,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dc: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<&'a str>,
}

/// Unix seconds as RFC 3339 in UTC, `2026-12-04T18:49:46Z`.
pub fn rfc3339(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// What a command asks its [`TokenSource`] for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// A token with more than `min_remaining` seconds left: a cached or shared one when there is
    /// one, else a refresh.
    Valid { min_remaining: u64 },
    /// A new token whatever is cached.
    Refresh,
    /// Any token but this one, which the API just refused: a refresh, unless another process
    /// already replaced it.
    Replace(Secret),
}

impl Want {
    /// What `token` asks for: more than 5 minutes left.
    pub const USUAL: Want = Want::Valid {
        min_remaining: MIN_REMAINING_SECS,
    };
}

/// The future a [`TokenSource`] answers with.
pub type TokenFuture = BoxFuture<'static, Result<AccessToken, Diagnosis>>;

/// Where `run`, `serve` and `api` get their tokens: a cheap-to-clone function from [`Want`] to a
/// future of a token or the diagnosis of why none can be had.
#[derive(Clone)]
pub struct TokenSource(Arc<dyn Fn(Want) -> TokenFuture + Send + Sync>);

impl TokenSource {
    pub fn new(f: impl Fn(Want) -> TokenFuture + Send + Sync + 'static) -> TokenSource {
        TokenSource(Arc::new(f))
    }

    /// Asks for a token.
    pub fn get(&self, want: Want) -> TokenFuture {
        (self.0)(want)
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSource")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::diagnosis::Code;

    /// Assembled at run time: no token-shaped literal in the source.
    fn fake_token() -> Secret {
        Secret::new(format!("1000.{}.{}", "f".repeat(32), "e".repeat(32)))
    }

    fn token() -> AccessToken {
        AccessToken {
            token: fake_token(),
            expires_at: 1_796_410_186,
            api_domain: "https://www.zohoapis.eu".into(),
            dc: Some(Dc::Eu),
            organization_id: Some("20099".into()),
        }
    }

    #[test]
    fn the_json_object_has_every_contract_key() {
        let json: serde_json::Value = serde_json::from_str(&token().to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": 1,
                "access_token": fake_token().expose(),
                "token_type": "Zoho-oauthtoken",
                "expires_at": "2026-12-04T18:49:46Z",
                "api_domain": "https://www.zohoapis.eu",
                "dc": "eu",
                "organization_id": "20099",
            })
        );
    }

    #[test]
    fn keys_without_a_value_are_left_out() {
        let t = AccessToken {
            dc: None,
            organization_id: Some("  ".into()),
            api_domain: String::new(),
            ..token()
        };
        let json: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            ["access_token", "expires_at", "token_type", "version"],
            "{json}"
        );
    }

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn child_env_names_only_what_has_a_value_and_never_the_grant() {
        let vars = token().child_env();
        let names: Vec<&str> = vars.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                keys::ACCESS_TOKEN,
                keys::API_DOMAIN,
                keys::DC,
                keys::ORGANIZATION_ID
            ]
        );
        for withheld in WITHHELD_FROM_CHILD {
            assert!(!names.contains(&withheld));
        }
        let bare = AccessToken {
            dc: None,
            organization_id: None,
            ..token()
        };
        let names: Vec<&str> = bare.child_env().iter().map(|(k, _)| *k).collect();
        assert_eq!(names, [keys::ACCESS_TOKEN, keys::API_DOMAIN]);
    }

    #[test]
    fn debug_of_everything_but_the_json_hides_the_token() {
        let t = token();
        let secret = fake_token();
        let source = TokenSource::new(|_| Box::pin(async { Err(Diagnosis::ok("x")) }));
        for shown in [
            format!("{t:?}"),
            format!("{t:#?}"),
            format!("{:?}", Ok::<_, Diagnosis>(t.clone())),
            format!("{source:?}"),
            format!("{:?}", Want::USUAL),
        ] {
            assert!(!shown.contains(secret.expose()), "{shown}");
            assert!(!shown.contains(&"f".repeat(32)), "{shown}");
        }
        assert!(t.to_json().contains(secret.expose()));
    }

    #[test]
    fn remaining_and_lasts_beyond() {
        let t = AccessToken {
            expires_at: 1000,
            ..token()
        };
        assert_eq!(t.remaining(400), 600);
        assert_eq!(t.remaining(2000), 0);
        assert!(t.lasts_beyond(699, 300));
        assert!(!t.lasts_beyond(700, 300));
    }

    #[tokio::test]
    async fn a_source_answers_what_its_function_answers() {
        let source = TokenSource::new(|want| {
            Box::pin(async move {
                match want {
                    Want::Valid { .. } => Ok(token()),
                    Want::Refresh | Want::Replace(_) => {
                        Err(Diagnosis::new(Code::Network, "down", "retry"))
                    }
                }
            })
        });
        assert_eq!(source.get(Want::USUAL).await.unwrap(), token());
        assert_eq!(
            source.clone().get(Want::Refresh).await.unwrap_err().code,
            Code::Network
        );
    }
}
