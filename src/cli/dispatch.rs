//! Parses the command line, picks the command and maps its outcome to the contract's exit code.
//! The argument types live in `cli` (mod.rs); each command in its own file.

use std::process::ExitCode;

use super::{Cli, Command, SetupArgs};
use super::{
    api, check, completions, exchange, login, reauth, revoke, run, sandbox, scopes, serve, setup,
    tenants, token,
};

/// Parses the command line, runs the command and maps the outcome to the contract's exit code.
pub fn main() -> ExitCode {
    // Before any secret is read: a crash must not write one to a core file.
    let _ = crate::platform::disable_core_dumps();
    let parsed = super::command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) if err.kind() == clap::error::ErrorKind::InvalidUtf8 => {
            // clap does not say which one: name the flag, never the value.
            eprintln!(
                "zoho-auth: the value of {} is not UTF-8 text.\n  Fix: pass it as plain text (a secret or a code with `-` on stdin).",
                non_utf8_argument()
            );
            return ExitCode::from(2);
        }
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    // The one-shot commands run on the calling thread: no worker threads to start and no hand-offs
    // between threads, which cost most on a busy machine (benches/run.sh). The wizard, sign-in
    // and the sandbox keep two workers.
    let one_shot = matches!(
        cli.command,
        Some(
            Command::Exchange(_)
                | Command::Check(_)
                | Command::Token
                | Command::Revoke
                | Command::Tenants
                | Command::Scopes(_)
                | Command::Api(_)
                | Command::Run(_)
                | Command::Completions(_)
        )
    );
    if one_shot {
        super::quiet_on_closed_pipe();
    }
    let mut builder = if one_shot {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("zoho-auth: internal error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    // A bug must still end as the contract's "internal error" (exit 1), with a message that says
    // so, not Rust's default exit 101. The wizard's own hook restores the terminal first.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!(
            "zoho-auth: internal error: this is a bug in zoho-auth, not in your setup. Nothing was written after this point; please report it with the lines above."
        );
    }));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(run(cli)))) {
        Ok(code) => ExitCode::from(code),
        Err(_) => ExitCode::from(1),
    }
}

/// The flag whose value on the command line is not UTF-8 (`--code`), or "an argument".
fn non_utf8_argument() -> String {
    let mut previous: Option<String> = None;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some(text) => previous = Some(text.to_string()),
            None => {
                let lossy = arg.to_string_lossy();
                if lossy.starts_with("--")
                    && let Some((flag, _)) = lossy.split_once('=')
                {
                    return flag.to_string();
                }
                return match previous {
                    Some(flag) if flag.starts_with('-') => flag,
                    _ => "an argument".to_string(),
                };
            }
        }
    }
    "an argument".to_string()
}

async fn run(cli: Cli) -> u8 {
    let global = cli.global;
    // `--dc xx` is a usage error whatever the command, before it reads a credential or a file,
    // so it is never reported as something else (a missing client secret). Checked here once.
    if let Err(d) = super::common::dc_flag(&global) {
        super::common::print_diagnosis(&d);
        return d.exit_code();
    }
    if let Some(code) = super::refuse_json(&global, cli.command.as_ref()) {
        return code;
    }
    match cli.command {
        Some(Command::Sandbox(args)) => sandbox::run(&global, &args).await,
        Some(Command::Exchange(args)) => exchange::run(&global, &args).await,
        Some(Command::Login(args)) => login::run(&global, &args).await,
        Some(Command::Check(args)) => check::run(&global, &args).await,
        Some(Command::Token) => token::run(&global).await,
        Some(Command::Revoke) => revoke::run(&global).await,
        Some(Command::Tenants) => tenants::run(&global).await,
        Some(Command::Scopes(args)) => scopes::run(&global, &args),
        Some(Command::Api(args)) => api::run(&global, &args).await,
        Some(Command::Run(args)) => run::run(&global, &args).await,
        Some(Command::Serve(args)) => serve::run(&global, &args).await,
        Some(Command::Completions(args)) => completions::run(&args),
        Some(Command::Setup(args)) => setup::run(&global, &args).await,
        Some(Command::Reauth(args)) => reauth::run(&global, &args).await,
        None => setup::run(&global, &SetupArgs::default()).await,
    }
}
