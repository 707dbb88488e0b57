//! `zoho-auth serve [--listen ADDR | --socket PATH] [--key-file PATH] [--allow-remote]`: a local
//! token endpoint for programs and containers that cannot exec a helper.
//!
//! - `GET /v1/token` answers the `token --json` object; `GET /healthz` answers 200.
//! - Every request carries `Authorization: Bearer KEY` (compared in constant time) or gets 401.
//!   KEY is 32 random bytes in hex, made at start and written to a 0600 file named on stderr; a
//!   `--key-file` that exists is read instead (a key shared with containers).
//! - TCP binds loopback only unless `--allow-remote`. The `Host` header must name the bound
//!   loopback address (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`), or the answer is 421:
//!   a web page that rebinds its DNS name to 127.0.0.1 cannot read tokens. A unix socket
//!   (created 0600; a stale one replaced only when nothing listens on it) has no Host check:
//!   browsers cannot reach it, and clients send any name there.
//! - The token is kept in memory. Once less than 5 minutes of it remain, the first request starts
//!   one refresh in the background (single-flight: concurrent requests join it, never start a
//!   second) and every answer meanwhile is the current token. Only an expired token makes a
//!   request wait for the refresh; if that fails, the answer is 503 with the diagnosis. After a
//!   failed refresh the next attempt waits [`RETRY_AFTER_SECS`]: Zoho allows 10 access tokens per
//!   refresh token per 10 minutes.
//! - SIGTERM or SIGINT stops accepting, lets answers in flight finish and removes the socket file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::handoff::{AccessToken, TokenSource, Want};

use super::GlobalArgs;
use super::common::{now_unix, print_diagnosis};
use super::handoff::token_source;

/// The port of the default `--listen`, next to the sandbox's 8470.
pub const DEFAULT_PORT: u16 = 8471;

/// Refresh once less than this many seconds of the token remain (as `token`).
pub const REFRESH_AHEAD_SECS: u64 = 300;

/// After a failed refresh, the next one is tried no sooner than this.
pub const RETRY_AFTER_SECS: u64 = 10;

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Listen on this address (default 127.0.0.1:8471; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", conflicts_with = "socket")]
    pub listen: Option<SocketAddr>,
    /// Listen on a unix socket at PATH instead (created 0600).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The file with the bearer key: read when it exists, else a new key is written there (0600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Allow a --listen address other than loopback, and any Host header.
    #[arg(long)]
    pub allow_remote: bool,
}

/// Unix seconds, injectable for tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(now_unix)
}

/// A token and its answer, serialized once. `Debug` leaves the answer out: it holds the token.
pub struct Current {
    pub token: AccessToken,
    body: Bytes,
}

impl std::fmt::Debug for Current {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Current")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Current {
    fn new(token: AccessToken) -> Current {
        let body = Bytes::from(token.to_json());
        Current { token, body }
    }
}

type Refresh = Shared<BoxFuture<'static, Result<Arc<Current>, Diagnosis>>>;

#[derive(Default)]
struct KeeperState {
    current: Option<Arc<Current>>,
    refreshing: Option<Refresh>,
    /// When the last refresh failed, and why.
    failed: Option<(u64, Diagnosis)>,
}

/// Keeps the current token and refreshes it ahead of expiry, once, in the background.
pub struct Keeper {
    source: TokenSource,
    clock: Clock,
    state: Mutex<KeeperState>,
}

