//! The product "organizations" endpoints the live test calls (facts §7): their paths, the sandbox's
//! own table of which scopes pass each one, and their exact error bodies. No IO here.
//!
//! The sandbox simulates Zoho, so this table is deliberately independent of the client's scope
//! catalogue in `src/auth`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::reply::Reply;

/// A product whose organizations endpoint the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    /// `GET /books/v3/organizations`
    Books,
    /// `GET /invoice/v3/organizations`
    Invoice,
    /// `GET /inventory/v1/organizations`
    Inventory,
    /// `GET /expense/v1/organizations`
    Expense,
    /// `GET /crm/{v2,v2.1,v3..v8}/org`
    Crm,
    /// `GET /api/v1/organizations`
    Desk,
}

impl Product {
    pub const ALL: [Product; 6] = [
        Product::Books,
        Product::Invoice,
        Product::Inventory,
        Product::Expense,
        Product::Crm,
        Product::Desk,
    ];

    /// Scopes (lower-cased) that let a token read this product's organizations.
    fn accepted_scopes(self) -> &'static [&'static str] {
        match self {
            Product::Books => &[
                "zohobooks.fullaccess.all",
                "zohobooks.settings.read",
                "zohobooks.settings.all",
            ],
            Product::Invoice => &[
                "zohoinvoice.fullaccess.all",
                "zohoinvoice.settings.read",
                "zohoinvoice.settings.all",
            ],
            Product::Inventory => &[
                "zohoinventory.fullaccess.all",
                "zohoinventory.settings.read",
                "zohoinventory.settings.all",
            ],
            Product::Expense => &["zohoexpense.fullaccess.all", "zohoexpense.orgsettings.read"],
            Product::Crm => &["zohocrm.org.read", "zohocrm.org.all"],
            Product::Desk => &["desk.basic.read", "desk.basic.all"],
        }
    }

    fn family(self) -> Family {
        match self {
            Product::Books | Product::Invoice | Product::Inventory | Product::Expense => {
                Family::Finance
            }
            Product::Crm => Family::Crm,
            Product::Desk => Family::Desk,
        }
    }
}

/// Products that share error and body shapes.
#[derive(Clone, Copy)]
enum Family {
    Finance,
    Crm,
    Desk,
}

/// The product served at a request path, if any. CRM versions: v2, v2.1, v3 to v8.
pub(crate) fn product_for_path(path: &str) -> Option<Product> {
    match path {
        "/books/v3/organizations" => Some(Product::Books),
        "/invoice/v3/organizations" => Some(Product::Invoice),
        "/inventory/v1/organizations" => Some(Product::Inventory),
        "/expense/v1/organizations" => Some(Product::Expense),
        "/api/v1/organizations" => Some(Product::Desk),
        _ => {
            let version = path.strip_prefix("/crm/")?.strip_suffix("/org")?;
            matches!(
                version,
                "v2" | "v2.1" | "v3" | "v4" | "v5" | "v6" | "v7" | "v8"
            )
            .then_some(Product::Crm)
        }
    }
}

/// One organization of the demo user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// The organization id, always a string (facts §7).
    pub id: String,
    pub name: String,
}

impl Org {
    pub fn new(id: &str, name: &str) -> Org {
        Org {
            id: id.to_string(),
            name: name.to_string(),
        }
    }
}

/// What a product's organizations endpoint knows about the demo user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductOrgs {
    pub orgs: Vec<Org>,
    /// `false`: the user is not a member of the organization (Invoice answers 403).
    pub member: bool,
    /// The user has no organization of this product at all: Books, Invoice and Inventory answer
    /// 400 code 9017 (facts §10), the organizations endpoint included.
    pub no_organization: bool,
}

impl Default for ProductOrgs {
    fn default() -> Self {
        ProductOrgs {
            orgs: Vec::new(),
            member: true,
            no_organization: false,
        }
    }
}

pub(crate) fn default_orgs() -> BTreeMap<Product, ProductOrgs> {
    let orgs = |list: &[(&str, &str)]| ProductOrgs {
        orgs: list.iter().map(|(id, name)| Org::new(id, name)).collect(),
        member: true,
        no_organization: false,
    };
    BTreeMap::from([
        (
            Product::Books,
            orgs(&[
                ("10234695", "Zylker Demo Ltd"),
                ("10234696", "Zylker Demo Trading"),
            ]),
        ),
        (
            Product::Invoice,
            orgs(&[("10234697", "Zylker Demo Invoicing")]),
        ),
        (
            Product::Inventory,
            orgs(&[("10234698", "Zylker Demo Warehouse")]),
        ),
        (
            Product::Expense,
            orgs(&[("10234699", "Zylker Demo Travel")]),
        ),
        (
            Product::Crm,
            orgs(&[("4150868000000225013", "Zylker Demo CRM")]),
        ),
        (
            Product::Desk,
            orgs(&[("60001234567", "Zylker Demo Support")]),
        ),
    ])
}

/// The token in `Authorization: Zoho-oauthtoken <t>` (or `Bearer <t>`, also answered: facts §7).
pub(crate) fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Zoho-oauthtoken") || scheme.eq_ignore_ascii_case("Bearer"))
        .then(|| token.trim())
}

/// Scopes are compared case-insensitively (facts §8).
pub(crate) fn scope_allows(product: Product, granted: &[String]) -> bool {
    granted.iter().any(|g| {
        product
            .accepted_scopes()
            .iter()
            .any(|a| a.eq_ignore_ascii_case(g))
    })
}

pub(crate) const CODE_14: &str = r#"{"code":14,"message":"The request could not be authenticated as the authentication value you entered is invalid. Enter a valid authentication value and try again."}"#;
pub(crate) const CODE_57: &str =
    r#"{"code":57,"message":"You are not authorized to perform this operation"}"#;
