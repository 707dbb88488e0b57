//! The live test: each product's organizations endpoint (facts §7), returning the organizations a
//! token can see, or how the API refused it.

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::Product;
use super::client::{AuthError, Client, api_refusal, join};
use super::dc::Dc;
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

/// Calls the product's organizations endpoint with the access token.
pub async fn probe(
    client: &Client,
    product: Product,
    base: &Url,
    access: &Secret,
) -> Result<Vec<Organization>, AuthError> {
    let url = join(base, product.probe_path())?;
    let (status, body) = client.get_with_token(&url, access).await?;
    if status == 200 {
        return parse_organizations(product, &body).ok_or_else(|| AuthError::Server {
            host: url.host_str().unwrap_or("-").to_string(),
            status,
            detail: "a body that is not the organizations list Zoho sends".into(),
        });
    }
    if let Some(refusal) = api_refusal(status, &body)
        && (400..500).contains(&status)
    {
        return Err(AuthError::Api { status, refusal });
    }
    let detail = if body.trim_start().starts_with('<') {
        "an HTML page instead of Zoho's JSON"
    } else {
        "an unexpected answer"
    };
    Err(AuthError::Server {
        host: url.host_str().unwrap_or("-").to_string(),
        status,
        detail: detail.into(),
    })
}

fn string_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses the success body of each product's endpoint.
pub fn parse_organizations(product: Product, body: &str) -> Option<Vec<Organization>> {
    let value: Value = serde_json::from_str(body).ok()?;
    let (list_key, id_key, name_key) = match product {
        Product::Books | Product::Invoice | Product::Inventory | Product::Expense => {
            ("organizations", "organization_id", "name")
        }
        Product::Crm => ("org", "id", "company_name"),
        Product::Desk => ("data", "id", "organizationName"),
    };
    let list = value.get(list_key)?.as_array()?;
    let orgs: Vec<Organization> = list
        .iter()
        .filter_map(|org| {
            Some(Organization {
                id: string_of(org.get(id_key))?,
                name: string_of(org.get(name_key)).unwrap_or_default(),
                is_default: org
                    .get("is_default_org")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect();
    Some(orgs)
}

/// The organization to write when nobody picks one: the default, else the only one.
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
