//! Placeholder until the catalogue lands: the probe rules only.

use super::Product;

const PROBE: [(Product, &[&str]); 6] = [
    (
        Product::Books,
        &[
            "ZohoBooks.fullaccess.all",
            "ZohoBooks.settings.READ",
            "ZohoBooks.settings.ALL",
        ],
    ),
    (
        Product::Invoice,
        &[
            "ZohoInvoice.fullaccess.all",
            "ZohoInvoice.settings.READ",
            "ZohoInvoice.settings.ALL",
        ],
    ),
    (
        Product::Inventory,
        &[
            "ZohoInventory.FullAccess.all",
            "ZohoInventory.settings.READ",
            "ZohoInventory.settings.ALL",
        ],
    ),
    (
        Product::Expense,
        &["ZohoExpense.fullaccess.ALL", "ZohoExpense.orgsettings.READ"],
    ),
    (Product::Crm, &["ZohoCRM.org.READ", "ZohoCRM.org.ALL"]),
    (Product::Desk, &["Desk.basic.READ", "Desk.basic.ALL"]),
];

pub fn grants_probe(product: Product, scopes: &[String]) -> bool {
    missing_for_probe(product, scopes).is_none()
}

pub fn missing_for_probe(product: Product, scopes: &[String]) -> Option<&'static str> {
    let (_, needed) = PROBE.iter().find(|(p, _)| *p == product)?;
    if scopes
        .iter()
        .any(|s| needed.iter().any(|n| n.eq_ignore_ascii_case(s)))
    {
        None
    } else {
        needed.get(1).copied()
    }
}

pub fn first_probe_product(scopes: &[String]) -> Option<Product> {
    Product::ALL.into_iter().find(|p| grants_probe(*p, scopes))
}

pub fn parse_list(s: &str) -> Vec<String> {
    s.split([',', ' ', '\t', '\n'])
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(",")
}
