//! The wizard's key map as the user sees it: for every screen, the keys its handler in `update`
//! (or `reauth`) acts on, with what they do. The views draw the hint bar from here. No IO here.

use super::update::can_try_other_dcs;
use super::{ExchangeState, RevokeState, SaveState, SignIn, SignInState, Step, Time, Wizard};
use crate::auth::diagnosis::Code;

/// The keys the current screen handles, as the hint bar shows them (`ui` draws this list; the
/// test `every_hinted_key_is_handled` presses each one).
pub fn key_hints(w: &Wizard, now: Time) -> Vec<(&'static str, &'static str)> {
    let quit = ("q", "quit");
    match w.step {
        Step::Diagnose => {
            let Some(r) = &w.reauth else {
                return vec![quit];
            };
            if r.checking_since.is_some() {
                return vec![("q", "quit (nothing changes)")];
            }
            match (r.next, r.code()) {
                (Some(_), _) => vec![("Enter", "fix it"), ("r", "check again"), quit],
                (None, Some(Code::Ok)) => vec![
                    ("p", "test another product"),
                    ("g", "re-issue anyway"),
                    ("Enter/q", "quit"),
                ],
                (None, _) => vec![("r/Enter", "check again"), quit],
            }
        }
        Step::DataCenter if w.dc.list.filtering => vec![
            ("type", "filter"),
            ("↑↓", "move"),
            ("Enter", "keep filter"),
            ("Esc", "clear"),
            ("Ctrl+C", "quit"),
        ],
        Step::DataCenter => vec![
            ("↑↓/jk", "move"),
            ("Enter", "choose"),
            ("/", "filter"),
            quit,
        ],
        Step::Client => vec![
            ("Tab", "next field"),
            ("←→", "sign-in"),
            ("Enter", "continue"),
            ("Ctrl+U", "clear"),
            ("Esc", "back"),
            ("Ctrl+C", "quit"),
        ],
        Step::BrowserSignIn | Step::DeviceSignIn => match &w.signin.state {
            SignInState::Waiting { url, device, .. } => {
                let mut h = vec![("Esc", "cancel")];
                match (url, device) {
                    (Some(_), _) => h.push(("c", "copy URL")),
                    (None, Some(_)) => h.push(("c", "copy code")),
                    (None, None) => {}
                }
                if w.ctx.can_open_browser && (url.is_some() || device.is_some()) {
                    h.push(("o", "open in browser"));
                }
                h.push(quit);
                h
            }
            SignInState::Failed(_) | SignInState::Idle => vec![
                ("Enter/r", "try again"),
                ("c", "client"),
                ("Esc", "back to scopes"),
                quit,
            ],
        },
        Step::Scopes if w.scopes.list.filtering => vec![
            ("type", "filter"),
            ("↑↓", "move"),
            ("Enter", "keep filter"),
            ("Esc", "clear"),
            ("Ctrl+C", "quit"),
        ],
        Step::Scopes => vec![
            ("↑↓/jk", "move"),
            ("Space", "toggle"),
            ("/", "filter"),
            ("p", "product"),
            ("Enter", "continue"),
            ("Esc", "back"),
            quit,
        ],
        Step::GenerateCode => {
            let mut h = vec![("←→", "expiry"), ("Enter", "start countdown")];
            if w.ctx.sandbox {
                h.push(("m", "mint code"));
            }
            h.extend([("c", "copy"), ("o", "open console"), ("Esc", "back"), quit]);
            h
        }
        Step::PasteCode if w.paste.expired || w.paste.expires_at.is_some_and(|at| now >= at) => {
            vec![("Enter/r", "new code, same scopes"), ("Esc", "back"), quit]
        }
        Step::PasteCode => vec![
            ("paste", "code or URL"),
            ("Enter", "send typed code"),
            ("Esc", "back"),
            ("Ctrl+C", "quit"),
        ],
        Step::Exchange => match &w.exchange.state {
            ExchangeState::Failed { .. } => {
                let mut h = vec![("Enter", "fix it")];
                if can_try_other_dcs(w) {
                    h.push(("d", "try other DCs"));
                }
                let again = match w.client.sign_in {
                    SignIn::SelfClient => ("g", "new code"),
                    SignIn::Browser | SignIn::Device => ("g", "sign in again"),
                };
                h.extend([
                    again,
                    ("s", "scopes"),
                    ("c", "client"),
                    ("Esc", "back"),
                    quit,
                ]);
                h
            }
            ExchangeState::Idle | ExchangeState::Running { .. } => {
                vec![("Esc", "cancel"), quit]
            }
        },
        Step::LiveTest => vec![
            ("↑↓/jk", "organization"),
            ("Enter", "continue"),
            match w.client.sign_in {
                SignIn::SelfClient => ("Esc", "new code"),
                SignIn::Browser | SignIn::Device => ("Esc", "sign in again"),
            },
            quit,
        ],
        Step::Save => match w.save.state {
            SaveState::Preview => vec![
                ("↑↓/jk", "move"),
                ("Space", "toggle"),
                ("Enter", "write"),
                ("Esc", "back"),
                quit,
            ],
            SaveState::Writing => vec![("Ctrl+C", "quit")],
            SaveState::Failed(_) if w.save.use_keychain => vec![
                ("Enter", "retry"),
                ("f", "save to the env file instead"),
                ("Esc", "back"),
                quit,
            ],
            SaveState::Failed(_) => vec![("Enter", "retry"), ("Esc", "back"), quit],
        },
        Step::Done => match w.reauth.as_ref().map(|r| &r.revoke) {
            Some(RevokeState::Offered | RevokeState::Failed(_)) => {
                vec![("r", "revoke the old token"), ("Enter/q", "quit")]
            }
            Some(RevokeState::Unavailable | RevokeState::Running | RevokeState::Revoked { .. })
            | None => vec![("Enter/q", "quit")],
        },
    }
}
