//! The module endpoints (Books and Invoice invoices/contacts, Inventory items, CRM Leads/Contacts,
//! Desk tickets) with Zoho's paging and error answers (facts §10). No IO here.
//!
//! Seeded records are not stored: record `i` of a module is computed from `i` (deterministic ids
//! and names), so a sandbox with thousands of records starts as fast as an empty one. Only the
//! records created with POST are kept (and saved with `--state`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::config::SandboxConfig;
use super::params::Params;
use super::products::{self, Product, ProductOrgs};
use super::reply::Reply;

/// A list endpoint the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Module {
    /// `/books/v3/invoices`
    #[serde(rename = "books.invoices")]
    BooksInvoices,
    /// `/books/v3/contacts`
    #[serde(rename = "books.contacts")]
    BooksContacts,
    /// `/invoice/v3/invoices`
    #[serde(rename = "invoice.invoices")]
    InvoiceInvoices,
    /// `/invoice/v3/contacts`
    #[serde(rename = "invoice.contacts")]
    InvoiceContacts,
    /// `/inventory/v1/items`
    #[serde(rename = "inventory.items")]
    InventoryItems,
    /// `/crm/{version}/Leads`
    #[serde(rename = "crm.leads")]
    CrmLeads,
    /// `/crm/{version}/Contacts`
    #[serde(rename = "crm.contacts")]
    CrmContacts,
    /// `/api/v1/tickets` (Desk)
    #[serde(rename = "desk.tickets")]
    DeskTickets,
}

/// What a record looks like, per module.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invoice,
    Contact,
    Item,
    Lead,
    CrmContact,
    Ticket,
}

impl Module {
    pub const ALL: [Module; 8] = [
        Module::BooksInvoices,
        Module::BooksContacts,
        Module::InvoiceInvoices,
        Module::InvoiceContacts,
        Module::InventoryItems,
        Module::CrmLeads,
        Module::CrmContacts,
        Module::DeskTickets,
    ];

    /// The name used by the control endpoint and the state file (`crm.leads`).
    pub fn key(self) -> &'static str {
        match self {
            Module::BooksInvoices => "books.invoices",
            Module::BooksContacts => "books.contacts",
            Module::InvoiceInvoices => "invoice.invoices",
            Module::InvoiceContacts => "invoice.contacts",
            Module::InventoryItems => "inventory.items",
            Module::CrmLeads => "crm.leads",
            Module::CrmContacts => "crm.contacts",
            Module::DeskTickets => "desk.tickets",
        }
    }

    /// Seeded records at start: enough for several pages everywhere, past 2,000 for CRM Leads.
    pub fn default_count(self) -> usize {
        match self {
            Module::BooksInvoices => 450,
            Module::BooksContacts => 320,
            Module::InvoiceInvoices => 450,
            Module::InvoiceContacts => 260,
            Module::InventoryItems => 300,
            Module::CrmLeads => 2500,
            Module::CrmContacts => 600,
            Module::DeskTickets => 250,
        }
    }

    pub fn product(self) -> Product {
        match self {
            Module::BooksInvoices | Module::BooksContacts => Product::Books,
            Module::InvoiceInvoices | Module::InvoiceContacts => Product::Invoice,
            Module::InventoryItems => Product::Inventory,
            Module::CrmLeads | Module::CrmContacts => Product::Crm,
            Module::DeskTickets => Product::Desk,
        }
    }

    fn kind(self) -> Kind {
        match self {
            Module::BooksInvoices | Module::InvoiceInvoices => Kind::Invoice,
            Module::BooksContacts | Module::InvoiceContacts => Kind::Contact,
            Module::InventoryItems => Kind::Item,
            Module::CrmLeads => Kind::Lead,
            Module::CrmContacts => Kind::CrmContact,
            Module::DeskTickets => Kind::Ticket,
        }
    }

    /// The list key of a Books-family answer (`invoices`) and the one-record key (`invoice`).
    fn finance_keys(self) -> (&'static str, &'static str) {
        match self.kind() {
            Kind::Invoice => ("invoices", "invoice"),
            Kind::Contact => ("contacts", "contact"),
            _ => ("items", "item"),
        }
    }

    /// The id field of a record.
    fn id_field(self) -> &'static str {
        match self.kind() {
            Kind::Invoice => "invoice_id",
            Kind::Contact => "contact_id",
            Kind::Item => "item_id",
            Kind::Lead | Kind::CrmContact | Kind::Ticket => "id",
        }
    }

    /// Ids are a fixed prefix and a zero-padded number: seeded records count from 0, created ones
    /// from [`CREATED_BASE`].
    fn id_prefix(self) -> &'static str {
        match self {
            Module::BooksInvoices => "4600000",
            Module::BooksContacts => "4600001",
            Module::InvoiceInvoices => "4700000",
            Module::InvoiceContacts => "4700001",
            Module::InventoryItems => "4800000",
            Module::CrmLeads => "415086800001",
            Module::CrmContacts => "415086800002",
            Module::DeskTickets => "6000000",
        }
    }

    fn id(self, n: usize) -> String {
        format!("{}{n:07}", self.id_prefix())
    }

    /// Scopes (lower-cased) that allow reading, or with `write` creating, this module's records.
    fn accepted_scopes(self, write: bool) -> Vec<String> {
        let ops: &[&str] = if write {
            &["create", "all"]
        } else {
            &["read", "all"]
        };
        let (service, resource, full): (&str, &str, &[&str]) = match self {
            Module::BooksInvoices => ("zohobooks", "invoices", &["zohobooks.fullaccess.all"]),
            Module::BooksContacts => ("zohobooks", "contacts", &["zohobooks.fullaccess.all"]),
            Module::InvoiceInvoices => ("zohoinvoice", "invoices", &["zohoinvoice.fullaccess.all"]),
            Module::InvoiceContacts => ("zohoinvoice", "contacts", &["zohoinvoice.fullaccess.all"]),
            Module::InventoryItems => ("zohoinventory", "items", &["zohoinventory.fullaccess.all"]),
            Module::CrmLeads => ("zohocrm", "modules.leads", &["zohocrm.modules.all"]),
            Module::CrmContacts => ("zohocrm", "modules.contacts", &["zohocrm.modules.all"]),
            Module::DeskTickets => ("desk", "tickets", &[]),
        };
        let mut scopes: Vec<String> = ops
            .iter()
            .map(|op| format!("{service}.{resource}.{op}"))
            .collect();
        if write && matches!(self.product(), Product::Crm | Product::Desk) {
            scopes.push(format!("{service}.{resource}.write"));
        }
        scopes.extend(full.iter().map(|s| s.to_string()));
        scopes
    }

    fn allows(self, write: bool, granted: &[String]) -> bool {
        let accepted = self.accepted_scopes(write);
        granted
            .iter()
            .any(|g| accepted.iter().any(|a| a.eq_ignore_ascii_case(g)))
    }
}

