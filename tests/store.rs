//! Secret storage against keyring-core's mock store: round trips, injected failures surfacing as
//! plain `StoreError`s without the secret, and the env file after keychain storage.

use std::fs;

use keyring_core::{Entry, Error, mock};
use pretty_assertions::assert_eq;
use zoho_auth::auth::Secret;
use zoho_auth::auth::envfile::{self, EnvFile};
use zoho_auth::auth::store::{self, SERVICE, StoreError};

/// Makes the next call on this entry fail with `err`.
fn inject(client_id: &str, key: &str, err: Error) {
    let entry = Entry::new(SERVICE, &store::entry_user(client_id, key)).unwrap();
    let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
    cred.set_error(err);
}

#[test]
fn save_load_delete_round_trip() {
    store::use_mock_store();
    let id = "1000.ROUNDTRIP";
    assert_eq!(store::load(id, "ZOHO_REFRESH_TOKEN").unwrap(), None);
    store::save(id, "ZOHO_REFRESH_TOKEN", &Secret::new("1000.aaa.bbb")).unwrap();
    store::save(id, "ZOHO_CLIENT_SECRET", &Secret::new("s3cr3t")).unwrap();
    assert_eq!(
        store::load(id, "ZOHO_REFRESH_TOKEN").unwrap(),
        Some(Secret::new("1000.aaa.bbb"))
    );
    store::save(id, "ZOHO_REFRESH_TOKEN", &Secret::new("1000.ccc.ddd")).unwrap();
    assert_eq!(
        store::load(id, "ZOHO_REFRESH_TOKEN").unwrap(),
        Some(Secret::new("1000.ccc.ddd"))
    );
    // Entries are per client id and key.
    assert_eq!(
        store::load("1000.OTHER", "ZOHO_REFRESH_TOKEN").unwrap(),
        None
    );
    assert_eq!(
        store::load(id, "ZOHO_CLIENT_SECRET").unwrap(),
        Some(Secret::new("s3cr3t"))
    );
    store::delete(id, "ZOHO_REFRESH_TOKEN").unwrap();
    assert_eq!(store::load(id, "ZOHO_REFRESH_TOKEN").unwrap(), None);
    store::delete(id, "ZOHO_REFRESH_TOKEN").unwrap(); // deleting twice is fine
}

#[test]
fn injected_failures_are_plain_store_errors() {
    store::use_mock_store();
    let id = "1000.FAILURES";
    let key = "ZOHO_REFRESH_TOKEN";
    let secret = "1000.topsecret.value";
    store::save(id, key, &Secret::new(secret)).unwrap();

    inject(
        id,
        key,
        Error::NoStorageAccess("the keychain is locked".into()),
    );
    let err = store::load(id, key).unwrap_err();
    assert!(matches!(err, StoreError::Denied { .. }), "{err:?}");
    assert!(err.to_string().contains("locked"), "{err}");
    assert!(err.to_string().contains("Unlock"), "{err}");

    inject(id, key, Error::BadEncoding(secret.as_bytes().to_vec()));
    let err = store::load(id, key).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(
            !shown.contains("116, 111, 112"),
            "no bytes of it either: {shown}"
        );
    }

    inject(id, key, Error::PlatformFailure("dbus went away".into()));
    let err = store::save(id, key, &Secret::new("1000.new")).unwrap_err();
    assert!(matches!(err, StoreError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains("dbus went away"), "{err}");
    // The failed save did not change the stored value; the error was consumed.
    assert_eq!(store::load(id, key).unwrap(), Some(Secret::new(secret)));

    inject(id, key, Error::NoStorageAccess("denied".into()));
    assert!(matches!(
        store::delete(id, key),
        Err(StoreError::Denied { .. })
    ));
    store::delete(id, key).unwrap();
}

#[test]
fn unavailable_message_names_the_fix() {
    let err = StoreError::Unavailable("no Secret Service answered on the session D-Bus".into());
    let message = err.to_string();
    assert!(message.contains("env file"), "{message}");
    assert!(message.contains("gnome-keyring"), "{message}");
    assert!(message.contains("nothing was written"), "{message}");
}

