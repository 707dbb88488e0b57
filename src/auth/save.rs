//! Saving a new grant, in one place: from a new grant and a destination (the env file, with the
//! secrets there or in the OS keychain; an appsettings.json besides; the SQL stores plug in as
//! one more destination) to a report of what changed. [`plan`] is pure, so the wizard's Save step
//! previews exactly what [`apply`] then writes; `exchange`, `login`, `setup` and `reauth` all
//! save through it.

use std::path::{Path, PathBuf};

use super::appsettings::{self, AppSettingsError, ZohoSection};
use super::dc::Dc;
use super::diagnosis::{Code, Diagnosis};
use super::envfile::{self, Change, EnvError};
use super::keys;
use super::secret::Secret;
use super::store::{self, StoreError};

/// A value to write for one env key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// A value safe to show.
    Plain(String),
    /// A value that is masked everywhere.
    Secret(Secret),
    /// Remove the key's line.
    Remove,
}

/// Where the secrets (client secret, refresh token) go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsIn {
    /// The env file (the default).
    EnvFile,
    /// The OS keychain; the file keeps the rest and `ZOHO_SECRET_STORE=keychain`. Fails closed:
    /// without a keychain nothing is written.
    Keychain,
}

/// A verified grant, with every value as it will be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    /// Written only when known.
    pub dc: Option<Dc>,
    pub accounts_url: String,
    /// As Zoho returned it (already checked with the host rule).
    pub api_domain: Option<String>,
    /// Comma-separated.
    pub scopes: Option<String>,
    pub organization_id: Option<String>,
}

/// What a save will write: env updates in order, and the secrets bound for the keychain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub updates: Vec<(String, EnvValue)>,
    /// Secrets that go to the OS keychain instead of the file (keyed by env name).
    pub keychain: Vec<(String, Secret)>,
    pub client_id: String,
}

/// The plan of a save. `had_marker`: the env file says `ZOHO_SECRET_STORE` now; saving the
/// secrets to the file removes it, or `check` and `token` would keep reading the keychain's old
/// secrets.
pub fn plan(grant: &NewGrant, secrets_in: SecretsIn, had_marker: bool) -> Plan {
    let mut updates: Vec<(String, EnvValue)> = vec![];
    let plain = |k: &str, v: String| (k.to_string(), EnvValue::Plain(v));
    updates.push(plain(keys::CLIENT_ID, grant.client_id.clone()));
    let keychain = match secrets_in {
        SecretsIn::Keychain => {
            updates.push((keys::CLIENT_SECRET.into(), EnvValue::Remove));
            updates.push((keys::REFRESH_TOKEN.into(), EnvValue::Remove));
            updates.push(plain(keys::SECRET_STORE, store::KEYCHAIN.into()));
            vec![
                (keys::CLIENT_SECRET.to_string(), grant.client_secret.clone()),
                (keys::REFRESH_TOKEN.to_string(), grant.refresh_token.clone()),
            ]
        }
        SecretsIn::EnvFile => {
            updates.push((
                keys::CLIENT_SECRET.into(),
                EnvValue::Secret(grant.client_secret.clone()),
            ));
            updates.push((
                keys::REFRESH_TOKEN.into(),
                EnvValue::Secret(grant.refresh_token.clone()),
            ));
            if had_marker {
                updates.push((keys::SECRET_STORE.into(), EnvValue::Remove));
            }
            vec![]
        }
    };
    if let Some(dc) = grant.dc {
        updates.push(plain(keys::DC, dc.code().into()));
    }
    updates.push(plain(keys::ACCOUNTS_URL, grant.accounts_url.clone()));
    if let Some(api) = &grant.api_domain {
        updates.push(plain(keys::API_DOMAIN, api.clone()));
    }
    if let Some(scopes) = &grant.scopes {
        updates.push(plain(keys::SCOPES, scopes.clone()));
    }
    if let Some(org) = &grant.organization_id {
        updates.push(plain(keys::ORGANIZATION_ID, org.clone()));
    }
    Plan {
        updates,
        keychain,
        client_id: grant.client_id.clone(),
    }
}

impl Plan {
    /// The value the plan gives `key` (in the file or the keychain).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.keychain
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.expose())
            .or_else(|| {
                self.updates
                    .iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| match v {
                        EnvValue::Plain(s) => Some(s.as_str()),
                        EnvValue::Secret(s) => Some(s.expose()),
                        EnvValue::Remove => None,
                    })
            })
    }
}

/// Where a save goes besides the plan's env file.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub env_path: &'a Path,
    /// Also merge a `Zoho` section into this .NET appsettings.json.
    pub appsettings: Option<&'a Path>,
    /// Add the env file to `.gitignore` (the wizard's offer).
    pub add_to_gitignore: bool,
}

