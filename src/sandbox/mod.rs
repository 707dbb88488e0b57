//! The built-in simulated Zoho ("sandbox"): an accounts server and the product organizations
//! endpoints on one base URL, bound to 127.0.0.1 only. It follows `zoho-facts.md`, quirks included:
//! one-time codes that expire, `{"error":...}` bodies with HTTP 200, refresh without rotation, the
//! access-token throttle, refresh- and access-token eviction, revoke, the device flow, codes 14/57
//! and the CRM/Desk error bodies. It runs on the caller's tokio runtime and never prints.
//!
//! # Endpoints (all on [`Sandbox::base_url`])
//!
//! | | |
//! |---|---|
//! | `GET /` | the Self Client console page (mint a code, download `self_client.json`) |
//! | `POST /oauth/v2/token` | `authorization_code`, `refresh_token`, `client_credentials`; query and form merged |
//! | `POST /oauth/v2/token/revoke?token=` | `{"status":"success"}`, or HTTP 400 `{"status":"failure","error":"invalid_token"}` (body our choice) |
//! | `GET /oauth/v2/auth` | consent page of the server client; Approve/Deny post to `/oauth/v2/auth/decision` |
//! | `GET /oauth/serverinfo` | `{"result":"success","locations":{...}}` |
//! | `POST /oauth/v3/device/code`, `/oauth/v3/device/token` | the device flow; `GET /oauth/v3/device` is the verification page |
//! | `GET /books/v3/organizations` etc. | the product probes ([`Product`]) |
//!
//! Other data centers: the same routes under `/_dc/{code}` (`eu in au jp ca sa uk ae`) act as that
//! DC, with their own codes and tokens; its accounts server and `api_domain` are `{base}/_dc/{code}`.
//!
//! Without HTML, for tests: `GET /oauth/v2/auth?...&_sandbox_auto=approve` (or `deny`) answers the
//! redirect at once, as if the user had clicked.
//!
//! # Control endpoints (JSON bodies; a missing body means `{}`; errors are HTTP 400 `{"error":"..."}`)
//!
//! - `POST /_sandbox/code` `{"scope":"A,B","duration_minutes":3}` →
//!   `{"code":..,"expiry_time":<epoch ms>,"client_id":..,"client_secret":..}` (Self Client)
//! - `POST /_sandbox/device/approve`, `/_sandbox/device/deny` `{"user_code":..}` or `{"device_code":..}`,
//!   approve takes an optional `"dc":"eu"` (the poll at any other DC then answers `other_dc`)
//! - `POST /_sandbox/revoke` `{"refresh_token":..}` (or `"token"`): server-side revoke
//! - `POST /_sandbox/orgs` `{"product":"books","organizations":[{"id":"1","name":"X"}],"member":true}`
//!   (`member` is simulated for `invoice` only)
//! - `GET|POST /_sandbox/config` `{"access_token_lifetime_seconds":..,"throttle_limit":..,
//!   "throttle_window_seconds":..,"throttle_status":200|400,"expires_in_millis":..,"max_refresh_tokens":..,
//!   "max_access_tokens":..,"web_code_lifetime_seconds":..,"device_code_lifetime_seconds":..,
//!   "device_interval_seconds":..,"device_millis":..,"user_dc":"eu"}` → the whole config
//! - `POST /_sandbox/clock` `{"advance_seconds":N}` → `{"now":<epoch ms>}`: the virtual clock every
//!   expiry check reads
//! - `POST /_sandbox/fault` `{"path":"/oauth/v2/token","kind":"http500|html503|malformed_json|delay|drop",
//!   "count":1,"delay_ms":0}`: the next `count` requests to `path` (a trailing `*` matches a prefix);
//!   `DELETE /_sandbox/fault` clears them
//! - `GET /_sandbox/stats` → [`Stats`]; `GET /_sandbox/clients` → the three demo clients
//!
//! Prefixed with `/_dc/{code}`, `/_sandbox/code` mints the code in that DC.

mod http;
mod modules;
mod pages;
mod products;
mod reply;
mod shapes;
mod state;
mod world;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use modules::Module;
pub use products::{Org, Product, ProductOrgs};
pub use state::StateError;
pub use world::ControlOutcome;
use world::World;

