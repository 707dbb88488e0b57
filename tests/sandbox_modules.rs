//! The sandbox's module endpoints and the answers of facts §10: paging (Books family, CRM with
//! `page_token` past 2,000, Desk `from`/`limit`), creating records, the per-module scope check,
//! organizations (6041, 9017, missing id), unknown paths, wrong data centers and the switches of
//! `/_sandbox/config`. In-process sandbox on port 0; no internet.

use std::collections::HashSet;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use zoho_auth::sandbox::{Module, Org, Product, Sandbox, SandboxConfig};

const BOOKS_ORG: &str = "10234695";
const INVOICE_ORG: &str = "10234697";
const INVENTORY_ORG: &str = "10234698";
const DESK_ORG: &str = "60001234567";
const CODE_57: &str = r#"{"code":57,"message":"You are not authorized to perform this operation"}"#;
const BOOKS_404: &str = r#"{"code":5,"message":"We couldnt find any resource for the given ID. Please check the ID and try again"}"#;
const NO_ORG: &str =
    r#"{"code":9017,"message":"This user is not associated with any organization."}"#;
const CRM_INVALID_TOKEN: &str =
    r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#;
const CRM_AUTH_FAILURE: &str = r#"{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"}"#;
const CRM_SCOPE: &str = r#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#;
const DESK_SCOPE: &str = r#"{"errorCode":"SCOPE_MISMATCH","message":"The OAuth scope of the token does not permit this operation."}"#;
const DESK_FORBIDDEN: &str =
    r#"{"errorCode":"FORBIDDEN","message":"You are not authorized to access this resource."}"#;

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

