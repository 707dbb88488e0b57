//! The [`TokenSource`] of `run`, `serve` and `api`: the saved grant read afresh at every call (a
//! re-authorized env file is picked up without a restart) and `auth::access`, the same token use
//! case as `token`. The commands only ever see a `TokenSource`.

use std::sync::{Arc, OnceLock};

use crate::auth::access;
use crate::auth::client::Client;
use crate::auth::diagnosis::Diagnosis;
use crate::auth::handoff::{AccessToken, TokenSource, Want};

use super::GlobalArgs;
use super::common::{client, load_configured};

/// A source over the configured grant. Fails now if no grant is configured, so a command says so
/// before it starts anything. One HTTP client for the source's life, made at the first refresh:
/// `serve` refreshes every hour without setting TLS up again.
pub fn token_source(global: &GlobalArgs) -> Result<TokenSource, Diagnosis> {
    load_configured(global)?;
    let global = global.clone();
    let shared: Arc<OnceLock<Client>> = Arc::new(OnceLock::new());
    Ok(TokenSource::new(move |want| {
        let global = global.clone();
        let shared = shared.clone();
        Box::pin(async move { access_token(&global, &shared, want).await })
    }))
}

async fn access_token(
    global: &GlobalArgs,
    shared: &OnceLock<Client>,
    want: Want,
) -> Result<AccessToken, Diagnosis> {
    let cfg = load_configured(global)?;
    let make = || match shared.get() {
        Some(c) => Ok(c.clone()),
        None => {
            let made = client(global)?;
            Ok(shared.get_or_init(|| made).clone())
        }
    };
    Ok(access::obtain(&cfg, make, &want).await?.token)
}
