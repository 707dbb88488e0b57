//! Where the wizard is and what it holds: `Step`, `Wizard` and its parts, and the derived values
//! the views and the save plan read. No IO, no async, no clock here.

use super::catalog;
use super::msg::{
    CheckResult, CopyOutcome, DeviceCodeInfo, DeviceEvent, Org, Outcome, SignInFailure, Time,
    WriteReport,
};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::flow::CheckStage;
use crate::auth::loopback::DEFAULT_REDIRECT_URI;
use crate::auth::save::EnvValue;
use crate::auth::{Dc, Product, Secret, keys, save};
use std::time::Duration;

/// Where the user is. The order is the order of the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// 0. Reauth only: the checks of `zoho-auth check` run, then their diagnosis.
    Diagnose,
    /// 1. Pick the data center.
    DataCenter,
    /// 2. Client id and secret.
    Client,
    /// 3. Pick scopes.
    Scopes,
    /// 4. Copy the scopes, open the console, pick the code's expiry.
    GenerateCode,
    /// 5. Paste the code while the countdown runs.
    PasteCode,
    /// 4–5 of a server-based client: sign in in a browser; a local listener gets the code.
    BrowserSignIn,
    /// 4–5 of a non-browser client: enter a user code on any device while the runtime polls.
    DeviceSignIn,
    /// 6. The code is being exchanged (spinner), or the exchange failed.
    Exchange,
    /// 7. The live test passed: pick an organization.
    LiveTest,
    /// 8. Preview and write the env file.
    Save,
    /// 9. What was written where, and how to use it.
    Done,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::DataCenter,
        Step::Client,
        Step::Scopes,
        Step::GenerateCode,
        Step::PasteCode,
        Step::Exchange,
        Step::LiveTest,
        Step::Save,
        Step::Done,
    ];

    pub fn number(self) -> usize {
        match self {
            Step::Diagnose => 0,
            Step::DataCenter => 1,
            Step::Client => 2,
            Step::Scopes => 3,
            Step::GenerateCode => 4,
            Step::PasteCode => 5,
            Step::BrowserSignIn | Step::DeviceSignIn => 4,
            Step::Exchange => 6,
            Step::LiveTest => 7,
            Step::Save => 8,
            Step::Done => 9,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Diagnose => "Diagnosis",
            Step::DataCenter => "Data center",
            Step::Client => "Client",
            Step::Scopes => "Scopes",
            Step::GenerateCode => "Generate code",
            Step::PasteCode => "Paste code",
            Step::BrowserSignIn => "Sign in",
            Step::DeviceSignIn => "Device code",
            Step::Exchange => "Exchange",
            Step::LiveTest => "Live test",
            Step::Save => "Save",
            Step::Done => "Done",
        }
    }
}

/// How the client signs in (chosen on the Client step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignIn {
    /// A Self Client: generate a code in the API console and paste it.
    SelfClient,
    /// A server-based client: a browser sign-in redirected to a local listener.
    Browser,
    /// A non-browser client: the device flow.
    Device,
}

impl SignIn {
    pub const ALL: [SignIn; 3] = [SignIn::SelfClient, SignIn::Browser, SignIn::Device];

    pub fn label(self) -> &'static str {
        match self {
            SignIn::SelfClient => "Self Client: paste a code",
            SignIn::Browser => "Server-based client: sign in with a browser",
            SignIn::Device => "Non-browser client: device code",
        }
    }
}

/// The browser or device sign-in on its step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInState {
    /// Nothing runs.
    Idle,
    /// Started at `since`; the URL (browser) or the code (device) once the runtime has it.
    Waiting {
        since: Time,
        /// The listener's timeout, or the device code's expiry once known.
        deadline: Option<Time>,
        url: Option<String>,
        device: Option<DeviceCodeInfo>,
        notes: Vec<DeviceEvent>,
    },
    /// The sign-in failed; nothing was exchanged.
    Failed(SignInFailure),
}