async fn read(resp: reqwest::Response) -> Resp {
    Resp {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

async fn call(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut req = http().request(method, url);
    if let Some(token) = token {
        req = req.header("Authorization", format!("Zoho-oauthtoken {token}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    read(req.send().await.expect("sent")).await
}

async fn get(url: &str, token: &str) -> Resp {
    call(reqwest::Method::GET, url, Some(token), &[], None).await
}

async fn post(url: &str, token: &str, body: Value) -> Resp {
    call(reqwest::Method::POST, url, Some(token), &[], Some(body)).await
}

async fn control(sb: &Sandbox, path: &str, body: Value) -> Value {
    let r = read(
        http()
            .post(format!("{}{path}", sb.base_url()))
            .body(body.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.json()
}

/// An access token (and refresh token) for `scope`, minted in data center `dc`.
async fn tokens_in(sb: &Sandbox, dc: &str, scope: &str) -> (String, String) {
    let minted = sb.control().mint_code_in(dc, scope, 3).expect("a scope");
    let base = if dc == "us" {
        sb.base_url()
    } else {
        format!("{}/_dc/{dc}", sb.base_url())
    };
    let r = read(
        http()
            .post(format!("{base}/oauth/v2/token"))
            .form(&[
                ("client_id", minted.client_id.as_str()),
                ("client_secret", &minted.client_secret),
                ("grant_type", "authorization_code"),
                ("code", &minted.code),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let v = r.json();
    (
        v["access_token"]
            .as_str()
            .expect("access token")
            .to_string(),
        v["refresh_token"].as_str().unwrap_or_default().to_string(),
    )
}

async fn token(sb: &Sandbox, scope: &str) -> String {
    tokens_in(sb, "us", scope).await.0
}

async fn start() -> Sandbox {
    Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts")
}

// ----- Books family -----

#[tokio::test]
async fn books_invoices_page_by_page_with_page_context() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(&sb, "ZohoBooks.invoices.READ").await;
    let mut seen = HashSet::new();
    let mut pages = Vec::new();
    for page in 1..=4 {
        let r = get(
            &format!("{b}/books/v3/invoices?organization_id={BOOKS_ORG}&page={page}&per_page=200"),
            &t,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .starts_with(r#"{"code":0,"message":"success","invoices":["#),
            "Zoho's key order: {}",
            &r.body[..60]
        );
        let v = r.json();
        let list = v["invoices"].as_array().unwrap();
        for invoice in list {
            assert!(seen.insert(invoice["invoice_id"].as_str().unwrap().to_string()));
        }
        let context = &v["page_context"];
        assert_eq!(
            (context["page"].clone(), context["per_page"].clone()),
            (json!(page), json!(200))
        );
        pages.push((list.len(), context["has_more_page"].as_bool().unwrap()));
    }
    assert_eq!(
        pages,
        vec![(200, true), (200, true), (50, false), (0, false)]
    );
    assert_eq!(seen.len(), 450);
    // per_page is capped at 200; the records are the same on every call.
    let r = get(
        &format!("{b}/books/v3/invoices?organization_id={BOOKS_ORG}&per_page=500"),
        &t,
    )
    .await;
    let v = r.json();
    assert_eq!(v["invoices"].as_array().unwrap().len(), 200);
    assert_eq!(v["page_context"]["per_page"], json!(200));
    let again = get(
        &format!("{b}/books/v3/invoices?organization_id={BOOKS_ORG}&per_page=500"),
        &t,
    )
    .await;
    assert_eq!(again.body, r.body);
    // Books sends its rate-limit headers (facts §10).
    assert_eq!(r.header("x-rate-limit-limit"), "100");
    assert!(r.header("x-rate-limit-remaining").parse::<u32>().unwrap() < 100);
    assert!(r.header("x-rate-limit-reset").parse::<u32>().is_ok());
    assert_eq!(r.header("content-type"), "application/json;charset=UTF-8");
    let r = get(
        &format!("{b}/books/v3/invoices?organization_id={BOOKS_ORG}&page=0"),
        &t,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    sb.stop().await;
}

#[tokio::test]
async fn invoice_contacts_and_inventory_items_page_too() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(
        &sb,
        "ZohoInvoice.fullaccess.all,ZohoInventory.FullAccess.all",
    )
    .await;
    for (url, key, total) in [
        (
            format!("{b}/invoice/v3/contacts?organization_id={INVOICE_ORG}"),
            "contacts",
            260,
        ),
        (
            format!("{b}/invoice/v3/invoices?organization_id={INVOICE_ORG}"),
            "invoices",
            450,
        ),
        (
            format!("{b}/inventory/v1/items?organization_id={INVENTORY_ORG}"),
            "items",
            300,
        ),
    ] {
        let mut count = 0;
        let mut page = 1;
        loop {
            let v = get(&format!("{url}&page={page}&per_page=100"), &t)
                .await
                .json();
            count += v[key]
                .as_array()
                .unwrap_or_else(|| panic!("{key}: {v}"))
                .len();
            if !v["page_context"]["has_more_page"].as_bool().unwrap() {
                break;
            }
            page += 1;
        }
        assert_eq!(count, total, "{url}");
    }
    // The Invoice organization may also come as Zoho's header.
    let r = call(
        reqwest::Method::GET,
        &format!("{b}/invoice/v3/contacts?per_page=1"),
        Some(&t),
        &[("X-com-zoho-invoice-organizationid", INVOICE_ORG)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sb.stop().await;
}

#[tokio::test]
async fn books_creates_a_record_and_finds_it_by_id() {
    let sb = start().await;
    let b = sb.base_url();
    let read_only = token(&sb, "ZohoBooks.invoices.READ").await;
    let create = token(&sb, "ZohoBooks.invoices.CREATE,ZohoBooks.invoices.READ").await;
    let url = format!("{b}/books/v3/invoices?organization_id={BOOKS_ORG}");
    let body =
        json!({"customer_id": "46000010000001", "line_items": [{"rate": 10, "quantity": 2}]});
    let r = post(&url, &read_only, body.clone()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CODE_57)
    );
    let r = post(&url, &create, json!({"line_items": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["message"],
        json!("Invalid value passed for customer_id")
    );
    let r = post(&url, &create, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        r.body
            .starts_with(r#"{"code":0,"message":"The invoice has been created.","invoice":{"#)
    );
    let id = r.json()["invoice"]["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = get(
        &format!("{b}/books/v3/invoices/{id}?organization_id={BOOKS_ORG}"),
        &create,
    )
    .await
    .json();
    assert_eq!(v["invoice"]["customer_id"], json!("46000010000001"));
    // It is listed last: 451 invoices now.
    let v = get(&format!("{url}&page=3&per_page=200"), &create)
        .await
        .json();
    assert_eq!(v["invoices"].as_array().unwrap().len(), 51);
    assert_eq!(v["invoices"][50]["invoice_id"], json!(id));
    // Contacts take Books' JSONString form field too.
    let t = token(&sb, "ZohoBooks.fullaccess.all").await;
    let r = read(
        http()
            .post(format!("{b}/books/v3/contacts?organization_id={BOOKS_ORG}"))
            .header("Authorization", format!("Zoho-oauthtoken {t}"))
            .form(&[("JSONString", r#"{"contact_name":"Offline Ltd"}"#)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["message"], json!("The contact has been added."));
    sb.stop().await;
}

#[tokio::test]
async fn books_scope_is_checked_per_module() {
    let sb = start().await;
    let b = sb.base_url();
    let invoices_only = token(&sb, "ZohoBooks.invoices.READ").await;
    let r = get(
        &format!("{b}/books/v3/contacts?organization_id={BOOKS_ORG}"),
        &invoices_only,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CODE_57)
    );
    let all = token(&sb, "ZohoBooks.contacts.ALL").await;
    let r = get(
        &format!("{b}/books/v3/contacts?organization_id={BOOKS_ORG}"),
        &all,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(
        reqwest::Method::GET,
        &format!("{b}/books/v3/contacts"),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["code"], json!(14));
    sb.stop().await;
}

#[tokio::test]
async fn books_organizations_answer_6041_9017_and_a_missing_id() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(
        &sb,
        "ZohoBooks.fullaccess.all,ZohoInvoice.fullaccess.all,ZohoInventory.FullAccess.all",
    )
    .await;
    let r = get(&format!("{b}/books/v3/invoices?organization_id=999"), &t).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"code":6041,"message":"This user is not associated with the CompanyID/CompanyName:999."}"#
        )
    );
    let r = get(&format!("{b}/inventory/v1/items?organization_id=998"), &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], json!(6041));
    // Invoice documents a 403 for "not an user of the respective organization".
    let r = get(&format!("{b}/invoice/v3/invoices?organization_id=997"), &t).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // organization_id is required (Zoho's body is not recorded: 6042 is the sandbox's choice).
    let r = get(&format!("{b}/books/v3/invoices"), &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], json!(6042));
    // A user with no organization at all: 9017, on the modules and the organizations endpoint.
    control(
        &sb,
        "/_sandbox/orgs",
        json!({"product": "books", "no_organization": true}),
    )
    .await;
    let r = get(
        &format!("{b}/books/v3/invoices?organization_id={BOOKS_ORG}"),
        &t,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, NO_ORG)
    );
    let r = get(&format!("{b}/books/v3/organizations"), &t).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, NO_ORG)
    );
    control(
        &sb,
        "/_sandbox/orgs",
        json!({"product": "books", "no_organization": false}),
    )
    .await;
    let r = get(&format!("{b}/books/v3/organizations"), &t).await;
    assert_eq!(r.status, StatusCode::OK);
    // In process too: Invoice with no organization at all.
    sb.control().set_no_organization(Product::Invoice, true);
    let r = get(&format!("{b}/invoice/v3/organizations"), &t).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, NO_ORG)
    );
    // An empty organization list answers 9017 on the module endpoints as well.
    sb.control().set_orgs(Product::Inventory, vec![]);
    let r = get(
        &format!("{b}/inventory/v1/items?organization_id={INVENTORY_ORG}"),
        &t,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, NO_ORG)
    );
    sb.stop().await;
}

#[tokio::test]
async fn unknown_books_and_expense_paths_answer_code_5() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(&sb, "ZohoBooks.fullaccess.all,ZohoExpense.fullaccess.ALL").await;
    for path in [
        "/books/v3/invoicez",
        "/books/v3/invoices/46000000009999999",
        "/books/v3/invoices/1/2",
    ] {
        let r = get(&format!("{b}{path}?organization_id={BOOKS_ORG}"), &t).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::NOT_FOUND, BOOKS_404),
            "{path}"
        );
    }
    let r = get(&format!("{b}/expense/v1/reports_typo"), &t).await;
    assert_eq!(r.body, r#"{"code": 5, "message": "Invalid URL Passed"}"#);
    // A token problem still comes first.
    let r = get(&format!("{b}/books/v3/invoicez"), "1000.garbage").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CODE_57)
    );
    sb.stop().await;
}

#[tokio::test]
async fn a_lone_organization_can_say_is_default_org_false() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(&sb, "ZohoBooks.fullaccess.all").await;
    sb.control()
        .set_orgs(Product::Books, vec![Org::new("42", "Only Org")]);
    let v = get(&format!("{b}/books/v3/organizations"), &t).await.json();
    assert_eq!(v["organizations"][0]["is_default_org"], json!(true));
    let c = control(
        &sb,
        "/_sandbox/config",
        json!({"lone_org_is_default": false}),
    )
    .await;
    assert_eq!(c["lone_org_is_default"], json!(false));
    let v = get(&format!("{b}/books/v3/organizations"), &t).await.json();
    assert_eq!(v["organizations"][0]["is_default_org"], json!(false));
    sb.stop().await;
}

// ----- CRM -----

fn leads(b: &str, query: &str) -> String {
    format!("{b}/crm/v8/Leads?fields=Last_Name,Email&{query}")
}

#[tokio::test]
async fn crm_pages_by_page_to_2000_then_needs_page_token() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(&sb, "ZohoCRM.modules.leads.READ").await;
    let mut seen = HashSet::new();
    let mut next = None;
    for page in 1..=10 {
        let r = get(&leads(&b, &format!("page={page}&per_page=200")), &t).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("content-type"), "application/json;charset=utf-8");
        let v = r.json();
        let info = &v["info"];
        assert_eq!(
            (
                info["page"].clone(),
                info["per_page"].clone(),
                info["count"].clone(),
                info["more_records"].clone()
            ),
            (json!(page), json!(200), json!(200), json!(true))
        );
        for record in v["data"].as_array().unwrap() {
            // Only the asked-for fields and the id.
            let keys: HashSet<&str> = record
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, HashSet::from(["id", "Last_Name", "Email"]));
            assert!(seen.insert(record["id"].as_str().unwrap().to_string()));
        }
        next = info["next_page_token"].as_str().map(str::to_string);
    }
    // Page 11 by number: Zoho's refusal.
    let r = get(&leads(&b, "page=11&per_page=200"), &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["code"],
        json!("DISCRETE_PAGINATION_LIMIT_EXCEEDED")
    );
    assert_eq!(
        r.json()["message"],
        json!("You can only get the first 2000 records without using page_token param.")
    );
    // Past 2,000 with page_token, to the end.
    let mut pages_by_token = 0;
    while let Some(token) = next.take() {
        let r = get(
            &format!("{b}/crm/v8/Leads?fields=Last_Name&page_token={token}"),
            &t,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        for record in v["data"].as_array().unwrap() {
            assert!(seen.insert(record["id"].as_str().unwrap().to_string()));
        }
        pages_by_token += 1;
        next = v["info"]["next_page_token"].as_str().map(str::to_string);
        if next.is_none() {
            assert_eq!(v["info"]["more_records"], json!(false));
            assert_eq!(v["info"]["count"], json!(100));
        }
    }
    assert_eq!(pages_by_token, 3);
    assert_eq!(seen.len(), 2500);
    sb.stop().await;
}