/// Where created records' numbers start, far above any seeded count.
const CREATED_BASE: usize = 9_000_000;
/// CRM refuses `page` past this many records: `page_token` is required beyond (facts §10).
pub(crate) const CRM_DISCRETE_LIMIT: usize = 2000;
/// The most records any seeded module may hold (one control call cannot stall the sandbox).
pub(crate) const MAX_COUNT: usize = 1_000_000;

/// Seeded counts and created records of every module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Records {
    pub counts: BTreeMap<Module, usize>,
    pub created: BTreeMap<Module, Vec<Value>>,
}

impl Default for Records {
    fn default() -> Self {
        Records {
            counts: Module::ALL
                .iter()
                .map(|m| (*m, m.default_count()))
                .collect(),
            created: BTreeMap::new(),
        }
    }
}

impl Records {
    fn count(&self, m: Module) -> usize {
        self.counts.get(&m).copied().unwrap_or(0)
    }

    fn created(&self, m: Module) -> &[Value] {
        self.created.get(&m).map(Vec::as_slice).unwrap_or(&[])
    }

    fn total(&self, m: Module) -> usize {
        self.count(m) + self.created(m).len()
    }

    /// Record `i` of the listing: seeded ones first, then created ones in creation order.
    fn at(&self, m: Module, i: usize) -> Value {
        let count = self.count(m);
        if i < count {
            seeded(m, i)
        } else {
            self.created(m)[i - count].clone()
        }
    }

    fn find(&self, m: Module, id: &str) -> Option<Value> {
        let number: usize = id.strip_prefix(m.id_prefix())?.parse().ok()?;
        if m.id(number) != id {
            return None;
        }
        if number < self.count(m) {
            return Some(seeded(m, number));
        }
        self.created(m)
            .iter()
            .find(|r| r[m.id_field()].as_str() == Some(id))
            .cloned()
    }

    fn next_id(&self, m: Module) -> String {
        m.id(CREATED_BASE + self.created(m).len())
    }
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya",
    "Liam", "Maya", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara",
];
const LAST: &[&str] = &[
    "Abbott", "Banerjee", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Murphy", "Nakamura", "Okafor", "Patel", "Rossi", "Schmidt",
    "Tanaka", "Varga",
];

