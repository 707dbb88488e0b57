//! The interactive setup wizard as a pure state machine. No IO, no async, no clock here:
//! `update(&mut Wizard, Msg) -> Vec<Effect>`; time arrives inside messages; the runtime performs
//! the effects and answers with messages tagged with the attempt id they belong to.

pub mod catalog;
mod effect;
mod keymap;
mod msg;
mod nav;
mod reauth;
mod state;
mod update;

pub use crate::auth::flow::CheckStage;
pub use crate::auth::loopback::DEFAULT_REDIRECT_URI;
pub use crate::auth::save::EnvValue;
pub use effect::{Effect, ExchangeRequest, WriteRequest};
pub use keymap::key_hints;
pub use msg::{
    CheckResult, CopyOutcome, DeviceCodeInfo, DeviceEvent, Key, Msg, Org, Outcome, SignInFailure,
    SignedIn, Time, WriteReport,
};
pub use reauth::{reauth_step, retry_advice};
pub use state::{
    ClientField, ClientStep, Context, DcSource, DcStep, EXPIRIES, Exchange, ExchangeState,
    Generate, Gitignore, ListState, LiveTest, Paste, Prefill, Reauth, ReauthStart, RevokeState,
    Save, SaveOption, SaveState, ScopeRow, ScopesStep, Seed, SignIn, SignInState, SignInStep, Step,
    Theme, Wizard,
};
pub use update::{
    CLIPBOARD_POLL, COUNTDOWN_TICK, SIGN_IN_TIMEOUT, SPINNER_TICK, can_try_other_dcs, fix_step,
    setup_start, update,
};
