//! `zoho-auth exchange`: a code (bare, a whole redirect URL, or a self_client.json) for tokens,
//! live-tested, then written to the env file. Shapes are checked before anything is sent; the env
//! file is written only after the exchange and the live test succeeded.

use std::path::Path;

use serde::Serialize;

use crate::auth::cache::{Cached, TokenCache};
use crate::auth::client::{Client, Credentials};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::envfile::Change;
use crate::auth::flow::{self, Obtained, Target, Verified};
use crate::auth::probe::{Organization, default_organization};
use crate::auth::save::{self, Destination, Expect, Intent, NewGrant, SaveError, SecretsIn};
use crate::auth::target::{self, Pasted};
use crate::auth::{Dc, Secret, clean, keys, saved, scopes};

use super::common::{
    bad_input, choice, client, client_credentials, load_env, now_unix, print_diagnosis,
    product_flag, read_stdin,
};
use super::{ExchangeArgs, GlobalArgs};

#[derive(Serialize)]
struct Summary<'a> {
    ok: bool,
    dc: Option<&'static str>,
    api_domain: &'a str,
    product: Option<&'static str>,
    organizations: &'a [Organization],
    organization_id: Option<&'a str>,
    scopes: &'a [String],
    env_file: String,
    secret_store: &'static str,
    changed: Vec<String>,
    /// The copy of the previous env file, when this command made one.
    backup: Option<String>,
    /// The `.gitignore` that got the backup's line, when this command added it.
    backup_gitignore: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: &ExchangeArgs) -> u8 {
    match exchange(global, args).await {
        Ok(()) => 0,
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}

/// The inputs of an exchange once cleaned and validated; nothing has been sent yet.
struct Inputs {
    creds: Credentials,
    code: Secret,
    target: Target,
    requested_scopes: Vec<String>,
    /// The refresh token the env file held when read: the save expects it still there.
    held_refresh: Option<Secret>,
    /// The redirect URI of a pasted redirect URL (its origin and path).
    pasted_redirect: Option<String>,
}

/// The one check before a code is sent or a sign-in starts (`exchange`, `login`): the save of
/// the new grant can succeed ([`save::preflight`]). A failure is exit 2 (or 5 for a keychain that
/// cannot be used) and says the code was not sent.
pub fn preflight(
    global: &GlobalArgs,
    client_id: &str,
    target: &Target,
    scopes: &[String],
    secrets_in: SecretsIn,
    appsettings: Option<&Path>,
) -> Result<(), Diagnosis> {
    // With a store the grant does not go to the env file; the store is checked instead
    // (`store::preflight`), so an unwritable `.env` must not block it.
    if super::store::choice_of(global)?.is_some() {
        return Ok(());
    }
    save::preflight(&Intent {
        client_id,
        accounts_url: &target.accounts_str(),
        scopes,
        secrets_in,
        dest: Destination {
            env_path: &global.env_file,
            appsettings,
            add_to_gitignore: false,
            expect: Expect::Anything,
        },
    })
    .map_err(|e| {
        let d = e.diagnosis();
        Diagnosis::new(
            d.code,
            d.message,
            format!(
                "{} Nothing was sent: the code was not sent (and no sign-in started), so it can still be used once this is fixed.",
                match &e {
                    SaveError::EnvFile(_) => "Fix the env file's path, folder or content first.",
                    SaveError::Keychain(_) | SaveError::AppSettings(_) => d.fix.as_str(),
                }
            ),
        )
    })
}

fn resolve(global: &GlobalArgs, args: &ExchangeArgs) -> Result<Inputs, Diagnosis> {
    let stdin_fields = [args.code.as_deref(), args.client.client_secret.as_deref()]
        .iter()
        .filter(|v| **v == Some("-"))
        .count();
    if stdin_fields > 1 {
        return Err(bad_input(
            "Only one value can be read from stdin.",
            "Pass the client secret through ZOHO_CLIENT_SECRET or the env file, and the code with --code -.",
        ));
    }
    let env = load_env(&global.env_file)?;
    // A paste of the refresh token already saved has a code's shape: named as what it is.
    let saved_refresh = env.as_ref().and_then(|e| e.get(keys::REFRESH_TOKEN));
    let clean_code = |raw: &str| clean::clean_code_paste_knowing(raw, saved_refresh.as_deref());
    let json = match &args.self_client_json {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| {
                bad_input(
                    format!("Could not read {}: {e}.", path.display()),
                    "Pass the self_client.json you downloaded from the API console.",
                )
            })?;
            let text = String::from_utf8(text).map_err(|_| {
                bad_input(
                    format!("{} is not UTF-8 text.", path.display()),
                    "Pass the self_client.json file as downloaded.",
                )
            })?;
            Some(clean_code(&text).map_err(|e| {
                bad_input(
                    format!("{}: {e}", path.display()),
                    "Download self_client.json again from the API console (Self Client > Generate Code > Download).",
                )
            })?)
        }
        None => None,
    };

    // The one place a code is read from the command line. Like a secret, a code in argv is
    // visible to other users (ps) for as long as it lives: say so.
    let pasted = match args.code.as_deref() {
        Some("-") => Some(read_stdin("code")?),
        Some(code) => {
            eprintln!(
                "zoho-auth: warning: a code on the command line is visible to other users (ps); prefer --code - (stdin)."
            );
            Some(code.to_string())
        }
        None => None,
    };
    let pasted_redirect = pasted.as_deref().and_then(super::redirect_of_paste);
    let pasted = pasted
        .map(|raw| {
            clean_code(&raw).map_err(|e| {
                bad_input(
                    format!("--code: {e}"),
                    "Pass the code from the API console, or the whole URL Zoho redirected to.",
                )
            })
        })
        .transpose()?;
    let Some(code_source) = pasted.as_ref().or(json.as_ref()) else {
        return Err(bad_input(
            "No code given.",
            "Pass --code CODE (or --code - to read it from stdin), or --self-client-json FILE.",
        ));
    };

    let (client_id, client_secret) = client_credentials(
        &args.client,
        code_source
            .client_id
            .clone()
            .or_else(|| json.as_ref().and_then(|j| j.client_id.clone())),
        code_source
            .client_secret
            .as_ref()
            .or(json.as_ref().and_then(|j| j.client_secret.as_ref())),
        env.as_ref(),
    )?;

    // Where the code must be exchanged: the one resolver, with the host rule on what the paste
    // names (a self_client.json's accounts-server included).
    let (accounts_server, what) = match (&code_source.accounts_server, &json) {
        (Some(a), _) if pasted.is_some() => (Some(a.as_str()), "the redirect's accounts-server"),
        (Some(a), _) => (Some(a.as_str()), "the self_client.json's accounts-server"),
        (None, Some(j)) => (
            j.accounts_server.as_deref(),
            "the self_client.json's accounts-server",
        ),
        (None, None) => (None, "the redirect's accounts-server"),
    };
    let target = target::for_code(
        &choice(global),
        &saved::place(env.as_ref()),
        Pasted {
            accounts_server,
            location: code_source.location.as_deref(),
        },
        what,
    )?;

    let requested_scopes = args
        .client
        .scopes
        .as_deref()
        .map(scopes::parse_list)
        .or_else(|| code_source.scopes.clone())
        .unwrap_or_default();

    // A code can be exchanged once: refuse before sending it if the result could not be saved.
    let secrets_in = if args.keychain {
        SecretsIn::Keychain
    } else {
        SecretsIn::EnvFile
    };
    preflight(
        global,
        &client_id,
        &target,
        &requested_scopes,
        secrets_in,
        args.appsettings.as_deref(),
    )?;

    Ok(Inputs {
        creds: Credentials {
            client_id,
            client_secret,
        },
        code: code_source.code.clone(),
        target,
        requested_scopes,
        held_refresh: save::Expect::held(env.as_ref()),
        pasted_redirect,
    })
}

