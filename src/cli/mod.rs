//! The command line: argument parsing (clap) and the non-interactive commands. IO lives here.

pub mod api;
mod args;
pub mod check;
pub mod common;
pub mod completions;
mod dispatch;
pub mod exchange;
pub mod handoff;
pub mod login;
pub mod reauth;
pub mod revoke;
pub mod run;
pub mod sandbox;
pub mod scopes;
pub mod serve;
pub mod setup;
mod store;
pub mod tenants;
pub mod token;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use args::{ClientArgs, GlobalArgs};
pub use dispatch::main;

/// The parser. Each subcommand's `--help` lists its own options first, then under "Global
/// options" only the global ones that mean something there ([`globals_shown`]); the others are
/// still accepted before or after the subcommand (design.md), just hidden from its help.
///
/// The hiding is done before clap builds the parser: each subcommand gets its own hidden copy of
/// a global option it does not use, which clap's propagation then leaves alone (it skips an id the
/// subcommand already has). Changing arguments after `build()` would corrupt clap's key map
/// (`mut_arg` removes and re-pushes the argument) and break `--help`.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command().mut_args(|a| {
        if a.is_global_set() {
            a.help_heading("Global options")
        } else {
            a
        }
    });
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sc| sc.get_name().to_string())
        .collect();
    names.iter().fold(cmd, |cmd, name| {
        let shown = globals_shown(name);
        cmd.mut_subcommand(name, |mut sc| {
            for a in &globals {
                if !shown.contains(&a.get_id().as_str()) {
                    sc = sc.arg(a.clone().hide(true));
                }
            }
            sc
        })
    })
}

/// The global options (by id) that do something for the grant: where it is, where requests go
/// and the request trace.
const GRANT_GLOBALS: [&str; 5] = ["env_file", "accounts_url", "api_domain", "dc", "verbose"];

/// The global options (by id) that pick a SQL store and its row.
const STORE_GLOBALS: [&str; 4] = ["store", "tenant", "layout", "table"];

/// The global options (by id) that subcommand `name`'s `--help` lists: those it reads. `--json`
/// only where it is honoured ([`refuse_json`] refuses it elsewhere). An unknown name (a command
/// added without an entry here) shows them all.
pub fn globals_shown(name: &str) -> Vec<&'static str> {
    let grant_and_store = || [&GRANT_GLOBALS[..], &STORE_GLOBALS[..]].concat();
    match name {
        "setup" | "reauth" | "login" | "revoke" | "run" | "serve" => grant_and_store(),
        "exchange" | "check" | "token" | "api" => [grant_and_store(), vec!["json"]].concat(),
        "tenants" => vec!["store", "layout", "table", "json"],
        "scopes" => vec!["json"],
        "sandbox" | "completions" => vec![],
        _ => [grant_and_store(), vec!["json"]].concat(),
    }
}

/// The commands whose output `--json` changes: `check`, `exchange`, `scopes`, `token`, `tenants`
/// and `api`
/// (whose output is the API's JSON anyway). The others refuse it (exit 2) rather than ignore it;
/// this says so for `command` and returns the exit code, or `None` when `--json` is fine.
pub fn refuse_json(global: &GlobalArgs, command: Option<&Command>) -> Option<u8> {
    if !global.json {
        return None;
    }
    let name = match command {
        Some(
            Command::Check(_)
            | Command::Exchange(_)
            | Command::Scopes(_)
            | Command::Token
            | Command::Api(_)
            | Command::Tenants,
        ) => return None,
        None | Some(Command::Setup(_)) => "setup",
        Some(Command::Reauth(_)) => "reauth",
        Some(Command::Login(_)) => "login",
        Some(Command::Revoke) => "revoke",
        Some(Command::Sandbox(_)) => "sandbox",
        Some(Command::Run(_)) => "run",
        Some(Command::Serve(_)) => "serve",
        Some(Command::Completions(_)) => "completions",
    };
    eprintln!(
        "zoho-auth: `{name}` has no JSON output, so --json is refused rather than ignored.\n  Fix: drop --json; it is honoured by check, exchange, scopes, token, tenants and api."
    );
    Some(2)
}

/// The redirect URI a pasted redirect URL was sent to: its scheme, host, port and path, without
/// the query (`https://example.com/cb?code=…` → `https://example.com/cb`). `None` for anything
/// that is not an http(s) URL carrying a `code`.
pub fn redirect_of_paste(raw: &str) -> Option<String> {
    let mut url = url::Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !url.query_pairs().any(|(k, _)| k == "code") {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// `exchange` without `--redirect-uri` and a pasted redirect URL: says which redirect URI is sent
/// (Zoho wants the one the code was made for), before the code is spent.
pub fn say_pasted_redirect(redirect: Option<&str>) -> Option<&str> {
    let uri = redirect?;
    eprintln!(
        "zoho-auth: sending redirect_uri {} (the pasted URL without its query); pass --redirect-uri if the client registered another.",
        crate::auth::printable::printable(uri)
    );
    Some(uri)
}

/// A closed pipe (`zoho-auth scopes --json | head -1`) ends a one-shot command quietly, as Unix
/// tools do: SIGPIPE back to its default (the shell reports 141), instead of Rust's ignored signal
/// and a panic in `println!`. Only for the commands that serve nothing: a server writing to a Unix
/// socket whose client left must get an error, not die.
pub fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called once on the main thread before any other thread starts; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

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
    /// List the tenants of a SQL store (--store), without secrets.
    Tenants,
    /// List the scope catalogue.
    Scopes(ScopesArgs),
    /// Run the simulated Zoho in the foreground.
    Sandbox(SandboxArgs),
    /// An authenticated request to a Zoho API (like `gh api`).
    Api(api::ApiArgs),
    /// Run a program with a valid access token in its environment.
    Run(run::RunArgs),
    /// A local token endpoint for programs and containers.
    Serve(serve::ServeArgs),
    /// Print a completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(CompletionsArgs),
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
    /// Refresh the access token even when the cached one is good for 5 more minutes.
    #[arg(long)]
    pub refresh: bool,
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
    /// Keep clients, grants and created records in FILE across restarts (written after each
    /// change and at stop, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub state: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}
