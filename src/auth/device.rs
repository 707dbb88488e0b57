//! The device flow for "Non-browser" clients (facts §6): ask for a user code, then poll until the
//! person approves it on the verification page. Never polls sooner than Zoho's interval; each
//! `slow_down` doubles it; `other_dc` moves polling to the account's data center; the device code's
//! `expires_in` is the deadline; up to 3 network or server failures in a row are polled through.
//! `interval` and `expires_in` are read as seconds or milliseconds.
//! No terminal IO here: progress goes to the caller's observer.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::client::{
    AuthError, Client, Credentials, TokenSet, grant_error, is_throttle, join, parse_token_response,
    unexpected,
};
use super::dc::is_loopback;
use super::diagnosis::{self, Code, Context, Diagnosis, Phase};
use super::loopback::human_duration;
use super::printable::printable;
use super::{Secret, hosts, scopes};

/// Polling interval when Zoho gives none (RFC 8628's default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Never poll more often than this, whatever the server says.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Device-code lifetime when Zoho gives none.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(300);

/// An issued device code: what to show, and how to poll.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// Sent back when polling. Not shown.
    pub device_code: Secret,
    /// What the person types on the verification page (printable: control characters escaped).
    pub user_code: String,
    /// The page where the person enters the user code (printable).
    pub verification_url: String,
    /// The same page with the user code filled in, when Zoho gives it (printable).
    pub verification_uri_complete: Option<String>,
    /// How long to wait between polls (at least 1 s).
    pub interval: Duration,
    /// How long the code lives.
    pub expires_in: Duration,
    /// When the code stops working (now + `expires_in` when it was received).
    pub expires_at: Instant,
    /// The accounts server that issued the code; polling starts there.
    pub accounts: Url,
}

/// Why the device flow did not produce tokens.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeviceError {
    /// The request failed or Zoho refused it (network, server, `invalid_client`, throttle).
    #[error(transparent)]
    Request(#[from] AuthError),
    /// The person denied access (`access_denied`).
    #[error("access was denied")]
    Denied,
    /// The device code expired before it was approved (`expired`, or the deadline passed).
    #[error("the device code expired")]
    Expired { after: Duration },
    /// `other_dc` named a data center that is neither a DC code nor a trusted accounts server
    /// (printable; empty when the answer named none).
    #[error("Zoho asked to poll at {dc:?}, which is not a Zoho accounts server")]
    UntrustedDc { dc: String },
    /// Zoho answered a poll with another `error` value (printable).
    #[error("Zoho answered the poll with {error:?}")]
    Refused { error: String },
}

impl DeviceError {
    /// What went wrong and the fix. Denial and expiry exit 3 (design.md).
    pub fn diagnosis(&self, accounts_host: &str, scopes: &[String]) -> Diagnosis {
        match self {
            DeviceError::Request(e) => diagnosis::from_error(
                e,
                &Context {
                    phase: Phase::Exchange,
                    product: None,
                    scopes,
                    accounts_host,
                    api_domain: None,
                    dc: None,
                },
            ),
            DeviceError::Denied => Diagnosis::new(
                Code::InvalidCode,
                "Access was denied on the verification page (access_denied): no token was issued.",
                "Run `zoho-auth login --device` again and approve the code.",
            ),
            DeviceError::Expired { after } => Diagnosis::new(
                Code::InvalidCode,
                format!(
                    "The device code expired before it was approved (it was valid for {}).",
                    human_duration(after.as_secs())
                ),
                "Run `zoho-auth login --device` again and enter the new code before it expires.",
            ),
            DeviceError::UntrustedDc { dc } if dc.is_empty() => Diagnosis::new(
                Code::ServerError,
                format!(
                    "{accounts_host} answered that the account is in another data center (other_dc) without naming it (no user_location or dc)."
                ),
                "Pass the accounts server of your data center with --dc (or --accounts-url) and run `zoho-auth login --device` again.",
            ),
            DeviceError::UntrustedDc { dc } => Diagnosis::new(
                Code::ServerError,
                format!(
                    "{accounts_host} asked to continue at \"{}\", which is neither a data-center code nor a Zoho accounts server; the client secret was not sent there.",
                    printable(dc)
                ),
                "Pass the accounts server of your data center with --dc (or --accounts-url) and run `zoho-auth login --device` again.",
            ),
            DeviceError::Refused { error } => Diagnosis::new(
                Code::InvalidCode,
                format!("{accounts_host} refused the device sign-in with error \"{error}\"."),
                "Check that the client is a \"Non-browser Applications\" client of this data center, then run `zoho-auth login --device` again.",
            ),
        }
    }
}

