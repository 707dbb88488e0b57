//! Browser sign-in for a server-based client (facts §1, §5): the authorization URL, and a one-shot
//! HTTP listener on the loopback address and port of the redirect URI. The listener binds exactly
//! the redirect URI's host and port (for `localhost`, 127.0.0.1 and its IPv6 twin [::1], and says
//! so), answers only requests whose `Host` is the redirect URI's (others get 421 and are ignored),
//! serves the redirect path only (anything else gets 404 and the wait goes on), reads Zoho's
//! redirect (`state` first, `code`, `location`, the percent-encoded `accounts-server`, a trailing
//! `&`), answers the browser tab with a short page and shuts down.
//! No terminal IO here: the caller prints the URL, the addresses, the warnings, and opens the browser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use url::Url;

use super::client::{AuthError, join};
use super::dc::is_loopback;
use super::diagnosis::{Code, Diagnosis};
use super::printable::printable;
use super::{Secret, scopes};

/// The redirect URI used when none is given. Register exactly this in the API console.
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:8085/callback";

/// Why a browser sign-in did not produce a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoopbackError {
    /// The redirect URI is not on this machine, so no listener here could receive it.
    #[error("the redirect URI {uri} is not a loopback address")]
    NotLoopback { uri: String },
    /// The redirect URI cannot be served (not a URL, https, a fragment, credentials).
    #[error("the redirect URI {uri} cannot be used: {reason}")]
    BadRedirectUri { uri: String, reason: String },
    /// The port is taken or the address is not available.
    #[error("cannot listen on {addr}: {detail}")]
    Bind { addr: String, detail: String },
    /// The callback's `state` is not the one sent: not our sign-in, or a forged request.
    #[error("the callback's state does not match")]
    StateMismatch,
    /// The person refused consent (`error=access_denied`).
    #[error("access was denied")]
    Denied,
    /// Zoho redirected with another `error` value.
    #[error("Zoho redirected with error {error:?}")]
    Refused { error: String },
    /// The callback carries neither `code` nor `error`.
    #[error("the callback carries no code")]
    MissingCode,
    /// Nothing arrived in time.
    #[error("no sign-in arrived within {seconds} s")]
    TimedOut { seconds: u64, redirect_uri: String },
    /// The listener stopped on its own (it should not).
    #[error("the local listener stopped unexpectedly")]
    Stopped,
}

impl LoopbackError {
    /// What went wrong and the fix, in plain words. Input problems exit 2, a refused or missing
    /// grant exits 3.
    pub fn diagnosis(&self) -> Diagnosis {
        let register = |uri: &str| {
            format!(
                "Register a loopback redirect URI for the client in the API console (Client > Authorized Redirect URIs), e.g. {DEFAULT_REDIRECT_URI}, and pass exactly it with --redirect-uri{}.",
                if uri == DEFAULT_REDIRECT_URI {
                    String::new()
                } else {
                    format!(" (got {uri})")
                }
            )
        };
        match self {
            LoopbackError::NotLoopback { uri } => Diagnosis::new(
                Code::BadInput,
                format!(
                    "The redirect URI {uri} is not on this machine (localhost, 127.0.0.1 or [::1]): zoho-auth could not receive the browser's redirect there. Nothing was sent."
                ),
                format!(
                    "{} For a redirect to a web server, sign in there and paste the code with `zoho-auth exchange --code URL --redirect-uri {uri}`.",
                    register(uri)
                ),
            ),
            LoopbackError::BadRedirectUri { uri, reason } => Diagnosis::new(
                Code::BadInput,
                format!("The redirect URI {uri} cannot be used: {reason}. Nothing was sent."),
                register(uri),
            ),
            LoopbackError::Bind { addr, detail } => Diagnosis::new(
                Code::BadInput,
                format!(
                    "Cannot listen on {addr} for the browser's redirect: {detail}. Nothing was sent."
                ),
                "Stop the program that uses this port, or register another loopback redirect URI (another port) in the API console and pass it with --redirect-uri.",
            ),
            LoopbackError::StateMismatch => Diagnosis::new(
                Code::InvalidCode,
                "The redirect that reached zoho-auth does not carry the state it sent: it belongs to another sign-in, or it was forged. The code was not used.",
                "Run `zoho-auth login --browser` again and finish the sign-in in the tab it opens (or the URL it prints).",
            ),
            LoopbackError::Denied => Diagnosis::new(
                Code::InvalidCode,
                "Access was denied on Zoho's consent page (access_denied): no token was issued.",
                "Run `zoho-auth login --browser` again and choose Accept; to use other scopes, pass --scopes.",
            ),
            LoopbackError::Refused { error } => Diagnosis::new(
                Code::InvalidCode,
                format!("Zoho redirected back with the error {error:?} instead of a code."),
                "Check the client id, the scopes and the redirect URI in the API console, then run `zoho-auth login --browser` again.",
            ),
            LoopbackError::MissingCode => Diagnosis::new(
                Code::InvalidCode,
                "The redirect reached zoho-auth without a code.",
                "Run `zoho-auth login --browser` again and finish the sign-in in the browser.",
            ),
            LoopbackError::TimedOut {
                seconds,
                redirect_uri,
            } => Diagnosis::new(
                Code::InvalidCode,
                format!("No sign-in came back within {}.", human_duration(*seconds)),
                format!(
                    "Run `zoho-auth login --browser` again and finish in the browser (--timeout SECONDS gives more time). If Zoho showed an error about the redirect URI, register exactly {redirect_uri} for the client in the API console. Without a browser here, use `zoho-auth login --device` or the Self Client paste (`zoho-auth exchange`)."
                ),
            ),
            LoopbackError::Stopped => Diagnosis::new(
                Code::ServerError,
                "zoho-auth's local listener stopped before the sign-in arrived (internal error).",
                "Run `zoho-auth login --browser` again; if it happens again, report it.",
            ),
        }
    }
}

