//! The simulated Zoho's memory and rules. No IO here: every rule takes the virtual `now` in epoch
//! milliseconds and returns the status and exact body Zoho would send (facts §2–§7).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::config::{Fault, OtherDcField, SandboxConfig, Stats};
use super::modules::{self, Caller, ModuleRequest, Records};
use super::params::Params;
use super::products::{self, Org, Product, ProductOrgs};
use super::reply::Reply;
use super::shapes;

/// The data center served at the root of the base URL.
pub(crate) const PRIMARY_DC: &str = "us";
/// The data centers the sandbox simulates: the serverinfo key set of facts §1. All but `us` are served
/// under `/_dc/{code}`.
pub(crate) const DCS: &[&str] = &["us", "eu", "in", "au", "jp", "ca", "sa", "uk", "ae"];

pub(crate) const THROTTLE_BODY: &str = r#"{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}"#;
/// Zoho documents HTTP 400 for a bad token at revoke but not the body; this one is our choice.
pub(crate) const REVOKE_INVALID_BODY: &str = r#"{"status":"failure","error":"invalid_token"}"#;
pub(crate) const REVOKE_OK_BODY: &str = r#"{"status":"success"}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientKind {
    /// The API console's Self Client: codes minted on the console, no redirect URI.
    SelfClient,
    /// A server-based client with one registered redirect URI.
    Server,
    /// A "Non-browser" client for the device flow (ids and tokens prefixed `1004.`).
    Device,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Client {
    pub kind: ClientKind,
    pub id: String,
    pub secret: String,
    pub redirect_uri: Option<String>,
    #[serde(skip, default)]
    pub prefix: &'static str,
}

impl ClientKind {
    /// The prefix of this kind's ids and tokens (facts §9).
    fn prefix(self) -> &'static str {
        match self {
            ClientKind::SelfClient | ClientKind::Server => "1000",
            ClientKind::Device => "1004",
        }
    }
}

impl Client {
    fn new(kind: ClientKind, redirect_uri: Option<&str>) -> Client {
        let prefix = kind.prefix();
        Client {
            kind,
            id: shapes::client_id(prefix),
            secret: shapes::client_secret(),
            redirect_uri: redirect_uri.map(str::to_string),
            prefix,
        }
    }
}

#[derive(Debug, Clone)]
struct Code {
    client_id: String,
    scopes: Vec<String>,
    expires_ms: i64,
    /// Issue a refresh token on exchange.
    offline: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefreshToken {
    client_id: String,
    scopes: Vec<String>,
    seq: u64,
    /// Access tokens minted from it, oldest first.
    access: VecDeque<String>,
    /// When each refresh grant succeeded, for the throttle.
    mints: VecDeque<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessToken {
    scopes: Vec<String>,
    expires_ms: i64,
    refresh: Option<String>,
}

/// One data center's grants: codes and tokens of one DC are unknown to every other DC.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct DcStore {
    /// Codes live minutes: they are not saved.
    #[serde(skip)]
    codes: HashMap<String, Code>,
    refresh: HashMap<String, RefreshToken>,
    access: HashMap<String, AccessToken>,
}

/// What `--state FILE` keeps across restarts: the clients, the grants (refresh and access tokens;
/// codes are short-lived and dropped), the virtual clock and the module records.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Saved {
    pub kind: String,
    pub version: u32,
    pub self_client: Client,
    pub server_client: Client,
    pub device_client: Client,
    pub clock_offset_ms: i64,
    pub seq: u64,
    pub grants: BTreeMap<String, DcStore>,
    pub records: Records,
}

pub(crate) const SAVED_KIND: &str = "zoho-auth sandbox state";
pub(crate) const SAVED_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
enum DeviceState {
    Pending,
    Approved { dc: String },
    Denied,
}

#[derive(Debug, Clone)]
struct Device {
    client_id: String,
    scopes: Vec<String>,
    user_code: String,
    issued_dc: String,
    expires_ms: i64,
    last_poll: Option<i64>,
    state: DeviceState,
    offline: bool,
    prompt_consent: bool,
}

/// A validated `GET /oauth/v2/auth` request of the server-based client.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub access_type: String,
    pub prompt: Option<String>,
}

/// The result of a control action that names something that may not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlOutcome {
    /// Done.
    Done,
    /// Nothing matched the given code or token.
    NotFound,
    /// The device code has already expired.
    Expired,
}

/// Token response, keys in the order of the real capture (facts §2).
#[derive(Serialize)]
struct TokenOk<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    api_domain: String,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_sec: Option<u64>,
    expires_in: u64,
}

