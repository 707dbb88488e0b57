//! The three drivers behind one set of operations: connecting (with the TLS rule), running the
//! statements of `schema` with bound values, and the per-tenant lock of each database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{ConnectOptions, MySql, Postgres, Sqlite};

use super::error::{Kind, StoreError, classify};
use super::schema::Layout;
use super::url::{Backend, StoreUrl};

/// A value bound to a statement.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

/// A row as read, before it is checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawRow {
    pub key: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    pub expires_at_ms: Option<i64>,
    pub dc: Option<String>,
    pub accounts_url: Option<String>,
    pub api_domain: Option<String>,
    pub scopes: Option<String>,
    pub organization_id: Option<String>,
    pub user_name: Option<String>,
    /// Epoch milliseconds (zoho-auth layout only).
    pub updated_at_ms: Option<i64>,
}

pub(crate) enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// A held per-tenant lock, with the connection (or transaction) that holds it. Dropping it without
/// [`Locked::release`] closes the connection, which frees the lock too.
pub(crate) enum Locked {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(PoolConnection<Postgres>, i64),
    MySql(PoolConnection<MySql>, String),
}

pub(crate) enum LockError {
    Timeout,
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for LockError {
    fn from(e: sqlx::Error) -> Self {
        LockError::Sql(e)
    }
}

macro_rules! ops {
    ($name:ident, $db:ty, $conn:ty) => {
        pub(crate) mod $name {
            use crate::auth::sqlstore::driver::{RawRow, Value};
            use crate::auth::sqlstore::schema::Layout;
            use sqlx::{AssertSqlSafe, Row};

            pub async fn execute(
                conn: &mut $conn,
                sql: &str,
                params: &[Value],
            ) -> Result<u64, sqlx::Error> {
                let mut q = sqlx::query::<$db>(AssertSqlSafe(sql.to_string()));
                for v in params {
                    q = match v {
                        Value::Text(s) => q.bind(s.clone()),
                        Value::Int(i) => q.bind(*i),
                    };
                }
                Ok(q.execute(&mut *conn).await?.rows_affected())
            }

            pub async fn fetch(
                conn: &mut $conn,
                sql: &str,
                key: Option<&str>,
                layout: Layout,
            ) -> Result<Vec<RawRow>, sqlx::Error> {
                let mut q = sqlx::query::<$db>(AssertSqlSafe(sql.to_string()));
                if let Some(k) = key {
                    q = q.bind(k.to_string());
                }
                let rows = q.fetch_all(&mut *conn).await?;
                rows.iter().map(|r| decode(r, layout)).collect()
            }

            fn decode(
                r: &<$db as sqlx::Database>::Row,
                layout: Layout,
            ) -> Result<RawRow, sqlx::Error> {
                Ok(match layout {
                    Layout::ZohoAuth => RawRow {
                        key: r.try_get(0)?,
                        client_id: r.try_get(1)?,
                        client_secret: r.try_get(2)?,
                        refresh_token: r.try_get(3)?,
                        access_token: r.try_get(4)?,
                        expires_at_ms: r.try_get(5)?,
                        dc: r.try_get(6)?,
                        accounts_url: r.try_get(7)?,
                        api_domain: r.try_get(8)?,
                        scopes: r.try_get(9)?,
                        organization_id: r.try_get(10)?,
                        user_name: None,
                        updated_at_ms: r.try_get(11)?,
                    },
                    Layout::ZohoSdk => RawRow {
                        key: r.try_get(0)?,
                        client_id: r.try_get(1)?,
                        client_secret: r.try_get(2)?,
                        refresh_token: r.try_get(3)?,
                        access_token: r.try_get(4)?,
                        expires_at_ms: r
                            .try_get::<Option<String>, _>(5)?
                            .and_then(|s| s.trim().parse().ok()),
                        api_domain: r.try_get(6)?,
                        user_name: r.try_get(7)?,
                        ..RawRow::default()
                    },
                })
            }
        }
    };
}

ops!(lite, sqlx::Sqlite, sqlx::SqliteConnection);
ops!(pg, sqlx::Postgres, sqlx::PgConnection);
ops!(my, sqlx::MySql, sqlx::MySqlConnection);

/// Runs `$body` with `$c` bound to a pooled connection of whichever database `$pool` is, and
/// `$m` to that database's `ops` module.
macro_rules! with_conn {
    ($pool:expr, |$c:ident, $m:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                let $c = &mut *conn;
                use lite as $m;
                $body
            }
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?;
                let $c = &mut *conn;
                use pg as $m;
                $body
            }
            Pool::MySql(p) => {
                let mut conn = p.acquire().await?;
                let $c = &mut *conn;
                use my as $m;
                $body
            }
        }
    };
}