/// What a save changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub env_path: PathBuf,
    pub changes: Vec<Change>,
    /// The keys the plan wrote (not those it removed), in order.
    pub keys: Vec<String>,
    /// The previous env file, when there was one.
    pub backup: Option<PathBuf>,
    /// The secrets went to the OS keychain.
    pub keychain: bool,
    pub appsettings: Option<PathBuf>,
    pub gitignore_added: bool,
}

/// Why a save failed. Nothing was written to the env file in any case but `AppSettings`.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The keychain was asked for and cannot take the secrets: fail closed.
    #[error("{0}")]
    Keychain(StoreError),
    /// The env file could not be written.
    #[error(transparent)]
    EnvFile(#[from] EnvError),
    /// The env file was written; the appsettings.json was not.
    #[error("{0}")]
    AppSettings(AppSettingsError),
}

impl SaveError {
    /// The diagnosis to show. A keychain that cannot be written is "a store that cannot be
    /// written" in the contract's table: exit 5 (store trouble), not 2 — the command line was
    /// right, the machine lacks the store. An env file that cannot be written stays exit 2 (a
    /// path or permission the user must fix), as before.
    pub fn diagnosis(&self) -> Diagnosis {
        match self {
            SaveError::Keychain(e) => Diagnosis::new(
                Code::ServerError,
                format!("The secrets were not saved: {e}"),
                "Run again where a keychain is available, or drop --keychain to keep the secrets in the env file (in the wizard: choose \"save to the env file instead\").",
            ),
            SaveError::EnvFile(e) => Diagnosis::new(
                Code::BadInput,
                e.to_string(),
                "Fix the problem and run again with a new code.",
            ),
            SaveError::AppSettings(e) => Diagnosis::new(
                Code::BadInput,
                e.to_string(),
                "Fix the file (it must be JSON, comments allowed) and run the exchange again with a new code; the env file was written.",
            ),
        }
    }
}

/// The OS keychain as keyring-core's default store: the one already installed (by an earlier
/// call, or a test's mock store), else the platform's. (Belongs in `store`; kept here until that
/// module is free to change.)
pub fn keychain_ready() -> Result<(), StoreError> {
    if keyring_core::get_default_store().is_some() {
        return Ok(());
    }
    store::init_default_store()
}

/// Writes a plan: the keychain first (each secret read back), then the env file in one atomic
/// write, then the appsettings.json and `.gitignore` when asked.
pub fn apply(plan: &Plan, dest: &Destination<'_>) -> Result<Report, SaveError> {
    let existed = dest.env_path.exists();
    let values: Vec<(&str, Option<&str>)> = plan
        .updates
        .iter()
        .map(|(k, v)| {
            let value = match v {
                EnvValue::Plain(s) => Some(s.as_str()),
                EnvValue::Secret(s) => Some(s.expose()),
                EnvValue::Remove => None,
            };
            (k.as_str(), value)
        })
        .collect();
    let keychain = !plan.keychain.is_empty();
    let changes = if keychain {
        let secrets: Vec<(&str, &Secret)> =
            plan.keychain.iter().map(|(k, v)| (k.as_str(), v)).collect();
        keychain_ready()
            .and_then(|()| {
                store::save_with_keychain(dest.env_path, &plan.client_id, &secrets, &values)
            })
            .map_err(|e| match e {
                StoreError::EnvFile(e) => SaveError::EnvFile(e),
                other => SaveError::Keychain(other),
            })?
    } else {
        envfile::update(dest.env_path, &values)?
    };
    let mut appsettings_written = None;
    if let Some(path) = dest.appsettings {
        let get = |k: &str| plan.value(k).unwrap_or_default().to_string();
        let section = ZohoSection {
            client_id: plan.client_id.clone(),
            client_secret: Secret::new(get(keys::CLIENT_SECRET)),
            refresh_token: Secret::new(get(keys::REFRESH_TOKEN)),
            accounts_url: get(keys::ACCOUNTS_URL),
            api_domain: get(keys::API_DOMAIN),
            organization_id: plan.value(keys::ORGANIZATION_ID).map(str::to_string),
        };
        appsettings::merge_zoho_section(path, &section).map_err(SaveError::AppSettings)?;
        appsettings_written = Some(path.to_path_buf());
    }
    let gitignore_added = dest.add_to_gitignore && envfile::add_to_gitignore(dest.env_path).is_ok();
    Ok(Report {
        env_path: dest.env_path.to_path_buf(),
        changes,
        keys: plan
            .updates
            .iter()
            .filter(|(_, v)| !matches!(v, EnvValue::Remove))
            .map(|(k, _)| k.clone())
            .collect(),
        backup: existed.then(|| envfile::backup_path(dest.env_path)),
        keychain,
        appsettings: appsettings_written,
        gitignore_added,
    })
}
