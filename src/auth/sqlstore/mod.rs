//! SQL token stores (design.md, "Where a grant lives: stores"): one grant per tenant in SQLite,
//! PostgreSQL or MySQL/MariaDB, in zoho-auth's own `zoho_tokens` layout or the official Zoho SDK's
//! `oauthtoken` table, and one refresh per expiry for a whole fleet under the store's per-tenant
//! lock. Rules: every value is a bound parameter (only a validated table name is spliced into
//! SQL); the store is named with its password masked in every message; nothing here imports ui,
//! wizard, runtime or cli.

mod driver;
mod error;
mod schema;
mod url;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use self::driver::{LockError, Pool, RawRow, Value};
use crate::auth::dc::{self, Dc};
use crate::auth::hosts;
use crate::auth::printable::printable;
use crate::auth::secret::Secret;

pub use self::driver::StoreOptions;
pub use self::error::StoreError;
pub use self::schema::{Layout, TableName};
pub use self::url::{Backend, StoreUrl};

/// The longest tenant name, in characters.
pub const MAX_TENANT_CHARS: usize = 255;

/// The tenant used when none is named.
pub const DEFAULT_TENANT: &str = "default";

/// A current access token and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: Secret,
    /// Epoch milliseconds.
    pub expires_at_ms: i64,
}

/// One tenant's grant as a store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub access: Option<AccessToken>,
    /// Known from the saved `dc` (zoho-auth layout) or the API domain (zoho-sdk layout).
    pub dc: Option<Dc>,
    /// In the zoho-sdk layout, derived from `api_domain` (loopback: the API domain as saved).
    pub accounts_url: String,
    /// As Zoho returned it.
    pub api_domain: String,
    /// Kept by the zoho-auth layout only.
    pub scopes: Vec<String>,
    /// Kept by the zoho-auth layout only.
    pub organization_id: Option<String>,
    /// The Zoho user's email when known; kept by the zoho-sdk layout only (`user_name`).
    pub user_name: Option<String>,
}

/// A tenant as `zoho-auth tenants` lists it: no secret, no token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantSummary {
    pub tenant: String,
    pub client_id: Option<String>,
    pub dc: Option<String>,
    pub accounts_url: Option<String>,
    pub api_domain: Option<String>,
    pub scopes: Vec<String>,
    pub organization_id: Option<String>,
    pub user_name: Option<String>,
    /// When the stored access token expires (epoch ms), if one is stored.
    pub access_token_expires_at_ms: Option<i64>,
    /// When the row was last written (epoch ms; the zoho-auth layout keeps it).
    pub updated_at_ms: Option<i64>,
}

/// What `access_token` hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetToken {
    pub token: Secret,
    pub expires_at_ms: i64,
    /// True when this call refreshed it (false: the stored one, possibly refreshed by another
    /// process while this one waited for the lock).
    pub refreshed: bool,
}

/// `access_token` failed in the store, or in the refresh it was given.
#[derive(Debug)]
pub enum FleetError<E> {
    Store(StoreError),
    Refresh(E),
}

impl<E: std::fmt::Display> std::fmt::Display for FleetError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FleetError::Store(e) => e.fmt(f),
            FleetError::Refresh(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for FleetError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FleetError::Store(e) => Some(e),
            FleetError::Refresh(e) => Some(e),
        }
    }
}

impl<E> From<StoreError> for FleetError<E> {
    fn from(e: StoreError) -> Self {
        FleetError::Store(e)
    }
}