/// The browser or device sign-in step's state for one attempt: a new sign-in replaces all of it
/// at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInStep {
    pub state: SignInState,
    /// The accounts server the sign-in ended at (the redirect's, or the device flow's after
    /// `other_dc`): the exchange went there, and it is what is saved.
    pub accounts: Option<String>,
    /// Where the browser sign-in's listener listens, and its warnings (printable).
    pub listening: Vec<String>,
}

impl Default for SignInStep {
    fn default() -> Self {
        SignInStep {
            state: SignInState::Idle,
            accounts: None,
            listening: vec![],
        }
    }
}

/// Whether the views may use colour (`NO_COLOR` switches it off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

/// Whether the env file's folder ignores it in git.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gitignore {
    /// Not in a git repository, or already ignored.
    NotNeeded,
    /// In a git repository that does not ignore the env file.
    NotIgnored,
}

/// Where a preselected data center came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcSource {
    EnvFile,
    TimeZone,
    Flag,
}

/// What reauth (or the env file) already knows; the wizard starts at `start_at` with the rest filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefill {
    pub dc: Option<(Dc, DcSource)>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// Where the client came from ("the env file", "the sandbox").
    pub client_source: Option<String>,
    pub scopes: Vec<String>,
    pub product: Option<Product>,
    pub start_at: Step,
    /// Focus the secret field on the Client step (invalid_client_secret).
    pub focus_secret: bool,
    /// A diagnosis to show at the top (reauth).
    pub banner: Option<Diagnosis>,
}

impl Default for Prefill {
    fn default() -> Self {
        Prefill {
            dc: None,
            client_id: None,
            client_secret: None,
            client_source: None,
            scopes: vec![],
            product: None,
            start_at: Step::DataCenter,
            focus_secret: false,
            banner: None,
        }
    }
}

/// Facts about the environment, decided by the runtime before the wizard starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub env_path: String,
    /// The ZOHO_* values already in the env file (for the preview).
    pub env_existing: Vec<(String, Secret)>,
    pub gitignore: Gitignore,
    /// ZOHO_* variables exported in the shell that would shadow the file.
    pub shadowing: Vec<String>,
    /// A browser can be opened (a display exists and not over SSH).
    pub can_open_browser: bool,
    /// The clipboard can be read (for the pick-up of a code).
    pub can_read_clipboard: bool,
    /// Running against the in-process sandbox.
    pub sandbox: bool,
    /// `--accounts-url`: where requests really go.
    pub accounts_override: Option<String>,
    /// The API console (the sandbox page under `--sandbox`), else the DC's console.
    pub console_override: Option<String>,
    /// `--dc` given on the command line.
    pub dc_flag: Option<Dc>,
    /// Under `--sandbox`: its demo client for each sign-in (id, secret), swapped in when the
    /// sign-in changes while a demo client is filled in.
    pub demo_clients: Vec<(SignIn, String, Secret)>,
    pub theme: Theme,
    /// How to run zoho-auth again in the suggested commands: `zoho-auth`, or `cargo run --` when it
    /// is not installed.
    pub run_as: String,
    /// Under `--sandbox`, when the sandbox stops with the wizard: the command that starts it again
    /// (`zoho-auth sandbox`), for the Done screen.
    pub sandbox_restart: Option<String>,
    /// `--store`: the store as shown (password masked) and the tenant whose row Save writes.
    pub store: Option<(String, String)>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            env_path: ".env".into(),
            env_existing: vec![],
            gitignore: Gitignore::NotNeeded,
            shadowing: vec![],
            can_open_browser: false,
            can_read_clipboard: false,
            sandbox: false,
            accounts_override: None,
            console_override: None,
            dc_flag: None,
            demo_clients: vec![],
            theme: Theme { color: true },
            run_as: "zoho-auth".into(),
            sandbox_restart: None,
            store: None,
        }
    }
}

