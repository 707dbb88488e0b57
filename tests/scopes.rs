//! The scope catalogue: its content follows facts §8, presets pass their product's probe, and the
//! list helpers match case-insensitively and answer canonically. No IO, no network.

use std::collections::HashSet;

use pretty_assertions::assert_eq;
use zoho_auth::auth::Product;
use zoho_auth::auth::scopes::{
    self, canonical, catalogue, filter, first_probe_product, grants_probe, join, missing_for_probe,
    parse_list, products_touched,
};

fn v(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const OPERATIONS: [&str; 7] = [
    "ALL", "READ", "CREATE", "UPDATE", "DELETE", "WRITE", "CUSTOM",
];

/// `Service.scope[.sub].OPERATION`, or one of the OpenID Connect scopes.
fn is_grammatical(scope: &str) -> bool {
    if scope == "email" || scope == "openid" {
        return true;
    }
    let parts: Vec<&str> = scope.split('.').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        && parts[0].starts_with(|c: char| c.is_ascii_alphabetic())
        && OPERATIONS
            .iter()
            .any(|op| op.eq_ignore_ascii_case(parts[parts.len() - 1]))
}

#[test]
fn every_scope_follows_the_grammar_and_has_a_description() {
    for group in &catalogue().groups {
        assert!(!group.scopes.is_empty(), "group {} is empty", group.id);
        for scope in &group.scopes {
            assert!(is_grammatical(&scope.name), "{}", scope.name);
            let d = scope.description.trim();
            assert!(!d.is_empty(), "{} has no description", scope.name);
            assert!(!d.contains('\n'), "{}: description is one line", scope.name);
            assert!(d.len() < 160, "{}: description too long", scope.name);
        }
    }
}

#[test]
fn the_grammar_check_itself_rejects_bad_scopes() {
    assert!(is_grammatical("ZohoCRM.settings.fields.READ"));
    assert!(is_grammatical("ZohoBooks.fullaccess.all"));
    assert!(!is_grammatical("ZohoBooks.fullaccess"));
    assert!(!is_grammatical("ZohoBooks..READ"));
    assert!(!is_grammatical("ZohoBooks.contacts.LIST"));
    assert!(!is_grammatical("profile"));
}

#[test]
fn no_duplicates_case_insensitively() {
    let mut seen = HashSet::new();
    for group in &catalogue().groups {
        for scope in &group.scopes {
            assert!(
                seen.insert(scope.name.to_ascii_lowercase()),
                "duplicate {}",
                scope.name
            );
        }
    }
    let mut ids = HashSet::new();
    for group in &catalogue().groups {
        assert!(ids.insert(group.id.clone()), "duplicate group {}", group.id);
    }
    let mut ids = HashSet::new();
    for preset in &catalogue().presets {
        assert!(
            ids.insert(preset.id.clone()),
            "duplicate preset {}",
            preset.id
        );
    }
}

#[test]
fn groups_cover_the_products_of_the_facts() {
    let ids: Vec<&str> = catalogue().groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "books",
            "invoice",
            "inventory",
            "expense",
            "crm",
            "desk",
            "creator",
            "projects",
            "mail",
            "people",
            "profile"
        ]
    );
    for product in Product::ALL {
        let group = catalogue().group_for(product).expect("a group per product");
        assert!(!group.probe_scopes.is_empty(), "{product:?}");
        let suggested = group
            .suggested_probe_scope
            .as_deref()
            .expect("a suggestion");
        assert!(
            group.probe_scopes.iter().any(|p| p == suggested),
            "{product:?}: the suggestion is a probe scope"
        );
        for probe in &group.probe_scopes {
            assert_eq!(
                canonical(probe),
                Some(probe.as_str()),
                "{probe} is canonical"
            );
        }
    }
}

#[test]
fn books_has_every_module_with_each_operation() {
    let modules = [
        "contacts",
        "settings",
        "estimates",
        "invoices",
        "customerpayments",
        "creditnotes",
        "projects",
        "expenses",
        "salesorders",
        "purchaseorders",
        "bills",
        "debitnotes",
        "vendorpayments",
        "banking",
        "accountants",
    ];
    for module in modules {
        for op in ["READ", "CREATE", "UPDATE", "DELETE", "ALL"] {
            let name = format!("ZohoBooks.{module}.{op}");
            assert_eq!(canonical(&name), Some(name.as_str()));
        }
    }
    assert!(canonical("ZohoBooks.fullaccess.all").is_some());
}