/// An open store: a connection pool, its layout and table.
pub struct SqlStore {
    url: StoreUrl,
    layout: Layout,
    table: TableName,
    sql: schema::Statements,
    pool: Pool,
    options: StoreOptions,
    lock_scope: String,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("url", &self.url)
            .field("layout", &self.layout)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Checks a tenant name: 1 to 255 characters, no NUL (PostgreSQL cannot store one). Anything else
/// (quotes, unicode, spaces) is data, taken byte for byte.
pub fn check_tenant(tenant: &str) -> Result<(), StoreError> {
    let bad = |reason: &str| StoreError::BadTenant {
        shown: shown_tenant(tenant),
        reason: reason.into(),
    };
    if tenant.is_empty() {
        return Err(bad("it is empty"));
    }
    let chars = tenant.chars().count();
    if chars > MAX_TENANT_CHARS {
        return Err(bad(&format!(
            "it has {chars} characters, more than {MAX_TENANT_CHARS}"
        )));
    }
    if tenant.contains('\0') {
        return Err(bad("it contains a NUL character"));
    }
    Ok(())
}

/// A tenant name as shown in a message: quoted, made printable, cut after 80 characters.
fn shown_tenant(tenant: &str) -> String {
    let cut: String = tenant.chars().take(80).collect();
    let more = if cut.len() < tenant.len() { "…" } else { "" };
    format!("\"{}{more}\"", printable(&cut))
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl SqlStore {
    /// Opens (a SQLite file is created when missing) and creates the table when missing.
    /// `table`: `None` for the layout's default name.
    pub async fn open(
        url: &StoreUrl,
        layout: Layout,
        table: Option<&str>,
    ) -> Result<SqlStore, StoreError> {
        Self::open_with(url, layout, table, StoreOptions::default()).await
    }

    pub async fn open_with(
        url: &StoreUrl,
        layout: Layout,
        table: Option<&str>,
        options: StoreOptions,
    ) -> Result<SqlStore, StoreError> {
        let name = table.unwrap_or(layout.default_table());
        let table = TableName::parse(name).ok_or_else(|| StoreError::BadTable {
            shown: format!("\"{}\"", printable(name)),
        })?;
        let opened = driver::connect(url, &options).await?;
        let sql = schema::statements(url.backend(), layout, &table, opened.binary_collation);
        let database = ::url::Url::parse(url.expose())
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let store = SqlStore {
            url: url.clone(),
            layout,
            lock_scope: format!("{database}\0{}", table.as_str()),
            table,
            sql,
            pool: opened.pool,
            options,
        };
        store.ensure_table().await?;
        Ok(store)
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn table(&self) -> &str {
        self.table.as_str()
    }

    fn sql_error(&self, e: &sqlx::Error) -> StoreError {
        self.url.error_from(e)
    }

    async fn ensure_table(&self) -> Result<(), StoreError> {
        if self
            .pool
            .fetch(&self.sql.probe, None, self.layout)
            .await
            .is_ok()
        {
            return Ok(());
        }
        if let Err(e) = self.pool.execute(&self.sql.create, &[]).await {
            // Another process may have created it at the same moment.
            if self
                .pool
                .fetch(&self.sql.probe, None, self.layout)
                .await
                .is_err()
            {
                return Err(self.sql_error(&e));
            }
        }
        Ok(())
    }

    /// Checks, before a one-time code is spent, that saving `tenant` can succeed: the store is
    /// reachable and the table writable (a write of the tenant's row, rolled back).
    pub async fn preflight(&self, tenant: &str) -> Result<(), StoreError> {
        check_tenant(tenant)?;
        let probe = StoredGrant {
            client_id: "preflight".into(),
            client_secret: Secret::new("preflight"),
            refresh_token: Secret::new("preflight"),
            access: None,
            dc: None,
            accounts_url: String::new(),
            api_domain: String::new(),
            scopes: Vec::new(),
            organization_id: None,
            user_name: None,
        };
        self.pool
            .in_transaction(&self.sql.upsert, &self.row_values(tenant, &probe), false)
            .await
            .map(|_| ())
            .map_err(|e| self.sql_error(&e))
    }

    /// Replaces the tenant's grant (access token included) in one transaction; no other row is
    /// touched.
    pub async fn save(&self, tenant: &str, grant: &StoredGrant) -> Result<(), StoreError> {
        check_tenant(tenant)?;
        self.pool
            .in_transaction(&self.sql.upsert, &self.row_values(tenant, grant), true)
            .await
            .map(|_| ())
            .map_err(|e| self.sql_error(&e))
    }

    /// The tenant's grant, or `None` when the store has no row for it.
    pub async fn load(&self, tenant: &str) -> Result<Option<StoredGrant>, StoreError> {
        check_tenant(tenant)?;
        let rows = self
            .pool
            .fetch(&self.sql.select_one, Some(tenant), self.layout)
            .await
            .map_err(|e| self.sql_error(&e))?;
        rows.into_iter()
            .next()
            .map(|row| self.grant_from(row))
            .transpose()
    }

    /// Deletes the tenant's row; true when there was one.
    pub async fn delete(&self, tenant: &str) -> Result<bool, StoreError> {
        check_tenant(tenant)?;
        self.pool
            .execute(&self.sql.delete, &[Value::Text(Some(tenant.to_string()))])
            .await
            .map(|n| n > 0)
            .map_err(|e| self.sql_error(&e))
    }

    /// Every tenant in the table, sorted by name, without secrets.
    pub async fn tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        let rows = self
            .pool
            .fetch(&self.sql.select_all, None, self.layout)
            .await
            .map_err(|e| self.sql_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let grant = self.grant_from(row.clone()).ok();
                TenantSummary {
                    tenant: row.key,
                    client_id: row.client_id,
                    dc: grant
                        .as_ref()
                        .and_then(|g| g.dc)
                        .map(|d| d.code().to_string())
                        .or(row.dc),
                    accounts_url: grant.as_ref().map(|g| g.accounts_url.clone()),
                    api_domain: row.api_domain,
                    scopes: split_scopes(row.scopes.as_deref()),
                    organization_id: row.organization_id,
                    user_name: row.user_name,
                    access_token_expires_at_ms: row
                        .access_token
                        .filter(|t| !t.is_empty())
                        .and(row.expires_at_ms),
                    updated_at_ms: row.updated_at_ms,
                }
            })
            .collect())
    }

