//! Where secrets live: the env file by default, the OS keychain as an option (keyring-core with the
//! platform's store: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
//! A keychain entry is service `zoho-auth`, user `<client_id>:<KEY>`. With keychain storage the env
//! file holds the non-secret keys plus `ZOHO_SECRET_STORE=keychain`.

use std::path::Path;
use std::sync::OnceLock;

use keyring_core::{Entry, Error};

use crate::auth::envfile::{self, Change, EnvError, EnvFile, Written};
use crate::auth::secret::Secret;

/// The keychain service name of every entry.
pub const SERVICE: &str = "zoho-auth";

/// The env key that says where the secrets are.
pub const SECRET_STORE_KEY: &str = super::keys::SECRET_STORE;

/// The value of [`SECRET_STORE_KEY`] when the secrets are in the keychain.
pub const KEYCHAIN: &str = "keychain";

/// The env keys that move to the keychain with keychain storage.
pub fn secret_keys() -> &'static [&'static str] {
    &[super::keys::CLIENT_SECRET, super::keys::REFRESH_TOKEN]
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No keychain can be reached on this machine (e.g. headless Linux without a Secret Service).
    #[error(
        "the OS keychain is not available ({0}), so nothing was stored in it and nothing was written to the env file. Keep the secrets in the env file instead (mode 0600; run without --keychain), or start a Secret Service such as gnome-keyring (in a desktop session, or with dbus-run-session) and run again."
    )]
    Unavailable(String),
    /// The keychain is there but refused access (locked, or access denied).
    #[error(
        "the OS keychain refused access to {key} ({reason}). Unlock the keychain or allow zoho-auth to use it, then run again; or keep the secrets in the env file."
    )]
    Denied { key: String, reason: String },
    /// The stored value cannot be read back as text.
    #[error(
        "the keychain entry for {key} (service \"zoho-auth\") is damaged. Delete it in your keychain app and run `zoho-auth setup` again."
    )]
    Damaged { key: String },
    /// Several keychain entries match one key.
    #[error(
        "several keychain entries match {key} (service \"zoho-auth\"). Delete the duplicates in your keychain app and run again."
    )]
    Ambiguous { key: String },
    /// Any other keychain failure.
    #[error(
        "the OS keychain failed on {key} ({reason}). Try again, or keep the secrets in the env file."
    )]
    Failed { key: String, reason: String },
    /// The env file could not be read or written.
    #[error(transparent)]
    EnvFile(#[from] EnvError),
}

/// Maps a keychain error to what the user can do about it. The error's payload (which may hold the
/// secret's bytes) is never kept.
fn store_error(key: &str, err: Error) -> StoreError {
    let key = key.to_string();
    match err {
        Error::NoDefaultStore => StoreError::Unavailable("no keychain store was set up".into()),
        Error::NoStorageAccess(e) => StoreError::Denied {
            key,
            reason: e.to_string(),
        },
        Error::BadEncoding(_) | Error::BadDataFormat(_, _) => StoreError::Damaged { key },
        Error::Ambiguous(_) => StoreError::Ambiguous { key },
        Error::PlatformFailure(e) => StoreError::Failed {
            key,
            reason: e.to_string(),
        },
        Error::TooLong(name, limit) => StoreError::Failed {
            key,
            reason: format!("{name} is longer than the keychain's limit of {limit}"),
        },
        Error::Invalid(name, reason) => StoreError::Failed {
            key,
            reason: format!("{name} is invalid: {reason}"),
        },
        Error::NotSupportedByStore(reason) => StoreError::Failed { key, reason },
        Error::NoEntry => StoreError::Failed {
            key,
            reason: "no such entry".into(),
        },
        other => StoreError::Failed {
            key,
            reason: other.to_string(),
        },
    }
}

/// Installs the platform's keychain as keyring-core's default store.
pub fn init_default_store() -> Result<(), StoreError> {
    #[cfg(target_os = "linux")]
    {
        let store = zbus_secret_service_keyring_store::Store::new()
            .map_err(|e| StoreError::Unavailable(linux_reason(&e.to_string())))?;
        keyring_core::set_default_store(store);
        Ok(())
    }
    #[cfg(target_os = "macos")]
    {
        let store = apple_native_keyring_store::keychain::Store::new()
            .map_err(|e| StoreError::Unavailable(format!("the macOS Keychain: {e}")))?;
        keyring_core::set_default_store(store);
        Ok(())
    }
    #[cfg(windows)]
    {
        let store = windows_native_keyring_store::Store::new()
            .map_err(|e| StoreError::Unavailable(format!("the Windows Credential Manager: {e}")))?;
        keyring_core::set_default_store(store);
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        Err(StoreError::Unavailable(
            "this operating system has no supported keychain".into(),
        ))
    }
}

/// Why the Secret Service could not be reached, in the user's terms: no session bus at all (SSH,
/// containers, CI, cron) is the common case and says so.
#[cfg(target_os = "linux")]
fn linux_reason(detail: &str) -> String {
    let address = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|v| !v.is_empty());
    match address {
        None => format!(
            "this session has no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set, as in SSH, container, CI and cron sessions), so no Secret Service can answer: {detail}"
        ),
        Some(_) => format!("no Secret Service answered on the session D-Bus: {detail}"),
    }
}

/// Installs keyring-core's in-memory mock store (for tests). Installed once per process, so tests
/// running in parallel share it; give each test its own client id.
pub fn use_mock_store() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let store = keyring_core::mock::Store::new().expect("the mock store always builds");
        keyring_core::set_default_store(store);
    });
}

/// The keychain user of an entry: `<client_id>:<KEY>`.
pub fn entry_user(client_id: &str, key: &str) -> String {
    format!("{client_id}:{key}")
}