/// `300` → "5 minutes", `90` → "90 seconds".
pub fn human_duration(seconds: u64) -> String {
    match seconds {
        1 => "1 second".into(),
        60 => "1 minute".into(),
        s if s >= 120 && s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// A redirect URI this machine can listen on: `http://`, a loopback host, no fragment. Keeps the
/// text exactly as given: Zoho compares it character for character with the registered one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri {
    text: String,
    url: Url,
}

impl RedirectUri {
    pub fn parse(value: &str) -> Result<RedirectUri, LoopbackError> {
        let text = value.trim().to_string();
        let bad = |reason: &str| LoopbackError::BadRedirectUri {
            uri: text.clone(),
            reason: reason.to_string(),
        };
        let url = Url::parse(&text).map_err(|e| bad(&format!("it is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("it must start with http://"));
        }
        if !is_loopback(&url) {
            return Err(LoopbackError::NotLoopback { uri: text });
        }
        if url.scheme() != "http" {
            return Err(bad(
                "a local listener cannot serve https; register an http://localhost URI",
            ));
        }
        if url.fragment().is_some() {
            return Err(bad("a redirect URI cannot have a #fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("a redirect URI cannot carry a user name or password"));
        }
        Ok(RedirectUri { text, url })
    }

    /// The URI exactly as given, for the authorization URL, the exchange and the API console.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }

    /// The path the listener answers (`/callback`).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The addresses to listen on, each with whether it is required: `localhost` is 127.0.0.1
    /// (required) and [::1] (when available: some browsers try it first).
    fn bind_addrs(&self) -> Vec<(SocketAddr, bool)> {
        let port = self.port();
        match self.url.host() {
            Some(url::Host::Ipv4(ip)) => vec![(SocketAddr::new(IpAddr::V4(ip), port), true)],
            Some(url::Host::Ipv6(ip)) => vec![(SocketAddr::new(IpAddr::V6(ip), port), true)],
            _ => vec![
                (SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port), true),
                (
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
                    false,
                ),
            ],
        }
    }
}

impl Default for RedirectUri {
    fn default() -> Self {
        RedirectUri::parse(DEFAULT_REDIRECT_URI).expect("the default redirect URI is valid")
    }
}

/// What goes into the authorization URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub redirect_uri: &'a RedirectUri,
    /// A fresh [`new_state`], checked on the way back.
    pub state: &'a str,
}

/// `{accounts}/oauth/v2/auth?scope=A,B&client_id=..&response_type=code&access_type=offline&
/// prompt=consent&redirect_uri=..&state=..` (facts §5): offline and consent so that Zoho issues a
/// refresh token even when the user consented before. Pure.
pub fn authorization_url(accounts: &Url, req: &AuthorizationRequest<'_>) -> Result<Url, AuthError> {
    let mut url = join(accounts, "/oauth/v2/auth")?;
    url.query_pairs_mut()
        .append_pair("scope", &scopes::join(req.scopes))
        .append_pair("client_id", req.client_id)
        .append_pair("response_type", "code")
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("redirect_uri", req.redirect_uri.as_str())
        .append_pair("state", req.state);
    Ok(url)
}

/// A random `state`: 128 bits, hex.
pub fn new_state() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes[..]);
    hex::encode(bytes)
}

/// What the redirect carried.
#[derive(Debug, Clone)]
pub struct Callback {
    pub code: Secret,
    /// `location`, e.g. `in`.
    pub location: Option<String>,
    /// `accounts-server`, percent-decoded, e.g. `https://accounts.zoho.in`.
    pub accounts_server: Option<String>,
}

/// Reads a redirect's query. `state` must match (on an error redirect too, when it is echoed);
/// `error=access_denied` is a denial. Pure.
pub fn read_callback(query: &str, expected_state: &str) -> Result<Callback, LoopbackError> {
    let mut state = None;
    let mut code = None;
    let mut error = None;
    let mut location = None;
    let mut accounts_server = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "state" => &mut state,
            "code" => &mut code,
            "error" => &mut error,
            "location" => &mut location,
            "accounts-server" => &mut accounts_server,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.into_owned());
        }
    }
    let state_ok = state.as_deref() == Some(expected_state);
    if let Some(error) = error {
        if state.is_some() && !state_ok {
            return Err(LoopbackError::StateMismatch);
        }
        return Err(if error == "access_denied" {
            LoopbackError::Denied
        } else {
            LoopbackError::Refused {
                error: printable(&error),
            }
        });
    }
    if !state_ok {
        return Err(LoopbackError::StateMismatch);
    }
    let code = code
        .filter(|c| !c.trim().is_empty())
        .ok_or(LoopbackError::MissingCode)?;
    Ok(Callback {
        code: Secret::new(code.trim()),
        location: location.filter(|l| !l.is_empty()).map(|l| printable(&l)),
        accounts_server: accounts_server.filter(|a| !a.is_empty()),
    })
}

