//! A hostile server (a tiny axum app on 127.0.0.1) answers with terminal escapes (ESC, OSC 52
//! clipboard writes, OSC 8 disguised links, `ESC[2J` screen clears, BEL, C1) in every value it
//! controls: organization names and ids, error texts, device fields, HTML page titles. None of
//! them may reach the values the auth library returns, the Diagnosis texts, or the `-v` trace.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use url::Url;
use zoho_auth::auth::client::{Client, ClientOptions, Credentials};
use zoho_auth::auth::diagnosis::Diagnosis;
use zoho_auth::auth::flow::{self, Target};
use zoho_auth::auth::trace::Trace;
use zoho_auth::auth::{Product, Secret, device};

const OSC52: &str = "\u{1b}]52;c;ZXZpbA==\u{7}";
const OSC8: &str = "\u{1b}]8;;https://evil.example\u{1b}\\Zoho\u{1b}]8;;\u{1b}\\";
const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const C1: &str = "\u{9b}31m";

/// Every hostile sequence in one string.
fn hostile() -> String {
    format!("Acme{OSC52}{OSC8}{CLEAR}{C1}\u{7}")
}

/// True when `text` carries a character a terminal would interpret: ESC, BEL, any C0 or C1.
fn dangerous(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

fn assert_safe(what: &str, text: &str) {
    assert!(
        !dangerous(text),
        "{what} carries a control character: {text:?}"
    );
}

fn assert_diagnosis_safe(d: &Diagnosis) {
    assert_safe("message", &d.message);
    assert_safe("fix", &d.fix);
}

fn fake(a: char, b: char) -> String {
    format!(
        "1000.{}.{}",
        a.to_string().repeat(32),
        b.to_string().repeat(32)
    )
}

fn json(status: u16, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A client whose `-v` trace is captured.
fn traced() -> (Client, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let client = Client::new(ClientOptions::default())
        .unwrap()
        .with_trace(Trace::capture(lines.clone()));
    (client, lines)
}

fn target(base: &str) -> Target {
    Target {
        accounts: Url::parse(base).unwrap(),
        dc: None,
        api_override: Some(Url::parse(base).unwrap()),
    }
}

fn creds() -> Credentials {
    Credentials {
        client_id: "1000.CLIENT".into(),
        client_secret: Secret::new("s"),
    }
}

#[tokio::test]
async fn hostile_organization_names_are_printable_in_every_product() {
    let name = hostile();
    let books = serde_json::json!({"code":0,"message":"success","organizations":[
        {"organization_id":"10234695","name":name,"is_default_org":true}]})
    .to_string();
    let crm =
        serde_json::json!({"org":[{"id":"4150868000000225013","company_name":name}]}).to_string();
    let desk = serde_json::json!({"data":[{"id":6330000,"organizationName":name}]}).to_string();
    let app = Router::new()
        .route(
            "/books/v3/organizations",
            get(move || async move { json(200, books) }),
        )
        .route("/crm/v8/org", get(move || async move { json(200, crm) }))
        .route(
            "/api/v1/organizations",
            get(move || async move { json(200, desk) }),
        );
    let base = serve(app).await;
    let (client, trace) = traced();
    for product in [Product::Books, Product::Crm, Product::Desk] {
        let orgs = flow::probe(
            &client,
            &target(&base),
            &base,
            product,
            &Secret::new(fake('a', 'b')),
        )
        .await
        .unwrap();
        assert_eq!(orgs.len(), 1);
        assert_safe("organization name", &orgs[0].name);
        assert_safe("organization id", &orgs[0].id);
        // Still recognisable: the text is escaped, not dropped.
        assert!(
            orgs[0].name.starts_with("Acme\\u{1b}]52"),
            "{}",
            orgs[0].name
        );
    }
    for line in trace.lock().unwrap().iter() {
        assert_safe("trace", line);
    }
    assert!(!trace.lock().unwrap().is_empty(), "the trace was captured");
}

#[tokio::test]
async fn hostile_error_texts_and_page_titles_never_reach_a_diagnosis() {
    let text = hostile();
    let grant = serde_json::json!({"error": text}).to_string();
    let crm = serde_json::json!({"code": text, "details":{}, "message": text}).to_string();
    let books = serde_json::json!({"code":6041,"message":format!("not associated with the CompanyID/CompanyName:{text}")}).to_string();
    let page = format!("<html><head><title>{text}</title></head></html>");
    let app = Router::new()
        .route(
            "/oauth/v2/token",
            post(move || async move { json(200, grant) }),
        )
        .route("/crm/v8/org", get(move || async move { json(401, crm) }))
        .route(
            "/books/v3/organizations",
            get(move || async move { json(400, books) }),
        )
        .route(
            "/api/v1/organizations",
            get(move || async move {
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::CONTENT_TYPE, "text/html")],
                    page,
                )
            }),
        );
    let base = serve(app).await;
    let (client, trace) = traced();
    let t = target(&base);
    let d = flow::refresh(&client, &t, &creds(), &Secret::new(fake('c', 'd')))
        .await
        .unwrap_err();
    assert_diagnosis_safe(&d);
    assert!(d.message.contains("Acme"), "{d}");
    let d = flow::exchange_and_verify(
        &client,
        &t,
        &creds(),
        &Secret::new(fake('e', 'f')),
        None,
        &[],
        None,
        false,
    )
    .await
    .unwrap_err();
    assert_diagnosis_safe(&d);
    for product in [Product::Crm, Product::Books, Product::Desk] {
        let d = flow::probe(&client, &t, &base, product, &Secret::new(fake('a', 'b')))
            .await
            .unwrap_err();
        assert_diagnosis_safe(&d);
    }
    let d = flow::probe(
        &client,
        &t,
        &base,
        Product::Desk,
        &Secret::new(fake('a', 'b')),
    )
    .await
    .unwrap_err();
    assert!(d.message.contains("Acme"), "the page title is shown: {d}");
    for line in trace.lock().unwrap().iter() {
        assert_safe("trace", line);
    }
}

