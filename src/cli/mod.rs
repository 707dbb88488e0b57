//! The command line: argument parsing (clap) and the non-interactive commands. IO lives here.

pub mod check;
pub mod common;
pub mod completions;
pub mod exchange;
pub mod handoff;
pub mod login;
pub mod revoke;
pub mod run;
pub mod sandbox;
pub mod scopes;
pub mod serve;
pub mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "zoho-auth",
    version,
    about = "Get a working Zoho OAuth token into your project, and fix it when it breaks."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive setup wizard (the default).
    Setup(SetupArgs),
    /// The emergency wizard: diagnose the env file and re-authorize.
    Reauth(ReauthArgs),
    /// Exchange a code for tokens, live-test them and write the env file.
    Exchange(ExchangeArgs),
    /// Sign in through a browser (loopback redirect) or the device flow.
    Login(LoginArgs),
    /// Refresh and live-test the token in the env file; exit code by class.
    Check(CheckArgs),
    /// Print a valid access token (cached while more than 5 minutes remain).
    Token,
    /// Revoke the refresh token at Zoho and remove it from the env file.
    Revoke,
    /// List the scope catalogue.
    Scopes(ScopesArgs),
    /// Run the simulated Zoho in the foreground.
    Sandbox(SandboxArgs),
    /// Run a program with a valid access token in its environment.
    Run(run::RunArgs),
    /// A local token endpoint for programs and containers.
    Serve(serve::ServeArgs),
    /// Print a completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(completions::CompletionsArgs),
}

#[derive(Debug, Clone, Default, Args)]
pub struct SetupArgs {
    /// Run against an in-process simulated Zoho with its demo client.
    #[arg(long)]
    pub sandbox: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ReauthArgs {
    /// The error production showed (a response body, log line or status line) to seed the
    /// diagnosis; `-` reads it from stdin. The live check confirms or replaces it.
    #[arg(long, value_name = "TEXT|-")]
    pub from_error: Option<String>,
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

#[derive(Debug, Clone, Default, Args)]
pub struct ExchangeArgs {
    /// The code, a whole redirect URL, or `-` for stdin.
    #[arg(long, value_name = "CODE|-")]
    pub code: Option<String>,
    /// A downloaded self_client.json (carries the code and the client).
    #[arg(long, value_name = "FILE")]
    pub self_client_json: Option<PathBuf>,
    /// The redirect URI of a server-based client (must match the registered one).
    #[arg(long, value_name = "U")]
    pub redirect_uri: Option<String>,
    /// Also merge a `Zoho` section into this .NET appsettings.json.
    #[arg(long, value_name = "FILE")]
    pub appsettings: Option<PathBuf>,
    /// Store the secrets in the OS keychain instead of the env file.
    #[arg(long)]
    pub keychain: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct LoginArgs {
    /// Sign in through the browser and a loopback redirect.
    #[arg(long, conflicts_with = "device")]
    pub browser: bool,
    /// Sign in with the device flow (for "Non-browser" clients).
    #[arg(long)]
    pub device: bool,
    /// Redirect URI registered for the client (loopback).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// Only print the URL; do not open a browser.
    #[arg(long)]
    pub no_open: bool,
    /// How long to wait for the sign-in, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {
    /// Product to live-test: books invoice inventory expense crm desk.
    #[arg(long, value_name = "P")]
    pub product: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ScopesArgs {
    /// Only this product's scopes.
    #[arg(long, value_name = "P")]
    pub product: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8470)]
    pub port: u16,
}

/// Parses the command line, runs the command and maps the outcome to the contract's exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
                | Command::Scopes(_)
                | Command::Run(_)
                | Command::Completions(_)
        )
    );
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
    match cli.command {
        Some(Command::Sandbox(args)) => sandbox::run(&global, &args).await,
        Some(Command::Exchange(args)) => exchange::run(&global, &args).await,
        Some(Command::Login(args)) => login::run(&global, &args).await,
        Some(Command::Check(args)) => check::run(&global, &args).await,
        Some(Command::Token) => token::run(&global).await,
        Some(Command::Revoke) => revoke::run(&global).await,
        Some(Command::Scopes(args)) => scopes::run(&global, &args),
        Some(Command::Run(args)) => run::run(&global, &args).await,
        Some(Command::Serve(args)) => serve::run(&global, &args).await,
        Some(Command::Completions(args)) => completions::run(&args),
        Some(Command::Setup(args)) => crate::runtime::run_setup(&global, &args).await,
        Some(Command::Reauth(args)) => crate::runtime::run_reauth(&global, &args).await,
        None => crate::runtime::run_setup(&global, &SetupArgs::default()).await,
    }
}
