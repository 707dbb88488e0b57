//! Reading a saved grant, in one place: the environment variables first, then the env file, and
//! the OS keychain when the file says `ZOHO_SECRET_STORE=keychain`. Used by `check`, `token`,
//! `revoke`, `reauth` and the wizard's prefill. A store (`--store`) is one more source here.

use std::path::Path;

use super::client::Credentials;
use super::diagnosis::{Code, Diagnosis};
use super::envfile::{self, EnvFile};
use super::keys;
use super::sqlstore::{SqlStore, StoreError, StoredGrant};
use super::stored::{self, StoreChoice};
use super::target::{self, Choice, Target};
use super::{Secret, clean, scopes, store};

fn bad_input(message: impl Into<String>, fix: impl Into<String>) -> Diagnosis {
    Diagnosis::new(Code::BadInput, message, fix)
}

/// The env file, if it exists. Unreadable is an input error (exit 2), and so is one of the
/// environment variables that override it set to bytes that are not UTF-8: [`lookup`] would
/// otherwise skip it silently and use the file's value instead.
pub fn load_env(path: &Path) -> Result<Option<EnvFile>, Diagnosis> {
    for key in keys::ENV_OVERRIDES {
        if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(key) {
            return Err(bad_input(
                format!("{key} is set in the environment, but not to UTF-8 text."),
                format!("Set {key} to the plain value, or unset it to use the env file."),
            ));
        }
    }
    envfile::load(path).map_err(|e| {
        bad_input(
            e.to_string(),
            "Fix the file's permissions or encoding, or pass another file with --env-file.",
        )
    })
}

/// A value from the environment variable, else the env file; empty counts as absent.
pub fn lookup(key: &str, env: Option<&EnvFile>) -> Option<String> {
    std::env::var(key)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            env.and_then(|e| e.get(key))
                .filter(|v| !v.trim().is_empty())
        })
}

/// Where the saved grant says requests go, for [`target::configured`].
pub fn place(env: Option<&EnvFile>) -> target::Saved {
    target::Saved {
        accounts_url: lookup(keys::ACCOUNTS_URL, env),
        dc: lookup(keys::DC, env),
    }
}

/// The grant's keys the env file itself holds (not the environment), for the wizard's prefill
/// and its preview of what changes.
pub fn file_values(env: Option<&EnvFile>) -> Vec<(String, Secret)> {
    keys::ALL
        .iter()
        .filter_map(|k| {
            env.and_then(|f| f.get(k))
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_string(), Secret::new(v)))
        })
        .collect()
}

/// Whether the saved grant keeps its secrets in the OS keychain.
pub fn uses_keychain(env: Option<&EnvFile>) -> bool {
    lookup(keys::SECRET_STORE, env).is_some_and(|v| v.trim().eq_ignore_ascii_case(store::KEYCHAIN))
}

/// A configured grant, as `check`, `token`, `revoke` and `reauth` use it.
pub struct Configured {
    pub creds: Credentials,
    pub refresh_token: Secret,
    pub target: Target,
    pub scopes: Vec<String>,
    pub env: Option<EnvFile>,
    pub keychain: bool,
    /// `ZOHO_ORGANIZATION_ID`, or the store row's `organization_id`.
    pub organization_id: Option<String>,
    /// The saved API domain (`ZOHO_API_DOMAIN`, or the store row's `api_domain`).
    pub api_domain: Option<String>,
    /// The store the grant was read from (`--store`), when not the env file.
    pub store: Option<StoreChoice>,
}

