//! `zoho-auth revoke`: revokes the env file's refresh token at Zoho (and with it every access token
//! minted from it), then removes the `ZOHO_REFRESH_TOKEN` line, the keychain entry and the cache.

use crate::auth::cache::TokenCache;
use crate::auth::diagnosis::Diagnosis;
use crate::auth::envfile::{EnvError, Written};
use crate::auth::{envfile, flow, keys, save, store};

use super::GlobalArgs;
use super::common::{bad_input, client, load_configured, print_diagnosis};
use super::exchange::{print_backup, print_changes};

pub async fn run(global: &GlobalArgs) -> u8 {
    match revoke(global).await {
        Ok(()) => 0,
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}

async fn revoke(global: &GlobalArgs) -> Result<(), Diagnosis> {
    let cfg = load_configured(global)?;
    let client = client(global)?;
    let known = flow::revoke(&client, &cfg.target, &cfg.refresh_token).await?;
    if known {
        eprintln!(
            "zoho-auth: Zoho revoked the refresh token and every access token minted from it."
        );
    } else {
        eprintln!(
            "zoho-auth: Zoho did not know this refresh token (it was already revoked or deleted)."
        );
    }
    if let Some(cache) = TokenCache::from_env() {
        cache.remove(&TokenCache::key(
            &cfg.target.accounts_str(),
            &cfg.creds.client_id,
            &cfg.refresh_token,
        ));
    }
    if let Some(sc) = &cfg.store {
        return super::store::forget(sc).await;
    }
    if cfg.keychain {
        if let Err(e) = store::delete(&cfg.creds.client_id, keys::REFRESH_TOKEN) {
            eprintln!(
                "zoho-auth: warning: could not remove the refresh token from the keychain: {e}"
            );
        }
        return Ok(());
    }
    // Only the token that was revoked leaves the file: the line is removed under the file's lock
    // if it still holds that token, so a `revoke` racing an `exchange` never deletes the new one.
    let held = cfg.env.as_ref().and_then(|e| e.get(keys::REFRESH_TOKEN));
    match held {
        None => {}
        Some(held) if held != cfg.refresh_token.expose() => eprintln!(
            "zoho-auth: {} holds another refresh token (the revoked one came from the environment); it was left as it is.",
            global.env_file.display()
        ),
        Some(held) => match envfile::update_if_unchanged(
            &global.env_file,
            keys::REFRESH_TOKEN,
            Some(&held),
            &[(keys::REFRESH_TOKEN, None)],
        ) {
            Ok(written) => {
                print_changes(&global.env_file, &written.changes);
                print_backup_of(&written);
            }
            Err(EnvError::Changed { .. }) => eprintln!(
                "zoho-auth: a newer refresh token was saved to {} meanwhile; it was left as it is (the revoked one is gone anyway).",
                global.env_file.display()
            ),
            Err(e) => {
                return Err(bad_input(
                    e.to_string(),
                    "Remove the ZOHO_REFRESH_TOKEN line by hand; the token is already dead.",
                ));
            }
        },
    }
    Ok(())
}

/// Where the previous file is kept, and the `.gitignore` that keeps it out of git (the same
/// lines as every save: `save::Report::backup_lines`).
fn print_backup_of(written: &Written) {
    let report = save::Report {
        env_path: Default::default(),
        changes: vec![],
        keys: vec![],
        backup: written.backup.clone(),
        backup_gitignore: written.gitignore.clone(),
        keychain: false,
        appsettings: None,
        gitignore_added: false,
    };
    print_backup(&report);
}