/// A bound listener, not yet serving. Bind first (a busy port fails before anything is sent or
/// opened), tell the user [`Listener::listening_on`] and [`Listener::warnings`], then
/// [`Listener::wait_for_redirect`].
#[derive(Debug)]
pub struct Listener {
    listeners: Vec<TcpListener>,
    redirect: RedirectUri,
    warnings: Vec<String>,
}

/// The other loopback address family's address on the same port: [::1] for 127.0.0.1 and back.
fn twin(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port()),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port()),
    }
}

fn twin_warning(twin: SocketAddr, redirect: &RedirectUri, localhost: bool) -> String {
    let what = if localhost {
        format!(
            "a browser that resolves localhost to {} would reach that program instead of zoho-auth, and it would receive the sign-in code",
            twin.ip()
        )
    } else {
        "it is not the address of the redirect URI, so the sign-in still comes here, but that program may be waiting for this sign-in too".to_string()
    };
    format!(
        "{twin} (the {} twin of {}) is held by another program: {what}. If the sign-in does not arrive, stop that program or use another port.",
        if twin.is_ipv6() { "IPv6" } else { "IPv4" },
        redirect.as_str()
    )
}

impl Listener {
    /// Binds the redirect URI's loopback address and port: a literal address alone; `localhost`
    /// as 127.0.0.1 (required) and [::1] (when this machine has it: some browsers try it first).
    /// Notes a warning when the other family's twin of the port is held by another program.
    pub async fn bind(redirect: &RedirectUri) -> Result<Listener, LoopbackError> {
        let mut listeners = Vec::new();
        let mut warnings = Vec::new();
        let localhost = matches!(redirect.url.host(), Some(url::Host::Domain(_)));
        for (mut addr, required) in redirect.bind_addrs() {
            // Port 0 (tests): the twin takes the port the first address got.
            if addr.port() == 0
                && let Some(first) = listeners
                    .first()
                    .and_then(|l: &TcpListener| l.local_addr().ok())
            {
                addr.set_port(first.port());
            }
            match TcpListener::bind(addr).await {
                Ok(l) => listeners.push(l),
                Err(e) if required => {
                    return Err(LoopbackError::Bind {
                        addr: addr.to_string(),
                        detail: bind_detail(&e),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    warnings.push(twin_warning(addr, redirect, true));
                }
                Err(_) => {}
            }
        }
        if !localhost
            && let Some(bound) = listeners.first().and_then(|l| l.local_addr().ok())
            && bound.port() != 0
        {
            let other = twin(bound);
            if let Err(e) = std::net::TcpListener::bind(other)
                && e.kind() == std::io::ErrorKind::AddrInUse
            {
                warnings.push(twin_warning(other, redirect, false));
            }
        }
        Ok(Listener {
            listeners,
            redirect: redirect.clone(),
            warnings,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> Option<u16> {
        self.listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// Every address bound, the redirect URI's first.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// What is listening, for the user: `127.0.0.1:8085`, or `127.0.0.1:8085 and [::1]:8085 (the
    /// IPv6 twin of localhost)`.
    pub fn listening_on(&self) -> String {
        let addrs = self.addresses();
        match addrs.as_slice() {
            [] => "nothing".to_string(),
            [one] => one.to_string(),
            [first, rest @ ..] => {
                let rest: Vec<String> = rest.iter().map(ToString::to_string).collect();
                format!(
                    "{first} and {} (the {} twin of localhost)",
                    rest.join(", "),
                    if rest.len() == 1 && addrs[1].is_ipv6() {
                        "IPv6"
                    } else {
                        "other"
                    }
                )
            }
        }
    }

    /// Warnings to print before the sign-in starts (a twin of the port held by another program).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The `Host` values a browser sends for the redirect URI (with the port actually bound).
    fn expected_hosts(&self) -> Vec<String> {
        let host = self
            .redirect
            .url
            .host_str()
            .unwrap_or("")
            .to_ascii_lowercase();
        let port = self.port().unwrap_or_else(|| self.redirect.port());
        let mut hosts = vec![format!("{host}:{port}")];
        if port == 80 {
            hosts.push(host);
        }
        hosts
    }

    /// Serves the redirect path until one callback arrives (or `timeout`), answers the tab, shuts
    /// down and returns what the callback carried. Ignored, and the wait goes on: another `Host`
    /// (421), another path such as a favicon (404), another method (405), a request a page made
    /// for an image, a script, a frame or `fetch` (403), a callback that carries nothing (400).
    /// Dropping the future stops the listener.
    pub async fn wait_for_redirect(
        self,
        expected_state: &str,
        timeout: Duration,
    ) -> Result<Callback, LoopbackError> {
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            path: self.redirect.path().to_string(),
            hosts: self.expected_hosts(),
            state: expected_state.to_string(),
            tx: Mutex::new(Some(tx)),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut servers = Servers(Vec::new());
        for listener in self.listeners {
            let app = Router::new().fallback(handle).with_state(shared.clone());
            let mut stop = stop_rx.clone();
            servers.0.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
            }));
        }
        drop(shared);
        let outcome = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(LoopbackError::Stopped),
            Err(_) => Err(LoopbackError::TimedOut {
                seconds: timeout.as_secs(),
                redirect_uri: self.redirect.as_str().to_string(),
            }),
        };
        // Let the answer reach the browser, then stop; a connection held open is cut after 2 s.
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), servers.join()).await;
        outcome
    }
}