/// Reads the grant from the environment and the env file (and the keychain when the file says
/// so); `choice` (the flags) decides where requests go before what is saved.
pub fn read(env_path: &Path, choice: &Choice) -> Result<Configured, Diagnosis> {
    if let Some(flags) = &choice.store {
        return load_stored_blocking(&flags.parse()?, choice);
    }
    let env = load_env(env_path)?;
    let target = target::configured(choice, &place(env.as_ref()))?;
    let keychain = uses_keychain(env.as_ref());
    let client_id = lookup(keys::CLIENT_ID, env.as_ref());
    let (secret, refresh) = match (&client_id, keychain) {
        (Some(id), true) => {
            store::keychain_ready().map_err(|e| {
                Diagnosis::new(
                    Code::MissingCredentials,
                    format!("The env file keeps the secrets in the OS keychain, but {e}"),
                    "Unlock or start the keychain, or run `zoho-auth setup` to store them in the env file.",
                )
            })?;
            let get = |key: &str| {
                store::load(id, key).map_err(|e| {
                    Diagnosis::new(
                        Code::MissingCredentials,
                        format!("Could not read {key} from the OS keychain: {e}"),
                        "Unlock the keychain, or run `zoho-auth setup` again.",
                    )
                })
            };
            (
                get(keys::CLIENT_SECRET)?.map(|s| s.expose().to_string()),
                get(keys::REFRESH_TOKEN)?.map(|s| s.expose().to_string()),
            )
        }
        _ => (
            lookup(keys::CLIENT_SECRET, env.as_ref()),
            lookup(keys::REFRESH_TOKEN, env.as_ref()),
        ),
    };
    let mut missing = Vec::new();
    if client_id.is_none() {
        missing.push(keys::CLIENT_ID);
    }
    if secret.is_none() {
        missing.push(keys::CLIENT_SECRET);
    }
    if refresh.is_none() {
        missing.push(keys::REFRESH_TOKEN);
    }
    if !missing.is_empty() {
        let where_ = if env.is_some() {
            format!("{} or the environment", env_path.display())
        } else {
            format!("the environment ({} does not exist)", env_path.display())
        };
        return Err(Diagnosis::new(
            Code::MissingCredentials,
            format!("{} not set in {where_}.", missing.join(", ")),
            "Run `zoho-auth setup` (or `zoho-auth exchange`) to create them, or pass --env-file with the right file.",
        ));
    }
    let creds = Credentials {
        client_id: clean::clean_client_id(client_id.as_deref().unwrap_or_default())
            .map_err(|e| bad_input(e.to_string(), "Fix ZOHO_CLIENT_ID in the env file."))?,
        client_secret: clean::clean_client_secret(secret.as_deref().unwrap_or_default())
            .map_err(|e| bad_input(e.to_string(), "Fix ZOHO_CLIENT_SECRET in the env file."))?,
    };
    let refresh_token =
        clean::clean_token(refresh.as_deref().unwrap_or_default()).map_err(|e| {
            bad_input(
                e.to_string(),
                "Fix ZOHO_REFRESH_TOKEN, or run `zoho-auth reauth`.",
            )
        })?;
    let scopes = lookup(keys::SCOPES, env.as_ref())
        .map(|s| scopes::parse_list(&s))
        .unwrap_or_default();
    Ok(Configured {
        creds,
        refresh_token,
        target,
        scopes,
        organization_id: lookup(keys::ORGANIZATION_ID, env.as_ref()).map(|v| v.trim().to_string()),
        api_domain: lookup(keys::API_DOMAIN, env.as_ref()).map(|v| v.trim().to_string()),
        env,
        keychain,
        store: None,
    })
}

/// The tenant's grant as a [`Configured`]: the row's accounts server, DC and API domain are where
/// requests go unless a flag says otherwise. No row: missing credentials (exit 2).
pub async fn load_stored(
    sc: &StoreChoice,
    choice: &Choice,
) -> Result<(Configured, SqlStore), Diagnosis> {
    let store = stored::open(sc).await?;
    let grant = store
        .load(&sc.tenant)
        .await
        .map_err(|e| stored::diagnosis(&e))?
        .ok_or_else(|| {
            stored::diagnosis(&StoreError::NoGrant {
                store: sc.url.to_string(),
                tenant: format!("\"{}\"", super::printable::printable(&sc.tenant)),
            })
        })?;
    Ok((stored_configured(sc, &grant, choice)?, store))
}

/// [`load_stored`] for a caller that is not async: on a thread of its own with its own runtime, so it
/// works inside any runtime (the store's connections end with that runtime).
pub fn load_stored_blocking(sc: &StoreChoice, choice: &Choice) -> Result<Configured, Diagnosis> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    Diagnosis::new(
                        Code::ServerError,
                        format!("internal error: cannot start the store's runtime: {e}"),
                        "This is a bug in zoho-auth; please report it.",
                    )
                })?;
            rt.block_on(async {
                let (cfg, store) = load_stored(sc, choice).await?;
                store.close().await;
                Ok(cfg)
            })
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Diagnosis::new(
                Code::ServerError,
                "internal error: reading the store failed unexpectedly.",
                "This is a bug in zoho-auth; please report it.",
            ))
        })
    })
}

/// A stored grant as the commands use it.
pub fn stored_configured(
    sc: &StoreChoice,
    grant: &StoredGrant,
    choice: &Choice,
) -> Result<Configured, Diagnosis> {
    let target = target::configured(
        choice,
        &target::Saved {
            accounts_url: Some(grant.accounts_url.clone()).filter(|a| !a.is_empty()),
            dc: grant.dc.map(|d| d.code().to_string()),
        },
    )?;
    Ok(Configured {
        creds: Credentials {
            client_id: grant.client_id.clone(),
            client_secret: grant.client_secret.clone(),
        },
        refresh_token: grant.refresh_token.clone(),
        target,
        scopes: grant.scopes.clone(),
        env: None,
        keychain: false,
        organization_id: grant.organization_id.clone(),
        api_domain: Some(grant.api_domain.clone()).filter(|a| !a.is_empty()),
        store: Some(StoreChoice {
            requests: Choice {
                store: None,
                ..choice.clone()
            },
            ..sc.clone()
        }),
    })
}
