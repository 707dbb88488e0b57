//! Reading a saved grant (`auth::saved`): environment variables over the env file, the keychain
//! marker, what is missing named. One reader for check, token, revoke, reauth and the prefill.
//! Each test uses a distinct variable-free env file; the process environment is not touched
//! (tests run in parallel), so the environment-over-file order is covered by tests/cli.rs.

use zoho_auth::auth::diagnosis::Code;
use zoho_auth::auth::envfile::EnvFile;
use zoho_auth::auth::target::Choice;
use zoho_auth::auth::{Dc, keys, saved};

const ID: &str = "1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX";

fn secret() -> String {
    std::iter::repeat_n('f', 42).collect()
}

fn refresh() -> String {
    let hex: String = std::iter::repeat_n('e', 32).collect();
    format!("1000.{hex}.{hex}")
}

#[test]
fn a_complete_file_reads_with_its_target_and_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(
        &env,
        format!(
            "ZOHO_CLIENT_ID={ID}\nZOHO_CLIENT_SECRET={}\nZOHO_REFRESH_TOKEN={}\nZOHO_DC=eu\nZOHO_SCOPES=ZohoBooks.fullaccess.all\n",
            secret(),
            refresh()
        ),
    )
    .unwrap();
    let g = saved::read(&env, &Choice::default()).unwrap();
    assert_eq!(g.creds.client_id, ID);
    assert_eq!(g.refresh_token.expose(), refresh());
    assert_eq!(g.target.dc, Some(Dc::Eu));
    assert_eq!(g.target.accounts_str(), "https://accounts.zoho.eu");
    assert_eq!(g.scopes, ["ZohoBooks.fullaccess.all"]);
    assert!(!g.keychain);
}

#[test]
fn what_is_missing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, format!("ZOHO_CLIENT_ID={ID}\n")).unwrap();
    if std::env::var_os("ZOHO_CLIENT_SECRET").is_some() {
        return; // a developer's shell exports it; the CLI tests run with a clean environment
    }
    let d = saved::read(&env, &Choice::default()).err().unwrap();
    assert_eq!(d.code, Code::MissingCredentials);
    assert!(
        d.message.contains("ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN"),
        "{}",
        d.message
    );
}

#[test]
fn the_prefill_sees_the_files_keys_and_the_marker() {
    let file = EnvFile::parse(&format!(
        "OTHER=1\nZOHO_CLIENT_ID={ID}\nZOHO_SECRET_STORE=keychain\nZOHO_DC=\n"
    ));
    let values = saved::file_values(Some(&file));
    let names: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, [keys::CLIENT_ID, keys::SECRET_STORE]);
    assert!(saved::uses_keychain(Some(&file)) || std::env::var_os("ZOHO_SECRET_STORE").is_some());
    let place = saved::place(Some(&EnvFile::parse(
        "ZOHO_ACCOUNTS_URL=http://127.0.0.1:9\n",
    )));
    if std::env::var_os("ZOHO_ACCOUNTS_URL").is_none() {
        assert_eq!(place.accounts_url.as_deref(), Some("http://127.0.0.1:9"));
    }
}