fn entry(client_id: &str, key: &str) -> Result<Entry, StoreError> {
    Entry::new(SERVICE, &entry_user(client_id, key)).map_err(|e| store_error(key, e))
}

/// Stores a secret in the keychain, replacing any previous value.
pub fn save(client_id: &str, key: &str, value: &Secret) -> Result<(), StoreError> {
    entry(client_id, key)?
        .set_password(value.expose())
        .map_err(|e| store_error(key, e))
}

/// Reads a secret from the keychain; `None` when there is no entry.
pub fn load(client_id: &str, key: &str) -> Result<Option<Secret>, StoreError> {
    match entry(client_id, key)?.get_password() {
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(Error::NoEntry) => Ok(None),
        Err(e) => Err(store_error(key, e)),
    }
}

/// Deletes a secret from the keychain. Deleting a missing entry succeeds.
pub fn delete(client_id: &str, key: &str) -> Result<(), StoreError> {
    match entry(client_id, key)?.delete_credential() {
        Ok(()) | Err(Error::NoEntry) => Ok(()),
        Err(e) => Err(store_error(key, e)),
    }
}

/// Whether the env file says its secrets are in the keychain.
pub fn uses_keychain(file: &EnvFile) -> bool {
    file.get(SECRET_STORE_KEY)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(KEYCHAIN))
}

/// A secret for `key`: from the keychain when the file says so (`ZOHO_SECRET_STORE=keychain`,
/// entry user `<ZOHO_CLIENT_ID>:<key>`), else from the file itself.
pub fn read_secret(file: &EnvFile, key: &str) -> Result<Option<Secret>, StoreError> {
    if uses_keychain(file) && secret_keys().contains(&key) {
        let Some(client_id) = file.get(super::keys::CLIENT_ID) else {
            return Ok(None);
        };
        load(&client_id, key)
    } else {
        Ok(file.get(key).filter(|v| !v.is_empty()).map(Secret::new))
    }
}

/// Saves with keychain storage: the secrets go to the keychain first (each read back to check),
/// then the env file gets `updates`, `ZOHO_SECRET_STORE=keychain`, and loses its secret keys.
/// The env file's write is checked first ([`envfile::preflight`]), so a file that cannot be
/// written leaves the keychain alone. A keychain failure leaves the env file as it was and puts
/// back the keychain values it had replaced.
pub fn save_with_keychain(
    env_path: &Path,
    client_id: &str,
    secrets: &[(&str, &Secret)],
    updates: &[(&str, Option<&str>)],
) -> Result<Vec<Change>, StoreError> {
    save_with_keychain_report(env_path, client_id, secrets, updates).map(|w| w.changes)
}

/// [`save_with_keychain`], reporting where the env file's backup is (see [`Written`]).
pub fn save_with_keychain_report(
    env_path: &Path,
    client_id: &str,
    secrets: &[(&str, &Secret)],
    updates: &[(&str, Option<&str>)],
) -> Result<Written, StoreError> {
    save_with_keychain_guarded(env_path, client_id, secrets, updates, None)
}

/// The OS keychain as keyring-core's default store: the one already installed (by an earlier
/// call, or a test's mock store), else the platform's.
pub fn keychain_ready() -> Result<(), StoreError> {
    if keyring_core::get_default_store().is_some() {
        return Ok(());
    }
    init_default_store()
}

/// [`save_with_keychain_report`] whose env-file write is a compare and swap
/// ([`envfile::update_if_unchanged`]): `guard` is a key and the value it must still have. When
/// another command changed it meanwhile ([`EnvError::Changed`]), the keychain values are put
/// back and nothing is written. Two keychain saves racing each other are not told apart by the
/// env file (neither holds the refresh token there); the last keychain write wins.
pub fn save_with_keychain_guarded(
    env_path: &Path,
    client_id: &str,
    secrets: &[(&str, &Secret)],
    updates: &[(&str, Option<&str>)],
    guard: Option<(&str, Option<&str>)>,
) -> Result<Written, StoreError> {
    let mut all: Vec<(&str, Option<&str>)> = updates
        .iter()
        .filter(|(k, _)| !secret_keys().contains(k) && *k != SECRET_STORE_KEY)
        .copied()
        .collect();
    all.push((SECRET_STORE_KEY, Some(KEYCHAIN)));
    all.extend(secret_keys().iter().map(|k| (*k, None)));
    envfile::preflight(env_path, &all)?;

    let mut previous: Vec<(&str, Option<Secret>)> = Vec::new();
    for (key, _) in secrets {
        previous.push((key, load(client_id, key)?));
    }
    let saved = secrets.iter().try_for_each(|(key, value)| {
        save(client_id, key, value)?;
        if load(client_id, key)?.as_ref() != Some(*value) {
            return Err(StoreError::Failed {
                key: key.to_string(),
                reason: "the value read back differs from the one saved".into(),
            });
        }
        Ok(())
    });
    if let Err(e) = saved {
        restore(client_id, &previous);
        return Err(e);
    }
    let written = match guard {
        Some((key, expected)) => envfile::update_if_unchanged(env_path, key, expected, &all),
        None => envfile::update_with_report(env_path, &all),
    };
    match written {
        Ok(written) => Ok(written),
        Err(e) => {
            restore(client_id, &previous);
            Err(e.into())
        }
    }
}

/// Puts back the keychain values a failed save replaced (best effort: the keychain just failed).
fn restore(client_id: &str, previous: &[(&str, Option<Secret>)]) {
    for (key, value) in previous {
        let _ = match value {
            Some(v) => save(client_id, key, v),
            None => delete(client_id, key),
        };
    }
}
