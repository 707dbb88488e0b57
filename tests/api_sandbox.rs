//! `zoho-auth api --paginate` against the built-in sandbox's module endpoints (not a stand-in
//! server): every record of Books invoices (450), CRM leads (2,500: `page_token` past 2,000) and
//! Desk tickets (250) arrives in one JSON document, CRM's 204 is an empty list, and a module scope
//! the grant lacks is named.

mod support;

use support::World;
use zoho_auth::sandbox::Module;

const SCOPES: &str = "ZohoBooks.fullaccess.all,ZohoCRM.modules.leads.READ,ZohoCRM.modules.contacts.READ,Desk.tickets.READ,Desk.basic.READ";

async fn granted() -> World {
    let w = World::start().await;
    let run = w.exchange(SCOPES, &["--product", "books"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    w
}

fn count(run: &support::Run, list: &str) -> usize {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} list: {}", run.stdout))
        .len()
}

#[tokio::test]
async fn every_record_of_books_crm_and_desk_in_one_document() {
    let w = granted().await;
    let books = w.run(&["api", "/books/v3/invoices", "--paginate"]).await;
    assert_eq!(count(&books, "invoices"), 450);
    let leads = w
        .run(&[
            "api",
            "/crm/v8/Leads",
            "-f",
            "fields=Last_Name",
            "--paginate",
        ])
        .await;
    assert_eq!(count(&leads, "data"), 2_500);
    let desk_org = w.run(&["api", "/api/v1/organizations"]).await;
    let org_id = desk_org.json()["data"][0]["id"]
        .as_str()
        .expect("a Desk organization")
        .to_string();
    let tickets = w
        .run(&[
            "api",
            "/api/v1/tickets",
            "-H",
            &format!("orgId: {org_id}"),
            "--paginate",
        ])
        .await;
    assert_eq!(count(&tickets, "data"), 250);
}

#[tokio::test]
async fn an_empty_crm_module_is_an_empty_list_and_a_missing_scope_is_named() {
    let w = granted().await;
    w.sandbox.control().set_record_count(Module::CrmContacts, 0);
    let contacts = w
        .run(&[
            "api",
            "/crm/v8/Contacts",
            "-f",
            "fields=Last_Name",
            "--paginate",
        ])
        .await;
    assert_eq!(count(&contacts, "data"), 0);
    // The grant reads leads only: creating one is refused, and the scope it needs is named.
    let create = w
        .run_stdin(
            &["api", "/crm/v8/Leads", "--input", "-"],
            r#"{"data":[{"Last_Name":"Doe"}]}"#,
        )
        .await;
    assert_eq!(create.code, 4, "{}", create.stderr);
    assert!(
        create.stderr.contains("ZohoCRM.modules.leads.CREATE"),
        "{}",
        create.stderr
    );
}
