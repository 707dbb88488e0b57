//! `zoho-auth reauth`: reads the configured grant the way `check` does (env file, environment,
//! keychain), then runs the wizard from its Diagnose step. The executor checks, verifies the new
//! token and revokes the old one with what is read here; the wizard never holds the old token.

use std::io::IsTerminal;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::{Setup, prepare, run_wizard_on, ssh};
use crate::auth::cache::TokenCache;
use crate::auth::client::Client;
use crate::auth::diagnosis::{self, Code, Diagnosis};
use crate::auth::flow;
use crate::auth::{Dc, Product, Secret, envfile};
use crate::cli::common::{self, Configured};
use crate::cli::{GlobalArgs, ReauthArgs};
use crate::wizard::{CheckResult, DcSource, Msg, ReauthStart, RevokeState, Seed, Wizard};

/// The grant as configured before reauth, or why it could not be read.
pub(crate) struct Grant {
    pub configured: Result<Configured, Diagnosis>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.configured {
            Ok(_) => f.write_str("Grant(configured)"),
            Err(d) => write!(f, "Grant({})", d.code.as_str()),
        }
    }
}

/// The terminal can be driven: stdout is one, and so is stdin, or `/dev/tty` when stdin carries
/// the `--from-error -` text (crossterm then reads keys from `/dev/tty`).
fn has_terminal(stdin_is_data: bool) -> bool {
    if !std::io::stdout().is_terminal() {
        return false;
    }
    if std::io::stdin().is_terminal() {
        return true;
    }
    stdin_is_data
        && cfg!(unix)
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
}

/// `zoho-auth reauth [--from-error TEXT|-]`.
pub async fn run_reauth(global: &GlobalArgs, args: &ReauthArgs) -> u8 {
    let from_stdin = args.from_error.as_deref() == Some("-");
    if !has_terminal(from_stdin) {
        eprintln!(
            "zoho-auth: reauth is interactive and needs a terminal (stdin and stdout are not both a TTY).\n\
             Without one, `zoho-auth check` prints the same diagnosis (--json for scripts; the exit code \
             says the class), and `zoho-auth exchange --code -` writes a new token from a code."
        );
        return 2;
    }
    let dc_flag = match common::dc_flag(global) {
        Ok(dc) => dc,
        Err(d) => {
            common::print_diagnosis(&d);
            return d.exit_code();
        }
    };
    let seed = match args.from_error.as_deref() {
        None => None,
        Some("-") => {
            if std::io::stdin().is_terminal() {
                eprintln!("zoho-auth: paste the error text, then Ctrl+D on a line of its own:");
            }
            match common::read_stdin("error text") {
                Ok(text) => Some(seed_of(&text)),
                Err(d) => {
                    common::print_diagnosis(&d);
                    return d.exit_code();
                }
            }
        }
        Some(text) => Some(seed_of(text)),
    };
    let configured = common::load_configured(global);
    let existing = match &configured {
        Ok(cfg) => cfg.env.clone(),
        Err(_) => envfile::load(&global.env_file).ok().flatten(),
    };
    // An accounts URL in the env file that is no Zoho host (the sandbox, a proxy) keeps being used.
    let env_accounts = common::lookup("ZOHO_ACCOUNTS_URL", existing.as_ref())
        .filter(|url| Dc::from_url(url).is_none());
    let accounts_override = global.accounts_url.clone().or(if dc_flag.is_none() {
        env_accounts
    } else {
        None
    });
    let keychain = configured.as_ref().is_ok_and(|c| c.keychain);
    let setup = Setup {
        env_path: global.env_file.clone(),
        accounts_override,
        api_override: global.api_domain.clone(),
        dc_flag,
        ssh: ssh(),
        sandbox: None,
        reauth: None,
    };
    let (mut prefill, ctx) = prepare(&setup, existing.as_ref(), None);
    if let Ok(cfg) = &configured {
        // The grant as `check` read it: environment and keychain included.
        prefill.client_id = Some(cfg.creds.client_id.clone());
        prefill.client_secret = Some(cfg.creds.client_secret.clone());
        prefill.client_source = Some(if cfg.keychain {
            "the env file and the keychain".to_string()
        } else {
            "the env file".to_string()
        });
        if !cfg.scopes.is_empty() {
            prefill.scopes = cfg.scopes.clone();
        }
        if dc_flag.is_none()
            && let Some(dc) = cfg.target.dc
        {
            prefill.dc = Some((dc, DcSource::EnvFile));
        }
    }
    let setup = Setup {
        reauth: Some(Arc::new(Grant { configured })),
        ..setup
    };
    let mut w = Wizard::reauth(prefill, ctx, ReauthStart { seed, keychain });
    let code = run_wizard_on(&mut w, setup).await;
    print_summary(&w);
    code
}