async fn exchange(global: &GlobalArgs, args: &ExchangeArgs) -> Result<(), Diagnosis> {
    let product = product_flag(args.client.product.as_deref())?;
    let inputs = resolve(global, args)?;
    super::store::preflight_with(global, args.keychain, args.appsettings.is_some()).await?;
    let client = client(global)?;
    eprintln!(
        "zoho-auth: exchanging the code at {} ...",
        inputs.target.accounts_str()
    );
    let verified = flow::new_grant(
        &client,
        &inputs.target,
        &inputs.creds,
        Obtained::Code {
            code: &inputs.code,
            redirect_uri: args
                .redirect_uri
                .as_deref()
                .or_else(|| super::say_pasted_redirect(inputs.pasted_redirect.as_deref())),
        },
        &inputs.requested_scopes,
        product,
        !args.client.no_test,
        false,
    )
    .await?;
    let grant = Grant {
        creds: &inputs.creds,
        target: &inputs.target,
        requested_scopes: &inputs.requested_scopes,
        secrets_in: if args.keychain {
            SecretsIn::Keychain
        } else {
            SecretsIn::EnvFile
        },
        appsettings: args.appsettings.as_deref(),
        held_refresh: inputs.held_refresh.as_ref(),
    };
    finish(global, &grant, &verified, &client, args.client.no_test).await
}

