//! The simulated Zoho against the facts file: every endpoint, every error body and status.
//! In-process sandbox on port 0, plain reqwest; the virtual clock instead of sleeps; no internet.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use zoho_auth::sandbox::{
    ControlOutcome, DemoClient, Fault, FaultKind, Org, Product, Sandbox, SandboxConfig,
};

const INVALID_CODE: &str = r#"{"error":"invalid_code"}"#;
const THROTTLED: &str = r#"{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}"#;
const CODE_14: &str = r#"{"code":14,"message":"The request could not be authenticated as the authentication value you entered is invalid. Enter a valid authentication value and try again."}"#;
const CODE_57: &str = r#"{"code":57,"message":"You are not authorized to perform this operation"}"#;
const CRM_NO_AUTH: &str =
    r#"{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed"}"#;
const CRM_INVALID_TOKEN: &str =
    r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#;
const CRM_SCOPE: &str = r#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#;
const DESK_NO_AUTH: &str = r#"{"errorCode":"UNAUTHORIZED","message":"You are not authenticated to perform this operation."}"#;
const DESK_INVALID: &str =
    r#"{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}"#;
const DESK_SCOPE: &str = r#"{"errorCode":"SCOPE_MISMATCH","message":"The OAuth scope of the token does not permit this operation."}"#;
const INVOICE_403: &str =
    r#"{"code":403,"message":"You are not an user of the respective organization."}"#;
const REDIRECT: &str = "http://localhost:8085/callback";

async fn start() -> Sandbox {
    start_with(SandboxConfig::default()).await
}

async fn start_with(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn location(&self) -> String {
        self.headers
            .get("location")
            .expect("a Location header")
            .to_str()
            .unwrap()
            .to_string()
    }
}

