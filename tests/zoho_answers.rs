//! The client against Zoho's answers as captured in the field (facts §10), each served by a tiny
//! axum app on 127.0.0.1: the organizations probe's refusals, token answers, the device flow's
//! `other_dc`, and a sandbox that is not running. Tokens are generated fakes, never real-looking.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use url::Url;
use zoho_auth::auth::client::{AuthError, Client, ClientOptions, Credentials};
use zoho_auth::auth::diagnosis::{self, Code, Context, Phase};
use zoho_auth::auth::flow::{self, Target};
use zoho_auth::auth::probe::{self, Organization};
use zoho_auth::auth::{Dc, Product, Secret, device};

/// An obviously fake token of the right shape.
fn fake(a: char, b: char) -> String {
    format!(
        "1000.{}.{}",
        a.to_string().repeat(32),
        b.to_string().repeat(32)
    )
}

/// Serves `app` on 127.0.0.1 and returns its base URL (no trailing slash).
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn client() -> Client {
    Client::new(ClientOptions::default()).unwrap()
}

fn json(status: u16, body: &'static str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response()
}

/// A server answering `path` with `status` and `body` (JSON or not, as given).
async fn answering(
    path: &str,
    status: u16,
    body: &'static str,
    content_type: &'static str,
) -> String {
    let app = Router::new().route(
        path,
        get(move || async move {
            (
                StatusCode::from_u16(status).unwrap(),
                [(header::CONTENT_TYPE, content_type)],
                body,
            )
        }),
    );
    serve(app).await
}

/// The live test of `product` at `base` (the API override), with the grant's `api_domain`.
async fn probe_at(
    base: &str,
    api_domain: &str,
    product: Product,
) -> Result<Vec<Organization>, diagnosis::Diagnosis> {
    let target = Target {
        accounts: Url::parse(base).unwrap(),
        dc: None,
        api_override: Some(Url::parse(base).unwrap()),
    };
    flow::probe(
        &client(),
        &target,
        api_domain,
        product,
        &Secret::new(fake('a', 'b')),
    )
    .await
}

#[tokio::test]
async fn books_and_inventory_6041_is_not_org_member_naming_the_org() {
    for (product, path) in [
        (Product::Books, "/books/v3/organizations"),
        (Product::Inventory, "/inventory/v1/organizations"),
    ] {
        let base = answering(
            path,
            400,
            r#"{"code":6041,"message":"This user is not associated with the CompanyID/CompanyName:20091111."}"#,
            "application/json",
        )
        .await;
        let d = probe_at(&base, &base, product).await.unwrap_err();
        assert_eq!(d.code, Code::NotOrgMember, "{product:?}: {d}");
        assert_eq!(d.exit_code(), 4);
        assert!(d.message.contains("20091111"), "{d}");
    }
}

#[tokio::test]
async fn invoice_9017_and_an_invoice_403_of_any_body_are_not_org_member() {
    let base = answering(
        "/invoice/v3/organizations",
        400,
        r#"{"code":9017,"message":"This user is not associated with any organization."}"#,
        "application/json",
    )
    .await;
    let d = probe_at(&base, &base, Product::Invoice).await.unwrap_err();
    assert_eq!(d.code, Code::NotOrgMember, "{d}");
    for body in [
        r#"{"code":57,"message":"You are not authorized to perform this operation"}"#,
        r#"{"errorCode":"FORBIDDEN"}"#,
        "",
        "<html><title>Forbidden</title></html>",
    ] {
        let base = answering("/invoice/v3/organizations", 403, body, "text/plain").await;
        let d = probe_at(&base, &base, Product::Invoice).await.unwrap_err();
        assert_eq!(d.code, Code::NotOrgMember, "{body}: {d}");
    }
}