/// How the sandbox behaves. `Default` follows the facts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// 0 = any free port. Always bound on 127.0.0.1.
    pub port: u16,
    /// Access tokens a refresh token may mint per window (facts §3: 10).
    pub throttle_limit: u32,
    /// The throttle window (facts §3: 10 minutes).
    pub throttle_window: Duration,
    /// HTTP status of the "Access Denied" body: 400 by default, 200 also seen (facts §2).
    pub throttle_status: u16,
    /// Access-token lifetime (facts §3: 3600 s).
    pub access_token_lifetime: Duration,
    /// The pre-2019 behaviour: `expires_in` in milliseconds, plus `expires_in_sec`.
    pub expires_in_millis: bool,
    /// Refresh tokens per user per client; the next one evicts the oldest (facts §3: 20).
    pub max_refresh_tokens: usize,
    /// Active access tokens per refresh token; the next one invalidates the oldest (facts §3: 10).
    pub max_access_tokens: usize,
    /// Lifetime of a code from the consent page (facts §3: 2 minutes).
    pub web_code_lifetime: Duration,
    /// Lifetime of a device code (`expires_in` of the initiation response).
    pub device_code_lifetime: Duration,
    /// The device-flow polling interval; two polls closer than this answer `slow_down` (facts §6: 30 s).
    pub device_interval: Duration,
    /// Device-flow `expires_in`/`interval` in milliseconds instead of seconds (facts §6: disputed).
    pub device_millis: bool,
    /// The field of a device poll's `other_dc` answer that names the user's data center (facts
    /// §10: Zoho's page says `user_location`, a location code; older clients read `dc`).
    pub other_dc_field: OtherDcField,
    /// Token answers carry `scope`; `false`: the 2019-2021 answers without it (facts §10).
    pub token_scope: bool,
    /// CRM answers a dead token with `AUTHENTICATION_FAILURE` (facts §10) instead of
    /// `INVALID_TOKEN`. A token of another data center always gets `INVALID_TOKEN`.
    pub crm_invalid_token_authentication_failure: bool,
    /// Desk refuses a valid token with 403 `FORBIDDEN` (a department permission, facts §10).
    pub desk_forbidden: bool,
    /// Desk answers a token of another data center with an empty-bodied 401 instead of its HTML
    /// error page (facts §10: both seen).
    pub desk_wrong_dc_empty_body: bool,
    /// A product's only organization carries `"is_default_org": true`; `false`: it carries `false`
    /// (facts §10: seen in the field).
    pub lone_org_is_default: bool,
}

/// Which field of an `other_dc` device poll answer names the user's data center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherDcField {
    /// `{"error":"other_dc","user_location":"eu"}`: a location code, as Zoho's page names it.
    UserLocation,
    /// `{"error":"other_dc","dc":"<accounts server URL>"}`: what older clients read.
    Dc,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            throttle_limit: 10,
            throttle_window: Duration::from_secs(600),
            throttle_status: 400,
            access_token_lifetime: Duration::from_secs(3600),
            expires_in_millis: false,
            max_refresh_tokens: 20,
            max_access_tokens: 10,
            web_code_lifetime: Duration::from_secs(120),
            device_code_lifetime: Duration::from_secs(300),
            device_interval: Duration::from_secs(30),
            device_millis: false,
            other_dc_field: OtherDcField::UserLocation,
            token_scope: true,
            crm_invalid_token_authentication_failure: false,
            desk_forbidden: false,
            desk_wrong_dc_empty_body: false,
            lone_org_is_default: true,
        }
    }
}

/// A demo OAuth client registered in the sandbox. Its secret is random per sandbox start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: Option<String>,
}

/// Request counters, for tests that assert "exactly one refresh" or "zero requests".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Every request except the control endpoints (`/_sandbox/...`).
    pub requests: u64,
    /// Requests to the control endpoints.
    pub control_requests: u64,
    /// `POST /oauth/v2/token`, any grant.
    pub token_requests: u64,
    /// `POST /oauth/v2/token` by `grant_type` (an absent one counts as "").
    pub token_requests_by_grant: BTreeMap<String, u64>,
    /// Token requests with `grant_type=authorization_code`.
    pub exchanges: u64,
    /// Token requests with `grant_type=refresh_token`, throttled ones included.
    pub refreshes: u64,
    /// Token requests with `grant_type=client_credentials`.
    pub client_credentials: u64,
    /// `POST /oauth/v2/token/revoke`.
    pub revokes: u64,
    /// Calls to the product organizations endpoints.
    pub probes: u64,
    /// Calls to the module endpoints (`/books/v3/invoices`, `/crm/v8/Leads`, ...).
    pub module_requests: u64,
    /// `GET /oauth/v2/auth`.
    pub auth_requests: u64,
    /// `POST /oauth/v3/device/code`.
    pub device_code_requests: u64,
    /// `POST /oauth/v3/device/token`.
    pub device_polls: u64,
    /// Requests answered by an injected fault instead of the endpoint.
    pub faults_served: u64,
}

