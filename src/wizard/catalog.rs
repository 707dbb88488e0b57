//! The wizard's view of the scope catalogue and the paste cleaner. No IO here.
//!
//! The catalogue comes from `crate::auth::scopes`, the paste cleaner from `crate::auth::clean`;
//! this module adapts them to what the wizard keeps in its state.

use crate::auth::{Dc, Product, Secret};
use crate::auth::{clean, scopes, target};

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

/// `^\d{4}\.[0-9a-f]{32}\.[0-9a-f]{32}$`, the shape of codes and tokens (facts §9).
pub fn is_code_shaped(value: &str) -> bool {
    clean::is_code_shaped(value)
}

/// Cleans a pasted code, redirect URL or `self_client.json` body; the error names the wrong kind
/// (a refresh token as one, also when it is `saved_refresh_token`, the one in the env file).
pub fn clean_code_paste(raw: &str, saved_refresh_token: Option<&str>) -> Result<Pasted, String> {
    let p = clean::clean_code_paste_knowing(raw, saved_refresh_token).map_err(|e| e.to_string())?;
    Ok(Pasted {
        code: p.code,
        dc: target::pasted_dc(target::Pasted {
            accounts_server: p.accounts_server.as_deref(),
            location: p.location.as_deref(),
        }),
        client_id: p.client_id,
        client_secret: p.client_secret,
        scopes: p.scopes.unwrap_or_default(),
    })
}

/// Trims a pasted client id and checks its shape.
pub fn clean_client_id(raw: &str) -> Result<String, String> {
    clean::clean_client_id(raw).map_err(|e| e.to_string())
}

/// Trims a pasted client secret and checks its shape.
pub fn clean_client_secret(raw: &str) -> Result<Secret, String> {
    clean::clean_client_secret(raw).map_err(|e| e.to_string())
}
