//! `zoho-auth api`: what it takes to call a Zoho API by hand, as `gh api` does for GitHub. Which
//! product a path belongs to and on which host it lives, where the organization id goes, the
//! request itself, which 401 earns one refresh and one retry, what a refusal means (cause, fix,
//! exit code), and the paging engine that streams every page of a list as one JSON document.
//! No terminal and no `cli` here: the token comes through [`TokenSource`], pages through
//! [`PageSource`], output goes to any `AsyncWrite`.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use url::Url;

use super::Product;
use super::client::{ApiRefusal, AuthError, api_refusal_for, join};
use super::dc::{Dc, is_loopback};
use super::diagnosis::{self, Code, Context, Diagnosis, Phase};
use super::hosts;
use super::printable::printable;
use super::secret::Secret;
use super::trace::Trace;

/// The bases a relative PATH may start with, for the usage error that lists them.
pub const KNOWN_BASES: &str = "/books/v3/ (Books), /invoice/v3/ (Invoice), /inventory/v1/ (Inventory), /expense/v1/ (Expense), /crm/v8/ or any /crm/vN/ (CRM), /api/v1/ (Desk)";

/// Records per page the paging engine asks for: the maximum each API allows (facts §10).
pub const BOOKS_PER_PAGE: u32 = 200;
pub const CRM_PER_PAGE: u32 = 200;
pub const DESK_LIMIT: u32 = 100;
/// CRM serves `page` only up to this many records; past it, `page_token` is required.
pub const CRM_PAGE_LIMIT: u64 = 2000;

/// Why `api` stops: what happened, the fix, and the exit code of its class (design.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub exit: u8,
    pub message: String,
    pub fix: String,
}

impl Refusal {
    pub fn new(exit: u8, message: impl Into<String>, fix: impl Into<String>) -> Refusal {
        Refusal {
            exit,
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// A usage or input error (exit 2).
    pub fn usage(message: impl Into<String>, fix: impl Into<String>) -> Refusal {
        Refusal::new(2, message, fix)
    }
}

impl From<Diagnosis> for Refusal {
    fn from(d: Diagnosis) -> Refusal {
        Refusal::new(d.exit_code(), d.message, d.fix)
    }
}

fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|n| {
        !n.is_empty()
            && n.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The product a path (no scheme or host; a query is ignored) belongs to, by its base:
/// `/books/vN/`, `/invoice/vN/`, `/inventory/vN/`, `/expense/vN/`, `/crm/vN/`, `/api/v1/`.
pub fn product_of_path(path: &str) -> Option<Product> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut segments = path.strip_prefix('/')?.split('/');
    let first = segments.next()?;
    let second = segments.next()?;
    let product = match first {
        "books" => Product::Books,
        "invoice" => Product::Invoice,
        "inventory" => Product::Inventory,
        "expense" => Product::Expense,
        "crm" => Product::Crm,
        "api" if second == "v1" => return Some(Product::Desk),
        _ => return None,
    };
    is_version(second).then_some(product)
}

/// The two hosts `api` may send the token to: the API domain and the Desk host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    pub api: Url,
    pub desk: Url,
}

impl Hosts {
    /// `--api-domain` (the override) serves every product, Desk included, as the organizations
    /// probe does (`probe::probe_base`). Otherwise Desk lives on the DC's Desk host: the DC of a
    /// Zoho API domain, else the configured DC; a loopback API domain (the sandbox) serves Desk
    /// itself.
    pub fn new(api_domain: &Url, api_override: Option<&Url>, dc: Option<Dc>) -> Hosts {
        if let Some(base) = api_override {
            return Hosts {
                api: base.clone(),
                desk: base.clone(),
            };
        }
        let desk_dc =
            hosts::zoho_api_dc(api_domain).or(if is_loopback(api_domain) { None } else { dc });
        let desk = desk_dc
            .and_then(|dc| Url::parse(&dc.desk_url()).ok())
            .unwrap_or_else(|| api_domain.clone());
        Hosts {
            api: api_domain.clone(),
            desk,
        }
    }
}

/// A PATH resolved to a URL on one of the two hosts, and the product it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub url: Url,
    pub product: Option<Product>,
}

