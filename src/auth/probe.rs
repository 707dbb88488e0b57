//! The live test: each product's organizations endpoint (facts §7), returning the organizations a
//! token can see, or how the API refused it.

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::Product;
use super::client::{ApiRefusal, AuthError, Client, api_refusal_for, body_kind, join};
use super::dc::Dc;
use super::printable::printable;
use super::secret::Secret;

/// An organization the token can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

/// Where a product's organizations endpoint lives. Desk has its own host per DC; every other
/// product is on the `api_domain` Zoho returned. An override (the sandbox, tests) wins.
pub fn probe_base(
    product: Product,
    api_domain: &str,
    api_override: Option<&Url>,
) -> Result<Url, AuthError> {
    if let Some(base) = api_override {
        return Ok(base.clone());
    }
    let api = super::client::checked_url(api_domain)?;
    if product == Product::Desk
        && let Some(dc) = Dc::from_url(api_domain)
    {
        return super::client::checked_url(&dc.desk_url());
    }
    Ok(api)
}

/// The URL without its query, for messages and the data-center check.
fn called(url: &Url) -> String {
    let mut copy = url.clone();
    copy.set_query(None);
    copy.set_fragment(None);
    copy.to_string()
}

fn host_label(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "-".to_string(),
    }
}

/// Calls the product's organizations endpoint with the access token. A redirect is never followed
/// and never a success: a 302 to `IAMSecurityError.do` is Zoho's answer to a wrong path (facts §10).
pub async fn probe(
    client: &Client,
    product: Product,
    base: &Url,
    access: &Secret,
) -> Result<Vec<Organization>, AuthError> {
    let url = join(base, product.probe_path())?;
    let answer = client.get_answer(&url, access).await?;
    let (status, body) = (answer.status, answer.body.as_str());
    if status == 200 {
        return read_organizations(product, body).map_err(|detail| AuthError::Server {
            host: host_label(&url),
            status,
            detail,
        });
    }
    if (300..400).contains(&status) {
        let location = answer.location.unwrap_or_default();
        if location.contains("IAMSecurityError") {
            return Err(AuthError::Api {
                status,
                refusal: ApiRefusal::WrongPath,
                called: called(&url),
            });
        }
        return Err(AuthError::Server {
            host: host_label(&url),
            status,
            detail: if location.is_empty() {
                "a redirect instead of the organizations list (not followed)".to_string()
            } else {
                format!("a redirect to {location} instead of the organizations list (not followed)")
            },
        });
    }
    if (400..500).contains(&status)
        && let Some(refusal) = api_refusal_for(Some(product), status, body)
    {
        return Err(AuthError::Api {
            status,
            refusal,
            called: called(&url),
        });
    }
    Err(AuthError::Server {
        host: host_label(&url),
        status,
        detail: if serde_json::from_str::<Value>(body).is_ok() {
            "an unexpected answer".to_string()
        } else {
            body_kind(body)
        },
    })
}

fn string_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses the success body of each product's endpoint. `None` for a body that is not the list.
pub fn parse_organizations(product: Product, body: &str) -> Option<Vec<Organization>> {
    read_organizations(product, body).ok()
}

/// Parses the success body of each product's endpoint, or says what is wrong with it. Names are
/// made printable here, so every command and the wizard show safe text; an organization id must
/// be digits (it is written to the env file), else the whole answer is refused.
pub fn read_organizations(product: Product, body: &str) -> Result<Vec<Organization>, String> {
    let not_list = || "a body that is not the organizations list Zoho sends".to_string();
    let value: Value = serde_json::from_str(body).map_err(|_| {
        if body.trim_start().starts_with('<') || body.trim().is_empty() {
            body_kind(body)
        } else {
            not_list()
        }
    })?;
    let (list_key, id_key, name_key) = match product {
        Product::Books | Product::Invoice | Product::Inventory | Product::Expense => {
            ("organizations", "organization_id", "name")
        }
        Product::Crm => ("org", "id", "company_name"),
        Product::Desk => ("data", "id", "organizationName"),
    };
    let list = value
        .get(list_key)
        .and_then(Value::as_array)
        .ok_or_else(not_list)?;
    let mut orgs = Vec::with_capacity(list.len());
    for org in list {
        let Some(id) = string_of(org.get(id_key)) else {
            continue;
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                "an organization id that is not all digits, so the organizations were not used"
                    .to_string(),
            );
        }
        orgs.push(Organization {
            id,
            name: printable(&string_of(org.get(name_key)).unwrap_or_default()),
            is_default: org
                .get("is_default_org")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    Ok(orgs)
}

/// The organization to write when nobody picks one: the default, else the only one (a lone
/// organization may say `"is_default_org": false`, facts §10).
pub fn default_organization(orgs: &[Organization]) -> Option<&Organization> {
    orgs.iter()
        .find(|o| o.is_default)
        .or(if orgs.len() == 1 { orgs.first() } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn books_family_body() {
        let body = r#"{"code":0,"message":"success","organizations":[{"organization_id":"10234695","name":"Zillum","is_default_org":true},{"organization_id":"2","name":"B","is_default_org":false}]}"#;
        let orgs = parse_organizations(Product::Books, body).unwrap();
        assert_eq!(orgs.len(), 2);
        assert_eq!(orgs[0].id, "10234695");
        assert_eq!(default_organization(&orgs).unwrap().name, "Zillum");
    }

    #[test]
    fn crm_and_desk_bodies() {
        let crm = r#"{"org":[{"id":"4150868000000225013","company_name":"Zylker"}]}"#;
        assert_eq!(
            parse_organizations(Product::Crm, crm).unwrap()[0].name,
            "Zylker"
        );
        let desk = r#"{"data":[{"id":6330000,"organizationName":"Zylker Desk"}]}"#;
        let orgs = parse_organizations(Product::Desk, desk).unwrap();
        assert_eq!(orgs[0].id, "6330000");
        assert_eq!(default_organization(&orgs).unwrap().id, "6330000");
        assert!(parse_organizations(Product::Desk, "<html>").is_none());
    }

    #[test]
    fn desk_uses_its_own_host() {
        let base = probe_base(Product::Desk, "https://www.zohoapis.eu", None).unwrap();
        assert_eq!(base.as_str(), "https://desk.zoho.eu/");
        let books = probe_base(Product::Books, "https://www.zohoapis.eu", None).unwrap();
        assert_eq!(books.as_str(), "https://www.zohoapis.eu/");
    }
}