#[tokio::test]
async fn crm_paging_errors_and_204_when_empty() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(&sb, "ZohoCRM.modules.ALL").await;
    let r = get(&format!("{b}/crm/v8/Leads"), &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], json!("REQUIRED_PARAM_MISSING"));
    let first = get(&leads(&b, "per_page=5"), &t).await.json();
    let token = first["info"]["next_page_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = get(&leads(&b, &format!("page=2&page_token={token}")), &t).await;
    assert_eq!(r.json()["code"], json!("AMBIGUITY_DURING_PROCESSING"));
    let r = get(&leads(&b, "page_token=sbx00"), &t).await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_DATA"))
    );
    // A token of Leads does not page Contacts.
    let r = get(&format!("{b}/crm/v8/Contacts?page_token={token}"), &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // No records: HTTP 204 with an empty body.
    let counts = control(
        &sb,
        "/_sandbox/records",
        json!({"module": "crm.contacts", "count": 0}),
    )
    .await;
    assert_eq!(counts["crm.contacts"], json!({"seeded": 0, "created": 0}));
    let r = get(&format!("{b}/crm/v8/Contacts?fields=Last_Name"), &t).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, "");
    // Past the end by page number: 204 as well.
    let r = get(&leads(&b, "page=3&per_page=200"), &t).await;
    assert_eq!(r.status, StatusCode::OK);
    control(
        &sb,
        "/_sandbox/records",
        json!({"module": "crm.leads", "count": 300}),
    )
    .await;
    let r = get(&leads(&b, "page=3&per_page=200"), &t).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::NO_CONTENT, ""));
    sb.stop().await;
}