/// What is written besides the tokens: the client, where it was exchanged, the scopes asked for,
/// and where the secrets go. `login` fills it the same way.
pub struct Grant<'a> {
    pub creds: &'a Credentials,
    pub target: &'a Target,
    pub requested_scopes: &'a [String],
    pub secrets_in: SecretsIn,
    pub appsettings: Option<&'a Path>,
    /// The refresh token the env file held when the command read it (see [`Expect`]).
    pub held_refresh: Option<&'a Secret>,
}

/// After a verified exchange: notes a data-center mismatch, reports the live test, writes the env
/// file (and keychain, appsettings, token cache) and prints the `--json` summary.
pub async fn finish(
    global: &GlobalArgs,
    grant: &Grant<'_>,
    verified: &Verified,
    client: &Client,
    no_test: bool,
) -> Result<(), Diagnosis> {
    if let Some(actual) = verified.dc_mismatch {
        eprintln!(
            "zoho-auth: note: Zoho placed this account in {} ({}); the env file records that data center.",
            actual.name(),
            actual.code()
        );
    }
    report_probe(verified, no_test);
    save(global, grant, verified, client).await
}

fn report_probe(verified: &Verified, skipped: bool) {
    match (verified.product, skipped) {
        (_, true) => eprintln!("zoho-auth: live test skipped (--no-test)."),
        (None, false) => eprintln!(
            "zoho-auth: no live test: these scopes grant no product's organizations endpoint (pass --product to choose one)."
        ),
        (Some(product), false) => {
            eprintln!(
                "zoho-auth: live test passed: {} lists {} organization(s).",
                product.name(),
                verified.organizations.len()
            );
            for org in &verified.organizations {
                let mark = if org.is_default { " (default)" } else { "" };
                eprintln!("  {}  {}{mark}", org.id, org.name);
            }
        }
    }
}