impl Keeper {
    pub fn new(source: TokenSource, clock: Clock) -> Arc<Keeper> {
        Arc::new(Keeper {
            source,
            clock,
            state: Mutex::new(KeeperState::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, KeeperState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token to answer with now: the current one while it is valid (starting a background
    /// refresh once less than [`REFRESH_AHEAD_SECS`] remain), else the result of a refresh.
    pub async fn token(self: &Arc<Self>) -> Result<Arc<Current>, Diagnosis> {
        let now = (self.clock)();
        let refresh = {
            let mut state = self.lock();
            match &state.current {
                Some(c) if c.token.lasts_beyond(now, REFRESH_AHEAD_SECS) => return Ok(c.clone()),
                Some(c) if c.token.lasts_beyond(now, 0) => {
                    let c = c.clone();
                    self.start_refresh(&mut state, now);
                    return Ok(c);
                }
                _ => match self.start_refresh(&mut state, now) {
                    Some(refresh) => refresh,
                    None => {
                        let (_, d) = state.failed.clone().expect("a failure holds back retries");
                        return Err(d);
                    }
                },
            }
        };
        refresh.await
    }

    /// The refresh under way, else a new one; `None` while a failure holds retries back.
    fn start_refresh(self: &Arc<Self>, state: &mut KeeperState, now: u64) -> Option<Refresh> {
        if let Some(refresh) = &state.refreshing {
            return Some(refresh.clone());
        }
        if let Some((at, _)) = &state.failed
            && now < at.saturating_add(RETRY_AFTER_SECS)
        {
            return None;
        }
        let keeper = self.clone();
        // A task of its own: the refresh completes even when no request waits for it.
        let task = tokio::spawn(async move {
            let result = keeper.source.get(Want::USUAL).await;
            let mut state = keeper.lock();
            state.refreshing = None;
            match result {
                Ok(token) => {
                    let current = Arc::new(Current::new(token));
                    state.current = Some(current.clone());
                    state.failed = None;
                    Ok(current)
                }
                Err(d) => {
                    state.failed = Some(((keeper.clock)(), d.clone()));
                    Err(d)
                }
            }
        });
        let refresh = async move {
            task.await.unwrap_or_else(|_| {
                Err(Diagnosis::new(
                    Code::ServerError,
                    "internal error: the token refresh stopped unexpectedly (a bug in zoho-auth).",
                    "Restart `zoho-auth serve` and report it.",
                ))
            })
        }
        .boxed()
        .shared();
        state.refreshing = Some(refresh.clone());
        Some(refresh)
    }
}

/// Who may ask: the bearer key, and the Host names accepted (`None`: any).
#[derive(Clone)]
pub struct Access {
    key: Arc<str>,
    hosts: Option<Arc<[String]>>,
}

impl Access {
    pub fn new(key: &str, hosts: Option<Vec<String>>) -> Access {
        Access {
            key: Arc::from(key),
            hosts: hosts.map(Arc::from),
        }
    }

    /// The Host names of a loopback listener on `port`.
    pub fn loopback_hosts(port: u16) -> Vec<String> {
        let mut hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|h| format!("{h}:{port}"))
            .collect();
        if port == 80 {
            hosts.extend(["127.0.0.1", "localhost", "[::1]"].map(String::from));
        }
        hosts
    }
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("key", &"***")
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// Equal in time independent of where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(access: &Access, headers: &HeaderMap) -> Result<(), StatusCode> {
    if let Some(hosts) = &access.hosts {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if !host.is_some_and(|h| hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(h))) {
            return Err(StatusCode::MISDIRECTED_REQUEST);
        }
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    if constant_time_eq(given, access.key.as_bytes()) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

async fn guard(State(access): State<Access>, request: Request, next: Next) -> Response {
    match authorized(&access, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(StatusCode::MISDIRECTED_REQUEST) => (
            StatusCode::MISDIRECTED_REQUEST,
            json_error(
                "misdirected_request",
                "This endpoint answers only requests addressed to its own loopback address.",
                "Use the URL zoho-auth serve printed (127.0.0.1 or localhost with its port).",
            ),
        )
            .into_response(),
        Err(status) => (
            status,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            json_error(
                "unauthorized",
                "Missing or wrong bearer key.",
                "Send `Authorization: Bearer KEY` with the key from the file zoho-auth serve named.",
            ),
        )
            .into_response(),
    }
}

fn json_error(code: &str, message: &str, fix: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message, "fix": fix });
    json_response(StatusCode::OK, Bytes::from(body.to_string()))
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

async fn token(State(keeper): State<Arc<Keeper>>) -> Response {
    match keeper.token().await {
        Ok(current) => json_response(StatusCode::OK, current.body.clone()),
        Err(d) => {
            let body = serde_json::to_vec(&d).unwrap_or_default();
            json_response(StatusCode::SERVICE_UNAVAILABLE, Bytes::from(body))
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The endpoint: `/v1/token` and `/healthz`, every request checked by `access` first.
pub fn router(keeper: Arc<Keeper>, access: Access) -> Router {
    Router::new()
        .route("/v1/token", get(token))
        .route("/healthz", get(healthz))
        .with_state(keeper)
        .layer(middleware::from_fn_with_state(access, guard))
}

/// A new key: 32 random bytes, hex.
pub fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    hex::encode(bytes)
}

fn usage(message: impl Into<String>, fix: impl Into<String>) -> Diagnosis {
    Diagnosis::new(Code::BadInput, message, fix)
}

/// Where the key goes without `--key-file`: `$XDG_RUNTIME_DIR/zoho-auth`, else the cache dir.
fn default_key_file(listener: &Bound) -> Result<PathBuf, Diagnosis> {
    let dir = dirs::runtime_dir()
        .or_else(dirs::cache_dir)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache")))
        .ok_or_else(|| {
            usage(
                "No runtime or cache directory to put the serve key in.",
                "Pass --key-file PATH.",
            )
        })?
        .join("zoho-auth");
    let name = match listener {
        Bound::Tcp(_, addr) => format!("serve-{}.key", addr.port()),
        #[cfg(unix)]
        Bound::Unix(_, path) => {
            use sha2::Digest;
            let hash = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
            format!("serve-socket-{}.key", hex::encode(&hash[..6]))
        }
    };
    Ok(dir.join(name))
}

/// The key of `--key-file` when that file exists, else a new one written to `path` (0600).
fn key_at(path: &Path, read_existing: bool) -> Result<String, Diagnosis> {
    if read_existing && path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage(
                format!("Cannot read the key file {}: {e}.", path.display()),
                "Fix its permissions, or pass another --key-file.",
            )
        })?;
        let key = text.trim().to_string();
        if key.len() < 32 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(usage(
                format!(
                    "The key file {} does not hold a key of at least 32 printable characters.",
                    path.display()
                ),
                "Remove it to have a new key written there, or write e.g. `openssl rand -hex 32` into it.",
            ));
        }
        return Ok(key);
    }
    let key = new_key();
    write_private(path, key.as_bytes()).map_err(|e| {
        usage(
            format!("Cannot write the key file {}: {e}.", path.display()),
            "Pass a writable --key-file PATH.",
        )
    })?;
    Ok(key)
}

/// Writes atomically, mode 0600, creating the folder (0700) when missing.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    // tempfile creates the file 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-key-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.write_all(b"\n")?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

enum Bound {
    Tcp(tokio::net::TcpListener, SocketAddr),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener, PathBuf),
}

async fn bind(args: &ServeArgs) -> Result<Bound, Diagnosis> {
    if let Some(path) = &args.socket {
        #[cfg(unix)]
        return bind_unix(path).await;
        #[cfg(not(unix))]
        return Err(usage(
            format!(
                "--socket {} needs unix sockets, which this system does not offer here.",
                path.display()
            ),
            "Use --listen 127.0.0.1:PORT.",
        ));
    }
    let addr = args.listen.unwrap_or(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        DEFAULT_PORT,
    ));
    if !addr.ip().is_loopback() && !args.allow_remote {
        return Err(usage(
            format!(
                "--listen {addr} is not a loopback address, so tokens would be served to the network."
            ),
            "Listen on 127.0.0.1 (or [::1]), or add --allow-remote if other machines must reach it (then protect the key file).",
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        usage(
            format!("Cannot listen on {addr}: {e}."),
            "Pick another port with --listen 127.0.0.1:PORT (0 picks a free one).",
        )
    })?;
    let local = listener.local_addr().map_err(|e| {
        Diagnosis::new(
            Code::Network,
            format!("Cannot read the bound address: {e}."),
            "Try again.",
        )
    })?;
    Ok(Bound::Tcp(listener, local))
}

#[cfg(unix)]
async fn bind_unix(path: &Path) -> Result<Bound, Diagnosis> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(usage(
                format!("{} exists and is not a socket.", path.display()),
                "Pass another --socket path, or remove that file yourself.",
            ));
        }
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            return Err(usage(
                format!("Another process already listens on {}.", path.display()),
                "Stop it first, or pass another --socket path.",
            ));
        }
        // Nothing listens: a stale socket from a process that did not clean up.
        let _ = std::fs::remove_file(path);
    }
    // Created 0600 from the start (umask), so no other user can connect between bind and chmod.
    // SAFETY: umask only swaps the process's file-creation mask; restored right after.
    let old = unsafe { libc::umask(0o177) };
    let bound = tokio::net::UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(|e| {
        usage(
            format!("Cannot listen on the socket {}: {e}.", path.display()),
            "Check that its folder exists and is writable, or pass another --socket path.",
        )
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        usage(
            format!("Cannot make the socket {} private: {e}.", path.display()),
            "Pass a --socket path in a folder you own.",
        )
    })?;
    Ok(Bound::Unix(listener, path.to_path_buf()))
}