/// `path` below `base`'s own path prefix (the sandbox's `/_dc/eu`), or `None` when it is not.
fn below<'a>(base: &Url, path: &'a str) -> Option<&'a str> {
    let prefix = base.path().trim_end_matches('/');
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Resolves PATH: relative to its product's base (`/books/v3/invoices?x=1`), or a full URL on the
/// API domain or the Desk host. Anything else is a usage error and nothing is sent.
pub fn resolve(path: &str, hosts: &Hosts) -> Result<Resolved, Refusal> {
    let path = path.trim();
    if path.contains("://") {
        let shown = printable(path);
        let url = Url::parse(path).map_err(|e| {
            Refusal::usage(
                format!("{shown} is not a valid URL ({e})."),
                format!(
                    "Pass a path such as /books/v3/invoices; the known bases are {KNOWN_BASES}."
                ),
            )
        })?;
        let refused = || {
            Refusal::usage(
                format!(
                    "{shown} is neither on the grant's API domain ({}) nor on the Desk host ({}), so the token was not sent to it.",
                    origin_of(&hosts.api),
                    origin_of(&hosts.desk)
                ),
                "Pass a path relative to the product's base (e.g. /books/v3/invoices), or a full URL on one of those hosts.",
            )
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused());
        }
        for (base, desk) in [(&hosts.desk, true), (&hosts.api, false)] {
            if url.origin() != base.origin() {
                continue;
            }
            let Some(rest) = below(base, url.path()) else {
                continue;
            };
            let product = product_of_path(rest);
            // On a separate Desk host only Desk paths; on the API domain only the others.
            let fits = match product {
                Some(Product::Desk) => desk || hosts.desk == hosts.api,
                Some(_) => !desk || hosts.desk == hosts.api,
                None => true,
            };
            if fits {
                return Ok(Resolved { url, product });
            }
        }
        return Err(refused());
    }
    let relative = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let Some(product) = product_of_path(&relative) else {
        return Err(Refusal::usage(
            format!(
                "{} does not start with a known product base.",
                printable(path)
            ),
            format!(
                "Start PATH with one of {KNOWN_BASES}, e.g. `zoho-auth api /books/v3/invoices`."
            ),
        ));
    };
    let base = if product == Product::Desk {
        &hosts.desk
    } else {
        &hosts.api
    };
    let url = join(base, &relative).map_err(|e| {
        Refusal::usage(
            format!("Cannot build a URL from {}: {e}.", printable(path)),
            "Check the path for spaces or stray characters.",
        )
    })?;
    Ok(Resolved {
        url,
        product: Some(product),
    })
}

fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A `-f` field: `key=value` (a string) or `key:=json` (a raw JSON value: number, bool, object...).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key: String,
    pub value: Value,
}

impl Field {
    pub fn parse(text: &str) -> Result<Field, Refusal> {
        let bad = |why: &str| {
            Refusal::usage(
                format!("-f {}: {why}.", printable(text)),
                "Write -f key=value for a string, or -f key:=JSON for a number, boolean, array or object.",
            )
        };
        let Some(eq) = text.find('=') else {
            return Err(bad("no `=` between the key and the value"));
        };
        let (key, raw) = match text[..eq].strip_suffix(':') {
            Some(key) => (key, true),
            None => (&text[..eq], false),
        };
        if key.is_empty() {
            return Err(bad("the key is empty"));
        }
        let rest = &text[eq + 1..];
        let value = if raw {
            serde_json::from_str(rest).map_err(|_| bad("the value after `:=` is not JSON"))?
        } else {
            Value::String(rest.to_string())
        };
        Ok(Field {
            key: key.to_string(),
            value,
        })
    }

