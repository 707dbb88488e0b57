//! What the wizard takes in: `Msg` and the results it carries, time included (`Time`). No IO here.

use crate::auth::diagnosis::Diagnosis;
use crate::auth::flow::CheckStage;
use crate::auth::{Dc, Product, Secret};
use std::time::Duration;

/// A point on the runtime's monotonic clock, in milliseconds since the wizard started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Time(pub u64);

impl Time {
    pub fn from_secs(secs: u64) -> Time {
        Time(secs * 1000)
    }

    pub fn plus(self, d: Duration) -> Time {
        Time(self.0 + d.as_millis() as u64)
    }

    /// How long from `self` until `later` (zero when `later` is past).
    pub fn until(self, later: Time) -> Duration {
        Duration::from_millis(later.0.saturating_sub(self.0))
    }
}

/// A key, independent of the terminal library. Key releases never reach the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A printable character, without Ctrl or Alt.
    Char(char),
    /// Ctrl plus a letter (`Ctrl('c')`).
    Ctrl(char),
    /// Enter / Return.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift+Tab.
    BackTab,
    /// Backspace.
    Backspace,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
}

/// How the scope string reached the clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyOutcome {
    /// The system clipboard holds it.
    System,
    /// An OSC 52 escape asked the (remote) terminal to copy it.
    Osc52,
    /// No clipboard: the user selects the text on screen.
    Unavailable,
}

/// An organization the live test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

/// A verified exchange: tokens plus what the live test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub scopes: Vec<String>,
    /// Exactly as Zoho returned it.
    pub api_domain: String,
    /// The product that was live-tested, if any.
    pub product: Option<Product>,
    pub organizations: Vec<Org>,
    /// Zoho's api_domain implies another DC than the one chosen.
    pub dc_mismatch: Option<Dc>,
}

/// What the runtime wrote, for the Done screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    pub env_path: String,
    pub keys: Vec<String>,
    pub backup: Option<String>,
    /// The `.gitignore` that got the backup's line during this save, if one did.
    pub backup_gitignore: Option<String>,
    pub keychain: bool,
    pub gitignore_added: bool,
}

/// Input to the wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A key press.
    Key { key: Key, now: Time },
    /// A bracketed paste.
    Paste { text: String, now: Time },
    /// The timer fired.
    Tick { now: Time },
    /// The terminal was resized.
    Resize { cols: u16, rows: u16 },
    /// The result of `Effect::CopyToClipboard`.
    Copied(CopyOutcome),
    /// The result of `Effect::PollClipboard`: the clipboard's text, if any could be read.
    Clipboard { text: Option<String>, now: Time },
    /// The result of `Effect::OpenUrl`.
    Opened { ok: bool },
    /// The result of `Effect::Exchange`.
    Exchanged {
        attempt: u64,
        result: Result<Outcome, Diagnosis>,
    },
    /// The result of `Effect::MintSandboxCode`.
    SandboxCode {
        attempt: u64,
        result: Result<Secret, String>,
        now: Time,
    },
    /// The result of `Effect::WriteEnv`.
    Written {
        attempt: u64,
        result: Result<WriteReport, String>,
    },
    /// `Effect::Check` reached a stage.
    CheckProgress { attempt: u64, stage: CheckStage },
    /// The result of `Effect::Check`.
    Checked { attempt: u64, result: CheckResult },
    /// The result of `Effect::RevokeOld`: `Ok(false)` when Zoho no longer knew the token.
    RevokedOld {
        attempt: u64,
        result: Result<bool, Diagnosis>,
    },
    /// `Effect::StartBrowserSignIn` bound its listener: where it listens and its warnings (a
    /// twin port held by another program), to show as they are (printable already).
    SignInListening { attempt: u64, lines: Vec<String> },
    /// `Effect::StartBrowserSignIn` listens: the authorization URL to open.
    SignInUrl { attempt: u64, url: String },
    /// The end of `Effect::StartBrowserSignIn`: the redirect's code, or why none came.
    SignInCallback {
        attempt: u64,
        result: Result<SignedIn, SignInFailure>,
    },
    /// `Effect::StartDeviceSignIn` got its user code, or failed to.
    DeviceStarted {
        attempt: u64,
        result: Result<DeviceCodeInfo, SignInFailure>,
    },
    /// `Effect::StartDeviceSignIn` polled: a note, the approval, or the end. After `Approved` the
    /// same attempt answers with `Msg::Exchanged`.
    DevicePolled { attempt: u64, event: DeviceEvent },
}

/// What the browser's redirect brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub code: Secret,
    /// The accounts server to exchange the code at (the redirect's trusted `accounts-server`,
    /// else where the sign-in started).
    pub accounts: String,
    /// The data center the redirect names, when it names one.
    pub dc: Option<Dc>,
}

/// What the device flow shows the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeInfo {
    pub user_code: String,
    pub verification_url: String,
    /// The verification page with the code filled in, when Zoho gives it.
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    pub interval: Duration,
}

/// Progress of the device flow's polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// Zoho answered `slow_down`: polls are now this far apart.
    SlowDown { interval: Duration },
    /// Zoho answered `other_dc`: polling moved to this accounts server.
    MovedTo { accounts: String },
    /// The person approved; the live test runs (answer: `Msg::Exchanged`).
    Approved { accounts: String },
    /// Denied, expired, or refused.
    Failed(SignInFailure),
}

/// Why a browser or device sign-in produced no tokens. The views word the cause and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInFailure {
    /// The listener could not bind the redirect URI's address.
    PortBusy { addr: String, detail: String },
    /// The person refused consent (`access_denied`).
    Denied,
    /// The redirect carried another `state`: not this sign-in, or forged.
    StateMismatch,
    /// No redirect arrived in time.
    TimedOut { seconds: u64 },
    /// The device code expired before it was approved.
    Expired,
    /// Anything else (Zoho refused, network), with its diagnosis.
    Other(Diagnosis),
}

/// What the check of the configured grant found (reauth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// `Code::Ok` when the refresh and the live test passed.
    pub diagnosis: Diagnosis,
    /// The product that was (or would have been) live-tested.
    pub product: Option<Product>,
    /// The account's DC, from Zoho's api_domain when the refresh worked.
    pub account_dc: Option<Dc>,
    /// The scopes the token carries, else `ZOHO_SCOPES`.
    pub scopes: Vec<String>,
    /// How many organizations the live test listed.
    pub organizations: Option<usize>,
}