impl Pool {
    pub async fn fetch(
        &self,
        sql: &str,
        key: Option<&str>,
        layout: Layout,
    ) -> Result<Vec<RawRow>, sqlx::Error> {
        with_conn!(self, |c, m| m::fetch(c, sql, key, layout).await)
    }

    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, sqlx::Error> {
        with_conn!(self, |c, m| m::execute(c, sql, params).await)
    }

    /// Runs `sql` in a transaction that is committed, or rolled back when `commit` is false.
    pub async fn in_transaction(
        &self,
        sql: &str,
        params: &[Value],
        commit: bool,
    ) -> Result<u64, sqlx::Error> {
        match self {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let n = lite::execute(&mut tx, sql, params).await?;
                finish(tx, commit).await?;
                Ok(n)
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                let n = pg::execute(&mut tx, sql, params).await?;
                finish(tx, commit).await?;
                Ok(n)
            }
            Pool::MySql(p) => {
                let mut tx = p.begin().await?;
                let n = my::execute(&mut tx, sql, params).await?;
                finish(tx, commit).await?;
                Ok(n)
            }
        }
    }

    /// Takes the lock named by `key`, waiting at most `wait`.
    pub async fn lock(&self, key: &[u8; 32], wait: Duration) -> Result<Locked, LockError> {
        let busy = |e: sqlx::Error| match classify(&e) {
            Kind::LockBusy => LockError::Timeout,
            Kind::Unreachable
            | Kind::AuthFailed
            | Kind::ReadOnly
            | Kind::DiskFull
            | Kind::Other => LockError::Sql(e),
        };
        match self {
            // The connection's busy timeout is the lock wait (set when the pool was made).
            Pool::Sqlite(p) => Ok(Locked::Sqlite(
                p.begin_with("BEGIN IMMEDIATE").await.map_err(busy)?,
            )),
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?;
                conn.close_on_drop();
                let id = i64::from_be_bytes(key[..8].try_into().expect("8 bytes"));
                sqlx::query("SELECT set_config('lock_timeout', $1, false)")
                    .bind(format!("{}ms", wait.as_millis().max(1)))
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(busy)?;
                Ok(Locked::Postgres(conn, id))
            }
            Pool::MySql(p) => {
                let mut conn = p.acquire().await?;
                conn.close_on_drop();
                // At most 64 characters: "zoho-auth:" and 48 hex digits.
                let name = format!("zoho-auth:{}", hex::encode(&key[..24]));
                let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
                    .bind(&name)
                    .bind(wait.as_secs_f64())
                    .fetch_one(&mut *conn)
                    .await?;
                match got {
                    Some(1) => Ok(Locked::MySql(conn, name)),
                    Some(_) | None => Err(LockError::Timeout),
                }
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }
}

async fn finish<DB: sqlx::Database>(
    tx: sqlx::Transaction<'_, DB>,
    commit: bool,
) -> Result<(), sqlx::Error> {
    if commit {
        tx.commit().await
    } else {
        tx.rollback().await
    }
}