/// A list with a cursor and a `/` filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListState {
    pub cursor: usize,
    pub filter: String,
    pub filtering: bool,
}

/// The Data center step's state: the list's cursor and filter, the DC chosen, and where a
/// preselected one came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcStep {
    pub list: ListState,
    pub chosen: Dc,
    pub source: Option<DcSource>,
}

/// The Scopes step's state: the catalog shown, its cursor and filter, and what is picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopesStep {
    pub groups: Vec<catalog::Group>,
    pub presets: Vec<catalog::Preset>,
    pub list: ListState,
    /// The scopes picked, in the order they are sent.
    pub selected: Vec<String>,
    /// The product the live test uses (None: the first the scopes grant).
    pub product: Option<Product>,
}

/// The fields of the Client step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientField {
    Id,
    Secret,
    /// The redirect URI (server-based client only).
    RedirectUri,
}

/// The Client step's state: the client, how it signs in, and the field being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStep {
    pub id: String,
    pub secret: Secret,
    pub field: ClientField,
    /// Where the client came from ("the env file", "the sandbox").
    pub source: Option<String>,
    pub error: Option<String>,
    pub sign_in: SignIn,
    /// The redirect URI of a server-based client, as typed (validated on Enter).
    pub redirect_uri: String,
}

/// The code expiries Zoho's console offers, in minutes.
pub const EXPIRIES: [u32; 4] = [3, 5, 7, 10];

/// The Generate code step's state: the expiry picked, and what became of the copy to the clipboard
/// and the opening of the browser (the sign-in steps show those two as well).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Generate {
    /// Index into `EXPIRIES`.
    pub expiry_idx: usize,
    pub copied: Option<CopyOutcome>,
    pub opened: Option<bool>,
}

impl Generate {
    /// A new sign-in: no copy or open yet, the expiry picked before.
    pub fn again(&self) -> Generate {
        Generate {
            expiry_idx: self.expiry_idx,
            ..Generate::default()
        }
    }
}

/// The state of the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeState {
    /// Nothing sent.
    Idle,
    /// Waiting for Zoho; `dc` is where the code went.
    Running { dc: Dc, since: Time },
    /// Zoho or the live test refused; `before_expiry` is true when the code was still valid.
    Failed {
        diagnosis: Diagnosis,
        before_expiry: bool,
    },
}

/// The Exchange step's state for one code: a new code (a new countdown or sign-in) replaces all
/// of it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub state: ExchangeState,
    /// The DCs left to try the same code against after `invalid_code`.
    pub dc_queue: Vec<Dc>,
    /// Every other DC was tried with the same code.
    pub tried_other_dcs: bool,
}

impl Default for Exchange {
    fn default() -> Self {
        Exchange {
            state: ExchangeState::Idle,
            dc_queue: vec![],
            tried_other_dcs: false,
        }
    }
}

impl Exchange {
    /// Leaving the step for a fix: nothing runs and nothing is queued, but the same code is not
    /// offered to the other DCs a second time.
    pub fn left(&self) -> Exchange {
        Exchange {
            tried_other_dcs: self.tried_other_dcs,
            ..Exchange::default()
        }
    }
}

/// The Live test step's state for one verified exchange: the next one replaces all of it at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveTest {
    /// The tokens and what the live test found.
    pub outcome: Option<Outcome>,
    /// The organization picked.
    pub org_cursor: usize,
}

/// The state of the Save step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveState {
    /// The preview with its options.
    Preview,
    /// The write is running.
    Writing,
    /// The write failed; nothing was changed.
    Failed(String),
}

/// The Save step's state: where it is and its cursor, and the choices made on it, which are kept
/// when the step is entered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Save {
    pub state: SaveState,
    pub cursor: usize,
    pub use_keychain: bool,
    pub add_gitignore: bool,
}

