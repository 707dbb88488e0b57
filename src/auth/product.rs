//! The Zoho products whose organizations endpoint serves as the live test (facts §7).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    /// Zoho Books, `/books/v3/organizations`
    Books,
    /// Zoho Invoice, `/invoice/v3/organizations`
    Invoice,
    /// Zoho Inventory, `/inventory/v1/organizations`
    Inventory,
    /// Zoho Expense, `/expense/v1/organizations`
    Expense,
    /// Zoho CRM, `/crm/v8/org`
    Crm,
    /// Zoho Desk, `/api/v1/organizations` on the Desk host
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

    /// The name used by `--product` and in JSON output.
    pub fn code(self) -> &'static str {
        match self {
            Product::Books => "books",
            Product::Invoice => "invoice",
            Product::Inventory => "inventory",
            Product::Expense => "expense",
            Product::Crm => "crm",
            Product::Desk => "desk",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Product::Books => "Zoho Books",
            Product::Invoice => "Zoho Invoice",
            Product::Inventory => "Zoho Inventory",
            Product::Expense => "Zoho Expense",
            Product::Crm => "Zoho CRM",
            Product::Desk => "Zoho Desk",
        }
    }

    pub fn from_code(code: &str) -> Option<Product> {
        let code = code.trim().to_ascii_lowercase();
        Product::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The path of the organizations probe, relative to the API domain (or the Desk host).
    pub fn probe_path(self) -> &'static str {
        match self {
            Product::Books => "/books/v3/organizations",
            Product::Invoice => "/invoice/v3/organizations",
            Product::Inventory => "/inventory/v1/organizations",
            Product::Expense => "/expense/v1/organizations",
            Product::Crm => "/crm/v8/org",
            Product::Desk => "/api/v1/organizations",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for p in Product::ALL {
            assert_eq!(Product::from_code(p.code()), Some(p));
        }
        assert_eq!(Product::from_code(" CRM "), Some(Product::Crm));
        assert_eq!(Product::from_code("bigin"), None);
    }
}
