//! Moving between steps, shared by the transitions of setup (`update`) and of reauth (`reauth`):
//! entering a step (its timer, its first effects) and the timer itself. Neither of those modules
//! imports the other for this. No IO, no async, no clock here.

use std::time::Duration;

use super::{Effect, Exchange, ExchangeState, SignInState, SignInStep, Step, Time, Wizard};

/// The countdown redraws once a second.
pub const COUNTDOWN_TICK: Duration = Duration::from_secs(1);
/// The spinner turns four times a second while a request runs.
pub const SPINNER_TICK: Duration = Duration::from_millis(250);
/// The clipboard is read at most this often.
pub const CLIPBOARD_POLL: Duration = Duration::from_secs(1);
/// How long the browser sign-in's listener waits for the redirect.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// Moves to `step` and returns what entering it takes. Also used when the wizard starts.
pub(super) fn enter(w: &mut Wizard, step: Step, now: Time) -> Vec<Effect> {
    w.step = step;
    let mut fx = vec![];
    let timer = match step {
        Step::Diagnose => w.checking().then_some(SPINNER_TICK),
        Step::DataCenter | Step::Client | Step::Scopes => None,
        Step::GenerateCode => {
            w.paste.expires_at = None;
            w.paste.expired = false;
            w.generate.copied = None;
            w.signin.accounts = None;
            fx.push(Effect::CopyToClipboard(w.scope_string()));
            None
        }
        Step::PasteCode => {
            if w.paste.expired {
                None
            } else {
                Some(COUNTDOWN_TICK)
            }
        }
        Step::BrowserSignIn | Step::DeviceSignIn => {
            fx.extend(start_sign_in(w, step, now));
            Some(SPINNER_TICK)
        }
        Step::Exchange => match w.exchange.state {
            ExchangeState::Running { .. } => Some(SPINNER_TICK),
            ExchangeState::Idle | ExchangeState::Failed { .. } => None,
        },
        Step::LiveTest | Step::Save | Step::Done => None,
    };
    fx.extend(set_timer(w, timer));
    fx
}

pub(super) fn set_timer(w: &mut Wizard, want: Option<Duration>) -> Option<Effect> {
    if w.timer == want {
        return None;
    }
    w.timer = want;
    Some(match want {
        Some(every) => Effect::StartTimer { every },
        None => Effect::StopTimer,
    })
}

/// Starts a browser or device sign-in on the step just entered.
fn start_sign_in(w: &mut Wizard, step: Step, now: Time) -> Vec<Effect> {
    w.attempt += 1;
    w.paste.expires_at = None;
    w.paste.expired = false;
    w.generate = w.generate.again();
    w.sent_code = None;
    w.exchange = Exchange::default();
    let browser = step == Step::BrowserSignIn;
    w.signin = SignInStep {
        state: SignInState::Waiting {
            since: now,
            deadline: browser.then(|| now.plus(SIGN_IN_TIMEOUT)),
            url: None,
            device: None,
            notes: vec![],
        },
        ..SignInStep::default()
    };
    let accounts = match &w.ctx.accounts_override {
        Some(url) => url.clone(),
        None => w.dc_switched.unwrap_or(w.dc.chosen).accounts_url(),
    };
    if browser {
        vec![Effect::StartBrowserSignIn {
            attempt: w.attempt,
            accounts,
            client_id: w.client.id.clone(),
            scopes: w.scopes.selected.clone(),
            redirect_uri: w.client.redirect_uri.trim().to_string(),
            timeout: SIGN_IN_TIMEOUT,
        }]
    } else {
        vec![Effect::StartDeviceSignIn {
            attempt: w.attempt,
            accounts,
            dc: w.dc_switched.unwrap_or(w.dc.chosen),
            client_id: w.client.id.clone(),
            client_secret: w.client.secret.clone(),
            scopes: w.scopes.selected.clone(),
            product: w.probe_product(),
        }]
    }
}
