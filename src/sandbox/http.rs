//! The sandbox's HTTP face: axum routes over [`World`](super::world::World), the front middleware
//! (data-center prefix, counters, injected faults) and a listener whose connections can be dropped
//! without a response.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Extension, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::config::{Fault, FaultKind, MintedCode, OtherDcField};
use super::modules::{self, Module, ModuleRequest};
use super::pages::{self, ClientView};
use super::params::Params;
use super::products::{self, Org, Product};
use super::reply::{Body, Reply};
use super::shared::Shared;
use super::world::{self, ControlOutcome, World};

type Shd = Arc<Shared>;

/// The data center a request is addressed to (from the `/_dc/{code}` prefix, else the primary).
#[derive(Debug, Clone)]
pub(crate) struct Dc(pub String);

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Shd,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let inner = routes().with_state(shared.clone());
    let app = Router::new()
        .fallback_service(inner)
        .layer(middleware::from_fn_with_state(shared, front));
    let _ = axum::serve(
        KillableListener(listener),
        app.into_make_service_with_connect_info::<ConnKill>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
}

fn routes() -> Router<Shd> {
    Router::new()
        .route("/", get(console))
        .route("/self-client/code", post(console_mint))
        .route("/self-client/self_client.json", get(self_client_json))
        .route("/oauth/v2/token", post(token))
        .route("/oauth/v2/token/revoke", post(revoke))
        .route("/oauth/v2/auth", get(auth))
        .route("/oauth/v2/auth/decision", post(auth_decision))
        .route("/oauth/serverinfo", get(serverinfo))
        .route("/oauth/v3/device/code", post(device_code))
        .route("/oauth/v3/device/token", post(device_token))
        .route("/oauth/v3/device", get(device_page))
        .route("/oauth/v3/device/decision", post(device_decision))
        .route("/books/v3/organizations", get(probe))
        .route("/invoice/v3/organizations", get(probe))
        .route("/inventory/v1/organizations", get(probe))
        .route("/expense/v1/organizations", get(probe))
        .route("/crm/{version}/org", get(probe))
        .route("/api/v1/organizations", get(probe))
        .route("/_sandbox/code", post(ctl_code))
        .route("/_sandbox/device/approve", post(ctl_device_approve))
        .route("/_sandbox/device/deny", post(ctl_device_deny))
        .route("/_sandbox/revoke", post(ctl_revoke))
        .route("/_sandbox/orgs", post(ctl_orgs))
        .route("/_sandbox/config", get(ctl_config).post(ctl_config))
        .route("/_sandbox/clock", post(ctl_clock))
        .route("/_sandbox/fault", post(ctl_fault).delete(ctl_fault_clear))
        .route("/_sandbox/stats", get(ctl_stats))
        .route("/_sandbox/clients", get(ctl_clients))
        .route("/_sandbox/records", get(ctl_records).post(ctl_records))
        .fallback(module_endpoint)
}

// ----- front middleware -----

/// Splits `/_dc/{code}/rest` into the DC and the rest. `Err` for an unknown DC.
fn split_dc(path: &str) -> Result<(String, String), ()> {
    let Some(after) = path.strip_prefix("/_dc/") else {
        return Ok((world::PRIMARY_DC.to_string(), path.to_string()));
    };
    let (code, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    if code == world::PRIMARY_DC || !world::DCS.contains(&code) {
        return Err(());
    }
    Ok((code.to_string(), rest.to_string()))
}

async fn front(
    State(shared): State<Shd>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let Ok((dc, rest)) = split_dc(&path) else {
        return (StatusCode::NOT_FOUND, "unknown data center").into_response();
    };
    let control = rest.starts_with("/_sandbox/");
    shared.with(|w, _| {
        if control {
            w.stats.control_requests += 1;
        } else {
            w.stats.requests += 1;
        }
    });
    if !control && let Some(fault) = shared.take_fault(&path) {
        match fault.kind {
            FaultKind::Http500 => {
                return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                    .into_response();
            }
            FaultKind::Html503 => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
                    "<html><head><title>503 Service Temporarily Unavailable</title></head><body>\
                     <h1>Service Temporarily Unavailable</h1><p>SIMULATION: injected fault.</p></body></html>",
                )
                    .into_response();
            }
            FaultKind::MalformedJson => {
                return zoho_json(Reply::new(200, r#"{"access_token":"1000.8d3f"#));
            }
            FaultKind::Drop => {
                // The connection's IO fails from now on: the response below is never written.
                conn.kill();
                return StatusCode::OK.into_response();
            }
            FaultKind::Delay => tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await,
        }
    }
    if rest != path {
        let new_uri = match req.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest,
        };
        match new_uri.parse::<Uri>() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
    }
    req.extensions_mut().insert(Dc(dc));
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let response = next.run(req).await;
    if changes {
        // A failed save is retried on the next change and reported at stop (`shutdown`).
        let _ = shared.save();
    }
    response
}