#[tokio::test]
async fn books_and_expense_code_5_is_a_wrong_path_not_a_token_problem() {
    for (product, path, status, body) in [
        (
            Product::Books,
            "/books/v3/organizations",
            404,
            r#"{"code":5,"message":"We couldnt find any resource for the given ID. Please check the ID and try again"}"#,
        ),
        (
            Product::Expense,
            "/expense/v1/organizations",
            400,
            r#"{"code": 5, "message": "Invalid URL Passed"}"#,
        ),
    ] {
        let base = answering(path, status, body, "application/json").await;
        let d = probe_at(&base, &base, product).await.unwrap_err();
        assert_eq!(d.code, Code::ServerError, "{product:?}: {d}");
        assert_eq!(d.exit_code(), 5);
        assert!(d.message.contains("not a token problem"), "{d}");
        assert!(d.message.contains(path), "{d}");
    }
}

#[tokio::test]
async fn crm_authentication_failure_is_a_rejected_token_with_or_without_status() {
    for body in [
        r#"{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"}"#,
        r#"{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed"}"#,
    ] {
        let base = answering("/crm/v8/org", 401, body, "application/json;charset=utf-8").await;
        let d = probe_at(&base, &base, Product::Crm).await.unwrap_err();
        assert_eq!(d.code, Code::TokenRejected, "{d}");
        // Not "send the header": the token itself was refused.
        assert!(!d.message.contains("Authorization header"), "{d}");
        assert!(d.fix.contains("reauth"), "{d}");
    }
}

#[tokio::test]
async fn crm_invalid_token_at_another_dcs_host_is_wrong_dc() {
    let invalid =
        r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#;
    let app = Router::new()
        .route(
            "/crm/v8/org",
            get(move || async move { json(401, invalid) }),
        )
        .route(
            "/_dc/eu/crm/v8/org",
            get(move || async move { json(401, invalid) }),
        );
    let base = serve(app).await;
    // The grant is the primary (us) DC's; the API was called at the EU DC's path.
    let d = probe_at(&format!("{base}/_dc/eu"), &base, Product::Crm)
        .await
        .unwrap_err();
    assert_eq!(d.code, Code::WrongDc, "{d}");
    assert!(d.message.contains("Europe"), "{d}");
    // The same answer at the grant's own DC is a dead token, not a data-center problem.
    let d = probe_at(&base, &base, Product::Crm).await.unwrap_err();
    assert_eq!(d.code, Code::TokenRejected, "{d}");
    // And with Zoho's hosts: the grant's api_domain is EU, the call went to the US host.
    let err = AuthError::Api {
        status: 401,
        refusal: zoho_auth::auth::client::api_refusal(401, invalid).unwrap(),
        called: "https://www.zohoapis.com/crm/v8/org".into(),
    };
    let ctx = Context {
        phase: Phase::Probe,
        product: Some(Product::Crm),
        scopes: &[],
        accounts_host: "accounts.zoho.eu",
        api_domain: Some("https://www.zohoapis.eu"),
        dc: Some(Dc::Eu),
    };
    let d = diagnosis::from_error(&err, &ctx);
    assert_eq!(d.code, Code::WrongDc, "{d}");
    assert!(d.fix.contains("https://www.zohoapis.eu"), "{d}");
}

