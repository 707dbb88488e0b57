//! The token client: exchange a code, refresh, revoke (facts §2, §4). Form bodies; Zoho's HTTP-200
//! error bodies and the throttle (200 or 400) as typed errors; `expires_in` in seconds or the old
//! milliseconds; a timeout on every request; an exchange is never retried once it was sent.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::Product;
use super::dc::is_loopback;
use super::printable::printable;
use super::secret::Secret;
use super::trace::Trace;

/// A client id and its secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// What Zoho's token endpoint granted.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    /// Present on a code exchange (offline access); absent on refresh: Zoho does not rotate.
    pub refresh_token: Option<Secret>,
    /// The scopes Zoho says the token carries (its `scope`, space- or comma-separated), if given.
    pub scopes: Vec<String>,
    /// `api_domain` exactly as Zoho returned it.
    pub api_domain: String,
    pub expires_in: Duration,
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Trace each request (method, URL with secrets masked, status) on stderr.
    pub verbose: bool,
    /// Timeout of a whole request.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            verbose: false,
            timeout: Duration::from_secs(20),
        }
    }
}

/// A grant error Zoho's token endpoint answers with `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantError {
    /// `invalid_code`: the code is expired, used or unknown, or the refresh token was revoked.
    InvalidCode,
    /// `invalid_client`: unknown client id, or the client is not enabled in this data center.
    InvalidClient,
    /// `invalid_client_secret`.
    InvalidClientSecret,
    /// `invalid_redirect_uri`.
    InvalidRedirectUri,
    /// Any other `error` value, as Zoho sent it made printable (e.g. `missing_org_info`).
    Other(String),
}

/// How an API (organizations endpoint) refused a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRefusal {
    /// No or unreadable Authorization header (Books code 14, Desk UNAUTHORIZED, Mail INVALID_TICKET).
    NotAuthenticated,
    /// Books-family code 57: invalid/expired token, or a valid token lacking the scope.
    Code57,
    /// CRM `INVALID_TOKEN` or `AUTHENTICATION_FAILURE` (facts §10), Desk `INVALID_OAUTH`, Mail
    /// `INVALID_OAUTHTOKEN`.
    InvalidToken,
    /// CRM `OAUTH_SCOPE_MISMATCH`.
    ScopeMismatch,
    /// HTTP 403 without a more precise reason: not a member of the organization, or no permission.
    Forbidden,
    /// Desk `OAUTH_ORG_MISMATCH`.
    OrgMismatch,
    /// Books/Inventory code 6041 (a foreign organization id, named) or 9017 (no organization at
    /// all), and an Invoice 403 whatever its body (facts §10).
    NotOrgMember { organization: Option<String> },
    /// A valid token refused for lack of a permission in the product (Desk `FORBIDDEN`, CRM
    /// `NO_PERMISSION`): re-consent does not change it.
    Permission,
    /// The path or resource does not exist there (Books/Expense code 5, a 302 to
    /// `IAMSecurityError.do`): not a token problem.
    WrongPath,
    /// A 401/403 whose body is not JSON: an HTML error page (its title, printable) or nothing.
    Unreadable { title: Option<String> },
    /// HTTP 429 or a rate-limit body.
    RateLimited,
    /// Anything else, with the code Zoho gave (printable).
    Other(String),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("Zoho refused the grant: {0:?}")]
    Grant(GrantError),
    #[error("Zoho's token throttle answered \"Access Denied\" (too many requests)")]
    Throttled,
    #[error("the API at {called} refused the token (HTTP {status}, {refusal:?})")]
    Api {
        status: u16,
        refusal: ApiRefusal,
        /// The URL called, without its query (for the data-center check of `wrong_dc`).
        called: String,
    },
    #[error("could not reach {host}: {detail}")]
    Network { host: String, detail: String },
    #[error("{host} did not answer within {seconds} s")]
    Timeout { host: String, seconds: u64 },
    #[error("{host} answered HTTP {status} with {detail}")]
    Server {
        host: String,
        status: u16,
        detail: String,
    },
    #[error("plain http:// is refused for {url}: use https://, or a loopback address for tests")]
    InsecureUrl { url: String },
    #[error("{0}")]
    BadUrl(String),
}

/// An API answer: status, body, and a redirect's `Location` made printable.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