/// After the terminal is restored: what reauth found and did, so it outlives the screen.
fn print_summary(w: &Wizard) {
    let Some(r) = &w.reauth else { return };
    if let Some(report) = &w.report {
        eprintln!(
            "zoho-auth reauth: a new refresh token, verified (exchange, refresh, live test), was written to {}.",
            report.env_path
        );
        if let Some(backup) = &report.backup {
            eprintln!("  The previous file is kept as {backup}.");
        }
        match &r.revoke {
            RevokeState::Revoked { .. } => eprintln!("  The old refresh token is revoked."),
            RevokeState::Offered | RevokeState::Failed(_) => match &report.backup {
                Some(backup) => eprintln!(
                    "  The old refresh token still works; once nothing uses it, `zoho-auth revoke --env-file {backup}` revokes it."
                ),
                None => eprintln!("  The old refresh token still works."),
            },
            RevokeState::Unavailable | RevokeState::Running => {}
        }
        return;
    }
    if let Some(res) = &r.result {
        let d = &res.diagnosis;
        eprintln!(
            "zoho-auth reauth: {} ({}). Nothing was changed.",
            d.message.trim_end_matches('.'),
            d.code.as_str()
        );
    }
}

fn seed_of(text: &str) -> Seed {
    match diagnosis::from_error_text(text) {
        Some(code) => Seed::Read(code),
        None => Seed::Unrecognized,
    }
}

/// `Effect::Check`: the checks of `zoho-auth check`, with their progress sent as they start.
pub(crate) async fn check(
    client: &Client,
    grant: Option<&Grant>,
    product: Option<Product>,
    attempt: u64,
    tx: &UnboundedSender<Msg>,
) -> CheckResult {
    let cfg = match grant.map(|g| &g.configured) {
        Some(Ok(cfg)) => cfg,
        Some(Err(d)) => return failed(d.clone(), product),
        None => {
            return failed(
                Diagnosis::new(
                    Code::MissingCredentials,
                    "No configured grant was read.",
                    "Run `zoho-auth setup`.",
                ),
                product,
            );
        }
    };
    let progress = |stage| {
        let _ = tx.send(Msg::CheckProgress { attempt, stage });
    };
    let report = flow::check_with_progress(
        client,
        &cfg.target,
        &cfg.creds,
        &cfg.refresh_token,
        &cfg.scopes,
        product,
        &progress,
    )
    .await;
    CheckResult {
        diagnosis: Diagnosis::new(report.diagnosis, report.message, report.fix),
        product: report.product.and_then(Product::from_code),
        account_dc: report.dc.and_then(Dc::from_code),
        scopes: report.scopes,
        organizations: report.organizations.map(|o| o.len()),
    }
}

fn failed(diagnosis: Diagnosis, product: Option<Product>) -> CheckResult {
    CheckResult {
        diagnosis,
        product,
        account_dc: None,
        scopes: vec![],
        organizations: None,
    }
}

/// `Effect::RevokeOld`: revokes the refresh token the env file had, at the accounts server it was
/// configured for, and forgets its cached access token.
pub(crate) async fn revoke_old(client: &Client, grant: Option<&Grant>) -> Result<bool, Diagnosis> {
    let Some(Ok(cfg)) = grant.map(|g| &g.configured) else {
        return Err(Diagnosis::new(
            Code::MissingCredentials,
            "No old refresh token was read, so there is none to revoke.",
            "",
        ));
    };
    let known = flow::revoke(client, &cfg.target, &cfg.refresh_token).await?;
    if let Some(cache) = TokenCache::from_env() {
        cache.remove(&TokenCache::key(
            &cfg.target.accounts_str(),
            &cfg.creds.client_id,
            &cfg.refresh_token,
        ));
    }
    Ok(known)
}

/// The refresh half of reauth's verification: the new refresh token must mint an access token
/// before it replaces the old one.
pub(crate) async fn verify_refresh(
    client: &Client,
    target: &flow::Target,
    creds: &crate::auth::client::Credentials,
    refresh_token: &Secret,
) -> Result<(), Diagnosis> {
    flow::refresh(client, target, creds, refresh_token)
        .await
        .map(|_| ())
        .map_err(|d| {
            Diagnosis::new(
                d.code,
                format!(
                    "The new token was exchanged and live-tested, but refreshing it failed, so nothing was written: {}",
                    d.message
                ),
                d.fix,
            )
        })
}