/// Progress while polling, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollEvent {
    /// Zoho answered `slow_down`; polls are now this far apart.
    SlowDown { interval: Duration },
    /// Zoho answered `other_dc`; polling continues at this accounts server.
    MovedTo { accounts: Url },
}

/// Tokens from an approved device code, and the accounts server that issued them (after an
/// `other_dc` move, the account's data center).
#[derive(Debug, Clone)]
pub struct DeviceGrant {
    pub tokens: TokenSet,
    pub accounts: Url,
}

/// One poll's answer.
#[derive(Debug, Clone)]
pub enum Poll {
    Granted(Box<TokenSet>),
    Pending,
    SlowDown,
    /// `other_dc` with the field naming the account's data center (`user_location`, else `dc`,
    /// ...) as Zoho sent it: a location code or an accounts URL; empty when none was given.
    OtherDc(String),
}

/// `POST {accounts}/oauth/v3/device/code` (client_id, grant_type=device_request, scope,
/// access_type=offline, prompt=consent). No secret is sent.
pub async fn start(
    client: &Client,
    accounts: &Url,
    client_id: &str,
    scopes: &[String],
) -> Result<DeviceCode, DeviceError> {
    let url = join(accounts, "/oauth/v3/device/code")?;
    let scope = scopes::join(scopes);
    let form = [
        ("client_id", client_id),
        ("grant_type", "device_request"),
        ("scope", scope.as_str()),
        ("access_type", "offline"),
        ("prompt", "consent"),
    ];
    let (status, body) = client.post_form(&url, &form).await?;
    let received = Instant::now();
    let value = json_object(&url, status, &body)?;
    if let Some(err) = error_of(&value)? {
        return Err(AuthError::Grant(grant_error(err)).into());
    }
    // Shown on the terminal by every caller: made printable here.
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(printable);
    let (Some(device_code), Some(user_code), Some(verification_url)) = (
        text("device_code"),
        text("user_code"),
        text("verification_url").or_else(|| text("verification_uri")),
    ) else {
        return Err(unexpected(&url, status, &body).into());
    };
    let (interval, expires_in) = timings(number(&value, "interval"), number(&value, "expires_in"));
    Ok(DeviceCode {
        device_code: Secret::new(device_code),
        user_code,
        verification_url,
        verification_uri_complete: text("verification_uri_complete"),
        interval,
        expires_in,
        expires_at: received + expires_in,
        accounts: accounts.clone(),
    })
}

/// `interval` and `expires_in` as Durations. Zoho's units are disputed (facts §6): an interval of
/// 1000 or more, or a lifetime of a day or more, means both are milliseconds. The interval is at
/// least [`MIN_INTERVAL`].
pub fn timings(interval: Option<u64>, expires_in: Option<u64>) -> (Duration, Duration) {
    let millis = interval.is_some_and(|i| i >= 1000) || expires_in.is_some_and(|e| e >= 86_400);
    let read = |v: u64| {
        if millis {
            Duration::from_millis(v)
        } else {
            Duration::from_secs(v)
        }
    };
    let interval = interval
        .map(read)
        .unwrap_or(DEFAULT_INTERVAL)
        .max(MIN_INTERVAL);
    let expires_in = expires_in
        .map(read)
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_EXPIRES_IN);
    (interval, expires_in)
}