    /// The value as a query parameter: a string as is, anything else as its JSON text.
    fn query_value(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// A `-H 'Name: value'` header.
pub fn parse_header(text: &str) -> Result<(String, String), Refusal> {
    let bad = |why: &str| {
        Refusal::usage(
            format!("-H {}: {why}.", printable(text)),
            "Write -H 'Name: value', e.g. -H 'Accept: application/json'.",
        )
    };
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| bad("no `:` after the name"))?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(bad("the name is not a header name"));
    }
    if name.eq_ignore_ascii_case("authorization") {
        return Err(Refusal::usage(
            "-H Authorization: zoho-auth adds the Authorization header itself, from the grant.",
            "Leave it out; to use another grant, pass --env-file (or a store).",
        ));
    }
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(bad("the value holds a line break"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// What the user asked for, before it is turned into a request.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `-X`; `None`: GET, or POST when `--input` gives a body.
    pub method: Option<String>,
    pub fields: Vec<Field>,
    /// `--input`: the body, sent as it is.
    pub input: Option<Vec<u8>>,
    pub headers: Vec<(String, String)>,
    /// The grant's organization id (`ZOHO_ORGANIZATION_ID`).
    pub organization_id: Option<String>,
}

/// A request ready to send, without its Authorization header.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    /// The body and its content type.
    pub body: Option<(Vec<u8>, String)>,
    pub product: Option<Product>,
    /// The organization id the request carries (added or given), for the 6041 diagnosis.
    pub organization_id: Option<String>,
}

const BOOKS_FAMILY_ORG_HEADERS: [&str; 4] = [
    "X-com-zoho-books-organizationid",
    "X-com-zoho-invoice-organizationid",
    "X-com-zoho-inventory-organizationid",
    "X-com-zoho-expense-organizationid",
];

fn is_books_family(product: Option<Product>) -> bool {
    matches!(
        product,
        Some(Product::Books | Product::Invoice | Product::Inventory | Product::Expense)
    )
}

/// Builds the request: `-f` fields go to the query for GET, DELETE and HEAD (and whenever
/// `--input` gives the body), else into a JSON object body; `organization_id` (Books family) or
/// the `orgId` header (Desk) is added from the grant unless the user gave one.
pub fn build(resolved: &Resolved, inputs: &Inputs) -> Result<Request, Refusal> {
    let method = match &inputs.method {
        Some(m) => {
            let m = m.trim().to_ascii_uppercase();
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Refusal::usage(
                    format!("-X {}: not an HTTP method.", printable(&m)),
                    "Use GET, POST, PUT, PATCH or DELETE.",
                ));
            }
            m
        }
        None if inputs.input.is_some() => "POST".to_string(),
        None => "GET".to_string(),
    };
    let product = resolved.product;
    let mut url = resolved.url.clone();
    let fields_in_query =
        inputs.input.is_some() || matches!(method.as_str(), "GET" | "DELETE" | "HEAD");
    let org_key = match product {
        Some(Product::Desk) => Some("orgId"),
        _ if is_books_family(product) => Some("organization_id"),
        _ => None,
    };
    let mut query: Vec<(String, String)> = Vec::new();
    let mut object = serde_json::Map::new();
    for field in &inputs.fields {
        // Zoho reads the organization from the query (Books family), whatever the method.
        let to_query =
            fields_in_query || (is_books_family(product) && Some(field.key.as_str()) == org_key);
        if to_query {
            query.push((field.key.clone(), field.query_value()));
        } else {
            object.insert(field.key.clone(), field.value.clone());
        }
    }
    let mut headers = inputs.headers.clone();
    let header_given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let in_url = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let given: Option<String> = match org_key {
        Some(key) => in_url(key)
            .or_else(|| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
            .or_else(|| {
                object.get(key).map(|v| {
                    Field {
                        key: key.into(),
                        value: v.clone(),
                    }
                    .query_value()
                })
            })
            .or_else(|| {
                let names: &[&str] = if product == Some(Product::Desk) {
                    &["orgId"]
                } else {
                    &BOOKS_FAMILY_ORG_HEADERS
                };
                headers
                    .iter()
                    .find(|(n, _)| names.iter().any(|h| n.eq_ignore_ascii_case(h)))
                    .map(|(_, v)| v.clone())
            }),
        None => None,
    };
    let mut organization_id = given.clone();
    if given.is_none()
        && let (Some(key), Some(org)) = (org_key, inputs.organization_id.as_deref())
    {
        if product == Some(Product::Desk) {
            if !header_given("orgId") {
                headers.push(("orgId".into(), org.to_string()));
            }
        } else {
            query.push((key.to_string(), org.to_string()));
        }
        organization_id = Some(org.to_string());
    }
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &query {
            pairs.append_pair(k, v);
        }
    }
    let body = match (&inputs.input, object.is_empty()) {
        (Some(bytes), _) => {
            let json = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
            let kind = if json {
                "application/json"
            } else {
                "application/octet-stream"
            };
            Some((bytes.clone(), kind.to_string()))
        }
        (None, false) => Some((
            serde_json::to_vec(&Value::Object(object)).unwrap_or_default(),
            "application/json".to_string(),
        )),
        (None, true) => None,
    };
    Ok(Request {
        method,
        url,
        headers,
        body,
        product,
        organization_id,
    })
}