#[tokio::test]
async fn crm_creates_records_and_checks_scope_per_module() {
    let sb = start().await;
    let b = sb.base_url();
    let contacts_only = token(&sb, "ZohoCRM.modules.contacts.READ").await;
    let r = get(&leads(&b, ""), &contacts_only).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CRM_SCOPE)
    );
    let r = get(
        &format!("{b}/crm/v8/Contacts?fields=Last_Name"),
        &contacts_only,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = post(
        &format!("{b}/crm/v8/Contacts"),
        &contacts_only,
        json!({"data": [{"Last_Name": "Read Only"}]}),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CRM_SCOPE)
    );
    let writer = token(
        &sb,
        "ZohoCRM.modules.leads.WRITE,ZohoCRM.modules.leads.READ",
    )
    .await;
    let r = post(
        &format!("{b}/crm/v8/Leads"),
        &writer,
        json!({"data": [{"Last_Name": "Offline", "Company": "Sandbox Inc"}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let answer = &r.json()["data"][0];
    assert_eq!(
        (answer["code"].clone(), answer["status"].clone()),
        (json!("SUCCESS"), json!("success"))
    );
    let id = answer["details"]["id"].as_str().unwrap().to_string();
    let v = get(&format!("{b}/crm/v8/Leads/{id}"), &writer).await.json();
    assert_eq!(v["data"][0]["Company"], json!("Sandbox Inc"));
    let r = post(
        &format!("{b}/crm/v8/Leads"),
        &writer,
        json!({"data": [{"Company": "x"}]}),
    )
    .await;
    assert_eq!(r.json()["data"][0]["code"], json!("MANDATORY_NOT_FOUND"));
    sb.stop().await;
}

#[tokio::test]
async fn crm_bad_tokens_wrong_dc_and_malformed_paths() {
    let sb = start().await;
    let b = sb.base_url();
    let r = get(&leads(&b, ""), "1000.garbage").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CRM_INVALID_TOKEN)
    );
    // A live EU token at the US host: byte for byte the dead-token answer (facts §10).
    let (eu, _) = tokens_in(&sb, "eu", "ZohoCRM.modules.ALL,ZohoCRM.org.READ").await;
    let r = get(&leads(&b, ""), &eu).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, CRM_INVALID_TOKEN)
    );
    let r = get(
        &format!("{b}/_dc/eu/crm/v8/Leads?fields=Email&per_page=1"),
        &eu,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The switch: AUTHENTICATION_FAILURE (with "status":"error") for a dead token; a token of
    // another DC still gets INVALID_TOKEN.
    let c = control(
        &sb,
        "/_sandbox/config",
        json!({"crm_invalid_token_authentication_failure": true}),
    )
    .await;
    assert_eq!(c["crm_invalid_token_authentication_failure"], json!(true));
    for url in [leads(&b, ""), format!("{b}/crm/v8/org")] {
        let r = get(&url, "1000.garbage").await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::UNAUTHORIZED, CRM_AUTH_FAILURE),
            "{url}"
        );
        let r = get(&url, &eu).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::UNAUTHORIZED, CRM_INVALID_TOKEN),
            "{url}"
        );
    }
    // A path without the /crm/{version} prefix: 302 to IAMSecurityError.do, empty text/html.
    let t = token(&sb, "ZohoCRM.modules.ALL").await;
    for path in ["/crm/Leads", "/crm/v9/Leads", "/crm/"] {
        let r = get(&format!("{b}{path}"), &t).await;
        assert_eq!(r.status, StatusCode::FOUND, "{path}");
        assert_eq!(
            r.header("location"),
            format!("{b}/crm/IAMSecurityError.do?isload=true")
        );
        assert_eq!(r.header("content-type"), "text/html;charset=UTF-8");
        assert_eq!(r.body, "");
    }
    let r = get(&format!("{b}/_dc/eu/crm/Leads"), &eu).await;
    assert_eq!(
        r.header("location"),
        format!("{b}/_dc/eu/crm/IAMSecurityError.do?isload=true")
    );
    let r = get(&format!("{b}/crm/v8/Dealz?fields=x"), &t).await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_MODULE"))
    );
    sb.stop().await;
}

