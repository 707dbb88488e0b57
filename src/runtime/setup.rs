//! What the runtime is started with: plain values, never clap types. No IO here.

use std::path::PathBuf;

use super::reauth::OldGrant;
use crate::auth::target::WizardChoice;
use crate::auth::trace::TraceLines;

/// What the executor needs besides the wizard's state: plain values, never clap types.
#[derive(Debug, Clone)]
pub struct Setup {
    pub env_path: PathBuf,
    /// Where requests go: the overrides (or the built-in sandbox) and `--dc`.
    pub choice: WizardChoice,
    /// Over SSH the clipboard is the local terminal's: OSC 52.
    pub ssh: bool,
    /// The sandbox's base URL when `--sandbox` runs one.
    pub sandbox: Option<String>,
    /// `zoho-auth reauth`: the configured grant to check, refresh-verify against and revoke.
    pub reauth: Option<std::sync::Arc<OldGrant>>,
    /// `--store`: the Save step writes the tenant's row there instead of the env file.
    pub store: Option<crate::auth::stored::StoreChoice>,
    /// The HTTP client's settings: `ZOHO_AUTH_HTTP_TIMEOUT` and `-v`.
    pub http: Http,
}

/// The wizard's HTTP client: its request timeout, and with `-v` where its trace lines are kept
/// (printed on stderr once the terminal is restored: on the wizard's screen they would garble it).
#[derive(Debug, Clone)]
pub struct Http {
    pub timeout: std::time::Duration,
    pub trace: Option<TraceLines>,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            timeout: std::time::Duration::from_secs(20),
            trace: None,
        }
    }
}