fn person(i: usize) -> (&'static str, &'static str) {
    (
        FIRST[i % FIRST.len()],
        LAST[(i / FIRST.len() + i) % LAST.len()],
    )
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's civil-from-days).
pub(crate) fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// ISO-8601 time of epoch milliseconds, UTC, the way CRM and Desk print times.
pub(crate) fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    format!(
        "{}T{:02}:{:02}:{:02}+00:00",
        date(days),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// 2026-01-01 as days since the epoch: seeded records are dated from there.
const SEED_DAY: i64 = 20_454;

/// Seeded record `i` of a module: the same answer on every start.
fn seeded(m: Module, i: usize) -> Value {
    let id = m.id(i);
    let n = i + 1;
    let (first, last) = person(i);
    let day = SEED_DAY + (i as i64 % 330);
    match m.kind() {
        Kind::Invoice => {
            let contacts = match m {
                Module::BooksInvoices => Module::BooksContacts,
                _ => Module::InvoiceContacts,
            };
            let customer = i % contacts.default_count();
            let (cf, cl) = person(customer);
            let total = 100 + (i * 37) % 4900;
            let status = ["draft", "sent", "paid", "overdue"][i % 4];
            let balance = if status == "paid" { 0 } else { total };
            json!({
                "invoice_id": id,
                "invoice_number": format!("INV-{n:06}"),
                "customer_id": contacts.id(customer),
                "customer_name": format!("{cf} {cl}"),
                "status": status,
                "date": date(day),
                "due_date": date(day + 30),
                "currency_code": "USD",
                "total": total,
                "balance": balance,
            })
        }
        Kind::Contact => json!({
            "contact_id": id,
            "contact_name": format!("{first} {last}"),
            "company_name": format!("{last} Demo Co {n}"),
            "contact_type": "customer",
            "status": "active",
            "email": format!("{}.{}{n}@zylker.example", first.to_lowercase(), last.to_lowercase()),
            "currency_code": "USD",
        }),
        Kind::Item => json!({
            "item_id": id,
            "name": format!("Demo Item {n}"),
            "sku": format!("SKU-{n:05}"),
            "status": "active",
            "unit": "pcs",
            "rate": 5 + (i * 13) % 495,
            "stock_on_hand": (i * 7) % 120,
        }),
        Kind::Lead | Kind::CrmContact => {
            let mut record = json!({
                "id": id,
                "First_Name": first,
                "Last_Name": format!("{last} {n}"),
                "Email": format!("{}.{}{n}@zylker.example", first.to_lowercase(), last.to_lowercase()),
                "Owner": {"name": "Demo Owner", "id": "4150868000000225013", "email": "owner@zylker.example"},
                "Created_Time": iso(day * 86_400_000 + (i as i64 % 86_400) * 1000),
            });
            if m.kind() == Kind::Lead {
                record["Company"] = json!(format!("{last} Demo Co {n}"));
                let status = ["Not Contacted", "Contacted", "Qualified", "Lost Lead"][i % 4];
                record["Lead_Status"] = json!(status);
            } else {
                record["Account_Name"] =
                    json!({"name": format!("{last} Demo Co {n}"), "id": Module::CrmContacts.id(i)});
            }
            record
        }
        Kind::Ticket => {
            let topic = [
                "cannot sign in",
                "invoice question",
                "feature request",
                "refund",
            ][i % 4];
            let status = ["Open", "On Hold", "Escalated", "Closed"][i % 4];
            let priority = ["Low", "Medium", "High"][i % 3];
            json!({
            "id": id,
            "ticketNumber": format!("{}", 101 + i),
            "subject": format!("Demo ticket {n}: {topic}"),
            "status": status,
            "priority": priority,
            "channel": "Email",
            "departmentId": DESK_DEPARTMENT,
            "contactId": format!("6000001{i:07}"),
            "email": format!("{}.{}{n}@zylker.example", first.to_lowercase(), last.to_lowercase()),
            "createdTime": format!("{}T09:00:00.000Z", date(day)),
            })
        }
    }
}

const DESK_DEPARTMENT: &str = "60001234000000006907";

// ----- routing -----

/// What a request path under a product prefix means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// A list endpoint (GET lists, POST creates).
    List(Module),
    /// One record by id.
    One(Module, String),
    /// A Books/Invoice/Inventory path that names no resource: 404 code 5.
    FinanceUnknown(Product),
    /// A malformed Expense path: code 5 "Invalid URL Passed".
    ExpenseUnknown,
    /// A CRM path without the `/crm/{version}/` prefix: 302 to IAMSecurityError.do.
    CrmMalformed,
    /// The page that 302 points to.
    CrmSecurityPage,
    /// A well-formed CRM path naming a module the sandbox does not have.
    CrmUnknownModule,
    /// A Desk path the sandbox does not serve.
    DeskUnknown,
}

const CRM_VERSIONS: &[&str] = &["v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"];

/// The route of a path the fixed routes did not match; `None`: not a product path at all.
pub(crate) fn route(path: &str) -> Option<Route> {
    let finance = |rest: &str, product: Product, modules: &[(&str, Module)]| -> Route {
        let mut parts = rest.trim_end_matches('/').splitn(2, '/');
        let head = parts.next().unwrap_or("");
        let tail = parts.next();
        for (name, module) in modules {
            if head == *name {
                return match tail {
                    None => Route::List(*module),
                    Some(id) if !id.is_empty() && !id.contains('/') => {
                        Route::One(*module, id.to_string())
                    }
                    Some(_) => Route::FinanceUnknown(product),
                };
            }
        }
        Route::FinanceUnknown(product)
    };
    if let Some(rest) = path.strip_prefix("/books/v3/") {
        return Some(finance(
            rest,
            Product::Books,
            &[
                ("invoices", Module::BooksInvoices),
                ("contacts", Module::BooksContacts),
            ],
        ));
    }
    if let Some(rest) = path.strip_prefix("/invoice/v3/") {
        return Some(finance(
            rest,
            Product::Invoice,
            &[
                ("invoices", Module::InvoiceInvoices),
                ("contacts", Module::InvoiceContacts),
            ],
        ));
    }
    if let Some(rest) = path.strip_prefix("/inventory/v1/") {
        return Some(finance(
            rest,
            Product::Inventory,
            &[("items", Module::InventoryItems)],
        ));
    }
    for prefix in ["/books/", "/invoice/", "/inventory/"] {
        if path.starts_with(prefix) {
            let product = match prefix {
                "/books/" => Product::Books,
                "/invoice/" => Product::Invoice,
                _ => Product::Inventory,
            };
            return Some(Route::FinanceUnknown(product));
        }
    }
    if path.starts_with("/expense/") {
        return Some(Route::ExpenseUnknown);
    }
    if path == "/crm/IAMSecurityError.do" {
        return Some(Route::CrmSecurityPage);
    }
    if let Some(rest) = path.strip_prefix("/crm/") {
        let mut parts = rest.splitn(3, '/');
        let version = parts.next().unwrap_or("");
        let module = parts.next().unwrap_or("");
        let id = parts.next();
        if !CRM_VERSIONS.contains(&version) || module.is_empty() {
            return Some(Route::CrmMalformed);
        }
        let module = match module {
            "Leads" | "leads" => Module::CrmLeads,
            "Contacts" | "contacts" => Module::CrmContacts,
            _ => return Some(Route::CrmUnknownModule),
        };
        return Some(match id {
            None | Some("") => Route::List(module),
            Some(id) if !id.contains('/') => Route::One(module, id.to_string()),
            Some(_) => Route::CrmUnknownModule,
        });
    }
    if let Some(rest) = path.strip_prefix("/api/v1/") {
        let rest = rest.trim_end_matches('/');
        return Some(match rest.split_once('/') {
            None if rest == "tickets" => Route::List(Module::DeskTickets),
            Some(("tickets", id)) if !id.is_empty() && !id.contains('/') => {
                Route::One(Module::DeskTickets, id.to_string())
            }
            _ => Route::DeskUnknown,
        });
    }
    None
}

// ----- answers -----

pub(crate) const BOOKS_NOT_FOUND: &str = r#"{"code":5,"message":"We couldnt find any resource for the given ID. Please check the ID and try again"}"#;
pub(crate) const EXPENSE_INVALID_URL: &str = r#"{"code": 5, "message": "Invalid URL Passed"}"#;
pub(crate) const NO_ORGANIZATION: &str =
    r#"{"code":9017,"message":"This user is not associated with any organization."}"#;
/// Zoho's answer to a missing `organization_id` is not recorded; this one is our choice (code
/// 6042, a sibling of 6041), so a client can tell it from a foreign organization.
pub(crate) const ORG_ID_MISSING: &str = r#"{"code":6042,"message":"The organization_id parameter is missing. Send the id of one of your organizations."}"#;
pub(crate) const CRM_AUTH_FAILURE: &str = r#"{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"}"#;
/// CRM's answer to an unknown module name (its docs' INVALID_MODULE, HTTP 400).
pub(crate) const CRM_INVALID_MODULE: &str = r#"{"code":"INVALID_MODULE","details":{"resource_path_index":0},"message":"the module name given seems to be invalid","status":"error"}"#;
pub(crate) const CRM_FIELDS_MISSING: &str = r#"{"code":"REQUIRED_PARAM_MISSING","details":{"param":"fields"},"message":"One of the expected parameter is missing","status":"error"}"#;
pub(crate) const CRM_DISCRETE_LIMIT_BODY: &str = r#"{"code":"DISCRETE_PAGINATION_LIMIT_EXCEEDED","details":{"limit":2000},"message":"You can only get the first 2000 records without using page_token param.","status":"error"}"#;
pub(crate) const CRM_AMBIGUITY: &str = r#"{"code":"AMBIGUITY_DURING_PROCESSING","details":{"ambiguity_due_to":["page","page_token"]},"message":"You cannot use both page and page_token.","status":"error"}"#;
pub(crate) const CRM_BAD_PAGE_TOKEN: &str = r#"{"code":"INVALID_DATA","details":{"param":"page_token"},"message":"invalid page token","status":"error"}"#;
pub(crate) const DESK_FORBIDDEN: &str =
    r#"{"errorCode":"FORBIDDEN","message":"You are not authorized to access this resource."}"#;
pub(crate) const DESK_ORG_MISMATCH: &str = r#"{"errorCode":"OAUTH_ORG_MISMATCH","message":"The OAuthToken is not valid for specified organization"}"#;
/// Desk's answer to a missing `orgId` header is not recorded; our choice.
pub(crate) const DESK_ORG_MISSING: &str =
    r#"{"errorCode":"INVALID_DATA","message":"The orgId header is missing."}"#;
/// Desk's answer to an unknown URL; our choice.
pub(crate) const DESK_URL_NOT_FOUND: &str =
    r#"{"errorCode":"URL_NOT_FOUND","message":"The URL you requested could not be found."}"#;
pub(crate) const DESK_RESOURCE_NOT_FOUND: &str =
    r#"{"errorCode":"RESOURCE_NOT_FOUND","message":"The requested resource does not exist."}"#;
pub(crate) const DESK_ERROR_PAGE: &str = "<!DOCTYPE html><html><head><title>Zoho Desk - Error</title></head><body><h1>Oops!</h1><p>Something went wrong. (SIMULATION)</p></body></html>";

fn foreign_org(id: &str) -> Reply {
    Reply::new(
        400,
        json!({
            "code": 6041,
            "message": format!("This user is not associated with the CompanyID/CompanyName:{id}."),
        })
        .to_string(),
    )
}

fn finance_invalid(param: &str) -> Reply {
    Reply::new(
        400,
        json!({"code": 2, "message": format!("Invalid value passed for {param}")}).to_string(),
    )
}

fn desk_invalid(field: &str, message: &str) -> Reply {
    Reply::new(
        422,
        json!({
            "errorCode": "UNPROCESSABLE_ENTITY",
            "message": "The data you sent is not valid",
            "errors": [{"fieldName": format!("/{field}"), "errorType": "invalid", "errorMessage": message}],
        })
        .to_string(),
    )
}

/// Who is calling, as far as the token goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No `Authorization` header (or not a Zoho-oauthtoken/Bearer one).
    Missing,
    /// A token this data center does not know (never issued, expired or revoked).
    Unknown,
    /// A live token of another data center, sent to this one.
    OtherDc,
    /// A live token of this data center with these scopes.
    Valid(Vec<String>),
}