// ----- Desk -----

async fn tickets(b: &str, token: &str, query: &str) -> Resp {
    call(
        reqwest::Method::GET,
        &format!("{b}/api/v1/tickets?{query}"),
        Some(token),
        &[("orgId", DESK_ORG)],
        None,
    )
    .await
}

#[tokio::test]
async fn desk_tickets_page_with_from_and_limit() {
    let sb = start().await;
    let b = sb.base_url();
    let t = token(&sb, "Desk.tickets.READ").await;
    let mut seen = HashSet::new();
    let mut sizes = Vec::new();
    for from in [1, 101, 201, 301] {
        let r = tickets(&b, &t, &format!("from={from}&limit=100")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        let data = v["data"].as_array().unwrap();
        sizes.push(data.len());
        for ticket in data {
            assert!(seen.insert(ticket["id"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(sizes, vec![100, 100, 50, 0]);
    assert_eq!(seen.len(), 250);
    assert_eq!(
        tickets(&b, &t, "from=301&limit=100").await.body,
        r#"{"data":[]}"#
    );
    let r = tickets(&b, &t, "limit=101").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = tickets(&b, &t, "from=0").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // orgId is required and must be the user's.
    let r = get(&format!("{b}/api/v1/tickets"), &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = call(
        reqwest::Method::GET,
        &format!("{b}/api/v1/tickets"),
        Some(&t),
        &[("orgId", "1")],
        None,
    )
    .await;
    assert_eq!(r.json()["errorCode"], json!("OAUTH_ORG_MISMATCH"));
    sb.stop().await;
}

#[tokio::test]
async fn desk_creates_tickets_checks_scope_and_can_forbid() {
    let sb = start().await;
    let b = sb.base_url();
    let reader = token(&sb, "Desk.tickets.READ,Desk.basic.READ").await;
    let r = get(
        &format!("{b}/api/v1/tickets"),
        &token(&sb, "Desk.basic.READ").await,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, DESK_SCOPE)
    );
    let writer = token(&sb, "Desk.tickets.ALL").await;
    let create = |token: String, body: Value| {
        let b = b.clone();
        async move {
            call(
                reqwest::Method::POST,
                &format!("{b}/api/v1/tickets"),
                Some(&token),
                &[("orgId", DESK_ORG)],
                Some(body),
            )
            .await
        }
    };
    let r = create(reader.clone(), json!({"subject": "x"})).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, DESK_SCOPE)
    );
    let r = create(writer.clone(), json!({"subject": "Printer on fire"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let v = tickets(&b, &reader, "from=251&limit=10").await.json();
    assert_eq!(v["data"][0]["id"], json!(id));
    assert_eq!(v["data"][0]["subject"], json!("Printer on fire"));
    let r = create(writer, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A department permission missing: 403 FORBIDDEN, on the tickets and the organizations.
    control(&sb, "/_sandbox/config", json!({"desk_forbidden": true})).await;
    let r = tickets(&b, &reader, "").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::FORBIDDEN, DESK_FORBIDDEN)
    );
    let r = get(&format!("{b}/api/v1/organizations"), &reader).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::FORBIDDEN, DESK_FORBIDDEN)
    );
    sb.stop().await;
}

#[tokio::test]
async fn desk_on_the_wrong_dc_answers_401_html_or_empty() {
    let sb = start().await;
    let b = sb.base_url();
    let (eu, _) = tokens_in(&sb, "eu", "Desk.tickets.READ,Desk.basic.READ").await;
    for url in [
        format!("{b}/api/v1/tickets"),
        format!("{b}/api/v1/organizations"),
    ] {
        let r = get(&url, &eu).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{url}");
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(
            r.body.contains("<title>Zoho Desk - Error</title>"),
            "{}",
            r.body
        );
    }
    control(
        &sb,
        "/_sandbox/config",
        json!({"desk_wrong_dc_empty_body": true}),
    )
    .await;
    let r = get(&format!("{b}/api/v1/organizations"), &eu).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::UNAUTHORIZED, ""));
    sb.stop().await;
}

// ----- accounts answers and controls -----

#[tokio::test]
async fn token_answers_can_omit_scope_and_refresh_never_rotates() {
    let sb = start().await;
    let b = sb.base_url();
    let c = control(&sb, "/_sandbox/config", json!({"token_scope": false})).await;
    assert_eq!(c["token_scope"], json!(false));
    let minted = sb
        .control()
        .mint_code("ZohoBooks.fullaccess.all", 3)
        .unwrap();
    let r = read(
        http()
            .post(format!("{b}/oauth/v2/token"))
            .form(&[
                ("client_id", minted.client_id.as_str()),
                ("client_secret", &minted.client_secret),
                ("grant_type", "authorization_code"),
                ("code", &minted.code),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("server"), "ZGS");
    assert_eq!(r.header("content-language"), "en-US");
    let v = r.json();
    assert!(v.get("scope").is_none(), "{v}");
    let refresh_token = v["refresh_token"].as_str().unwrap();
    let v = read(
        http()
            .post(format!("{b}/oauth/v2/token"))
            .form(&[
                ("client_id", minted.client_id.as_str()),
                ("client_secret", &minted.client_secret),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    assert!(v["access_token"].is_string());
    assert!(
        v.get("scope").is_none() && v.get("refresh_token").is_none(),
        "{v}"
    );
    sb.stop().await;
}

#[tokio::test]
async fn the_records_control_lists_and_seeds_counts() {
    let sb = start().await;
    let b = sb.base_url();
    let v = read(
        http()
            .get(format!("{b}/_sandbox/records"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    for module in Module::ALL {
        assert_eq!(
            v[module.key()]["seeded"],
            json!(module.default_count()),
            "{}",
            module.key()
        );
    }
    assert_eq!(v["crm.leads"]["seeded"], json!(2500));
    let t = token(&sb, "ZohoBooks.fullaccess.all").await;
    control(
        &sb,
        "/_sandbox/records",
        json!({"module": "books.contacts", "count": 3}),
    )
    .await;
    let v = get(
        &format!("{b}/books/v3/contacts?organization_id={BOOKS_ORG}"),
        &t,
    )
    .await
    .json();
    assert_eq!(v["contacts"].as_array().unwrap().len(), 3);
    assert_eq!(v["page_context"]["has_more_page"], json!(false));
    sb.control().set_record_count(Module::DeskTickets, 0);
    let v = read(
        http()
            .get(format!("{b}/_sandbox/records"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(v["desk.tickets"]["seeded"], json!(0));
    for bad in [
        json!({"module": "crm.deals", "count": 1}),
        json!({"module": "crm.leads", "count": 10_000_000}),
        json!({"module": "crm.leads"}),
    ] {
        let r = read(
            http()
                .post(format!("{b}/_sandbox/records"))
                .body(bad.to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.json()["error"].is_string());
    }
    sb.stop().await;
}