    /// A valid access token for `tenant`, refreshed at most once per expiry for the whole fleet.
    ///
    /// Returns the stored token while more than `min_remaining` of it remains. Otherwise takes the
    /// tenant's lock (PostgreSQL advisory lock, MySQL `GET_LOCK`, SQLite write transaction),
    /// reads the row again, and only if it is still needed calls `refresh` (which returns the new
    /// token and its expiry in epoch ms), writes the token and releases the lock. A lock not had
    /// within the store's `lock_wait` ends with [`StoreError::LockTimeout`].
    pub async fn access_token<E>(
        &self,
        tenant: &str,
        min_remaining: Duration,
        refresh: impl AsyncFnOnce(&StoredGrant) -> Result<(Secret, i64), E>,
    ) -> Result<FleetToken, FleetError<E>> {
        self.fleet_token(tenant, min_remaining, refresh)
            .await
            .map(|(token, _)| token)
    }

    /// [`SqlStore::access_token`], with the grant the token belongs to (as read, before the new
    /// token was written): what a command hands on beside the token (API domain, organization)
    /// without a second read.
    pub async fn fleet_token<E>(
        &self,
        tenant: &str,
        min_remaining: Duration,
        refresh: impl AsyncFnOnce(&StoredGrant) -> Result<(Secret, i64), E>,
    ) -> Result<(FleetToken, StoredGrant), FleetError<E>> {
        let margin = i64::try_from(min_remaining.as_millis()).unwrap_or(i64::MAX);
        let fresh = |grant: &StoredGrant| {
            grant
                .access
                .as_ref()
                .filter(|a| a.expires_at_ms.saturating_sub(now_ms()) > margin)
                .map(|a| FleetToken {
                    token: a.token.clone(),
                    expires_at_ms: a.expires_at_ms,
                    refreshed: false,
                })
        };
        let grant = self
            .load(tenant)
            .await?
            .ok_or_else(|| self.no_grant(tenant))?;
        if let Some(token) = fresh(&grant) {
            return Ok((token, grant));
        }

        let mut locked = match self
            .pool
            .lock(&self.lock_key(tenant), self.options.lock_wait)
            .await
        {
            Ok(l) => l,
            Err(LockError::Timeout) => {
                return Err(FleetError::Store(StoreError::LockTimeout {
                    store: self.url.to_string(),
                    tenant: shown_tenant(tenant),
                    waited: self.options.lock_wait,
                }));
            }
            Err(LockError::Sql(e)) => return Err(FleetError::Store(self.sql_error(&e))),
        };
        let row = locked
            .fetch(&self.sql.select_one, tenant, self.layout)
            .await
            .map_err(|e| self.sql_error(&e))?;
        let grant = match row.into_iter().next() {
            Some(row) => self.grant_from(row)?,
            None => return Err(FleetError::Store(self.no_grant(tenant))),
        };
        if let Some(token) = fresh(&grant) {
            locked.release(true).await.map_err(|e| self.sql_error(&e))?;
            return Ok((token, grant));
        }
        let (token, expires_at_ms) = match refresh(&grant).await {
            Ok(new) => new,
            Err(e) => {
                // Dropping a lock whose release fails closes its connection, freeing it anyway.
                let _ = locked.release(false).await;
                return Err(FleetError::Refresh(e));
            }
        };
        let values = self.access_values(tenant, &grant, &token, expires_at_ms);
        locked
            .execute(&self.sql.update_access, &values)
            .await
            .map_err(|e| self.sql_error(&e))?;
        locked.release(true).await.map_err(|e| self.sql_error(&e))?;
        Ok((
            FleetToken {
                token,
                expires_at_ms,
                refreshed: true,
            },
            grant,
        ))
    }