/// The HTTP client every command and the wizard share. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    trace: Arc<Trace>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// Parses a URL and refuses plain `http://` unless the host is loopback.
pub fn checked_url(value: &str) -> Result<Url, AuthError> {
    let trimmed = value.trim();
    let url = Url::parse(trimmed)
        .map_err(|e| AuthError::BadUrl(format!("{trimmed:?} is not a valid URL ({e})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(AuthError::InsecureUrl {
            url: trimmed.to_string(),
        }),
        other => Err(AuthError::BadUrl(format!(
            "{trimmed:?} uses the scheme {other}: use https://"
        ))),
    }
}

/// `base` + `path`, keeping any path prefix of `base` (e.g. a sandbox's `/_dc/eu`).
pub fn join(base: &Url, path: &str) -> Result<Url, AuthError> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&joined).map_err(|e| AuthError::BadUrl(format!("cannot build {joined}: {e}")))
}

fn host_label(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.to_string(),
    }
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, AuthError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(10).min(options.timeout))
            .user_agent(concat!("zoho-auth/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthError::Network {
                host: "-".into(),
                detail: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Client {
            http,
            trace: Arc::new(Trace::new(options.verbose)),
            timeout: options.timeout,
        })
    }

    /// Exchanges a grant code. Sent once: never retried after the request may have reached Zoho.
    pub async fn exchange_code(
        &self,
        accounts: &Url,
        creds: &Credentials,
        code: &Secret,
        redirect_uri: Option<&str>,
    ) -> Result<TokenSet, AuthError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.expose()),
            ("code", code.expose()),
        ];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri));
        }
        self.token_request(accounts, &form, false).await
    }

    /// Mints an access token from a refresh token. Connection failures before sending are retried once.
    pub async fn refresh(
        &self,
        accounts: &Url,
        creds: &Credentials,
        refresh_token: &Secret,
    ) -> Result<TokenSet, AuthError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ];
        self.token_request(accounts, &form, true).await
    }

    /// Revokes a refresh (or access) token: `POST /oauth/v2/token/revoke?token=...` (facts §4).
    /// Returns `Ok(false)` when Zoho answered 400 (it does not know the token: already revoked).
    pub async fn revoke(&self, accounts: &Url, token: &Secret) -> Result<bool, AuthError> {
        let mut url = join(accounts, "/oauth/v2/token/revoke")?;
        url.query_pairs_mut().append_pair("token", token.expose());
        let response = self
            .send(|| self.http.post(url.clone()), &url, true)
            .await?;
        let status = response.status().as_u16();
        let body = read_body(&url, response, self.timeout).await?;
        match status {
            200 => {
                let value: Value = parse_json(&url, status, &body)?;
                if value.get("status").and_then(Value::as_str) == Some("success") {
                    Ok(true)
                } else if let Some(err) = value.get("error").and_then(Value::as_str) {
                    Err(AuthError::Grant(grant_error(err)))
                } else {
                    Err(unexpected(&url, status, &body))
                }
            }
            400 => Ok(false),
            _ => Err(unexpected(&url, status, &body)),
        }
    }

    /// A GET with `Authorization: Zoho-oauthtoken ...`; returns status and body.
    pub async fn get_with_token(
        &self,
        url: &Url,
        access: &Secret,
    ) -> Result<(u16, String), AuthError> {
        let answer = self.get_answer(url, access).await?;
        Ok((answer.status, answer.body))
    }

    /// A GET with `Authorization: Zoho-oauthtoken ...`; returns status, body and a redirect's
    /// `Location` (never followed: a 302 is an answer, not a success).
    pub async fn get_answer(&self, url: &Url, access: &Secret) -> Result<Answer, AuthError> {
        let header = format!("Zoho-oauthtoken {}", access.expose());
        let response = self
            .send(
                || {
                    self.http
                        .get(url.clone())
                        .header(reqwest::header::AUTHORIZATION, header.clone())
                },
                url,
                true,
            )
            .await?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| printable(&String::from_utf8_lossy(v.as_bytes())));
        let body = read_body(url, response, self.timeout).await?;
        Ok(Answer {
            status,
            body,
            location,
        })
    }

    /// Replaces the `-v` trace (tests capture it with [`Trace::capture`]).
    pub fn with_trace(mut self, trace: Trace) -> Client {
        self.trace = Arc::new(trace);
        self
    }

    /// A form POST to another accounts endpoint (the device flow): sent once, never retried,
    /// traced. Returns the status and the body.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
    ) -> Result<(u16, String), AuthError> {
        let response = self
            .send(|| self.http.post(url.clone()).form(form), url, false)
            .await?;
        let status = response.status().as_u16();
        let body = read_body(url, response, self.timeout).await?;
        Ok((status, body))
    }

    async fn token_request(
        &self,
        accounts: &Url,
        form: &[(&str, &str)],
        retry_connect: bool,
    ) -> Result<TokenSet, AuthError> {
        let url = join(accounts, "/oauth/v2/token")?;
        let response = self
            .send(
                || self.http.post(url.clone()).form(form),
                &url,
                retry_connect,
            )
            .await?;
        let status = response.status().as_u16();
        let body = read_body(&url, response, self.timeout).await?;
        parse_token_response(&url, status, &body)
    }

    /// Sends a request, tracing it. `retry_connect`: retry once when the connection could not be
    /// made (the request never left this machine).
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
        url: &Url,
        retry_connect: bool,
    ) -> Result<reqwest::Response, AuthError> {
        let method = build()
            .build()
            .map(|r| r.method().to_string())
            .unwrap_or_else(|_| "?".into());
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.trace.request(&method, url);
            match build().send().await {
                Ok(response) => {
                    self.trace.status(response.status().as_u16());
                    return Ok(response);
                }
                Err(err) if retry_connect && err.is_connect() && attempt == 1 => {
                    self.trace.failure("connection failed, retrying once");
                }
                Err(err) => {
                    self.trace.failure(&describe_reqwest(&err));
                    return Err(network_error(url, &err, self.timeout));
                }
            }
        }
    }
}