async fn read(resp: reqwest::Response) -> Resp {
    Resp {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

async fn post_form(url: &str, form: &[(&str, &str)]) -> Resp {
    read(http().post(url).form(form).send().await.expect("sent")).await
}

async fn post_json(url: &str, body: Value) -> Resp {
    read(
        http()
            .post(url)
            .body(body.to_string())
            .send()
            .await
            .expect("sent"),
    )
    .await
}

async fn get(url: &str) -> Resp {
    read(http().get(url).send().await.expect("sent")).await
}

async fn get_auth(url: &str, authorization: &str) -> Resp {
    read(
        http()
            .get(url)
            .header("Authorization", authorization)
            .send()
            .await
            .expect("sent"),
    )
    .await
}

fn is_token(value: &str, prefix: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3
        && parts[0] == prefix
        && parts[1..]
            .iter()
            .all(|p| p.len() == 32 && p.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')))
}

async fn exchange(base: &str, client: &DemoClient, code: &str) -> Resp {
    post_form(
        &format!("{base}/oauth/v2/token"),
        &[
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("grant_type", "authorization_code"),
            ("code", code),
        ],
    )
    .await
}

async fn refresh(base: &str, client: &DemoClient, refresh_token: &str) -> Resp {
    post_form(
        &format!("{base}/oauth/v2/token"),
        &[
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Exchanges a fresh Self Client code; returns (access token, refresh token).
async fn tokens(sb: &Sandbox, scope: &str) -> (String, String) {
    let code = sb.mint_code(scope, 3);
    let v = exchange(&sb.base_url(), &sb.self_client(), &code)
        .await
        .json();
    (
        v["access_token"].as_str().expect("access").to_string(),
        v["refresh_token"].as_str().expect("refresh").to_string(),
    )
}

fn assert_zoho_headers(r: &Resp) {
    assert_eq!(r.headers["content-type"], "application/json;charset=UTF-8");
    assert_eq!(r.headers["server"], "ZGS");
}

// ----- shapes -----

#[tokio::test]
async fn demo_clients_have_zoho_shapes() {
    let sb = start().await;
    assert!(sb.base_url().starts_with("http://127.0.0.1:"));
    assert!(!sb.base_url().ends_with('/'));
    for (client, prefix) in [
        (sb.self_client(), "1000."),
        (sb.server_client(), "1000."),
        (sb.device_client(), "1004."),
    ] {
        assert!(client.client_id.starts_with(prefix), "{}", client.client_id);
        assert_eq!(client.client_id.len(), 35);
        assert!(
            client.client_id[5..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_eq!(client.client_secret.len(), 42);
        assert!(
            client
                .client_secret
                .chars()
                .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        );
    }
    assert_eq!(sb.server_client().redirect_uri.as_deref(), Some(REDIRECT));
    assert_eq!(sb.self_client().redirect_uri, None);
    assert!(is_token(
        &sb.mint_code("ZohoBooks.fullaccess.all", 3),
        "1000"
    ));
    sb.stop().await;
}

// ----- authorization_code -----

#[tokio::test]
async fn self_client_exchange_answers_the_captured_shape() {
    let sb = start().await;
    let base = sb.base_url();
    let code = sb.mint_code("ZohoBooks.fullaccess.all,ZohoCRM.org.READ", 3);
    let r = exchange(&base, &sb.self_client(), &code).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_zoho_headers(&r);
    let v = r.json();
    let access = v["access_token"].as_str().unwrap();
    let refresh_token = v["refresh_token"].as_str().unwrap();
    assert!(is_token(access, "1000") && is_token(refresh_token, "1000"));
    let expected = format!(
        r#"{{"access_token":"{access}","refresh_token":"{refresh_token}","scope":"ZohoBooks.fullaccess.all ZohoCRM.org.READ","api_domain":"{base}","token_type":"Bearer","expires_in":3600}}"#
    );
    assert_eq!(r.body, expected, "keys in the captured order");
    sb.stop().await;
}

#[tokio::test]
async fn a_code_works_once_then_answers_invalid_code_with_http_200() {
    let sb = start().await;
    let code = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    assert_eq!(
        exchange(&sb.base_url(), &sb.self_client(), &code)
            .await
            .status,
        StatusCode::OK
    );
    let again = exchange(&sb.base_url(), &sb.self_client(), &code).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, INVALID_CODE);
    assert_zoho_headers(&again);
    sb.stop().await;
}

#[tokio::test]
async fn a_code_expires_on_the_virtual_clock() {
    let sb = start().await;
    let control = sb.control();
    let early = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    let late = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    control.advance_clock(Duration::from_secs(179));
    let r = exchange(&sb.base_url(), &sb.self_client(), &early).await;
    assert!(r.json()["access_token"].is_string(), "{}", r.body);
    control.advance_clock(Duration::from_secs(2));
    let r = exchange(&sb.base_url(), &sb.self_client(), &late).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, INVALID_CODE));
    sb.stop().await;
}

#[tokio::test]
async fn client_errors_are_http_200_bodies() {
    let sb = start().await;
    let base = sb.base_url();
    let me = sb.self_client();
    let code = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    let url = format!("{base}/oauth/v2/token");
    let r = post_form(
        &url,
        &[
            ("client_id", "1000.UNKNOWNUNKNOWNUNKNOWNUNKNOWNUNK"),
            ("client_secret", &me.client_secret),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"error":"invalid_client"}"#)
    );
    assert_zoho_headers(&r);
    let r = post_form(
        &url,
        &[
            ("client_id", &me.client_id),
            (
                "client_secret",
                "0000000000000000000000000000000000000000ff",
            ),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"error":"invalid_client_secret"}"#)
    );
    let r = exchange(
        &base,
        &me,
        "1000.00000000000000000000000000000000.00000000000000000000000000000000",
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, INVALID_CODE));
    // A Self Client code sent with another client's credentials is not that client's code.
    let r = exchange(&base, &sb.server_client(), &code).await;
    assert_eq!(r.body, INVALID_CODE);
    // None of that consumed the code.
    let r = exchange(&base, &me, &code).await;
    assert!(r.json()["refresh_token"].is_string(), "{}", r.body);
    sb.stop().await;
}

#[tokio::test]
async fn self_client_ignores_redirect_uri() {
    let sb = start().await;
    let me = sb.self_client();
    let code = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    let r = post_form(
        &format!("{}/oauth/v2/token", sb.base_url()),
        &[
            ("client_id", &me.client_id),
            ("client_secret", &me.client_secret),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "ignore"),
        ],
    )
    .await;
    assert!(r.json()["access_token"].is_string(), "{}", r.body);
    sb.stop().await;
}

#[tokio::test]
async fn parameters_work_in_the_query_string_and_mixed() {
    let sb = start().await;
    let me = sb.self_client();
    let code = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    let mut url = reqwest::Url::parse(&format!("{}/oauth/v2/token", sb.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", &me.client_id)
        .append_pair("client_secret", &me.client_secret)
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code);
    let r = read(http().post(url).send().await.unwrap()).await;
    let refresh_token = r.json()["refresh_token"].as_str().unwrap().to_string();
    // Credentials in the query, the grant in the form body.
    let mut url = reqwest::Url::parse(&format!("{}/oauth/v2/token", sb.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", &me.client_id)
        .append_pair("client_secret", &me.client_secret);
    let r = read(
        http()
            .post(url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(r.json()["access_token"].is_string(), "{}", r.body);
    sb.stop().await;
}

// ----- refresh_token -----

#[tokio::test]
async fn refresh_does_not_rotate_and_space_separates_scope() {
    let sb = start().await;
    let base = sb.base_url();
    let (_, rt) = tokens(&sb, "ZohoCRM.settings.ALL,ZohoCRM.modules.ALL").await;
    let r = refresh(&base, &sb.self_client(), &rt).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_zoho_headers(&r);
    let access = r.json()["access_token"].as_str().unwrap().to_string();
    assert!(is_token(&access, "1000"));
    assert_eq!(
        r.body,
        format!(
            r#"{{"access_token":"{access}","scope":"ZohoCRM.settings.ALL ZohoCRM.modules.ALL","api_domain":"{base}","token_type":"Bearer","expires_in":3600}}"#
        )
    );
    // The same refresh token keeps working.
    assert!(refresh(&base, &sb.self_client(), &rt).await.json()["access_token"].is_string());
    assert_eq!(sb.stats().refreshes, 2);
    sb.stop().await;
}

#[tokio::test]
async fn expires_in_can_be_the_old_milliseconds() {
    let sb = start_with(SandboxConfig {
        expires_in_millis: true,
        ..SandboxConfig::default()
    })
    .await;
    let code = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    let v = exchange(&sb.base_url(), &sb.self_client(), &code)
        .await
        .json();
    assert_eq!(v["expires_in"], json!(3_600_000));
    assert_eq!(v["expires_in_sec"], json!(3600));
    sb.stop().await;
}

#[tokio::test]
async fn the_eleventh_refresh_in_the_window_is_throttled_with_400() {
    let sb = start().await;
    let base = sb.base_url();
    let (_, rt) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    for i in 0..10 {
        let r = refresh(&base, &sb.self_client(), &rt).await;
        assert!(
            r.json()["access_token"].is_string(),
            "refresh {i}: {}",
            r.body
        );
    }
    let r = refresh(&base, &sb.self_client(), &rt).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, THROTTLED);
    assert_zoho_headers(&r);
    // After the window the refresh token works again.
    sb.control().advance_clock(Duration::from_secs(601));
    assert!(refresh(&base, &sb.self_client(), &rt).await.json()["access_token"].is_string());
    sb.stop().await;
}

#[tokio::test]
async fn the_throttle_status_can_be_200_and_the_limit_changed_over_http() {
    let sb = start().await;
    let base = sb.base_url();
    let r = post_json(
        &format!("{base}/_sandbox/config"),
        json!({"throttle_status": 200, "throttle_limit": 2, "throttle_window_seconds": 60}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["throttle_status"], json!(200));
    assert_eq!(r.json()["throttle_limit"], json!(2));
    let (_, rt) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    refresh(&base, &sb.self_client(), &rt).await;
    refresh(&base, &sb.self_client(), &rt).await;
    let r = refresh(&base, &sb.self_client(), &rt).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, THROTTLED));
    sb.stop().await;
}

#[tokio::test]
async fn the_twenty_first_refresh_token_evicts_the_oldest_with_its_access_tokens() {
    let sb = start().await;
    let base = sb.base_url();
    let mut all = Vec::new();
    for _ in 0..21 {
        all.push(tokens(&sb, "ZohoBooks.fullaccess.all").await);
    }
    let (first_access, first_refresh) = &all[0];
    let r = refresh(&base, &sb.self_client(), first_refresh).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, INVALID_CODE));
    let r = get_auth(
        &format!("{base}/books/v3/organizations"),
        &format!("Zoho-oauthtoken {first_access}"),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CODE_57)
    );
    // The second oldest and the newest still work.
    for (_, rt) in [&all[1], &all[20]] {
        assert!(refresh(&base, &sb.self_client(), rt).await.json()["access_token"].is_string());
    }
    sb.stop().await;
}

#[tokio::test]
async fn the_eleventh_access_token_invalidates_the_oldest() {
    let sb = start().await;
    let base = sb.base_url();
    let books = format!("{base}/books/v3/organizations");
    let (first, rt) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    let mut minted = vec![first];
    for _ in 0..10 {
        let v = refresh(&base, &sb.self_client(), &rt).await.json();
        minted.push(v["access_token"].as_str().unwrap().to_string());
    }
    let r = get_auth(&books, &format!("Zoho-oauthtoken {}", minted[0])).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CODE_57)
    );
    for token in &minted[1..] {
        let r = get_auth(&books, &format!("Zoho-oauthtoken {token}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    sb.stop().await;
}

// ----- client_credentials -----

#[tokio::test]
async fn client_credentials_needs_soid_and_gives_no_refresh_token() {
    let sb = start().await;
    let me = sb.self_client();
    let url = format!("{}/oauth/v2/token", sb.base_url());
    let base_form = [
        ("client_id", me.client_id.as_str()),
        ("client_secret", me.client_secret.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", "ZohoCRM.org.READ"),
    ];
    let r = post_form(&url, &base_form).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"error":"missing_org_info"}"#)
    );
    let mut form = base_form.to_vec();
    form.push(("soid", "ZohoCRM.600000434"));
    let v = post_form(&url, &form).await.json();
    assert!(v["access_token"].is_string());
    assert!(v.get("refresh_token").is_none());
    assert_eq!(v["scope"], json!("ZohoCRM.org.READ"));
    sb.stop().await;
}

// ----- revoke -----

#[tokio::test]
async fn revoking_a_refresh_token_kills_it_and_its_access_tokens() {
    let sb = start().await;
    let base = sb.base_url();
    let (access, rt) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    let r = read(
        http()
            .post(format!("{base}/oauth/v2/token/revoke?token={rt}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"status":"success"}"#)
    );
    let r = refresh(&base, &sb.self_client(), &rt).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, INVALID_CODE));
    let r = get_auth(
        &format!("{base}/books/v3/organizations"),
        &format!("Zoho-oauthtoken {access}"),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CODE_57)
    );
    // Revoking again: an invalid token is HTTP 400.
    let r = read(
        http()
            .post(format!("{base}/oauth/v2/token/revoke?token={rt}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"status":"failure","error":"invalid_token"}"#
        )
    );
    assert_eq!(sb.stats().revokes, 2);
    sb.stop().await;
}

#[tokio::test]
async fn revoking_an_access_token_leaves_the_refresh_token() {
    let sb = start().await;
    let base = sb.base_url();
    let (access, rt) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    let r = post_form(
        &format!("{base}/oauth/v2/token/revoke"),
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.body, r#"{"status":"success"}"#);
    let r = get_auth(
        &format!("{base}/books/v3/organizations"),
        &format!("Zoho-oauthtoken {access}"),
    )
    .await;
    assert_eq!(r.body, CODE_57);
    assert!(refresh(&base, &sb.self_client(), &rt).await.json()["access_token"].is_string());
    sb.stop().await;
}

#[tokio::test]
async fn server_side_revoke_over_http_and_in_process() {
    let sb = start().await;
    let base = sb.base_url();
    let (_, rt1) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    let (_, rt2) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    let r = post_json(
        &format!("{base}/_sandbox/revoke"),
        json!({"refresh_token": rt1}),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"status":"success"}"#)
    );
    let r = post_json(
        &format!("{base}/_sandbox/revoke"),
        json!({"refresh_token": rt1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(sb.control().revoke(&rt2), ControlOutcome::Done);
    for rt in [&rt1, &rt2] {
        assert_eq!(
            refresh(&base, &sb.self_client(), rt).await.body,
            INVALID_CODE
        );
    }
    sb.stop().await;
}

// ----- authorization page -----

fn auth_url(sb: &Sandbox, extra: &[(&str, &str)]) -> reqwest::Url {
    let mut url = reqwest::Url::parse(&format!("{}/oauth/v2/auth", sb.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", &sb.server_client().client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "ZohoBooks.fullaccess.all,ZohoCRM.org.READ");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url
}

/// Approves without HTML; returns the redirect location.
async fn approve(sb: &Sandbox, extra: &[(&str, &str)]) -> String {
    let mut extra = extra.to_vec();
    extra.push(("_sandbox_auto", "approve"));
    let r = read(http().get(auth_url(sb, &extra)).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    r.location()
}

fn code_of(location: &str) -> String {
    let url = reqwest::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code in the redirect")
}

async fn server_exchange(sb: &Sandbox, code: &str, redirect_uri: &str) -> Resp {
    let client = sb.server_client();
    post_form(
        &format!("{}/oauth/v2/token", sb.base_url()),
        &[
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ],
    )
    .await
}

#[tokio::test]
async fn approval_redirects_in_the_captured_shape() {
    let sb = start().await;
    let port = sb.base_url().rsplit(':').next().unwrap().to_string();
    let location = approve(&sb, &[("state", "a b&c")]).await;
    let code = code_of(&location);
    assert!(is_token(&code, "1000"));
    assert_eq!(
        location,
        format!(
            "{REDIRECT}?state=a+b%26c&code={code}&location=us&accounts-server=http%3A%2F%2F127.0.0.1%3A{port}&"
        )
    );
    let location = approve(&sb, &[]).await;
    let code = code_of(&location);
    assert_eq!(
        location,
        format!(
            "{REDIRECT}?code={code}&location=us&accounts-server=http%3A%2F%2F127.0.0.1%3A{port}&"
        )
    );
    sb.stop().await;
}

#[tokio::test]
async fn the_consent_page_approves_and_denies_through_its_form() {
    let sb = start().await;
    let r = read(
        http()
            .get(auth_url(&sb, &[("state", "s1")]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("SIMULATION"));
    assert!(r.body.contains("value=\"approve\"") && r.body.contains("value=\"deny\""));
    let decision = format!("{}/oauth/v2/auth/decision", sb.base_url());
    let client_id = sb.server_client().client_id;
    let form = |d: &'static str| {
        vec![
            ("client_id", client_id.clone()),
            ("response_type", "code".to_string()),
            ("redirect_uri", REDIRECT.to_string()),
            ("scope", "ZohoBooks.fullaccess.all".to_string()),
            ("state", "s1".to_string()),
            ("decision", d.to_string()),
        ]
    };
    let r = read(
        http()
            .post(&decision)
            .form(&form("approve"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert!(
        r.location()
            .starts_with(&format!("{REDIRECT}?state=s1&code=1000."))
    );
    let r = read(
        http()
            .post(&decision)
            .form(&form("deny"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(
        r.location(),
        format!("{REDIRECT}?error=access_denied&state=s1")
    );
    let r = read(
        http()
            .get(auth_url(&sb, &[("_sandbox_auto", "deny")]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.location(), format!("{REDIRECT}?error=access_denied"));
    sb.stop().await;
}

#[tokio::test]
async fn a_bad_client_or_redirect_uri_shows_an_error_page_without_redirect() {
    let sb = start().await;
    let mut url = auth_url(&sb, &[]);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "redirect_uri" {
                "http://evil.example/cb".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let r = read(http().get(url).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.headers.get("location").is_none());
    assert!(r.body.contains("Invalid redirect URI") && r.body.contains("SIMULATION"));
    let r = get(&format!(
        "{}/oauth/v2/auth?client_id=1000.NOPE&response_type=code&redirect_uri={REDIRECT}&scope=A.b.READ",
        sb.base_url()
    ))
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.headers.get("location").is_none());
    assert!(r.body.contains("Invalid client"));
    sb.stop().await;
}

#[tokio::test]
async fn server_codes_need_the_exact_redirect_uri_and_expire_in_two_minutes() {
    let sb = start().await;
    let code = code_of(&approve(&sb, &[("access_type", "offline")]).await);
    let r = server_exchange(&sb, &code, "http://localhost:8085/callback/").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"error":"invalid_redirect_uri"}"#)
    );
    let r = server_exchange(&sb, &code, REDIRECT).await;
    assert!(r.json()["refresh_token"].is_string(), "{}", r.body);
    let late = code_of(&approve(&sb, &[]).await);
    sb.control().advance_clock(Duration::from_secs(121));
    assert_eq!(
        server_exchange(&sb, &late, REDIRECT).await.body,
        INVALID_CODE
    );
    sb.stop().await;
}

#[tokio::test]
async fn refresh_token_only_offline_and_on_first_consent_or_prompt_consent() {
    let sb = start().await;
    let online = code_of(&approve(&sb, &[]).await);
    let v = server_exchange(&sb, &online, REDIRECT).await.json();
    assert!(v["access_token"].is_string() && v.get("refresh_token").is_none());
    let first = code_of(&approve(&sb, &[("access_type", "offline")]).await);
    assert!(server_exchange(&sb, &first, REDIRECT).await.json()["refresh_token"].is_string());
    let second = code_of(&approve(&sb, &[("access_type", "offline")]).await);
    let v = server_exchange(&sb, &second, REDIRECT).await.json();
    assert!(v["access_token"].is_string() && v.get("refresh_token").is_none());
    let forced = code_of(&approve(&sb, &[("access_type", "offline"), ("prompt", "consent")]).await);
    assert!(server_exchange(&sb, &forced, REDIRECT).await.json()["refresh_token"].is_string());
    sb.stop().await;
}

// ----- device flow -----

async fn device_start(sb: &Sandbox, base: &str, access_type: &str) -> Value {
    let r = post_form(
        &format!("{base}/oauth/v3/device/code"),
        &[
            ("client_id", &sb.device_client().client_id),
            ("grant_type", "device_request"),
            ("scope", "ZohoBooks.fullaccess.all"),
            ("access_type", access_type),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn device_poll(sb: &Sandbox, base: &str, device_code: &str) -> Resp {
    let c = sb.device_client();
    post_form(
        &format!("{base}/oauth/v3/device/token"),
        &[
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("grant_type", "device_token"),
            ("code", device_code),
        ],
    )
    .await
}

#[tokio::test]
async fn device_flow_pending_slow_down_approve() {
    let sb = start().await;
    let base = sb.base_url();
    let v = device_start(&sb, &base, "offline").await;
    let device_code = v["device_code"].as_str().unwrap().to_string();
    let user_code = v["user_code"].as_str().unwrap().to_string();
    assert!(is_token(&device_code, "1004"));
    assert_eq!(
        v["verification_url"],
        json!(format!("{base}/oauth/v3/device"))
    );
    assert_eq!(
        (v["expires_in"].clone(), v["interval"].clone()),
        (json!(300), json!(30))
    );
    let r = device_poll(&sb, &base, &device_code).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"error":"authorization_pending"}"#
        )
    );
    let r = device_poll(&sb, &base, &device_code).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, r#"{"error":"slow_down"}"#)
    );
    let r = post_json(
        &format!("{base}/_sandbox/device/approve"),
        json!({"user_code": user_code}),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"status":"success"}"#)
    );
    sb.control().advance_clock(Duration::from_secs(30));
    let r = device_poll(&sb, &base, &device_code).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert!(is_token(v["access_token"].as_str().unwrap(), "1004"));
    assert!(is_token(v["refresh_token"].as_str().unwrap(), "1004"));
    assert_eq!(v["api_domain"], json!(base));
    sb.control().advance_clock(Duration::from_secs(30));
    assert_eq!(
        device_poll(&sb, &base, &device_code).await.body,
        INVALID_CODE
    );
    assert_eq!(sb.stats().device_polls, 4);
    sb.stop().await;
}

#[tokio::test]
async fn device_flow_denied_expired_and_milliseconds() {
    let sb = start().await;
    let base = sb.base_url();
    let denied = device_start(&sb, &base, "online").await;
    let expiring = device_start(&sb, &base, "online").await;
    let r = post_json(
        &format!("{base}/_sandbox/device/deny"),
        json!({"device_code": denied["device_code"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = device_poll(&sb, &base, denied["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, r#"{"error":"access_denied"}"#)
    );
    sb.control().advance_clock(Duration::from_secs(301));
    let r = device_poll(&sb, &base, expiring["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, r#"{"error":"expired"}"#)
    );
    assert_eq!(
        sb.control()
            .approve_device(expiring["user_code"].as_str().unwrap()),
        ControlOutcome::Expired
    );
    sb.control().update_config(|c| c.device_millis = true);
    let v = device_start(&sb, &base, "online").await;
    assert_eq!(
        (v["expires_in"].clone(), v["interval"].clone()),
        (json!(300_000), json!(30_000))
    );
    // An online device grant gives no refresh token.
    sb.control()
        .approve_device(v["user_code"].as_str().unwrap());
    let v = device_poll(&sb, &base, v["device_code"].as_str().unwrap())
        .await
        .json();
    assert!(v["access_token"].is_string() && v.get("refresh_token").is_none());
    sb.stop().await;
}

#[tokio::test]
async fn device_flow_other_dc() {
    let sb = start().await;
    let base = sb.base_url();
    let v = device_start(&sb, &base, "offline").await;
    let device_code = v["device_code"].as_str().unwrap();
    let r = post_json(
        &format!("{base}/_sandbox/device/approve"),
        json!({"user_code": v["user_code"], "dc": "eu"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Zoho's page names the field `user_location`, a location code (facts §10): the default.
    let r = device_poll(&sb, &base, device_code).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, r#"{"error":"other_dc","user_location":"eu"}"#);
    // Older clients read `dc`: a control switches to it, here an accounts URL.
    let r = post_json(
        &format!("{base}/_sandbox/config"),
        json!({"other_dc_field": "dc"}),
    )
    .await;
    assert_eq!(r.json()["other_dc_field"], json!("dc"));
    let r = device_poll(&sb, &base, device_code).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        format!(r#"{{"error":"other_dc","dc":"{base}/_dc/eu"}}"#)
    );
    let r = device_poll(&sb, &format!("{base}/_dc/eu"), device_code).await;
    assert_eq!(r.json()["api_domain"], json!(format!("{base}/_dc/eu")));
    sb.stop().await;
}

#[tokio::test]
async fn device_flow_refuses_other_clients() {
    let sb = start().await;
    let r = post_form(
        &format!("{}/oauth/v3/device/code", sb.base_url()),
        &[
            ("client_id", &sb.self_client().client_id),
            ("grant_type", "device_request"),
            ("scope", "ZohoBooks.fullaccess.all"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"error":"invalid_client"}"#)
    );
    sb.stop().await;
}

// ----- serverinfo and data centers -----

#[tokio::test]
async fn serverinfo_lists_every_dc() {
    let sb = start().await;
    let b = sb.base_url();
    let r = get(&format!("{b}/oauth/serverinfo")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"result": "success", "locations": {
            "us": b, "eu": format!("{b}/_dc/eu"), "in": format!("{b}/_dc/in"),
            "au": format!("{b}/_dc/au"), "jp": format!("{b}/_dc/jp"), "ca": format!("{b}/_dc/ca"),
            "sa": format!("{b}/_dc/sa"), "uk": format!("{b}/_dc/uk"), "ae": format!("{b}/_dc/ae"),
        }})
    );
    assert!(r.body.starts_with(r#"{"result":"success","locations":{"#));
    sb.stop().await;
}

#[tokio::test]
async fn a_code_from_another_dc_is_invalid_code_here() {
    let sb = start().await;
    let b = sb.base_url();
    let eu = format!("{b}/_dc/eu");
    let minted = post_json(
        &format!("{eu}/_sandbox/code"),
        json!({"scope": "ZohoBooks.fullaccess.all", "duration_minutes": 3}),
    )
    .await
    .json();
    let code = minted["code"].as_str().unwrap();
    assert_eq!(
        exchange(&b, &sb.self_client(), code).await.body,
        INVALID_CODE
    );
    let v = exchange(&eu, &sb.self_client(), code).await.json();
    assert_eq!(v["api_domain"], json!(eu));
    let auth = format!("Zoho-oauthtoken {}", v["access_token"].as_str().unwrap());
    assert_eq!(
        get_auth(&format!("{b}/books/v3/organizations"), &auth)
            .await
            .body,
        CODE_57
    );
    assert_eq!(
        get_auth(&format!("{eu}/books/v3/organizations"), &auth)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&format!("{b}/_dc/xx/oauth/serverinfo")).await.status,
        StatusCode::NOT_FOUND
    );
    sb.stop().await;
}

#[tokio::test]
async fn a_user_in_another_dc_is_sent_there_after_consent() {
    let sb = start().await;
    let port = sb.base_url().rsplit(':').next().unwrap().to_string();
    assert!(sb.control().set_user_dc("eu"));
    let location = approve(&sb, &[]).await;
    let code = code_of(&location);
    assert_eq!(
        location,
        format!(
            "{REDIRECT}?code={code}&location=eu&accounts-server=http%3A%2F%2F127.0.0.1%3A{port}%2F_dc%2Feu&"
        )
    );
    assert_eq!(
        server_exchange(&sb, &code, REDIRECT).await.body,
        INVALID_CODE
    );
    sb.stop().await;
}

// ----- product endpoints -----

struct ProbeCase {
    path: &'static str,
    scope: &'static str,
    no_auth: &'static str,
    bad_token: &'static str,
    no_scope: &'static str,
}

const PROBES: &[ProbeCase] = &[
    ProbeCase {
        path: "/books/v3/organizations",
        scope: "ZohoBooks.settings.READ",
        no_auth: CODE_14,
        bad_token: CODE_57,
        no_scope: CODE_57,
    },
    ProbeCase {
        path: "/invoice/v3/organizations",
        scope: "ZohoInvoice.settings.READ",
        no_auth: CODE_14,
        bad_token: CODE_57,
        no_scope: CODE_57,
    },
    ProbeCase {
        path: "/inventory/v1/organizations",
        scope: "ZohoInventory.FullAccess.all",
        no_auth: CODE_14,
        bad_token: CODE_57,
        no_scope: CODE_57,
    },
    ProbeCase {
        path: "/expense/v1/organizations",
        scope: "ZohoExpense.orgsettings.READ",
        no_auth: CODE_14,
        bad_token: CODE_57,
        no_scope: CODE_57,
    },
    ProbeCase {
        path: "/crm/v2/org",
        scope: "ZohoCRM.org.READ",
        no_auth: CRM_NO_AUTH,
        bad_token: CRM_INVALID_TOKEN,
        no_scope: CRM_SCOPE,
    },
    ProbeCase {
        path: "/crm/v2.1/org",
        scope: "ZohoCRM.org.ALL",
        no_auth: CRM_NO_AUTH,
        bad_token: CRM_INVALID_TOKEN,
        no_scope: CRM_SCOPE,
    },
    ProbeCase {
        path: "/crm/v8/org",
        scope: "ZohoCRM.org.ALL",
        no_auth: CRM_NO_AUTH,
        bad_token: CRM_INVALID_TOKEN,
        no_scope: CRM_SCOPE,
    },
    ProbeCase {
        path: "/api/v1/organizations",
        scope: "Desk.basic.READ",
        no_auth: DESK_NO_AUTH,
        bad_token: DESK_INVALID,
        no_scope: DESK_SCOPE,
    },
];

#[tokio::test]
async fn every_probe_answers_no_header_bad_token_missing_scope_and_success() {
    let sb = start().await;
    let b = sb.base_url();
    // A token with only a scope no probe accepts.
    let (unrelated, _) = tokens(&sb, "ZohoMail.accounts.READ").await;
    for case in PROBES {
        let url = format!("{b}{}", case.path);
        let r = get(&url).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::UNAUTHORIZED, case.no_auth),
            "{}",
            case.path
        );
        // CRM spells its content type in lower case (facts §10).
        let content_type = if case.path.starts_with("/crm/") {
            "application/json;charset=utf-8"
        } else {
            "application/json;charset=UTF-8"
        };
        assert_eq!(r.headers["content-type"], content_type, "{}", case.path);
        let r = get_auth(&url, "Zoho-oauthtoken 1000.garbage").await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::UNAUTHORIZED, case.bad_token),
            "{}",
            case.path
        );
        let r = get_auth(&url, &format!("Zoho-oauthtoken {unrelated}")).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::UNAUTHORIZED, case.no_scope),
            "{}",
            case.path
        );
        let (access, _) = tokens(&sb, case.scope).await;
        let r = get_auth(&url, &format!("Zoho-oauthtoken {access}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", case.path, r.body);
        let r = get_auth(&url, &format!("Bearer {access}")).await;
        assert_eq!(r.status, StatusCode::OK, "Bearer on {}", case.path);
    }
    // An unknown CRM version is a malformed CRM path: Zoho's 302 to IAMSecurityError.do.
    let r = get(&format!("{b}/crm/v9/org")).await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(
        r.location(),
        format!("{b}/crm/IAMSecurityError.do?isload=true")
    );
    sb.stop().await;
}

#[tokio::test]
async fn probe_bodies_follow_the_facts() {
    let sb = start().await;
    let b = sb.base_url();
    let (access, _) = tokens(
        &sb,
        "ZohoBooks.fullaccess.all,ZohoCRM.org.READ,Desk.basic.READ",
    )
    .await;
    let auth = format!("Zoho-oauthtoken {access}");
    let books = get_auth(&format!("{b}/books/v3/organizations"), &auth)
        .await
        .json();
    assert_eq!(books["code"], json!(0));
    assert_eq!(books["message"], json!("success"));
    let orgs = books["organizations"].as_array().unwrap();
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[0]["organization_id"], json!("10234695"));
    assert_eq!(orgs[0]["name"], json!("Zylker Demo Ltd"));
    assert_eq!(orgs[0]["is_default_org"], json!(true));
    assert_eq!(orgs[1]["is_default_org"], json!(false));
    let crm = get_auth(&format!("{b}/crm/v6/org"), &auth).await.json();
    assert_eq!(crm["org"][0]["id"], json!("4150868000000225013"));
    assert_eq!(crm["org"][0]["company_name"], json!("Zylker Demo CRM"));
    let desk = get_auth(&format!("{b}/api/v1/organizations"), &auth)
        .await
        .json();
    assert_eq!(
        desk["data"][0]["organizationName"],
        json!("Zylker Demo Support")
    );
    sb.stop().await;
}

#[tokio::test]
async fn scopes_are_compared_case_insensitively() {
    let sb = start().await;
    let (access, _) = tokens(&sb, "ZOHOBOOKS.SETTINGS.read").await;
    let r = get_auth(
        &format!("{}/books/v3/organizations", sb.base_url()),
        &format!("Zoho-oauthtoken {access}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sb.stop().await;
}

#[tokio::test]
async fn an_expired_access_token_gets_57() {
    let sb = start().await;
    let (access, rt) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    sb.control().advance_clock(Duration::from_secs(3600));
    let url = format!("{}/books/v3/organizations", sb.base_url());
    let r = get_auth(&url, &format!("Zoho-oauthtoken {access}")).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CODE_57)
    );
    // A shorter lifetime, set over HTTP, shows in expires_in.
    post_json(
        &format!("{}/_sandbox/config", sb.base_url()),
        json!({"access_token_lifetime_seconds": 60}),
    )
    .await;
    let v = refresh(&sb.base_url(), &sb.self_client(), &rt).await.json();
    assert_eq!(v["expires_in"], json!(60));
    sb.stop().await;
}

#[tokio::test]
async fn invoice_non_member_gets_403_and_orgs_can_be_replaced() {
    let sb = start().await;
    let b = sb.base_url();
    let (access, _) = tokens(&sb, "ZohoInvoice.fullaccess.all,ZohoBooks.settings.READ").await;
    let auth = format!("Zoho-oauthtoken {access}");
    let r = post_json(
        &format!("{b}/_sandbox/orgs"),
        json!({"product": "invoice", "member": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = get_auth(&format!("{b}/invoice/v3/organizations"), &auth).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::FORBIDDEN, INVOICE_403)
    );
    let r = post_json(
        &format!("{b}/_sandbox/orgs"),
        json!({"product": "books", "member": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post_json(
        &format!("{b}/_sandbox/orgs"),
        json!({"product": "books", "organizations": [{"id": "42", "name": "Only <One>"}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = get_auth(&format!("{b}/books/v3/organizations"), &auth)
        .await
        .json();
    assert_eq!(v["organizations"][0]["organization_id"], json!("42"));
    assert_eq!(v["organizations"].as_array().unwrap().len(), 1);
    sb.control().set_orgs(Product::Books, vec![]);
    let v = get_auth(&format!("{b}/books/v3/organizations"), &auth)
        .await
        .json();
    assert_eq!(v["organizations"], json!([]));
    sb.control()
        .set_orgs(Product::Books, vec![Org::new("7", "Seven")]);
    let v = get_auth(&format!("{b}/books/v3/organizations"), &auth)
        .await
        .json();
    assert_eq!(v["organizations"][0]["name"], json!("Seven"));
    sb.stop().await;
}

// ----- faults -----

#[tokio::test]
async fn faults_http500_html503_malformed_json_then_normal() {
    let sb = start().await;
    let b = sb.base_url();
    let path = "/oauth/serverinfo";
    let r = post_json(
        &format!("{b}/_sandbox/fault"),
        json!({"path": path, "kind": "http500", "count": 2}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(
            get(&format!("{b}{path}")).await.status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert_eq!(get(&format!("{b}{path}")).await.status, StatusCode::OK);
    sb.control()
        .inject_fault(Fault::new(path, FaultKind::Html503, 1));
    let r = get(&format!("{b}{path}")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.body.starts_with("<html>"));
    sb.control()
        .inject_fault(Fault::new("/oauth/v2/token", FaultKind::MalformedJson, 1));
    let code = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    let r = exchange(&b, &sb.self_client(), &code).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json;charset=UTF-8");
    assert!(
        serde_json::from_str::<Value>(&r.body).is_err(),
        "{}",
        r.body
    );
    // The faulted request never reached the endpoint: the code is still good.
    assert!(exchange(&b, &sb.self_client(), &code).await.json()["access_token"].is_string());
    assert_eq!(sb.stats().faults_served, 4);
    sb.stop().await;
}

#[tokio::test]
async fn fault_delay_answers_late_but_normally() {
    let sb = start().await;
    let b = sb.base_url();
    let r = post_json(
        &format!("{b}/_sandbox/fault"),
        json!({"path": "/oauth/serverinfo", "kind": "delay", "delay_ms": 300}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let started = std::time::Instant::now();
    let r = get(&format!("{b}/oauth/serverinfo")).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, StatusCode::OK);
    let timed_out = http()
        .get(format!("{b}/oauth/serverinfo"))
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(timed_out.is_ok(), "the delay applied to one request only");
    sb.stop().await;
}

#[tokio::test]
async fn fault_drop_closes_the_connection_without_a_response() {
    let sb = start().await;
    let b = sb.base_url();
    sb.control()
        .inject_fault(Fault::new("/oauth/v2/token*", FaultKind::Drop, 1));
    let code = sb.mint_code("ZohoBooks.fullaccess.all", 3);
    let me = sb.self_client();
    let err = http()
        .post(format!("{b}/oauth/v2/token"))
        .form(&[
            ("client_id", me.client_id.as_str()),
            ("client_secret", &me.client_secret),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ])
        .send()
        .await
        .expect_err("no response at all");
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");
    assert_eq!(sb.stats().faults_served, 1);
    // The server lives on.
    assert!(exchange(&b, &me, &code).await.json()["access_token"].is_string());
    sb.stop().await;
}

// ----- the console page and control endpoints -----

#[tokio::test]
async fn the_console_page_mints_codes_and_offers_self_client_json() {
    let sb = start().await;
    let b = sb.base_url();
    let me = sb.self_client();
    let r = get(&format!("{b}/")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("SIMULATION"));
    assert!(r.body.contains(&me.client_id) && r.body.contains(&me.client_secret));
    for minutes in ["3 minutes", "5 minutes", "7 minutes", "10 minutes"] {
        assert!(r.body.contains(minutes));
    }
    let r = read(
        http()
            .post(format!("{b}/self-client/code"))
            .form(&[
                ("scope", "ZohoBooks.settings.READ"),
                ("scope_pick", "ZohoCRM.org.ALL"),
                ("duration", "7"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("SIMULATION"));
    let start = r.body.find("<pre>").unwrap() + 5;
    let code = &r.body[start..start + 70];
    assert!(is_token(code, "1000"), "{code}");
    let r = get(&format!("{b}/self-client/self_client.json?code={code}")).await;
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("self_client.json")
    );
    let v = r.json();
    let expiry = v["expiry_time"].as_i64().unwrap();
    let now = sb.control().now_ms();
    assert!((now + 7 * 60_000 - 5_000..=now + 7 * 60_000).contains(&expiry));
    assert_eq!(
        r.body,
        format!(
            r#"{{"client_id":"{}","client_secret":"{}","code":"{code}","grant_type":"authorization_code","scope":["ZohoBooks.settings.READ","ZohoCRM.org.ALL"],"expiry_time":{expiry}}}"#,
            me.client_id, me.client_secret
        )
    );
    let v = exchange(&b, &me, code).await.json();
    assert_eq!(v["scope"], json!("ZohoBooks.settings.READ ZohoCRM.org.ALL"));
    sb.stop().await;
}

#[tokio::test]
async fn the_console_page_escapes_what_it_echoes() {
    let sb = start().await;
    let r = read(
        http()
            .post(format!("{}/self-client/code", sb.base_url()))
            .form(&[("scope", "Zoho<b>x</b>.a.READ"), ("duration", "3")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(r.body.contains("Zoho&lt;b&gt;x&lt;/b&gt;.a.READ"));
    assert!(!r.body.contains("<b>x</b>"));
    let r = read(
        http()
            .post(format!("{}/self-client/code", sb.base_url()))
            .form(&[("scope", ""), ("duration", "3")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Enter at least one scope"));
    sb.stop().await;
}

#[tokio::test]
async fn control_code_answers_the_documented_shape() {
    let sb = start().await;
    let b = sb.base_url();
    let me = sb.self_client();
    // Like `curl -d '{...}'`: a form content type with a JSON body.
    let r = read(
        http()
            .post(format!("{b}/_sandbox/code"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(r#"{"scope":"ZohoBooks.fullaccess.all","duration_minutes":5}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let code = v["code"].as_str().unwrap();
    let expiry = v["expiry_time"].as_i64().unwrap();
    assert!(is_token(code, "1000"));
    let now = sb.control().now_ms();
    assert!((now + 300_000 - 5_000..=now + 300_000).contains(&expiry));
    assert_eq!(
        r.body,
        format!(
            r#"{{"code":"{code}","expiry_time":{expiry},"client_id":"{}","client_secret":"{}"}}"#,
            me.client_id, me.client_secret
        )
    );
    let r = post_json(&format!("{b}/_sandbox/code"), json!({"scope": ""})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].is_string());
    let r = post_json(
        &format!("{b}/_sandbox/clock"),
        json!({"advance_seconds": 301}),
    )
    .await;
    assert!(r.json()["now"].as_i64().unwrap() >= expiry);
    assert_eq!(exchange(&b, &me, code).await.body, INVALID_CODE);
    sb.stop().await;
}

#[tokio::test]
async fn stats_count_requests_but_not_control_calls() {
    let sb = start().await;
    let b = sb.base_url();
    assert_eq!(sb.stats().requests, 0);
    let (_, rt) = tokens(&sb, "ZohoBooks.fullaccess.all").await;
    refresh(&b, &sb.self_client(), &rt).await;
    get(&format!("{b}/books/v3/organizations")).await;
    let r = get(&format!("{b}/_sandbox/stats")).await;
    let v = r.json();
    assert_eq!(v["requests"], json!(3));
    assert_eq!(v["token_requests"], json!(2));
    assert_eq!(v["refreshes"], json!(1));
    assert_eq!(v["exchanges"], json!(1));
    assert_eq!(v["probes"], json!(1));
    assert_eq!(
        v["token_requests_by_grant"],
        json!({"authorization_code": 1, "refresh_token": 1})
    );
    let stats = sb.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.control_requests, 1);
    let clients = get(&format!("{b}/_sandbox/clients")).await.json();
    assert_eq!(clients["server_client"]["redirect_uri"], json!(REDIRECT));
    assert_eq!(
        clients["device_client"]["client_id"],
        json!(sb.device_client().client_id)
    );
    sb.stop().await;
}

// ----- the binary -----

type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// `zoho-auth sandbox --port 0` as a child process, with its first stdout line.
async fn spawn_sandbox_command() -> (tokio::process::Child, Lines, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    // The default state lives in the data folder: a folder of this test's own, leaked so it
    // outlives the child.
    let data = tempfile::tempdir().unwrap().keep();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .args(["sandbox", "--port", "0"])
        .env("ZOHO_AUTH_DATA_DIR", &data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn zoho-auth");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("first line in time")
        .expect("readable")
        .expect("a line");
    (child, lines, first)
}

#[tokio::test]
async fn the_sandbox_command_prints_its_url_first_and_serves_it() {
    let (mut child, mut lines, first) = spawn_sandbox_command().await;
    let url = first
        .strip_prefix("Sandbox listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"));
    let port: u16 = url.parse().expect("a port number");
    assert_ne!(port, 0);
    let base = format!("http://127.0.0.1:{port}");
    let mut rest = String::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
    {
        rest.push_str(&line);
        rest.push('\n');
        if line.starts_with("Stop with Ctrl+C") {
            break;
        }
    }
    assert!(rest.contains("SIMULATION"));
    assert!(rest.contains("zoho-auth setup --sandbox"));
    assert!(rest.contains(&format!(
        "zoho-auth exchange --env-file sandbox.env --accounts-url {base} --client-id 1000."
    )));
    assert!(rest.contains(&format!("curl -s -X POST {base}/_sandbox/code")));
    assert!(rest.contains("/books/v3/invoices?organization_id=10234695&page=2&per_page=200"));
    // Without --state: the default state file, shared with `setup --sandbox` (issue 13 item 3).
    assert!(
        rest.starts_with("State: ") && rest.contains("sandbox-state.json"),
        "{rest}"
    );
    assert!(rest.contains("shared with `setup --sandbox`"), "{rest}");
    let r = get(&format!("{base}/oauth/serverinfo")).await;
    assert_eq!(r.json()["locations"]["us"], json!(base));
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn the_sandbox_command_exits_0_on_sigterm() {
    let (mut child, _lines, first) = spawn_sandbox_command().await;
    assert!(first.starts_with("Sandbox listening on "));
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits in time")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test]
async fn the_sandbox_command_refuses_a_busy_port_with_exit_2() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .args(["sandbox", "--port", &port])
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("port {port} is in use; pick another with --port")),
        "{stderr}"
    );
    drop(busy);
}

#[tokio::test]
async fn the_device_verification_page_approves_by_user_code() {
    let sb = start().await;
    let base = sb.base_url();
    let v = device_start(&sb, &base, "online").await;
    let user_code = v["user_code"].as_str().unwrap();
    let r = get(v["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("SIMULATION") && r.body.contains("ZohoBooks.fullaccess.all"));
    assert!(r.body.contains(&format!("value=\"{user_code}\"")));
    let r = post_form(
        &format!("{base}/oauth/v3/device/decision"),
        &[
            ("user_code", &user_code.to_lowercase()),
            ("decision", "approve"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Approved"));
    let r = device_poll(&sb, &base, v["device_code"].as_str().unwrap()).await;
    assert!(r.json()["access_token"].is_string(), "{}", r.body);
    let r = post_form(
        &format!("{base}/oauth/v3/device/decision"),
        &[("user_code", user_code), ("decision", "approve")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a used code is gone");
    sb.stop().await;
}

#[tokio::test]
async fn control_endpoints_reject_bad_input() {
    let sb = start().await;
    let b = sb.base_url();
    for (path, body) in [
        ("/_sandbox/config", json!({"throttle_status": 1000})),
        ("/_sandbox/config", json!({"no_such_setting": 1})),
        ("/_sandbox/config", json!({"user_dc": "zz"})),
        ("/_sandbox/clock", json!({"advance_seconds": -5})),
        ("/_sandbox/fault", json!({"path": "/x", "kind": "explode"})),
        ("/_sandbox/fault", json!({"path": "x", "kind": "drop"})),
        ("/_sandbox/orgs", json!({"product": "mail"})),
        ("/_sandbox/device/approve", json!({})),
        (
            "/_sandbox/code",
            json!({"scope": "ZohoBooks.fullaccess.all", "dc": "zz"}),
        ),
    ] {
        let r = post_json(&format!("{b}{path}"), body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {}",
            r.body
        );
        assert!(r.json()["error"].is_string(), "{path}: {}", r.body);
    }
    let r = post_json(
        &format!("{b}/_sandbox/device/approve"),
        json!({"user_code": "NOPE-NOPE"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = read(
        http()
            .delete(format!("{b}/_sandbox/fault"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    sb.stop().await;
}
