//! A grant in a SQL store as the commands use it (design.md, "Where a grant lives: stores"): the
//! flags parsed into a store choice (the row is read into a `Configured` by `saved`), a new grant turned into the row that is saved, and every store failure as a
//! diagnosis naming the store with its password masked (exit 2 for what the user typed, 5 for
//! store trouble).

use std::time::Duration;

use super::client::TokenSet;
use super::diagnosis::{Code, Diagnosis};
use super::keys;
use super::save::{NewGrant, Plan};
use super::scopes;
use super::secret::Secret;
use super::sqlstore::{
    AccessToken, Layout, SqlStore, StoreError, StoreOptions, StoreUrl, StoredGrant, TableName,
    check_tenant,
};
use super::target::{Choice, StoreFlags};

/// A store, checked: its URL, layout, table and the tenant whose row is used.
#[derive(Debug, Clone)]
pub struct StoreChoice {
    pub url: StoreUrl,
    pub layout: Layout,
    pub table: Option<String>,
    pub tenant: String,
    /// The flags that choose where requests go (`--accounts-url`, `--dc`, `--api-domain`), which
    /// win over the row's own.
    pub requests: Choice,
}

/// The store the flags name, with the flags that choose where requests go; `None`: the env file.
pub fn parse_for(choice: &Choice) -> Result<Option<StoreChoice>, Diagnosis> {
    let Some(flags) = &choice.store else {
        return Ok(None);
    };
    let mut sc = flags.parse()?;
    sc.requests = Choice {
        store: None,
        ..choice.clone()
    };
    Ok(Some(sc))
}

impl StoreFlags {
    /// Checks the flags without connecting: a bad URL, layout, table or tenant is exit 2 with the
    /// store named (password masked).
    pub fn parse(&self) -> Result<StoreChoice, Diagnosis> {
        let url = StoreUrl::parse(&self.url).map_err(|e| diagnosis(&e))?;
        let layout = match self.layout.as_deref() {
            None => Layout::ZohoAuth,
            Some(l) => Layout::parse(l).ok_or_else(|| {
                Diagnosis::new(
                    Code::BadInput,
                    format!(
                        "The store layout \"{}\" is unknown (store {url}).",
                        super::printable::printable(l)
                    ),
                    "Use --layout zoho-auth (the default) or --layout zoho-sdk.",
                )
            })?,
        };
        if let Some(table) = &self.table
            && TableName::parse(table).is_none()
        {
            let e = StoreError::BadTable {
                shown: format!("\"{}\"", super::printable::printable(table)),
            };
            return Err(Diagnosis::new(
                Code::BadInput,
                format!("{} (store {url})", capitalized(&e.to_string())),
                "Pass another --table.",
            ));
        }
        check_tenant(&self.tenant).map_err(|e| {
            Diagnosis::new(
                Code::BadInput,
                format!("{} (store {url})", capitalized(&e.to_string())),
                "Pass another --tenant (or ZOHO_AUTH_TENANT).",
            )
        })?;
        Ok(StoreChoice {
            url,
            layout,
            table: self.table.clone(),
            tenant: self.tenant.clone(),
            requests: Choice::default(),
        })
    }
}

/// A store failure as the contract words it: the store named (masked), exit 2 for input and a
/// missing row, 5 for store trouble. The error's text carries its fix.
pub fn diagnosis(e: &StoreError) -> Diagnosis {
    let code = match e {
        StoreError::NoGrant { .. } => Code::MissingCredentials,
        other if other.exit_code() == 2 => Code::BadInput,
        StoreError::Unreachable { .. } => Code::Network,
        _ => Code::ServerError,
    };
    Diagnosis::new(code, capitalized(&e.to_string()), "")
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Opens the store (creating the table, or a SQLite file, when missing).
pub async fn open(sc: &StoreChoice) -> Result<SqlStore, Diagnosis> {
    // One connection: a command runs its statements one after another (the fleet lock included),
    // so a second connection would only cost a second handshake.
    let options = StoreOptions {
        max_connections: 1,
        ..StoreOptions::default()
    };
    SqlStore::open_with(&sc.url, sc.layout, sc.table.as_deref(), options)
        .await
        .map_err(|e| diagnosis(&e))
}

/// Checks, before a one-time code is spent, that the tenant's row can be saved.
pub async fn preflight(sc: &StoreChoice) -> Result<SqlStore, Diagnosis> {
    let store = open(sc).await?;
    store
        .preflight(&sc.tenant)
        .await
        .map_err(|e| diagnosis(&e))?;
    Ok(store)
}

pub use super::sqlstore::now_ms;

/// When a token that lasts `expires_in` from now expires, in epoch milliseconds.
pub fn expires_at_ms(expires_in: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(expires_in.as_millis()).unwrap_or(i64::MAX))
}