async fn read_body(
    url: &Url,
    response: reqwest::Response,
    timeout: Duration,
) -> Result<String, AuthError> {
    response
        .text()
        .await
        .map_err(|err| network_error(url, &err, timeout))
}

fn describe_reqwest(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection refused or unreachable".into()
    } else if err.is_body() || err.is_decode() {
        "the connection was closed before the whole answer arrived".into()
    } else {
        "the connection failed".into()
    }
}

fn network_error(url: &Url, err: &reqwest::Error, timeout: Duration) -> AuthError {
    let host = host_label(url);
    if err.is_timeout() {
        AuthError::Timeout {
            host,
            seconds: timeout.as_secs(),
        }
    } else {
        // Never include the reqwest error's URL: a revoke URL carries the token.
        AuthError::Network {
            host,
            detail: describe_reqwest(err),
        }
    }
}

pub(crate) fn grant_error(code: &str) -> GrantError {
    match code {
        "invalid_code" => GrantError::InvalidCode,
        "invalid_client" => GrantError::InvalidClient,
        "invalid_client_secret" => GrantError::InvalidClientSecret,
        "invalid_redirect_uri" => GrantError::InvalidRedirectUri,
        other => GrantError::Other(printable(other)),
    }
}

/// The `<title>` of an HTML page, trimmed, at most 80 characters, printable.
pub fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title: String = body
        .get(open_end..close)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(80)
        .collect();
    (!title.is_empty()).then(|| printable(&title))
}

/// What a body that is not Zoho's JSON is, in words: an HTML page (with its title), nothing, or
/// something else. Printable.
pub fn body_kind(body: &str) -> String {
    if body.trim_start().starts_with('<') {
        match html_title(body) {
            Some(title) => format!("an HTML page titled \"{title}\" instead of Zoho's JSON"),
            None => "an HTML page instead of Zoho's JSON".to_string(),
        }
    } else if body.trim().is_empty() {
        "an empty body".to_string()
    } else {
        "a body that is not the JSON Zoho sends".to_string()
    }
}

pub(crate) fn unexpected(url: &Url, status: u16, body: &str) -> AuthError {
    AuthError::Server {
        host: host_label(url),
        status,
        detail: body_kind(body),
    }
}

fn parse_json(url: &Url, status: u16, body: &str) -> Result<Value, AuthError> {
    serde_json::from_str::<Value>(body).map_err(|_| unexpected(url, status, body))
}

/// True for the "Access Denied / too many requests" body, in English or localised: it is the only
/// token-endpoint error with `"status":"failure"` and an `error_description`.
pub(crate) fn is_throttle(value: &Value) -> bool {
    let error = value.get("error").and_then(Value::as_str).unwrap_or("");
    error.eq_ignore_ascii_case("Access Denied")
        || (value.get("status").and_then(Value::as_str) == Some("failure")
            && value.get("error_description").is_some())
}

