//! `zoho-auth api` as the real binary: against the sandbox where it serves the path, and against a
//! tiny in-test Zoho (accounts server + API domain on one loopback port) that pages as facts §10
//! says (450 Books invoices, 2,500 CRM leads with `page_token` past 2,000, 250 Desk tickets), so
//! totals, the 401 retry, 6041, scope errors and bodies can be counted and checked.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use support::{Run, World};

const ORG: &str = "10234695";

/// What the fake Zoho saw and how it behaves.
#[derive(Default)]
struct Zoho {
    base: String,
    /// Tokens it minted; only these are accepted.
    valid: Vec<String>,
    refreshes: u32,
    /// Module requests: method, path, query, headers (lower-case names), body.
    seen: Vec<Seen>,
    /// The next this many module requests answer 401 INVALID_TOKEN (or Books code 57).
    reject_next: u32,
    /// Requests that were processed (not refused), by method and path.
    processed: Vec<String>,
    /// Books invoice pages from this one on answer 401 code 57.
    refuse_from_page: Option<u64>,
    /// When set, page 2 of the Books invoices is answered only once this is notified.
    gate: Option<Arc<tokio::sync::Notify>>,
}

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

type Shared = Arc<Mutex<Zoho>>;

fn hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

fn json_reply(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        v.to_string(),
    )
        .into_response()
}

fn records(prefix: &str, start: u64, n: u64, total: u64) -> Vec<Value> {
    (start..(start + n).min(total))
        .map(|i| json!({"id": format!("{prefix}{i}"), "n": i}))
        .collect()
}