/// `url` with each `(key, value)` set, replacing any pair of that key.
pub fn with_params(url: &Url, params: &[(&str, String)]) -> Url {
    if params.is_empty() {
        return url.clone();
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.set_query(None);
    {
        let mut pairs = out.query_pairs_mut();
        for (k, v) in &kept {
            pairs.append_pair(k, v);
        }
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    out
}

/// True for a 401 that says the token itself is invalid or expired: one forced refresh and one
/// retry may fix it. CRM `INVALID_TOKEN`/`AUTHENTICATION_FAILURE`, Desk `INVALID_OAUTH`/
/// `UNAUTHORIZED`, Books-family code 14, and code 57 unless the grant's scopes show it is the
/// scope (code 57 means both). An empty 401 too; an HTML 401 (Desk on another DC's host) and a
/// scope mismatch are not fixed by a refresh. A 401 means the request was not processed, so
/// retrying even a POST cannot do it twice.
pub fn invalid_token_401(
    product: Option<Product>,
    status: u16,
    body: &[u8],
    scopes: &[String],
) -> bool {
    if status != 401 {
        return false;
    }
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return true;
    }
    match api_refusal_for(product, status, &text) {
        Some(ApiRefusal::InvalidToken | ApiRefusal::NotAuthenticated) => true,
        Some(ApiRefusal::Code57) => !lacks_product_scope(product, scopes),
        Some(
            ApiRefusal::ScopeMismatch
            | ApiRefusal::Forbidden
            | ApiRefusal::OrgMismatch
            | ApiRefusal::RateLimited
            | ApiRefusal::NotOrgMember { .. }
            | ApiRefusal::Permission
            | ApiRefusal::WrongPath
            | ApiRefusal::Unreadable { .. }
            | ApiRefusal::Other(_),
        )
        | None => false,
    }
}

/// The grant's scopes are known and none of them belongs to `product`.
fn lacks_product_scope(product: Option<Product>, scopes: &[String]) -> bool {
    match product {
        Some(p) => !scopes.is_empty() && !super::scopes::products_touched(scopes).contains(&p),
        None => false,
    }
}

/// The scope a request needs, by product, module and method: `ZohoBooks.invoices.READ`,
/// `ZohoCRM.modules.leads.CREATE`, `Desk.tickets.READ`. A module this table does not know gets
/// the product's broad scope.
pub fn scope_for(product: Product, path: &str, method: &str) -> String {
    let op = match method {
        "POST" => "CREATE",
        "PUT" | "PATCH" => "UPDATE",
        "DELETE" => "DELETE",
        _ => "READ",
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut segments = path.trim_start_matches('/').split('/').skip(2);
    let module = segments.next().unwrap_or("").to_ascii_lowercase();
    let module = module.as_str();
    match product {
        Product::Books | Product::Invoice | Product::Inventory => {
            let service = match product {
                Product::Books => "ZohoBooks",
                Product::Invoice => "ZohoInvoice",
                _ => "ZohoInventory",
            };
            let known = match module {
                "organizations" | "items" | "taxes" | "settings" | "users" | "currencies" => {
                    "settings"
                }
                "bankaccounts" | "banktransactions" | "banking" => "banking",
                "chartofaccounts" | "journals" => "accountants",
                m @ ("contacts" | "estimates" | "invoices" | "customerpayments" | "creditnotes"
                | "projects" | "expenses" | "salesorders" | "purchaseorders" | "bills"
                | "debitnotes" | "vendorpayments") => m,
                _ => return format!("{service}.fullaccess.all"),
            };
            format!("{service}.{known}.{op}")
        }
        Product::Expense => "ZohoExpense.fullaccess.ALL".to_string(),
        Product::Crm => match module {
            "org" => format!("ZohoCRM.org.{op}"),
            "users" => format!("ZohoCRM.users.{op}"),
            "settings" => "ZohoCRM.settings.ALL".to_string(),
            "coql" => "ZohoCRM.coql.READ".to_string(),
            "" => "ZohoCRM.modules.ALL".to_string(),
            m => format!("ZohoCRM.modules.{m}.{op}"),
        },
        Product::Desk => match module {
            "organizations" => "Desk.basic.READ".to_string(),
            m @ ("tickets" | "contacts" | "tasks" | "events" | "articles") => {
                format!("Desk.{m}.{op}")
            }
            _ => format!("Desk.settings.{op}"),
        },
    }
}

/// What is known when a refusal is diagnosed.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub request: &'a Request,
    /// The grant's scopes (`ZOHO_SCOPES`), possibly empty.
    pub scopes: &'a [String],
    /// A fresh token was minted for this request and it was still refused.
    pub refreshed: bool,
}

fn host_label(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "-".into(),
    }
}

/// A server text cut short and made printable, for a message.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(300).collect();
    let more = if text.chars().count() > 300 {
        "…"
    } else {
        ""
    };
    format!("{}{more}", printable(cut.trim()))
}

