//! The one definition of every env key name zoho-auth reads and writes (design.md, "Keys written
//! to the env file"). No IO here.

pub const CLIENT_ID: &str = "ZOHO_CLIENT_ID";
pub const CLIENT_SECRET: &str = "ZOHO_CLIENT_SECRET";
pub const REFRESH_TOKEN: &str = "ZOHO_REFRESH_TOKEN";
pub const DC: &str = "ZOHO_DC";
pub const ACCOUNTS_URL: &str = "ZOHO_ACCOUNTS_URL";
pub const API_DOMAIN: &str = "ZOHO_API_DOMAIN";
pub const SCOPES: &str = "ZOHO_SCOPES";
pub const ORGANIZATION_ID: &str = "ZOHO_ORGANIZATION_ID";
/// Says where the secrets live (`keychain`).
pub const SECRET_STORE: &str = "ZOHO_SECRET_STORE";
/// The access token `run` hands its child (never written to the env file by default).
pub const ACCESS_TOKEN: &str = "ZOHO_ACCESS_TOKEN";

/// The SQL store URL (`--store`); it may carry a database password.
pub const AUTH_STORE: &str = "ZOHO_AUTH_STORE";
/// The store's tenant (`--tenant`).
pub const AUTH_TENANT: &str = "ZOHO_AUTH_TENANT";
/// Seconds before an HTTP request gives up (every command and the wizard).
pub const HTTP_TIMEOUT: &str = "ZOHO_AUTH_HTTP_TIMEOUT";

/// `ZOHO_AUTH_HTTP_TIMEOUT` as a duration, when set to a positive whole number of seconds.
pub fn http_timeout(value: Option<&str>) -> Option<std::time::Duration> {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
}

/// Every key of a grant, in the order a save writes them.
pub const ALL: [&str; 9] = [
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    DC,
    ACCOUNTS_URL,
    API_DOMAIN,
    SCOPES,
    ORGANIZATION_ID,
    SECRET_STORE,
];

/// The environment variables that win over the env file (the grant's keys but `ZOHO_API_DOMAIN`,
/// which is Zoho's answer, not a choice).
pub const ENV_OVERRIDES: [&str; 8] = [
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    DC,
    ACCOUNTS_URL,
    SCOPES,
    ORGANIZATION_ID,
    SECRET_STORE,
];