/// Writes a verified grant through the one save path (env file or keychain, appsettings), then
/// the token cache. A refresh token that cannot be saved is revoked.
pub async fn save(
    global: &GlobalArgs,
    inputs: &Grant<'_>,
    verified: &Verified,
    client: &Client,
) -> Result<(), Diagnosis> {
    let tokens = &verified.tokens;
    let Some(refresh) = tokens.refresh_token.as_ref() else {
        return Err(Diagnosis::new(
            Code::InvalidCode,
            "Zoho returned no refresh token.",
            "Generate a new code with offline access.",
        ));
    };
    let scopes_written = if tokens.scopes.is_empty() {
        scopes::join(inputs.requested_scopes)
    } else {
        scopes::join(&scopes::parse_list(&tokens.scopes.join(",")))
    };
    let org = default_organization(&verified.organizations).map(|o| o.id.clone());
    let dc = verified.dc.or(inputs.target.dc);
    let accounts = inputs.target.accounts_str();
    let new_grant = NewGrant {
        client_id: inputs.creds.client_id.clone(),
        client_secret: inputs.creds.client_secret.clone(),
        refresh_token: refresh.clone(),
        dc,
        accounts_url: accounts.clone(),
        api_domain: Some(tokens.api_domain.clone()),
        scopes: Some(scopes_written),
        organization_id: org.clone(),
    };
    if let Some(sc) = super::store::choice_of(global)? {
        return super::store::save(global, &sc, &new_grant, verified, client, inputs.target).await;
    }
    let had_marker = load_env(&global.env_file)?
        .as_ref()
        .and_then(|e| e.get(keys::SECRET_STORE))
        .is_some();
    let plan = save::plan(&new_grant, inputs.secrets_in, had_marker);
    let report = match save::apply(
        &plan,
        &Destination {
            env_path: &global.env_file,
            appsettings: inputs.appsettings,
            add_to_gitignore: false,
            expect: Expect::RefreshToken(inputs.held_refresh),
        },
    ) {
        Ok(report) => report,
        Err(SaveError::AppSettings(e)) => {
            // The env file holds the grant; only the extra copy failed.
            return Err(SaveError::AppSettings(e).diagnosis());
        }
        Err(e) => {
            // The new refresh token cannot be saved (or another command saved one meanwhile and
            // won): revoke it rather than leave an orphan that counts against Zoho's 20 refresh
            // tokens per client. Nothing was written.
            return Err(flow::discard(client, inputs.target, refresh, e.diagnosis()).await);
        }
    };
    print_changes(&global.env_file, &report.changes);
    print_backup(&report);
    if let Some(path) = &report.appsettings {
        eprintln!(
            "zoho-auth: merged the Zoho section into {} (backup beside it).",
            path.display()
        );
    }

    if let Some(cache) = TokenCache::from_env() {
        let key = TokenCache::key(&accounts, &inputs.creds.client_id, refresh);
        let _ = cache.write(
            &key,
            &Cached::new(
                &tokens.access_token,
                &tokens.api_domain,
                tokens.expires_in,
                now_unix(),
            ),
        );
    }

    if global.json {
        let summary = Summary {
            ok: true,
            dc: dc.map(Dc::code),
            api_domain: &tokens.api_domain,
            product: verified.product.map(|p| p.code()),
            organizations: &verified.organizations,
            organization_id: org.as_deref(),
            scopes: &tokens.scopes,
            env_file: global.env_file.display().to_string(),
            secret_store: if report.keychain {
                "keychain"
            } else {
                "env_file"
            },
            changed: report
                .changes
                .iter()
                .filter(|c| c.is_change())
                .map(|c| c.key().to_string())
                .collect(),
            backup: report.backup.as_ref().map(|b| b.display().to_string()),
            backup_gitignore: report
                .backup_gitignore
                .as_ref()
                .map(|g| g.display().to_string()),
        };
        println!(
            "{}",
            serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into())
        );
    }
    Ok(())
}

/// Says where the previous file is kept and that git ignores it, on stderr (every command that
/// writes the env file).
pub fn print_backup(report: &save::Report) {
    for line in report.backup_lines() {
        eprintln!("zoho-auth: {line}.");
    }
}

/// Reports which keys changed, on stderr.
pub fn print_changes(path: &std::path::Path, changes: &[Change]) {
    let list = |pick: fn(&Change) -> bool| {
        changes
            .iter()
            .filter(|c| pick(c))
            .map(Change::key)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let added = list(|c| matches!(c, Change::Added(_)));
    let updated = list(|c| matches!(c, Change::Updated(_)));
    let removed = list(|c| matches!(c, Change::Removed(_)));
    if added.is_empty() && updated.is_empty() && removed.is_empty() {
        eprintln!("zoho-auth: {} already up to date.", path.display());
        return;
    }
    eprintln!("zoho-auth: wrote {}:", path.display());
    for (what, keys) in [("added", added), ("updated", updated), ("removed", removed)] {
        if !keys.is_empty() {
            eprintln!("  {what}: {keys}");
        }
    }
}