/// A number that may come as a JSON number or a string.
fn number(value: &Value, key: &str) -> Option<u64> {
    match value.get(key)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn json_object(url: &Url, status: u16, body: &str) -> Result<Value, AuthError> {
    match serde_json::from_str::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(unexpected(url, status, body)),
    }
}

/// The `error` value, or the throttle as an error.
fn error_of(value: &Value) -> Result<Option<&str>, AuthError> {
    if is_throttle(value) {
        return Err(AuthError::Throttled);
    }
    Ok(value.get("error").and_then(Value::as_str))
}

/// `POST {accounts}/oauth/v3/device/token` once (client_id, client_secret, grant_type=device_token,
/// code). Pending answers come with HTTP 200 or 400.
pub async fn poll_once(
    client: &Client,
    accounts: &Url,
    creds: &Credentials,
    code: &DeviceCode,
) -> Result<Poll, DeviceError> {
    let url = join(accounts, "/oauth/v3/device/token")?;
    let form = [
        ("client_id", creds.client_id.as_str()),
        ("client_secret", creds.client_secret.expose()),
        ("grant_type", "device_token"),
        ("code", code.device_code.expose()),
    ];
    let (status, body) = client.post_form(&url, &form).await?;
    let value = json_object(&url, status, &body)?;
    let Some(error) = error_of(&value)? else {
        return Ok(Poll::Granted(Box::new(parse_token_response(
            &url, status, &body,
        )?)));
    };
    if !matches!(status, 200 | 400 | 401) {
        return Err(unexpected(&url, status, &body).into());
    }
    match error {
        "authorization_pending" => Ok(Poll::Pending),
        "slow_down" => Ok(Poll::SlowDown),
        "other_dc" => {
            let dc = [
                "user_location",
                "dc",
                "accounts-server",
                "accounts_server",
                "location",
            ]
            .iter()
            .find_map(|k| value.get(*k).and_then(Value::as_str))
            .unwrap_or("");
            Ok(Poll::OtherDc(dc.to_string()))
        }
        "access_denied" => Err(DeviceError::Denied),
        "expired" | "expired_token" => Err(DeviceError::Expired {
            after: code.expires_in,
        }),
        "invalid_code" | "invalid_client" | "invalid_client_secret" => {
            Err(AuthError::Grant(grant_error(error)).into())
        }
        other => Err(DeviceError::Refused {
            error: printable(other),
        }),
    }
}

/// The accounts server an `other_dc` answer names, through the host rule ([`hosts`]): a location
/// code (`eu`, as in `user_location`) is that data center's accounts server (on a loopback
/// `chosen` server, the sandbox, its `/_dc/{code}` path on the same origin); a URL must be a Zoho
/// accounts host or on the same origin as `chosen`, the accounts server the user chose.
pub fn other_dc_accounts(dc: &str, chosen: &Url) -> Result<Url, DeviceError> {
    let untrusted = || DeviceError::UntrustedDc { dc: printable(dc) };
    let value = dc.trim();
    if value.is_empty() {
        return Err(untrusted());
    }
    if let Some(known) = hosts::location(value) {
        if is_loopback(chosen) {
            let mut base = chosen.clone();
            base.set_query(None);
            base.set_fragment(None);
            base.set_path(&if known.code() == "us" {
                "/".to_string()
            } else {
                format!("/_dc/{}", known.code())
            });
            return Ok(base);
        }
        return Url::parse(&known.accounts_url()).map_err(|_| untrusted());
    }
    hosts::named_accounts_server(value, chosen, "the device poll's other_dc")
        .map_err(|_| untrusted())
}

