//! The scope catalogue (`assets/scopes.toml`, facts §8) and scope-list helpers. No IO here: the
//! catalogue is embedded and parsed once. Matching is case-insensitive; output is canonical.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::auth::Product;

const CATALOGUE_TOML: &str = include_str!("../../assets/scopes.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Catalogue {
    pub groups: Vec<Group>,
    pub presets: Vec<Preset>,
}

/// One product's scopes, in the order the wizard shows them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    /// The live-test product this group belongs to, if it has a probe.
    #[serde(default, with = "product_code")]
    pub product: Option<Product>,
    pub scopes: Vec<ScopeInfo>,
    /// Any one of these lets the product's organizations probe pass.
    #[serde(default)]
    pub probe_scopes: Vec<String>,
    /// The scope to add when a selection cannot pass the probe.
    #[serde(default)]
    pub suggested_probe_scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ScopeInfo {
    /// The canonical spelling.
    pub name: String,
    /// One plain line: what the scope lets an app do.
    pub description: String,
}

/// A ready-made selection of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Preset {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default, with = "product_code")]
    pub product: Option<Product>,
}

impl Catalogue {
    /// The scope at `(group, scope)` indices, as returned by [`filter`].
    pub fn scope(&self, group: usize, scope: usize) -> Option<&ScopeInfo> {
        self.groups.get(group)?.scopes.get(scope)
    }

    /// The group whose probe belongs to `product`.
    pub fn group_for(&self, product: Product) -> Option<&Group> {
        self.groups.iter().find(|g| g.product == Some(product))
    }

    pub fn group_by_id(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id.eq_ignore_ascii_case(id))
    }

    pub fn preset(&self, id: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.id.eq_ignore_ascii_case(id))
    }

    /// The number of scopes in all groups.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.scopes.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct Loaded {
    catalogue: Catalogue,
    /// Lower-cased scope name → (group, scope).
    by_name: HashMap<String, (usize, usize)>,
    /// Per group, per scope: "name\ndescription\ngroup name", lower-cased, for [`filter`].
    haystacks: Vec<Vec<String>>,
}

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let catalogue: Catalogue = toml::from_str(CATALOGUE_TOML)
            .unwrap_or_else(|e| panic!("assets/scopes.toml is not a valid catalogue: {e}"));
        let mut by_name = HashMap::new();
        let mut haystacks = Vec::with_capacity(catalogue.groups.len());
        for (gi, group) in catalogue.groups.iter().enumerate() {
            let group_name = group.name.to_lowercase();
            let mut hay = Vec::with_capacity(group.scopes.len());
            for (si, scope) in group.scopes.iter().enumerate() {
                by_name
                    .entry(scope.name.to_ascii_lowercase())
                    .or_insert((gi, si));
                hay.push(format!(
                    "{}\n{}\n{}",
                    scope.name.to_lowercase(),
                    scope.description.to_lowercase(),
                    group_name
                ));
            }
            haystacks.push(hay);
        }
        Loaded {
            catalogue,
            by_name,
            haystacks,
        }
    })
}

/// The catalogue embedded from `assets/scopes.toml`.
pub fn catalogue() -> &'static Catalogue {
    &loaded().catalogue
}

/// The `(group, scope)` indices of a catalogue scope, matched case-insensitively.
pub fn locate(scope: &str) -> Option<(usize, usize)> {
    loaded()
        .by_name
        .get(&scope.trim().to_ascii_lowercase())
        .copied()
}

/// The canonical spelling of a catalogue scope, matched case-insensitively.
pub fn canonical(scope: &str) -> Option<&'static str> {
    let (g, s) = locate(scope)?;
    Some(catalogue().groups[g].scopes[s].name.as_str())
}

/// The catalogue entry of a scope, matched case-insensitively.
pub fn info(scope: &str) -> Option<&'static ScopeInfo> {
    let (g, s) = locate(scope)?;
    catalogue().scope(g, s)
}