/// What an injected fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 500 with a plain-text body.
    Http500,
    /// HTTP 503 with an HTML body, like a load balancer's maintenance page.
    Html503,
    /// HTTP 200, `application/json`, a truncated JSON body.
    MalformedJson,
    /// Waits `delay_ms`, then answers normally.
    Delay,
    /// Closes the connection without any response.
    Drop,
}

/// A fault for the next `count` requests to `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The request path as sent (`/oauth/v2/token`, `/_dc/eu/oauth/v2/token`); a trailing `*`
    /// matches every path with that prefix.
    pub path: String,
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

impl Fault {
    pub fn new(path: &str, kind: FaultKind, count: u32) -> Fault {
        Fault {
            path: path.to_string(),
            kind,
            count,
            delay_ms: 0,
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        }
    }
}

/// A code minted for the Self Client, as `POST /_sandbox/code` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MintedCode {
    pub code: String,
    /// Epoch milliseconds, on the sandbox's virtual clock.
    pub expiry_time: i64,
    pub client_id: String,
    pub client_secret: String,
}

pub(crate) struct Shared {
    world: Mutex<World>,
    /// `--state FILE`: where the world is saved after each change.
    state: Option<state::StateFile>,
}

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock leaves consistent-enough data for a simulator.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the world with the virtual `now`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World, i64) -> R) -> R {
        let mut world = self.lock();
        let now = system_ms() + world.clock_offset_ms;
        f(&mut world, now)
    }

    /// Writes the state file when there is one and the saved part of the world changed.
    pub(crate) fn save(&self) -> Result<(), StateError> {
        match &self.state {
            // The world's lock is held only for the snapshot, not while the disk is written.
            Some(file) => file.write_from(|| self.with(|w, _| w.save())),
            None => Ok(()),
        }
    }

    /// Takes one use of the first fault matching `path`.
    pub(crate) fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut world = self.lock();
        let index = world
            .faults
            .iter()
            .position(|f| f.count > 0 && f.matches(path))?;
        let fault = world.faults[index].clone();
        world.faults[index].count -= 1;
        if world.faults[index].count == 0 {
            world.faults.remove(index);
        }
        world.stats.faults_served += 1;
        Some(fault)
    }
}

/// In-process equivalents of the control endpoints. Cheap to clone.
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl Control {
    /// Mints a Self Client code in the primary DC, like `POST /_sandbox/code`. `None` when the scope
    /// string names no scope.
    pub fn mint_code(&self, scope: &str, minutes: u32) -> Option<MintedCode> {
        self.mint_code_in(world::PRIMARY_DC, scope, minutes)
    }

    /// Mints a Self Client code in data center `dc` (`us`, `eu`, ...).
    pub fn mint_code_in(&self, dc: &str, scope: &str, minutes: u32) -> Option<MintedCode> {
        self.shared.with(|w, now| {
            let (code, expiry_time) = w.mint_self_code(dc, scope, minutes, now)?;
            Some(MintedCode {
                code,
                expiry_time,
                client_id: w.self_client.id.clone(),
                client_secret: w.self_client.secret.clone(),
            })
        })
    }

    /// Approves a device code (by user code or device code) in the DC it was issued for.
    pub fn approve_device(&self, code: &str) -> ControlOutcome {
        self.shared
            .with(|w, now| w.decide_device(code, true, None, now))
    }

    /// Approves a device code as a user whose account lives in `dc`: polls elsewhere get `other_dc`.
    pub fn approve_device_in(&self, code: &str, dc: &str) -> ControlOutcome {
        self.shared
            .with(|w, now| w.decide_device(code, true, Some(dc), now))
    }

    /// Denies a device code.
    pub fn deny_device(&self, code: &str) -> ControlOutcome {
        self.shared
            .with(|w, now| w.decide_device(code, false, None, now))
    }

    /// Revokes a refresh (or access) token server-side, as if the user removed the app.
    pub fn revoke(&self, token: &str) -> ControlOutcome {
        self.shared.with(|w, _| w.revoke_server_side(token))
    }

    /// Replaces the organizations a product's endpoint lists.
    pub fn set_orgs(&self, product: Product, orgs: Vec<Org>) {
        self.shared
            .with(|w, _| w.set_orgs(product, Some(orgs), None, None));
    }

    /// Makes the demo user a member (or not) of the product's organization. Invoice answers 403.
    pub fn set_member(&self, product: Product, member: bool) {
        self.shared
            .with(|w, _| w.set_orgs(product, None, Some(member), None));
    }

    /// Puts the demo user's account in data center `dc`; `false` for an unknown code.
    pub fn set_user_dc(&self, dc: &str) -> bool {
        if !world::DCS.contains(&dc) {
            return false;
        }
        self.shared.with(|w, _| w.user_dc = dc.to_string());
        true
    }

    /// Moves the virtual clock forward (codes and tokens expire without sleeping).
    pub fn advance_clock(&self, by: Duration) {
        self.shared
            .with(|w, _| w.clock_offset_ms += by.as_millis() as i64);
    }

    /// The virtual clock, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.shared.with(|_, now| now)
    }

    /// Injects a fault for the next `fault.count` requests to `fault.path`.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.with(|w, _| w.faults.push(fault));
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.shared.with(|w, _| w.faults.clear());
    }

    /// Changes the configuration (the port is ignored once started).
    pub fn update_config(&self, f: impl FnOnce(&mut SandboxConfig)) {
        self.shared.with(|w, _| f(&mut w.config));
    }

    pub fn config(&self) -> SandboxConfig {
        self.shared.with(|w, _| w.config.clone())
    }

    pub fn stats(&self) -> Stats {
        self.shared.with(|w, _| w.stats.clone())
    }

    /// Every code, refresh token and access token issued so far (revoked and expired ones too):
    /// what a test must never find in output.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.shared.with(|w, _| w.issued.clone())
    }
}

