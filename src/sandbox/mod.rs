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
//! | `GET`/`POST /books/v3/invoices`, `/books/v3/contacts` | Books records: `organization_id`, `page`, `per_page` (max 200), `page_context` |
//! | `GET`/`POST /invoice/v3/invoices`, `/invoice/v3/contacts` | Invoice, the same shape |
//! | `GET`/`POST /inventory/v1/items` | Inventory, the same shape |
//! | `GET /{books,invoice,inventory}/.../{id}` | one record, or 404 code 5 |
//! | `GET`/`POST /crm/{v2..v8}/Leads`, `/Contacts` | CRM records: `fields` (required), `page`, `per_page` (max 200), `page_token` past 2,000, `info`, 204 when empty |
//! | `GET`/`POST /api/v1/tickets` | Desk tickets: `orgId` header, `from` (1-based), `limit` (max 100), `{"data":[...]}` |
//!
//! Records are computed from their index ([`Module`]; deterministic ids and names), so thousands
//! of them cost nothing at start; created ones are kept (and saved with a state file). Unknown
//! Books-family paths answer 404 code 5, Expense ones code 5 "Invalid URL Passed", a CRM path
//! without `/crm/{version}/` a 302 to `IAMSecurityError.do`, a token of another DC `INVALID_TOKEN`
//! (CRM), an HTML 401 (Desk) or 57 (Books family).
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
//! - `POST /_sandbox/orgs` `{"product":"books","organizations":[{"id":"1","name":"X"}],"member":true,
//!   "no_organization":false}` (`member` is simulated for `invoice` only; `no_organization` for
//!   books, invoice and inventory: 400 code 9017 everywhere)
//! - `GET /_sandbox/records` → `{"crm.leads":{"seeded":2500,"created":0},...}`;
//!   `POST /_sandbox/records` `{"module":"crm.leads","count":N}` sets a seeded count
//! - `GET|POST /_sandbox/config` `{"access_token_lifetime_seconds":..,"throttle_limit":..,
//!   "throttle_window_seconds":..,"throttle_status":200|400,"expires_in_millis":..,"max_refresh_tokens":..,
//!   "max_access_tokens":..,"web_code_lifetime_seconds":..,"device_code_lifetime_seconds":..,
//!   "device_interval_seconds":..,"device_millis":..,"user_dc":"eu","other_dc_field":"user_location"|"dc",
//!   "token_scope":true,"crm_invalid_token_authentication_failure":false,"desk_forbidden":false,
//!   "desk_wrong_dc_empty_body":false,"lone_org_is_default":true}` → the whole config
//! - `POST /_sandbox/clock` `{"advance_seconds":N}` → `{"now":<epoch ms>}`: the virtual clock every
//!   expiry check reads
//! - `POST /_sandbox/fault` `{"path":"/oauth/v2/token","kind":"http500|html503|malformed_json|delay|drop",
//!   "count":1,"delay_ms":0}`: the next `count` requests to `path` (a trailing `*` matches a prefix);
//!   `DELETE /_sandbox/fault` clears them
//! - `GET /_sandbox/stats` → [`Stats`]; `GET /_sandbox/clients` → the three demo clients and
//!   `state_file` (the `--state` path, or null)
//!
//! Prefixed with `/_dc/{code}`, `/_sandbox/code` mints the code in that DC.

mod config;
mod http;
mod modules;
mod pages;
mod params;
mod products;
mod reply;
mod shapes;
mod shared;
mod state;
mod world;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{DemoClient, Fault, FaultKind, MintedCode, OtherDcField, SandboxConfig, Stats};
pub use modules::Module;
pub use products::{Org, Product, ProductOrgs};
use shared::Shared;
pub use state::StateError;
pub use world::ControlOutcome;
use world::World;

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

    /// Makes the demo user have no organization of `product` at all (code 9017), or some again.
    pub fn set_no_organization(&self, product: Product, none: bool) {
        self.shared
            .with(|w, _| w.set_orgs(product, None, None, Some(none)));
    }

    /// Sets how many seeded records `module` lists (created ones stay).
    pub fn set_record_count(&self, module: Module, count: usize) {
        self.shared.with(|w, _| {
            w.records
                .counts
                .insert(module, count.min(modules::MAX_COUNT))
        });
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
        let shared = Arc::new(Shared::new(world, state));
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
