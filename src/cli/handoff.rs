//! The [`TokenSource`] of `run`, `serve` (and `api`) today: the grant of the env file (or the
//! keychain it names), the token cache shared with `token`, and one refresh under the cache's lock.
//! This is the one seam to re-point at the shared grant reader and at SQL stores: the commands
//! only ever see a `TokenSource`.

use std::sync::{Arc, OnceLock};

use url::Url;

use crate::auth::cache::{Cached, TokenCache};
use crate::auth::client::Client;
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::handoff::{AccessToken, TokenSource, Want};
use crate::auth::{flow, hosts};

use super::GlobalArgs;
use super::common::{Configured, client, load_configured, lookup, now_unix};

/// A source reading the grant afresh at every call (a re-authorized env file is picked up
/// without a restart). Fails now if no grant is configured, so a command says so before it
/// starts anything.
///
/// One HTTP client for the source's life, made at the first refresh: a cached token costs no
/// TLS setup, and `serve` refreshes every hour without setting TLS up again (milliseconds of CPU
/// on a runtime worker).
pub fn token_source(global: &GlobalArgs) -> Result<TokenSource, Diagnosis> {
    load_configured(global)?;
    let global = global.clone();
    let client: Arc<OnceLock<Client>> = Arc::new(OnceLock::new());
    Ok(TokenSource::new(move |want| {
        let global = global.clone();
        let client = client.clone();
        Box::pin(async move { access_token(&global, &client, want).await })
    }))
}

async fn access_token(
    global: &GlobalArgs,
    shared_client: &OnceLock<Client>,
    want: Want,
) -> Result<AccessToken, Diagnosis> {
    let cfg = load_configured(global)?;
    let accounts = cfg.target.accounts_str();
    let key = TokenCache::key(&accounts, &cfg.creds.client_id, &cfg.refresh_token);
    let cache = TokenCache::from_env();
    let cached = |cache: &Option<TokenCache>| -> Option<Cached> {
        let Want::Valid { min_remaining } = want else {
            return None;
        };
        let now = now_unix();
        cache
            .as_ref()
            .and_then(|c| c.read(&key, now))
            .filter(|hit| hit.expires_at > now.saturating_add(min_remaining))
    };
    if let Some(hit) = cached(&cache) {
        return handed(&cfg, hit);
    }
    // Take the lock, then look again: another process may have refreshed while we waited.
    let guard = match &cache {
        Some(c) => {
            let c = c.clone();
            let k = key.clone();
            tokio::task::spawn_blocking(move || c.lock(&k))
                .await
                .ok()
                .and_then(Result::ok)
        }
        None => None,
    };
    if let Some(hit) = cached(&cache) {
        return handed(&cfg, hit);
    }
    let client = match shared_client.get() {
        Some(client) => client,
        None => {
            let made = client(global)?;
            shared_client.get_or_init(|| made)
        }
    };
    let tokens = flow::refresh(client, &cfg.target, &cfg.creds, &cfg.refresh_token).await?;
    let fresh = Cached::new(
        &tokens.access_token,
        &tokens.api_domain,
        tokens.expires_in,
        now_unix(),
    );
    if let Some(cache) = &cache {
        let _ = cache.write(&key, &fresh);
    }
    drop(guard);
    handed(&cfg, fresh)
}

/// The token with what goes beside it. The API domain is `--api-domain` when given, else the one
/// Zoho's answer named, which must pass the host rule: a program will send the token there.
fn handed(cfg: &Configured, cached: Cached) -> Result<AccessToken, Diagnosis> {
    let api_domain = match &cfg.target.api_override {
        Some(url) => url.as_str().trim_end_matches('/').to_string(),
        None => {
            let named =
                lookup("ZOHO_API_DOMAIN", cfg.env.as_ref()).and_then(|v| Url::parse(v.trim()).ok());
            let mut chosen = vec![&cfg.target.accounts];
            chosen.extend(named.as_ref());
            hosts::named_api_domain(&cached.api_domain, &chosen)
                .map_err(|e| Diagnosis::new(Code::ServerError, format!("{e}."), e.fix()))?;
            cached.api_domain.trim().trim_end_matches('/').to_string()
        }
    };
    Ok(AccessToken {
        token: cached.access_token,
        expires_at: cached.expires_at,
        api_domain,
        dc: cfg.target.dc,
        organization_id: lookup("ZOHO_ORGANIZATION_ID", cfg.env.as_ref())
            .map(|v| v.trim().to_string()),
    })
}