/// The HTTP method, as far as the module endpoints care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Other,
}

/// One request to a module endpoint.
pub(crate) struct ModuleRequest<'a> {
    pub method: Method,
    pub route: Route,
    pub query: &'a Params,
    /// `organization_id` from a Books-family header (`X-com-zoho-books-organizationid` etc.).
    pub org_header: Option<&'a str>,
    /// Desk's `orgId` header.
    pub desk_org: Option<&'a str>,
    pub body: &'a [u8],
    /// The data center's API domain, for CRM's IAMSecurityError redirect.
    pub api_domain: &'a str,
    pub now: i64,
}

/// The token check of facts §7 and §10, per product family.
pub(crate) fn token_refusal(
    product: Product,
    caller: &Caller,
    config: &SandboxConfig,
) -> Option<Reply> {
    match caller {
        Caller::Valid(_) => None,
        Caller::Missing => Some(products::no_auth(product)),
        Caller::Unknown => Some(match product {
            Product::Crm if config.crm_invalid_token_authentication_failure => {
                Reply::new(401, CRM_AUTH_FAILURE)
            }
            _ => products::bad_token(product),
        }),
        // The same body as a dead token for CRM (facts §10); Desk's wrong-DC answer is an HTML
        // page or an empty body.
        Caller::OtherDc => Some(match product {
            Product::Desk if config.desk_wrong_dc_empty_body => Reply::html(401, ""),
            Product::Desk => Reply::html(401, DESK_ERROR_PAGE),
            _ => products::bad_token(product),
        }),
    }
}