#[test]
fn known_spellings_from_the_facts_are_canonical() {
    for name in [
        "ZohoBooks.fullaccess.all",
        "ZohoInvoice.fullaccess.all",
        "ZohoInventory.FullAccess.all",
        "ZohoExpense.fullaccess.ALL",
        "ZohoExpense.orgsettings.READ",
        "ZohoCRM.modules.ALL",
        "ZohoCRM.modules.leads.ALL",
        "ZohoCRM.coql.READ",
        "ZohoSearch.securesearch.READ",
        "Desk.search.READ",
        "ZohoCreator.dashboard.READ",
        "ZohoProjects.portals.READ",
        "ZohoMail.messages.ALL",
        "ZOHOPEOPLE.forms.ALL",
        "AaaServer.profile.READ",
        "email",
        "openid",
    ] {
        assert_eq!(canonical(name), Some(name));
    }
}

#[test]
fn presets_use_only_catalogue_scopes_and_pass_their_probe() {
    for preset in &catalogue().presets {
        assert!(!preset.scopes.is_empty(), "{}", preset.id);
        for scope in &preset.scopes {
            assert_eq!(
                canonical(scope),
                Some(scope.as_str()),
                "preset {}: {scope} is a canonical catalogue scope",
                preset.id
            );
        }
        if let Some(product) = preset.product {
            assert!(
                grants_probe(product, &preset.scopes),
                "preset {} cannot pass the {product:?} probe",
                preset.id
            );
            assert_eq!(missing_for_probe(product, &preset.scopes), None);
        }
    }
}

#[test]
fn the_presets_the_wizard_promises_exist() {
    let cat = catalogue();
    let names: Vec<&str> = cat.presets.iter().map(|p| p.name.as_str()).collect();
    for name in [
        "Books: full access",
        "Books: read only",
        "Invoice: full access",
        "Inventory: full access",
        "Expense: full access",
        "CRM: full access",
        "CRM: leads read/write",
        "CRM: read only",
        "Desk: tickets",
        "Sign in with Zoho (profile + email)",
    ] {
        assert!(names.contains(&name), "missing preset {name:?}");
    }
    assert_eq!(
        cat.preset("books-full").unwrap().scopes,
        v(&["ZohoBooks.fullaccess.all"])
    );
    assert_eq!(
        cat.preset("crm-full").unwrap().scopes,
        v(&[
            "ZohoCRM.modules.ALL",
            "ZohoCRM.settings.ALL",
            "ZohoCRM.users.ALL",
            "ZohoCRM.org.ALL"
        ])
    );
    assert_eq!(
        cat.preset("crm-leads").unwrap().scopes,
        v(&["ZohoCRM.modules.leads.ALL", "ZohoCRM.org.READ"])
    );
    // "Books: read only" is every ZohoBooks.*.READ in the catalogue.
    let books_read: Vec<String> = cat
        .group_for(Product::Books)
        .unwrap()
        .scopes
        .iter()
        .filter(|s| s.name.ends_with(".READ"))
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(books_read.len(), 15);
    assert_eq!(cat.preset("books-read").unwrap().scopes, books_read);
}

#[test]
fn canonical_is_case_insensitive() {
    assert_eq!(
        canonical("zohobooks.FULLACCESS.ALL"),
        Some("ZohoBooks.fullaccess.all")
    );
    assert_eq!(
        canonical("ZohoBooks.FullAccess.all"),
        Some("ZohoBooks.fullaccess.all")
    );
    assert_eq!(
        canonical("zohoinventory.fullaccess.all"),
        Some("ZohoInventory.FullAccess.all")
    );
    assert_eq!(
        canonical("ZohoPeople.forms.all"),
        Some("ZOHOPEOPLE.forms.ALL")
    );
    assert_eq!(canonical(" EMAIL "), Some("email"));
    assert_eq!(canonical("ZohoBooks.nothing.READ"), None);
    assert_eq!(canonical(""), None);
}

#[test]
fn canonical_round_trips_for_every_scope() {
    for group in &catalogue().groups {
        for scope in &group.scopes {
            let name = scope.name.as_str();
            assert_eq!(canonical(name), Some(name));
            assert_eq!(canonical(&name.to_lowercase()), Some(name));
            assert_eq!(canonical(&name.to_uppercase()), Some(name));
        }
    }
}