fn bind_detail(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "the port is already in use".into(),
        std::io::ErrorKind::AddrNotAvailable => "this address is not available here".into(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".into()
        }
        _ => e.to_string(),
    }
}

/// Server tasks, aborted when dropped (a cancelled or timed-out wait leaves nothing listening).
struct Servers(Vec<JoinHandle<()>>);

impl Servers {
    async fn join(&mut self) {
        for task in &mut self.0 {
            let _ = task.await;
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

struct Shared {
    path: String,
    /// The `Host` values of the redirect URI, lower case.
    hosts: Vec<String>,
    state: String,
    tx: Mutex<Option<oneshot::Sender<Result<Callback, LoopbackError>>>>,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    if !host.is_some_and(|h| shared.hosts.contains(&h)) {
        return page(
            StatusCode::MISDIRECTED_REQUEST,
            "Wrong host",
            "zoho-auth answers only requests for its redirect URI's host and port.",
        );
    }
    if uri.path() != shared.path {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "zoho-auth is waiting for Zoho's redirect on another path.",
        );
    }
    if method != Method::GET {
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Not allowed",
            "zoho-auth expects Zoho's redirect as a GET request.",
        );
    }
    // A page the user has open can make the browser request the callback for an image, a script,
    // a frame or fetch(); Zoho's redirect is a top-level navigation (`Sec-Fetch-Dest: document`).
    if headers
        .get("sec-fetch-dest")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|d| !d.eq_ignore_ascii_case("document"))
    {
        return page(
            StatusCode::FORBIDDEN,
            "Ignored",
            "This request came from inside a page, not from Zoho's redirect; zoho-auth ignored it and is still waiting.",
        );
    }
    let query = uri.query().unwrap_or("");
    let carries = |key: &str| url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == key);
    if !carries("state") && !carries("code") && !carries("error") {
        return page(
            StatusCode::BAD_REQUEST,
            "Still waiting",
            "This request carries no sign-in; zoho-auth ignored it and is still waiting for Zoho's redirect.",
        );
    }
    let Some(tx) = shared.tx.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return page(
            StatusCode::OK,
            "Already done",
            "This sign-in has already finished. You can close this tab.",
        );
    };
    let outcome = read_callback(query, &shared.state);
    let response = match &outcome {
        Ok(_) => page(
            StatusCode::OK,
            "Signed in",
            "zoho-auth received the sign-in. You can close this tab and go back to the terminal.",
        ),
        Err(LoopbackError::StateMismatch) => page(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "This redirect does not belong to the sign-in zoho-auth started (the state does not match), so its code was not used. Run zoho-auth login again and finish in the tab it opens.",
        ),
        Err(LoopbackError::Denied) => page(
            StatusCode::OK,
            "Access denied",
            "You declined access, so no token was issued. You can close this tab.",
        ),
        Err(e) => page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            &format!(
                "{}. Go back to the terminal for what to do.",
                capitalize(&e.to_string())
            ),
        ),
    };
    let _ = tx.send(outcome);
    response
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>zoho-auth: {title}</title></head>\n<body style=\"font-family: sans-serif; max-width: 40em; margin: 4em auto\">\n<h1>{title}</h1>\n<p>{text}</p>\n</body></html>\n",
        title = escape(title),
        text = escape(text),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_captured_redirect_shape_reads() {
        // facts §1: state first, accounts-server percent-encoded, a trailing `&`.
        let q = "state=abc&code=1000.4ab7.e9&location=in&accounts-server=https%3A%2F%2Faccounts.zoho.in&";
        let cb = read_callback(q, "abc").unwrap();
        assert_eq!(cb.code.expose(), "1000.4ab7.e9");
        assert_eq!(cb.location.as_deref(), Some("in"));
        assert_eq!(
            cb.accounts_server.as_deref(),
            Some("https://accounts.zoho.in")
        );
    }

    #[test]
    fn state_must_match() {
        assert_eq!(
            read_callback("state=x&code=c", "abc").unwrap_err(),
            LoopbackError::StateMismatch
        );
        assert_eq!(
            read_callback("code=c", "abc").unwrap_err(),
            LoopbackError::StateMismatch
        );
        assert_eq!(
            read_callback("state=x&error=access_denied", "abc").unwrap_err(),
            LoopbackError::StateMismatch
        );
    }

    #[test]
    fn errors_with_or_without_state() {
        assert_eq!(
            read_callback("error=access_denied&state=abc", "abc").unwrap_err(),
            LoopbackError::Denied
        );
        assert_eq!(
            read_callback("error=access_denied", "abc").unwrap_err(),
            LoopbackError::Denied
        );
        assert_eq!(
            read_callback("error=invalid_scope&state=abc", "abc").unwrap_err(),
            LoopbackError::Refused {
                error: "invalid_scope".into()
            }
        );
        assert_eq!(
            read_callback("state=abc&code=", "abc").unwrap_err(),
            LoopbackError::MissingCode
        );
    }

    #[test]
    fn authorization_url_carries_every_parameter() {
        let accounts = Url::parse("https://accounts.zoho.com").unwrap();
        let redirect = RedirectUri::default();
        let scopes = vec![
            "ZohoBooks.fullaccess.all".to_string(),
            "ZohoCRM.org.READ".into(),
        ];
        let url = authorization_url(
            &accounts,
            &AuthorizationRequest {
                client_id: "1000.ABC",
                scopes: &scopes,
                redirect_uri: &redirect,
                state: "s1",
            },
        )
        .unwrap();
        assert_eq!(url.path(), "/oauth/v2/auth");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let want = [
            ("scope", "ZohoBooks.fullaccess.all,ZohoCRM.org.READ"),
            ("client_id", "1000.ABC"),
            ("response_type", "code"),
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("redirect_uri", "http://localhost:8085/callback"),
            ("state", "s1"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs, want);
    }

    #[test]
    fn authorization_url_keeps_a_sandbox_dc_prefix() {
        let accounts = Url::parse("http://127.0.0.1:9/_dc/eu").unwrap();
        let redirect = RedirectUri::default();
        let url = authorization_url(
            &accounts,
            &AuthorizationRequest {
                client_id: "c",
                scopes: &["A.b.READ".to_string()],
                redirect_uri: &redirect,
                state: "s",
            },
        )
        .unwrap();
        assert_eq!(url.path(), "/_dc/eu/oauth/v2/auth");
    }

    #[test]
    fn states_are_random_hex() {
        let (a, b) = (new_state(), new_state());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn redirect_uris_must_be_loopback_http() {
        let ok = RedirectUri::parse(" http://localhost:8085/callback ").unwrap();
        assert_eq!(ok.as_str(), "http://localhost:8085/callback");
        assert_eq!(ok.port(), 8085);
        assert_eq!(ok.path(), "/callback");
        assert_eq!(
            ok.bind_addrs()[0],
            (SocketAddr::from(([127, 0, 0, 1], 8085)), true)
        );
        assert!(RedirectUri::parse("http://127.0.0.1:9000/cb").is_ok());
        assert!(RedirectUri::parse("http://[::1]:9000/cb").is_ok());
        assert!(matches!(
            RedirectUri::parse("https://example.com/callback"),
            Err(LoopbackError::NotLoopback { .. })
        ));
        assert!(matches!(
            RedirectUri::parse("http://192.168.1.2:8085/callback"),
            Err(LoopbackError::NotLoopback { .. })
        ));
        for bad in [
            "https://localhost:8085/cb",
            "http://localhost:8085/cb#x",
            "localhost:8085",
            "http://u:p@localhost:1/",
        ] {
            assert!(
                matches!(
                    RedirectUri::parse(bad),
                    Err(LoopbackError::BadRedirectUri { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(60), "1 minute");
        assert_eq!(human_duration(90), "90 seconds");
    }

    #[tokio::test]
    async fn one_callback_ends_the_wait_and_a_favicon_does_not() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let redirect = RedirectUri::parse(&format!("http://127.0.0.1:{port}/cb")).unwrap();
        let listener = Listener::bind(&redirect).await.unwrap();
        assert_eq!(listener.port(), Some(port));
        let wait = tokio::spawn(listener.wait_for_redirect("st", Duration::from_secs(10)));
        let http = reqwest::Client::new();
        let favicon = http
            .get(format!("http://127.0.0.1:{port}/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(favicon.status(), 404);
        let done = http
            .get(format!(
                "http://127.0.0.1:{port}/cb?state=st&code=1000.x&location=us&accounts-server=https%3A%2F%2Faccounts.zoho.com&"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 200);
        assert!(done.text().await.unwrap().contains("close this tab"));
        let cb = wait.await.unwrap().unwrap();
        assert_eq!(cb.code.expose(), "1000.x");
        // The listener is gone.
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[tokio::test]
    async fn the_wait_times_out() {
        let redirect = RedirectUri::parse("http://127.0.0.1:0/cb").unwrap();
        let listener = Listener::bind(&redirect).await.unwrap();
        let err = listener
            .wait_for_redirect("st", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(err, LoopbackError::TimedOut { .. }));
        assert_eq!(err.diagnosis().exit_code(), 3);
    }
}
