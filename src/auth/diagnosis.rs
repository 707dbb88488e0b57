//! `Diagnosis`: what went wrong, in plain words, and the fix; with the contract's diagnosis codes
//! (`check --json`) and exit codes (design.md). No IO here.

use serde::Serialize;

use url::Url;

use super::client::{ApiRefusal, AuthError, GrantError};
use super::dc::{Dc, is_loopback};
use super::printable::printable;
use super::scopes;
use super::{Product, hosts};

/// The contract's diagnosis codes, plus the grant errors `exchange` can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Everything works.
    Ok,
    /// Client id, secret or refresh token is not configured.
    MissingCredentials,
    /// Zoho does not know the client id in this data center.
    InvalidClient,
    /// The client secret does not match the client id.
    InvalidClientSecret,
    /// The refresh token was revoked, deleted or evicted.
    RefreshTokenRevoked,
    /// Zoho's access-token throttle answered "Access Denied".
    RateLimited,
    /// The token lacks the scope the product's API needs.
    ScopeMissing,
    /// The API rejected the token (invalid or expired).
    TokenRejected,
    /// The user is not a member of the organization.
    NotOrgMember,
    /// The credentials belong to another data center.
    WrongDc,
    /// Zoho could not be reached, or timed out.
    Network,
    /// Zoho answered with a server error or a body it does not normally send.
    ServerError,
    /// The grant code is expired, already used, or from another data center.
    InvalidCode,
    /// The redirect URI does not match the one registered for the client.
    InvalidRedirectUri,
    /// The input (a code, id or secret) has the wrong shape; nothing was sent.
    BadInput,
}

impl Code {
    /// Every code, in declaration order.
    pub const ALL: [Code; 15] = [
        Code::Ok,
        Code::MissingCredentials,
        Code::InvalidClient,
        Code::InvalidClientSecret,
        Code::RefreshTokenRevoked,
        Code::RateLimited,
        Code::ScopeMissing,
        Code::TokenRejected,
        Code::NotOrgMember,
        Code::WrongDc,
        Code::Network,
        Code::ServerError,
        Code::InvalidCode,
        Code::InvalidRedirectUri,
        Code::BadInput,
    ];

    /// The string used in `check --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "ok",
            Code::MissingCredentials => "missing_credentials",
            Code::InvalidClient => "invalid_client",
            Code::InvalidClientSecret => "invalid_client_secret",
            Code::RefreshTokenRevoked => "refresh_token_revoked",
            Code::RateLimited => "rate_limited",
            Code::ScopeMissing => "scope_missing",
            Code::TokenRejected => "token_rejected",
            Code::NotOrgMember => "not_org_member",
            Code::WrongDc => "wrong_dc",
            Code::Network => "network",
            Code::ServerError => "server_error",
            Code::InvalidCode => "invalid_code",
            Code::InvalidRedirectUri => "invalid_redirect_uri",
            Code::BadInput => "bad_input",
        }
    }

    /// The code `check --json` reports: the contract's list only. An unusable value in the env
    /// file (`bad_input`) is reported as `missing_credentials`, with the same exit code 2; the
    /// exchange-only codes cannot come out of a check.
    pub fn for_check(self) -> Code {
        match self {
            Code::BadInput => Code::MissingCredentials,
            Code::InvalidCode => Code::RefreshTokenRevoked,
            Code::InvalidRedirectUri => Code::InvalidClient,
            Code::Ok
            | Code::MissingCredentials
            | Code::InvalidClient
            | Code::InvalidClientSecret
            | Code::RefreshTokenRevoked
            | Code::RateLimited
            | Code::ScopeMissing
            | Code::TokenRejected
            | Code::NotOrgMember
            | Code::WrongDc
            | Code::Network
            | Code::ServerError => self,
        }
    }

    /// The process exit code of this class (design.md "Exit codes").
    pub fn exit_code(self) -> u8 {
        match self {
            Code::Ok => 0,
            Code::MissingCredentials | Code::BadInput => 2,
            Code::InvalidClient
            | Code::InvalidClientSecret
            | Code::RefreshTokenRevoked
            | Code::InvalidCode
            | Code::InvalidRedirectUri => 3,
            Code::ScopeMissing | Code::TokenRejected | Code::NotOrgMember | Code::WrongDc => 4,
            Code::Network | Code::ServerError => 5,
            Code::RateLimited => 6,
        }
    }
}