/// The diagnosis of an answer: `None` for a success (2xx), else the refusal with its exit code.
pub fn diagnose(
    ask: &Ask<'_>,
    status: u16,
    location: Option<&str>,
    body: &[u8],
) -> Option<Refusal> {
    if (200..300).contains(&status) {
        return None;
    }
    let request = ask.request;
    let product_name = request.product.map(Product::name).unwrap_or("The Zoho API");
    let host = host_label(&request.url);
    let text = String::from_utf8_lossy(body);
    if (300..400).contains(&status) {
        let to = location.map(shown).unwrap_or_else(|| "nowhere".into());
        // lead: use client's classification after merge (the 302 variant).
        if location.is_some_and(|l| l.contains("IAMSecurityError")) {
            return Some(Refusal::usage(
                format!(
                    "{host} answered HTTP {status} to Zoho's IAMSecurityError page ({to}): Zoho does this for a path it does not know, most often a malformed CRM path (a missing /crm/v8 prefix, a misspelt module or API name). The redirect was not followed."
                ),
                "Check the path against the product's API reference, e.g. /crm/v8/Leads; module names are case-sensitive.",
            ));
        }
        return Some(Refusal::new(
            5,
            format!(
                "{host} answered HTTP {status}, a redirect to {to}, which Zoho's APIs do not send; it was not followed."
            ),
            "Check the path and the API domain; a proxy may be redirecting requests.",
        ));
    }
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let code = value.get("code").or_else(|| value.get("errorCode"));
    let message = value
        .get("message")
        .and_then(Value::as_str)
        .map(shown)
        .unwrap_or_default();
    let numeric = code.and_then(Value::as_u64);
    let sent_org = request
        .organization_id
        .as_deref()
        .map(printable)
        .unwrap_or_else(|| "(none sent)".into());
    // lead: use client's classification after merge (6041, 9017, code 5, FORBIDDEN, HTML 401).
    match numeric {
        Some(6041) => {
            return Some(Refusal::new(
                Code::NotOrgMember.exit_code(),
                format!(
                    "{product_name} says this user is not a member of organization {sent_org} (code 6041: {message})."
                ),
                "Use an organization id the user belongs to: `zoho-auth check --json` lists them; set ZOHO_ORGANIZATION_ID, or pass -f organization_id=ID.",
            ));
        }
        Some(9017) => {
            return Some(Refusal::new(
                Code::NotOrgMember.exit_code(),
                format!(
                    "{product_name} says this user belongs to no organization at all (code 9017)."
                ),
                format!(
                    "Create an organization in {product_name}, or sign in as a user who belongs to one, then run `zoho-auth reauth`."
                ),
            ));
        }
        _ => {}
    }
    if status >= 500 {
        return Some(Refusal::new(
            Code::ServerError.exit_code(),
            format!(
                "{host} answered HTTP {status}{}.",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(" ({message})")
                }
            ),
            "This is on Zoho's side or a proxy in between: try again in a few minutes.",
        ));
    }
    let refusal = api_refusal_for(request.product, status, &text);
    let scope = request
        .product
        .map(|p| scope_for(p, request.url.path(), &request.method));
    let scope_missing = |what: &str| {
        let scope = scope
            .clone()
            .unwrap_or_else(|| "the product's scope".into());
        Refusal::new(
            Code::ScopeMissing.exit_code(),
            format!(
                "{product_name} refused the token ({what}): it does not carry the scope {scope} this request needs."
            ),
            format!(
                "Generate a new code with {scope} added to the scopes (or the product's full-access scope), exchange it (`zoho-auth reauth`), then try again."
            ),
        )
    };
    let check_words = |refusal: &ApiRefusal| -> Refusal {
        diagnosis::from_error(
            &AuthError::Api {
                status,
                refusal: refusal.clone(),
                called: request
                    .url
                    .as_str()
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .to_string(),
            },
            &Context {
                phase: Phase::Probe,
                product: request.product,
                scopes: &[],
                accounts_host: &host,
                api_domain: None,
                dc: None,
            },
        )
        .into()
    };
    if status == 401 && text.trim_start().starts_with('<') {
        return Some(Refusal::new(
            Code::TokenRejected.exit_code(),
            format!(
                "{host} answered HTTP 401 with an HTML page instead of Zoho's JSON: Zoho Desk does this when it is called on another data center's host than the account's."
            ),
            "Check ZOHO_DC / the API domain against the data center you sign in to (`zoho-auth check` tells), then try again.",
        ));
    }
    if request.product == Some(Product::Desk)
        && status == 403
        && code.and_then(Value::as_str) == Some("FORBIDDEN")
    {
        return Some(Refusal::new(
            Code::NotOrgMember.exit_code(),
            format!(
                "Zoho Desk refused the request (403 FORBIDDEN: {message}): the token is fine, but this user lacks the permission (department or role) for it."
            ),
            "Ask a Desk administrator to grant the user's role access to that department or module; a new token or re-consent does not fix this.",
        ));
    }
    match refusal {
        Some(ApiRefusal::ScopeMismatch) => Some(scope_missing("OAUTH_SCOPE_MISMATCH")),
        Some(ApiRefusal::Code57)
            if ask.refreshed || lacks_product_scope(request.product, ask.scopes) =>
        {
            Some(scope_missing(if ask.refreshed {
                "code 57, even with a freshly minted token"
            } else {
                "code 57"
            }))
        }
        Some(
            r @ (ApiRefusal::Code57
            | ApiRefusal::InvalidToken
            | ApiRefusal::NotAuthenticated
            | ApiRefusal::Forbidden
            | ApiRefusal::OrgMismatch
            | ApiRefusal::RateLimited
            | ApiRefusal::NotOrgMember { .. }
            | ApiRefusal::Permission
            | ApiRefusal::Unreadable { .. }),
        ) => Some(check_words(&r)),
        Some(r @ ApiRefusal::Other(_)) if status == 401 || status == 403 => Some(check_words(&r)),
        Some(ApiRefusal::Other(_) | ApiRefusal::WrongPath) | None => {
            if status == 401 {
                return Some(check_words(&ApiRefusal::InvalidToken));
            }
            let what = match (code, message.is_empty()) {
                (Some(c), false) => format!(" (code {}: {message})", shown(&c.to_string())),
                (Some(c), true) => format!(" (code {})", shown(&c.to_string())),
                (None, false) => format!(" ({message})"),
                (None, true) => String::new(),
            };
            let fix = if numeric == Some(5) || status == 404 {
                "Check the path and any ID in it against the product's API reference; the body on stdout is Zoho's answer."
            } else {
                "Zoho's answer is on stdout: check the path, the parameters and the body against the product's API reference."
            };
            Some(Refusal::new(
                4,
                format!("{product_name} refused the request with HTTP {status}{what}."),
                fix,
            ))
        }
    }
}