/// Device-flow initiation response, in the order of facts §6.
#[derive(Serialize)]
struct DeviceCodeOk<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_url: &'a str,
    verification_uri_complete: String,
    expires_in: i64,
    interval: i64,
}

/// Everything the sandbox remembers. Lives behind one mutex; no lock is held across an await.
pub(crate) struct World {
    pub base: String,
    pub config: SandboxConfig,
    pub clock_offset_ms: i64,
    pub self_client: Client,
    pub server_client: Client,
    pub device_client: Client,
    /// The data center the demo user's account lives in; authorizations made at the primary DC
    /// land there (facts §1: sign in at accounts.zoho.com, get `location` back).
    pub user_dc: String,
    pub orgs: BTreeMap<Product, ProductOrgs>,
    pub faults: Vec<Fault>,
    pub stats: Stats,
    /// Seeded counts and created records of the module endpoints.
    pub records: Records,
    /// The Books-family rate window: (minute since the epoch, requests in it), for the
    /// `x-rate-limit-*` headers (facts §10).
    rate: (i64, u32),
    /// Every code, refresh token and access token ever issued, revoked and expired ones included,
    /// for tests that search output for secrets.
    pub issued: Vec<String>,
    dcs: BTreeMap<String, DcStore>,
    devices: HashMap<String, Device>,
    seq: u64,
}

pub(crate) const SERVER_REDIRECT_URI: &str = "http://localhost:8085/callback";