/// The longest lifetime believed: a day. Zoho's access tokens live an hour; a longer claim would
/// keep a dead token in the cache.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(86_400);

/// `expires_in` in seconds, or the pre-2019 milliseconds (over a day means milliseconds);
/// `expires_in_sec` wins when present. Capped at [`MAX_EXPIRES_IN`].
pub fn expires_in(value: &Value) -> Duration {
    let read = if let Some(secs) = value.get("expires_in_sec").and_then(Value::as_u64) {
        Duration::from_secs(secs)
    } else {
        match value.get("expires_in").and_then(Value::as_u64) {
            Some(v) if v > 86_400 => Duration::from_secs(v / 1000),
            Some(v) => Duration::from_secs(v),
            None => Duration::from_secs(3600),
        }
    };
    read.min(MAX_EXPIRES_IN)
}

/// The shape of Zoho's codes, access and refresh tokens (facts §9): four digits, a dot, 32 hex, a
/// dot, 32 hex. Upper-case hex is tolerated: the captures are lower case, but the case carries no
/// risk, and refusing a working token over it would lock the user out. Nothing else passes: no
/// whitespace, no control character, nothing a shell or a terminal would interpret.
pub fn is_token_shaped(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    let hex32 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 3
        && parts[0].len() == 4
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && hex32(parts[1])
        && hex32(parts[2])
}

/// A token answer's field that is not shaped like a token: a server error naming the field, never
/// the value.
fn misshapen(url: &Url, status: u16, field: &str) -> AuthError {
    AuthError::Server {
        host: host_label(url),
        status,
        detail: format!(
            "an answer whose {field} is not shaped like a Zoho token (four digits, a dot, 32 hex, a dot, 32 hex), so nothing was used or saved"
        ),
    }
}

pub(crate) fn parse_token_response(
    url: &Url,
    status: u16,
    body: &str,
) -> Result<TokenSet, AuthError> {
    let value = match serde_json::from_str::<Value>(body) {
        Ok(v) if v.is_object() => v,
        _ => return Err(unexpected(url, status, body)),
    };
    if is_throttle(&value) {
        return Err(AuthError::Throttled);
    }
    if let Some(err) = value.get("error").and_then(Value::as_str) {
        if status == 200 || status == 400 || status == 401 {
            return Err(AuthError::Grant(grant_error(err)));
        }
        return Err(unexpected(url, status, body));
    }
    if status != 200 {
        return Err(unexpected(url, status, body));
    }
    let access = value.get("access_token").and_then(Value::as_str);
    let api_domain = value.get("api_domain").and_then(Value::as_str);
    let (Some(access), Some(api_domain)) = (access, api_domain) else {
        return Err(unexpected(url, status, body));
    };
    if !is_token_shaped(access) {
        return Err(misshapen(url, status, "access_token"));
    }
    let refresh_token = match value.get("refresh_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if is_token_shaped(r) => Some(Secret::new(r)),
        Some(_) => return Err(misshapen(url, status, "refresh_token")),
    };
    // Kept as sent (the host rule checks it); a control character or a space is never part of a
    // URL Zoho sends.
    if api_domain.is_empty()
        || api_domain
            .chars()
            .any(|c| c.is_whitespace() || super::printable::is_unsafe(c))
    {
        return Err(AuthError::Server {
            host: host_label(url),
            status,
            detail:
                "an answer whose api_domain has spaces or control characters, so nothing was used or saved"
                    .into(),
        });
    }
    let scopes = value
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| {
            s.split([' ', ','])
                .filter(|p| !p.is_empty())
                .map(printable)
                .collect()
        })
        .unwrap_or_default();
    Ok(TokenSet {
        access_token: Secret::new(access),
        refresh_token,
        scopes,
        api_domain: api_domain.to_string(),
        expires_in: expires_in(&value),
    })
}

/// Classifies an organizations-endpoint refusal from its status and body (facts §7, §10).
pub fn api_refusal(status: u16, body: &str) -> Option<ApiRefusal> {
    api_refusal_for(None, status, body)
}

