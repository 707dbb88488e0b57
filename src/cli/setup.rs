//! `zoho-auth` / `zoho-auth setup [--sandbox]`: the interactive wizard. This command owns its
//! arguments; it starts the runtime with plain values (a `Wizard`, where requests go, the env path).

use std::io::IsTerminal;

use crate::auth::target::WizardChoice;
use crate::auth::{Secret, envfile};
use crate::runtime::{self, Setup};
use crate::wizard::{SignIn, Wizard};

use super::{GlobalArgs, SetupArgs};

/// `zoho-auth`, `zoho-auth setup`, `zoho-auth setup --sandbox`: the interactive wizard.
pub async fn run(global: &GlobalArgs, args: &SetupArgs) -> u8 {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "zoho-auth: the setup wizard needs a terminal (stdin and stdout are not both a TTY).\n\
             Without one, use `zoho-auth exchange --code -` (the code on stdin) with \
             --client-id, --client-secret - or ZOHO_CLIENT_ID/ZOHO_CLIENT_SECRET; see `zoho-auth exchange --help`."
        );
        return 2;
    }
    let store = match super::store::for_wizard(global).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    // An unknown `--dc` was refused by dispatch before any command ran.
    let dc_flag = super::common::dc_flag(global).ok().flatten();
    // `--sandbox`: a simulated Zoho on the stable port with the persistent default state, so the
    // commands the Done screen suggests work again with `zoho-auth sandbox` after the wizard quits.
    // Requests go to it whatever the flags say.
    let sandbox = if args.sandbox {
        match start_sandbox().await {
            Ok(sandbox) => Some(sandbox),
            Err(message) => {
                eprintln!("zoho-auth: {message}");
                return 5;
            }
        }
    } else {
        None
    };
    let run_as = run_as();
    if let Some(note) = sandbox.as_ref().and_then(|s| s.note.as_ref()) {
        eprintln!("zoho-auth: {note}");
    }
    let sandbox_base = sandbox.as_ref().map(|s| s.base.clone());
    let demo_client = sandbox.as_ref().map(|s| {
        let (_, id, secret) = &s.clients[0];
        (id.clone(), secret.clone())
    });
    let demo_clients: Vec<(SignIn, String, Secret)> = sandbox
        .as_ref()
        .map(|s| s.clients.clone())
        .unwrap_or_default();
    // The sandbox's values go to their own file, not over the project's `.env`.
    let env_path = if args.sandbox && global.env_file == std::path::Path::new(".env") {
        std::path::PathBuf::from(SANDBOX_ENV_FILE)
    } else {
        global.env_file.clone()
    };
    let setup = Setup {
        env_path: env_path.clone(),
        choice: WizardChoice {
            accounts_override: sandbox_base.clone().or_else(|| global.accounts_url.clone()),
            api_override: sandbox_base.clone().or_else(|| global.api_domain.clone()),
            dc_flag,
        },
        ssh: runtime::ssh(),
        sandbox: sandbox_base,
        reauth: None,
        http: wizard_http(global),
        store: store.clone(),
    };
    let existing = match envfile::load(&setup.env_path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("zoho-auth: {e}");
            return 2;
        }
    };
    let (prefill, mut ctx) = runtime::prepare(&setup, existing.as_ref(), demo_client);
    ctx.demo_clients = demo_clients;
    ctx.run_as = run_as.clone();
    ctx.sandbox_restart = sandbox
        .as_ref()
        .filter(|s| s.own.is_some())
        .map(|s| restart_command(&run_as, s));
    let mut wizard = Wizard::new(prefill, ctx);
    let code = runtime::run_wizard_on(&mut wizard, setup).await;
    if let Some(sandbox) = &sandbox
        && wizard.report.is_some()
    {
        mark_sandbox_env(&env_path, &restart_command(&run_as, sandbox));
    }
    print_summary(&wizard, &run_as, sandbox.as_ref());
    if let Some(own) = sandbox.and_then(|s| s.own)
        && let Err(e) = own.shutdown().await
    {
        eprintln!("zoho-auth: {e}");
    }
    code
}

/// The wizard's HTTP settings: `ZOHO_AUTH_HTTP_TIMEOUT` (seconds) as for the other commands, and
/// with `-v` a captured trace, printed once the terminal is restored.
pub fn wizard_http(global: &GlobalArgs) -> runtime::Http {
    let mut http = runtime::Http::default();
    let keys_timeout = std::env::var(crate::auth::keys::HTTP_TIMEOUT).ok();
    if let Some(timeout) = crate::auth::keys::http_timeout(keys_timeout.as_deref()) {
        http.timeout = timeout;
    }
    if global.verbose {
        http.trace = Some(Default::default());
    }
    http
}

/// Where `setup --sandbox` writes when `--env-file` is not given.
pub const SANDBOX_ENV_FILE: &str = ".env.sandbox";

/// The first line of an env file the sandbox wizard wrote: the file says it belongs to the sandbox.
pub const SANDBOX_MARK: &str = "# zoho-auth sandbox:";

/// The sandbox the wizard talks to: its own (stopped at the end) or a running `zoho-auth sandbox`
/// that keeps the same state file.
struct WizardSandbox {
    base: String,
    own: Option<crate::sandbox::Sandbox>,
    port: u16,
    /// The demo clients: Self Client first, then the server-based and the device client.
    clients: Vec<(SignIn, String, Secret)>,
    /// Said before the wizard starts (a port that was taken).
    note: Option<String>,
}