/// A running simulated Zoho. Dropping it aborts the server; [`Sandbox::stop`] stops it cleanly.
pub struct Sandbox {
    base: String,
    control: Control,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Why a sandbox with a state file did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(#[source] std::io::Error),
    /// The state file could not be read, understood or written.
    #[error(transparent)]
    State(#[from] StateError),
}

impl Sandbox {
    /// Binds 127.0.0.1:`config.port` and serves on the current tokio runtime.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let base = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let world = World::new(base.clone(), config);
        Ok(Sandbox::serve(listener, base, world, None))
    }

    /// Like [`Sandbox::start`], keeping clients, grants and created records in `path` across
    /// restarts: read at start (a missing file starts afresh), written after each change.
    pub async fn start_with_state(
        config: SandboxConfig,
        path: &std::path::Path,
    ) -> Result<Sandbox, StartError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(StartError::Listen)?;
        let base = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().map_err(StartError::Listen)?.port()
        );
        let mut world = World::new(base.clone(), config);
        let file = state::StateFile::open(path, &mut world)?;
        Ok(Sandbox::serve(listener, base, world, Some(file)))
    }

    fn serve(
        listener: tokio::net::TcpListener,
        base: String,
        world: World,
        state: Option<state::StateFile>,
    ) -> Sandbox {
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            state,
        });
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(http::serve(listener, shared.clone(), async move {
            let _ = rx.await;
        }));
        Sandbox {
            base,
            control: Control { shared },
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Saves the state file now (it is also saved after each changing request).
    pub fn save_state(&self) -> Result<(), StateError> {
        self.control.shared.save()
    }

    /// `http://127.0.0.1:PORT`, no trailing slash. Also the `api_domain` of the primary DC.
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    fn demo(&self, pick: impl FnOnce(&World) -> &world::Client) -> DemoClient {
        self.control.shared.with(|w, _| {
            let c = pick(w);
            DemoClient {
                client_id: c.id.clone(),
                client_secret: c.secret.clone(),
                redirect_uri: c.redirect_uri.clone(),
            }
        })
    }

    /// The demo Self Client (codes come from `/`, `POST /_sandbox/code` or [`Sandbox::mint_code`]).
    pub fn self_client(&self) -> DemoClient {
        self.demo(|w| &w.self_client)
    }

    /// The demo server-based client; its registered redirect URI is `http://localhost:8085/callback`.
    pub fn server_client(&self) -> DemoClient {
        self.demo(|w| &w.server_client)
    }

    /// The demo "Non-browser" client for the device flow (id prefix `1004.`).
    pub fn device_client(&self) -> DemoClient {
        self.demo(|w| &w.device_client)
    }

    /// Mints a Self Client code for `scope` (comma-separated) valid `minutes` minutes.
    ///
    /// # Panics
    /// When `scope` names no scope or a scope contains whitespace.
    pub fn mint_code(&self, scope: &str, minutes: u32) -> String {
        self.control
            .mint_code(scope, minutes)
            .unwrap_or_else(|| panic!("mint_code: {scope:?} names no valid scope"))
            .code
    }

    pub fn stats(&self) -> Stats {
        self.control.stats()
    }

    /// In-process control: revoke, organizations, clock, faults, device approval, config.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Stops like [`Sandbox::stop`], then saves the state file (with `--state`).
    pub async fn shutdown(self) -> Result<(), StateError> {
        let shared = self.control.shared.clone();
        self.stop().await;
        shared.save()
    }

    /// Stops accepting, lets in-flight requests finish (up to 2 s), then returns.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
