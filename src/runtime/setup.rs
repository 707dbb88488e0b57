//! What the runtime is started with: plain values, never clap types. No IO here.

use std::path::PathBuf;

use super::reauth::OldGrant;
use crate::auth::target::WizardChoice;

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
}
