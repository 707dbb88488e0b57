//! What the commands share: reading stdin for `-`, resolving a value from flag / environment /
//! env file, the configured grant of `check`, `token` and `revoke`, and printing a diagnosis.

use std::io::Read;
use std::path::Path;

use crate::auth::client::{Client, ClientOptions, Credentials};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::envfile::{self, EnvFile};
use crate::auth::flow::Target;
use crate::auth::{Dc, Product, Secret, clean, scopes, store};

use super::{ClientArgs, GlobalArgs};

/// The env key that says the secrets live in the OS keychain.
pub const SECRET_STORE_KEY: &str = "ZOHO_SECRET_STORE";

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
    if let Some(secs) = std::env::var("ZOHO_AUTH_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
    {
        options.timeout = std::time::Duration::from_secs(secs);
    }
    Client::new(options).map_err(|e| {
        Diagnosis::new(
            Code::Network,
            e.to_string(),
            "Check the system's TLS setup.",
        )
    })
}

/// The environment variables that [`lookup`] reads before the env file.
const ENV_OVERRIDES: [&str; 8] = [
    "ZOHO_CLIENT_ID",
    "ZOHO_CLIENT_SECRET",
    "ZOHO_REFRESH_TOKEN",
    "ZOHO_DC",
    "ZOHO_ACCOUNTS_URL",
    "ZOHO_SCOPES",
    "ZOHO_ORGANIZATION_ID",
    SECRET_STORE_KEY,
];

/// The env file, if it exists. Unreadable is an input error (exit 2), and so is one of the
/// environment variables that override it set to bytes that are not UTF-8: [`lookup`] would
/// otherwise skip it silently and use the file's value instead.
pub fn load_env(path: &Path) -> Result<Option<EnvFile>, Diagnosis> {
    for key in ENV_OVERRIDES {
        if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(key) {
            return Err(bad_input(
                format!("{key} is set in the environment, but not to UTF-8 text."),
                format!("Set {key} to the plain value, or unset it to use the env file."),
            ));
        }
    }
    envfile::load(path).map_err(|e| {
        bad_input(
            e.to_string(),
            "Fix the file's permissions or encoding, or pass another file with --env-file.",
        )
    })
}

/// A value from the environment variable, else the env file; empty counts as absent.
pub fn lookup(key: &str, env: Option<&EnvFile>) -> Option<String> {
    std::env::var(key)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            env.and_then(|e| e.get(key))
                .filter(|v| !v.trim().is_empty())
        })
}

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
        .or_else(|| lookup("ZOHO_CLIENT_ID", env))
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
    .or_else(|| lookup("ZOHO_CLIENT_SECRET", env))
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

/// The `--dc` flag, validated.
pub fn dc_flag(global: &GlobalArgs) -> Result<Option<Dc>, Diagnosis> {
    match &global.dc {
        None => Ok(None),
        Some(code) => Dc::from_code(code).map(Some).ok_or_else(|| {
            bad_input(
                format!("Unknown data center {code:?}."),
                "Use one of: us eu in au jp ca cn sa uk.",
            )
        }),
    }
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
    let flag_dc = dc_flag(global)?;
    let env_dc = lookup("ZOHO_DC", env).and_then(|c| Dc::from_code(&c));
    let accounts = global
        .accounts_url
        .clone()
        .or_else(|| flag_dc.map(Dc::accounts_url))
        .or_else(|| lookup("ZOHO_ACCOUNTS_URL", env))
        .or_else(|| env_dc.map(Dc::accounts_url))
        .unwrap_or_else(|| Dc::Us.accounts_url());
    Target::from_urls(&accounts, global.api_domain.as_deref(), flag_dc.or(env_dc))
}

/// A configured grant, as `check`, `token` and `revoke` use it.
pub struct Configured {
    pub creds: Credentials,
    pub refresh_token: Secret,
    pub target: Target,
    pub scopes: Vec<String>,
    pub env: Option<EnvFile>,
    pub keychain: bool,
}

/// Reads the grant from the environment and the env file (and the keychain when the file says so).
pub fn load_configured(global: &GlobalArgs) -> Result<Configured, Diagnosis> {
    let env = load_env(&global.env_file)?;
    let target = configured_target(global, env.as_ref())?;
    let keychain = lookup(SECRET_STORE_KEY, env.as_ref())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("keychain"));
    let client_id = lookup("ZOHO_CLIENT_ID", env.as_ref());
    let (secret, refresh) = match (&client_id, keychain) {
        (Some(id), true) => {
            store::init_default_store().map_err(|e| {
                Diagnosis::new(
                    Code::MissingCredentials,
                    format!("The env file keeps the secrets in the OS keychain, but {e}"),
                    "Unlock or start the keychain, or run `zoho-auth setup` to store them in the env file.",
                )
            })?;
            let get = |key: &str| {
                store::load(id, key).map_err(|e| {
                    Diagnosis::new(
                        Code::MissingCredentials,
                        format!("Could not read {key} from the OS keychain: {e}"),
                        "Unlock the keychain, or run `zoho-auth setup` again.",
                    )
                })
            };
            (
                get("ZOHO_CLIENT_SECRET")?.map(|s| s.expose().to_string()),
                get("ZOHO_REFRESH_TOKEN")?.map(|s| s.expose().to_string()),
            )
        }
        _ => (
            lookup("ZOHO_CLIENT_SECRET", env.as_ref()),
            lookup("ZOHO_REFRESH_TOKEN", env.as_ref()),
        ),
    };
    let mut missing = Vec::new();
    if client_id.is_none() {
        missing.push("ZOHO_CLIENT_ID");
    }
    if secret.is_none() {
        missing.push("ZOHO_CLIENT_SECRET");
    }
    if refresh.is_none() {
        missing.push("ZOHO_REFRESH_TOKEN");
    }
    if !missing.is_empty() {
        let where_ = if env.is_some() {
            format!("{} or the environment", global.env_file.display())
        } else {
            format!(
                "the environment ({} does not exist)",
                global.env_file.display()
            )
        };
        return Err(Diagnosis::new(
            Code::MissingCredentials,
            format!("{} not set in {where_}.", missing.join(", ")),
            "Run `zoho-auth setup` (or `zoho-auth exchange`) to create them, or pass --env-file with the right file.",
        ));
    }
    let creds = Credentials {
        client_id: clean::clean_client_id(client_id.as_deref().unwrap_or_default())
            .map_err(|e| bad_input(e.to_string(), "Fix ZOHO_CLIENT_ID in the env file."))?,
        client_secret: clean::clean_client_secret(secret.as_deref().unwrap_or_default())
            .map_err(|e| bad_input(e.to_string(), "Fix ZOHO_CLIENT_SECRET in the env file."))?,
    };
    let refresh_token =
        clean::clean_token(refresh.as_deref().unwrap_or_default()).map_err(|e| {
            bad_input(
                e.to_string(),
                "Fix ZOHO_REFRESH_TOKEN, or run `zoho-auth reauth`.",
            )
        })?;
    let scopes = lookup("ZOHO_SCOPES", env.as_ref())
        .map(|s| scopes::parse_list(&s))
        .unwrap_or_default();
    Ok(Configured {
        creds,
        refresh_token,
        target,
        scopes,
        env,
        keychain,
    })
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