impl Locked {
    pub async fn fetch(
        &mut self,
        sql: &str,
        key: &str,
        layout: Layout,
    ) -> Result<Vec<RawRow>, sqlx::Error> {
        match self {
            Locked::Sqlite(tx) => lite::fetch(tx, sql, Some(key), layout).await,
            Locked::Postgres(c, _) => pg::fetch(c, sql, Some(key), layout).await,
            Locked::MySql(c, _) => my::fetch(c, sql, Some(key), layout).await,
        }
    }

    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, sqlx::Error> {
        match self {
            Locked::Sqlite(tx) => lite::execute(tx, sql, params).await,
            Locked::Postgres(c, _) => pg::execute(c, sql, params).await,
            Locked::MySql(c, _) => my::execute(c, sql, params).await,
        }
    }

    /// Commits what was written under the lock and releases it. With `commit` false (a failed
    /// refresh), nothing written under the lock is kept where the database can undo it.
    pub async fn release(self, commit: bool) -> Result<(), sqlx::Error> {
        match self {
            Locked::Sqlite(tx) => finish(tx, commit).await,
            Locked::Postgres(mut c, id) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            }
            Locked::MySql(mut c, name) => {
                sqlx::query("SELECT RELEASE_LOCK(?)")
                    .bind(name)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            }
        }
    }
}

fn host_is_loopback(host: &str) -> bool {
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The `sslmode`/`ssl-mode` the URL asks for, lower-case.
fn asked_ssl_mode(url: &StoreUrl) -> Option<String> {
    let parsed = url::Url::parse(url.expose()).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == "sslmode" || k == "ssl-mode")
        .map(|(_, v)| v.to_ascii_lowercase())
}

fn plain_refused(url: &StoreUrl, mode: &str) -> StoreError {
    StoreError::BadUrl {
        shown: url.to_string(),
        reason: format!(
            "ssl mode {mode} would send the password and the tokens unencrypted to a server that is not on this machine; remove it (zoho-auth then verifies the server's certificate) or ask for an encrypted mode such as sslmode=require"
        ),
    }
}

/// What opening found: the pool and, for MySQL, the
/// byte-for-byte collation the server knows.
pub(crate) struct Opened {
    pub pool: Pool,
    pub binary_collation: &'static str,
}

fn timed_out(url: &StoreUrl, after: Duration) -> StoreError {
    StoreError::Unreachable {
        store: url.to_string(),
        cause: format!("no answer within {} s", after.as_secs_f64()),
    }
}

fn connect_error(url: &StoreUrl, e: &sqlx::Error) -> StoreError {
    match url.error_from(e) {
        StoreError::Unreachable { store, cause } if matches!(e, sqlx::Error::Tls(_)) => {
            StoreError::Unreachable {
                store,
                cause: format!(
                    "{cause}; for a server whose certificate is not publicly trusted, add sslmode=require (PostgreSQL) or ssl-mode=REQUIRED (MySQL) to the URL to encrypt without verifying it"
                ),
            }
        }
        other => other,
    }
}

/// A refused TCP connection, reported at once with its cause (the pool would retry it until its
/// timeout and then say only that it timed out).
async fn reachable(
    url: &StoreUrl,
    host: &str,
    port: u16,
    socket: bool,
    within: Duration,
) -> Result<(), StoreError> {
    if socket || host.starts_with('/') || host.is_empty() {
        return Ok(());
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::time::timeout(within, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(StoreError::Unreachable {
            store: url.to_string(),
            cause: url.scrub(&format!("{host}:{port}: {e}")),
        }),
        Err(_) => Err(timed_out(url, within)),
    }
}

fn pool_options<DB: sqlx::Database>(
    within: Duration,
    options: &StoreOptions,
) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(within)
        // One round trip per statement, not two: a connection that broke while idle fails one
        // call and is dropped.
        .test_before_acquire(false)
}

