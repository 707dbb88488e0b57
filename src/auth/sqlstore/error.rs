//! `StoreError`: what went wrong with a SQL store, one variant per thing the user can act on, and
//! the mapping from driver errors. Every message names the store with its password masked.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store URL cannot be used (exit 2).
    #[error(
        "the store URL {shown} cannot be used: {reason}. Use sqlite:PATH, postgres://user:pass@host:port/db or mysql://user:pass@host:port/db."
    )]
    BadUrl { shown: String, reason: String },
    /// The table name is not a plain identifier (exit 2).
    #[error(
        "the table name {shown} is not allowed: use 1 to 63 letters, digits and underscores, not starting with a digit."
    )]
    BadTable { shown: String },
    /// The tenant name cannot be stored (exit 2).
    #[error("the tenant name {shown} cannot be used: {reason}. Choose another with --tenant.")]
    BadTenant { shown: String, reason: String },
    /// The database server or file cannot be reached or opened.
    #[error(
        "the store {store} cannot be reached ({cause}). Check that the database is running and the host, port and path are right; nothing was changed."
    )]
    Unreachable { store: String, cause: String },
    /// The server refused the user name or password, or the database does not exist for them.
    #[error(
        "the store {store} refused the login ({cause}). Check the user name, password and database name in the store URL."
    )]
    AuthFailed { store: String, cause: String },
    /// The table cannot be created or written (read-only file or database, missing privilege).
    #[error(
        "the store {store} cannot be written ({cause}). Grant the store's user CREATE, SELECT, INSERT, UPDATE and DELETE on the table (or make the file writable); the existing rows were left as they were."
    )]
    ReadOnly { store: String, cause: String },
    /// The database's disk or file is full.
    #[error(
        "the store {store} is full ({cause}). Free disk space (or raise the database's size limit) and run again; the existing rows were left as they were."
    )]
    DiskFull { store: String, cause: String },
    /// Another process held the tenant's lock longer than the wait allowed.
    #[error(
        "the store {store} did not give the lock for tenant {tenant} within {} s: another process is refreshing it and has not finished. Run again; if it keeps happening, look for a stuck zoho-auth process or a long transaction on the table.",
        waited.as_secs_f64()
    )]
    LockTimeout {
        store: String,
        tenant: String,
        waited: Duration,
    },
    /// The store has no grant for the tenant (exit 2, like missing credentials).
    #[error(
        "the store {store} has no grant for tenant {tenant}. Run `zoho-auth setup` with this store and tenant, or check the tenant name."
    )]
    NoGrant { store: String, tenant: String },
    /// The tenant's row holds values zoho-auth cannot use.
    #[error(
        "the row for tenant {tenant} in {store} cannot be used: {what}. Save the grant again with `zoho-auth setup` or `zoho-auth exchange`."
    )]
    BadRow {
        store: String,
        tenant: String,
        what: String,
    },
    /// Any other database failure; the statement was not applied.
    #[error(
        "the store {store} failed ({cause}). Nothing was changed; check the database's log and run again."
    )]
    Failed { store: String, cause: String },
}

impl StoreError {
    /// The process exit code the contract gives this error: 2 for what the user typed, 5 for
    /// store trouble.
    pub fn exit_code(&self) -> u8 {
        match self {
            StoreError::BadUrl { .. }
            | StoreError::BadTable { .. }
            | StoreError::BadTenant { .. }
            | StoreError::NoGrant { .. } => 2,
            StoreError::Unreachable { .. }
            | StoreError::AuthFailed { .. }
            | StoreError::ReadOnly { .. }
            | StoreError::DiskFull { .. }
            | StoreError::LockTimeout { .. }
            | StoreError::BadRow { .. }
            | StoreError::Failed { .. } => 5,
        }
    }
}

/// What a driver error means for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Unreachable,
    AuthFailed,
    ReadOnly,
    DiskFull,
    LockBusy,
    Other,
}

/// Classifies a database error code: a PostgreSQL SQLSTATE, a MySQL error number, or a SQLite
/// (extended) result code.
pub(crate) fn classify(err: &sqlx::Error) -> Kind {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => Kind::Unreachable,
        sqlx::Error::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                return match my.number() {
                    // access denied for user / to database, unknown database
                    1045 | 1044 | 1049 | 1698 => Kind::AuthFailed,
                    // command denied on table, read-only server or transaction
                    1142 | 1143 | 1290 | 1792 | 1036 => Kind::ReadOnly,
                    // disk full, table full, out of space in the storage engine
                    1021 | 1114 | 3 => Kind::DiskFull,
                    // lock wait timeout
                    1205 => Kind::LockBusy,
                    _ => Kind::Other,
                };
            }
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                let primary = db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .map_or(0, |c| c & 0xff);
                return match primary {
                    5 | 6 => Kind::LockBusy,
                    8 | 23 => Kind::ReadOnly,
                    13 => Kind::DiskFull,
                    14 | 26 => Kind::Unreachable,
                    _ => Kind::Other,
                };
            }
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            match code.as_str() {
                c if c.starts_with("28") || c == "3D000" => Kind::AuthFailed,
                "42501" | "25006" => Kind::ReadOnly,
                "53100" => Kind::DiskFull,
                "55P03" => Kind::LockBusy,
                c if c.starts_with("08") || c == "57P01" || c == "57P03" => Kind::Unreachable,
                _ => Kind::Other,
            }
        }
        _ => Kind::Other,
    }
}
