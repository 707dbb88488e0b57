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
use super::printable::printable;
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
    /// What the env file held when the command read it; see [`Expect`].
    pub expect: Expect<'a>,
}

/// The env file as the command found it when it started. A save that expects a refresh token
/// writes only if the file still holds it (`None`: no refresh token), under the file's lock: when
/// another command saved a token meanwhile, that one stays and [`apply`] fails with
/// [`EnvError::Changed`] (two exchanges racing cannot overwrite each other's token silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect<'a> {
    /// Write whatever the file holds now.
    Anything,
    /// The refresh token the file held (`None`: none).
    RefreshToken(Option<&'a Secret>),
}

impl<'a> Expect<'a> {
    /// The refresh token an env file held when read (`None`: no file, or no token in it).
    pub fn held(file: Option<&envfile::EnvFile>) -> Option<Secret> {
        file.and_then(|f| f.get(keys::REFRESH_TOKEN))
            .map(Secret::new)
    }

    fn guard(&self) -> Option<(&'static str, Option<&'a str>)> {
        match self {
            Expect::Anything => None,
            Expect::RefreshToken(held) => Some((keys::REFRESH_TOKEN, held.map(Secret::expose))),
        }
    }
}

/// What a save changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub env_path: PathBuf,
    pub changes: Vec<Change>,
    /// The keys the plan wrote (not those it removed), in order.
    pub keys: Vec<String>,
    /// The copy of the previous env file (beside the file actually rewritten, a symlink's target
    /// for a linked env file), when there was one and it changed.
    pub backup: Option<PathBuf>,
    /// The `.gitignore` that got the backup's line during this save, if one did.
    pub backup_gitignore: Option<PathBuf>,
    /// The secrets went to the OS keychain.
    pub keychain: bool,
    pub appsettings: Option<PathBuf>,
    pub gitignore_added: bool,
}

impl Report {
    /// The lines every command that writes prints (and the wizard shows): where the previous file
    /// is kept, and the `.gitignore` that now keeps it out of git. Paths are shown printable.
    pub fn backup_lines(&self) -> Vec<String> {
        let mut lines = vec![];
        if let Some(b) = &self.backup {
            lines.push(format!(
                "the previous file is kept as {}",
                printable(&b.display().to_string())
            ));
        }
        if let Some(g) = &self.backup_gitignore {
            lines.push(format!(
                "added the backup to {} so git does not show it",
                printable(&g.display().to_string())
            ));
        }
        lines
    }
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
            SaveError::EnvFile(EnvError::Changed { path, .. }) => Diagnosis::new(
                Code::ServerError,
                format!(
                    "Another command saved a refresh token to {} while this one ran; that token stays, and this command's new token was not saved.",
                    printable(&path.display().to_string())
                ),
                "Run `zoho-auth check` to see whether the saved grant works; run this command again (with a new code) only if you want to replace it.",
            ),
            // Another command held the file's lock for 30 s: store trouble, as the contract says.
            SaveError::EnvFile(e @ EnvError::Busy { .. }) => Diagnosis::new(
                Code::ServerError,
                e.to_string(),
                "Let the other zoho-auth command finish, then run again with a new code.",
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

/// What is known of a save before a code is sent or a sign-in starts: the non-secret values that
/// will be written, where the secrets go, and the destination.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    pub client_id: &'a str,
    pub accounts_url: &'a str,
    pub scopes: &'a [String],
    pub secrets_in: SecretsIn,
    pub dest: Destination<'a>,
}

/// Checks that the save of a new grant can succeed, before anything is sent that cannot be taken
/// back (a one-time code, a device or browser sign-in): the env file with the real client id,
/// accounts URL and scopes plus values of the secrets' shape ([`envfile::preflight`]: a regular
/// file or missing, a writable folder, room for the backup, values that read back); the keychain
/// when asked for (fails closed); the appsettings.json. Writes nothing.
pub fn preflight(intent: &Intent<'_>) -> Result<(), SaveError> {
    // Shapes as Zoho issues them, longer than any real one, so room and quoting are checked.
    let token = Secret::new(format!("1000.{}.{}", "f".repeat(40), "f".repeat(40)));
    let grant = NewGrant {
        client_id: intent.client_id.to_string(),
        client_secret: Secret::new("f".repeat(64)),
        refresh_token: token.clone(),
        dc: Some(Dc::Us),
        accounts_url: intent.accounts_url.to_string(),
        api_domain: Some("https://www.zohoapis.com.au".to_string()),
        scopes: (!intent.scopes.is_empty()).then(|| intent.scopes.join(",")),
        organization_id: Some("9".repeat(20)),
    };
    // The file-mode plan writes every key the keychain-mode one does, and more.
    let plan = plan(&grant, SecretsIn::EnvFile, true);
    if intent.secrets_in == SecretsIn::Keychain {
        store::keychain_ready().map_err(SaveError::Keychain)?;
    }
    let values = env_values(&plan);
    envfile::preflight(intent.dest.env_path, &values)?;
    if let Some(path) = intent.dest.appsettings {
        envfile::check_writable(path, 4096).map_err(SaveError::EnvFile)?;
    }
    Ok(())
}

fn env_values(plan: &Plan) -> Vec<(&str, Option<&str>)> {
    plan.updates
        .iter()
        .map(|(k, v)| {
            let value = match v {
                EnvValue::Plain(s) => Some(s.as_str()),
                EnvValue::Secret(s) => Some(s.expose()),
                EnvValue::Remove => None,
            };
            (k.as_str(), value)
        })
        .collect()
}

/// Writes a plan: the keychain first (each secret read back), then the env file in one atomic
/// write, then the appsettings.json and `.gitignore` when asked.
pub fn apply(plan: &Plan, dest: &Destination<'_>) -> Result<Report, SaveError> {
    let values = env_values(plan);
    let keychain = !plan.keychain.is_empty();
    let guard = dest.expect.guard();
    let written = if keychain {
        let secrets: Vec<(&str, &Secret)> =
            plan.keychain.iter().map(|(k, v)| (k.as_str(), v)).collect();
        store::keychain_ready()
            .and_then(|()| {
                store::save_with_keychain_guarded(
                    dest.env_path,
                    &plan.client_id,
                    &secrets,
                    &values,
                    guard,
                )
            })
            .map_err(|e| match e {
                StoreError::EnvFile(e) => SaveError::EnvFile(e),
                other => SaveError::Keychain(other),
            })?
    } else {
        match guard {
            Some((key, expected)) => {
                envfile::update_if_unchanged(dest.env_path, key, expected, &values)?
            }
            None => envfile::update_with_report(dest.env_path, &values)?,
        }
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
        changes: written.changes,
        keys: plan
            .updates
            .iter()
            .filter(|(_, v)| !matches!(v, EnvValue::Remove))
            .map(|(k, _)| k.clone())
            .collect(),
        backup: written.backup,
        backup_gitignore: written.gitignore,
        keychain,
        appsettings: appsettings_written,
        gitignore_added,
    })
}
