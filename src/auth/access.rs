//! An access token for a saved grant: the one use-case behind `token`, `run`, `serve` and `api`.
//! A cached token is reused while it lasts long enough; otherwise one process refreshes under the
//! cache's lock while concurrent callers wait and then reuse its token (Zoho allows 10 access
//! tokens per refresh token per 10 minutes). What goes beside the token (API domain, DC,
//! organization) is decided here too, so every command hands programs the same thing. A SQL
//! store's fleet token is the other source that plugs in here.

use url::Url;

use super::cache::{Cached, TokenCache};
use super::client::Client;
use super::diagnosis::{Code, Diagnosis};
use super::handoff::{AccessToken, Want};
use super::saved::Configured;
use super::sqlstore::{FleetError, SqlStore};
use super::stored::{self, StoreChoice};
use super::{flow, hosts};

/// Where a token came from: the cache (no request) or a refresh at Zoho.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obtained {
    Cached,
    Refreshed,
}

/// A token and how it was obtained.
#[derive(Debug, Clone)]
pub struct Granted {
    pub token: AccessToken,
    pub obtained: Obtained,
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A token for `cfg` as `want` asks. `client` is called only when a refresh is needed, so a
/// cached token costs no TLS setup.
pub async fn obtain(
    cfg: &Configured,
    client: impl FnOnce() -> Result<Client, Diagnosis>,
    want: &Want,
) -> Result<Granted, Diagnosis> {
    if let Some(sc) = &cfg.store {
        let store = stored::open(sc).await?;
        let got = from_store(sc, &store, client, want).await;
        store.close().await;
        return got;
    }
    let accounts = cfg.target.accounts_str();
    let key = TokenCache::key(&accounts, &cfg.creds.client_id, &cfg.refresh_token);
    let cache = TokenCache::from_env();
    let usable = |cache: &Option<TokenCache>| -> Option<Cached> {
        let now = now_unix();
        let hit = cache.as_ref()?.read(&key, now)?;
        match want {
            Want::Valid { min_remaining } => {
                (hit.expires_at > now.saturating_add(*min_remaining)).then_some(hit)
            }
            Want::Refresh => None,
            Want::Replace(rejected) => (&hit.access_token != rejected).then_some(hit),
        }
    };
    if let Some(hit) = usable(&cache) {
        return handed(cfg, hit, Obtained::Cached);
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
    if let Some(hit) = usable(&cache) {
        return handed(cfg, hit, Obtained::Cached);
    }
    let client = client()?;
    let tokens = flow::refresh(&client, &cfg.target, &cfg.creds, &cfg.refresh_token).await?;
    let fresh = Cached::new(
        &tokens.access_token,
        &tokens.api_domain,
        tokens.expires_in,
        now_unix(),
    );
    // Checked before it is cached: a program will send the token to this API domain.
    let granted = handed(cfg, fresh.clone(), Obtained::Refreshed)?;
    if let Some(cache) = &cache {
        let _ = cache.write(&key, &fresh);
    }
    drop(guard);
    Ok(granted)
}

/// A token from the store the grant lives in: the stored one while more than the wanted time
/// remains, else one refresh for the whole fleet under the store's per-tenant lock. The row is read
/// once, by the fleet call, and what goes beside the token comes from it.
pub async fn from_store(
    sc: &StoreChoice,
    store: &SqlStore,
    client: impl FnOnce() -> Result<Client, Diagnosis>,
    want: &Want,
) -> Result<Granted, Diagnosis> {
    // A refused token, or a refresh asked for, cannot be told from the stored one by its time:
    // refresh under the lock. (The store keeps one token, so a replaced one is replaced again.)
    let min_remaining = match want {
        Want::Valid { min_remaining } => std::time::Duration::from_secs(*min_remaining),
        Want::Refresh | Want::Replace(_) => std::time::Duration::MAX,
    };
    let (got, grant) = store
        .fleet_token(&sc.tenant, min_remaining, async |grant| {
            let cfg = super::saved::stored_configured(sc, grant, &sc.requests)?;
            let client = client()?;
            let tokens =
                flow::refresh(&client, &cfg.target, &cfg.creds, &grant.refresh_token).await?;
            // Checked before it is stored: every process will send the token there.
            if cfg.target.api_override.is_none() {
                let mut chosen = vec![&cfg.target.accounts];
                let saved = Url::parse(&grant.api_domain).ok();
                chosen.extend(saved.as_ref());
                hosts::named_api_domain(&tokens.api_domain, &chosen)
                    .map_err(|e| Diagnosis::new(Code::ServerError, format!("{e}."), e.fix()))?;
            }
            Ok::<_, Diagnosis>((
                tokens.access_token,
                stored::expires_at_ms(tokens.expires_in),
            ))
        })
        .await
        .map_err(|e| match e {
            FleetError::Store(e) => stored::diagnosis(&e),
            FleetError::Refresh(d) => d,
        })?;
    let cfg = super::saved::stored_configured(sc, &grant, &sc.requests)?;
    let api_domain = match &cfg.target.api_override {
        Some(url) => url.as_str().trim_end_matches('/').to_string(),
        None => cfg
            .api_domain
            .as_deref()
            .unwrap_or_default()
            .trim()
            .trim_end_matches('/')
            .to_string(),
    };
    Ok(Granted {
        token: AccessToken {
            token: got.token,
            expires_at: u64::try_from(got.expires_at_ms / 1000).unwrap_or(0),
            api_domain,
            dc: cfg.target.dc,
            organization_id: cfg.organization_id.clone(),
        },
        obtained: if got.refreshed {
            Obtained::Refreshed
        } else {
            Obtained::Cached
        },
    })
}

/// The token with what goes beside it. The API domain is `--api-domain` when given, else the one
/// Zoho's answer named, which must pass the host rule.
fn handed(cfg: &Configured, cached: Cached, obtained: Obtained) -> Result<Granted, Diagnosis> {
    let api_domain = match &cfg.target.api_override {
        Some(url) => url.as_str().trim_end_matches('/').to_string(),
        None => {
            let named = cfg
                .api_domain
                .as_deref()
                .and_then(|v| Url::parse(v.trim()).ok());
            let mut chosen = vec![&cfg.target.accounts];
            chosen.extend(named.as_ref());
            hosts::named_api_domain(&cached.api_domain, &chosen)
                .map_err(|e| Diagnosis::new(Code::ServerError, format!("{e}."), e.fix()))?;
            cached.api_domain.trim().trim_end_matches('/').to_string()
        }
    };
    Ok(Granted {
        token: AccessToken {
            token: cached.access_token,
            expires_at: cached.expires_at,
            api_domain,
            dc: cfg.target.dc,
            organization_id: cfg.organization_id.clone(),
        },
        obtained,
    })
}
