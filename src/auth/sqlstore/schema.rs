//! The SQL text of both layouts for each database. The only values spliced into SQL are the table
//! name (validated as an identifier, then quoted) and a collation name chosen here; every value a
//! user or Zoho supplies is a bound parameter. No IO here.

use super::url::Backend;

/// A validated table name: `[A-Za-z_][A-Za-z0-9_]{0,62}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName(String);

impl TableName {
    pub fn parse(name: &str) -> Option<TableName> {
        let mut bytes = name.bytes();
        let first = bytes.next()?;
        let ok = (first.is_ascii_alphabetic() || first == b'_')
            && name.len() <= 63
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        ok.then(|| TableName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted for the database: `"name"`, or `` `name` `` for MySQL.
    fn quoted(&self, backend: Backend) -> String {
        match backend {
            Backend::Sqlite | Backend::Postgres => format!("\"{}\"", self.0),
            Backend::MySql => format!("`{}`", self.0),
        }
    }
}

/// The statements one store uses, built once when it is opened.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub create: String,
    pub probe: String,
    pub select_one: String,
    pub select_all: String,
    pub upsert: String,
    pub delete: String,
    pub update_access: String,
}

/// `binary_collation`: MySQL only, the byte-for-byte collation of the key column (tenant names
/// `Acme` and `acme`, or `a` and `a `, are different tenants).
pub(crate) fn statements(
    backend: Backend,
    layout: Layout,
    table: &TableName,
    binary_collation: &str,
) -> Statements {
    let t = table.quoted(backend);
    let p = |n: usize| match backend {
        Backend::Postgres => format!("${n}"),
        Backend::Sqlite | Backend::MySql => "?".to_string(),
    };
    let params = |count: usize| (1..=count).map(p).collect::<Vec<_>>().join(", ");
    let now = match backend {
        Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        Backend::Postgres => "now()",
        Backend::MySql => "CURRENT_TIMESTAMP(3)",
    };
    let (key, columns, expires, create) = match layout {
        Layout::ZohoAuth => (
            "tenant",
            "tenant, client_id, client_secret, refresh_token, access_token, expires_at, dc, accounts_url, api_domain, scopes, organization_id",
            "expires_at",
            create_zoho_auth(backend, &t, binary_collation),
        ),
        Layout::ZohoSdk => (
            "id",
            "id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, expiry_time, redirect_url, api_domain",
            "expiry_time",
            create_zoho_sdk(backend, &t, binary_collation),
        ),
    };
    // `updated_at` as epoch milliseconds, whatever the database's timestamp type.
    let updated_ms = match backend {
        Backend::Sqlite => "CAST((julianday(updated_at) - 2440587.5) * 86400000 AS INTEGER)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM updated_at) * 1000 AS BIGINT)",
        Backend::MySql => "CAST(UNIX_TIMESTAMP(updated_at) * 1000 AS SIGNED)",
    };
    let select_columns = match layout {
        Layout::ZohoAuth => format!(
            "tenant, client_id, client_secret, refresh_token, access_token, expires_at, dc, accounts_url, api_domain, scopes, organization_id, {updated_ms}"
        ),
        Layout::ZohoSdk => {
            "id, client_id, client_secret, refresh_token, access_token, expiry_time, api_domain, user_name".to_string()
        }
    };
    let replaced: Vec<&str> = columns.split(", ").filter(|c| *c != key).collect();
    let set_list = |exclusions: &[&str]| {
        replaced
            .iter()
            .filter(|c| !exclusions.contains(c))
            .map(|c| match backend {
                Backend::MySql => format!("{c} = VALUES({c})"),
                Backend::Sqlite | Backend::Postgres => format!("{c} = excluded.{c}"),
            })
            .collect::<Vec<_>>()
    };
    let mut sets = set_list(&[]);
    let value_count = columns.split(", ").count();
    let values = match layout {
        Layout::ZohoAuth => params(value_count),
        // grant_token and redirect_url: never written by zoho-auth (a stale grant token would make
        // the SDK try to exchange it again).
        Layout::ZohoSdk => {
            let mut v: Vec<String> = (1..=value_count - 2).map(p).collect();
            v.insert(6, "NULL".into());
            v.insert(8, "NULL".into());
            v.join(", ")
        }
    };
    if layout == Layout::ZohoAuth {
        sets.push(format!("updated_at = {now}"));
    }
    let upsert = match backend {
        Backend::MySql => format!(
            "INSERT INTO {t} ({columns}) VALUES ({values}) ON DUPLICATE KEY UPDATE {}",
            sets.join(", ")
        ),
        Backend::Sqlite | Backend::Postgres => format!(
            "INSERT INTO {t} ({columns}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {}",
            sets.join(", ")
        ),
    };
    let touch = match layout {
        Layout::ZohoAuth => format!(", updated_at = {now}"),
        Layout::ZohoSdk => String::new(),
    };
    Statements {
        create,
        probe: format!("SELECT {key} FROM {t} WHERE 1 = 0"),
        select_one: format!("SELECT {select_columns} FROM {t} WHERE {key} = {}", p(1)),
        select_all: format!("SELECT {select_columns} FROM {t} ORDER BY {key}"),
        upsert,
        delete: format!("DELETE FROM {t} WHERE {key} = {}", p(1)),
        update_access: format!(
            "UPDATE {t} SET access_token = {}, {expires} = {}{touch} WHERE {key} = {} AND refresh_token = {}",
            p(1),
            p(2),
            p(3),
            p(4)
        ),
    }
}

fn create_zoho_auth(backend: Backend, t: &str, collation: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\
             tenant TEXT NOT NULL PRIMARY KEY, client_id TEXT NOT NULL, client_secret TEXT NOT NULL, \
             refresh_token TEXT NOT NULL, access_token TEXT, expires_at INTEGER, dc TEXT, \
             accounts_url TEXT NOT NULL, api_domain TEXT NOT NULL, scopes TEXT NOT NULL, \
             organization_id TEXT, \
             created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), \
             updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        ),
        Backend::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\
             tenant VARCHAR(255) NOT NULL PRIMARY KEY, client_id TEXT NOT NULL, \
             client_secret TEXT NOT NULL, refresh_token TEXT NOT NULL, access_token TEXT, \
             expires_at BIGINT, dc VARCHAR(8), accounts_url TEXT NOT NULL, api_domain TEXT NOT NULL, \
             scopes TEXT NOT NULL, organization_id TEXT, \
             created_at TIMESTAMPTZ NOT NULL DEFAULT now(), \
             updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ),
        Backend::MySql => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\
             tenant VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL PRIMARY KEY, \
             client_id VARCHAR(255) NOT NULL, client_secret TEXT NOT NULL, \
             refresh_token TEXT NOT NULL, access_token TEXT NULL, expires_at BIGINT NULL, \
             dc VARCHAR(8) NULL, accounts_url TEXT NOT NULL, api_domain TEXT NOT NULL, \
             scopes TEXT NOT NULL, organization_id VARCHAR(255) NULL, \
             created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), \
             updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        ),
    }
}