/// Resolves on SIGTERM or SIGINT (Ctrl+C). The handlers are installed now, before the line that
/// tells clients where to connect, so a stop sent right after it is a clean stop.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub async fn run(global: &GlobalArgs, args: &ServeArgs) -> u8 {
    match serve(global, args).await {
        Ok(()) => 0,
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}

async fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<(), Diagnosis> {
    let source = token_source(global)?;
    let bound = bind(args).await?;
    // The first token before the first request, and before a key file is written: a broken
    // grant ends here, with its diagnosis, leaving nothing behind.
    let keeper = Keeper::new(source, system_clock());
    keeper.token().await?;
    let (key_file, read_existing) = match &args.key_file {
        Some(path) => (path.clone(), true),
        None => (default_key_file(&bound)?, false),
    };
    let key = key_at(&key_file, read_existing)?;
    let (url, hosts) = match &bound {
        Bound::Tcp(_, addr) => (
            format!("http://{addr}/v1/token"),
            (!args.allow_remote).then(|| Access::loopback_hosts(addr.port())),
        ),
        #[cfg(unix)]
        Bound::Unix(_, path) => (format!("unix:{} /v1/token", path.display()), None),
    };
    let app = router(keeper, Access::new(&key, hosts));
    let stop = shutdown_signal();
    eprintln!(
        "zoho-auth: serving tokens at {url} (key in {}; send `Authorization: Bearer <key>`); Ctrl+C or SIGTERM stops.",
        key_file.display()
    );
    let served = match bound {
        Bound::Tcp(listener, _) => {
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
        }
        #[cfg(unix)]
        Bound::Unix(listener, path) => {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await;
            let _ = std::fs::remove_file(&path);
            result
        }
    };
    served.map_err(|e| {
        Diagnosis::new(
            Code::Network,
            format!("The token endpoint stopped: {e}."),
            "Start it again.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: Option<&str>, auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(host) = host {
            h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        }
        if let Some(auth) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        }
        h
    }

    #[test]
    fn host_then_key() {
        let key = new_key();
        let access = Access::new(&key, Some(Access::loopback_hosts(8471)));
        let bearer = format!("Bearer {key}");
        for host in [
            "127.0.0.1:8471",
            "localhost:8471",
            "LOCALHOST:8471",
            "[::1]:8471",
        ] {
            assert_eq!(
                authorized(&access, &headers(Some(host), Some(&bearer))),
                Ok(())
            );
        }
        for host in [
            None,
            Some("evil.example:8471"),
            Some("127.0.0.1:8472"),
            Some("localhost"),
        ] {
            assert_eq!(
                authorized(&access, &headers(host, Some(&bearer))),
                Err(StatusCode::MISDIRECTED_REQUEST),
                "{host:?}"
            );
        }
        let wrong = format!("Bearer {}", new_key());
        for auth in [
            None,
            Some(wrong.as_str()),
            Some(key.as_str()),
            Some("Bearer "),
        ] {
            assert_eq!(
                authorized(&access, &headers(Some("localhost:8471"), auth)),
                Err(StatusCode::UNAUTHORIZED)
            );
        }
        let any_host = Access::new(&key, None);
        assert_eq!(
            authorized(&any_host, &headers(Some("zoho-auth:8471"), Some(&bearer))),
            Ok(())
        );
        assert!(!format!("{access:?}").contains(&key));
    }

    #[test]
    fn debug_of_the_current_answer_hides_the_token() {
        let secret = format!("1000.{}.{}", "a".repeat(32), "b".repeat(32));
        let current = Current::new(AccessToken {
            token: crate::auth::Secret::new(secret.clone()),
            expires_at: 1,
            api_domain: "https://www.zohoapis.com".into(),
            dc: None,
            organization_id: None,
        });
        assert!(
            std::str::from_utf8(&current.body)
                .unwrap()
                .contains(&secret)
        );
        let shown = format!("{current:?}");
        assert!(!shown.contains(&secret), "{shown}");
        assert!(!shown.contains(&"a".repeat(32)), "{shown}");
    }

    #[test]
    fn keys_are_64_hex_and_differ() {
        let (a, b) = (new_key(), new_key());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