impl Save {
    /// The preview with the secrets in the env file; `add_gitignore` is the first choice.
    pub fn new(add_gitignore: bool) -> Save {
        Save {
            state: SaveState::Preview,
            cursor: 0,
            use_keychain: false,
            add_gitignore,
        }
    }

    /// Entering the step again: the preview from the top, with the choices made before.
    pub fn reopened(&self) -> Save {
        Save {
            state: SaveState::Preview,
            cursor: 0,
            ..self.clone()
        }
    }
}

/// The rows of the Save step's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOption {
    Keychain,
    Gitignore,
}

/// What `--from-error` said before the live check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// The text names this diagnosis.
    Read(Code),
    /// The text names no error this tool knows.
    Unrecognized,
}

/// The offer to revoke the superseded refresh token, after the new one is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeState {
    /// Nothing saved yet, or the old token is already dead.
    Unavailable,
    /// Saved: `r` revokes the old token.
    Offered,
    /// The revoke request runs.
    Running,
    /// Done; `known` is false when Zoho had already forgotten the token.
    Revoked { known: bool },
    /// Zoho refused or could not be reached; the new token is saved regardless.
    Failed(Diagnosis),
}

/// The state of `zoho-auth reauth`, on top of the wizard's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reauth {
    /// From `--from-error`.
    pub seed: Option<Seed>,
    /// The product the check tests (None: the first the scopes grant).
    pub product: Option<Product>,
    /// The stages the running (or last) check reached, in order.
    pub stages: Vec<CheckStage>,
    /// Set while a check runs.
    pub checking_since: Option<Time>,
    /// The last check's result.
    pub result: Option<CheckResult>,
    /// The step the diagnosis sends the user to (None: retry or nothing to fix).
    pub next: Option<Step>,
    /// The step reauth entered the wizard at.
    pub entered: Option<Step>,
    /// The scope added to make the live test pass (scope_missing).
    pub added_scope: Option<String>,
    pub revoke: RevokeState,
}

impl Reauth {
    /// True unless the check showed the old refresh token is dead or absent.
    pub fn old_token_live(&self) -> bool {
        match self.result.as_ref().map(|r| r.diagnosis.code) {
            Some(Code::RefreshTokenRevoked | Code::MissingCredentials | Code::BadInput) | None => {
                false
            }
            Some(
                Code::Ok
                | Code::InvalidClient
                | Code::InvalidClientSecret
                | Code::RateLimited
                | Code::ScopeMissing
                | Code::TokenRejected
                | Code::NotOrgMember
                | Code::WrongDc
                | Code::Network
                | Code::ServerError
                | Code::InvalidCode
                | Code::InvalidRedirectUri,
            ) => true,
        }
    }

    /// The diagnosis of the last check, once it is in.
    pub fn code(&self) -> Option<Code> {
        self.result.as_ref().map(|r| r.diagnosis.code)
    }
}

/// How reauth starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReauthStart {
    pub seed: Option<Seed>,
    /// The env file keeps the secrets in the OS keychain: save them there again.
    pub keychain: bool,
}

/// The Paste code step's state for one code: a new countdown replaces all of it at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Paste {
    pub code_input: Secret,
    pub error: Option<String>,
    pub expires_at: Option<Time>,
    pub last_poll: Option<Time>,
    /// A sandbox code is being minted.
    pub minting: bool,
    /// The DC the pasted redirect named, when it differs from the chosen one.
    pub dc: Option<Dc>,
    /// The countdown reached 00:00: the field is closed, the code is not sent.
    pub expired: bool,
}

