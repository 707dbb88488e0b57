//! `zoho-auth reauth`: reads the configured grant the way `check` does (`auth::saved`: env file,
//! environment, keychain), then runs the wizard from its Diagnose step. The runtime checks,
//! verifies the new token (`flow::new_grant` with a refresh) and revokes the old one with what is
//! read here.

use std::io::IsTerminal;
use std::sync::Arc;

use crate::auth::diagnosis;
use crate::auth::target::WizardChoice;
use crate::auth::{Dc, envfile, keys};
use crate::runtime::{self, OldGrant, Setup};
use crate::wizard::{DcSource, ReauthStart, RevokeState, Seed, Wizard};

use super::common;
use super::{GlobalArgs, ReauthArgs};

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
pub async fn run(global: &GlobalArgs, args: &ReauthArgs) -> u8 {
    let from_stdin = args.from_error.as_deref() == Some("-");
    if !has_terminal(from_stdin) {
        eprintln!(
            "zoho-auth: reauth is interactive and needs a terminal (stdin and stdout are not both a TTY).\n\
             Without one, `zoho-auth check` prints the same diagnosis (--json for scripts; the exit code \
             says the class), and `zoho-auth exchange --code -` writes a new token from a code."
        );
        return 2;
    }
    let store = match super::store::for_wizard(global).await {
        Ok(store) => store,
        Err(code) => return code,
    };
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
    let env_accounts = common::lookup(keys::ACCOUNTS_URL, existing.as_ref())
        .filter(|url| Dc::from_url(url).is_none());
    let accounts_override = global.accounts_url.clone().or(if dc_flag.is_none() {
        env_accounts
    } else {
        None
    });
    let keychain = configured.as_ref().is_ok_and(|c| c.keychain);
    let setup = Setup {
        env_path: global.env_file.clone(),
        choice: WizardChoice {
            accounts_override,
            api_override: global.api_domain.clone(),
            dc_flag,
        },
        ssh: runtime::ssh(),
        sandbox: None,
        reauth: None,
        http: super::setup::wizard_http(global),
        store: store.clone(),
    };
    let (mut prefill, ctx) = runtime::prepare(&setup, existing.as_ref(), None);
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
        reauth: Some(Arc::new(OldGrant { configured })),
        ..setup
    };
    let mut w = Wizard::reauth(prefill, ctx, ReauthStart { seed, keychain });
    let code = runtime::run_wizard_on(&mut w, setup).await;
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
        if let Some(gitignore) = &report.backup_gitignore {
            eprintln!("  The backup is listed in {gitignore}, so git does not show it.");
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