    /// Closes the pool's connections (also done on drop, without waiting).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn no_grant(&self, tenant: &str) -> StoreError {
        StoreError::NoGrant {
            store: self.url.to_string(),
            tenant: shown_tenant(tenant),
        }
    }

    /// The lock's identity: this database, table and tenant, hashed (names can be long and any
    /// bytes).
    fn lock_key(&self, tenant: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"zoho-auth-lock\0");
        h.update(self.lock_scope.as_bytes());
        h.update(b"\0");
        h.update(tenant.as_bytes());
        h.finalize().into()
    }

    fn row_values(&self, tenant: &str, g: &StoredGrant) -> Vec<Value> {
        let text = |s: &str| Value::Text(Some(s.to_string()));
        let access = g.access.as_ref();
        match self.layout {
            Layout::ZohoAuth => vec![
                text(tenant),
                text(&g.client_id),
                text(g.client_secret.expose()),
                text(g.refresh_token.expose()),
                Value::Text(access.map(|a| a.token.expose().to_string())),
                Value::Int(access.map(|a| a.expires_at_ms)),
                Value::Text(g.dc.map(|d| d.code().to_string())),
                text(&g.accounts_url),
                text(&g.api_domain),
                text(&g.scopes.join(",")),
                Value::Text(g.organization_id.clone()),
            ],
            Layout::ZohoSdk => vec![
                text(tenant),
                Value::Text(g.user_name.clone()),
                text(&g.client_id),
                text(g.client_secret.expose()),
                text(g.refresh_token.expose()),
                Value::Text(access.map(|a| a.token.expose().to_string())),
                Value::Text(access.map(|a| a.expires_at_ms.to_string())),
                text(&g.api_domain),
            ],
        }
    }

    fn access_values(
        &self,
        tenant: &str,
        grant: &StoredGrant,
        token: &Secret,
        expires_at_ms: i64,
    ) -> Vec<Value> {
        let expires = match self.layout {
            Layout::ZohoAuth => Value::Int(Some(expires_at_ms)),
            Layout::ZohoSdk => Value::Text(Some(expires_at_ms.to_string())),
        };
        vec![
            Value::Text(Some(token.expose().to_string())),
            expires,
            Value::Text(Some(tenant.to_string())),
            // Only the grant that was refreshed: a grant replaced meanwhile keeps its own token.
            Value::Text(Some(grant.refresh_token.expose().to_string())),
        ]
    }

    fn grant_from(&self, row: RawRow) -> Result<StoredGrant, StoreError> {
        let bad = |what: String| StoreError::BadRow {
            store: self.url.to_string(),
            tenant: shown_tenant(&row.key),
            what,
        };
        let required = |value: &Option<String>, column: &str| {
            value
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad(format!("{column} is empty")))
        };
        let client_id = required(&row.client_id, "client_id")?;
        let client_secret = Secret::new(required(&row.client_secret, "client_secret")?);
        let refresh_token = Secret::new(required(&row.refresh_token, "refresh_token")?);
        let api_domain = required(&row.api_domain, "api_domain")?;
        let access = match (&row.access_token, row.expires_at_ms) {
            (Some(t), Some(at)) if !t.is_empty() => Some(AccessToken {
                token: Secret::new(t.clone()),
                expires_at_ms: at,
            }),
            _ => None,
        };
        let (dc, accounts_url) = match self.layout {
            Layout::ZohoAuth => {
                let dc = match row.dc.as_deref().filter(|d| !d.is_empty()) {
                    None => None,
                    Some(code) => Some(Dc::from_code(code).ok_or_else(|| {
                        bad(format!("dc {} is not a data-center code", printable(code)))
                    })?),
                };
                (dc, required(&row.accounts_url, "accounts_url")?)
            }
            Layout::ZohoSdk => {
                let parsed = ::url::Url::parse(&api_domain).map_err(|_| {
                    bad(format!(
                        "api_domain {} is not a URL",
                        printable(&api_domain)
                    ))
                })?;
                if dc::is_loopback(&parsed) {
                    (None, api_domain.clone())
                } else {
                    let dc = hosts::zoho_api_dc(&parsed).ok_or_else(|| {
                        bad(format!(
                            "api_domain {} is not a Zoho API domain, so its accounts server is unknown",
                            printable(&api_domain)
                        ))
                    })?;
                    (Some(dc), dc.accounts_url())
                }
            }
        };
        Ok(StoredGrant {
            client_id,
            client_secret,
            refresh_token,
            access,
            dc,
            accounts_url,
            api_domain,
            scopes: split_scopes(row.scopes.as_deref()),
            organization_id: row.organization_id.filter(|o| !o.is_empty()),
            user_name: row.user_name.filter(|u| !u.is_empty()),
        })
    }
}

fn split_scopes(scopes: Option<&str>) -> Vec<String> {
    scopes
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_checked_by_characters_not_bytes() {
        assert!(check_tenant(&"é".repeat(255)).is_ok());
        let err = check_tenant(&"é".repeat(256)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(check_tenant("").is_err());
        assert!(check_tenant("a\0b").is_err());
        assert!(check_tenant("'; DROP TABLE zoho_tokens; --").is_ok());
    }

    #[test]
    fn layouts_parse_as_the_flag_takes_them() {
        for layout in [Layout::ZohoAuth, Layout::ZohoSdk] {
            assert_eq!(Layout::parse(layout.name()), Some(layout));
        }
        assert_eq!(Layout::parse("sdk"), None);
    }
}