/// Splits a scope list on commas and/or whitespace (Zoho returns them space-separated, requests
/// send them comma-separated), drops empties and case-insensitive duplicates (the first wins),
/// and writes known scopes canonically. Unknown scopes are kept as typed.
pub fn parse_list(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(|c: char| c == ',' || c.is_whitespace()) {
        if part.is_empty() {
            continue;
        }
        let scope = canonical(part).unwrap_or(part);
        if !out.iter().any(|seen| seen.eq_ignore_ascii_case(scope)) {
            out.push(scope.to_string());
        }
    }
    out
}

/// The exact comma-separated string the API console and the authorize URL take.
pub fn join(scopes: &[String]) -> String {
    scopes.join(",")
}

/// Whether `scopes` let `product`'s organizations probe pass (case-insensitive).
pub fn grants_probe(product: Product, scopes: &[String]) -> bool {
    let Some(group) = catalogue().group_for(product) else {
        return false;
    };
    scopes.iter().any(|scope| {
        let scope = scope.trim();
        group
            .probe_scopes
            .iter()
            .any(|p| p.eq_ignore_ascii_case(scope))
    })
}

/// The first product (in [`Product::ALL`] order) whose probe the scopes pass.
pub fn first_probe_product(scopes: &[String]) -> Option<Product> {
    Product::ALL
        .into_iter()
        .find(|&product| grants_probe(product, scopes))
}

/// The probe product a scope belongs to, by its service name (`ZohoBooks.invoices.READ` → Books).
/// Works for scopes that are not in the catalogue too.
pub fn product_of(scope: &str) -> Option<Product> {
    let service = scope.trim().split('.').next()?;
    const SERVICES: [(&str, Product); 6] = [
        ("ZohoBooks", Product::Books),
        ("ZohoInvoice", Product::Invoice),
        ("ZohoInventory", Product::Inventory),
        ("ZohoExpense", Product::Expense),
        ("ZohoCRM", Product::Crm),
        ("Desk", Product::Desk),
    ];
    SERVICES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(service))
        .map(|&(_, product)| product)
}

/// The probe products any of the scopes belongs to, in [`Product::ALL`] order.
pub fn products_touched(scopes: &[String]) -> Vec<Product> {
    let touched: Vec<Product> = scopes.iter().filter_map(|s| product_of(s)).collect();
    Product::ALL
        .into_iter()
        .filter(|p| touched.contains(p))
        .collect()
}

/// `None` when the scopes let `product`'s probe pass, else the scope to add.
pub fn missing_for_probe(product: Product, scopes: &[String]) -> Option<&'static str> {
    if grants_probe(product, scopes) {
        return None;
    }
    let group = catalogue().group_for(product)?;
    group
        .suggested_probe_scope
        .as_deref()
        .or_else(|| group.probe_scopes.first().map(String::as_str))
}

/// The `(group, scope)` indices of the catalogue entries matching `query`, in catalogue order.
/// Every whitespace-separated term must occur (case-insensitively) in the scope name, its
/// description or its group name. An empty query matches everything.
pub fn filter(query: &str) -> Vec<(usize, usize)> {
    let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let loaded = loaded();
    let mut out = Vec::new();
    for (gi, group) in loaded.haystacks.iter().enumerate() {
        for (si, hay) in group.iter().enumerate() {
            if terms.iter().all(|t| hay.contains(t.as_str())) {
                out.push((gi, si));
            }
        }
    }
    out
}

/// `product = "books"` in the TOML, `Product` in Rust.
mod product_code {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::auth::Product;

    pub fn serialize<S: Serializer>(product: &Option<Product>, s: S) -> Result<S::Ok, S::Error> {
        match product {
            Some(p) => s.serialize_some(p.code()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Product>, D::Error> {
        let code: Option<String> = Option::deserialize(d)?;
        code.map(|c| {
            Product::from_code(&c).ok_or_else(|| D::Error::custom(format!("unknown product {c:?}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_parses_and_indexes_every_scope() {
        let cat = catalogue();
        assert!(cat.len() > 300);
        for (gi, g) in cat.groups.iter().enumerate() {
            for (si, s) in g.scopes.iter().enumerate() {
                assert_eq!(locate(&s.name), Some((gi, si)), "{}", s.name);
            }
        }
    }
}
