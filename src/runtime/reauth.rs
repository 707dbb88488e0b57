//! The effects of `zoho-auth reauth` on the grant it replaces: check it as `zoho-auth check` does,
//! and revoke it once the new one is saved. The command (`cli::reauth`) reads it through
//! `auth::saved`; the wizard never holds the old token.

use tokio::sync::mpsc::UnboundedSender;

use crate::auth::cache::TokenCache;
use crate::auth::client::Client;
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::flow;
use crate::auth::saved::Configured;
use crate::auth::{Dc, Product};
use crate::wizard::{CheckResult, Msg};

/// The grant as configured before reauth, or why it could not be read.
pub struct OldGrant {
    pub configured: Result<Configured, Diagnosis>,
}

impl std::fmt::Debug for OldGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.configured {
            Ok(_) => f.write_str("OldGrant(configured)"),
            Err(d) => write!(f, "OldGrant({})", d.code.as_str()),
        }
    }
}

/// `Effect::Check`: the checks of `zoho-auth check`, with their progress sent as they start.
pub(crate) async fn check(
    client: &Client,
    grant: Option<&OldGrant>,
    product: Option<Product>,
    attempt: u64,
    tx: &UnboundedSender<Msg>,
) -> CheckResult {
    let cfg = match grant.map(|g| &g.configured) {
        Some(Ok(cfg)) => cfg,
        Some(Err(d)) => return failed(d.clone(), product),
        None => {
            return failed(
                Diagnosis::new(
                    Code::MissingCredentials,
                    "No configured grant was read.",
                    "Run `zoho-auth setup`.",
                ),
                product,
            );
        }
    };
    let progress = |stage| {
        let _ = tx.send(Msg::CheckProgress { attempt, stage });
    };
    let report = flow::check_with_progress(
        client,
        &cfg.target,
        &cfg.creds,
        &cfg.refresh_token,
        &cfg.scopes,
        product,
        &progress,
    )
    .await;
    CheckResult {
        diagnosis: Diagnosis::new(report.diagnosis, report.message, report.fix),
        product: report.product.and_then(Product::from_code),
        account_dc: report.dc.and_then(Dc::from_code),
        scopes: report.scopes,
        organizations: report.organizations.map(|o| o.len()),
    }
}

fn failed(diagnosis: Diagnosis, product: Option<Product>) -> CheckResult {
    CheckResult {
        diagnosis,
        product,
        account_dc: None,
        scopes: vec![],
        organizations: None,
    }
}

/// `Effect::RevokeOld`: revokes the refresh token the env file had, at the accounts server it was
/// configured for, and forgets its cached access token.
pub(crate) async fn revoke_old(
    client: &Client,
    grant: Option<&OldGrant>,
) -> Result<bool, Diagnosis> {
    let Some(Ok(cfg)) = grant.map(|g| &g.configured) else {
        return Err(Diagnosis::new(
            Code::MissingCredentials,
            "No old refresh token was read, so there is none to revoke.",
            "",
        ));
    };
    let known = flow::revoke(client, &cfg.target, &cfg.refresh_token).await?;
    if let Some(cache) = TokenCache::from_env() {
        cache.remove(&TokenCache::key(
            &cfg.target.accounts_str(),
            &cfg.creds.client_id,
            &cfg.refresh_token,
        ));
    }
    Ok(known)
}
