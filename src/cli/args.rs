//! The arguments several commands share: the global options and a client's inputs. In their own
//! module so that commands (which own their other arguments) and the parser do not import each
//! other in a circle.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The env file to read and write.
    #[arg(long, global = true, default_value = ".env", value_name = "PATH")]
    pub env_file: PathBuf,
    /// Override the accounts server (plain http:// only for loopback hosts).
    #[arg(long, global = true, value_name = "URL")]
    pub accounts_url: Option<String>,
    /// Override the API domain (plain http:// only for loopback hosts).
    #[arg(long, global = true, value_name = "URL")]
    pub api_domain: Option<String>,
    /// Data center: us eu in au jp ca cn sa uk.
    #[arg(long, global = true, value_name = "CODE")]
    pub dc: Option<String>,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Trace each request (method, URL, status) on stderr, secrets masked.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Keep the grant in a SQL store instead of the env file: sqlite:PATH,
    /// postgres://user:pass@host:port/db or mysql://user:pass@host:port/db.
    #[arg(
        long,
        global = true,
        env = crate::auth::keys::AUTH_STORE,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub store: Option<String>,
    /// The store's row for this tenant (byte for byte, up to 255 characters).
    #[arg(
        long,
        global = true,
        env = crate::auth::keys::AUTH_TENANT,
        hide_env_values = true,
        default_value = "default",
        value_name = "NAME"
    )]
    pub tenant: String,
    /// The store's table layout: zoho-auth or zoho-sdk (the official SDKs' oauthtoken table).
    #[arg(long, global = true, value_name = "L")]
    pub layout: Option<String>,
    /// The store's table name (default: zoho_tokens, or oauthtoken for --layout zoho-sdk).
    #[arg(long, global = true, value_name = "T")]
    pub table: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ClientArgs {
    /// OAuth client id (else ZOHO_CLIENT_ID, else the env file).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// `-` reads the client secret from stdin (else ZOHO_CLIENT_SECRET, else the env file).
    #[arg(long, value_name = "-")]
    pub client_secret: Option<String>,
    /// Comma-separated scopes the code was generated for.
    #[arg(long, value_name = "S")]
    pub scopes: Option<String>,
    /// Product to live-test: books invoice inventory expense crm desk.
    #[arg(long, value_name = "P")]
    pub product: Option<String>,
    /// Skip the live test.
    #[arg(long)]
    pub no_test: bool,
}
