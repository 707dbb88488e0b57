//! The one save path (`auth::save`): a plan the wizard previews and every command applies; the
//! keychain marker follows where the secrets are; the keychain fails closed (tests/cli.rs `keychain_unavailable_fails_closed_...`, a process with no
//! keychain). The keychain here is
//! keyring-core's in-memory mock store (one per process: each test uses its own client id).

use zoho_auth::auth::save::{self, Destination, EnvValue, NewGrant, SecretsIn};
use zoho_auth::auth::target::Choice;
use zoho_auth::auth::{Dc, Secret, keys, saved, store};

fn token(seed: char) -> Secret {
    let hex: String = std::iter::repeat_n(seed, 32).collect();
    Secret::new(format!("1000.{hex}.{hex}"))
}

fn grant(client_id: &str, secret: char, refresh: char) -> NewGrant {
    NewGrant {
        client_id: client_id.to_string(),
        client_secret: Secret::new(std::iter::repeat_n(secret, 42).collect::<String>()),
        refresh_token: token(refresh),
        dc: Some(Dc::Eu),
        accounts_url: "https://accounts.zoho.eu".into(),
        api_domain: Some("https://www.zohoapis.eu".into()),
        scopes: Some("ZohoBooks.fullaccess.all".into()),
        organization_id: Some("10234695".into()),
    }
}

fn dest(path: &std::path::Path) -> Destination<'_> {
    Destination {
        env_path: path,
        appsettings: None,
        add_to_gitignore: false,
        expect: save::Expect::Anything,
    }
}

#[test]
fn the_plan_lists_every_key_in_one_order() {
    let plan = save::plan(
        &grant("1000.PLANORDER", 'a', 'b'),
        SecretsIn::EnvFile,
        false,
    );
    let keys: Vec<&str> = plan.updates.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            keys::CLIENT_ID,
            keys::CLIENT_SECRET,
            keys::REFRESH_TOKEN,
            keys::DC,
            keys::ACCOUNTS_URL,
            keys::API_DOMAIN,
            keys::SCOPES,
            keys::ORGANIZATION_ID
        ]
    );
    assert!(plan.keychain.is_empty());
    assert!(matches!(plan.updates[1].1, EnvValue::Secret(_)));
}

#[test]
fn a_keychain_plan_keeps_the_secrets_out_of_the_file_and_a_file_plan_drops_the_marker() {
    let keychain = save::plan(&grant("1000.PLANKC", 'a', 'b'), SecretsIn::Keychain, false);
    assert!(
        keychain
            .updates
            .contains(&(keys::CLIENT_SECRET.into(), EnvValue::Remove))
    );
    assert!(
        keychain
            .updates
            .contains(&(keys::REFRESH_TOKEN.into(), EnvValue::Remove))
    );
    assert!(keychain.updates.contains(&(
        keys::SECRET_STORE.into(),
        EnvValue::Plain("keychain".into())
    )));
    assert_eq!(keychain.keychain.len(), 2);
    let file = save::plan(&grant("1000.PLANKC", 'a', 'b'), SecretsIn::EnvFile, true);
    assert!(
        file.updates
            .contains(&(keys::SECRET_STORE.into(), EnvValue::Remove))
    );
}

/// Issue 12 item 1 in-process: keychain first, then the file; the reader then takes the file's
/// secrets, not the keychain's older ones.
#[test]
fn keychain_then_file_leaves_no_marker_and_the_reader_uses_the_file() {
    store::use_mock_store();
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, "# app\nPORT=1\n").unwrap();
    let id = "1000.KEYCHAINTHENFILE00000000000000";
    let first = save::apply(
        &save::plan(&grant(id, 'a', 'b'), SecretsIn::Keychain, false),
        &dest(&env),
    )
    .unwrap();
    assert!(first.keychain);
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(text.contains("ZOHO_SECRET_STORE=keychain"), "{text}");
    assert!(!text.contains("ZOHO_REFRESH_TOKEN"), "{text}");

    let had_marker = saved::load_env(&env)
        .unwrap()
        .and_then(|f| f.get(keys::SECRET_STORE))
        .is_some();
    let second = save::apply(
        &save::plan(&grant(id, 'c', 'd'), SecretsIn::EnvFile, had_marker),
        &dest(&env),
    )
    .unwrap();
    assert!(!second.keychain);
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(!text.contains("ZOHO_SECRET_STORE"), "{text}");
    assert!(text.starts_with("# app\nPORT=1\n"), "{text}");

    let read = saved::read(&env, &Choice::default()).unwrap();
    assert!(!read.keychain);
    assert_eq!(read.refresh_token, token('d'), "the file's new token");
    assert_eq!(
        read.creds.client_secret.expose(),
        std::iter::repeat_n('c', 42).collect::<String>()
    );
}