/// A page of a list, as fetched: status, `Location` (for a 3xx) and the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// Fetches one page: the request with these query parameters set. Implemented by the command
/// (over HTTP, with the token and its retry) and by tests.
pub trait PageSource {
    type Error;
    fn fetch(
        &mut self,
        params: &[(&'static str, String)],
    ) -> impl Future<Output = Result<Fetched, Self::Error>>;
}

/// Zoho's three ways of paging (facts §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Books, Invoice, Inventory, Expense: `page`, `per_page`, `page_context.has_more_page`.
    BooksFamily,
    /// CRM: `page`/`per_page`, `info.more_records`, `page_token` past 2,000 records; 204 = none.
    Crm,
    /// Desk: `from` (1-based), `limit`; a short or empty page (or 204) is the last.
    Desk,
}

impl Paging {
    pub fn of(product: Product) -> Paging {
        match product {
            Product::Books | Product::Invoice | Product::Inventory | Product::Expense => {
                Paging::BooksFamily
            }
            Product::Crm => Paging::Crm,
            Product::Desk => Paging::Desk,
        }
    }
}

/// How far a paging run got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub pages: u32,
    pub records: u64,
    /// The document's opening (`{"invoices":[`) has been written.
    pub opened: bool,
}

/// Why a paging run stopped early.
#[derive(Debug)]
pub enum PageError<E> {
    /// The page could not be fetched (network, token).
    Fetch(E),
    /// Zoho refused the page: its answer, for the diagnosis.
    Refused(Fetched),
    /// A 2xx page that is not the list Zoho sends.
    Shape(String),
    /// The output could not be written (a closed pipe).
    Write(std::io::Error),
}

/// A stopped run: how far it got and why.
#[derive(Debug)]
pub struct Stopped<E> {
    pub totals: Totals,
    pub error: PageError<E>,
}

#[derive(serde::Deserialize)]
struct CrmInfo {
    #[serde(default)]
    more_records: bool,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// One page, split: its records (as sent, not re-serialised) and whether another page follows.
struct Parsed<'a> {
    key: String,
    records: Vec<&'a RawValue>,
    more: bool,
    next_token: Option<String>,
}

fn parse_page<'a>(paging: Paging, body: &'a [u8], key: Option<&str>) -> Result<Parsed<'a>, String> {
    let top: std::collections::BTreeMap<String, &'a RawValue> =
        serde_json::from_slice(body).map_err(|_| "a page that is not a JSON object".to_string())?;
    let (key, more, next_token) = match paging {
        Paging::BooksFamily => {
            let key = match key {
                Some(k) => k.to_string(),
                None => top
                    .iter()
                    .find(|(k, v)| {
                        k.as_str() != "page_context" && v.get().trim_start().starts_with('[')
                    })
                    .map(|(k, _)| k.clone())
                    .ok_or_else(|| "a page without a list of records".to_string())?,
            };
            let more = top
                .get("page_context")
                .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
                .and_then(|ctx| ctx.get("has_more_page").and_then(Value::as_bool))
                .unwrap_or(false);
            (key, more, None)
        }
        Paging::Crm => {
            let info: Option<CrmInfo> = top
                .get("info")
                .and_then(|raw| serde_json::from_str(raw.get()).ok());
            let (more, token) = info
                .map(|i| (i.more_records, i.next_page_token))
                .unwrap_or((false, None));
            ("data".to_string(), more, token)
        }
        Paging::Desk => ("data".to_string(), false, None),
    };
    let records: Vec<&'a RawValue> = match top.get(&key) {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| format!("a page whose \"{}\" is not a list", printable(&key)))?,
        None => return Err(format!("a page without its \"{}\" list", printable(&key))),
    };
    Ok(Parsed {
        key,
        records,
        more,
        next_token,
    })
}