#[test]
fn a_keychain_failure_on_a_later_secret_puts_the_earlier_one_back() {
    store::use_mock_store();
    let id = "1000.PARTIAL";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let original = "ZOHO_CLIENT_ID=1000.PARTIAL\nZOHO_SECRET_STORE=keychain\n";
    fs::write(&path, original).unwrap();
    store::save(id, "ZOHO_CLIENT_SECRET", &Secret::new("old-secret")).unwrap();
    store::save(id, "ZOHO_REFRESH_TOKEN", &Secret::new("1000.old.refresh")).unwrap();
    // The refresh token's save fails after the client secret was replaced.
    inject(
        id,
        "ZOHO_REFRESH_TOKEN",
        Error::PlatformFailure("the keychain went away".into()),
    );
    let err = store::save_with_keychain(
        &path,
        id,
        &[
            ("ZOHO_CLIENT_SECRET", &Secret::new("new-secret")),
            ("ZOHO_REFRESH_TOKEN", &Secret::new("1000.new.refresh")),
        ],
        &[("ZOHO_DC", Some("eu"))],
    );
    // The injected error is consumed by the load that remembers the old value or by the save.
    assert!(err.is_err(), "{err:?}");
    assert_eq!(
        store::load(id, "ZOHO_CLIENT_SECRET").unwrap(),
        Some(Secret::new("old-secret")),
        "the replaced secret is put back"
    );
    assert_eq!(
        store::load(id, "ZOHO_REFRESH_TOKEN").unwrap(),
        Some(Secret::new("1000.old.refresh"))
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
}

#[test]
fn an_env_file_that_cannot_be_written_leaves_the_keychain_alone() {
    store::use_mock_store();
    let id = "1000.ENVBLOCKED";
    let dir = tempfile::tempdir().unwrap();
    // A folder where the env file should be: the env file write cannot succeed.
    let path = dir.path().join(".env");
    fs::create_dir(&path).unwrap();
    store::save(id, "ZOHO_REFRESH_TOKEN", &Secret::new("1000.kept")).unwrap();
    let err = store::save_with_keychain(
        &path,
        id,
        &[("ZOHO_REFRESH_TOKEN", &Secret::new("1000.new"))],
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(err, StoreError::EnvFile(envfile::EnvError::NotAFile { .. })),
        "{err:?}"
    );
    assert_eq!(
        store::load(id, "ZOHO_REFRESH_TOKEN").unwrap(),
        Some(Secret::new("1000.kept"))
    );
}

#[test]
fn keychain_storage_leaves_only_non_secret_keys_in_the_file() {
    store::use_mock_store();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    fs::write(
        &path,
        "# app\nZOHO_CLIENT_ID=1000.KEYCHAIN\nZOHO_CLIENT_SECRET=oldsecret\nZOHO_REFRESH_TOKEN=1000.old\nPORT=1\n",
    )
    .unwrap();
    let client_secret = Secret::new("newsecret");
    let refresh = Secret::new("1000.new.refresh");
    store::save_with_keychain(
        &path,
        "1000.KEYCHAIN",
        &[
            ("ZOHO_CLIENT_SECRET", &client_secret),
            ("ZOHO_REFRESH_TOKEN", &refresh),
        ],
        &[
            ("ZOHO_CLIENT_ID", Some("1000.KEYCHAIN")),
            ("ZOHO_DC", Some("eu")),
            (
                "ZOHO_REFRESH_TOKEN",
                Some("ignored: secrets never go to the file"),
            ),
        ],
    )
    .unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "# app\nZOHO_CLIENT_ID=1000.KEYCHAIN\nPORT=1\nZOHO_DC=eu\nZOHO_SECRET_STORE=keychain\n"
    );
    let file = EnvFile::parse(&text);
    assert!(store::uses_keychain(&file));
    assert_eq!(
        store::read_secret(&file, "ZOHO_REFRESH_TOKEN").unwrap(),
        Some(refresh)
    );
    assert_eq!(
        store::read_secret(&file, "ZOHO_CLIENT_SECRET").unwrap(),
        Some(client_secret)
    );
    // Without keychain storage, secrets come from the file.
    let plain = EnvFile::parse("ZOHO_CLIENT_ID=x\nZOHO_REFRESH_TOKEN=1000.file\n");
    assert_eq!(
        store::read_secret(&plain, "ZOHO_REFRESH_TOKEN").unwrap(),
        Some(Secret::new("1000.file"))
    );
}

#[test]
fn a_keychain_failure_leaves_the_env_file_alone() {
    store::use_mock_store();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let original = "ZOHO_CLIENT_ID=1000.KCFAIL\nZOHO_REFRESH_TOKEN=1000.old\n";
    fs::write(&path, original).unwrap();
    inject(
        "1000.KCFAIL",
        "ZOHO_REFRESH_TOKEN",
        Error::NoStorageAccess("locked".into()),
    );
    let err = store::save_with_keychain(
        &path,
        "1000.KCFAIL",
        &[("ZOHO_REFRESH_TOKEN", &Secret::new("1000.new"))],
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::Denied { .. }), "{err:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    assert!(!envfile::backup_path(&path).exists());
}

#[test]
fn secret_keys_are_the_two_long_lived_secrets() {
    assert_eq!(
        store::secret_keys(),
        &["ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN"]
    );
}
/// As a child process: installs the platform store and prints the outcome.
#[test]
fn init_child() {
    if std::env::var_os("ZOHO_AUTH_TEST_INIT_CHILD").is_some() {
        match store::init_default_store() {
            Ok(()) => println!("INIT-OK"),
            Err(e) => println!("INIT-ERR {e}"),
        }
    }
}

/// The platform store either installs or fails with the plain `Unavailable` message and its fix
/// (on a headless Linux machine: no Secret Service). Run in a child process so the real store
/// never replaces the mock one here.
#[test]
fn init_default_store_is_ok_or_unavailable_with_the_fix() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "init_child", "--nocapture", "--test-threads=1"])
        .env("ZOHO_AUTH_TEST_INIT_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find("INIT-").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("child printed no outcome: {stdout}"));
    if let Some(message) = line.strip_prefix("INIT-ERR ") {
        assert!(
            message.contains("OS keychain is not available"),
            "{message}"
        );
        assert!(message.contains("env file"), "{message}");
    } else {
        assert!(line.starts_with("INIT-OK"), "{line}");
    }
}
