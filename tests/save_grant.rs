//! The one save path (`auth::save`): a plan the wizard previews and every command applies; the
//! keychain marker follows where the secrets are; the keychain fails closed (tests/cli.rs `keychain_unavailable_fails_closed_before_the_code_is_sent`, a process with no
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

/// Issue 11 item 8: a save that expects the refresh token the file held at the start writes only
/// if the file still holds it; otherwise nothing changes and the error is `Changed`.
#[test]
fn a_save_expecting_the_old_token_loses_to_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let plan = save::plan(&grant("1000.CASGUARD", 'a', 'b'), SecretsIn::EnvFile, false);
    let old = token('c');
    let winner = format!("ZOHO_REFRESH_TOKEN={}\n", token('d').expose());
    std::fs::write(&path, &winner).unwrap();
    let expect_old = Destination {
        expect: save::Expect::RefreshToken(Some(&old)),
        ..dest(&path)
    };
    let err = save::apply(&plan, &expect_old).unwrap_err();
    assert!(
        matches!(
            err,
            save::SaveError::EnvFile(zoho_auth::auth::envfile::EnvError::Changed { .. })
        ),
        "{err}"
    );
    assert_eq!(err.diagnosis().exit_code(), 5);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), winner);

    // Expecting what the file holds, the save goes through and reports the backup.
    let held = token('d');
    let expect_held = Destination {
        expect: save::Expect::RefreshToken(Some(&held)),
        ..dest(&path)
    };
    let report = save::apply(&plan, &expect_held).unwrap();
    assert_eq!(report.backup, Some(dir.path().join(".env.bak")));
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env.bak")).unwrap(),
        winner
    );
}

/// Issue 11 item 2: the report's backup is where the copy really is: none for a new file, and
/// beside the target of a symlinked env file (not beside the link).
#[cfg(unix)]
#[test]
fn the_report_names_the_real_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let plan = save::plan(&grant("1000.BACKUPAT", 'a', 'b'), SecretsIn::EnvFile, false);
    let report = save::apply(&plan, &dest(&path)).unwrap();
    assert_eq!(report.backup, None, "no old file, no backup");
    assert!(report.backup_lines().is_empty());

    let real = dir.path().join("config");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("app.env"), "OTHER=1\n").unwrap();
    let link = dir.path().join("linked.env");
    std::os::unix::fs::symlink(real.join("app.env"), &link).unwrap();
    let report = save::apply(&plan, &dest(&link)).unwrap();
    assert_eq!(report.backup, Some(real.join("app.env.bak")));
    assert_eq!(
        std::fs::read_to_string(real.join("app.env.bak")).unwrap(),
        "OTHER=1\n"
    );
    assert!(report.backup_lines()[0].contains("app.env.bak"));
}

/// Issue 11 item 7: the check before sending refuses what the save would refuse, a missing file
/// in a good folder is fine, and nothing is written either way.
#[test]
fn preflight_checks_the_whole_save_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scopes = vec!["ZohoBooks.fullaccess.all".to_string()];
    let intent = |path| save::Intent {
        client_id: "1000.PREFLIGHT",
        accounts_url: "https://accounts.zoho.eu",
        scopes: &scopes,
        secrets_in: SecretsIn::EnvFile,
        dest: dest(path),
    };
    let fine = dir.path().join(".env");
    save::preflight(&intent(&fine)).unwrap();
    assert!(!fine.exists());

    let missing = dir.path().join("nowhere").join(".env");
    assert!(save::preflight(&intent(&missing)).is_err());

    std::fs::write(&fine, "BROKEN=\"never closed\n").unwrap();
    let err = save::preflight(&intent(&fine)).unwrap_err();
    assert!(err.to_string().contains("never closed"), "{err}");

    std::fs::write(&fine, "OTHER=1\n").unwrap();
    let settings = dir.path().join("nowhere").join("appsettings.json");
    let with_settings = save::Intent {
        dest: Destination {
            appsettings: Some(&settings),
            ..dest(&fine)
        },
        ..intent(&fine)
    };
    assert!(save::preflight(&with_settings).is_err());
    assert_eq!(std::fs::read_to_string(&fine).unwrap(), "OTHER=1\n");
}

/// Keychain mode is guarded on the env file too: a file-mode token saved meanwhile stays, and the
/// keychain entries the losing save wrote are put back.
#[test]
fn a_keychain_save_loses_to_a_newer_file_token_and_restores_the_keychain() {
    store::use_mock_store();
    let id = "1000.CASKEYCHAIN";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let winner = format!("ZOHO_REFRESH_TOKEN={}\n", token('d').expose());
    std::fs::write(&path, &winner).unwrap();
    let plan = save::plan(&grant(id, 'a', 'b'), SecretsIn::Keychain, false);
    let old = token('c');
    let err = save::apply(
        &plan,
        &Destination {
            expect: save::Expect::RefreshToken(Some(&old)),
            ..dest(&path)
        },
    )
    .unwrap_err();
    assert_eq!(err.diagnosis().exit_code(), 5, "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), winner);
    assert_eq!(store::load(id, keys::REFRESH_TOKEN).unwrap(), None);
}