/// Follows Zoho's paging and writes ONE JSON document, `{"<key>":[record, ...]}`, to `out`,
/// page by page as they arrive: the opening with the first page, each page's records (bytes as
/// Zoho sent them) flushed before the next page is asked for, the closing after the last.
/// Memory holds one page at a time. `per_page` overrides the page size (at most the API's maximum).
/// On an error the document is left unclosed: the output is then not valid JSON, so nothing that
/// reads it can mistake a partial list for the whole one.
pub async fn paginate<S, W>(
    paging: Paging,
    per_page: Option<u32>,
    source: &mut S,
    out: &mut W,
) -> Result<Totals, Stopped<S::Error>>
where
    S: PageSource,
    W: AsyncWrite + Unpin,
{
    let mut totals = Totals::default();
    let size = match paging {
        Paging::BooksFamily => per_page.unwrap_or(BOOKS_PER_PAGE).clamp(1, BOOKS_PER_PAGE),
        Paging::Crm => per_page.unwrap_or(CRM_PER_PAGE).clamp(1, CRM_PER_PAGE),
        Paging::Desk => per_page.unwrap_or(DESK_LIMIT).clamp(1, DESK_LIMIT),
    };
    let size_key = match paging {
        Paging::BooksFamily | Paging::Crm => "per_page",
        Paging::Desk => "limit",
    };
    let mut key: Option<String> = None;
    let mut page: u64 = 1;
    let mut token: Option<String> = None;
    let mut from: u64 = 1;
    let stop = |totals: Totals, error: PageError<S::Error>| Stopped { totals, error };
    loop {
        let params: Vec<(&'static str, String)> = match (paging, &token) {
            (Paging::Desk, _) => vec![("from", from.to_string()), (size_key, size.to_string())],
            (Paging::Crm, Some(t)) => vec![("page_token", t.clone()), (size_key, size.to_string())],
            _ => vec![("page", page.to_string()), (size_key, size.to_string())],
        };
        let fetched = source
            .fetch(&params)
            .await
            .map_err(|e| stop(totals, PageError::Fetch(e)))?;
        if !(200..300).contains(&fetched.status) {
            return Err(stop(totals, PageError::Refused(fetched)));
        }
        let empty = fetched.status == 204 || fetched.body.iter().all(u8::is_ascii_whitespace);
        let mut chunk: Vec<u8> = Vec::new();
        let (more, next_token, count) = if empty && paging != Paging::BooksFamily {
            (false, None, 0)
        } else {
            let parsed = parse_page(paging, &fetched.body, key.as_deref()).map_err(|what| {
                stop(
                    totals,
                    PageError::Shape(format!(
                        "Zoho answered page {} with {what}",
                        totals.pages + 1
                    )),
                )
            })?;
            if !totals.opened {
                chunk.extend_from_slice(b"{");
                chunk.extend_from_slice(
                    serde_json::to_string(&parsed.key)
                        .unwrap_or_default()
                        .as_bytes(),
                );
                chunk.extend_from_slice(b":[");
                key = Some(parsed.key.clone());
            }
            for (i, record) in parsed.records.iter().enumerate() {
                if totals.records > 0 || i > 0 {
                    chunk.push(b',');
                }
                chunk.extend_from_slice(record.get().as_bytes());
            }
            let count = parsed.records.len() as u64;
            let more = match paging {
                Paging::Desk => count >= u64::from(size),
                Paging::BooksFamily | Paging::Crm => parsed.more && count > 0,
            };
            (more, parsed.next_token, count)
        };
        if !totals.opened && chunk.is_empty() {
            chunk.extend_from_slice(b"{\"data\":[");
            key = Some("data".into());
        }
        totals.opened = true;
        totals.pages += 1;
        totals.records += count;
        if !more {
            chunk.extend_from_slice(b"]}\n");
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| stop(totals, PageError::Write(e)))?;
        out.flush()
            .await
            .map_err(|e| stop(totals, PageError::Write(e)))?;
        if !more {
            return Ok(totals);
        }
        match paging {
            Paging::Desk => from += count,
            Paging::BooksFamily => page += 1,
            Paging::Crm => {
                // `page` serves the first 2,000 records; a page reaching past them needs
                // `page_token`, and so does every page after one fetched by token.
                if (page + 1) * u64::from(size) > CRM_PAGE_LIMIT || token.is_some() {
                    match next_token {
                        Some(t) => token = Some(t),
                        None => {
                            return Err(stop(
                                totals,
                                PageError::Shape(format!(
                                    "Zoho CRM said more records follow page {} but sent no info.next_page_token, which is needed past {CRM_PAGE_LIMIT} records",
                                    totals.pages
                                )),
                            ));
                        }
                    }
                }
                page += 1;
            }
        }
    }
}

/// The token behind the requests. `rejected`: the token a 401 just refused; the source then
/// refreshes (unless another process already replaced it) and returns the new one.
pub trait TokenSource {
    fn access(
        &mut self,
        rejected: Option<&Secret>,
    ) -> impl Future<Output = Result<Secret, Refusal>>;
}

/// An answer: status, `Location`, and the response still to be read (2xx), or its body (other).
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub response: Option<reqwest::Response>,
    pub body: Vec<u8>,
    /// A fresh token was minted after a 401 and the request sent again.
    pub refreshed: bool,
}

/// Sends requests with the token, one HTTP client (one kept-alive connection) for all of them,
/// no redirects followed, and at most one forced refresh for the whole run.
pub struct Caller<T> {
    http: reqwest::Client,
    trace: Trace,
    tokens: T,
    current: Option<Secret>,
    forced: bool,
    scopes: Vec<String>,
}