/// Polls until the code is approved, denied or expired. The first poll comes one interval after
/// the code was issued; polls are never closer than the current interval; `slow_down` doubles it;
/// `other_dc` moves to the account's data center. Dropping the future stops polling.
pub async fn poll_until(
    client: &Client,
    creds: &Credentials,
    code: &DeviceCode,
    mut observe: impl FnMut(PollEvent),
) -> Result<DeviceGrant, DeviceError> {
    let mut accounts = code.accounts.clone();
    let mut interval = code.interval;
    let mut failures = 0;
    loop {
        let next = Instant::now() + interval;
        if next >= code.expires_at {
            tokio::time::sleep_until(code.expires_at).await;
            return Err(DeviceError::Expired {
                after: code.expires_in,
            });
        }
        tokio::time::sleep_until(next).await;
        let answer = match poll_once(client, &accounts, creds, code).await {
            Err(DeviceError::Request(e)) if is_transient(&e) && failures < MAX_TRANSIENT => {
                failures += 1;
                continue;
            }
            other => other?,
        };
        failures = 0;
        match answer {
            Poll::Granted(tokens) => {
                return Ok(DeviceGrant {
                    tokens: *tokens,
                    accounts,
                });
            }
            Poll::Pending => {}
            Poll::SlowDown => {
                interval = slower(interval);
                observe(PollEvent::SlowDown { interval });
            }
            Poll::OtherDc(dc) => {
                let moved = other_dc_accounts(&dc, &code.accounts)?;
                if moved != accounts {
                    accounts = moved;
                    observe(PollEvent::MovedTo {
                        accounts: accounts.clone(),
                    });
                }
            }
        }
    }
}

/// Consecutive network or server failures a poll may meet before polling gives up: polling
/// asks again anyway, and a device code lives minutes.
const MAX_TRANSIENT: u32 = 3;

/// A failure worth polling through: no answer, or a server error (not a refusal).
fn is_transient(e: &AuthError) -> bool {
    match e {
        AuthError::Network { .. } | AuthError::Timeout { .. } => true,
        AuthError::Server { status, .. } => *status >= 500,
        _ => false,
    }
}

/// The interval after a `slow_down`: doubled (Zoho asks for one poll per 30 s at most).
pub fn slower(interval: Duration) -> Duration {
    interval.saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds() {
        let s = Duration::from_secs;
        assert_eq!(timings(Some(30), Some(300)), (s(30), s(300)));
        assert_eq!(timings(Some(5000), Some(300_000)), (s(5), s(300)));
        assert_eq!(timings(Some(1000), Some(60_000)), (s(1), s(60)));
        // A sub-second or absent interval is raised; an absent lifetime is 5 minutes.
        assert_eq!(timings(Some(0), None), (s(1), s(300)));
        assert_eq!(timings(None, Some(600)), (s(5), s(600)));
    }

    #[test]
    fn numbers_may_be_strings() {
        let v = serde_json::json!({"interval": "30", "expires_in": 300});
        assert_eq!(number(&v, "interval"), Some(30));
        assert_eq!(number(&v, "expires_in"), Some(300));
        assert_eq!(number(&v, "missing"), None);
    }

    #[test]
    fn other_dc_takes_a_code_or_a_trusted_url() {
        let us = Url::parse("https://accounts.zoho.com").unwrap();
        assert_eq!(
            other_dc_accounts("eu", &us).unwrap().as_str(),
            "https://accounts.zoho.eu/"
        );
        assert_eq!(
            other_dc_accounts("https://accounts.zoho.in", &us)
                .unwrap()
                .as_str(),
            "https://accounts.zoho.in/"
        );
        assert!(matches!(
            other_dc_accounts("https://attacker.example", &us),
            Err(DeviceError::UntrustedDc { .. })
        ));
        let sandbox = Url::parse("http://127.0.0.1:7/").unwrap();
        assert_eq!(
            other_dc_accounts("http://127.0.0.1:7/_dc/eu", &sandbox)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:7/_dc/eu"
        );
    }

    #[test]
    fn slow_down_doubles() {
        assert_eq!(slower(Duration::from_secs(30)), Duration::from_secs(60));
    }

    #[test]
    fn denial_and_expiry_exit_3() {
        assert_eq!(DeviceError::Denied.diagnosis("h", &[]).exit_code(), 3);
        assert_eq!(
            DeviceError::Expired {
                after: Duration::from_secs(300)
            }
            .diagnosis("h", &[])
            .exit_code(),
            3
        );
    }
}