/// The organization id a Books/Inventory 6041 message names
/// (`...not associated with the CompanyID/CompanyName:<id>.`), printable.
fn named_organization(message: &str) -> Option<String> {
    let after = &message[message.rfind(':')? + 1..];
    let id = after.trim().trim_end_matches('.').trim();
    (!id.is_empty()).then(|| printable(&id.chars().take(40).collect::<String>()))
}

/// As [`api_refusal`], knowing the product called: an Invoice 403 is `NotOrgMember` whatever its
/// body says (facts §7, §10).
pub fn api_refusal_for(product: Option<Product>, status: u16, body: &str) -> Option<ApiRefusal> {
    if product == Some(Product::Invoice) && status == 403 {
        return Some(ApiRefusal::NotOrgMember { organization: None });
    }
    let value: Value = match serde_json::from_str(body) {
        Ok(v @ Value::Object(_)) => v,
        _ if matches!(status, 401 | 403) => {
            return Some(ApiRefusal::Unreadable {
                title: html_title(body),
            });
        }
        _ if status == 429 => return Some(ApiRefusal::RateLimited),
        _ => return None,
    };
    let code = value
        .get("code")
        .or_else(|| value.get("errorCode"))
        .cloned()
        .unwrap_or(Value::Null);
    let message = value.get("message").and_then(Value::as_str).unwrap_or("");
    let refusal = match (&code, status) {
        (Value::Number(n), _) => match n.as_u64() {
            Some(14) => ApiRefusal::NotAuthenticated,
            Some(57) => ApiRefusal::Code57,
            Some(6041) => ApiRefusal::NotOrgMember {
                organization: named_organization(message),
            },
            Some(9017) => ApiRefusal::NotOrgMember { organization: None },
            Some(5) => ApiRefusal::WrongPath,
            _ if status == 429 => ApiRefusal::RateLimited,
            _ if status == 403 => ApiRefusal::Forbidden,
            _ if status == 401 => ApiRefusal::Other(n.to_string()),
            _ => return None,
        },
        (Value::String(s), _) => match s.as_str() {
            "UNAUTHORIZED" | "INVALID_TICKET" => ApiRefusal::NotAuthenticated,
            "INVALID_TOKEN" | "INVALID_OAUTH" | "INVALID_OAUTHTOKEN" | "AUTHENTICATION_FAILURE" => {
                ApiRefusal::InvalidToken
            }
            "OAUTH_SCOPE_MISMATCH" => ApiRefusal::ScopeMismatch,
            "OAUTH_ORG_MISMATCH" => ApiRefusal::OrgMismatch,
            "NO_PERMISSION" | "FORBIDDEN" => ApiRefusal::Permission,
            "TOO_MANY_REQUESTS" => ApiRefusal::RateLimited,
            _ if status == 403 => ApiRefusal::Forbidden,
            other => ApiRefusal::Other(printable(other)),
        },
        (_, 429) => ApiRefusal::RateLimited,
        (_, 403) => ApiRefusal::Forbidden,
        (_, 401) => ApiRefusal::Unreadable { title: None },
        _ => return None,
    };
    Some(refusal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:9/oauth/v2/token").unwrap()
    }

    /// An obviously fake token of the right shape: `1000.` and two runs of one hex digit.
    fn fake(a: char, b: char) -> String {
        format!(
            "1000.{}.{}",
            a.to_string().repeat(32),
            b.to_string().repeat(32)
        )
    }

    #[test]
    fn success_body_from_the_real_capture_parses() {
        let (access, refresh) = (fake('a', 'b'), fake('c', 'd'));
        let body = format!(
            r#"{{"access_token":"{access}","refresh_token":"{refresh}","scope":"ZohoBooks.fullaccess.all","api_domain":"https://www.zohoapis.in","token_type":"Bearer","expires_in":3600}}"#
        );
        let t = parse_token_response(&url(), 200, &body).unwrap();
        assert_eq!(t.access_token.expose(), access);
        assert_eq!(t.refresh_token.unwrap().expose(), refresh);
        assert_eq!(t.scopes, vec!["ZohoBooks.fullaccess.all"]);
        assert_eq!(t.api_domain, "https://www.zohoapis.in");
        assert_eq!(t.expires_in, Duration::from_secs(3600));
    }

    #[test]
    fn refresh_scope_is_space_separated_and_has_no_refresh_token() {
        let body = format!(
            r#"{{"access_token":"{}","scope":"ZohoCRM.modules.ALL ZohoCRM.org.READ","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}}"#,
            fake('a', 'b')
        );
        let t = parse_token_response(&url(), 200, &body).unwrap();
        assert!(t.refresh_token.is_none());
        assert_eq!(t.scopes, vec!["ZohoCRM.modules.ALL", "ZohoCRM.org.READ"]);
    }

    #[test]
    fn expires_in_accepts_the_old_milliseconds() {
        assert_eq!(
            expires_in(&json!({"expires_in": 3600000})),
            Duration::from_secs(3600)
        );
        assert_eq!(
            expires_in(&json!({"expires_in": 3600})),
            Duration::from_secs(3600)
        );
        assert_eq!(
            expires_in(&json!({"expires_in": 3600000, "expires_in_sec": 3599})),
            Duration::from_secs(3599)
        );
    }

    #[test]
    fn http_200_error_bodies_are_grant_errors() {
        for (body, want) in [
            (r#"{"error":"invalid_code"}"#, GrantError::InvalidCode),
            (r#"{"error":"invalid_client"}"#, GrantError::InvalidClient),
            (
                r#"{"error":"invalid_client_secret"}"#,
                GrantError::InvalidClientSecret,
            ),
            (
                r#"{"error":"invalid_redirect_uri"}"#,
                GrantError::InvalidRedirectUri,
            ),
            (
                r#"{"error":"missing_org_info"}"#,
                GrantError::Other("missing_org_info".into()),
            ),
        ] {
            match parse_token_response(&url(), 200, body) {
                Err(AuthError::Grant(g)) => assert_eq!(g, want),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn throttle_at_200_400_and_localised() {
        let en = r#"{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}"#;
        let zh = r#"{"error_description":"您已连续提出过多请求，请稍后再试。","error":"拒绝访问","status":"failure"}"#;
        for (status, body) in [(200, en), (400, en), (200, zh), (400, zh)] {
            assert!(
                matches!(
                    parse_token_response(&url(), status, body),
                    Err(AuthError::Throttled)
                ),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn html_and_garbage_are_server_errors() {
        for (status, body) in [(503, "<html>down</html>"), (200, "{not json"), (500, "")] {
            assert!(matches!(
                parse_token_response(&url(), status, body),
                Err(AuthError::Server { .. })
            ));
        }
    }

    #[test]
    fn http_is_refused_unless_loopback() {
        assert!(checked_url("http://127.0.0.1:8470").is_ok());
        assert!(checked_url("https://accounts.zoho.eu").is_ok());
        assert!(matches!(
            checked_url("http://accounts.zoho.com"),
            Err(AuthError::InsecureUrl { .. })
        ));
        assert!(matches!(checked_url("ftp://x"), Err(AuthError::BadUrl(_))));
    }

    #[test]
    fn join_keeps_a_path_prefix() {
        let base = Url::parse("http://127.0.0.1:1/_dc/eu/").unwrap();
        assert_eq!(
            join(&base, "/oauth/v2/token").unwrap().as_str(),
            "http://127.0.0.1:1/_dc/eu/oauth/v2/token"
        );
    }

    #[test]
    fn api_refusals_from_facts_bodies() {
        let cases = [
            (
                401,
                r#"{"code":14,"message":"The request could not be authenticated"}"#,
                ApiRefusal::NotAuthenticated,
            ),
            (
                401,
                r#"{"code":57,"message":"You are not authorized to perform this operation"}"#,
                ApiRefusal::Code57,
            ),
            (
                401,
                r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#,
                ApiRefusal::InvalidToken,
            ),
            (
                401,
                r#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#,
                ApiRefusal::ScopeMismatch,
            ),
            (
                401,
                r#"{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}"#,
                ApiRefusal::InvalidToken,
            ),
            (
                401,
                r#"{"errorCode":"UNAUTHORIZED","message":"You are not authenticated to perform this operation."}"#,
                ApiRefusal::NotAuthenticated,
            ),
            (
                403,
                r#"{"code":1234,"message":"not an user"}"#,
                ApiRefusal::Forbidden,
            ),
            (429, "", ApiRefusal::RateLimited),
        ];
        for (status, body, want) in cases {
            assert_eq!(api_refusal(status, body), Some(want), "{body}");
        }
        assert_eq!(api_refusal(500, "<html>"), None);
    }
}
