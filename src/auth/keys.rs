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
/// Says where the secrets live (`keychain`); the same name as `store::SECRET_STORE_KEY`.
pub const SECRET_STORE: &str = super::store::SECRET_STORE_KEY;

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