#[tokio::test]
async fn a_302_to_iam_security_error_is_never_a_success() {
    let app = Router::new()
        .route(
            "/crm/v8/org",
            get(|headers: HeaderMap| async move {
                let host = headers[header::HOST].to_str().unwrap().to_string();
                (
                    StatusCode::FOUND,
                    [(
                        header::LOCATION,
                        format!("http://{host}/crm/IAMSecurityError.do?isload=true"),
                    )],
                    "",
                )
            }),
        )
        // Following the redirect would find an organizations list: it must not be followed.
        .route(
            "/crm/IAMSecurityError.do",
            get(|| async { json(200, r#"{"org":[{"id":"1","company_name":"Not this"}]}"#) }),
        );
    let base = serve(app).await;
    let d = probe_at(&base, &base, Product::Crm).await.unwrap_err();
    assert_eq!(d.code, Code::ServerError, "{d}");
    assert!(d.message.contains("does not exist"), "{d}");
    assert!(d.message.contains("not a token problem"), "{d}");
}

#[tokio::test]
async fn desk_403_forbidden_says_permission_and_not_reconsent() {
    let base = answering(
        "/api/v1/organizations",
        403,
        r#"{"errorCode":"FORBIDDEN","message":"You are not authorized to access this resource."}"#,
        "application/json",
    )
    .await;
    let d = probe_at(&base, &base, Product::Desk).await.unwrap_err();
    assert!(d.message.contains("permission"), "{d}");
    assert!(
        d.message.contains("consenting again does not change it"),
        "{d}"
    );
    assert!(!d.fix.contains("reauth"), "{d}");
}

#[tokio::test]
async fn a_401_with_an_html_page_or_an_empty_body_is_read_without_a_json_error() {
    let base = answering(
        "/api/v1/organizations",
        401,
        "<!DOCTYPE html><html><head><title>Zoho Desk - Error</title></head><body>x</body></html>",
        "text/html",
    )
    .await;
    let d = probe_at(&base, &base, Product::Desk).await.unwrap_err();
    assert_eq!(d.code, Code::TokenRejected, "{d}");
    assert!(d.message.contains("\"Zoho Desk - Error\""), "{d}");
    let base = answering("/api/v1/organizations", 401, "", "text/html").await;
    let d = probe_at(&base, &base, Product::Desk).await.unwrap_err();
    assert_eq!(d.code, Code::TokenRejected, "{d}");
    assert!(d.message.contains("no readable body"), "{d}");
}

#[tokio::test]
async fn token_answers_without_scope_and_refreshes_without_refresh_token_are_accepted() {
    let (access, refresh) = (fake('a', 'b'), fake('c', 'd'));
    let exchange_body: &'static str = Box::leak(
        format!(
            r#"{{"access_token":"{access}","refresh_token":"{refresh}","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}}"#
        )
        .into_boxed_str(),
    );
    let refresh_body: &'static str = Box::leak(
        format!(
            r#"{{"access_token":"{access}","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}}"#
        )
        .into_boxed_str(),
    );
    let app = Router::new().route(
        "/oauth/v2/token",
        post(move |body: String| async move {
            if body.contains("grant_type=refresh_token") {
                json(200, refresh_body)
            } else {
                json(200, exchange_body)
            }
        }),
    );
    let base = Url::parse(&serve(app).await).unwrap();
    let creds = Credentials {
        client_id: "1000.CLIENT".into(),
        client_secret: Secret::new("s"),
    };
    let c = client();
    let t = c
        .exchange_code(&base, &creds, &Secret::new(fake('e', 'f')), None)
        .await
        .unwrap();
    assert!(t.scopes.is_empty());
    assert_eq!(t.refresh_token.unwrap().expose(), refresh);
    let t = c
        .refresh(&base, &creds, &Secret::new(refresh.clone()))
        .await
        .unwrap();
    assert!(t.refresh_token.is_none());
    assert_eq!(t.access_token.expose(), access);
}

#[test]
fn a_lone_organization_not_marked_default_is_preselected() {
    let body = r#"{"code":0,"message":"success","organizations":[{"organization_id":"10234695","name":"Zillum","is_default_org":false}]}"#;
    let orgs = probe::parse_organizations(Product::Books, body).unwrap();
    assert_eq!(probe::default_organization(&orgs).unwrap().id, "10234695");
}

/// A token endpoint answering `body` once to a refresh.
async fn refresh_answer(body: String) -> Result<zoho_auth::auth::client::TokenSet, AuthError> {
    let body: &'static str = Box::leak(body.into_boxed_str());
    let app = Router::new().route(
        "/oauth/v2/token",
        post(move || async move { json(200, body) }),
    );
    let base = Url::parse(&serve(app).await).unwrap();
    let creds = Credentials {
        client_id: "1000.CLIENT".into(),
        client_secret: Secret::new("s"),
    };
    client()
        .refresh(&base, &creds, &Secret::new(fake('c', 'd')))
        .await
}

#[tokio::test]
async fn misshapen_tokens_are_server_errors_that_name_the_field_not_the_value() {
    let good = fake('a', 'b');
    let cases = [
        ("access_token", "1000.abc def.0123".to_string(), None),
        (
            "access_token",
            format!("{good}\\u001b]52;c;AAAA\\u0007"),
            None,
        ),
        ("access_token", "$(touch pwned)".to_string(), None),
        ("access_token", format!("{good} "), None),
        ("refresh_token", good.clone(), Some("`id`".to_string())),
        ("refresh_token", good.clone(), Some(format!("{good}\\n"))),
    ];
    for (field, access, refresh) in cases {
        let refresh_part = refresh
            .as_ref()
            .map(|r| format!(r#","refresh_token":"{r}""#))
            .unwrap_or_default();
        let body = format!(
            r#"{{"access_token":"{access}"{refresh_part},"api_domain":"https://www.zohoapis.com","expires_in":3600}}"#
        );
        let err = refresh_answer(body).await.unwrap_err();
        let d = diagnosis::from_error(
            &err,
            &Context {
                phase: Phase::Refresh,
                product: None,
                scopes: &[],
                accounts_host: "127.0.0.1",
                api_domain: None,
                dc: None,
            },
        );
        assert_eq!(d.code, Code::ServerError, "{field}: {d}");
        assert_eq!(d.exit_code(), 5);
        assert!(d.message.contains(field), "{d}");
        let shown = format!("{d} {err:?}");
        assert!(
            !shown.contains("touch pwned") && !shown.contains("`id`"),
            "{shown}"
        );
        assert!(!shown.contains(&"a".repeat(32)), "{shown}");
    }
    // An api_domain with a control character or a bidi override is refused the same way.
    for api in [
        r"https://www.zohoapis.com\u001b[2J",
        r"https://www.zohoapis.com\u202e",
    ] {
        let err = refresh_answer(format!(
            r#"{{"access_token":"{good}","api_domain":"{api}","expires_in":3600}}"#
        ))
        .await
        .unwrap_err();
        assert!(
            matches!(&err, AuthError::Server { detail, .. } if detail.contains("api_domain")),
            "{err:?}"
        );
    }
    // Upper-case hex is a token (the case carries no risk).
    let upper = fake('A', 'B');
    let ok = refresh_answer(format!(
        r#"{{"access_token":"{upper}","api_domain":"https://www.zohoapis.com","expires_in":3600}}"#
    ))
    .await
    .unwrap();
    assert_eq!(ok.access_token.expose(), upper);
}

#[tokio::test]
async fn an_expires_in_beyond_a_day_is_capped_to_a_day() {
    let day = Duration::from_secs(86_400);
    for extra in [
        r#""expires_in":999999999"#,
        r#""expires_in":999999999999"#,
        r#""expires_in":3600,"expires_in_sec":315360000"#,
    ] {
        let t = refresh_answer(format!(
            r#"{{"access_token":"{}","api_domain":"https://www.zohoapis.com",{extra}}}"#,
            fake('a', 'b')
        ))
        .await
        .unwrap();
        assert_eq!(t.expires_in, day, "{extra}");
    }
}

#[tokio::test]
async fn an_organization_id_that_is_not_digits_refuses_the_answer() {
    let base = answering(
        "/books/v3/organizations",
        200,
        r#"{"code":0,"message":"success","organizations":[{"organization_id":"1; rm -rf ~","name":"X","is_default_org":true}]}"#,
        "application/json",
    )
    .await;
    let d = probe_at(&base, &base, Product::Books).await.unwrap_err();
    assert_eq!(d.code, Code::ServerError, "{d}");
    assert!(d.message.contains("organization id"), "{d}");
    assert!(!d.message.contains("rm -rf"), "{d}");
}

#[tokio::test]
async fn a_sandbox_that_is_not_running_is_named_and_the_internet_is_not_blamed() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = Target::from_urls(&format!("http://127.0.0.1:{port}"), None, None).unwrap();
    let creds = Credentials {
        client_id: "1000.CLIENT".into(),
        client_secret: Secret::new("s"),
    };
    let d = flow::refresh(&client(), &target, &creds, &Secret::new(fake('c', 'd')))
        .await
        .unwrap_err();
    assert_eq!(d.code, Code::Network);
    assert!(!d.to_string().contains("internet"), "{d}");
    assert!(d.message.contains("sandbox"), "{d}");
    assert!(d.message.contains(&format!("127.0.0.1:{port}")), "{d}");
    assert!(
        d.fix.contains("`zoho-auth sandbox` in another terminal"),
        "{d}"
    );
}

#[tokio::test]
async fn device_other_dc_with_user_location_or_dc_moves_to_the_accounts_server() {
    for (field, value) in [
        ("user_location", Some("eu".to_string())),
        ("dc", Some("eu".to_string())),
        ("dc", None), // an accounts URL on the chosen (sandbox) origin
        ("user_location", None),
    ] {
        let base = device_server_one(field, value.clone()).await;
        let accounts = Url::parse(&base).unwrap();
        let c = client();
        let code = device::start(&c, &accounts, "1004.CLIENT", &["ZohoCRM.org.READ".into()])
            .await
            .unwrap();
        let creds = Credentials {
            client_id: "1004.CLIENT".into(),
            client_secret: Secret::new("s"),
        };
        let mut moved = Vec::new();
        let grant = device::poll_until(&c, &creds, &code, |e| moved.push(e))
            .await
            .unwrap_or_else(|e| panic!("{field}={value:?}: {e}"));
        assert_eq!(grant.accounts.path(), "/_dc/eu", "{field}={value:?}");
        assert_eq!(moved.len(), 1, "{field}={value:?}");
    }
}

#[tokio::test]
async fn device_other_dc_naming_a_foreign_host_is_refused() {
    for value in [
        "https://evil.example",
        "https://accounts.zoho.eu@evil.example",
        "eu@x",
        "",
    ] {
        let base = device_server_one("user_location", Some(value.to_string())).await;
        let accounts = Url::parse(&base).unwrap();
        let c = client();
        let code = device::start(&c, &accounts, "1004.CLIENT", &["ZohoCRM.org.READ".into()])
            .await
            .unwrap();
        let creds = Credentials {
            client_id: "1004.CLIENT".into(),
            client_secret: Secret::new("s"),
        };
        let err = device::poll_until(&c, &creds, &code, |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, device::DeviceError::UntrustedDc { .. }),
            "{value}: {err:?}"
        );
        let d = err.diagnosis("127.0.0.1", &[]);
        assert_eq!(d.code, Code::ServerError, "{d}");
    }
    assert_eq!(
        device::other_dc_accounts("eu", &Url::parse("https://accounts.zoho.com").unwrap())
            .unwrap()
            .as_str(),
        "https://accounts.zoho.eu/"
    );
}

/// One server: the primary DC answers `other_dc` with `field: value` (default: the EU path of
/// this server), `/_dc/eu` grants.
async fn device_server_one(field: &'static str, value: Option<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let granted: &'static str = Box::leak(
        format!(
            r#"{{"access_token":"{}","refresh_token":"{}","api_domain":"https://www.zohoapis.eu","expires_in":3600}}"#,
            fake('a', 'b'),
            fake('c', 'd')
        )
        .into_boxed_str(),
    );
    let value = value.unwrap_or_else(|| format!("{base}/_dc/eu"));
    let other: &'static str = Box::leak(
        serde_json::json!({"error": "other_dc", field: value})
            .to_string()
            .into_boxed_str(),
    );
    let app = Router::new()
        .route(
            "/oauth/v3/device/code",
            post(|| async {
                json(
                    200,
                    r#"{"device_code":"1004.dddd","user_code":"ABCD-EFGH","verification_url":"https://accounts.zoho.com/oauth/v3/device","interval":1,"expires_in":300}"#,
                )
            }),
        )
        .route(
            "/oauth/v3/device/token",
            post(move || async move { json(400, other) }),
        )
        .route(
            "/_dc/eu/oauth/v3/device/token",
            post(move || async move { json(200, granted) }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}