/// Starts the wizard's sandbox on the stable port with the default state. A running
/// `zoho-auth sandbox` with the same state on that port is used as is; anything else there makes
/// the sandbox take a free port (and say so).
async fn start_sandbox() -> Result<WizardSandbox, String> {
    use crate::sandbox::{Sandbox, SandboxConfig, StartError};
    let state = super::sandbox::state_path(None);
    let start = |port: u16| {
        let state = state.clone();
        async move {
            let config = SandboxConfig {
                port,
                ..SandboxConfig::default()
            };
            match &state {
                Some(path) => Sandbox::start_with_state(config, path).await,
                None => Sandbox::start(config).await.map_err(StartError::Listen),
            }
        }
    };
    let port = super::sandbox::DEFAULT_PORT;
    let (own, note) = match start(port).await {
        Ok(sandbox) => (sandbox, None),
        Err(StartError::Listen(e)) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let base = format!("http://127.0.0.1:{port}");
            if let Some(clients) = running_sandbox(&base, state.as_deref()).await {
                return Ok(WizardSandbox {
                    base,
                    own: None,
                    port,
                    clients,
                    note: None,
                });
            }
            let sandbox = start(0)
                .await
                .map_err(|e| format!("could not start the built-in sandbox on 127.0.0.1: {e}"))?;
            let note = format!(
                "port {port} is taken by another program, so the sandbox listens on {} instead.",
                sandbox.base_url()
            );
            (sandbox, Some(note))
        }
        Err(e) => return Err(format!("could not start the built-in sandbox: {e}")),
    };
    let clients = [
        (SignIn::SelfClient, own.self_client()),
        (SignIn::Browser, own.server_client()),
        (SignIn::Device, own.device_client()),
    ]
    .into_iter()
    .map(|(m, c)| (m, c.client_id, Secret::new(c.client_secret)))
    .collect();
    let port = url::Url::parse(&own.base_url())
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(port);
    Ok(WizardSandbox {
        base: own.base_url(),
        own: Some(own),
        port,
        clients,
        note,
    })
}

/// The demo clients of the `zoho-auth sandbox` at `base`, when it keeps the state file `state`.
async fn running_sandbox(
    base: &str,
    state: Option<&std::path::Path>,
) -> Option<Vec<(SignIn, String, Secret)>> {
    let state = std::fs::canonicalize(state?).ok()?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .ok()?;
    let json: serde_json::Value = http
        .get(format!("{base}/_sandbox/clients"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let theirs = std::fs::canonicalize(json.get("state_file")?.as_str()?).ok()?;
    if theirs != state {
        return None;
    }
    let client = |key: &str| -> Option<(String, Secret)> {
        let c = json.get(key)?;
        Some((
            c.get("client_id")?.as_str()?.to_string(),
            Secret::new(c.get("client_secret")?.as_str()?),
        ))
    };
    let mut out = vec![];
    for (sign_in, key) in [
        (SignIn::SelfClient, "self_client"),
        (SignIn::Browser, "server_client"),
        (SignIn::Device, "device_client"),
    ] {
        let (id, secret) = client(key)?;
        out.push((sign_in, id, secret));
    }
    Some(out)
}

/// How to run zoho-auth again: `cargo run --` when this is a build inside a cargo `target` folder
/// (not installed), else `zoho-auth`.
fn run_as() -> String {
    let exe = std::env::current_exe().ok();
    let profile = exe
        .as_ref()
        .and_then(|e| e.parent())
        .filter(|dir| dir.parent().and_then(|t| t.file_name()) == Some("target".as_ref()))
        .and_then(|dir| dir.file_name())
        .and_then(|n| n.to_str().map(str::to_string));
    match profile.as_deref() {
        Some("debug") => "cargo run --".to_string(),
        Some("release") => "cargo run --release --".to_string(),
        _ => "zoho-auth".to_string(),
    }
}

/// The command that starts this sandbox again after the wizard: the default state, its port.
fn restart_command(run_as: &str, sandbox: &WizardSandbox) -> String {
    if sandbox.port == super::sandbox::DEFAULT_PORT {
        format!("{run_as} sandbox")
    } else {
        format!("{run_as} sandbox --port {}", sandbox.port)
    }
}

/// Puts the sandbox mark on the first line of the env file the wizard wrote (once).
fn mark_sandbox_env(path: &std::path::Path, restart: &str) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if text.lines().any(|l| l.starts_with(SANDBOX_MARK)) {
        return;
    }
    let marked = format!(
        "{SANDBOX_MARK} these values work only while `{restart}` runs (the built-in simulated Zoho, not a real account)\n{text}"
    );
    if let Err(e) = std::fs::write(path, marked) {
        eprintln!(
            "zoho-auth: could not mark {} as the sandbox's: {e}",
            crate::auth::printable::printable(&path.display().to_string())
        );
    }
}

/// After the terminal is restored: what was written where and what to run next.
fn print_summary(w: &Wizard, run_as: &str, sandbox: Option<&WizardSandbox>) {
    let Some(report) = &w.report else {
        eprintln!("zoho-auth: nothing was written.");
        return;
    };
    let env = crate::auth::printable::printable(&report.env_path);
    eprintln!("zoho-auth: wrote {} to {env}.", report.keys.join(", "));
    let flag = if report.env_path == ".env" {
        String::new()
    } else {
        format!(" --env-file {env}")
    };
    if let Some(s) = sandbox {
        match &s.own {
            Some(_) => eprintln!(
                "  The sandbox stopped with the wizard: start it again with `{}` in another terminal.",
                restart_command(run_as, s)
            ),
            None => eprintln!("  The sandbox keeps running in its own terminal."),
        }
    }
    eprintln!("  Next: {run_as}{flag} token    (prints an access token)");
    eprintln!("        {run_as}{flag} check    (live-tests it)");
    if run_as.starts_with("cargo ") {
        eprintln!(
            "  (zoho-auth is not installed: `cargo install --locked --path .` puts it on PATH)"
        );
    }
}