/// Answers a module request. `orgs` is what the product's organizations endpoint lists.
pub(crate) fn handle(
    records: &mut Records,
    orgs: &BTreeMap<Product, ProductOrgs>,
    config: &SandboxConfig,
    caller: &Caller,
    req: ModuleRequest<'_>,
) -> Reply {
    let module = match &req.route {
        Route::CrmMalformed => {
            return Reply::found(format!(
                "{}/crm/IAMSecurityError.do?isload=true",
                req.api_domain
            ));
        }
        Route::CrmSecurityPage => {
            return Reply::html(
                200,
                "<!DOCTYPE html><html><head><title>Zoho CRM</title></head><body>\
                 <p>Invalid request. (SIMULATION: the page a malformed CRM path redirects to.)</p>\
                 </body></html>",
            );
        }
        Route::FinanceUnknown(p) => {
            return token_refusal(*p, caller, config).unwrap_or(Reply::new(404, BOOKS_NOT_FOUND));
        }
        Route::ExpenseUnknown => {
            return token_refusal(Product::Expense, caller, config)
                .unwrap_or(Reply::new(404, EXPENSE_INVALID_URL));
        }
        Route::CrmUnknownModule => {
            return token_refusal(Product::Crm, caller, config)
                .unwrap_or(Reply::new(400, CRM_INVALID_MODULE));
        }
        Route::DeskUnknown => {
            return token_refusal(Product::Desk, caller, config)
                .unwrap_or(Reply::new(404, DESK_URL_NOT_FOUND));
        }
        Route::List(m) | Route::One(m, _) => *m,
    };
    let product = module.product();
    if let Some(refusal) = token_refusal(product, caller, config) {
        return refusal;
    }
    let Caller::Valid(scopes) = caller else {
        unreachable!("token_refusal answers every other caller");
    };
    let write = req.method == Method::Post;
    if req.method == Method::Other || (write && matches!(req.route, Route::One(..))) {
        return method_not_allowed(product);
    }
    if !module.allows(write, scopes) {
        return products::scope_missing(product);
    }
    let org = orgs.get(&product).cloned().unwrap_or_default();
    match product {
        Product::Books | Product::Invoice | Product::Inventory | Product::Expense => {
            let org_id = req
                .query
                .get("organization_id")
                .or(req.org_header)
                .filter(|s| !s.is_empty());
            if org.no_organization || org.orgs.is_empty() {
                return Reply::new(400, NO_ORGANIZATION);
            }
            let Some(org_id) = org_id else {
                return Reply::new(400, ORG_ID_MISSING);
            };
            if product == Product::Invoice
                && (!org.member || !org.orgs.iter().any(|o| o.id == org_id))
            {
                return Reply::new(403, products::INVOICE_NOT_MEMBER);
            }
            if !org.orgs.iter().any(|o| o.id == org_id) {
                return foreign_org(org_id);
            }
            finance(records, module, &req)
        }
        Product::Crm => crm(records, module, &req).lower_case_json(),
        Product::Desk => {
            if config.desk_forbidden {
                return Reply::new(403, DESK_FORBIDDEN);
            }
            let Some(org_id) = req.desk_org.filter(|s| !s.is_empty()) else {
                return Reply::new(400, DESK_ORG_MISSING);
            };
            if !org.orgs.iter().any(|o| o.id == org_id) {
                return Reply::new(401, DESK_ORG_MISMATCH);
            }
            desk(records, module, &req)
        }
    }
}