/// Opens the pool with one live connection, so that a wrong password, a TLS failure or a missing
/// database is reported by `open`, and the first statement needs no second handshake.
pub(crate) async fn connect(url: &StoreUrl, options: &StoreOptions) -> Result<Opened, StoreError> {
    let bad_url = |e: sqlx::Error| StoreError::BadUrl {
        shown: url.to_string(),
        reason: url.scrub(&e.to_string()),
    };
    let within = options.connect_timeout;
    match url.backend() {
        Backend::Sqlite => {
            let path = url.sqlite_path().expect("a sqlite URL has a path");
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .busy_timeout(options.lock_wait)
                .disable_statement_logging();
            let pool = tokio::time::timeout(
                within,
                pool_options::<Sqlite>(within + options.lock_wait, options).connect_with(opts),
            )
            .await
            .map_err(|_| timed_out(url, within))?
            .map_err(|e| connect_error(url, &e))?;
            Ok(Opened {
                pool: Pool::Sqlite(pool),
                binary_collation: "",
            })
        }
        Backend::Postgres => {
            use sqlx::postgres::{PgConnectOptions, PgSslMode};
            let mut opts = PgConnectOptions::from_str(url.expose())
                .map_err(bad_url)?
                .application_name("zoho-auth")
                .disable_statement_logging();
            if !host_is_loopback(opts.get_host()) {
                match asked_ssl_mode(url).as_deref() {
                    None => opts = opts.ssl_mode(PgSslMode::VerifyFull),
                    Some("require" | "verify-ca" | "verify-full") => {}
                    Some(other) => return Err(plain_refused(url, other)),
                }
            }
            let socket = opts.get_socket().is_some();
            reachable(url, opts.get_host(), opts.get_port(), socket, within).await?;
            let pool = tokio::time::timeout(
                within,
                pool_options::<Postgres>(within, options).connect_with(opts),
            )
            .await
            .map_err(|_| timed_out(url, within))?
            .map_err(|e| connect_error(url, &e))?;
            Ok(Opened {
                pool: Pool::Postgres(pool),
                binary_collation: "",
            })
        }
        Backend::MySql => {
            use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
            let mut opts = MySqlConnectOptions::from_str(url.expose())
                .map_err(bad_url)?
                .charset("utf8mb4")
                .disable_statement_logging();
            if !host_is_loopback(opts.get_host()) {
                match asked_ssl_mode(url).as_deref() {
                    None => opts = opts.ssl_mode(MySqlSslMode::VerifyIdentity),
                    Some("required" | "verify_ca" | "verify_identity") => {}
                    Some(other) => return Err(plain_refused(url, other)),
                }
            }
            let socket = opts.get_socket().is_some();
            reachable(url, opts.get_host(), opts.get_port(), socket, within).await?;
            let pool = tokio::time::timeout(
                within,
                pool_options::<MySql>(within, options).connect_with(opts),
            )
            .await
            .map_err(|_| timed_out(url, within))?
            .map_err(|e| connect_error(url, &e))?;
            let version: String = sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&pool)
                .await
                .map_err(|e| url.error_from(&e))?;
            let major: u32 = version
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            // A NO PAD binary collation: `a` and `a ` are different tenants, as are `A` and `a`.
            let binary_collation = if version.contains("MariaDB") {
                "utf8mb4_nopad_bin"
            } else if major >= 8 {
                "utf8mb4_0900_bin"
            } else {
                "utf8mb4_bin"
            };
            Ok(Opened {
                pool: Pool::MySql(pool),
                binary_collation,
            })
        }
    }
}
/// Timeouts of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long `access_token` (and a SQLite write) waits for another process's lock: 30 s.
    pub lock_wait: Duration,
    /// How long connecting may take before the store counts as unreachable: 10 s.
    pub connect_timeout: Duration,
    /// Connections the pool may open: 4. A one-shot command uses 1, so that a statement after
    /// another reuses the connection instead of a second handshake (TLS, SCRAM) while the first
    /// is being returned.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            lock_wait: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_connections: 4,
        }
    }
}