fn split_scopes(scope: &str) -> Vec<String> {
    scope
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A scope string is acceptable when it names at least one scope and none contains whitespace.
pub(crate) fn valid_scope(scope: &str) -> bool {
    let scopes = split_scopes(scope);
    !scopes.is_empty() && scopes.iter().all(|s| !s.contains(char::is_whitespace))
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl World {
    pub(crate) fn new(base: String, config: SandboxConfig) -> World {
        World {
            base,
            config,
            clock_offset_ms: 0,
            self_client: Client::new(ClientKind::SelfClient, None),
            server_client: Client::new(ClientKind::Server, Some(SERVER_REDIRECT_URI)),
            device_client: Client::new(ClientKind::Device, None),
            user_dc: PRIMARY_DC.to_string(),
            orgs: products::default_orgs(),
            faults: Vec::new(),
            stats: Stats::default(),
            records: Records::default(),
            rate: (0, 0),
            issued: Vec::new(),
            dcs: DCS
                .iter()
                .map(|dc| (dc.to_string(), DcStore::default()))
                .collect(),
            devices: HashMap::new(),
            seq: 0,
        }
    }

    /// The part of the world `--state` keeps, as JSON.
    pub(crate) fn save(&self) -> String {
        #[derive(Serialize)]
        struct SavedRef<'a> {
            kind: &'static str,
            version: u32,
            self_client: &'a Client,
            server_client: &'a Client,
            device_client: &'a Client,
            clock_offset_ms: i64,
            seq: u64,
            grants: &'a BTreeMap<String, DcStore>,
            records: &'a Records,
        }
        serde_json::to_string_pretty(&SavedRef {
            kind: SAVED_KIND,
            version: SAVED_VERSION,
            self_client: &self.self_client,
            server_client: &self.server_client,
            device_client: &self.device_client,
            clock_offset_ms: self.clock_offset_ms,
            seq: self.seq,
            grants: &self.dcs,
            records: &self.records,
        })
        .expect("the saved world always serializes")
    }

    /// Takes over a saved world. `Err` says what is wrong with it.
    pub(crate) fn restore(&mut self, saved: Saved) -> Result<(), String> {
        if saved.kind != SAVED_KIND {
            return Err(format!("its \"kind\" is not {SAVED_KIND:?}"));
        }
        if saved.version != SAVED_VERSION {
            return Err(format!(
                "it is version {}, this zoho-auth reads version {SAVED_VERSION}",
                saved.version
            ));
        }
        let clients = [
            (&saved.self_client, ClientKind::SelfClient),
            (&saved.server_client, ClientKind::Server),
            (&saved.device_client, ClientKind::Device),
        ];
        for (client, kind) in clients {
            if client.kind != kind || client.id.is_empty() || client.secret.is_empty() {
                return Err(format!("its {kind:?} client is not one"));
            }
        }
        if let Some(dc) = saved.grants.keys().find(|dc| !DCS.contains(&dc.as_str())) {
            return Err(format!("it names an unknown data center {dc:?}"));
        }
        let with_prefix = |mut c: Client| {
            c.prefix = c.kind.prefix();
            c
        };
        self.self_client = with_prefix(saved.self_client);
        self.server_client = with_prefix(saved.server_client);
        self.device_client = with_prefix(saved.device_client);
        if self.server_client.redirect_uri.is_none() {
            self.server_client.redirect_uri = Some(SERVER_REDIRECT_URI.to_string());
        }
        self.clock_offset_ms = saved.clock_offset_ms;
        self.seq = saved.seq;
        for store in saved.grants.values() {
            self.issued.extend(store.refresh.keys().cloned());
            self.issued.extend(store.access.keys().cloned());
        }
        for (dc, store) in saved.grants {
            self.dcs.insert(dc, store);
        }
        self.records = saved.records;
        Ok(())
    }

    /// The accounts server (and API domain) of a data center: the base URL for the primary DC,
    /// `{base}/_dc/{code}` for the others.
    pub(crate) fn dc_url(&self, dc: &str) -> String {
        if dc == PRIMARY_DC {
            self.base.clone()
        } else {
            format!("{}/_dc/{dc}", self.base)
        }
    }

    /// Where an authorization made at `request_dc` lands: the user's DC when asked at the primary one.
    fn home_dc(&self, request_dc: &str) -> String {
        if request_dc == PRIMARY_DC {
            self.user_dc.clone()
        } else {
            request_dc.to_string()
        }
    }

    fn store(&mut self, dc: &str) -> &mut DcStore {
        self.dcs.entry(dc.to_string()).or_default()
    }

    fn client(&self, id: Option<&str>) -> Option<Client> {
        let id = id?;
        [&self.self_client, &self.server_client, &self.device_client]
            .into_iter()
            .find(|c| c.id == id)
            .cloned()
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    // ----- codes -----

    /// Mints a Self Client code, as the API console does. `None` when the scope string is empty or
    /// malformed.
    pub(crate) fn mint_self_code(
        &mut self,
        dc: &str,
        scope: &str,
        minutes: u32,
        now: i64,
    ) -> Option<(String, i64)> {
        if !valid_scope(scope) {
            return None;
        }
        let code = shapes::token("1000");
        let expires_ms = now + i64::from(minutes) * 60_000;
        let client_id = self.self_client.id.clone();
        self.issued.push(code.clone());
        self.store(dc).codes.insert(
            code.clone(),
            Code {
                client_id,
                scopes: split_scopes(scope),
                expires_ms,
                offline: true,
            },
        );
        Some((code, expires_ms))
    }

    /// The scopes and expiry of a live Self Client code (for the `self_client.json` download).
    pub(crate) fn code_info(&self, dc: &str, code: &str) -> Option<(Vec<String>, i64)> {
        let c = self.dcs.get(dc)?.codes.get(code)?;
        Some((c.scopes.clone(), c.expires_ms))
    }

    // ----- token endpoint -----

    /// `POST /oauth/v2/token`.
    pub(crate) fn token(&mut self, dc: &str, p: &Params, now: i64) -> Reply {
        let grant = p.get("grant_type").unwrap_or("").to_string();
        self.stats.token_requests += 1;
        *self
            .stats
            .token_requests_by_grant
            .entry(grant.clone())
            .or_default() += 1;
        match grant.as_str() {
            "authorization_code" => self.stats.exchanges += 1,
            "refresh_token" => self.stats.refreshes += 1,
            "client_credentials" => self.stats.client_credentials += 1,
            _ => {}
        }
        let Some(client) = self.client(p.get("client_id")) else {
            return Reply::error("invalid_client");
        };
        if p.get("client_secret") != Some(client.secret.as_str()) {
            return Reply::error("invalid_client_secret");
        }
        match grant.as_str() {
            "authorization_code" => self.exchange(dc, &client, p, now),
            "refresh_token" => self.refresh(dc, &client, p, now),
            "client_credentials" => self.client_credentials(dc, &client, p, now),
            // Facts §2: no evidence Zoho ever answers unsupported_grant_type, so we do not invent
            // it; a grant we cannot honour looks like every other dead grant.
            _ => Reply::error("invalid_code"),
        }
    }

    fn exchange(&mut self, dc: &str, client: &Client, p: &Params, now: i64) -> Reply {
        let code_value = p.get("code").unwrap_or("").to_string();
        let store = self.store(dc);
        let Some(code) = store.codes.get(&code_value).cloned() else {
            return Reply::error("invalid_code");
        };
        if code.client_id != client.id {
            return Reply::error("invalid_code");
        }
        if now >= code.expires_ms {
            store.codes.remove(&code_value);
            return Reply::error("invalid_code");
        }
        // Self Client: redirect_uri optional and ignored (facts §2). Server client: exact match.
        if client.kind == ClientKind::Server
            && p.get("redirect_uri") != client.redirect_uri.as_deref()
        {
            return Reply::error("invalid_redirect_uri");
        }
        store.codes.remove(&code_value);
        self.issue(dc, client, code.scopes, code.offline, now)
    }

    fn refresh(&mut self, dc: &str, client: &Client, p: &Params, now: i64) -> Reply {
        let token = p.get("refresh_token").unwrap_or("").to_string();
        let window_ms = self.config.throttle_window.as_millis() as i64;
        let limit = self.config.throttle_limit as usize;
        let throttle_status = self.config.throttle_status;
        let store = self.store(dc);
        let Some(rt) = store.refresh.get_mut(&token) else {
            return Reply::error("invalid_code");
        };
        if rt.client_id != client.id {
            return Reply::error("invalid_code");
        }
        while rt.mints.front().is_some_and(|&t| t <= now - window_ms) {
            rt.mints.pop_front();
        }
        if rt.mints.len() >= limit {
            return Reply::new(throttle_status, THROTTLE_BODY);
        }
        rt.mints.push_back(now);
        let scopes = rt.scopes.clone();
        let access = self.new_access(dc, client, scopes.clone(), Some(&token), now);
        self.token_body(dc, &access, None, &scopes)
    }

    fn client_credentials(&mut self, dc: &str, client: &Client, p: &Params, now: i64) -> Reply {
        if client.kind != ClientKind::SelfClient {
            // Facts §2: client_credentials is for the Self Client only; Zoho's refusal is not
            // documented, invalid_client is our choice.
            return Reply::error("invalid_client");
        }
        if p.get("soid").is_none_or(str::is_empty) {
            return Reply::error("missing_org_info");
        }
        let scope = p.get("scope").unwrap_or("");
        if !valid_scope(scope) {
            // Not documented; our choice.
            return Reply::error("invalid_scope");
        }
        let scopes = split_scopes(scope);
        let access = self.new_access(dc, client, scopes.clone(), None, now);
        self.token_body(dc, &access, None, &scopes)
    }

    /// Issues an access token and, when `offline`, a refresh token; returns the token response.
    fn issue(
        &mut self,
        dc: &str,
        client: &Client,
        scopes: Vec<String>,
        offline: bool,
        now: i64,
    ) -> Reply {
        let refresh = offline.then(|| self.new_refresh(dc, client, scopes.clone()));
        let access = self.new_access(dc, client, scopes.clone(), refresh.as_deref(), now);
        self.token_body(dc, &access, refresh.as_deref(), &scopes)
    }

    fn token_body(
        &self,
        dc: &str,
        access: &str,
        refresh: Option<&str>,
        scopes: &[String],
    ) -> Reply {
        let secs = self.config.access_token_lifetime.as_secs();
        let (expires_in_sec, expires_in) = if self.config.expires_in_millis {
            (Some(secs), secs * 1000)
        } else {
            (None, secs)
        };
        let body = TokenOk {
            access_token: access,
            refresh_token: refresh,
            scope: self.config.token_scope.then(|| scopes.join(" ")),
            api_domain: self.dc_url(dc),
            token_type: "Bearer",
            expires_in_sec,
            expires_in,
        };
        Reply::new(
            200,
            serde_json::to_string(&body).expect("a token body always serializes"),
        )
    }

    /// A new refresh token; past the per-client limit the oldest one dies with its access tokens.
    fn new_refresh(&mut self, dc: &str, client: &Client, scopes: Vec<String>) -> String {
        let max = self.config.max_refresh_tokens.max(1);
        let seq = self.next_seq();
        let store = self.store(dc);
        loop {
            let mine: Vec<(&String, u64)> = store
                .refresh
                .iter()
                .filter(|(_, rt)| rt.client_id == client.id)
                .map(|(t, rt)| (t, rt.seq))
                .collect();
            if mine.len() < max {
                break;
            }
            let oldest = mine
                .iter()
                .min_by_key(|(_, seq)| *seq)
                .map(|(t, _)| (*t).clone())
                .expect("at least one refresh token");
            remove_refresh(store, &oldest);
        }
        let token = shapes::token(client.prefix);
        self.issued.push(token.clone());
        let store = self.store(dc);
        store.refresh.insert(
            token.clone(),
            RefreshToken {
                client_id: client.id.clone(),
                scopes,
                seq,
                access: VecDeque::new(),
                mints: VecDeque::new(),
            },
        );
        token
    }

    /// A new access token; past the per-refresh-token limit the oldest active one dies.
    fn new_access(
        &mut self,
        dc: &str,
        client: &Client,
        scopes: Vec<String>,
        refresh: Option<&str>,
        now: i64,
    ) -> String {
        let max = self.config.max_access_tokens.max(1);
        let expires_ms = now + self.config.access_token_lifetime.as_millis() as i64;
        let token = shapes::token(client.prefix);
        self.issued.push(token.clone());
        let store = self.store(dc);
        if let Some(rt) = refresh.and_then(|r| store.refresh.get_mut(r)) {
            let access = &mut store.access;
            rt.access
                .retain(|t| access.get(t).is_some_and(|a| a.expires_ms > now));
            while rt.access.len() >= max {
                if let Some(old) = rt.access.pop_front() {
                    access.remove(&old);
                }
            }
            rt.access.push_back(token.clone());
        }
        store.access.insert(
            token.clone(),
            AccessToken {
                scopes,
                expires_ms,
                refresh: refresh.map(str::to_string),
            },
        );
        token
    }

    // ----- revoke -----

    /// `POST /oauth/v2/token/revoke?token=...` (facts §4).
    pub(crate) fn revoke(&mut self, dc: &str, token: &str) -> Reply {
        self.stats.revokes += 1;
        let store = self.store(dc);
        if remove_refresh(store, token) || remove_access(store, token) {
            Reply::new(200, REVOKE_OK_BODY)
        } else {
            Reply::new(400, REVOKE_INVALID_BODY)
        }
    }

    /// Server-side revoke, as if the user removed the app under Connected Apps. Any DC.
    pub(crate) fn revoke_server_side(&mut self, token: &str) -> ControlOutcome {
        for store in self.dcs.values_mut() {
            if remove_refresh(store, token) || remove_access(store, token) {
                return ControlOutcome::Done;
            }
        }
        ControlOutcome::NotFound
    }

    // ----- authorization page -----

    /// Validates a `GET /oauth/v2/auth` request. `Err` carries the message of the error page (no
    /// redirect: facts §5).
    pub(crate) fn check_auth(&self, p: &Params) -> Result<AuthRequest, String> {
        let Some(client) = self.client(p.get("client_id")) else {
            return Err("Invalid client: no client has this client_id.".into());
        };
        if client.kind != ClientKind::Server {
            return Err(
                "This client cannot use the authorization page (it is not a server-based client)."
                    .into(),
            );
        }
        if p.get("response_type") != Some("code") {
            return Err("Invalid response_type: it must be \"code\".".into());
        }
        let redirect_uri = p.get("redirect_uri").unwrap_or("");
        if Some(redirect_uri) != client.redirect_uri.as_deref() {
            return Err(
                "Invalid redirect URI: it does not exactly match the one registered for this client."
                    .into(),
            );
        }
        let scope = p.get("scope").unwrap_or("");
        if !valid_scope(scope) {
            return Err("Invalid scope: name at least one scope, separated by commas.".into());
        }
        Ok(AuthRequest {
            client_id: client.id,
            redirect_uri: redirect_uri.to_string(),
            scope: scope.to_string(),
            state: p.get("state").map(str::to_string),
            access_type: p.get("access_type").unwrap_or("online").to_string(),
            prompt: p.get("prompt").map(str::to_string),
        })
    }

    /// Approves a consent: mints a web code in the user's DC and returns the redirect location,
    /// shaped exactly as the real capture (facts §1).
    pub(crate) fn approve_auth(&mut self, request_dc: &str, req: &AuthRequest, now: i64) -> String {
        let dc = self.home_dc(request_dc);
        let client = self.server_client.clone();
        let offline = req.access_type.eq_ignore_ascii_case("offline")
            && self.refresh_allowed(&dc, &client, req.prompt.as_deref());
        let code = shapes::token(client.prefix);
        let expires_ms = now + self.config.web_code_lifetime.as_millis() as i64;
        self.issued.push(code.clone());
        self.store(&dc).codes.insert(
            code.clone(),
            Code {
                client_id: client.id.clone(),
                scopes: split_scopes(&req.scope),
                expires_ms,
                offline,
            },
        );
        let mut url = req.redirect_uri.clone();
        url.push(if url.contains('?') { '&' } else { '?' });
        if let Some(state) = &req.state {
            url.push_str(&format!("state={}&", encode(state)));
        }
        url.push_str(&format!(
            "code={code}&location={dc}&accounts-server={}&",
            encode(&self.dc_url(&dc))
        ));
        url
    }

    /// The redirect after the user denies: RFC style, assumed (facts §5).
    pub(crate) fn deny_auth(req: &AuthRequest) -> String {
        let mut url = req.redirect_uri.clone();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("error=access_denied");
        if let Some(state) = &req.state {
            url.push_str(&format!("&state={}", encode(state)));
        }
        url
    }

    /// A refresh token is issued on the first offline consent only, or again with `prompt=consent`
    /// (facts §2). "First" here: the client holds no live refresh token of this user.
    fn refresh_allowed(&self, dc: &str, client: &Client, prompt: Option<&str>) -> bool {
        prompt.is_some_and(|p| p.eq_ignore_ascii_case("consent"))
            || !self
                .dcs
                .get(dc)
                .is_some_and(|s| s.refresh.values().any(|rt| rt.client_id == client.id))
    }

    // ----- device flow -----

    fn device_interval_ms(&self) -> i64 {
        self.config.device_interval.as_millis() as i64
    }

    /// `POST /oauth/v3/device/code` (facts §6).
    pub(crate) fn device_code(&mut self, dc: &str, p: &Params, now: i64) -> Reply {
        self.stats.device_code_requests += 1;
        let Some(client) = self.client(p.get("client_id")) else {
            return Reply::error("invalid_client");
        };
        if client.kind != ClientKind::Device {
            return Reply::error("invalid_client");
        }
        if p.get("grant_type") != Some("device_request") {
            // Not documented; our choice.
            return Reply::error("invalid_request");
        }
        let scope = p.get("scope").unwrap_or("");
        if !valid_scope(scope) {
            return Reply::error("invalid_scope");
        }
        let device_code = shapes::token(client.prefix);
        self.issued.push(device_code.clone());
        let user_code = shapes::user_code();
        let lifetime_ms = self.config.device_code_lifetime.as_millis() as i64;
        self.devices.insert(
            device_code.clone(),
            Device {
                client_id: client.id.clone(),
                scopes: split_scopes(scope),
                user_code: user_code.clone(),
                issued_dc: dc.to_string(),
                expires_ms: now + lifetime_ms,
                last_poll: None,
                state: DeviceState::Pending,
                offline: p
                    .get("access_type")
                    .is_some_and(|a| a.eq_ignore_ascii_case("offline")),
                prompt_consent: p
                    .get("prompt")
                    .is_some_and(|a| a.eq_ignore_ascii_case("consent")),
            },
        );
        let unit = |ms: i64| {
            if self.config.device_millis {
                ms
            } else {
                ms / 1000
            }
        };
        let verification_url = format!("{}/oauth/v3/device", self.dc_url(dc));
        let body = DeviceCodeOk {
            verification_uri_complete: format!("{verification_url}?user_code={user_code}"),
            device_code: &device_code,
            user_code: &user_code,
            verification_url: &verification_url,
            expires_in: unit(lifetime_ms),
            interval: unit(self.device_interval_ms()),
        };
        Reply::new(
            200,
            serde_json::to_string(&body).expect("a device body always serializes"),
        )
    }

    /// `POST /oauth/v3/device/token` (facts §6). Polling feedback is HTTP 400 (facts: "probably").
    pub(crate) fn device_token(&mut self, dc: &str, p: &Params, now: i64) -> Reply {
        self.stats.device_polls += 1;
        let Some(client) = self.client(p.get("client_id")) else {
            return Reply::error("invalid_client");
        };
        if p.get("client_secret") != Some(client.secret.as_str()) {
            return Reply::error("invalid_client_secret");
        }
        if p.get("grant_type") != Some("device_token") {
            return Reply::error("invalid_request");
        }
        let code = p.get("code").unwrap_or("").to_string();
        let interval = self.device_interval_ms();
        let Some(device) = self.devices.get_mut(&code) else {
            return Reply::error("invalid_code");
        };
        if device.client_id != client.id {
            return Reply::error("invalid_code");
        }
        if now >= device.expires_ms {
            return Reply::error_with(400, "expired");
        }
        let last = device.last_poll.replace(now);
        if last.is_some_and(|t| now - t < interval) {
            return Reply::error_with(400, "slow_down");
        }
        match device.state.clone() {
            DeviceState::Pending => Reply::error_with(400, "authorization_pending"),
            DeviceState::Denied => Reply::error_with(400, "access_denied"),
            DeviceState::Approved { dc: home } if home != dc => {
                // The next poll goes to the other DC: it is not "too soon" there.
                device.last_poll = None;
                let (field, value) = match self.config.other_dc_field {
                    OtherDcField::UserLocation => ("user_location", home),
                    OtherDcField::Dc => ("dc", self.dc_url(&home)),
                };
                let value = serde_json::Value::String(value);
                Reply::new(400, format!(r#"{{"error":"other_dc","{field}":{value}}}"#))
            }
            DeviceState::Approved { .. } => {
                let device = self.devices.remove(&code).expect("present above");
                let offline = device.offline
                    && self.refresh_allowed(
                        dc,
                        &client,
                        device.prompt_consent.then_some("consent"),
                    );
                self.issue(dc, &client, device.scopes, offline, now)
            }
        }
    }

    fn find_device(&self, code: &str) -> Option<String> {
        let wanted = code.trim().replace('-', "").to_ascii_uppercase();
        self.devices
            .iter()
            .find(|(dc, d)| {
                *dc == code.trim() || d.user_code.replace('-', "").eq_ignore_ascii_case(&wanted)
            })
            .map(|(dc, _)| dc.clone())
    }

    /// Approves or denies a device code (by user code or device code), as the user would on the
    /// verification page. `approve_in` names the DC the user's account is in; by default the DC
    /// the code was issued in (or the user's DC when issued at the primary one).
    pub(crate) fn decide_device(
        &mut self,
        code: &str,
        approve: bool,
        approve_in: Option<&str>,
        now: i64,
    ) -> ControlOutcome {
        let Some(key) = self.find_device(code) else {
            return ControlOutcome::NotFound;
        };
        let issued_dc = self.devices[&key].issued_dc.clone();
        let home = approve_in
            .map(str::to_string)
            .unwrap_or_else(|| self.home_dc(&issued_dc));
        let device = self.devices.get_mut(&key).expect("found above");
        if now >= device.expires_ms {
            return ControlOutcome::Expired;
        }
        device.state = if approve {
            DeviceState::Approved { dc: home }
        } else {
            DeviceState::Denied
        };
        ControlOutcome::Done
    }

    /// The scopes a pending device code asks for (for the verification page).
    pub(crate) fn device_scopes(&self, code: &str, now: i64) -> Option<Vec<String>> {
        let key = self.find_device(code)?;
        let d = &self.devices[&key];
        (d.state == DeviceState::Pending && now < d.expires_ms).then(|| d.scopes.clone())
    }

    // ----- product endpoints -----

    /// Who a request's `Authorization` header names, in data center `dc`.
    pub(crate) fn caller(&self, dc: &str, authorization: Option<&str>, now: i64) -> Caller {
        let Some(token) = authorization.and_then(products::bearer) else {
            return Caller::Missing;
        };
        let live = |store: &DcStore| {
            store
                .access
                .get(token)
                .filter(|a| a.expires_ms > now)
                .map(|a| a.scopes.clone())
        };
        if let Some(scopes) = self.dcs.get(dc).and_then(live) {
            return Caller::Valid(scopes);
        }
        if self
            .dcs
            .iter()
            .any(|(other, store)| other != dc && live(store).is_some())
        {
            return Caller::OtherDc;
        }
        Caller::Unknown
    }

    /// When a live access token of `dc` expires (CRM's `X-Accesstoken-Reset`).
    fn access_expiry(&self, dc: &str, authorization: Option<&str>) -> Option<i64> {
        let token = authorization.and_then(products::bearer)?;
        self.dcs.get(dc)?.access.get(token).map(|a| a.expires_ms)
    }

    /// Books-family answers carry `x-rate-limit-*` (facts §10): 100 requests a minute, counted
    /// but not enforced.
    fn rate_headers(&mut self, reply: Reply, now: i64) -> Reply {
        const LIMIT: u32 = 100;
        let minute = now.div_euclid(60_000);
        if self.rate.0 != minute {
            self.rate = (minute, 0);
        }
        self.rate.1 += 1;
        let reset = 60 - now.rem_euclid(60_000) / 1000;
        reply
            .with_header("x-rate-limit-limit", LIMIT.to_string())
            .with_header(
                "x-rate-limit-remaining",
                LIMIT.saturating_sub(self.rate.1).to_string(),
            )
            .with_header("x-rate-limit-reset", reset.to_string())
    }

    /// Headers per product family: Books' rate limit, CRM's lower-case JSON and
    /// `X-Accesstoken-Reset` (facts §10).
    fn product_headers(
        &mut self,
        product: Product,
        dc: &str,
        authorization: Option<&str>,
        reply: Reply,
        now: i64,
    ) -> Reply {
        match product {
            Product::Books | Product::Invoice | Product::Inventory | Product::Expense => {
                self.rate_headers(reply, now)
            }
            Product::Crm => {
                let reply = reply.lower_case_json();
                match self.access_expiry(dc, authorization) {
                    Some(ms) => reply.with_header("x-accesstoken-reset", modules::iso(ms)),
                    None => reply,
                }
            }
            Product::Desk => reply,
        }
    }

    /// `GET {api_domain}/<product org endpoint>` (facts §7, §10).
    pub(crate) fn probe(
        &mut self,
        dc: &str,
        product: Product,
        authorization: Option<&str>,
        now: i64,
    ) -> Reply {
        self.stats.probes += 1;
        let reply = self.probe_reply(dc, product, authorization, now);
        self.product_headers(product, dc, authorization, reply, now)
    }

    fn probe_reply(
        &self,
        dc: &str,
        product: Product,
        authorization: Option<&str>,
        now: i64,
    ) -> Reply {
        let caller = self.caller(dc, authorization, now);
        if let Some(refusal) = modules::token_refusal(product, &caller, &self.config) {
            return refusal;
        }
        let Caller::Valid(scopes) = caller else {
            unreachable!("token_refusal answers every other caller");
        };
        if !products::scope_allows(product, &scopes) {
            return products::scope_missing(product);
        }
        if product == Product::Desk && self.config.desk_forbidden {
            return Reply::new(403, modules::DESK_FORBIDDEN);
        }
        let orgs = self.orgs.get(&product).cloned().unwrap_or_default();
        if orgs.no_organization
            && matches!(
                product,
                Product::Books | Product::Invoice | Product::Inventory
            )
        {
            return Reply::new(400, modules::NO_ORGANIZATION);
        }
        if !orgs.member {
            return products::not_member(product);
        }
        products::success(product, &orgs.orgs, self.config.lone_org_is_default)
    }

    /// A module endpoint (`/books/v3/invoices`, `/crm/v8/Leads`, ...; facts §10).
    pub(crate) fn module(
        &mut self,
        dc: &str,
        authorization: Option<&str>,
        req: ModuleRequest<'_>,
    ) -> Reply {
        self.stats.module_requests += 1;
        let now = req.now;
        let product = match &req.route {
            modules::Route::List(m) | modules::Route::One(m, _) => Some(m.product()),
            modules::Route::FinanceUnknown(p) => Some(*p),
            modules::Route::ExpenseUnknown => Some(Product::Expense),
            modules::Route::CrmUnknownModule => Some(Product::Crm),
            modules::Route::DeskUnknown => Some(Product::Desk),
            modules::Route::CrmMalformed | modules::Route::CrmSecurityPage => None,
        };
        let caller = self.caller(dc, authorization, now);
        let reply = modules::handle(&mut self.records, &self.orgs, &self.config, &caller, req);
        match product {
            Some(product) => self.product_headers(product, dc, authorization, reply, now),
            None => reply,
        }
    }

    pub(crate) fn set_orgs(
        &mut self,
        product: Product,
        orgs: Option<Vec<Org>>,
        member: Option<bool>,
        no_organization: Option<bool>,
    ) {
        let entry = self.orgs.entry(product).or_default();
        if let Some(none) = no_organization {
            entry.no_organization = none;
        }
        if let Some(orgs) = orgs {
            entry.orgs = orgs;
        }
        if let Some(member) = member {
            entry.member = member;
        }
    }
}

fn remove_refresh(store: &mut DcStore, token: &str) -> bool {
    match store.refresh.remove(token) {
        Some(rt) => {
            for access in rt.access {
                store.access.remove(&access);
            }
            // Access tokens already pruned from the list may still be alive: kill them too.
            store
                .access
                .retain(|_, a| a.refresh.as_deref() != Some(token));
            true
        }
        None => false,
    }
}

fn remove_access(store: &mut DcStore, token: &str) -> bool {
    match store.access.remove(token) {
        Some(access) => {
            if let Some(rt) = access.refresh.and_then(|r| store.refresh.get_mut(&r)) {
                rt.access.retain(|t| t != token);
            }
            true
        }
        None => false,
    }
}