// ----- response helpers -----

/// A reply as HTTP: its status, content type, extra headers and body.
fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = match reply.kind {
        Body::Json => Some("application/json;charset=UTF-8"),
        Body::JsonLower => Some("application/json;charset=utf-8"),
        Body::Html => Some("text/html;charset=UTF-8"),
        Body::Empty => None,
    };
    let mut response = (status, reply.body).into_response();
    let headers = response.headers_mut();
    match content_type {
        Some(value) => {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        }
        None => {
            headers.remove(header::CONTENT_TYPE);
        }
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    response
}

/// JSON the way Zoho's accounts server sends it (facts §9, §10): `Server: ZGS`, a language.
fn zoho_json(reply: Reply) -> Response {
    let mut response = respond(reply);
    let headers = response.headers_mut();
    headers.insert(header::SERVER, HeaderValue::from_static("ZGS"));
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en-US"));
    response
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => html(
            StatusCode::BAD_REQUEST,
            pages::error("The redirect URI cannot be used."),
        ),
    }
}

fn control_json(status: StatusCode, value: impl serde::Serialize) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&value).expect("control bodies serialize"),
    )
        .into_response()
}

fn control_error(message: &str) -> Response {
    control_json(
        StatusCode::BAD_REQUEST,
        serde_json::json!({ "error": message }),
    )
}

fn control_outcome(outcome: ControlOutcome) -> Response {
    match outcome {
        ControlOutcome::Done => {
            control_json(StatusCode::OK, serde_json::json!({ "status": "success" }))
        }
        ControlOutcome::NotFound => control_json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": "not_found" }),
        ),
        ControlOutcome::Expired => control_error("expired"),
    }
}

/// Parses a control body; an empty body means `{}`. Content type is not checked (curl -d).
fn control_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| format!("bad JSON body: {e}"))
}

// ----- accounts endpoints -----

async fn token(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    zoho_json(s.with(|w, now| w.token(&dc, &params, now)))
}

async fn revoke(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    let token = params.get("token").unwrap_or("").to_string();
    zoho_json(s.with(|w, _| w.revoke(&dc, &token)))
}