fn method_not_allowed(product: Product) -> Reply {
    match product {
        Product::Crm => Reply::new(
            400,
            r#"{"code":"INVALID_REQUEST_METHOD","details":{},"message":"The http request method type is not a valid one","status":"error"}"#,
        ),
        Product::Desk => Reply::new(
            405,
            r#"{"errorCode":"METHOD_NOT_ALLOWED","message":"The method is not allowed for this URL."}"#,
        ),
        _ => Reply::new(
            405,
            r#"{"code":37,"message":"The HTTP method is not allowed for the requested resource"}"#,
        ),
    }
}

/// A positive integer parameter; `Err` names it when it is not one.
fn positive(params: &Params, name: &str, default: usize) -> Result<usize, ()> {
    match params.get(name) {
        None | Some("") => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or(()),
    }
}

/// The JSON object of a create request: a JSON body, or Books' `JSONString` form field.
fn body_object(req: &ModuleRequest<'_>) -> Option<serde_json::Map<String, Value>> {
    let text = match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(map)) => return Some(map),
        Ok(_) => return None,
        Err(_) => Params::parse(None, req.body)
            .get("JSONString")
            .or(req.query.get("JSONString"))
            .map(str::to_string)?,
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// `{"code":0,"message":..,"<key>":..[,"page_context":..]}` in Zoho's key order.
fn finance_ok(message: &str, key: &str, value: &Value, page_context: Option<&str>) -> Reply {
    let message = Value::String(message.to_string());
    let context = page_context
        .map(|c| format!(r#","page_context":{c}"#))
        .unwrap_or_default();
    Reply::new(
        200,
        format!(r#"{{"code":0,"message":{message},"{key}":{value}{context}}}"#),
    )
}

fn finance(records: &mut Records, module: Module, req: &ModuleRequest<'_>) -> Reply {
    let (list_key, one_key) = module.finance_keys();
    match (&req.route, req.method) {
        (Route::One(_, id), _) => match records.find(module, id) {
            Some(record) => finance_ok("success", one_key, &record, None),
            None => Reply::new(404, BOOKS_NOT_FOUND),
        },
        (_, Method::Post) => {
            let Some(mut fields) = body_object(req) else {
                return Reply::new(
                    400,
                    r#"{"code":4,"message":"Invalid value passed for JSONString"}"#,
                );
            };
            let (required, message) = match module.kind() {
                Kind::Invoice => ("customer_id", "The invoice has been created."),
                Kind::Contact => ("contact_name", "The contact has been added."),
                _ => ("name", "The item has been added."),
            };
            if fields.get(required).is_none_or(|v| v.is_null() || v == "") {
                return finance_invalid(required);
            }
            let id = records.next_id(module);
            fields.insert(module.id_field().to_string(), json!(id));
            if module.kind() == Kind::Invoice {
                let n = records.total(module) + 1;
                fields
                    .entry("invoice_number")
                    .or_insert_with(|| json!(format!("INV-{n:06}")));
                fields.entry("status").or_insert_with(|| json!("draft"));
                fields
                    .entry("date")
                    .or_insert_with(|| json!(date(req.now.div_euclid(86_400_000))));
            } else {
                fields.entry("status").or_insert_with(|| json!("active"));
            }
            let record = Value::Object(fields);
            records
                .created
                .entry(module)
                .or_default()
                .push(record.clone());
            Reply {
                status: 201,
                ..finance_ok(message, one_key, &record, None)
            }
        }
        _ => {
            let Ok(page) = positive(req.query, "page", 1) else {
                return finance_invalid("page");
            };
            let Ok(per_page) = positive(req.query, "per_page", 200) else {
                return finance_invalid("per_page");
            };
            let per_page = per_page.min(200);
            let total = records.total(module);
            let start = (page - 1).saturating_mul(per_page).min(total);
            let end = start.saturating_add(per_page).min(total);
            let list = Value::Array((start..end).map(|i| records.at(module, i)).collect());
            // Keys in Zoho's order (serde_json's own maps sort them).
            let context = format!(
                r#"{{"page":{page},"per_page":{per_page},"has_more_page":{},"report_name":"{list_key}","applied_filter":"Status.All","sort_column":"created_time","sort_order":"D"}}"#,
                end < total
            );
            finance_ok("success", list_key, &list, Some(&context))
        }
    }
}

/// An opaque page token that names the module, the next offset and the page size.
fn page_token(module: Module, offset: usize, per_page: usize) -> String {
    format!(
        "sbx{}",
        hex::encode(format!("{}:{offset}:{per_page}", module.key()))
    )
}

fn read_page_token(module: Module, token: &str) -> Option<(usize, usize)> {
    let raw = String::from_utf8(hex::decode(token.strip_prefix("sbx")?).ok()?).ok()?;
    let mut parts = raw.split(':');
    if parts.next()? != module.key() {
        return None;
    }
    let offset = parts.next()?.parse().ok()?;
    let per_page: usize = parts.next()?.parse().ok()?;
    (per_page > 0 && parts.next().is_none()).then_some((offset, per_page))
}

/// Keeps `id` and the fields named in `fields` (CRM answers only what was asked for).
fn pick_fields(record: Value, fields: Option<&str>) -> Value {
    let (Some(fields), Value::Object(map)) = (fields, &record) else {
        return record;
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    Value::Object(
        map.iter()
            .filter(|(k, _)| *k == "id" || wanted.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn crm(records: &mut Records, module: Module, req: &ModuleRequest<'_>) -> Reply {
    match (&req.route, req.method) {
        (Route::One(_, id), _) => match records.find(module, id) {
            Some(record) => Reply::new(200, json!({"data": [record]}).to_string()),
            None => Reply::no_content(),
        },
        (_, Method::Post) => {
            let list = serde_json::from_slice::<Value>(req.body)
                .ok()
                .and_then(|v| v.get("data").and_then(Value::as_array).cloned())
                .filter(|l| !l.is_empty());
            let Some(list) = list else {
                return Reply::new(
                    400,
                    r#"{"code":"REQUIRED_PARAM_MISSING","details":{"param":"data"},"message":"One of the expected parameter is missing","status":"error"}"#,
                );
            };
            let when = iso(req.now);
            let by = json!({"name": "Demo Owner", "id": "4150868000000225013"});
            let mut answers = Vec::new();
            for item in list {
                let Value::Object(mut fields) = item else {
                    answers.push(json!({"code": "INVALID_DATA", "details": {}, "message": "invalid data", "status": "error"}));
                    continue;
                };
                if fields
                    .get("Last_Name")
                    .is_none_or(|v| v.is_null() || v == "")
                {
                    answers.push(json!({
                        "code": "MANDATORY_NOT_FOUND",
                        "details": {"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"},
                        "message": "required field not found",
                        "status": "error",
                    }));
                    continue;
                }
                let id = records.next_id(module);
                fields.insert("id".into(), json!(id));
                fields.insert("Created_Time".into(), json!(when));
                records
                    .created
                    .entry(module)
                    .or_default()
                    .push(Value::Object(fields));
                answers.push(json!({
                    "code": "SUCCESS",
                    "details": {
                        "Modified_Time": when, "Modified_By": by, "Created_Time": when,
                        "id": id, "Created_By": by,
                    },
                    "message": "record added",
                    "status": "success",
                }));
            }
            let status = if answers.iter().any(|a| a["status"] == "success") {
                201
            } else {
                400
            };
            Reply::new(status, json!({"data": answers}).to_string())
        }
        _ => {
            let q = req.query;
            let token = q.get("page_token").filter(|t| !t.is_empty());
            if token.is_some() && q.get("page").is_some() {
                return Reply::new(400, CRM_AMBIGUITY);
            }
            let fields = q.get("fields").filter(|f| !f.is_empty());
            if fields.is_none() && token.is_none() {
                return Reply::new(400, CRM_FIELDS_MISSING);
            }
            let (offset, per_page) = match token {
                Some(token) => match read_page_token(module, token) {
                    Some(pos) => pos,
                    None => return Reply::new(400, CRM_BAD_PAGE_TOKEN),
                },
                None => {
                    let bad = |param: &str| {
                        Reply::new(
                            400,
                            json!({"code": "INVALID_DATA", "details": {"param": param}, "message": "invalid data", "status": "error"}).to_string(),
                        )
                    };
                    let Ok(page) = positive(q, "page", 1) else {
                        return bad("page");
                    };
                    let Ok(per_page) = positive(q, "per_page", 200) else {
                        return bad("per_page");
                    };
                    let per_page = per_page.min(200);
                    if page.saturating_mul(per_page) > CRM_DISCRETE_LIMIT {
                        return Reply::new(400, CRM_DISCRETE_LIMIT_BODY);
                    }
                    ((page - 1) * per_page, per_page)
                }
            };
            let total = records.total(module);
            let end = offset.saturating_add(per_page).min(total);
            if offset >= end {
                return Reply::no_content();
            }
            let data: Vec<Value> = (offset..end)
                .map(|i| pick_fields(records.at(module, i), fields))
                .collect();
            let more = end < total;
            let text = |v: Option<String>| v.map_or(Value::Null, Value::String);
            let next = text(more.then(|| page_token(module, end, per_page)));
            let previous = text(
                (offset > 0).then(|| page_token(module, offset.saturating_sub(per_page), per_page)),
            );
            let expiry = text(more.then(|| iso(req.now + 86_400_000)));
            // Keys in the order of CRM's documented sample (serde_json's own maps sort them).
            let info = format!(
                r#"{{"per_page":{per_page},"next_page_token":{next},"count":{},"sort_by":"id","page":{},"previous_page_token":{previous},"page_token_expiry":{expiry},"sort_order":"desc","more_records":{more}}}"#,
                end - offset,
                offset / per_page + 1,
            );
            Reply::new(
                200,
                format!(r#"{{"data":{},"info":{info}}}"#, Value::Array(data)),
            )
        }
    }
}

fn desk(records: &mut Records, module: Module, req: &ModuleRequest<'_>) -> Reply {
    match (&req.route, req.method) {
        (Route::One(_, id), _) => match records.find(module, id) {
            Some(record) => Reply::new(200, record.to_string()),
            None => Reply::new(404, DESK_RESOURCE_NOT_FOUND),
        },
        (_, Method::Post) => {
            let Some(mut fields) = serde_json::from_slice::<Value>(req.body)
                .ok()
                .and_then(|v| v.as_object().cloned())
            else {
                return desk_invalid("", "The body must be a JSON object.");
            };
            if fields.get("subject").is_none_or(|v| v.is_null() || v == "") {
                return desk_invalid("subject", "subject is required.");
            }
            let id = records.next_id(module);
            let number = 101 + records.total(module);
            fields.insert("id".into(), json!(id));
            fields.insert("ticketNumber".into(), json!(number.to_string()));
            fields.entry("status").or_insert_with(|| json!("Open"));
            fields
                .entry("departmentId")
                .or_insert_with(|| json!(DESK_DEPARTMENT));
            fields.insert(
                "createdTime".into(),
                json!(iso(req.now).replace("+00:00", ".000Z")),
            );
            let record = Value::Object(fields);
            records
                .created
                .entry(module)
                .or_default()
                .push(record.clone());
            Reply::new(200, record.to_string())
        }
        _ => {
            let Ok(from) = positive(req.query, "from", 1) else {
                return desk_invalid("from", "from must be 1 or more.");
            };
            let Ok(limit) = positive(req.query, "limit", 10) else {
                return desk_invalid("limit", "limit must be 1 to 100.");
            };
            if limit > 100 {
                return desk_invalid("limit", "limit must be 1 to 100.");
            }
            let total = records.total(module);
            let start = (from - 1).min(total);
            let end = start.saturating_add(limit).min(total);
            let data: Vec<Value> = (start..end).map(|i| records.at(module, i)).collect();
            Reply::new(200, json!({"data": data}).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(SEED_DAY), "2026-01-01");
        assert_eq!(iso(86_400_000 + 3_723_000), "1970-01-02T01:02:03+00:00");
    }

    #[test]
    fn routes_cover_the_modules_and_zoho_errors() {
        assert_eq!(
            route("/books/v3/invoices"),
            Some(Route::List(Module::BooksInvoices))
        );
        assert_eq!(
            route("/crm/v8/Leads/41508680000001"),
            Some(Route::One(Module::CrmLeads, "41508680000001".into()))
        );
        assert_eq!(route("/crm/Leads"), Some(Route::CrmMalformed));
        assert_eq!(route("/crm/v8/Deals"), Some(Route::CrmUnknownModule));
        assert_eq!(
            route("/books/v3/nonsense"),
            Some(Route::FinanceUnknown(Product::Books))
        );
        assert_eq!(route("/expense/v1/x"), Some(Route::ExpenseUnknown));
        assert_eq!(route("/nothing"), None);
    }

    #[test]
    fn seeded_ids_round_trip_and_page_tokens_are_bound_to_the_module() {
        let records = Records::default();
        let record = records.at(Module::BooksInvoices, 7);
        let id = record["invoice_id"].as_str().unwrap();
        assert_eq!(
            records.find(Module::BooksInvoices, id),
            Some(record.clone())
        );
        assert_eq!(records.find(Module::BooksContacts, id), None);
        let token = page_token(Module::CrmLeads, 2000, 200);
        assert_eq!(read_page_token(Module::CrmLeads, &token), Some((2000, 200)));
        assert_eq!(read_page_token(Module::CrmContacts, &token), None);
    }
}
