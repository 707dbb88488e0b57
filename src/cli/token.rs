//! `zoho-auth token`: prints a valid access token and one newline on stdout. A cached token with
//! more than 5 minutes left is reused without any request; otherwise one process refreshes under a
//! file lock while concurrent callers wait and then reuse its token.

use crate::auth::cache::{Cached, TokenCache};
use crate::auth::diagnosis::Diagnosis;
use crate::auth::flow;

use super::GlobalArgs;
use super::common::{client, load_configured, now_unix, print_diagnosis};

pub async fn run(global: &GlobalArgs) -> u8 {
    if global.json {
        return json(global).await;
    }
    match token(global).await {
        Ok(token) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", token.expose());
            let _ = out.flush();
            0
        }
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}

async fn token(global: &GlobalArgs) -> Result<crate::auth::Secret, Diagnosis> {
    let cfg = load_configured(global)?;
    let accounts = cfg.target.accounts_str();
    let key = TokenCache::key(&accounts, &cfg.creds.client_id, &cfg.refresh_token);
    let cache = TokenCache::from_env();
    if let Some(hit) = cache.as_ref().and_then(|c| c.read(&key, now_unix())) {
        say_cache_hit(global, &hit);
        return Ok(hit.access_token);
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
    if let Some(hit) = cache.as_ref().and_then(|c| c.read(&key, now_unix())) {
        say_cache_hit(global, &hit);
        return Ok(hit.access_token);
    }
    let client = client(global)?;
    let tokens = flow::refresh(&client, &cfg.target, &cfg.creds, &cfg.refresh_token).await?;
    if let Some(cache) = &cache {
        let _ = cache.write(
            &key,
            &Cached::new(
                &tokens.access_token,
                &tokens.api_domain,
                tokens.expires_in,
                now_unix(),
            ),
        );
    }
    drop(guard);
    Ok(tokens.access_token)
}

/// `-v`: a cache hit makes no request to trace, so say that the cache was used and until when.
fn say_cache_hit(global: &GlobalArgs, hit: &Cached) {
    if global.verbose {
        let left = hit.expires_at.saturating_sub(now_unix());
        let day = hit.expires_at % 86_400;
        eprintln!(
            "zoho-auth: the cached access token was used (no request); it expires in {} min, at {:02}:{:02}:{:02} UTC",
            left / 60,
            day / 3600,
            day % 3600 / 60,
            day % 60
        );
    }
}

/// `token --json`: the versioned object `serve` answers (`access_token`, `token_type`,
/// `expires_at`, `api_domain`, `dc`, `organization_id`), from the same cache.
async fn json(global: &GlobalArgs) -> u8 {
    use crate::auth::handoff::Want;
    let token = match super::handoff::token_source(global) {
        Ok(source) => source.get(Want::USUAL).await,
        Err(d) => Err(d),
    };
    match token {
        Ok(token) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", token.to_json());
            let _ = out.flush();
            0
        }
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}