/// The SDK's own `oauthtoken` table (its README's `CREATE TABLE`), with `id` widened from
/// VARCHAR(10) to VARCHAR(255) so that any tenant name fits; the SDK reads it the same way.
fn create_zoho_sdk(backend: Backend, t: &str, collation: &str) -> String {
    let id = match backend {
        Backend::MySql => {
            format!("id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL")
        }
        Backend::Sqlite | Backend::Postgres => "id VARCHAR(255) NOT NULL".to_string(),
    };
    let tail = match backend {
        Backend::MySql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        Backend::Sqlite | Backend::Postgres => "",
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {t} ({id}, user_name VARCHAR(255), client_id VARCHAR(255), \
         client_secret VARCHAR(255), refresh_token VARCHAR(255), access_token VARCHAR(255), \
         grant_token VARCHAR(255), expiry_time VARCHAR(20), redirect_url VARCHAR(255), \
         api_domain VARCHAR(255), PRIMARY KEY (id)){tail}"
    )
}

/// How a store's table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// zoho-auth's own table, `zoho_tokens` by default, keyed by `tenant`.
    ZohoAuth,
    /// The official Zoho SDKs' DBStore table `oauthtoken`, keyed by `id` (the tenant).
    ZohoSdk,
}

impl Layout {
    /// `zoho-auth` or `zoho-sdk`, as `--layout` takes it.
    pub fn parse(value: &str) -> Option<Layout> {
        match value {
            "zoho-auth" => Some(Layout::ZohoAuth),
            "zoho-sdk" => Some(Layout::ZohoSdk),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::ZohoAuth => "zoho-auth",
            Layout::ZohoSdk => "zoho-sdk",
        }
    }

    pub fn default_table(self) -> &'static str {
        match self {
            Layout::ZohoAuth => "zoho_tokens",
            Layout::ZohoSdk => "oauthtoken",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_identifiers() {
        for ok in ["zoho_tokens", "_t", "T1", &"a".repeat(63)] {
            assert!(TableName::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "1t",
            "t-1",
            "t;DROP TABLE x",
            "t\"",
            "t`",
            "ünï",
            &"a".repeat(64),
        ] {
            assert!(TableName::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn values_are_parameters_in_every_statement() {
        let table = TableName::parse("zoho_tokens").unwrap();
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
            for layout in [Layout::ZohoAuth, Layout::ZohoSdk] {
                let s = statements(backend, layout, &table, "utf8mb4_bin");
                let placeholders = |sql: &str| match backend {
                    Backend::Postgres => sql.matches('$').count(),
                    Backend::Sqlite | Backend::MySql => sql.matches('?').count(),
                };
                let columns = match layout {
                    Layout::ZohoAuth => 11,
                    Layout::ZohoSdk => 8,
                };
                assert_eq!(placeholders(&s.upsert), columns, "{}", s.upsert);
                assert_eq!(placeholders(&s.select_one), 1);
                assert_eq!(placeholders(&s.delete), 1);
                assert_eq!(placeholders(&s.update_access), 4);
                if backend != Backend::Sqlite {
                    assert!(!s.upsert.contains('\''), "no literal in {}", s.upsert);
                }
            }
        }
    }
}
