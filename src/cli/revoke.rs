//! `zoho-auth revoke`: revokes the env file's refresh token at Zoho (and with it every access token
//! minted from it), then removes the `ZOHO_REFRESH_TOKEN` line, the keychain entry and the cache.

use crate::auth::cache::TokenCache;
use crate::auth::diagnosis::Diagnosis;
use crate::auth::{envfile, flow, keys, store};

use super::GlobalArgs;
use super::common::{bad_input, client, load_configured, print_diagnosis};
use super::exchange::print_changes;

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
    if cfg
        .env
        .as_ref()
        .and_then(|e| e.get(keys::REFRESH_TOKEN))
        .is_some()
    {
        let changes =
            envfile::update(&global.env_file, &[(keys::REFRESH_TOKEN, None)]).map_err(|e| {
                bad_input(
                    e.to_string(),
                    "Remove the ZOHO_REFRESH_TOKEN line by hand; the token is already dead.",
                )
            })?;
        print_changes(&global.env_file, &changes);
    }
    Ok(())
}