/// What went wrong and what to do, in plain sentences. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub code: Code,
    pub message: String,
    pub fix: String,
}

impl Diagnosis {
    pub fn new(code: Code, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn ok(message: impl Into<String>) -> Self {
        Self::new(Code::Ok, message, "")
    }

    pub fn exit_code(&self) -> u8 {
        self.code.exit_code()
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.fix.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}\nFix: {}", self.message, self.fix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Code::Ok.exit_code(), 0);
        assert_eq!(Code::MissingCredentials.exit_code(), 2);
        assert_eq!(Code::InvalidCode.exit_code(), 3);
        assert_eq!(Code::RefreshTokenRevoked.exit_code(), 3);
        assert_eq!(Code::ScopeMissing.exit_code(), 4);
        assert_eq!(Code::Network.exit_code(), 5);
        assert_eq!(Code::ServerError.exit_code(), 5);
        assert_eq!(Code::RateLimited.exit_code(), 6);
    }

    #[test]
    fn check_reports_only_the_contract_codes_with_the_same_exit_class() {
        let contract = [
            "ok",
            "missing_credentials",
            "invalid_client",
            "invalid_client_secret",
            "refresh_token_revoked",
            "rate_limited",
            "scope_missing",
            "token_rejected",
            "not_org_member",
            "wrong_dc",
            "network",
            "server_error",
        ];
        for code in Code::ALL {
            assert!(contract.contains(&code.for_check().as_str()), "{code:?}");
            assert_eq!(code.for_check().exit_code(), code.exit_code(), "{code:?}");
        }
    }

    #[test]
    fn json_names_are_snake_case() {
        assert_eq!(
            serde_json::to_string(&Code::RefreshTokenRevoked).unwrap(),
            "\"refresh_token_revoked\""
        );
        assert_eq!(Code::NotOrgMember.as_str(), "not_org_member");
    }
}

