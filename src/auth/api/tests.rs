//! The Zoho knowledge of `api`, without a network: bases, hosts, org-id placement, the 401 rule,
//! the diagnoses, and the paging engine over an in-memory Zoho.

use std::sync::{Arc, Mutex};

use super::*;

fn u(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn zoho_hosts() -> Hosts {
    Hosts::new(&u("https://www.zohoapis.eu"), None, None)
}

#[test]
fn bases_name_their_product() {
    let cases = [
        ("/books/v3/invoices", Some(Product::Books)),
        ("/invoice/v3/contacts?page=2", Some(Product::Invoice)),
        ("/inventory/v1/items", Some(Product::Inventory)),
        ("/expense/v1/expenses", Some(Product::Expense)),
        ("/crm/v8/Leads", Some(Product::Crm)),
        ("/crm/v2.1/Leads", Some(Product::Crm)),
        ("/api/v1/tickets", Some(Product::Desk)),
        ("/crm/Leads", None),
        ("/books/invoices", None),
        ("/api/v2/tickets", None),
        ("books/v3/invoices", None),
        ("/", None),
    ];
    for (path, want) in cases {
        assert_eq!(product_of_path(path), want, "{path}");
    }
}

#[test]
fn desk_goes_to_the_dc_desk_host_and_the_rest_to_the_api_domain() {
    let hosts = zoho_hosts();
    assert_eq!(hosts.desk.as_str(), "https://desk.zoho.eu/");
    let desk = resolve("/api/v1/tickets?x=1", &hosts).unwrap();
    assert_eq!(desk.url.as_str(), "https://desk.zoho.eu/api/v1/tickets?x=1");
    let books = resolve("books/v3/invoices", &hosts).unwrap();
    assert_eq!(
        books.url.as_str(),
        "https://www.zohoapis.eu/books/v3/invoices"
    );
    // The sandbox (loopback) and an --api-domain override serve Desk themselves, as the probe does.
    let sandbox = Hosts::new(&u("http://127.0.0.1:4000/_dc/eu"), None, Some(Dc::Eu));
    assert_eq!(sandbox.desk, sandbox.api);
    let r = resolve("/api/v1/tickets", &sandbox).unwrap();
    assert_eq!(
        r.url.as_str(),
        "http://127.0.0.1:4000/_dc/eu/api/v1/tickets"
    );
    let over = Hosts::new(
        &u("https://www.zohoapis.eu"),
        Some(&u("http://127.0.0.1:9")),
        None,
    );
    assert_eq!(over.desk.as_str(), "http://127.0.0.1:9/");
}

#[test]
fn unknown_bases_and_foreign_urls_are_usage_errors() {
    let hosts = zoho_hosts();
    let err = resolve("/crm/Leads", &hosts).unwrap_err();
    assert_eq!(err.exit, 2);
    assert!(
        err.fix.contains("/books/v3/") && err.fix.contains("/api/v1/"),
        "{}",
        err.fix
    );
    for foreign in [
        "https://evil.example/books/v3/invoices",
        "https://www.zohoapis.com/books/v3/invoices",
        "http://www.zohoapis.eu/books/v3/invoices",
        "https://user@www.zohoapis.eu/books/v3/invoices",
        "https://www.zohoapis.eu.evil.example/books/v3/invoices",
        "https://desk.zoho.eu/books/v3/invoices",
    ] {
        let err = resolve(foreign, &hosts).unwrap_err();
        assert_eq!(err.exit, 2, "{foreign}");
        assert!(err.message.contains("not sent"), "{}", err.message);
    }
    let ok = resolve("https://www.zohoapis.eu/crm/v8/Leads?page=2", &hosts).unwrap();
    assert_eq!(ok.product, Some(Product::Crm));
    let ok = resolve("https://desk.zoho.eu/api/v1/tickets", &hosts).unwrap();
    assert_eq!(ok.product, Some(Product::Desk));
    // A sandbox DC prefix: the path below it decides the product.
    let sandbox = Hosts::new(&u("http://127.0.0.1:4000/_dc/eu"), None, None);
    let ok = resolve("http://127.0.0.1:4000/_dc/eu/books/v3/items", &sandbox).unwrap();
    assert_eq!(ok.product, Some(Product::Books));
}

fn inputs(method: Option<&str>, fields: &[&str], org: Option<&str>) -> Inputs {
    Inputs {
        method: method.map(str::to_string),
        fields: fields.iter().map(|f| Field::parse(f).unwrap()).collect(),
        input: None,
        headers: Vec::new(),
        organization_id: org.map(str::to_string),
    }
}

#[test]
fn organization_id_is_added_for_the_books_family_unless_given() {
    let hosts = zoho_hosts();
    let r = resolve("/books/v3/invoices", &hosts).unwrap();
    let req = build(&r, &inputs(None, &["status=paid"], Some("111"))).unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.url.query(), Some("status=paid&organization_id=111"));
    assert!(req.body.is_none());
    // Given in PATH, in -f, or as the product's header: not added, not overridden.
    let r2 = resolve("/books/v3/invoices?organization_id=222", &hosts).unwrap();
    let req = build(&r2, &inputs(None, &[], Some("111"))).unwrap();
    assert_eq!(req.url.query(), Some("organization_id=222"));
    assert_eq!(req.organization_id.as_deref(), Some("222"));
    let req = build(
        &r,
        &inputs(
            Some("POST"),
            &["organization_id=333", "name=x"],
            Some("111"),
        ),
    )
    .unwrap();
    assert_eq!(req.url.query(), Some("organization_id=333"));
    assert_eq!(req.body.as_ref().unwrap().0, br#"{"name":"x"}"#.to_vec());
    let mut with_header = inputs(None, &[], Some("111"));
    with_header.headers = vec![("X-com-zoho-invoice-organizationid".into(), "444".into())];
    let inv = resolve("/invoice/v3/invoices", &hosts).unwrap();
    assert_eq!(build(&inv, &with_header).unwrap().url.query(), None);
    // CRM takes no organization id.
    let crm = resolve("/crm/v8/Leads", &hosts).unwrap();
    let req = build(&crm, &inputs(None, &[], Some("111"))).unwrap();
    assert_eq!(req.url.query(), None);
    assert!(req.headers.is_empty());
}

#[test]
fn desk_gets_the_org_id_header_unless_given() {
    let hosts = zoho_hosts();
    let r = resolve("/api/v1/tickets", &hosts).unwrap();
    let req = build(&r, &inputs(None, &[], Some("6000"))).unwrap();
    assert_eq!(req.headers, vec![("orgId".to_string(), "6000".to_string())]);
    assert_eq!(req.url.query(), None);
    let mut given = inputs(None, &[], Some("6000"));
    given.headers = vec![("orgid".into(), "7000".into())];
    let req = build(&r, &given).unwrap();
    assert_eq!(req.headers, vec![("orgid".to_string(), "7000".to_string())]);
    assert_eq!(req.organization_id.as_deref(), Some("7000"));
}

#[test]
fn fields_are_query_for_get_and_delete_and_a_json_body_otherwise() {
    let hosts = zoho_hosts();
    let r = resolve("/crm/v8/Leads", &hosts).unwrap();
    let req = build(&r, &inputs(Some("delete"), &["ids=1,2"], None)).unwrap();
    assert_eq!(req.method, "DELETE");
    assert_eq!(req.url.query(), Some("ids=1%2C2"));
    let req = build(
        &r,
        &inputs(
            Some("POST"),
            &["Last_Name=Doe", "score:=42", "tags:=[\"a\"]"],
            None,
        ),
    )
    .unwrap();
    let (body, kind) = req.body.unwrap();
    assert_eq!(kind, "application/json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"Last_Name":"Doe","score":42,"tags":["a"]})
    );
    // --input is the body: POST by default, fields then go to the query.
    let mut with_input = inputs(None, &["trigger=workflow"], None);
    with_input.input = Some(br#"{"data":[]}"#.to_vec());
    let req = build(&r, &with_input).unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.url.query(), Some("trigger=workflow"));
    assert_eq!(req.body.unwrap().1, "application/json");
    with_input.input = Some(b"not json".to_vec());
    assert_eq!(
        build(&r, &with_input).unwrap().body.unwrap().1,
        "application/octet-stream"
    );
}

#[test]
fn bad_fields_and_headers_are_usage_errors() {
    for bad in ["novalue", "=x", ":=1", "n:={oops"] {
        assert_eq!(Field::parse(bad).unwrap_err().exit, 2, "{bad}");
    }
    for bad in [
        "NoColon",
        ": x",
        "Authorization: Zoho-oauthtoken x",
        "X-A: a\r\nb",
    ] {
        assert_eq!(parse_header(bad).unwrap_err().exit, 2, "{bad}");
    }
    assert_eq!(
        parse_header("Accept:  application/json").unwrap(),
        ("Accept".into(), "application/json".into())
    );
}

#[test]
fn which_401s_earn_a_refresh() {
    let books = Some(Product::Books);
    let crm = Some(Product::Crm);
    let desk = Some(Product::Desk);
    let yes: [(Option<Product>, &str); 6] = [
        (
            crm,
            r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#,
        ),
        (
            crm,
            r#"{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"}"#,
        ),
        (
            desk,
            r#"{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}"#,
        ),
        (
            books,
            r#"{"code":57,"message":"You are not authorized to perform this operation"}"#,
        ),
        (
            books,
            r#"{"code":14,"message":"The request could not be authenticated"}"#,
        ),
        (books, ""),
    ];
    for (product, body) in yes {
        assert!(
            invalid_token_401(product, 401, body.as_bytes(), &[]),
            "{body}"
        );
    }
    let scope = r#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#;
    assert!(!invalid_token_401(crm, 401, scope.as_bytes(), &[]));
    assert!(!invalid_token_401(
        desk,
        401,
        b"<html><title>Zoho Desk - Error</title></html>",
        &[]
    ));
    assert!(!invalid_token_401(
        crm,
        403,
        b"{\"code\":\"INVALID_TOKEN\"}",
        &[]
    ));
    // Code 57 with scopes that grant nothing of Books: the scope, not the token; no refresh.
    let crm_only = vec!["ZohoCRM.modules.ALL".to_string()];
    assert!(!invalid_token_401(
        books,
        401,
        br#"{"code":57,"message":"x"}"#,
        &crm_only
    ));
}

fn request(path: &str, method: &str, org: Option<&str>) -> Request {
    let r = resolve(path, &zoho_hosts()).unwrap();
    build(&r, &inputs(Some(method), &[], org)).unwrap()
}

#[test]
fn diagnoses_name_the_org_the_scope_and_the_class() {
    let req = request("/books/v3/invoices", "GET", Some("999"));
    let ask = Ask {
        request: &req,
        scopes: &[],
        refreshed: false,
    };
    let r = diagnose(&ask, 400, None, br#"{"code":6041,"message":"This user is not associated with the CompanyID/CompanyName:999."}"#).unwrap();
    assert_eq!(r.exit, 4);
    assert!(
        r.message.contains("999") && r.message.contains("6041"),
        "{}",
        r.message
    );
    assert!(
        r.fix.contains(crate::auth::keys::ORGANIZATION_ID),
        "{}",
        r.fix
    );

    let crm = request("/crm/v8/Leads", "POST", None);
    let ask = Ask {
        request: &crm,
        scopes: &[],
        refreshed: false,
    };
    let r = diagnose(&ask, 401, None, br#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#).unwrap();
    assert_eq!(r.exit, 4);
    assert!(
        r.message.contains("ZohoCRM.modules.leads.CREATE"),
        "{}",
        r.message
    );
    assert!(r.fix.contains("ZohoCRM.modules.leads.CREATE"), "{}", r.fix);

    let ask = Ask {
        request: &req,
        scopes: &[],
        refreshed: true,
    };
    let r = diagnose(
        &ask,
        401,
        None,
        br#"{"code":57,"message":"You are not authorized to perform this operation"}"#,
    )
    .unwrap();
    assert!(
        r.message.contains("ZohoBooks.invoices.READ"),
        "{}",
        r.message
    );

    let r = diagnose(&ask, 429, None, b"{}").unwrap();
    assert_eq!(r.exit, 6);
    let r = diagnose(&ask, 503, None, b"<html>down</html>").unwrap();
    assert_eq!(r.exit, 5);
    let r = diagnose(&ask, 404, None, br#"{"code":5,"message":"We couldnt find any resource for the given ID. Please check the ID and try again"}"#).unwrap();
    assert_eq!(r.exit, 4);
    assert!(r.message.contains("code 5"), "{}", r.message);
    let desk = request("/api/v1/tickets", "GET", Some("6000"));
    let ask_desk = Ask {
        request: &desk,
        scopes: &[],
        refreshed: false,
    };
    let r = diagnose(
        &ask_desk,
        401,
        None,
        b"<html><title>Zoho Desk - Error</title></html>",
    )
    .unwrap();
    assert_eq!(r.exit, 4);
    assert!(r.message.contains("another data center"), "{}", r.message);
    let r = diagnose(
        &ask_desk,
        403,
        None,
        br#"{"errorCode":"FORBIDDEN","message":"You are not authorized to access this resource."}"#,
    )
    .unwrap();
    assert_eq!(r.exit, 4);
    assert!(r.fix.contains("does not fix"), "{}", r.fix);
    assert!(diagnose(&ask, 200, None, b"{}").is_none());
    assert!(diagnose(&ask, 204, None, b"").is_none());
}

#[test]
fn a_302_to_iam_security_error_is_a_malformed_path_not_a_success() {
    let crm = request("/crm/v8/Leadz", "GET", None);
    let ask = Ask {
        request: &crm,
        scopes: &[],
        refreshed: false,
    };
    let r = diagnose(
        &ask,
        302,
        Some("https://www.zohoapis.eu/crm/IAMSecurityError.do?isload=true"),
        b"",
    )
    .unwrap();
    assert_eq!(r.exit, 2);
    assert!(
        r.message.contains("IAMSecurityError") && r.message.contains("malformed CRM path"),
        "{}",
        r.message
    );
    let r = diagnose(&ask, 301, Some("https://elsewhere.example/\u{1b}[2J"), b"").unwrap();
    assert_eq!(r.exit, 5);
    assert!(
        !r.message.contains('\u{1b}'),
        "server text is made printable"
    );
}

#[test]
fn scope_names_follow_product_module_and_method() {
    assert_eq!(
        scope_for(Product::Books, "/books/v3/invoices/12", "GET"),
        "ZohoBooks.invoices.READ"
    );
    assert_eq!(
        scope_for(Product::Books, "/books/v3/items", "POST"),
        "ZohoBooks.settings.CREATE"
    );
    assert_eq!(
        scope_for(Product::Inventory, "/inventory/v1/items", "GET"),
        "ZohoInventory.settings.READ"
    );
    assert_eq!(
        scope_for(Product::Crm, "/crm/v8/Leads", "PUT"),
        "ZohoCRM.modules.leads.UPDATE"
    );
    assert_eq!(
        scope_for(Product::Desk, "/api/v1/tickets", "DELETE"),
        "Desk.tickets.DELETE"
    );
    assert_eq!(
        scope_for(Product::Books, "/books/v3/whatever", "GET"),
        "ZohoBooks.fullaccess.all"
    );
}

/// An in-memory Zoho list of `total` records, paging as facts §10 says, and the sink it can
/// inspect: every request records whether the previous page's last record was already written.
struct FakeZoho {
    paging: Paging,
    total: u64,
    requests: Vec<Vec<(&'static str, String)>>,
    sink: Arc<Mutex<Vec<u8>>>,
    /// Per request after the first: the previous page had reached the sink when it was asked.
    streamed: Vec<bool>,
    last_id: Option<u64>,
}

impl FakeZoho {
    fn new(paging: Paging, total: u64, sink: Arc<Mutex<Vec<u8>>>) -> FakeZoho {
        FakeZoho {
            paging,
            total,
            requests: Vec::new(),
            sink,
            streamed: Vec::new(),
            last_id: None,
        }
    }

    fn answer(&self, params: &[(&'static str, String)]) -> Fetched {
        let get = |k: &str| params.iter().find(|(p, _)| *p == k).map(|(_, v)| v.clone());
        let json = |v: Value| Fetched {
            status: 200,
            location: None,
            body: serde_json::to_vec(&v).unwrap(),
        };
        let records = |start: u64, n: u64| -> Vec<Value> {
            (start..(start + n).min(self.total))
                .map(|i| serde_json::json!({"id": i.to_string(), "n": i}))
                .collect()
        };
        match self.paging {
            Paging::BooksFamily => {
                let per: u64 = get("per_page").unwrap().parse().unwrap();
                let page: u64 = get("page").unwrap().parse().unwrap();
                let start = (page - 1) * per;
                json(
                    serde_json::json!({"code":0,"message":"success","invoices":records(start, per),
                    "page_context":{"page":page,"per_page":per,"has_more_page": start + per < self.total}}),
                )
            }
            Paging::Crm => {
                let per: u64 = get("per_page").unwrap().parse().unwrap();
                let start = match (get("page"), get("page_token")) {
                    (Some(p), None) => {
                        let p: u64 = p.parse().unwrap();
                        if p * per > CRM_PAGE_LIMIT {
                            return Fetched { status: 400, location: None, body: br#"{"code":"LIMIT_REACHED","details":{},"message":"page_token is required past 2000 records","status":"error"}"#.to_vec() };
                        }
                        (p - 1) * per
                    }
                    (None, Some(t)) => t.strip_prefix("tok-").unwrap().parse().unwrap(),
                    other => panic!("page and page_token: {other:?}"),
                };
                if start >= self.total {
                    return Fetched {
                        status: 204,
                        location: None,
                        body: Vec::new(),
                    };
                }
                let more = start + per < self.total;
                json(
                    serde_json::json!({"data":records(start, per),"info":{"per_page":per,"count":per.min(self.total-start),
                    "page":1,"more_records":more,"next_page_token": if more { Value::from(format!("tok-{}", start+per)) } else { Value::Null }}}),
                )
            }
            Paging::Desk => {
                let from: u64 = get("from").unwrap().parse().unwrap();
                let limit: u64 = get("limit").unwrap().parse().unwrap();
                if from > self.total {
                    return Fetched {
                        status: 204,
                        location: None,
                        body: Vec::new(),
                    };
                }
                json(serde_json::json!({"data":records(from - 1, limit)}))
            }
        }
    }
}

impl PageSource for FakeZoho {
    type Error = ();

    async fn fetch(&mut self, params: &[(&'static str, String)]) -> Result<Fetched, ()> {
        if let Some(last) = self.last_id {
            let written = String::from_utf8(self.sink.lock().unwrap().clone()).unwrap();
            self.streamed
                .push(written.contains(&format!("\"n\":{last}}}")));
        }
        self.requests.push(params.to_vec());
        let answer = self.answer(params);
        let value: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        self.last_id = ["invoices", "data"].iter().find_map(|k| {
            value
                .get(*k)
                .and_then(Value::as_array)
                .and_then(|a| a.last())
                .and_then(|r| r["n"].as_u64())
        });
        Ok(answer)
    }
}

/// An `AsyncWrite` into a shared buffer.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl AsyncWrite for Sink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

async fn run_paging(paging: Paging, total: u64) -> (Value, Totals, FakeZoho) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let mut zoho = FakeZoho::new(paging, total, buf.clone());
    let totals = paginate(paging, None, &mut zoho, &mut Sink(buf.clone()))
        .await
        .unwrap_or_else(|s| panic!("{:?}", s.error));
    let out = buf.lock().unwrap().clone();
    let doc: Value = serde_json::from_slice(&out).expect("one JSON document");
    (doc, totals, zoho)
}

#[tokio::test]
async fn books_family_pages_until_has_more_page_is_false() {
    let (doc, totals, zoho) = run_paging(Paging::BooksFamily, 450).await;
    let list = doc["invoices"].as_array().unwrap();
    assert_eq!(list.len(), 450);
    assert_eq!(list[449]["n"], 449);
    assert_eq!(totals.pages, 3);
    assert_eq!(
        zoho.requests[2],
        vec![("page", "3".to_string()), ("per_page", "200".to_string())]
    );
    assert_eq!(
        doc.as_object().unwrap().len(),
        1,
        "one list and nothing else"
    );
}

#[tokio::test]
async fn crm_switches_to_page_token_past_2000_records() {
    let (doc, totals, zoho) = run_paging(Paging::Crm, 2500).await;
    let list = doc["data"].as_array().unwrap();
    assert_eq!(list.len(), 2500);
    let ids: std::collections::HashSet<u64> =
        list.iter().map(|r| r["n"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 2500, "no record twice");
    assert_eq!(totals.pages, 13);
    assert_eq!(zoho.requests[9][0], ("page", "10".to_string()));
    assert_eq!(zoho.requests[10][0], ("page_token", "tok-2000".to_string()));
}

#[tokio::test]
async fn crm_uses_page_token_for_any_page_reaching_past_2000_records() {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let mut zoho = FakeZoho::new(Paging::Crm, 2100, buf.clone());
    let totals = paginate(Paging::Crm, Some(150), &mut zoho, &mut Sink(buf.clone()))
        .await
        .unwrap_or_else(|s| panic!("{:?}", s.error));
    assert_eq!(totals.records, 2100);
    // Pages 1-13 (records 1-1,950) by number; the 14th would reach 2,100: by token.
    assert_eq!(zoho.requests[12][0], ("page", "13".to_string()));
    assert_eq!(zoho.requests[13][0], ("page_token", "tok-1950".to_string()));
}

#[tokio::test]
async fn crm_204_is_an_empty_list() {
    let (doc, totals, _) = run_paging(Paging::Crm, 0).await;
    assert_eq!(doc, serde_json::json!({"data": []}));
    assert_eq!(totals.records, 0);
}

#[tokio::test]
async fn desk_pages_with_from_and_limit_until_a_short_page() {
    let (doc, totals, zoho) = run_paging(Paging::Desk, 250).await;
    assert_eq!(doc["data"].as_array().unwrap().len(), 250);
    assert_eq!(totals.pages, 3);
    assert_eq!(zoho.requests[2][0], ("from", "201".to_string()));
    // Exactly a multiple of the limit: the next page is empty (204) and ends the list.
    let (doc, _, zoho) = run_paging(Paging::Desk, 200).await;
    assert_eq!(doc["data"].as_array().unwrap().len(), 200);
    assert_eq!(zoho.requests.len(), 3);
}

#[tokio::test]
async fn each_page_reaches_the_output_before_the_next_is_asked_for() {
    for paging in [Paging::BooksFamily, Paging::Crm, Paging::Desk] {
        let (_, totals, zoho) = run_paging(paging, 1000).await;
        assert!(totals.pages >= 5);
        assert_eq!(zoho.streamed.len() as u32, totals.pages - 1);
        assert!(
            zoho.streamed.iter().all(|s| *s),
            "{paging:?}: {:?}",
            zoho.streamed
        );
    }
}

#[tokio::test]
async fn a_refused_page_midway_leaves_the_document_unclosed() {
    struct Failing(FakeZoho);
    impl PageSource for Failing {
        type Error = ();
        async fn fetch(&mut self, params: &[(&'static str, String)]) -> Result<Fetched, ()> {
            if params[0] == ("page", "2".to_string()) {
                return Ok(Fetched {
                    status: 401,
                    location: None,
                    body: br#"{"code":57}"#.to_vec(),
                });
            }
            self.0.fetch(params).await
        }
    }
    let buf = Arc::new(Mutex::new(Vec::new()));
    let mut source = Failing(FakeZoho::new(Paging::BooksFamily, 450, buf.clone()));
    let stopped = paginate(
        Paging::BooksFamily,
        None,
        &mut source,
        &mut Sink(buf.clone()),
    )
    .await
    .unwrap_err();
    assert!(matches!(stopped.error, PageError::Refused(ref f) if f.status == 401));
    assert_eq!(stopped.totals.records, 200);
    assert!(stopped.totals.opened);
    let out = buf.lock().unwrap().clone();
    assert!(out.starts_with(b"{\"invoices\":["));
    assert!(
        serde_json::from_slice::<Value>(&out).is_err(),
        "partial output must not parse"
    );
}