/// The whole state of the wizard. Fields of every step are kept when the user goes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wizard {
    pub step: Step,
    pub ctx: Context,
    pub attempt: u64,
    /// The tick period the runtime was last asked for (None: no timer).
    pub timer: Option<Duration>,
    pub banner: Option<Diagnosis>,
    pub size: (u16, u16),

    // 1. Data center
    pub dc: DcStep,

    // 2. Client
    pub client: ClientStep,

    // 3. Scopes
    pub scopes: ScopesStep,

    // 4. Generate code (its copy and open notes are the sign-in steps' too)
    pub generate: Generate,

    // 5. Paste code
    pub paste: Paste,
    /// Clipboard text already turned down, so it is not offered again.
    pub rejected_clipboard: Option<String>,
    /// The code that was sent last (kept to try it in the other DCs after `invalid_code`).
    pub sent_code: Option<Secret>,

    // 4–5 of a server-based or non-browser client.
    pub signin: SignInStep,

    // 6. Exchange
    pub exchange: Exchange,
    /// The DC the code finally worked in, when it was not the chosen one.
    pub dc_switched: Option<Dc>,

    // 7. Live test
    pub live: LiveTest,

    // 8. Save
    pub save: Save,

    // 9. Done
    pub report: Option<WriteReport>,

    /// Set for `zoho-auth reauth`.
    pub reauth: Option<Reauth>,
}

impl Wizard {
    pub fn new(prefill: Prefill, ctx: Context) -> Wizard {
        let groups = catalog::groups();
        let presets = catalog::presets();
        let (dc, dc_source) = match prefill.dc {
            Some((dc, src)) => (dc, Some(src)),
            None => (Dc::Us, None),
        };
        let dc_cursor = Dc::ALL.iter().position(|d| *d == dc).unwrap_or(0);
        let add_gitignore = ctx.gitignore == Gitignore::NotIgnored;
        Wizard {
            step: prefill.start_at,
            attempt: 0,
            timer: None,
            banner: prefill.banner,
            size: (80, 24),
            dc: DcStep {
                list: ListState {
                    cursor: dc_cursor,
                    ..ListState::default()
                },
                chosen: dc,
                source: dc_source,
            },
            client: ClientStep {
                id: prefill.client_id.unwrap_or_default(),
                secret: prefill.client_secret.unwrap_or_default(),
                field: if prefill.focus_secret {
                    ClientField::Secret
                } else {
                    ClientField::Id
                },
                source: prefill.client_source,
                error: None,
                sign_in: SignIn::SelfClient,
                redirect_uri: DEFAULT_REDIRECT_URI.to_string(),
            },
            scopes: ScopesStep {
                groups,
                presets,
                list: ListState::default(),
                selected: prefill.scopes,
                product: prefill.product,
            },
            generate: Generate::default(),
            paste: Paste::default(),
            rejected_clipboard: None,
            sent_code: None,
            signin: SignInStep::default(),
            exchange: Exchange::default(),
            dc_switched: None,
            live: LiveTest::default(),
            save: Save::new(add_gitignore),
            report: None,
            reauth: None,
            ctx,
        }
    }

    /// `zoho-auth reauth`: starts on the Diagnose step; `start` runs the check.
    pub fn reauth(prefill: Prefill, ctx: Context, start: ReauthStart) -> Wizard {
        let product = prefill.product;
        let mut w = Wizard::new(
            Prefill {
                start_at: Step::Diagnose,
                banner: None,
                ..prefill
            },
            ctx,
        );
        w.save.use_keychain = start.keychain;
        w.reauth = Some(Reauth {
            seed: start.seed,
            product,
            stages: vec![],
            checking_since: None,
            result: None,
            next: None,
            entered: None,
            added_scope: None,
            revoke: RevokeState::Unavailable,
        });
        w
    }

    /// True while reauth's check runs.
    pub fn checking(&self) -> bool {
        self.reauth
            .as_ref()
            .is_some_and(|r| r.checking_since.is_some())
    }

    /// The step where the code (or the tokens) come from on the chosen sign-in path.
    pub fn code_step(&self) -> Step {
        match self.client.sign_in {
            SignIn::SelfClient => Step::GenerateCode,
            SignIn::Browser => Step::BrowserSignIn,
            SignIn::Device => Step::DeviceSignIn,
        }
    }