#[test]
fn parse_list_splits_trims_dedupes_and_canonicalises() {
    assert_eq!(
        parse_list("zohobooks.fullaccess.all, ZohoCRM.org.read"),
        v(&["ZohoBooks.fullaccess.all", "ZohoCRM.org.READ"])
    );
    // Zoho's space-separated form, with odd whitespace and empty items.
    assert_eq!(
        parse_list("  ZohoCRM.modules.ALL ZohoCRM.settings.ALL\n\tDesk.search.READ ,, "),
        v(&[
            "ZohoCRM.modules.ALL",
            "ZohoCRM.settings.ALL",
            "Desk.search.READ"
        ])
    );
    // Duplicates in any case: the first occurrence wins, canonically spelled.
    assert_eq!(
        parse_list("ZOHOCRM.ORG.READ,ZohoCRM.org.READ zohocrm.org.read"),
        v(&["ZohoCRM.org.READ"])
    );
    // Unknown scopes are kept as typed, deduped case-insensitively too.
    assert_eq!(
        parse_list("ZohoSheet.dataAPI.UPDATE,zohosheet.dataapi.update,email"),
        v(&["ZohoSheet.dataAPI.UPDATE", "email"])
    );
    assert_eq!(parse_list(""), Vec::<String>::new());
    assert_eq!(parse_list(" , \n ,"), Vec::<String>::new());
}

#[test]
fn join_and_parse_list_round_trip() {
    let list = v(&[
        "ZohoBooks.invoices.READ",
        "ZohoBooks.settings.READ",
        "Custom.x.ALL",
    ]);
    let joined = join(&list);
    assert_eq!(
        joined,
        "ZohoBooks.invoices.READ,ZohoBooks.settings.READ,Custom.x.ALL"
    );
    assert_eq!(parse_list(&joined), list);
    assert_eq!(parse_list(&list.join(" ")), list);
    assert_eq!(join(&[]), "");
    for preset in &catalogue().presets {
        assert_eq!(parse_list(&join(&preset.scopes)), preset.scopes);
    }
}

#[test]
fn probes_for_each_product() {
    let cases: [(Product, &[&str], &str); 6] = [
        (
            Product::Books,
            &[
                "ZohoBooks.fullaccess.all",
                "ZohoBooks.settings.READ",
                "ZohoBooks.settings.ALL",
            ],
            "ZohoBooks.settings.READ",
        ),
        (
            Product::Invoice,
            &[
                "ZohoInvoice.fullaccess.all",
                "ZohoInvoice.settings.READ",
                "ZohoInvoice.settings.ALL",
            ],
            "ZohoInvoice.settings.READ",
        ),
        (
            Product::Inventory,
            &[
                "ZohoInventory.FullAccess.all",
                "ZohoInventory.settings.READ",
                "ZohoInventory.settings.ALL",
            ],
            "ZohoInventory.settings.READ",
        ),
        (
            Product::Expense,
            &["ZohoExpense.fullaccess.ALL", "ZohoExpense.orgsettings.READ"],
            "ZohoExpense.orgsettings.READ",
        ),
        (
            Product::Crm,
            &["ZohoCRM.org.READ", "ZohoCRM.org.ALL"],
            "ZohoCRM.org.READ",
        ),
        (
            Product::Desk,
            &["Desk.basic.READ", "Desk.basic.ALL"],
            "Desk.basic.READ",
        ),
    ];
    for (product, passing, suggestion) in cases {
        for scope in passing {
            let one = v(&[scope]);
            assert!(grants_probe(product, &one), "{product:?} {scope}");
            let lower = v(&[&scope.to_lowercase()]);
            assert!(
                grants_probe(product, &lower),
                "{product:?} {scope} lower-case"
            );
            assert_eq!(missing_for_probe(product, &one), None);
            assert_eq!(first_probe_product(&one), Some(product));
        }
        assert!(!grants_probe(product, &[]));
        assert_eq!(missing_for_probe(product, &[]), Some(suggestion));
    }
}

#[test]
fn scopes_of_a_product_without_its_probe_scope_do_not_pass() {
    let books = v(&["ZohoBooks.invoices.ALL", "ZohoBooks.contacts.READ"]);
    assert!(!grants_probe(Product::Books, &books));
    assert_eq!(
        missing_for_probe(Product::Books, &books),
        Some("ZohoBooks.settings.READ")
    );
    assert_eq!(first_probe_product(&books), None);
    assert_eq!(products_touched(&books), vec![Product::Books]);

    // CRM module access alone does not open /crm/v8/org.
    let crm = v(&["ZohoCRM.modules.ALL"]);
    assert!(!grants_probe(Product::Crm, &crm));
    assert_eq!(
        missing_for_probe(Product::Crm, &crm),
        Some("ZohoCRM.org.READ")
    );

    // A Books scope does not pass the Invoice probe.
    let other = v(&["ZohoBooks.settings.READ"]);
    assert!(!grants_probe(Product::Invoice, &other));
}

