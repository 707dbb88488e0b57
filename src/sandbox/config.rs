//! How the sandbox behaves and what it counts: the configuration, its switches, the request
//! counters and injected faults. No IO here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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

    pub(crate) fn matches(&self, path: &str) -> bool {
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