/// The row a new grant becomes: the same values the env file would get, plus the access token
/// and its expiry, so the first `token` needs no refresh.
pub fn row(grant: &NewGrant, tokens: &TokenSet, user_name: Option<String>) -> StoredGrant {
    StoredGrant {
        client_id: grant.client_id.clone(),
        client_secret: grant.client_secret.clone(),
        refresh_token: grant.refresh_token.clone(),
        access: Some(AccessToken {
            token: tokens.access_token.clone(),
            expires_at_ms: expires_at_ms(tokens.expires_in),
        }),
        dc: grant.dc,
        accounts_url: grant.accounts_url.clone(),
        api_domain: grant.api_domain.clone().unwrap_or_default(),
        scopes: grant
            .scopes
            .as_deref()
            .map(scopes::parse_list)
            .unwrap_or_default(),
        organization_id: grant.organization_id.clone(),
        user_name,
    }
}

/// The row as the wizard previews it: column and value, secrets masked.
pub fn preview(tenant: &str, row: &StoredGrant) -> Vec<(String, String)> {
    let masked = |s: &Secret| s.masked();
    let mut out = vec![
        (
            "tenant".to_string(),
            super::printable::printable(tenant).to_string(),
        ),
        ("client_id".into(), row.client_id.clone()),
        ("client_secret".into(), masked(&row.client_secret)),
        ("refresh_token".into(), masked(&row.refresh_token)),
    ];
    if let Some(a) = &row.access {
        out.push(("access_token".into(), masked(&a.token)));
    }
    if let Some(dc) = row.dc {
        out.push(("dc".into(), dc.code().to_string()));
    }
    out.push(("accounts_url".into(), row.accounts_url.clone()));
    out.push(("api_domain".into(), row.api_domain.clone()));
    if !row.scopes.is_empty() {
        out.push(("scopes".into(), row.scopes.join(",")));
    }
    if let Some(org) = &row.organization_id {
        out.push(("organization_id".into(), org.clone()));
    }
    out
}

/// Saves the row in one transaction replacing only the tenant's row.
pub async fn save(store: &SqlStore, tenant: &str, row: &StoredGrant) -> Result<(), Diagnosis> {
    store.save(tenant, row).await.map_err(|e| diagnosis(&e))
}

/// The store and tenant as a message names them: `sqlite:t.db (tenant "acme")`.
pub fn describe(sc: &StoreChoice) -> String {
    format!(
        "{} (tenant \"{}\")",
        sc.url,
        super::printable::printable(&sc.tenant)
    )
}

/// The row the wizard's Save plan (`save::plan`, the same one it previews) becomes. The plan
/// carries no access token: the first `token` refreshes once for the fleet.
pub fn row_from_plan(plan: &Plan) -> StoredGrant {
    let get = |k: &str| plan.value(k).map(str::to_string);
    StoredGrant {
        client_id: plan.client_id.clone(),
        client_secret: Secret::new(get(keys::CLIENT_SECRET).unwrap_or_default()),
        refresh_token: Secret::new(get(keys::REFRESH_TOKEN).unwrap_or_default()),
        access: None,
        dc: get(keys::DC).and_then(|c| super::dc::Dc::from_code(&c)),
        accounts_url: get(keys::ACCOUNTS_URL).unwrap_or_default(),
        api_domain: get(keys::API_DOMAIN).unwrap_or_default(),
        scopes: get(keys::SCOPES)
            .map(|s| scopes::parse_list(&s))
            .unwrap_or_default(),
        organization_id: get(keys::ORGANIZATION_ID),
        user_name: None,
    }
}

/// Saves the wizard's plan as the tenant's row; the columns written, for the Done screen.
pub async fn save_plan(sc: &StoreChoice, plan: &Plan) -> Result<Vec<String>, Diagnosis> {
    let row = row_from_plan(plan);
    let store = open(sc).await?;
    let saved = save(&store, &sc.tenant, &row).await;
    store.close().await;
    saved?;
    Ok(preview(&sc.tenant, &row)
        .into_iter()
        .map(|(column, _)| column)
        .collect())
}