impl Code {
    /// The code named by its `check --json` string (`"scope_missing"`).
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// Reads the diagnosis out of an error someone saw: a Zoho response body, a log line, an HTTP
/// status line, or `zoho-auth check --json` output. As a configured app sees it: an
/// `invalid_code` there comes from refreshing, so it means the refresh token is dead.
/// `None` when the text names no error this tool knows.
pub fn from_error_text(text: &str) -> Option<Code> {
    let lower = text.to_ascii_lowercase();
    if let Some(name) = json_string_after(&lower, "\"diagnosis\"")
        && let Some(code) = Code::from_name(&name)
    {
        return Some(code);
    }
    let has = |s: &str| lower.contains(s);
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let word = |w: &str| words.contains(&w);
    // Names first: they are the most specific.
    let named: [(&str, Code); 14] = [
        ("invalid_client_secret", Code::InvalidClientSecret),
        ("invalid_client", Code::InvalidClient),
        ("invalid_redirect_uri", Code::InvalidRedirectUri),
        ("invalid_code", Code::RefreshTokenRevoked),
        ("oauth_scope_mismatch", Code::ScopeMissing),
        ("oauth_org_mismatch", Code::NotOrgMember),
        ("access denied", Code::RateLimited),
        ("too many requests", Code::RateLimited),
        ("invalid_token", Code::TokenRejected),
        ("invalid_oauth", Code::TokenRejected),
        ("authentication_failure", Code::TokenRejected),
        ("unauthorized", Code::TokenRejected),
        ("forbidden", Code::NotOrgMember),
        ("iamsecurityerror", Code::ServerError),
    ];
    for (needle, code) in named {
        // "Access Denied" alone is the throttle; next to a status 403 it is not.
        if needle == "access denied" && word("403") {
            continue;
        }
        if has(needle) {
            return Some(code);
        }
    }
    // Books-family `{"code":57,...}` / `{"code":14,...}`.
    match json_number_after(&lower, "\"code\"") {
        Some(57 | 14) => return Some(Code::TokenRejected),
        Some(6041 | 9017) => return Some(Code::NotOrgMember),
        _ => {}
    }
    if word("57") && (word("code") || word("error")) {
        return Some(Code::TokenRejected);
    }
    if word("401") {
        return Some(Code::TokenRejected);
    }
    if word("403") {
        return Some(Code::NotOrgMember);
    }
    if word("429") {
        return Some(Code::RateLimited);
    }
    let server = [
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
    ];
    if server.iter().any(|s| has(s)) || ["500", "502", "503", "504"].iter().any(|n| word(n)) {
        return Some(Code::ServerError);
    }
    let network = [
        "connection refused",
        "connection reset",
        "timed out",
        "timeout",
        "could not resolve",
        "dns error",
        "name or service not known",
        "econnrefused",
        "etimedout",
        "enotfound",
    ];
    if network.iter().any(|s| has(s)) {
        return Some(Code::Network);
    }
    None
}

/// The number after `"key":` (spaces allowed), as in `{"code":57}`.
fn json_number_after(text: &str, key: &str) -> Option<u64> {
    let rest = text[text.find(key)? + key.len()..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The string after `"key":` (spaces allowed), as in `{"diagnosis":"ok"}`.
fn json_string_after(text: &str, key: &str) -> Option<String> {
    let rest = text[text.find(key)? + key.len()..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod error_text_tests {
    use super::*;

    #[test]
    fn zoho_bodies_and_log_lines_name_their_diagnosis() {
        let cases: [(&str, Code); 23] = [
            (
                r#"{"code":57,"message":"You are not authorized to perform this operation"}"#,
                Code::TokenRejected,
            ),
            (
                r#"{"code": 14, "message":"Invalid value passed for Authorization"}"#,
                Code::TokenRejected,
            ),
            (r#"{"error":"invalid_code"}"#, Code::RefreshTokenRevoked),
            (r#"{"error":"invalid_client"}"#, Code::InvalidClient),
            (
                r#"{"error":"invalid_client_secret"}"#,
                Code::InvalidClientSecret,
            ),
            ("HTTP/1.1 401 Unauthorized", Code::TokenRejected),
            ("request failed with status 401", Code::TokenRejected),
            (
                r#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#,
                Code::ScopeMissing,
            ),
            (
                r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#,
                Code::TokenRejected,
            ),
            (
                r#"{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}"#,
                Code::TokenRejected,
            ),
            (
                r#"{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}"#,
                Code::RateLimited,
            ),
            ("HTTP 429", Code::RateLimited),
            (r#"{"errorCode":"OAUTH_ORG_MISMATCH"}"#, Code::NotOrgMember),
            ("403 Forbidden", Code::NotOrgMember),
            ("HTTP 403 Access Denied", Code::NotOrgMember),
            ("503 Service Unavailable", Code::ServerError),
            ("upstream answered 502", Code::ServerError),
            ("error sending request: connection refused", Code::Network),
            ("operation timed out", Code::Network),
            (
                r#"{"ok":false,"diagnosis":"scope_missing","message":"x"}"#,
                Code::ScopeMissing,
            ),
            ("zoho error code 57 on GET /invoices", Code::TokenRejected),
            (r#"{"code" : 57}"#, Code::TokenRejected),
            (r#"  {"error":"INVALID_CODE"}  "#, Code::RefreshTokenRevoked),
        ];
        for (text, code) in cases {
            assert_eq!(from_error_text(text), Some(code), "{text}");
        }
    }

    #[test]
    fn unknown_text_names_nothing() {
        for text in [
            "",
            "hello",
            r#"{"code":0,"message":"success"}"#,
            "order 4011 shipped",
        ] {
            assert_eq!(from_error_text(text), None, "{text}");
        }
    }

    #[test]
    fn code_names_round_trip() {
        assert_eq!(
            Code::from_name("refresh_token_revoked"),
            Some(Code::RefreshTokenRevoked)
        );
        assert_eq!(Code::from_name(" OK "), Some(Code::Ok));
        assert_eq!(Code::from_name("nope"), None);
    }
}

/// Where an error happened, and what is known then, to explain it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Exchanging a grant code.
    Exchange,
    /// Refreshing an access token.
    Refresh,
    /// The organizations probe.
    Probe,
    /// Revoking a token.
    Revoke,
}

/// What the diagnosis may use beyond the error itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub phase: Phase,
    pub product: Option<Product>,
    /// The scopes the token carries (Zoho's `scope`), else the scopes requested.
    pub scopes: &'a [String],
    /// The accounts server the request went to, for the message.
    pub accounts_host: &'a str,
    /// The grant's `api_domain` (as Zoho returned it), when known: an API refusal at a host of
    /// another data center is `wrong_dc`, not a dead token (facts §10).
    pub api_domain: Option<&'a str>,
    /// The grant's data center (its `location`, `ZOHO_DC`), when known and no `api_domain` is.
    pub dc: Option<Dc>,
}

/// Turns an error into what went wrong and the fix, in plain words.
pub fn from_error(err: &AuthError, ctx: &Context<'_>) -> Diagnosis {
    match err {
        AuthError::Grant(grant) => from_grant(grant, ctx),
        AuthError::Throttled => Diagnosis::new(
            Code::RateLimited,
            "Zoho answered \"Access Denied: too many requests\": it mints at most 10 access tokens per refresh token in 10 minutes.",
            "Wait up to 10 minutes before trying again, and reuse each access token for its hour (`zoho-auth token` caches it).",
        ),
        AuthError::Network { host, detail } if is_loopback_host(host) => Diagnosis::new(
            Code::Network,
            format!(
                "Could not reach {host}: {detail}. That is a local address: the sandbox at http://{host} is not running."
            ),
            "Start it with `zoho-auth sandbox` in another terminal (it must listen on that address), then try again. Nothing was changed.",
        ),
        AuthError::Network { host, detail } => Diagnosis::new(
            Code::Network,
            format!("Could not reach {host}: {detail}."),
            "Check your internet connection, proxy or firewall, and the accounts URL; then try again. Nothing was changed.",
        ),
        AuthError::Timeout { host, seconds } => Diagnosis::new(
            Code::Network,
            format!("{host} did not answer within {seconds} seconds."),
            "Try again in a moment; if it keeps happening, check your connection or Zoho's status page. Nothing was changed.",
        ),
        AuthError::Server {
            host,
            status,
            detail,
        } => Diagnosis::new(
            Code::ServerError,
            format!("{host} answered HTTP {status} with {detail}."),
            "This is on Zoho's side or a proxy in between: try again in a few minutes. Nothing was changed.",
        ),
        AuthError::InsecureUrl { url } => Diagnosis::new(
            Code::BadInput,
            format!("Refusing to send credentials over plain http:// to {url}."),
            "Use the https:// address (plain http is accepted only for loopback addresses such as the sandbox).",
        ),
        AuthError::BadUrl(what) => Diagnosis::new(
            Code::BadInput,
            format!("Bad URL: {what}."),
            "Pass a full URL such as https://accounts.zoho.eu.",
        ),
        AuthError::Api {
            status,
            refusal,
            called,
        } => from_refusal(*status, refusal, called, ctx),
    }
}

fn from_grant(grant: &GrantError, ctx: &Context<'_>) -> Diagnosis {
    let host = ctx.accounts_host;
    match (grant, ctx.phase) {
        (GrantError::InvalidCode, Phase::Refresh | Phase::Revoke) => Diagnosis::new(
            Code::RefreshTokenRevoked,
            format!(
                "{host} no longer accepts the refresh token (invalid_code): it was revoked, the app was removed from Connected Apps, the password was reset, or it was the oldest of more than 20 refresh tokens for this client and Zoho deleted it."
            ),
            "Get a new one: run `zoho-auth reauth` (or `zoho-auth setup`).",
        ),
        (GrantError::InvalidCode, _) => Diagnosis::new(
            Code::InvalidCode,
            format!(
                "{host} did not accept the code (invalid_code): it expired, was already used, or was generated in another data center."
            ),
            "Generate a new code (API console > Self Client > Generate Code) and exchange it before it expires; if you sign in to Zoho at another domain (zoho.eu, zoho.in, zohocloud.ca...), choose that data center.",
        ),
        (GrantError::InvalidClient, _) => Diagnosis::new(
            Code::InvalidClient,
            format!(
                "{host} does not know this client id (invalid_client): the client belongs to another data center, was deleted, or is not enabled for this data center."
            ),
            "Check the data center; in the API console, open the client's Settings tab and enable this data center (Multi-DC), or copy the client id again.",
        ),
        (GrantError::InvalidClientSecret, _) => Diagnosis::new(
            Code::InvalidClientSecret,
            "The client secret does not match the client id (invalid_client_secret).",
            "Copy the secret again from the API console (the client's Client Secret tab). With Multi-DC enabled without shared credentials, each data center has its own secret.",
        ),
        (GrantError::InvalidRedirectUri, _) => Diagnosis::new(
            Code::InvalidRedirectUri,
            "The redirect URI does not match the one registered for this client (invalid_redirect_uri).",
            "Pass exactly the Authorized Redirect URI shown in the API console (--redirect-uri), character for character; a Self Client needs none.",
        ),
        (GrantError::Other(code), Phase::Refresh | Phase::Revoke) => Diagnosis::new(
            Code::RefreshTokenRevoked,
            format!("{host} refused the refresh token with error \"{code}\"."),
            "Get a new one: run `zoho-auth reauth` (or `zoho-auth setup`).",
        ),
        (GrantError::Other(code), _) => Diagnosis::new(
            Code::InvalidCode,
            format!("{host} refused the request with error \"{code}\"."),
            "Check the client type and the parameters; generate a new code and try again.",
        ),
    }
}

/// A host label (`127.0.0.1:8470`, `[::1]:1`, `localhost`) on this machine.
fn is_loopback_host(host: &str) -> bool {
    Url::parse(&format!("http://{host}/")).is_ok_and(|u| is_loopback(&u))
}

/// The data center of a URL: a Zoho host's, or on loopback (the sandbox) the `/_dc/{code}` path
/// prefix, the primary `us` without one. The flag says whether the URL is loopback.
fn dc_of(url: &str) -> Option<(Dc, bool)> {
    let parsed = Url::parse(url.trim()).ok()?;
    if is_loopback(&parsed) {
        let dc = match parsed.path().strip_prefix("/_dc/") {
            Some(rest) => hosts::location(rest.split('/').next().unwrap_or(""))?,
            None => Dc::Us,
        };
        return Some((dc, true));
    }
    Dc::from_url(url).map(|dc| (dc, false))
}

/// The grant's data center and the called host's, when both are known (and both loopback or
/// both not) and they differ.
fn other_dc(called: &str, ctx: &Context<'_>) -> Option<(Dc, Dc)> {
    let (at, at_loopback) = dc_of(called)?;
    let grant = match ctx.api_domain.and_then(dc_of) {
        Some((dc, loopback)) => (dc, loopback),
        None => (ctx.dc?, at_loopback),
    };
    (grant.1 == at_loopback && grant.0 != at).then_some((grant.0, at))
}

fn from_refusal(status: u16, refusal: &ApiRefusal, called: &str, ctx: &Context<'_>) -> Diagnosis {
    let product = ctx.product.map(|p| p.name()).unwrap_or("The Zoho API");
    let scope_missing = |what: &str| {
        let add = ctx
            .product
            .and_then(|p| scopes::missing_for_probe(p, ctx.scopes))
            .unwrap_or("the product's settings/org scope");
        Diagnosis::new(
            Code::ScopeMissing,
            format!(
                "{product} refused the token ({what}): it does not carry the scope needed to list organizations."
            ),
            format!(
                "Run `zoho-auth reauth`: it adds {add} to the scopes for you; then generate the new code and exchange it."
            ),
        )
    };
    let lacks_scope = ctx
        .product
        .is_some_and(|p| !ctx.scopes.is_empty() && !scopes::grants_probe(p, ctx.scopes));
    let token_refusal = matches!(
        refusal,
        ApiRefusal::Code57
            | ApiRefusal::InvalidToken
            | ApiRefusal::NotAuthenticated
            | ApiRefusal::Unreadable { .. }
            | ApiRefusal::Other(_)
    );
    if token_refusal && let Some((grant, at)) = other_dc(called, ctx) {
        let fix = match ctx.api_domain {
            Some(api) => format!(
                "Call the API at the grant's api_domain {} (ZOHO_API_DOMAIN), not at a host of {}; if the account really is in {}, run `zoho-auth reauth` and choose that data center.",
                printable(api),
                at.name(),
                at.name()
            ),
            None => format!(
                "Use the API host of {} ({}), or run `zoho-auth reauth` and choose the data center you sign in to.",
                grant.name(),
                grant.api_domain()
            ),
        };
        return Diagnosis::new(
            Code::WrongDc,
            format!(
                "{product} at {} ({}) refused the token (HTTP {status}), but the token belongs to {} ({}): Zoho answers a token of another data center exactly like a dead one.",
                printable(called),
                at.name(),
                grant.name(),
                grant.code()
            ),
            fix,
        );
    }
    match refusal {
        ApiRefusal::ScopeMismatch => scope_missing("OAUTH_SCOPE_MISMATCH"),
        ApiRefusal::Code57 if lacks_scope => scope_missing("code 57"),
        ApiRefusal::Code57 | ApiRefusal::InvalidToken | ApiRefusal::Other(_) => {
            if lacks_scope {
                return scope_missing("invalid token");
            }
            Diagnosis::new(
                Code::TokenRejected,
                format!(
                    "{product} rejected a freshly minted token (HTTP {status}) although it carries the needed scope. The remaining causes: your Zoho user has no role (or not enough permission) in that organization, or the organization lives in another data center than the one the token came from."
                ),
                "Check in Zoho that this user belongs to the organization with an admin or API-enabled role, and that you chose the data center you sign in to; then run `zoho-auth reauth`.",
            )
        }
        ApiRefusal::NotAuthenticated => Diagnosis::new(
            Code::TokenRejected,
            format!("{product} did not see a valid Authorization header (HTTP {status})."),
            "Send the header as `Authorization: Zoho-oauthtoken <access token>`; if a proxy strips headers, bypass it.",
        ),
        ApiRefusal::Unreadable { title } => Diagnosis::new(
            Code::TokenRejected,
            format!(
                "{product} refused the token with HTTP {status} and {} instead of its JSON error. Zoho answers this way to a token it does not accept at this host, which is often a host of another data center.",
                match title {
                    Some(t) => format!("an HTML page titled \"{}\"", printable(t)),
                    None => "no readable body".to_string(),
                }
            ),
            "Check that the API host belongs to the data center you sign in to (ZOHO_API_DOMAIN, --api-domain), then run `zoho-auth check`; if it still fails, run `zoho-auth reauth`.",
        ),
        ApiRefusal::Forbidden => Diagnosis::new(
            Code::NotOrgMember,
            format!(
                "{product} answered HTTP 403: the signed-in user is not a member of the organization, or the profile lacks API access."
            ),
            "Ask an admin of the organization to invite this user (or grant API access to the profile), or sign in as a member, then run `zoho-auth reauth`.",
        ),
        ApiRefusal::NotOrgMember { organization } => Diagnosis::new(
            Code::NotOrgMember,
            match organization {
                Some(id) => format!(
                    "{product} says the signed-in user is not a member of the organization {} (HTTP {status}).",
                    printable(id)
                ),
                None => format!(
                    "{product} says the signed-in user is not a member of any {product} organization, or not of the one asked for (HTTP {status})."
                ),
            },
            "Use an organization id from the list `zoho-auth check` prints (ZOHO_ORGANIZATION_ID), ask an admin of that organization to invite this user, or sign in as a member and run `zoho-auth reauth`.",
        ),
        ApiRefusal::Permission => Diagnosis::new(
            Code::NotOrgMember,
            format!(
                "{product} accepted the token but refused the request for lack of permission (HTTP {status}): the user's role or profile (for Desk, the department) does not allow it. This is not a token problem; consenting again does not change it."
            ),
            "Ask an admin to give this user the permission (Desk: add the user to the department; CRM: enable API access on the profile). The token itself is fine.",
        ),
        ApiRefusal::WrongPath => Diagnosis::new(
            Code::ServerError,
            format!(
                "{product} answered that the path {} does not exist there (HTTP {status}). This is not a token problem: the token was not judged.",
                printable(called)
            ),
            "Check the API host (ZOHO_API_DOMAIN, --api-domain) and --product: the organizations endpoint is on the product's own API domain. Re-consent does not help.",
        ),
        ApiRefusal::OrgMismatch => Diagnosis::new(
            Code::NotOrgMember,
            format!(
                "{product} says the token is not valid for that organization (OAUTH_ORG_MISMATCH)."
            ),
            "Use an organization id from the list `zoho-auth check` prints, or sign in as a member of that organization.",
        ),
        ApiRefusal::RateLimited => Diagnosis::new(
            Code::RateLimited,
            format!("{product} is rate-limiting this account (HTTP {status})."),
            "Wait a few minutes and try again; spread API calls out.",
        ),
    }
}

/// `wrong_dc`: the credentials work at another data center than the one configured.
pub fn wrong_dc(configured: super::Dc, actual: super::Dc) -> Diagnosis {
    Diagnosis::new(
        Code::WrongDc,
        format!(
            "The env file says {} ({}), but Zoho placed this account in {} ({}).",
            configured.name(),
            configured.code(),
            actual.name(),
            actual.code()
        ),
        format!(
            "Set ZOHO_DC={} and ZOHO_ACCOUNTS_URL={} (running `zoho-auth reauth` does it).",
            actual.code(),
            actual.accounts_url()
        ),
    )
}

#[cfg(test)]
mod refusal_tests {
    use super::*;

    fn ctx<'a>(api_domain: Option<&'a str>, dc: Option<Dc>) -> Context<'a> {
        Context {
            phase: Phase::Probe,
            product: Some(Product::Crm),
            scopes: &[],
            accounts_host: "accounts.zoho.eu",
            api_domain,
            dc,
        }
    }

    fn invalid_token_at(called: &str) -> AuthError {
        AuthError::Api {
            status: 401,
            refusal: ApiRefusal::InvalidToken,
            called: called.into(),
        }
    }

    #[test]
    fn a_refusal_at_another_dcs_host_is_wrong_dc_from_api_domain_or_location() {
        let at_us = invalid_token_at("https://www.zohoapis.com/crm/v8/org");
        let eu = Some("https://www.zohoapis.eu");
        assert_eq!(from_error(&at_us, &ctx(eu, None)).code, Code::WrongDc);
        assert_eq!(
            from_error(&at_us, &ctx(None, Some(Dc::Eu))).code,
            Code::WrongDc
        );
        // The api_domain wins over a stale location.
        let us = Some("https://www.zohoapis.com");
        assert_eq!(
            from_error(&at_us, &ctx(us, Some(Dc::Eu))).code,
            Code::TokenRejected
        );
        // Desk's own host is the same DC as www.zohoapis.eu.
        let desk = invalid_token_at("https://desk.zoho.eu/api/v1/organizations");
        assert_eq!(from_error(&desk, &ctx(eu, None)).code, Code::TokenRejected);
        // Nothing known: a dead token.
        assert_eq!(
            from_error(&at_us, &ctx(None, None)).code,
            Code::TokenRejected
        );
        // A scope problem is not a data-center one.
        let scope = AuthError::Api {
            status: 401,
            refusal: ApiRefusal::ScopeMismatch,
            called: "https://www.zohoapis.com/crm/v8/org".into(),
        };
        assert_eq!(from_error(&scope, &ctx(eu, None)).code, Code::ScopeMissing);
    }

    /// Issue 13 item 4: it is `reauth` that adds the missing scope, not `setup`.
    #[test]
    fn scope_missing_says_reauth_adds_the_scope() {
        let scope = AuthError::Api {
            status: 401,
            refusal: ApiRefusal::ScopeMismatch,
            called: "https://www.zohoapis.com/crm/v8/org".into(),
        };
        let d = from_error(&scope, &ctx(None, None));
        assert_eq!(d.code, Code::ScopeMissing);
        assert!(d.fix.contains("`zoho-auth reauth`: it adds"), "{d}");
        assert!(!d.fix.contains("zoho-auth setup"), "{d}");
    }

    #[test]
    fn a_network_error_on_loopback_names_the_sandbox() {
        for host in ["127.0.0.1:8470", "localhost:1", "[::1]:9"] {
            let d = from_error(
                &AuthError::Network {
                    host: host.into(),
                    detail: "connection refused or unreachable".into(),
                },
                &ctx(None, None),
            );
            assert_eq!(d.code, Code::Network);
            assert!(d.message.contains("sandbox"), "{d}");
            assert!(!d.to_string().contains("internet"), "{d}");
        }
        let d = from_error(
            &AuthError::Network {
                host: "accounts.zoho.com".into(),
                detail: "connection refused or unreachable".into(),
            },
            &ctx(None, None),
        );
        assert!(d.fix.contains("internet"), "{d}");
    }

    #[test]
    fn books_membership_codes_in_pasted_text() {
        assert_eq!(
            from_error_text(
                r#"{"code":6041,"message":"This user is not associated with the CompanyID/CompanyName:1."}"#
            ),
            Some(Code::NotOrgMember)
        );
        assert_eq!(
            from_error_text(
                r#"{"code":9017,"message":"This user is not associated with any organization."}"#
            ),
            Some(Code::NotOrgMember)
        );
    }
}