pub(crate) const CRM_NO_AUTH: &str =
    r#"{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed"}"#;
pub(crate) const CRM_INVALID_TOKEN: &str =
    r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#;
pub(crate) const CRM_SCOPE_MISMATCH: &str = r#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#;
pub(crate) const DESK_NO_AUTH: &str = r#"{"errorCode":"UNAUTHORIZED","message":"You are not authenticated to perform this operation."}"#;
pub(crate) const DESK_INVALID_OAUTH: &str =
    r#"{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}"#;
/// Desk's answer to a valid token without a Desk scope is not recorded (facts §7); this body is our
/// choice, so a client can tell "scope missing" from "token rejected".
pub(crate) const DESK_SCOPE_MISMATCH: &str = r#"{"errorCode":"SCOPE_MISMATCH","message":"The OAuth scope of the token does not permit this operation."}"#;
/// Invoice documents HTTP 403 for "not an user of the respective organization" but no body; the
/// numeric code here is our choice.
pub(crate) const INVOICE_NOT_MEMBER: &str =
    r#"{"code":403,"message":"You are not an user of the respective organization."}"#;

pub(crate) fn no_auth(product: Product) -> Reply {
    Reply::new(
        401,
        match product.family() {
            Family::Finance => CODE_14,
            Family::Crm => CRM_NO_AUTH,
            Family::Desk => DESK_NO_AUTH,
        },
    )
}

pub(crate) fn bad_token(product: Product) -> Reply {
    Reply::new(
        401,
        match product.family() {
            Family::Finance => CODE_57,
            Family::Crm => CRM_INVALID_TOKEN,
            Family::Desk => DESK_INVALID_OAUTH,
        },
    )
}

pub(crate) fn scope_missing(product: Product) -> Reply {
    Reply::new(
        401,
        match product.family() {
            Family::Finance => CODE_57,
            Family::Crm => CRM_SCOPE_MISMATCH,
            Family::Desk => DESK_SCOPE_MISMATCH,
        },
    )
}

/// Membership is simulated for Invoice only, the one product that documents it.
pub(crate) fn not_member(product: Product) -> Reply {
    match product {
        Product::Invoice => Reply::new(403, INVOICE_NOT_MEMBER),
        _ => Reply::new(401, CODE_57),
    }
}

#[derive(Serialize)]
struct FinanceOrg<'a> {
    organization_id: &'a str,
    name: &'a str,
    contact_name: &'static str,
    email: String,
    is_default_org: bool,
    plan_type: u32,
    language_code: &'static str,
    fiscal_year_start_month: u32,
    account_created_date: &'static str,
    time_zone: &'static str,
    is_org_active: bool,
    currency_code: &'static str,
    currency_symbol: &'static str,
}

#[derive(Serialize)]
struct FinanceBody<'a> {
    code: u32,
    message: &'static str,
    organizations: Vec<FinanceOrg<'a>>,
}

fn email_for(id: &str) -> String {
    format!("owner.{id}@zylker.example")
}

/// `lone_default`: whether a product's only organization is marked `is_default_org` (facts §10:
/// Zoho has been seen sending `false`).
pub(crate) fn success(product: Product, orgs: &[Org], lone_default: bool) -> Reply {
    let body = match product.family() {
        Family::Finance => serde_json::to_string(&FinanceBody {
            code: 0,
            message: "success",
            organizations: orgs
                .iter()
                .enumerate()
                .map(|(i, o)| FinanceOrg {
                    organization_id: &o.id,
                    name: &o.name,
                    contact_name: "Demo Owner",
                    email: email_for(&o.id),
                    is_default_org: i == 0 && (lone_default || orgs.len() > 1),
                    plan_type: 0,
                    language_code: "en",
                    fiscal_year_start_month: 0,
                    account_created_date: "2024-01-15",
                    time_zone: "PST",
                    is_org_active: true,
                    currency_code: "USD",
                    currency_symbol: "$",
                })
                .collect(),
        }),
        Family::Crm => {
            let list: Vec<serde_json::Value> = orgs
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "id": o.id,
                        "company_name": o.name,
                        "primary_email": email_for(&o.id),
                        "domain_name": format!("org{}", o.id),
                        "zgid": "700000001",
                        "primary_zuid": "800000001",
                        "currency": "USD",
                        "time_zone": "America/Los_Angeles",
                        "license_details": {"paid": false, "paid_type": "free", "users_license_purchased": 3},
                    })
                })
                .collect();
            serde_json::to_string(&serde_json::json!({ "org": list }))
        }
        Family::Desk => {
            let list: Vec<serde_json::Value> = orgs
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    serde_json::json!({
                        "id": o.id,
                        "organizationName": o.name,
                        "portalName": format!("zylkerdemo{i}"),
                        "isDefault": i == 0,
                        "edition": "FREE",
                    })
                })
                .collect();
            serde_json::to_string(&serde_json::json!({ "data": list }))
        }
    };
    Reply::new(200, body.expect("org bodies always serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_products() {
        assert_eq!(product_for_path("/crm/v2.1/org"), Some(Product::Crm));
        assert_eq!(product_for_path("/crm/v8/org"), Some(Product::Crm));
        assert_eq!(product_for_path("/crm/v9/org"), None);
        assert_eq!(
            product_for_path("/api/v1/organizations"),
            Some(Product::Desk)
        );
    }

    #[test]
    fn scopes_match_case_insensitively() {
        assert!(scope_allows(
            Product::Books,
            &["ZOHOBOOKS.FullAccess.ALL".to_string()]
        ));
        assert!(!scope_allows(
            Product::Books,
            &["ZohoCRM.org.ALL".to_string()]
        ));
    }
}
