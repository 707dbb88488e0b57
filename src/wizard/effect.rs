//! What the wizard asks the runtime to do: `Effect` and its requests. Effects are data; the
//! runtime performs them and answers with a `Msg`. No IO here.

use crate::auth::save::EnvValue;
use crate::auth::{Dc, Product, Secret};
use std::time::Duration;

/// Everything the exchange needs; the runtime adds the endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRequest {
    pub attempt: u64,
    pub dc: Dc,
    pub client_id: String,
    pub client_secret: Secret,
    pub code: Secret,
    pub scopes: Vec<String>,
    pub product: Option<Product>,
    /// The redirect URI the code was issued for (browser sign-in); sent with the exchange.
    pub redirect_uri: Option<String>,
    /// Where to exchange, when the sign-in said (browser sign-in); else the DC's or the override.
    pub accounts: Option<String>,
}

/// Everything the Save step asks the runtime to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    pub attempt: u64,
    pub updates: Vec<(String, EnvValue)>,
    /// Secrets that go to the OS keychain instead of the file (keyed by env name).
    pub keychain: Vec<(String, Secret)>,
    pub client_id: String,
    pub add_to_gitignore: bool,
    /// The refresh token the env file held when the wizard read it: the save is written only if
    /// the file still holds it (another command saving meanwhile wins).
    pub expected_refresh: Option<Secret>,
}

/// Output of the wizard: work for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Put this text on the clipboard (answer: `Msg::Copied`).
    CopyToClipboard(String),
    /// Open this URL in a browser (answer: `Msg::Opened`).
    OpenUrl(String),
    /// Send `Msg::Tick` every so often until `StopTimer`.
    StartTimer { every: Duration },
    /// Stop the ticks.
    StopTimer,
    /// Read the clipboard once (answer: `Msg::Clipboard`).
    PollClipboard,
    /// Exchange the code and live-test the tokens (answer: `Msg::Exchanged`).
    Exchange(ExchangeRequest),
    /// Ask the sandbox for a fresh code (answer: `Msg::SandboxCode`).
    MintSandboxCode {
        attempt: u64,
        scopes: Vec<String>,
        minutes: u32,
    },
    /// Write the env file (and keychain, and .gitignore) (answer: `Msg::Written`).
    WriteEnv(WriteRequest),
    /// Refresh and live-test the configured grant, as `zoho-auth check` does (answers:
    /// `Msg::CheckProgress`, then `Msg::Checked`). `product: None` tests the first the scopes grant.
    Check {
        attempt: u64,
        product: Option<Product>,
    },
    /// Revoke the refresh token the env file had before reauth saved the new one (answer:
    /// `Msg::RevokedOld`).
    RevokeOld { attempt: u64 },
    /// Listen on the redirect URI and wait for the browser sign-in (answers: `Msg::SignInUrl`,
    /// then `Msg::SignInCallback`).
    StartBrowserSignIn {
        attempt: u64,
        accounts: String,
        client_id: String,
        scopes: Vec<String>,
        redirect_uri: String,
        timeout: Duration,
    },
    /// Ask for a device code and poll until it is approved, then live-test the tokens (answers:
    /// `Msg::DeviceStarted`, `Msg::DevicePolled`, then `Msg::Exchanged`).
    StartDeviceSignIn {
        attempt: u64,
        accounts: String,
        dc: Dc,
        client_id: String,
        client_secret: Secret,
        scopes: Vec<String>,
        product: Option<Product>,
    },
    /// Stop the running sign-in (the listener's port is freed, the polling ends).
    CancelSignIn,
    /// Leave the wizard with this exit code.
    Quit(u8),
}