    /// The steps of the chosen path, in order (reauth's Diagnose not included).
    pub fn path(&self) -> Vec<Step> {
        let mut steps = vec![Step::DataCenter, Step::Client, Step::Scopes];
        match self.client.sign_in {
            SignIn::SelfClient => steps.extend([Step::GenerateCode, Step::PasteCode]),
            SignIn::Browser => steps.push(Step::BrowserSignIn),
            SignIn::Device => steps.push(Step::DeviceSignIn),
        }
        steps.extend([Step::Exchange, Step::LiveTest, Step::Save, Step::Done]);
        steps
    }

    /// When the running browser or device sign-in gives up (the countdown's end).
    pub fn sign_in_deadline(&self) -> Option<Time> {
        match &self.signin.state {
            SignInState::Waiting { deadline, .. } => *deadline,
            SignInState::Idle | SignInState::Failed(_) => None,
        }
    }

    /// The scope string exactly as the console wants it.
    pub fn scope_string(&self) -> String {
        catalog::join(&self.scopes.selected)
    }

    /// The product the live test will use: the chosen one, else the first the scopes grant.
    pub fn probe_product(&self) -> Option<Product> {
        self.scopes
            .product
            .or_else(|| catalog::first_probe_product(&self.scopes.selected))
    }

    /// A warning when the scopes cannot pass the chosen product's live test.
    pub fn scope_warning(&self) -> Option<String> {
        if self.scopes.selected.is_empty() {
            return None;
        }
        match self.scopes.product {
            Some(p) => catalog::missing_for_probe(p, &self.scopes.selected).map(|m| {
                format!(
                    "These scopes cannot pass the {} live test: add {m}.",
                    p.name()
                )
            }),
            None => match catalog::first_probe_product(&self.scopes.selected) {
                Some(_) => None,
                None => Some(
                    "No scope here opens an organizations endpoint: the live test will be skipped."
                        .into(),
                ),
            },
        }
    }

    /// The console where the code is generated.
    pub fn console_url(&self) -> String {
        self.ctx
            .console_override
            .clone()
            .unwrap_or_else(|| self.dc.chosen.console_url())
    }

    /// Where the token requests go.
    pub fn accounts_url(&self) -> String {
        if let Some(url) = &self.signin.accounts {
            return url.trim_end_matches('/').to_string();
        }
        match &self.ctx.accounts_override {
            Some(url) => url.clone(),
            None => self.dc_switched.unwrap_or(self.dc.chosen).accounts_url(),
        }
    }

    /// The DC to write as ZOHO_DC: only when known.
    pub fn known_dc(&self) -> Option<Dc> {
        match &self.ctx.accounts_override {
            None => Some(self.dc_switched.unwrap_or(self.dc.chosen)),
            Some(url) => Dc::from_url(url)
                .or_else(|| {
                    self.live
                        .outcome
                        .as_ref()
                        .and_then(|o| Dc::from_url(&o.api_domain))
                })
                .or(self.ctx.dc_flag),
        }
    }

    /// The minutes of the chosen code expiry.
    pub fn expiry_minutes(&self) -> u32 {
        EXPIRIES[self.generate.expiry_idx.min(EXPIRIES.len() - 1)]
    }

    /// Time left on the code, if a countdown runs.
    pub fn remaining(&self, now: Time) -> Option<Duration> {
        self.paste.expires_at.map(|at| now.until(at))
    }

    /// The organization picked on the Live test step.
    pub fn picked_org(&self) -> Option<&Org> {
        self.live
            .outcome
            .as_ref()
            .and_then(|o| o.organizations.get(self.live.org_cursor))
    }

    /// The option rows the Save step shows.
    pub fn save_options(&self) -> Vec<SaveOption> {
        if self.ctx.store.is_some() {
            // The row holds the secrets; there is no file to keep out of git.
            return vec![];
        }
        let mut rows = vec![SaveOption::Keychain];
        if self.ctx.gitignore == Gitignore::NotIgnored {
            rows.push(SaveOption::Gitignore);
        }
        rows
    }