#[tokio::test]
async fn hostile_device_fields_are_printable() {
    let text = hostile();
    let code = serde_json::json!({
        "device_code": "1004.dddd",
        "user_code": format!("ABCD{CLEAR}"),
        "verification_url": format!("https://accounts.zoho.com/device{OSC8}"),
        "verification_uri_complete": format!("https://accounts.zoho.com/device?code=1{OSC52}"),
        "interval": 1,
        "expires_in": 300
    })
    .to_string();
    let poll = serde_json::json!({"error": text}).to_string();
    let other = serde_json::json!({"error": "other_dc", "user_location": format!("https://evil.example/{OSC52}")}).to_string();
    let app = Router::new()
        .route(
            "/oauth/v3/device/code",
            post(move || async move { json(200, code) }),
        )
        .route(
            "/oauth/v3/device/token",
            post(move || async move { json(400, poll) }),
        )
        .route(
            "/_dc/eu/oauth/v3/device/token",
            post(move || async move { json(400, other) }),
        );
    let base = serve(app).await;
    let (client, trace) = traced();
    let accounts = Url::parse(&base).unwrap();
    let issued = device::start(
        &client,
        &accounts,
        "1004.CLIENT",
        &["ZohoCRM.org.READ".into()],
    )
    .await
    .unwrap();
    assert_safe("user_code", &issued.user_code);
    assert_safe("verification_url", &issued.verification_url);
    assert_safe(
        "verification_uri_complete",
        issued.verification_uri_complete.as_deref().unwrap(),
    );
    let err = device::poll_once(&client, &accounts, &creds(), &issued)
        .await
        .unwrap_err();
    assert_safe("device error", &format!("{err} {err:?}"));
    assert_diagnosis_safe(&err.diagnosis("127.0.0.1", &[]));
    let eu = Url::parse(&format!("{base}/_dc/eu")).unwrap();
    let err = match device::poll_once(&client, &eu, &creds(), &issued)
        .await
        .unwrap()
    {
        device::Poll::OtherDc(dc) => device::other_dc_accounts(&dc, &accounts).unwrap_err(),
        other => panic!("{other:?}"),
    };
    assert_safe("untrusted dc", &format!("{err} {err:?}"));
    assert_diagnosis_safe(&err.diagnosis("127.0.0.1", &[]));
    for line in trace.lock().unwrap().iter() {
        assert_safe("trace", line);
    }
}
