//! `zoho-auth sandbox`: the simulated Zoho in the foreground, with instructions on stdout. Without
//! `--state` it keeps its clients and grants in the default state file (the user's data folder), the
//! same one `setup --sandbox` uses, so the commands the wizard suggests work after it quits.

use std::io::Write;
use std::path::PathBuf;

use super::{GlobalArgs, SandboxArgs};
use crate::sandbox::{Sandbox, SandboxConfig, StartError};

/// The port `zoho-auth sandbox` and `setup --sandbox` listen on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8470;

/// Moves the user's data folder (the sandbox's default state file); for tests and read-only homes.
pub const DATA_DIR_ENV: &str = "ZOHO_AUTH_DATA_DIR";

/// `$ZOHO_AUTH_DATA_DIR/sandbox-state.json`, else the platform data folder +
/// `zoho-auth/sandbox-state.json`; `None` when there is no data folder.
pub fn default_state() -> Option<PathBuf> {
    let dir = std::env::var_os(DATA_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("zoho-auth")))?;
    Some(
        std::path::absolute(&dir)
            .unwrap_or(dir)
            .join("sandbox-state.json"),
    )
}

/// The state file to use: `--state` (made absolute, so a running sandbox names it the same from any
/// folder), else the default one, its folder created.
pub fn state_path(given: Option<&std::path::Path>) -> Option<PathBuf> {
    match given {
        Some(path) => Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())),
        None => {
            let path = default_state()?;
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            Some(path)
        }
    }
}

pub async fn run(_global: &GlobalArgs, args: &SandboxArgs) -> u8 {
    let config = SandboxConfig {
        port: args.port,
        ..SandboxConfig::default()
    };
    let stop = StopSignals::register();
    let state = state_path(args.state.as_deref());
    let started = match &state {
        Some(path) => Sandbox::start_with_state(config, path).await,
        None => Sandbox::start(config).await.map_err(StartError::Listen),
    };
    let sandbox = match started {
        Ok(sandbox) => sandbox,
        Err(StartError::State(err)) => {
            eprintln!("zoho-auth: {err}");
            return 2;
        }
        Err(StartError::Listen(err)) if err.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "zoho-auth: port {} is in use; pick another with --port (0 picks a free one)",
                args.port
            );
            return 2;
        }
        Err(StartError::Listen(err)) => {
            eprintln!(
                "zoho-auth: cannot listen on 127.0.0.1:{}: {err}; pick another port with --port",
                args.port
            );
            return 2;
        }
    };
    let base = sandbox.base_url();
    {
        // Write errors are ignored: a reader may close the pipe after the first line.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "Sandbox listening on {base}");
        let _ = out.flush();
        let _ = match (&state, &args.state) {
            (Some(path), given) => writeln!(
                out,
                "State: {} ({}; clients and grants survive a restart)",
                crate::auth::printable::printable(&path.display().to_string()),
                if given.is_some() {
                    "from --state"
                } else {
                    "the default, shared with `setup --sandbox`; --state FILE for another"
                },
            ),
            (None, _) => writeln!(
                out,
                "State: none (no data folder; set {DATA_DIR_ENV}); everything is forgotten at stop; keep it with: zoho-auth sandbox --state FILE"
            ),
        };
        let _ = out.write_all(instructions(&sandbox).as_bytes());
        let _ = writeln!(out, "Stop with Ctrl+C.");
        let _ = out.flush();
        let _ = out.flush();
    }
    stop.wait().await;
    match sandbox.shutdown().await {
        Ok(()) => {
            match &state {
                Some(path) => eprintln!(
                    "Sandbox stopped; its state is saved in {}.",
                    crate::auth::printable::printable(&path.display().to_string())
                ),
                None => eprintln!("Sandbox stopped."),
            }
            0
        }
        Err(err) => {
            eprintln!("zoho-auth: sandbox stopped, but {err}");
            1
        }
    }
}

fn instructions(sandbox: &Sandbox) -> String {
    let base = sandbox.base_url();
    let me = sandbox.self_client();
    let server = sandbox.server_client();
    let device = sandbox.device_client();
    let (id, secret) = (&me.client_id, &me.client_secret);
    format!(
        r#"SIMULATION: a simulated Zoho for trying zoho-auth offline. It is not Zoho; nothing here reaches a real account.

Demo Self Client
  client id:     {id}
  client secret: {secret}
Demo server-based client: {server_id} / {server_secret} (redirect URI http://localhost:8085/callback)
Demo non-browser (device) client: {device_id} / {device_secret}

Mint codes in the browser, like the API console's Self Client tab: {base}/

Run the wizard against it (with the default state it uses this sandbox, else one of its own):
  zoho-auth setup --sandbox

Exchange a code from this sandbox:
  curl -s -X POST {base}/_sandbox/code -d '{{"scope":"ZohoBooks.fullaccess.all","duration_minutes":3}}'
  ZOHO_CLIENT_SECRET={secret} zoho-auth exchange --env-file sandbox.env --accounts-url {base} --client-id {id} --code CODE_FROM_ABOVE

Or with curl alone:
  B={base}
  CODE=$(curl -s -X POST $B/_sandbox/code -d '{{"scope":"ZohoBooks.fullaccess.all","duration_minutes":3}}' | sed 's/.*"code":"\([^"]*\)".*/\1/')
  curl -s -X POST $B/oauth/v2/token -d client_id={id} -d client_secret={secret} -d grant_type=authorization_code -d code=$CODE
  # again with the same code: {{"error":"invalid_code"}}, HTTP 200, as Zoho does
  curl -s -X POST $B/oauth/v2/token -d client_id={id} -d client_secret={secret} -d grant_type=refresh_token -d refresh_token=REFRESH_TOKEN
  curl -s $B/books/v3/organizations -H "Authorization: Zoho-oauthtoken ACCESS_TOKEN"
  curl -s "$B/books/v3/invoices?organization_id=10234695&page=2&per_page=200" -H "Authorization: Zoho-oauthtoken ACCESS_TOKEN"
  curl -s -X POST "$B/oauth/v2/token/revoke?token=REFRESH_TOKEN"

Control endpoints for scripts: $B/_sandbox/stats, /_sandbox/clock, /_sandbox/fault, /_sandbox/config, /_sandbox/records (see src/sandbox/mod.rs).
"#,
        server_id = server.client_id,
        server_secret = server.client_secret,
        device_id = device.client_id,
        device_secret = device.client_secret,
    )
}

/// Ctrl+C and, on Unix, SIGTERM: registered before the first line is printed, so a signal sent
/// as soon as that line is read is not lost.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn register() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            StopSignals {}
        }
    }

    /// Resolves on the first stop signal.
    async fn wait(self) {
        #[cfg(unix)]
        {
            let mut this = self;
            async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            if this.interrupt.is_none() {
                // Fall back to tokio's own Ctrl+C handling.
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = recv(&mut this.terminate) => {}
                }
                return;
            }
            tokio::select! {
                _ = recv(&mut this.interrupt) => {}
                _ = recv(&mut this.terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