#[test]
fn first_probe_product_follows_product_order() {
    let scopes = v(&[
        "Desk.basic.READ",
        "ZohoCRM.org.ALL",
        "ZohoInvoice.settings.READ",
    ]);
    assert_eq!(first_probe_product(&scopes), Some(Product::Invoice));
    assert_eq!(first_probe_product(&v(&["email", "openid"])), None);
    assert_eq!(first_probe_product(&[]), None);
}

#[test]
fn products_touched_by_service_name() {
    let scopes = v(&[
        "Desk.tickets.ALL",
        "zohobooks.invoices.read",
        "ZohoCRM.modules.leads.ALL",
        "ZohoBooks.bills.READ",
        "ZohoSearch.securesearch.READ",
        "ZohoMail.messages.READ",
        "ZohoInventory.Unknown.READ",
        "email",
    ]);
    assert_eq!(
        products_touched(&scopes),
        vec![
            Product::Books,
            Product::Inventory,
            Product::Crm,
            Product::Desk
        ]
    );
    assert_eq!(products_touched(&[]), Vec::<Product>::new());
    assert_eq!(
        scopes::product_of("ZohoExpense.fullaccess.ALL"),
        Some(Product::Expense)
    );
    assert_eq!(scopes::product_of("DeskX.tickets.ALL"), None);
}

fn names(hits: &[(usize, usize)]) -> Vec<&'static str> {
    hits.iter()
        .map(|&(g, s)| catalogue().scope(g, s).unwrap().name.as_str())
        .collect()
}

#[test]
fn filter_empty_query_matches_everything_in_order() {
    let all = filter("");
    assert_eq!(all.len(), catalogue().len());
    assert_eq!(filter("   \t"), all);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
}

#[test]
fn filter_matches_name_description_and_group_case_insensitively() {
    // By name.
    assert_eq!(
        names(&filter("fullaccess")),
        [
            "ZohoBooks.fullaccess.all",
            "ZohoInvoice.fullaccess.all",
            "ZohoInventory.FullAccess.all",
            "ZohoExpense.fullaccess.ALL",
        ]
    );
    // By description: "webhook" appears only in CRM notification descriptions.
    let hits = names(&filter("WEBHOOK"));
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|n| n.starts_with("ZohoCRM.notifications.")));
    // By group name: "people" matches every ZOHOPEOPLE scope via the group "Zoho People".
    let people = names(&filter("people"));
    assert!(
        people
            .iter()
            .filter(|n| n.starts_with("ZOHOPEOPLE."))
            .count()
            == 8
    );
}

#[test]
fn filter_requires_every_term() {
    assert_eq!(
        names(&filter("books invoices read")),
        ["ZohoBooks.invoices.READ"]
    );
    assert_eq!(
        names(&filter("  Leads   all ")),
        ["ZohoCRM.modules.leads.ALL"]
    );
    assert_eq!(names(&filter("crm org read")), ["ZohoCRM.org.READ"]);
    assert!(filter("books zzzz-no-such-thing").is_empty());
    assert!(filter("xyzzy").is_empty());
}

#[test]
fn filter_is_fast_enough_per_keystroke() {
    // Loose bound (debug build, shared machine): 200 filters over the whole catalogue.
    let _ = catalogue();
    let start = std::time::Instant::now();
    for q in [
        "b",
        "bo",
        "boo",
        "book",
        "books",
        "books in",
        "books inv",
        "books invoices",
    ]
    .iter()
    .cycle()
    .take(200)
    {
        std::hint::black_box(filter(q));
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn catalogue_serialises_to_json_with_product_codes() {
    let json = serde_json::to_value(catalogue()).unwrap();
    assert_eq!(json["groups"][0]["product"], "books");
    assert_eq!(
        json["groups"][0]["scopes"][0]["name"],
        "ZohoBooks.fullaccess.all"
    );
    let last = catalogue().groups.len() - 1;
    assert!(json["groups"][last]["product"].is_null());
}
