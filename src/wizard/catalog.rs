//! The wizard's view of the scope catalogue and the paste cleaner. No IO here.
//!
//! The catalogue comes from `crate::auth::scopes`. TEMPORARY: until `crate::auth::clean` lands on
//! `main`, the paste cleaner below is a small local stand-in with the same names; then these
//! functions delegate to it. The rest of the wizard only talks to this module.

use crate::auth::scopes;
use crate::auth::{Dc, Product, Secret};

pub use crate::auth::scopes::{Group, Preset, ScopeInfo};

/// What the paste cleaner found in a pasted code, redirect URL or `self_client.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pasted {
    pub code: Secret,
    pub dc: Option<Dc>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
}

/// The catalogue's product groups, in the order the Scopes step lists them.
pub fn groups() -> Vec<Group> {
    scopes::catalogue().groups.clone()
}

/// The catalogue's presets.
pub fn presets() -> Vec<Preset> {
    scopes::catalogue().presets.clone()
}

/// The exact comma-separated string Zoho's console expects.
pub fn join(list: &[String]) -> String {
    scopes::join(list)
}

/// True when these scopes can pass the product's organizations probe.
pub fn grants_probe(product: Product, list: &[String]) -> bool {
    scopes::grants_probe(product, list)
}

/// The first product whose probe these scopes pass.
pub fn first_probe_product(list: &[String]) -> Option<Product> {
    scopes::first_probe_product(list)
}

/// The scope to add so the product's probe passes, when it would not.
pub fn missing_for_probe(product: Product, list: &[String]) -> Option<String> {
    scopes::missing_for_probe(product, list).map(str::to_string)
}

fn strip(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect()
}

/// `^\d{4}\.[0-9a-f]{32}\.[0-9a-f]{32}$`, the shape of codes and tokens (facts §9).
pub fn is_code_shaped(value: &str) -> bool {
    let v = value.trim();
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts[0].chars().all(|c| c.is_ascii_digit())
        && parts[1..]
            .iter()
            .all(|p| p.len() >= 16 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Cleans a pasted code, redirect URL or `self_client.json` body; the error names the wrong kind.
pub fn clean_code_paste(raw: &str) -> Result<Pasted, String> {
    let trimmed = raw.trim();
    if trimmed.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|_| "That looks like JSON but is not a self_client.json file.".to_string())?;
        let code = json
            .get("code")
            .and_then(|v| v.as_str())
            .ok_or("That self_client.json has no code in it.")?;
        return Ok(Pasted {
            code: Secret::new(strip(code)),
            dc: None,
            client_id: json.get("client_id").and_then(|v| v.as_str()).map(strip),
            client_secret: json
                .get("client_secret")
                .and_then(|v| v.as_str())
                .map(|s| Secret::new(strip(s))),
            scopes: json
                .get("scope")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    if trimmed.contains("code=") {
        let url = url::Url::parse(&strip(trimmed))
            .map_err(|_| "That is not a redirect URL with a code in it.".to_string())?;
        let get = |k: &str| {
            url.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        let code = get("code").ok_or("That URL has no code in it.")?;
        return Ok(Pasted {
            code: Secret::new(code),
            dc: Dc::from_redirect(
                get("location").as_deref(),
                get("accounts-server").as_deref(),
            ),
            client_id: None,
            client_secret: None,
            scopes: vec![],
        });
    }
    let v = strip(trimmed);
    if is_code_shaped(&v) {
        return Ok(Pasted {
            code: Secret::new(v),
            dc: None,
            client_id: None,
            client_secret: None,
            scopes: vec![],
        });
    }
    if v.len() == 42 && v.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("That is a client secret, not a code. Paste the code Zoho generated.".into());
    }
    if v.len() >= 10 && v.starts_with("1000.") && v[5..].chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err("That is a client id, not a code. Paste the code Zoho generated.".into());
    }
    if v.contains(',') || v.starts_with("Zoho") {
        return Err("That is a scope list, not a code. Paste the code Zoho generated.".into());
    }
    Err("That does not look like a Zoho code (1000.<hex>.<hex>).".into())
}

/// Trims a pasted client id and checks its shape (`1000.` and upper-case letters and digits).
pub fn clean_client_id(raw: &str) -> Result<String, String> {
    let v = strip(raw);
    let (prefix, rest) = v.split_once('.').unwrap_or(("", ""));
    if prefix.len() == 4
        && prefix.chars().all(|c| c.is_ascii_digit())
        && rest.len() >= 10
        && rest.chars().all(|c| c.is_ascii_alphanumeric())
    {
        Ok(v)
    } else if is_code_shaped(&v) {
        Err("That is a code or a token, not a client id.".into())
    } else {
        Err(
            "A client id looks like 1000.ABC123... (from the API console, Client Secret tab)."
                .into(),
        )
    }
}

/// Trims a pasted client secret and checks its shape (hex, 20 characters or more).
pub fn clean_client_secret(raw: &str) -> Result<Secret, String> {
    let v = strip(raw);
    if is_code_shaped(&v) {
        Err("That is a code or a token, not a client secret.".into())
    } else if v.len() >= 20 && v.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(Secret::new(v))
    } else {
        Err("A client secret is a long hex string (42 characters in the API console).".into())
    }
}
