//! The commands' side of a SQL store (`--store`): the check before a one-time code is spent, the
//! save of a new grant as the tenant's row (a refresh token that cannot be saved is revoked), and
//! what `revoke` removes.

use serde::Serialize;

use crate::auth::client::Client;
use crate::auth::diagnosis::Diagnosis;
use crate::auth::flow::{self, Verified};
use crate::auth::printable::printable;
use crate::auth::save::NewGrant;
use crate::auth::stored::{self, StoreChoice};
use crate::auth::target::Target;

use super::GlobalArgs;
use super::common::choice;

/// The store the flags name, checked (exit 2 when it cannot be used); `None`: the env file.
pub fn choice_of(global: &GlobalArgs) -> Result<Option<StoreChoice>, Diagnosis> {
    stored::parse_for(&choice(global))
}

/// [`preflight`] for `exchange`, whose `--keychain` and `--appsettings` name env-file places a
/// store does not write: refused (exit 2) rather than ignored.
pub async fn preflight_with(
    global: &GlobalArgs,
    keychain: bool,
    appsettings: bool,
) -> Result<(), Diagnosis> {
    if global.store.is_some() && (keychain || appsettings) {
        let flag = if keychain {
            "--keychain"
        } else {
            "--appsettings"
        };
        return Err(super::common::bad_input(
            format!("{flag} does not apply with a store: the grant is saved as the tenant's row."),
            format!(
                "Drop {flag}, or drop --store (and unset ZOHO_AUTH_STORE) to save to the env file."
            ),
        ));
    }
    preflight(global).await
}

/// Before a one-time code is sent: the store is reachable and the tenant's row can be written
/// (exit 5 naming the store otherwise, the code unspent).
pub async fn preflight(global: &GlobalArgs) -> Result<(), Diagnosis> {
    if let Some(sc) = choice_of(global)? {
        let store = stored::preflight(&sc).await?;
        store.close().await;
    }
    Ok(())
}

/// The wizard's store (`setup`, `reauth`), checked before any sign-in as for `exchange`; on
/// failure the diagnosis is printed and the exit code returned.
pub async fn for_wizard(global: &GlobalArgs) -> Result<Option<StoreChoice>, u8> {
    let checked = async {
        preflight(global).await?;
        choice_of(global)
    };
    checked.await.map_err(|d| {
        super::common::print_diagnosis(&d);
        d.exit_code()
    })
}

#[derive(Serialize)]
struct Summary<'a> {
    ok: bool,
    store: String,
    tenant: &'a str,
    dc: Option<&'static str>,
    api_domain: &'a str,
    organization_id: Option<&'a str>,
    scopes: &'a [String],
}

/// Saves a verified grant as the tenant's row (one transaction, no other row touched). A save
/// that fails revokes the new refresh token at Zoho and says so (exit 5 naming the store).
pub async fn save(
    global: &GlobalArgs,
    sc: &StoreChoice,
    grant: &NewGrant,
    verified: &Verified,
    client: &Client,
    target: &Target,
) -> Result<(), Diagnosis> {
    let row = stored::row(grant, &verified.tokens, None);
    let saved = match stored::open(sc).await {
        Ok(store) => {
            let r = stored::save(&store, &sc.tenant, &row).await;
            store.close().await;
            r
        }
        Err(d) => Err(d),
    };
    if let Err(d) = saved {
        return Err(flow::discard(client, target, &grant.refresh_token, d).await);
    }
    eprintln!(
        "zoho-auth: saved the grant for tenant \"{}\" in {} (table {}).",
        printable(&sc.tenant),
        sc.url,
        sc.table.as_deref().unwrap_or(sc.layout.default_table())
    );
    if global.json {
        let summary = Summary {
            ok: true,
            store: sc.url.to_string(),
            tenant: &sc.tenant,
            dc: grant.dc.map(|d| d.code()),
            api_domain: &row.api_domain,
            organization_id: grant.organization_id.as_deref(),
            scopes: &row.scopes,
        };
        println!(
            "{}",
            serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into())
        );
    }
    Ok(())
}

/// `revoke` with a store: after Zoho revoked the token, the tenant's row goes (only that row).
pub async fn forget(sc: &StoreChoice) -> Result<(), Diagnosis> {
    let store = stored::open(sc).await?;
    let deleted = store
        .delete(&sc.tenant)
        .await
        .map_err(|e| stored::diagnosis(&e));
    store.close().await;
    if deleted? {
        eprintln!(
            "zoho-auth: deleted the row of tenant \"{}\" from {}.",
            printable(&sc.tenant),
            sc.url
        );
    }
    Ok(())
}