    /// The env updates the Save step will write, in order: the plan of the one save path, so the
    /// preview is exactly what is written.
    pub fn env_updates(&self) -> Vec<(String, EnvValue)> {
        self.save_plan().updates
    }

    /// The plan of the Save step (`auth::save::plan`).
    pub fn save_plan(&self) -> save::Plan {
        let outcome = self.live.outcome.as_ref();
        let grant = save::NewGrant {
            client_id: self.client.id.clone(),
            client_secret: self.client.secret.clone(),
            refresh_token: outcome
                .and_then(|o| o.refresh_token.clone())
                .unwrap_or_default(),
            dc: self.known_dc(),
            accounts_url: self.accounts_url(),
            api_domain: outcome.map(|o| o.api_domain.clone()),
            scopes: outcome.map(|o| {
                let scopes = if o.scopes.is_empty() {
                    &self.scopes.selected
                } else {
                    &o.scopes
                };
                catalog::join(scopes)
            }),
            organization_id: self.picked_org().map(|o| o.id.clone()),
        };
        let secrets_in = if self.save.use_keychain {
            save::SecretsIn::Keychain
        } else {
            save::SecretsIn::EnvFile
        };
        save::plan(
            &grant,
            secrets_in,
            self.env_old(keys::SECRET_STORE).is_some(),
        )
    }

    /// The old value of an env key, if the file has it.
    pub fn env_old(&self, key: &str) -> Option<&Secret> {
        self.ctx
            .env_existing
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The Scopes step's rows after filtering.
    pub fn scope_rows(&self) -> Vec<ScopeRow> {
        let q = self.scopes.list.filter.to_ascii_lowercase();
        let hit = |s: &str| q.is_empty() || s.to_ascii_lowercase().contains(&q);
        let mut rows = vec![];
        for (i, p) in self.scopes.presets.iter().enumerate() {
            if hit(&p.name) || p.scopes.iter().any(|s| hit(s)) {
                rows.push(ScopeRow::Preset(i));
            }
        }
        for (gi, g) in self.scopes.groups.iter().enumerate() {
            for (si, s) in g.scopes.iter().enumerate() {
                if hit(&s.name) || hit(&s.description) || hit(&g.name) {
                    rows.push(ScopeRow::Scope(gi, si));
                }
            }
        }
        rows
    }

    /// The data centers after filtering.
    pub fn dc_rows(&self) -> Vec<Dc> {
        let q = self.dc.list.filter.to_ascii_lowercase();
        Dc::ALL
            .into_iter()
            .filter(|dc| {
                q.is_empty()
                    || dc.name().to_ascii_lowercase().contains(&q)
                    || dc.code().contains(&q)
                    || dc.accounts_url().contains(&q)
            })
            .collect()
    }

    /// True when printable keys are text (a field or a filter has focus): `q` does not quit.
    pub fn typing(&self) -> bool {
        match self.step {
            Step::Diagnose => false,
            Step::DataCenter => self.dc.list.filtering,
            Step::Scopes => self.scopes.list.filtering,
            Step::Client => true,
            Step::PasteCode => !self.paste.expired,
            Step::GenerateCode
            | Step::BrowserSignIn
            | Step::DeviceSignIn
            | Step::Exchange
            | Step::LiveTest
            | Step::Save
            | Step::Done => false,
        }
    }

    /// Whether a preset's scopes are all selected.
    pub fn preset_selected(&self, i: usize) -> bool {
        let p = &self.scopes.presets[i];
        !p.scopes.is_empty() && p.scopes.iter().all(|s| self.scopes.selected.contains(s))
    }
}

/// A row of the Scopes list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRow {
    /// Index into `presets`.
    Preset(usize),
    /// Group index, scope index.
    Scope(usize, usize),
}