async fn serverinfo(State(s): State<Shd>) -> Response {
    let locations: serde_json::Map<String, serde_json::Value> = s.with(|w, _| {
        world::DCS
            .iter()
            .map(|dc| (dc.to_string(), serde_json::Value::String(w.dc_url(dc))))
            .collect()
    });
    let locations = serde_json::Value::Object(locations);
    zoho_json(Reply::new(
        200,
        format!(r#"{{"result":"success","locations":{locations}}}"#),
    ))
}

async fn auth(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    s.with(|w, now| {
        w.stats.auth_requests += 1;
        let req = match w.check_auth(&params) {
            Ok(req) => req,
            Err(message) => return html(StatusCode::BAD_REQUEST, pages::error(&message)),
        };
        match params.get("_sandbox_auto") {
            Some("approve") => return redirect(&w.approve_auth(&dc, &req, now)),
            Some("deny") => return redirect(&World::deny_auth(&req)),
            _ => {}
        }
        let mut fields = vec![
            ("client_id", req.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", req.redirect_uri.as_str()),
            ("scope", req.scope.as_str()),
            ("access_type", req.access_type.as_str()),
        ];
        if let Some(state) = &req.state {
            fields.push(("state", state));
        }
        if let Some(prompt) = &req.prompt {
            fields.push(("prompt", prompt));
        }
        let action = format!("{}/oauth/v2/auth/decision", w.dc_url(&dc));
        html(StatusCode::OK, pages::consent(&action, &fields, &req.scope))
    })
}

async fn auth_decision(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    body: Bytes,
) -> Response {
    let params = Params::parse(None, &body);
    s.with(|w, now| {
        let req = match w.check_auth(&params) {
            Ok(req) => req,
            Err(message) => return html(StatusCode::BAD_REQUEST, pages::error(&message)),
        };
        if params.get("decision") == Some("approve") {
            redirect(&w.approve_auth(&dc, &req, now))
        } else {
            redirect(&World::deny_auth(&req))
        }
    })
}

async fn device_code(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    zoho_json(s.with(|w, now| w.device_code(&dc, &params, now)))
}

async fn device_token(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    zoho_json(s.with(|w, now| w.device_token(&dc, &params, now)))
}

async fn device_page(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let user_code = params.get("user_code").unwrap_or("").to_string();
    s.with(|w, now| {
        let scopes = w.device_scopes(&user_code, now);
        let action = format!("{}/oauth/v3/device/decision", w.dc_url(&dc));
        html(
            StatusCode::OK,
            pages::device(&action, &user_code, scopes.as_deref()),
        )
    })
}

async fn device_decision(State(s): State<Shd>, body: Bytes) -> Response {
    let params = Params::parse(None, &body);
    let user_code = params.get("user_code").unwrap_or("").to_string();
    let approve = params.get("decision") == Some("approve");
    let outcome = s.with(|w, now| w.decide_device(&user_code, approve, None, now));
    match (outcome, approve) {
        (ControlOutcome::Done, true) => html(
            StatusCode::OK,
            pages::message("Device connected", "Approved. Go back to your device."),
        ),
        (ControlOutcome::Done, false) => html(
            StatusCode::OK,
            pages::message("Device refused", "Denied. The device will be told so."),
        ),
        (ControlOutcome::NotFound, _) => html(
            StatusCode::BAD_REQUEST,
            pages::error("This code is unknown or already used."),
        ),
        (ControlOutcome::Expired, _) => html(
            StatusCode::BAD_REQUEST,
            pages::error("This code has expired."),
        ),
    }
}

// ----- product endpoints -----

async fn probe(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(product) = products::product_for_path(uri.path()) else {
        // `/crm/{version}/org` with a version CRM does not have: a malformed CRM path.
        return respond(s.with(|w, _| {
            Reply::found(format!(
                "{}/crm/IAMSecurityError.do?isload=true",
                w.dc_url(&dc)
            ))
        }));
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    respond(s.with(|w, now| w.probe(&dc, product, authorization.as_deref(), now)))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every path the fixed routes do not match: the module endpoints and Zoho's answers to unknown
/// and malformed product paths; anything else is a plain 404.
async fn module_endpoint(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(route) = modules::route(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let query = Params::parse(uri.query(), b"");
    let org_header = [
        "x-com-zoho-books-organizationid",
        "x-com-zoho-invoice-organizationid",
        "x-com-zoho-inventory-organizationid",
    ]
    .iter()
    .find_map(|name| header_str(&headers, name));
    let method = match method {
        Method::GET | Method::HEAD => modules::Method::Get,
        Method::POST => modules::Method::Post,
        _ => modules::Method::Other,
    };
    respond(s.with(|w, now| {
        let api_domain = w.dc_url(&dc);
        let req = ModuleRequest {
            method,
            route,
            query: &query,
            org_header,
            desk_org: header_str(&headers, "orgid"),
            body: &body,
            api_domain: &api_domain,
            now,
        };
        w.module(&dc, header_str(&headers, "authorization"), req)
    }))
}

// ----- the Self Client console -----

fn console_page(w: &World, dc: &str, error: Option<&str>) -> String {
    let clients = [
        ClientView {
            label: "Self Client",
            id: &w.self_client.id,
            secret: &w.self_client.secret,
            note: "",
        },
        ClientView {
            label: "Server-based client",
            id: &w.server_client.id,
            secret: &w.server_client.secret,
            note: "redirect URI http://localhost:8085/callback",
        },
        ClientView {
            label: "Non-browser client (device flow)",
            id: &w.device_client.id,
            secret: &w.device_client.secret,
            note: "no redirect URI",
        },
    ];
    let action = format!("{}/self-client/code", w.dc_url(dc));
    pages::console(&action, &clients, error)
}

async fn console(State(s): State<Shd>, Extension(Dc(dc)): Extension<Dc>) -> Response {
    html(StatusCode::OK, s.with(|w, _| console_page(w, &dc, None)))
}

async fn console_mint(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    body: Bytes,
) -> Response {
    let params = Params::parse(None, &body);
    let mut scopes: Vec<String> = params
        .get("scope")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for picked in params.all("scope_pick") {
        if !scopes.iter().any(|s| s.eq_ignore_ascii_case(picked)) {
            scopes.push(picked.to_string());
        }
    }
    let minutes = params
        .get("duration")
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|m| pages::DURATIONS.contains(m))
        .unwrap_or(3);
    let scope = scopes.join(",");
    s.with(|w, now| match w.mint_self_code(&dc, &scope, minutes, now) {
        Some((code, _)) => {
            let base = w.dc_url(&dc);
            let download = format!("{base}/self-client/self_client.json?code={code}");
            html(
                StatusCode::OK,
                pages::minted(&code, &scopes, minutes, &download, &format!("{base}/")),
            )
        }
        None => html(
            StatusCode::BAD_REQUEST,
            console_page(
                w,
                &dc,
                Some("Enter at least one scope (e.g. ZohoBooks.fullaccess.all); scopes contain no spaces."),
            ),
        ),
    })
}

#[derive(serde::Serialize)]
struct SelfClientJson<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    code: &'a str,
    grant_type: &'static str,
    scope: Vec<String>,
    expiry_time: i64,
}

async fn self_client_json(
    State(s): State<Shd>,
    Extension(Dc(dc)): Extension<Dc>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let code = params.get("code").unwrap_or("").to_string();
    s.with(|w, _| match w.code_info(&dc, &code) {
        Some((scope, expiry_time)) => {
            let body = SelfClientJson {
                client_id: &w.self_client.id,
                client_secret: &w.self_client.secret,
                code: &code,
                grant_type: "authorization_code",
                scope,
                expiry_time,
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"self_client.json\"",
                    ),
                ],
                serde_json::to_string(&body).expect("serializes"),
            )
                .into_response()
        }
        None => html(
            StatusCode::NOT_FOUND,
            pages::error("This code is unknown, used or expired."),
        ),
    })
}

// ----- control endpoints -----

#[derive(Deserialize)]
struct CodeReq {
    #[serde(default)]
    scope: String,
    #[serde(default = "three")]
    duration_minutes: u32,
    dc: Option<String>,
}

fn three() -> u32 {
    3
}

fn known_dc(dc: Option<String>, default: String) -> Result<String, String> {
    match dc {
        None => Ok(default),
        Some(dc) if world::DCS.contains(&dc.as_str()) => Ok(dc),
        Some(dc) => Err(format!("unknown data center {dc:?}")),
    }
}

async fn ctl_code(State(s): State<Shd>, Extension(Dc(dc)): Extension<Dc>, body: Bytes) -> Response {
    let req: CodeReq = match control_body(&body) {
        Ok(r) => r,
        Err(e) => return control_error(&e),
    };
    let dc = match known_dc(req.dc, dc) {
        Ok(dc) => dc,
        Err(e) => return control_error(&e),
    };
    if req.duration_minutes == 0 || req.duration_minutes > 60 {
        return control_error("duration_minutes must be 1 to 60");
    }
    s.with(
        |w, now| match w.mint_self_code(&dc, &req.scope, req.duration_minutes, now) {
            Some((code, expiry_time)) => control_json(
                StatusCode::OK,
                MintedCode {
                    code,
                    expiry_time,
                    client_id: w.self_client.id.clone(),
                    client_secret: w.self_client.secret.clone(),
                },
            ),
            None => control_error("scope must name at least one scope, comma-separated"),
        },
    )
}

#[derive(Deserialize)]
struct DeviceReq {
    user_code: Option<String>,
    device_code: Option<String>,
    dc: Option<String>,
}

fn device_decide(s: &Shd, body: &[u8], approve: bool) -> Response {
    let req: DeviceReq = match control_body(body) {
        Ok(r) => r,
        Err(e) => return control_error(&e),
    };
    let Some(code) = req.user_code.or(req.device_code) else {
        return control_error("give user_code or device_code");
    };
    if let Some(dc) = &req.dc
        && !world::DCS.contains(&dc.as_str())
    {
        return control_error(&format!("unknown data center {dc:?}"));
    }
    control_outcome(s.with(|w, now| w.decide_device(&code, approve, req.dc.as_deref(), now)))
}

async fn ctl_device_approve(State(s): State<Shd>, body: Bytes) -> Response {
    device_decide(&s, &body, true)
}

async fn ctl_device_deny(State(s): State<Shd>, body: Bytes) -> Response {
    device_decide(&s, &body, false)
}

#[derive(Deserialize)]
struct RevokeReq {
    refresh_token: Option<String>,
    token: Option<String>,
}

async fn ctl_revoke(State(s): State<Shd>, body: Bytes) -> Response {
    let req: RevokeReq = match control_body(&body) {
        Ok(r) => r,
        Err(e) => return control_error(&e),
    };
    let Some(token) = req.refresh_token.or(req.token) else {
        return control_error("give refresh_token");
    };
    control_outcome(s.with(|w, _| w.revoke_server_side(&token)))
}

#[derive(Deserialize)]
struct OrgsReq {
    product: Product,
    organizations: Option<Vec<Org>>,
    member: Option<bool>,
    no_organization: Option<bool>,
}

async fn ctl_orgs(State(s): State<Shd>, body: Bytes) -> Response {
    let req: OrgsReq = match control_body(&body) {
        Ok(r) => r,
        Err(e) => return control_error(&e),
    };
    if req.member.is_some() && req.product != Product::Invoice {
        return control_error("membership is simulated for invoice only");
    }
    if req.no_organization.is_some()
        && !matches!(
            req.product,
            Product::Books | Product::Invoice | Product::Inventory
        )
    {
        return control_error("no_organization is simulated for books, invoice and inventory");
    }
    s.with(|w, _| {
        w.set_orgs(
            req.product,
            req.organizations,
            req.member,
            req.no_organization,
        )
    });
    control_json(StatusCode::OK, serde_json::json!({ "status": "success" }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigReq {
    access_token_lifetime_seconds: Option<u64>,
    throttle_limit: Option<u32>,
    throttle_window_seconds: Option<u64>,
    throttle_status: Option<u16>,
    expires_in_millis: Option<bool>,
    max_refresh_tokens: Option<usize>,
    max_access_tokens: Option<usize>,
    web_code_lifetime_seconds: Option<u64>,
    device_code_lifetime_seconds: Option<u64>,
    device_interval_seconds: Option<f64>,
    device_millis: Option<bool>,
    user_dc: Option<String>,
    other_dc_field: Option<OtherDcField>,
    token_scope: Option<bool>,
    crm_invalid_token_authentication_failure: Option<bool>,
    desk_forbidden: Option<bool>,
    desk_wrong_dc_empty_body: Option<bool>,
    lone_org_is_default: Option<bool>,
}

async fn ctl_config(State(s): State<Shd>, body: Bytes) -> Response {
    let req: ConfigReq = match control_body(&body) {
        Ok(r) => r,
        Err(e) => return control_error(&e),
    };
    if let Some(status) = req.throttle_status
        && StatusCode::from_u16(status).is_err()
    {
        return control_error("throttle_status must be an HTTP status code");
    }
    if let Some(dc) = &req.user_dc
        && !world::DCS.contains(&dc.as_str())
    {
        return control_error(&format!("unknown data center {dc:?}"));
    }
    if req
        .device_interval_seconds
        .is_some_and(|i| !i.is_finite() || i < 0.0)
    {
        return control_error("device_interval_seconds must be 0 or more");
    }
    let secs = Duration::from_secs;
    s.with(|w, _| {
        let c = &mut w.config;
        if let Some(v) = req.access_token_lifetime_seconds {
            c.access_token_lifetime = secs(v);
        }
        if let Some(v) = req.throttle_limit {
            c.throttle_limit = v;
        }
        if let Some(v) = req.throttle_window_seconds {
            c.throttle_window = secs(v);
        }
        if let Some(v) = req.throttle_status {
            c.throttle_status = v;
        }
        if let Some(v) = req.expires_in_millis {
            c.expires_in_millis = v;
        }
        if let Some(v) = req.max_refresh_tokens {
            c.max_refresh_tokens = v;
        }
        if let Some(v) = req.max_access_tokens {
            c.max_access_tokens = v;
        }
        if let Some(v) = req.web_code_lifetime_seconds {
            c.web_code_lifetime = secs(v);
        }
        if let Some(v) = req.device_code_lifetime_seconds {
            c.device_code_lifetime = secs(v);
        }
        if let Some(v) = req.device_interval_seconds {
            c.device_interval = Duration::from_secs_f64(v);
        }
        if let Some(v) = req.device_millis {
            c.device_millis = v;
        }
        if let Some(v) = req.other_dc_field {
            c.other_dc_field = v;
        }
        if let Some(v) = req.token_scope {
            c.token_scope = v;
        }
        if let Some(v) = req.crm_invalid_token_authentication_failure {
            c.crm_invalid_token_authentication_failure = v;
        }
        if let Some(v) = req.desk_forbidden {
            c.desk_forbidden = v;
        }
        if let Some(v) = req.desk_wrong_dc_empty_body {
            c.desk_wrong_dc_empty_body = v;
        }
        if let Some(v) = req.lone_org_is_default {
            c.lone_org_is_default = v;
        }
        if let Some(v) = req.user_dc {
            w.user_dc = v;
        }
        let c = &w.config;
        control_json(
            StatusCode::OK,
            serde_json::json!({
                "port": c.port,
                "access_token_lifetime_seconds": c.access_token_lifetime.as_secs(),
                "throttle_limit": c.throttle_limit,
                "throttle_window_seconds": c.throttle_window.as_secs(),
                "throttle_status": c.throttle_status,
                "expires_in_millis": c.expires_in_millis,
                "max_refresh_tokens": c.max_refresh_tokens,
                "max_access_tokens": c.max_access_tokens,
                "web_code_lifetime_seconds": c.web_code_lifetime.as_secs(),
                "device_code_lifetime_seconds": c.device_code_lifetime.as_secs(),
                "device_interval_seconds": c.device_interval.as_secs_f64(),
                "device_millis": c.device_millis,
                "other_dc_field": c.other_dc_field,
                "token_scope": c.token_scope,
                "crm_invalid_token_authentication_failure": c.crm_invalid_token_authentication_failure,
                "desk_forbidden": c.desk_forbidden,
                "desk_wrong_dc_empty_body": c.desk_wrong_dc_empty_body,
                "lone_org_is_default": c.lone_org_is_default,
                "user_dc": w.user_dc,
            }),
        )
    })
}

#[derive(Deserialize)]
struct ClockReq {
    #[serde(default)]
    advance_seconds: i64,
}

async fn ctl_clock(State(s): State<Shd>, body: Bytes) -> Response {
    let req: ClockReq = match control_body(&body) {
        Ok(r) => r,
        Err(e) => return control_error(&e),
    };
    if req.advance_seconds < 0 {
        return control_error("advance_seconds must be 0 or more: the clock only moves forward");
    }
    let now = s.with(|w, now| {
        w.clock_offset_ms += req.advance_seconds * 1000;
        now + req.advance_seconds * 1000
    });
    control_json(StatusCode::OK, serde_json::json!({ "now": now }))
}

async fn ctl_fault(State(s): State<Shd>, body: Bytes) -> Response {
    let fault: Fault = match control_body(&body) {
        Ok(r) => r,
        Err(e) => return control_error(&e),
    };
    if !fault.path.starts_with('/') {
        return control_error("path must start with /");
    }
    s.with(|w, _| w.faults.push(fault));
    control_json(StatusCode::OK, serde_json::json!({ "status": "success" }))
}

async fn ctl_fault_clear(State(s): State<Shd>) -> Response {
    s.with(|w, _| w.faults.clear());
    control_json(StatusCode::OK, serde_json::json!({ "status": "success" }))
}

async fn ctl_stats(State(s): State<Shd>) -> Response {
    let stats = s.with(|w, _| w.stats.clone());
    control_json(StatusCode::OK, stats)
}

async fn ctl_clients(State(s): State<Shd>) -> Response {
    let value = s.with(|w, _| {
        let c = |c: &world::Client| {
            serde_json::json!({
                "client_id": c.id,
                "client_secret": c.secret,
                "redirect_uri": c.redirect_uri,
            })
        };
        serde_json::json!({
            "self_client": c(&w.self_client),
            "server_client": c(&w.server_client),
            "device_client": c(&w.device_client),
        })
    });
    // Which state file this sandbox keeps (null without one): `setup --sandbox` reuses a running
    // sandbox only when it keeps the same file.
    let mut value = value;
    value["state_file"] = match s.state_path() {
        Some(path) => serde_json::Value::String(path.display().to_string()),
        None => serde_json::Value::Null,
    };
    control_json(StatusCode::OK, value)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsReq {
    module: Module,
    count: usize,
}

/// `GET /_sandbox/records`: every module's seeded and created counts; `POST` with
/// `{"module":"crm.leads","count":N}` sets the seeded count (created records stay).
async fn ctl_records(State(s): State<Shd>, method: Method, body: Bytes) -> Response {
    if method == Method::POST {
        let req: RecordsReq = match control_body(&body) {
            Ok(r) => r,
            Err(e) => return control_error(&e),
        };
        if req.count > modules::MAX_COUNT {
            return control_error(&format!("count must be at most {}", modules::MAX_COUNT));
        }
        s.with(|w, _| w.records.counts.insert(req.module, req.count));
    }
    let value = s.with(|w, _| {
        let modules: serde_json::Map<String, serde_json::Value> = Module::ALL
            .iter()
            .map(|m| {
                let seeded = w.records.counts.get(m).copied().unwrap_or(0);
                let created = w.records.created.get(m).map_or(0, Vec::len);
                (
                    m.key().to_string(),
                    serde_json::json!({"seeded": seeded, "created": created}),
                )
            })
            .collect();
        serde_json::Value::Object(modules)
    });
    control_json(StatusCode::OK, value)
}

// ----- a listener whose connections can be dropped mid-request -----

/// Per-connection switch: once killed, the connection's IO fails, so nothing more is written and
/// the server closes the socket.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnKill(Arc<AtomicBool>);

impl ConnKill {
    fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.io().kill.clone()
    }
}

pub(crate) struct KillableListener(TcpListener);

impl Listener for KillableListener {
    type Io = KillableIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    return (
                        KillableIo {
                            inner,
                            kill: ConnKill::default(),
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

pub(crate) struct KillableIo {
    inner: TcpStream,
    kill: ConnKill,
}

fn killed_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "sandbox fault: drop")
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.killed() {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.killed() {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.kill.killed() {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.killed() {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
