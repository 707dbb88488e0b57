//! What the commands share: reading stdin for `-`, resolving a value from flag / environment /
//! env file, the configured grant of `check`, `token` and `revoke`, and printing a diagnosis.

use std::io::Read;

use crate::auth::client::{Client, ClientOptions};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::envfile::EnvFile;
use crate::auth::target::{self, Choice, Target};
use crate::auth::{Dc, Product, Secret, clean, keys, saved};

use super::{ClientArgs, GlobalArgs};

/// Prints a diagnosis on stderr: what went wrong, then the fix.
pub fn print_diagnosis(d: &Diagnosis) {
    eprintln!("zoho-auth: {}", d.message);
    if !d.fix.is_empty() {
        eprintln!("  Fix: {}", d.fix);
    }
}

/// A usage or input error (exit 2).
pub fn bad_input(message: impl Into<String>, fix: impl Into<String>) -> Diagnosis {
    Diagnosis::new(Code::BadInput, message, fix)
}

/// Reads all of stdin once, for a `-` argument. Not UTF-8, or more than a megabyte (where the
/// cut could split a character and be misreported as not UTF-8), is an input error naming the field.
pub fn read_stdin(field: &str) -> Result<String, Diagnosis> {
    const LIMIT: u64 = 1 << 20;
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            bad_input(
                format!("Could not read the {field} from stdin: {e}."),
                "Pipe the value in, e.g. `printf %s \"$VALUE\" | zoho-auth ...`.",
            )
        })?;
    if bytes.len() as u64 > LIMIT {
        return Err(bad_input(
            format!(
                "The {field} read from stdin is more than a megabyte long, far longer than any Zoho value, so none of it was used."
            ),
            "Pipe just the value (or the redirect URL, or the self_client.json).",
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        bad_input(
            format!("The {field} read from stdin is not UTF-8 text."),
            "Pipe the value as plain text.",
        )
    })
}

/// The HTTP client, with `-v` tracing when asked.
/// `ZOHO_AUTH_HTTP_TIMEOUT` (seconds) replaces the default request timeout.
pub fn client(global: &GlobalArgs) -> Result<Client, Diagnosis> {
    let mut options = ClientOptions {
        verbose: global.verbose,
        ..ClientOptions::default()
    };
    if let Some(timeout) = keys::http_timeout(std::env::var(keys::HTTP_TIMEOUT).ok().as_deref()) {
        options.timeout = timeout;
    }
    Client::new(options).map_err(|e| {
        Diagnosis::new(
            Code::Network,
            e.to_string(),
            "Check the system's TLS setup.",
        )
    })
}

pub use crate::auth::saved::{Configured, load_env, lookup};

/// The client id and secret, each cleaned: `--client-id` / `--client-secret` first (`-` reads the
/// secret from stdin; a secret on the command line draws a warning), then what the code itself
/// carried (`carried_id`, `carried_secret`), then the environment and the env file. The id is
/// resolved before the secret, so a missing id is reported before stdin is read.
pub fn client_credentials(
    client: &ClientArgs,
    carried_id: Option<String>,
    carried_secret: Option<&Secret>,
    env: Option<&EnvFile>,
) -> Result<(String, Secret), Diagnosis> {
    let client_id = client
        .client_id
        .clone()
        .or(carried_id)
        .or_else(|| lookup(keys::CLIENT_ID, env))
        .ok_or_else(|| {
            Diagnosis::new(
                Code::MissingCredentials,
                "No client id given.",
                "Pass --client-id, set ZOHO_CLIENT_ID, or put it in the env file.",
            )
        })?;
    let client_id = clean::clean_client_id(&client_id).map_err(|e| {
        bad_input(
            e.to_string(),
            "Copy the Client ID again from the API console.",
        )
    })?;
    let secret = match client.client_secret.as_deref() {
        Some("-") => Some(read_stdin("client secret")?),
        Some(value) => {
            eprintln!(
                "zoho-auth: warning: a secret on the command line is visible to other users (ps); prefer --client-secret - or ZOHO_CLIENT_SECRET."
            );
            Some(value.to_string())
        }
        None => None,
    }
    .or_else(|| carried_secret.map(|s| s.expose().to_string()))
    .or_else(|| lookup(keys::CLIENT_SECRET, env))
    .ok_or_else(|| {
        Diagnosis::new(
            Code::MissingCredentials,
            "No client secret given.",
            "Pass --client-secret - and type it on stdin, set ZOHO_CLIENT_SECRET, or put it in the env file.",
        )
    })?;
    let client_secret = clean::clean_client_secret(&secret).map_err(|e| {
        bad_input(
            e.to_string(),
            "Copy the Client Secret again from the API console.",
        )
    })?;
    Ok((client_id, client_secret))
}

/// The flags that choose where requests go, as the resolver takes them.
pub fn choice(global: &GlobalArgs) -> Choice {
    Choice {
        accounts_url: global.accounts_url.clone(),
        api_domain: global.api_domain.clone(),
        dc: global.dc.clone(),
        store: global
            .store
            .clone()
            .map(|url| crate::auth::target::StoreFlags {
                url,
                tenant: global.tenant.clone(),
                layout: global.layout.clone(),
                table: global.table.clone(),
            }),
    }
}

/// The `--dc` flag, validated.
pub fn dc_flag(global: &GlobalArgs) -> Result<Option<Dc>, Diagnosis> {
    choice(global).dc()
}

/// `--product`, validated.
pub fn product_flag(value: Option<&str>) -> Result<Option<Product>, Diagnosis> {
    match value {
        None => Ok(None),
        Some(p) => Product::from_code(p).map(Some).ok_or_else(|| {
            bad_input(
                format!("Unknown product {p:?}."),
                "Use one of: books, invoice, inventory, expense, crm, desk.",
            )
        }),
    }
}

/// Where requests go for a configured grant: `--accounts-url`, else `--dc`, else
/// `ZOHO_ACCOUNTS_URL`, else `ZOHO_DC`, else the US data center.
pub fn configured_target(global: &GlobalArgs, env: Option<&EnvFile>) -> Result<Target, Diagnosis> {
    target::configured(&choice(global), &saved::place(env))
}

/// Reads the grant from the environment and the env file (and the keychain when the file says so).
pub fn load_configured(global: &GlobalArgs) -> Result<Configured, Diagnosis> {
    saved::read(&global.env_file, &choice(global))
}

pub use crate::auth::access::now_unix;