async fn handle(
    State(z): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
    let gate = z.lock().unwrap().gate.clone();
    if let Some(gate) = gate
        && path == "/books/v3/invoices"
        && get("page").as_deref() == Some("2")
    {
        gate.notified().await;
    }
    let mut z = z.lock().unwrap();
    if path == "/oauth/v2/token" {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
        assert!(
            form.iter()
                .any(|(k, v)| k == "grant_type" && v == "refresh_token")
        );
        z.refreshes += 1;
        let token = format!("1000.{}.{}", hex(32), hex(32));
        z.valid.push(token.clone());
        return json_reply(
            StatusCode::OK,
            json!({"access_token": token, "api_domain": z.base, "token_type": "Bearer", "expires_in": 3600}),
        );
    }
    let seen = Seen {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
    };
    z.seen.push(seen.clone());
    let token = seen
        .header("authorization")
        .and_then(|h| h.strip_prefix("Zoho-oauthtoken "))
        .unwrap_or("")
        .to_string();
    let page: u64 = get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let refused_page =
        path == "/books/v3/invoices" && z.refuse_from_page.is_some_and(|from| page >= from);
    let authorised = z.valid.contains(&token) && z.reject_next == 0 && !refused_page;
    if z.reject_next > 0 {
        z.reject_next -= 1;
    }
    let books = path.starts_with("/books/");
    let desk = path.starts_with("/api/");
    if !authorised {
        let body = if books {
            json!({"code":57,"message":"You are not authorized to perform this operation"})
        } else if desk {
            json!({"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."})
        } else {
            json!({"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"})
        };
        return json_reply(StatusCode::UNAUTHORIZED, body);
    }
    if books && get("organization_id").as_deref() != Some(ORG) {
        let id = get("organization_id").unwrap_or_default();
        return json_reply(
            StatusCode::BAD_REQUEST,
            json!({"code":6041,"message":format!("This user is not associated with the CompanyID/CompanyName:{id}.")}),
        );
    }
    z.processed.push(format!("{method} {path}"));
    match (method.as_str(), path.as_str()) {
        ("GET", "/books/v3/invoices") => {
            let per: u64 = get("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(200)
                .min(200);
            let page: u64 = get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let start = (page - 1) * per;
            json_reply(
                StatusCode::OK,
                json!({"code":0,"message":"success","invoices":records("inv", start, per, 450),
                "page_context":{"page":page,"per_page":per,"has_more_page":start + per < 450,"sort_column":"created_time"}}),
            )
        }
        ("GET", "/books/v3/contacts") => json_reply(
            StatusCode::OK,
            json!({"code":0,"message":"success","query":query.iter().map(|(k,v)| format!("{k}={v}")).collect::<Vec<_>>()}),
        ),
        ("GET", "/crm/v8/Leads") => {
            let per: u64 = get("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(200)
                .min(200);
            let start = match (get("page"), get("page_token")) {
                (_, Some(t)) => t
                    .strip_prefix("tok")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(u64::MAX),
                (p, None) => {
                    let p: u64 = p.and_then(|p| p.parse().ok()).unwrap_or(1);
                    if p * per > 2000 {
                        return json_reply(
                            StatusCode::BAD_REQUEST,
                            json!({"code":"LIMIT_REACHED","details":{},"message":"use page_token past 2000 records","status":"error"}),
                        );
                    }
                    (p - 1) * per
                }
            };
            if start >= 2500 {
                return StatusCode::NO_CONTENT.into_response();
            }
            let more = start + per < 2500;
            json_reply(
                StatusCode::OK,
                json!({"data":records("lead", start, per, 2500),
                "info":{"per_page":per,"count":per.min(2500 - start),"page":get("page"),"more_records":more,
                        "next_page_token": if more { Value::from(format!("tok{}", start + per)) } else { Value::Null }}}),
            )
        }
        ("GET", "/crm/v8/Contacts") => StatusCode::NO_CONTENT.into_response(),
        ("GET", "/books/v3/bills") => json_reply(
            StatusCode::UNAUTHORIZED,
            json!({"code":57,"message":"You are not authorized to perform this operation"}),
        ),
        ("GET", "/crm/v8/Deals") => json_reply(
            StatusCode::UNAUTHORIZED,
            json!({"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}),
        ),
        ("GET", "/crm/v8/Leadz") => (
            StatusCode::FOUND,
            [
                (
                    header::LOCATION,
                    "https://www.zohoapis.com/crm/IAMSecurityError.do?isload=true".to_string(),
                ),
                (header::CONTENT_TYPE, "text/html".to_string()),
            ],
            "",
        )
            .into_response(),
        ("POST" | "PUT", "/crm/v8/Leads") => {
            let ct = seen.header("content-type").unwrap_or("").to_string();
            json_reply(
                StatusCode::CREATED,
                json!({"data":[{"code":"SUCCESS","received":String::from_utf8_lossy(&body),"content_type":ct,"query":uri.query()}]}),
            )
        }
        ("GET", "/api/v1/tickets") => {
            if seen.header("orgid") != Some(ORG) {
                return json_reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"errorCode":"INVALID_DATA","message":"orgId"}),
                );
            }
            let from: u64 = get("from").and_then(|p| p.parse().ok()).unwrap_or(1);
            let limit: u64 = get("limit")
                .and_then(|p| p.parse().ok())
                .unwrap_or(10)
                .min(100);
            if from > 250 {
                return StatusCode::NO_CONTENT.into_response();
            }
            json_reply(
                StatusCode::OK,
                json!({"data":records("t", from - 1, limit, 250)}),
            )
        }
        _ => json_reply(
            StatusCode::NOT_FOUND,
            json!({"code":5,"message":"We couldnt find any resource for the given ID. Please check the ID and try again"}),
        ),
    }
}

struct Fake {
    zoho: Shared,
    world: World,
}

impl Fake {
    async fn start() -> Fake {
        let zoho: Shared = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        zoho.lock().unwrap().base = base.clone();
        let app = Router::new().fallback(handle).with_state(zoho.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let world = World::start().await;
        let client_id: String = format!("1000.{}", hex(30).to_ascii_uppercase());
        let env = format!(
            "ZOHO_CLIENT_ID={client_id}\nZOHO_CLIENT_SECRET={}\nZOHO_REFRESH_TOKEN=1000.{}.{}\nZOHO_ACCOUNTS_URL={base}\nZOHO_API_DOMAIN={base}\nZOHO_ORGANIZATION_ID={ORG}\nZOHO_SCOPES=ZohoBooks.fullaccess.all,ZohoCRM.modules.leads.ALL,Desk.tickets.READ\n",
            hex(42),
            hex(32),
            hex(32)
        );
        std::fs::write(world.env_path(), env).unwrap();
        Fake { zoho, world }
    }

    async fn api(&self, args: &[&str]) -> Run {
        let mut all = vec!["api"];
        all.extend_from_slice(args);
        self.world.run(&all).await
    }

    fn seen(&self) -> Vec<Seen> {
        self.zoho.lock().unwrap().seen.clone()
    }

    fn refreshes(&self) -> u32 {
        self.zoho.lock().unwrap().refreshes
    }

    /// No minted token appears in the run's output.
    fn assert_no_token(&self, run: &Run) {
        for t in &self.zoho.lock().unwrap().valid {
            assert!(
                !run.stdout.contains(t.as_str()) && !run.stderr.contains(t.as_str()),
                "a token leaked"
            );
            let middle = &t[5..37];
            assert!(!run.stderr.contains(middle), "part of a token leaked");
        }
    }
}

fn count(run: &Run, key: &str) -> usize {
    run.json()[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} list: {}", run.stdout))
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn paginate_books_450_crm_2500_desk_250() {
    let f = Fake::start().await;
    let books = f.api(&["/books/v3/invoices", "--paginate"]).await;
    assert_eq!(books.code, 0, "{}", books.stderr);
    assert_eq!(count(&books, "invoices"), 450);
    assert_eq!(books.json().as_object().unwrap().len(), 1);
    let crm = f.api(&["/crm/v8/Leads", "--paginate"]).await;
    assert_eq!(crm.code, 0, "{}", crm.stderr);
    assert_eq!(count(&crm, "data"), 2500);
    let ids: std::collections::HashSet<String> = crm.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2500, "every lead once");
    let tokens = f
        .seen()
        .iter()
        .filter(|s| s.path == "/crm/v8/Leads" && s.param("page_token").is_some())
        .count();
    assert_eq!(tokens, 3, "pages 11-13 by page_token");
    let desk = f.api(&["/api/v1/tickets", "--paginate"]).await;
    assert_eq!(desk.code, 0, "{}", desk.stderr);
    assert_eq!(count(&desk, "data"), 250);
    assert_eq!(f.refreshes(), 1, "one token for all three runs (cached)");
    assert_eq!(
        f.seen()
            .iter()
            .filter(|s| s.path == "/books/v3/invoices")
            .count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crm_204_is_an_empty_list_when_paging_and_an_empty_body_otherwise() {
    let f = Fake::start().await;
    let run = f.api(&["/crm/v8/Contacts", "--paginate"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json(), json!({"data": []}));
    let run = f.api(&["/crm/v8/Contacts"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_token_401_gets_one_refresh_and_one_retry() {
    let f = Fake::start().await;
    f.zoho.lock().unwrap().reject_next = 1;
    let run = f.api(&["/crm/v8/Leads", "-v"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(count(&run, "data"), 200);
    assert_eq!(f.refreshes(), 2, "the first token, then one forced refresh");
    assert_eq!(f.seen().len(), 2, "the request, then one retry");
    f.assert_no_token(&run);
    // Refused twice: no third attempt and no third refresh; the diagnosis, exit 4.
    f.zoho.lock().unwrap().reject_next = 2;
    let run = f.api(&["/crm/v8/Leads"]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(f.refreshes(), 3);
    assert_eq!(f.seen().len(), 4);
    assert!(
        run.stdout.contains("INVALID_TOKEN"),
        "Zoho's body on stdout: {}",
        run.stdout
    );
    assert!(run.stderr.contains("Fix:"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_refused_with_401_is_sent_again_once_and_processed_once() {
    let f = Fake::start().await;
    f.zoho.lock().unwrap().reject_next = 1;
    let body = r#"{"data":[{"Last_Name":"Doe"}]}"#;
    let run = f
        .world
        .run_stdin(&["api", "/crm/v8/Leads", "--input", "-"], body)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let z = f.zoho.lock().unwrap();
    assert_eq!(
        z.processed,
        vec!["POST /crm/v8/Leads".to_string()],
        "a 401 means the first was not processed"
    );
    assert_eq!(z.seen.len(), 2);
    assert!(z.seen.iter().all(|s| s.body == body.as_bytes()));
}

#[tokio::test(flavor = "multi_thread")]
async fn post_with_input_from_a_file_and_from_stdin() {
    let f = Fake::start().await;
    let file = f.world.dir.path().join("lead.json");
    let body = r#"{"data":[{"Last_Name":"Doe","Company":"Zylker"}]}"#;
    std::fs::write(&file, body).unwrap();
    let run = f
        .api(&["/crm/v8/Leads", "--input", file.to_str().unwrap()])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = &run.json()["data"][0];
    assert_eq!(echo["received"], body);
    assert_eq!(echo["content_type"], "application/json");
    let run = f
        .world
        .run_stdin(
            &["api", "-X", "PUT", "/crm/v8/Leads", "--input", "-"],
            "plain text",
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = f.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.method, "PUT");
    assert_eq!(last.body, b"plain text");
    assert_eq!(
        last.header("content-type"),
        Some("application/octet-stream")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_are_query_for_get_and_json_body_for_post() {
    let f = Fake::start().await;
    let run = f
        .api(&[
            "/books/v3/contacts",
            "-f",
            "status=active",
            "-f",
            "search_text=a&b",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = f.seen();
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].param("status"), Some("active"));
    assert_eq!(seen[0].param("search_text"), Some("a&b"));
    assert!(seen[0].body.is_empty());
    let run = f
        .api(&[
            "-X",
            "POST",
            "/crm/v8/Leads",
            "-f",
            "Last_Name=Doe",
            "-f",
            "Annual_Revenue:=1000",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent: Value = serde_json::from_slice(&f.seen()[1].body).unwrap();
    assert_eq!(sent, json!({"Last_Name":"Doe","Annual_Revenue":1000}));
    assert_eq!(f.seen()[1].query, vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_id_and_org_id_are_added_and_never_override_the_users() {
    let f = Fake::start().await;
    assert_eq!(f.api(&["/books/v3/contacts"]).await.code, 0);
    assert_eq!(f.seen()[0].param("organization_id"), Some(ORG));
    let run = f.api(&["/books/v3/contacts?organization_id=555"]).await;
    assert_eq!(run.code, 4);
    assert_eq!(
        f.seen()[1]
            .query
            .iter()
            .filter(|(k, _)| k == "organization_id")
            .count(),
        1
    );
    assert_eq!(f.seen()[1].param("organization_id"), Some("555"));
    let run = f
        .api(&["/books/v3/contacts", "-f", "organization_id=556"])
        .await;
    assert_eq!(run.code, 4);
    assert_eq!(f.seen()[2].param("organization_id"), Some("556"));
    assert_eq!(f.api(&["/api/v1/tickets"]).await.code, 0);
    assert_eq!(f.seen()[3].header("orgId"), Some(ORG));
    assert_eq!(f.api(&["/api/v1/tickets", "-H", "orgId: 77"]).await.code, 4);
    assert_eq!(f.seen()[4].header("orgId"), Some("77"));
    assert_eq!(
        f.seen()[4]
            .headers
            .iter()
            .filter(|(k, _)| k == "orgid")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn error_6041_names_the_organization_exit_4() {
    let f = Fake::start().await;
    let run = f
        .api(&["/books/v3/invoices", "-f", "organization_id=31337"])
        .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout.contains("6041"),
        "Zoho's body on stdout: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains("31337") && run.stderr.contains("not a member"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Fix:"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_module_scope_is_named() {
    let f = Fake::start().await;
    let run = f.api(&["/crm/v8/Deals"]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("ZohoCRM.modules.deals.READ"),
        "{}",
        run.stderr
    );
    assert_eq!(f.refreshes(), 1, "a scope mismatch is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn books_code_57_twice_names_the_module_scope() {
    let f = Fake::start().await;
    let run = f.api(&["/books/v3/bills"]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("ZohoBooks.bills.READ"),
        "{}",
        run.stderr
    );
    assert_eq!(
        f.refreshes(),
        2,
        "code 57 may be a dead token: one refresh first"
    );
    assert_eq!(f.seen().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_302_to_iam_security_error_is_an_error_and_not_followed() {
    let f = Fake::start().await;
    let run = f.api(&["/crm/v8/Leadz"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("IAMSecurityError") && run.stderr.contains("malformed CRM path"),
        "{}",
        run.stderr
    );
    assert_eq!(f.seen().len(), 1, "the redirect is not followed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_never_reaches_stdout_or_stderr() {
    let f = Fake::start().await;
    for args in [
        &["/books/v3/invoices", "-v", "--paginate"][..],
        &["/crm/v8/Deals", "-v"],
        &["/books/v3/invoices", "-v", "-f", "organization_id=1"],
        &["/crm/v8/Leadz", "-v"],
    ] {
        let run = f.api(args).await;
        assert!(run.stderr.contains("-> GET"), "-v traces: {}", run.stderr);
        f.assert_no_token(&run);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_bases_and_foreign_urls_send_nothing() {
    let f = Fake::start().await;
    let run = f.api(&["/crm/Leads"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/books/v3/") && run.stderr.contains("/api/v1/"),
        "{}",
        run.stderr
    );
    for url in [
        "https://evil.example/books/v3/invoices",
        "http://127.0.0.2:1/books/v3/invoices",
        "https://www.zohoapis.com/crm/v8/Leads",
    ] {
        let run = f.api(&[url]).await;
        assert_eq!(run.code, 2, "{url}: {}", run.stderr);
        assert!(run.stderr.contains("not sent"), "{}", run.stderr);
    }
    assert!(f.seen().is_empty());
    // A full URL on the grant's own API domain is fine.
    let base = f.zoho.lock().unwrap().base.clone();
    let run = f.api(&[&format!("{base}/crm/v8/Leads?per_page=5")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(count(&run, "data"), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_refused_midway_leaves_partial_invalid_json_and_says_so() {
    let f = Fake::start().await;
    f.zoho.lock().unwrap().refuse_from_page = Some(2);
    let run = f.api(&["/books/v3/invoices", "--paginate"]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("{\"invoices\":[{\"id\":\"inv0\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\"inv199\""));
    assert!(
        serde_json::from_str::<Value>(&run.stdout).is_err(),
        "partial output must not parse"
    );
    assert!(
        run.stderr.contains("partial") && run.stderr.contains("200 records"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("code\":57") || run.stderr.contains("57"),
        "Zoho's answer on stderr: {}",
        run.stderr
    );
    assert_eq!(
        f.refreshes(),
        2,
        "one forced refresh for the run, not one per page"
    );
}

/// Page 1 is on stdout before page 2 is answered: the server holds page 2 until the test has read
/// page 1's last record from the child's stdout.
#[tokio::test(flavor = "multi_thread")]
async fn pages_stream_out_before_the_next_page_is_answered() {
    use tokio::io::AsyncReadExt;
    let f = Fake::start().await;
    let gate = Arc::new(tokio::sync::Notify::new());
    f.zoho.lock().unwrap().gate = Some(gate.clone());
    let mut cmd = f
        .world
        .command(&["api", "/books/v3/invoices", "--paginate"]);
    cmd.stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while !String::from_utf8_lossy(&got).contains("\"inv199\"") {
        let n = stdout.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "stdout closed before page 1 was written: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    assert!(!String::from_utf8_lossy(&got).contains("\"inv200\""));
    gate.notify_one();
    stdout.read_to_end(&mut got).await.unwrap();
    assert!(child.wait().await.unwrap().success());
    let doc: Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(doc["invoices"].as_array().unwrap().len(), 450);
}

/// Against the sandbox: the organizations endpoints of Books and Desk (Desk on the loopback API
/// domain, as the probe does), bytes as the sandbox sent them.
#[tokio::test(flavor = "multi_thread")]
async fn against_the_sandbox_bodies_pass_through_unchanged() {
    let w = World::start().await;
    let run = w
        .exchange(
            "ZohoBooks.fullaccess.all,Desk.basic.READ",
            &["--product", "books"],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let books = w.run(&["api", "/books/v3/organizations", "-v"]).await;
    assert_eq!(books.code, 0, "{}", books.stderr);
    assert!(
        books.stderr.contains("organization_id="),
        "{}",
        books.stderr
    );
    let direct = reqwest_like_get(&w, "/books/v3/organizations").await;
    assert_eq!(books.stdout, direct, "bytes as sent");
    let desk = w.run(&["api", "/api/v1/organizations"]).await;
    assert_eq!(desk.code, 0, "{}", desk.stderr);
    assert!(desk.json()["data"].is_array());
    let foreign = w
        .run(&["api", "https://www.zohoapis.com/books/v3/organizations"])
        .await;
    assert_eq!(foreign.code, 2);
}

/// The sandbox's answer fetched directly with curl and the cached token: the bytes `api` must print.
async fn reqwest_like_get(w: &World, path: &str) -> String {
    let token = w.run(&["token"]).await.stdout.trim().to_string();
    let org = w.env_get("ZOHO_ORGANIZATION_ID").unwrap();
    let out = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Zoho-oauthtoken {token}"),
            &format!("{}{path}?organization_id={org}", w.base()),
        ])
        .output()
        .await
        .expect("curl runs (apt-get install curl)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