/// The HTTP client of `api`: no redirects, a connect timeout, and `read_timeout` between reads
/// (not a whole-request timeout, which would cut a long download).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, Refusal> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .read_timeout(timeout)
        .user_agent(concat!("zoho-auth/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            Refusal::new(
                5,
                format!("Cannot set up the HTTP client: {e}."),
                "Check the system's TLS setup.",
            )
        })
}

impl<T: TokenSource> Caller<T> {
    pub fn new(http: reqwest::Client, verbose: bool, tokens: T, scopes: Vec<String>) -> Caller<T> {
        Caller {
            http,
            trace: Trace::new(verbose),
            tokens,
            current: None,
            forced: false,
            scopes,
        }
    }

    /// Starts with a token already fetched (the command needs its API domain before the first
    /// request).
    pub fn prime(&mut self, token: Secret) {
        self.current = Some(token);
    }

    /// The current token, fetched on first use.
    pub async fn token(&mut self) -> Result<Secret, Refusal> {
        if let Some(t) = &self.current {
            return Ok(t.clone());
        }
        let t = self.tokens.access(None).await?;
        self.current = Some(t.clone());
        Ok(t)
    }

    async fn once(
        &self,
        request: &Request,
        url: &Url,
        token: &Secret,
    ) -> Result<reqwest::Response, Refusal> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            Refusal::usage(
                format!("-X {}: not an HTTP method.", printable(&request.method)),
                "Use GET, POST, PUT, PATCH or DELETE.",
            )
        })?;
        let mut builder = self.http.request(method, url.clone()).header(
            reqwest::header::AUTHORIZATION,
            format!("Zoho-oauthtoken {}", token.expose()),
        );
        let mut has_type = false;
        for (name, value) in &request.headers {
            has_type |= name.eq_ignore_ascii_case("content-type");
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some((body, kind)) = &request.body {
            if !has_type {
                builder = builder.header(reqwest::header::CONTENT_TYPE, kind.as_str());
            }
            builder = builder.body(body.clone());
        }
        self.trace.request(&request.method, url);
        match builder.send().await {
            Ok(response) => {
                self.trace.status(response.status().as_u16());
                Ok(response)
            }
            Err(err) => {
                let what = if err.is_timeout() {
                    "it did not answer in time"
                } else if err.is_connect() {
                    "the connection was refused or the host is unreachable"
                } else if err.is_builder() {
                    "the request could not be built (a header name or value is not allowed)"
                } else {
                    "the connection failed"
                };
                self.trace.failure(what);
                // Never the reqwest error's text: it may carry the URL.
                Err(Refusal::new(
                    if err.is_builder() { 2 } else { 5 },
                    format!("Could not get an answer from {}: {what}.", host_label(url)),
                    "Check your connection, proxy or firewall, and try again.",
                ))
            }
        }
    }

    /// Sends the request with `params` set in its query. An invalid-token 401 gets one forced
    /// refresh and one retry (per run); any other answer is returned as it is.
    pub async fn send(
        &mut self,
        request: &Request,
        params: &[(&'static str, String)],
    ) -> Result<Answer, Refusal> {
        let url = with_params(&request.url, params);
        let token = self.token().await?;
        let response = self.once(request, &url, &token).await?;
        let status = response.status().as_u16();
        if status == 401 && !self.forced {
            let body = read_all(response, &url).await?;
            if !invalid_token_401(request.product, status, &body, &self.scopes) {
                return Ok(Answer {
                    status,
                    location: None,
                    response: None,
                    body,
                    refreshed: false,
                });
            }
            self.forced = true;
            self.trace.failure("the token was refused as invalid: refreshing it once and sending the request again");
            let fresh = self.tokens.access(Some(&token)).await?;
            self.current = Some(fresh.clone());
            let response = self.once(request, &url, &fresh).await?;
            return answer(response, &url, true).await;
        }
        answer(response, &url, false).await
    }
}

async fn answer(
    response: reqwest::Response,
    url: &Url,
    refreshed: bool,
) -> Result<Answer, Refusal> {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if (200..300).contains(&status) {
        return Ok(Answer {
            status,
            location,
            response: Some(response),
            body: Vec::new(),
            refreshed,
        });
    }
    let body = read_all(response, url).await?;
    Ok(Answer {
        status,
        location,
        response: None,
        body,
        refreshed,
    })
}

/// The whole body of a response.
pub async fn read_all(response: reqwest::Response, url: &Url) -> Result<Vec<u8>, Refusal> {
    response.bytes().await.map(|b| b.to_vec()).map_err(|_| {
        Refusal::new(
            5,
            format!(
                "{} closed the connection before the whole answer arrived.",
                host_label(url)
            ),
            "Try again; if it keeps happening, check your connection or proxy.",
        )
    })
}

#[cfg(test)]
mod tests;
