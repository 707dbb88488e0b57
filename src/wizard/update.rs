//! The transitions of the wizard. No IO, no async, no clock: every arm is written out.

use std::time::Duration;

use super::catalog;
pub use super::nav::{CLIPBOARD_POLL, COUNTDOWN_TICK, SIGN_IN_TIMEOUT, SPINNER_TICK};
use super::nav::{enter, set_timer};
use super::reauth;
use super::{
    ClientField, Context, DcSource, DeviceEvent, EXPIRIES, Effect, Exchange, ExchangeRequest,
    ExchangeState, Key, LiveTest, Msg, Paste, Prefill, SaveOption, SaveState, ScopeRow, SignIn,
    SignInState, Step, Time, Wizard, WriteRequest,
};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::loopback::RedirectUri;
use crate::auth::{Dc, Product, Secret, keys};

/// Where `zoho-auth setup` starts: at the Client step, all prefilled, when the env file is usable
/// (its data center is known, or `--dc` says it, and its client id and secret have the right
/// shape); at the data-center step otherwise, and always with `--accounts-url` or `--sandbox`.
pub fn setup_start(prefill: &Prefill, ctx: &Context) -> Step {
    let dc_known = match prefill.dc {
        Some((_, DcSource::EnvFile | DcSource::Flag)) => true,
        Some((_, DcSource::TimeZone)) | None => false,
    };
    let client_ok = prefill
        .client_id
        .as_deref()
        .is_some_and(|id| catalog::clean_client_id(id).is_ok())
        && prefill
            .client_secret
            .as_ref()
            .is_some_and(|s| catalog::clean_client_secret(s.expose()).is_ok());
    if dc_known && client_ok && ctx.accounts_override.is_none() && !ctx.sandbox {
        Step::Client
    } else {
        Step::DataCenter
    }
}

/// Feeds one message to the wizard and returns the work it asks for.
pub fn update(w: &mut Wizard, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key { key, now } => on_key(w, key, now),
        Msg::Paste { text, now } => on_paste(w, &text, now),
        Msg::Tick { now } => on_tick(w, now),
        Msg::Resize { cols, rows } => {
            w.size = (cols, rows);
            vec![]
        }
        Msg::Copied(outcome) => {
            w.generate.copied = Some(outcome);
            vec![]
        }
        Msg::Clipboard { text, now } => on_clipboard(w, text, now),
        Msg::Opened { ok } => {
            w.generate.opened = Some(ok);
            vec![]
        }
        Msg::Exchanged { attempt, result } => {
            let running = matches!(w.exchange.state, ExchangeState::Running { .. });
            if attempt != w.attempt || w.step != Step::Exchange || !running {
                return vec![];
            }
            on_exchanged(w, result)
        }
        Msg::SandboxCode {
            attempt,
            result,
            now,
        } => {
            if attempt != w.attempt || w.step != Step::PasteCode || !w.paste.minting {
                return vec![];
            }
            w.paste.minting = false;
            let fx = check_expiry(w, now);
            match result {
                // The code lands in the Paste screen as if pasted: the user sees the countdown
                // and the code, and Enter exchanges it, as with a real console.
                Ok(code) if !w.paste.expired => {
                    w.paste.error = None;
                    w.paste.code_input = code;
                }
                Ok(_) => {}
                Err(e) => w.paste.error = Some(format!("The sandbox did not mint a code: {e}")),
            }
            fx
        }
        Msg::Written { attempt, result } => {
            if attempt != w.attempt || w.step != Step::Save || w.save.state != SaveState::Writing {
                return vec![];
            }
            match result {
                Ok(report) => {
                    w.report = Some(report);
                    if let Some(r) = &mut w.reauth {
                        // Only now, with the new token saved, may the old one go.
                        r.revoke = if r.old_token_live() {
                            super::RevokeState::Offered
                        } else {
                            super::RevokeState::Unavailable
                        };
                    }
                    enter(w, Step::Done, Time::default())
                }
                Err(e) => {
                    w.save.state = SaveState::Failed(e);
                    vec![]
                }
            }
        }
        Msg::CheckProgress { attempt, stage } => reauth::on_progress(w, attempt, stage),
        Msg::Checked { attempt, result } => reauth::on_checked(w, attempt, result),
        Msg::RevokedOld { attempt, result } => reauth::on_revoked(w, attempt, result),
        Msg::SignInListening { attempt, lines } => {
            if signing_in(w, attempt, Step::BrowserSignIn) {
                w.signin.listening = lines;
            }
            vec![]
        }
        Msg::SignInUrl { attempt, url } => {
            if !signing_in(w, attempt, Step::BrowserSignIn) {
                return vec![];
            }
            if let SignInState::Waiting { url: slot, .. } = &mut w.signin.state {
                *slot = Some(url.clone());
            }
            let mut fx = vec![Effect::CopyToClipboard(url.clone())];
            if w.ctx.can_open_browser {
                fx.push(Effect::OpenUrl(url));
            }
            fx
        }
        Msg::SignInCallback { attempt, result } => {
            if !signing_in(w, attempt, Step::BrowserSignIn) {
                return vec![];
            }
            let since = waiting_since(w);
            match result {
                Ok(signed) => {
                    w.signin.state = SignInState::Idle;
                    w.sent_code = None;
                    w.paste.expires_at = None;
                    let dc = match signed.dc {
                        Some(dc) if w.ctx.accounts_override.is_none() => {
                            if dc != w.dc.chosen {
                                w.dc_switched = Some(dc);
                            }
                            dc
                        }
                        Some(_) | None => w.dc_switched.unwrap_or(w.dc.chosen),
                    };
                    w.signin.accounts = Some(signed.accounts.clone());
                    let redirect = Some(w.client.redirect_uri.trim().to_string());
                    send_exchange_to(w, dc, signed.code, since, redirect, Some(signed.accounts))
                }
                Err(failure) => {
                    w.signin.state = SignInState::Failed(failure);
                    set_timer(w, None).into_iter().collect()
                }
            }
        }
        Msg::DeviceStarted { attempt, result } => {
            if !signing_in(w, attempt, Step::DeviceSignIn) {
                return vec![];
            }
            match result {
                Ok(info) => {
                    let code = info.user_code.clone();
                    if let SignInState::Waiting {
                        since,
                        deadline,
                        device,
                        ..
                    } = &mut w.signin.state
                    {
                        *deadline = Some(since.plus(info.expires_in));
                        *device = Some(info);
                    }
                    vec![Effect::CopyToClipboard(code)]
                }
                Err(failure) => {
                    w.signin.state = SignInState::Failed(failure);
                    set_timer(w, None).into_iter().collect()
                }
            }
        }
        Msg::DevicePolled { attempt, event } => {
            if !signing_in(w, attempt, Step::DeviceSignIn) {
                return vec![];
            }
            match event {
                DeviceEvent::SlowDown { .. } | DeviceEvent::MovedTo { .. } => {
                    if let SignInState::Waiting { notes, .. } = &mut w.signin.state {
                        notes.push(event);
                    }
                    vec![]
                }
                DeviceEvent::Approved { accounts } => {
                    let since = waiting_since(w);
                    let dc = match Dc::from_url(&accounts) {
                        Some(dc) if w.ctx.accounts_override.is_none() => {
                            if dc != w.dc.chosen {
                                w.dc_switched = Some(dc);
                            }
                            dc
                        }
                        Some(_) | None => w.dc_switched.unwrap_or(w.dc.chosen),
                    };
                    w.signin.accounts = Some(accounts);
                    w.signin.state = SignInState::Idle;
                    w.sent_code = None;
                    w.paste.expires_at = None;
                    // The same attempt answers with `Msg::Exchanged` once the live test is done.
                    w.exchange.state = ExchangeState::Running { dc, since };
                    enter(w, Step::Exchange, since)
                }
                DeviceEvent::Failed(failure) => {
                    w.signin.state = SignInState::Failed(failure);
                    set_timer(w, None).into_iter().collect()
                }
            }
        }
    }
}

/// True when a sign-in answer belongs to the sign-in that runs on `step` now.
fn signing_in(w: &Wizard, attempt: u64, step: Step) -> bool {
    attempt == w.attempt
        && w.step == step
        && match w.signin.state {
            SignInState::Waiting { .. } => true,
            SignInState::Idle | SignInState::Failed(_) => false,
        }
}

fn waiting_since(w: &Wizard) -> Time {
    match w.signin.state {
        SignInState::Waiting { since, .. } => since,
        SignInState::Idle | SignInState::Failed(_) => Time::default(),
    }
}

/// Stops the running sign-in: its late answers are ignored, its listener or polling ends.
fn cancel_sign_in(w: &mut Wizard) -> Vec<Effect> {
    let running = match w.signin.state {
        SignInState::Waiting { .. } => true,
        SignInState::Idle | SignInState::Failed(_) => false,
    };
    w.signin.state = SignInState::Idle;
    if running {
        w.attempt += 1;
        vec![Effect::CancelSignIn]
    } else {
        vec![]
    }
}

fn on_key(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    if key == Key::Ctrl('c') {
        return vec![Effect::Quit(130)];
    }
    if key == Key::Char('q') && !w.typing() {
        let code = match (w.step, w.reauth.as_ref().and_then(|r| r.code())) {
            (Step::Done, _) => 0,
            // Leaving the diagnosis: the exit code of what it found, as `check` would.
            (Step::Diagnose, Some(code)) if !w.checking() => code.exit_code(),
            _ => 130,
        };
        return vec![Effect::Quit(code)];
    }
    match w.step {
        Step::Diagnose => reauth::key_diagnose(w, key, now),
        Step::DataCenter => key_data_center(w, key, now),
        Step::Client => key_client(w, key, now),
        Step::Scopes => key_scopes(w, key, now),
        Step::GenerateCode => key_generate(w, key, now),
        Step::PasteCode => key_paste(w, key, now),
        Step::BrowserSignIn | Step::DeviceSignIn => key_sign_in(w, key, now),
        Step::Exchange => key_exchange(w, key, now),
        Step::LiveTest => key_live_test(w, key, now),
        Step::Save => key_save(w, key, now),
        Step::Done => match key {
            Key::Enter => vec![Effect::Quit(0)],
            Key::Char('r') if w.reauth.is_some() => reauth::revoke_old(w),
            Key::Char(_)
            | Key::Ctrl(_)
            | Key::Esc
            | Key::Tab
            | Key::BackTab
            | Key::Backspace
            | Key::Up
            | Key::Down
            | Key::Left
            | Key::Right => vec![],
        },
    }
}

/// Up/Down/j/k over `len` rows; true when the key moved the cursor.
fn move_cursor(cursor: &mut usize, len: usize, key: Key, letters: bool) -> bool {
    let up = key == Key::Up || (letters && key == Key::Char('k'));
    let down = key == Key::Down || (letters && key == Key::Char('j'));
    if up {
        *cursor = cursor.saturating_sub(1);
    } else if down {
        if len > 0 {
            *cursor = (*cursor + 1).min(len - 1);
        }
    } else {
        return false;
    }
    true
}

/// Keys of a list's `/` filter while it is being typed; true when consumed.
fn filter_key(list: &mut super::ListState, key: Key) -> bool {
    if !list.filtering {
        return false;
    }
    match key {
        Key::Char(c) => {
            list.filter.push(c);
            list.cursor = 0;
        }
        Key::Backspace => {
            list.filter.pop();
            list.cursor = 0;
        }
        Key::Esc => {
            list.filtering = false;
            list.filter.clear();
            list.cursor = 0;
        }
        Key::Enter | Key::Tab => list.filtering = false,
        Key::Ctrl(_) | Key::BackTab | Key::Up | Key::Down | Key::Left | Key::Right => {
            return false;
        }
    }
    true
}

fn key_data_center(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    if filter_key(&mut w.dc.list, key) {
        return vec![];
    }
    let rows = w.dc_rows();
    if move_cursor(&mut w.dc.list.cursor, rows.len(), key, !w.dc.list.filtering) {
        return vec![];
    }
    match key {
        Key::Char('/') => {
            w.dc.list.filtering = true;
            vec![]
        }
        Key::Enter => match rows.get(w.dc.list.cursor) {
            Some(dc) => {
                if *dc != w.dc.chosen {
                    w.dc_switched = None;
                }
                w.dc.chosen = *dc;
                w.dc.list.filter.clear();
                w.dc.list.cursor = Dc::ALL.iter().position(|d| d == dc).unwrap_or(0);
                enter(w, Step::Client, now)
            }
            None => vec![],
        },
        Key::Esc => {
            w.dc.list.filter.clear();
            vec![]
        }
        Key::Char(_)
        | Key::Ctrl(_)
        | Key::Tab
        | Key::BackTab
        | Key::Backspace
        | Key::Up
        | Key::Down
        | Key::Left
        | Key::Right => vec![],
    }
}

/// The Client step's fields in Tab order: the redirect URI only for a server-based client.
fn client_fields(w: &Wizard) -> Vec<ClientField> {
    match w.client.sign_in {
        SignIn::Browser => vec![
            ClientField::Id,
            ClientField::Secret,
            ClientField::RedirectUri,
        ],
        SignIn::SelfClient | SignIn::Device => vec![ClientField::Id, ClientField::Secret],
    }
}

fn cycle_sign_in(w: &mut Wizard, forward: bool) {
    let all = SignIn::ALL;
    let i = all.iter().position(|m| *m == w.client.sign_in).unwrap_or(0);
    let n = all.len();
    w.client.sign_in = all[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }];
    // The sandbox has a demo client of each kind: follow the choice while one is filled in.
    let demo_filled = w
        .ctx
        .demo_clients
        .iter()
        .any(|(_, id, _)| *id == w.client.id);
    if demo_filled
        && let Some((_, id, secret)) = w
            .ctx
            .demo_clients
            .iter()
            .find(|(m, _, _)| *m == w.client.sign_in)
    {
        w.client.id = id.clone();
        w.client.secret = secret.clone();
    }
    w.client.error = None;
    if !client_fields(w).contains(&w.client.field) {
        w.client.field = ClientField::Id;
    }
}

fn key_client(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    match key {
        Key::Tab | Key::BackTab | Key::Up | Key::Down => {
            let fields = client_fields(w);
            let i = fields
                .iter()
                .position(|f| *f == w.client.field)
                .unwrap_or(0);
            let n = fields.len();
            let back = matches!(key, Key::BackTab | Key::Up);
            w.client.field = fields[if back { (i + n - 1) % n } else { (i + 1) % n }];
            vec![]
        }
        Key::Left | Key::Right => {
            cycle_sign_in(w, key == Key::Right);
            vec![]
        }
        Key::Char(c) => {
            w.client.error = None;
            match w.client.field {
                ClientField::Id => w.client.id.push(c),
                ClientField::Secret => {
                    w.client.secret = Secret::new(format!("{}{c}", w.client.secret.expose()))
                }
                ClientField::RedirectUri => w.client.redirect_uri.push(c),
            }
            vec![]
        }
        Key::Backspace => {
            w.client.error = None;
            match w.client.field {
                ClientField::Id => {
                    w.client.id.pop();
                }
                ClientField::Secret => {
                    let mut s = w.client.secret.expose().to_string();
                    s.pop();
                    w.client.secret = Secret::new(s);
                }
                ClientField::RedirectUri => {
                    w.client.redirect_uri.pop();
                }
            }
            vec![]
        }
        Key::Ctrl('u') => {
            match w.client.field {
                ClientField::Id => w.client.id.clear(),
                ClientField::Secret => w.client.secret = Secret::default(),
                ClientField::RedirectUri => w.client.redirect_uri.clear(),
            }
            vec![]
        }
        Key::Enter => {
            let id = catalog::clean_client_id(&w.client.id);
            let secret = catalog::clean_client_secret(w.client.secret.expose());
            match (id, secret) {
                (Ok(id), Ok(secret)) => {
                    w.client.id = id;
                    w.client.secret = secret;
                    if w.client.sign_in == SignIn::Browser
                        && let Err(e) = RedirectUri::parse(&w.client.redirect_uri)
                    {
                        w.client.field = ClientField::RedirectUri;
                        w.client.error = Some(format!("{}.", capitalized(&e.to_string())));
                        return vec![];
                    }
                    w.client.error = None;
                    enter(w, Step::Scopes, now)
                }
                (Err(e), _) => {
                    w.client.field = ClientField::Id;
                    w.client.error = Some(e);
                    vec![]
                }
                (Ok(id), Err(e)) => {
                    w.client.id = id;
                    if w.client.field == ClientField::Id && w.client.secret.is_empty() {
                        w.client.field = ClientField::Secret;
                    } else {
                        w.client.field = ClientField::Secret;
                        w.client.error = Some(e);
                    }
                    vec![]
                }
            }
        }
        Key::Esc => enter(w, Step::DataCenter, now),
        Key::Ctrl(_) => vec![],
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn toggle_scope(w: &mut Wizard, scope: &str) {
    if let Some(i) = w.scopes.selected.iter().position(|s| s == scope) {
        w.scopes.selected.remove(i);
    } else {
        w.scopes.selected.push(scope.to_string());
    }
}

fn toggle_row(w: &mut Wizard, row: ScopeRow) {
    match row {
        ScopeRow::Preset(i) => {
            let scopes = w.scopes.presets[i].scopes.clone();
            if w.preset_selected(i) {
                w.scopes.selected.retain(|s| !scopes.contains(s));
            } else {
                for s in scopes {
                    if !w.scopes.selected.contains(&s) {
                        w.scopes.selected.push(s);
                    }
                }
            }
        }
        ScopeRow::Scope(g, s) => {
            let name = w.scopes.groups[g].scopes[s].name.clone();
            toggle_scope(w, &name);
        }
    }
}

fn next_product(p: Option<Product>) -> Option<Product> {
    match p {
        None => Some(Product::ALL[0]),
        Some(p) => {
            let i = Product::ALL.iter().position(|x| *x == p).unwrap_or(0);
            Product::ALL.get(i + 1).copied()
        }
    }
}

fn key_scopes(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    if filter_key(&mut w.scopes.list, key) {
        return vec![];
    }
    let rows = w.scope_rows();
    if move_cursor(&mut w.scopes.list.cursor, rows.len(), key, true) {
        return vec![];
    }
    match key {
        Key::Char('/') => {
            w.scopes.list.filtering = true;
            vec![]
        }
        Key::Char(' ') => {
            if let Some(row) = rows.get(w.scopes.list.cursor) {
                toggle_row(w, *row);
            }
            vec![]
        }
        Key::Char('p') => {
            w.scopes.product = next_product(w.scopes.product);
            vec![]
        }
        Key::Char('x') => {
            w.scopes.selected.clear();
            vec![]
        }
        Key::Enter => {
            if w.scopes.selected.is_empty() {
                match rows.get(w.scopes.list.cursor) {
                    Some(row) => toggle_row(w, *row),
                    None => return vec![],
                }
            }
            if w.scopes.selected.is_empty() {
                return vec![];
            }
            let step = w.code_step();
            enter(w, step, now)
        }
        Key::Esc => {
            if w.scopes.list.filter.is_empty() {
                enter(w, Step::Client, now)
            } else {
                w.scopes.list.filter.clear();
                w.scopes.list.cursor = 0;
                vec![]
            }
        }
        Key::Char(_)
        | Key::Ctrl(_)
        | Key::Tab
        | Key::BackTab
        | Key::Backspace
        | Key::Up
        | Key::Down
        | Key::Left
        | Key::Right => vec![],
    }
}

fn start_countdown(w: &mut Wizard, now: Time) -> Vec<Effect> {
    w.paste = Paste {
        expires_at: Some(now.plus(Duration::from_secs(u64::from(w.expiry_minutes()) * 60))),
        ..Paste::default()
    };
    w.exchange = Exchange::default();
    enter(w, Step::PasteCode, now)
}

fn key_generate(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let last = EXPIRIES.len() - 1;
    match key {
        Key::Up | Key::Left | Key::Char('k') | Key::Char('h') => {
            w.generate.expiry_idx = w.generate.expiry_idx.saturating_sub(1);
            vec![]
        }
        Key::Down | Key::Right | Key::Char('j') | Key::Char('l') => {
            w.generate.expiry_idx = (w.generate.expiry_idx + 1).min(last);
            vec![]
        }
        Key::Char(c @ ('3' | '5' | '7' | '1' | '0')) => {
            w.generate.expiry_idx = match c {
                '3' => 0,
                '5' => 1,
                '7' => 2,
                _ => 3,
            };
            vec![]
        }
        Key::Char('c') => {
            w.generate.copied = None;
            vec![Effect::CopyToClipboard(w.scope_string())]
        }
        Key::Char('o') => {
            if w.ctx.can_open_browser {
                vec![Effect::OpenUrl(w.console_url())]
            } else {
                w.generate.opened = Some(false);
                vec![]
            }
        }
        Key::Char('m') if w.ctx.sandbox => {
            let mut fx = start_countdown(w, now);
            w.attempt += 1;
            w.paste.minting = true;
            fx.push(Effect::MintSandboxCode {
                attempt: w.attempt,
                scopes: w.scopes.selected.clone(),
                minutes: w.expiry_minutes(),
            });
            fx
        }
        Key::Enter => start_countdown(w, now),
        Key::Esc => enter(w, Step::Scopes, now),
        Key::Char(_) | Key::Ctrl(_) | Key::Tab | Key::BackTab | Key::Backspace => vec![],
    }
}

/// Marks the code expired when the countdown has run out. Returns the timer change.
fn check_expiry(w: &mut Wizard, now: Time) -> Vec<Effect> {
    let out = w.paste.expires_at.is_some_and(|at| now >= at);
    if w.step == Step::PasteCode && out && !w.paste.expired {
        w.paste.expired = true;
        w.paste.minting = false;
        w.paste.code_input = Secret::default();
        w.paste.error = None;
        return set_timer(w, None).into_iter().collect();
    }
    vec![]
}

/// Sends a code to Zoho, unless its countdown ran out.
fn submit_code(w: &mut Wizard, code: Secret, now: Time) -> Vec<Effect> {
    let mut fx = check_expiry(w, now);
    if w.paste.expired {
        return fx;
    }
    let dc = w.dc_switched.unwrap_or(w.dc.chosen);
    w.sent_code = Some(code.clone());
    w.paste.code_input = Secret::default();
    w.paste.error = None;
    fx.extend(send_exchange(w, dc, code, now));
    fx
}

fn send_exchange(w: &mut Wizard, dc: Dc, code: Secret, now: Time) -> Vec<Effect> {
    send_exchange_to(w, dc, code, now, None, None)
}

fn send_exchange_to(
    w: &mut Wizard,
    dc: Dc,
    code: Secret,
    now: Time,
    redirect_uri: Option<String>,
    accounts: Option<String>,
) -> Vec<Effect> {
    w.attempt += 1;
    w.exchange.state = ExchangeState::Running { dc, since: now };
    let mut fx = enter(w, Step::Exchange, now);
    fx.push(Effect::Exchange(ExchangeRequest {
        attempt: w.attempt,
        dc,
        client_id: w.client.id.clone(),
        client_secret: w.client.secret.clone(),
        code,
        scopes: w.scopes.selected.clone(),
        product: w.probe_product(),
        redirect_uri,
        accounts,
    }));
    fx
}

/// Keys of the browser and device sign-in steps.
fn key_sign_in(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let step = w.step;
    match (&w.signin.state, key) {
        (SignInState::Waiting { .. } | SignInState::Idle | SignInState::Failed(_), Key::Esc) => {
            let mut fx = cancel_sign_in(w);
            fx.extend(enter(w, Step::Scopes, now));
            fx
        }
        (SignInState::Waiting { url, device, .. }, Key::Char('c')) => {
            let text = if step == Step::DeviceSignIn {
                device.as_ref().map(|d| d.user_code.clone())
            } else {
                url.clone()
            };
            match text {
                Some(text) => {
                    w.generate.copied = None;
                    vec![Effect::CopyToClipboard(text)]
                }
                None => vec![],
            }
        }
        (SignInState::Waiting { url, device, .. }, Key::Char('o')) if w.ctx.can_open_browser => {
            let target = match device {
                Some(d) => Some(
                    d.verification_uri_complete
                        .clone()
                        .unwrap_or_else(|| d.verification_url.clone()),
                ),
                None => url.clone(),
            };
            target.map(Effect::OpenUrl).into_iter().collect()
        }
        (SignInState::Failed(_) | SignInState::Idle, Key::Enter | Key::Char('r')) => {
            enter(w, step, now)
        }
        (SignInState::Failed(_) | SignInState::Idle, Key::Char('c')) => enter(w, Step::Client, now),
        (
            SignInState::Waiting { .. } | SignInState::Failed(_) | SignInState::Idle,
            Key::Char(_)
            | Key::Ctrl(_)
            | Key::Enter
            | Key::Tab
            | Key::BackTab
            | Key::Backspace
            | Key::Up
            | Key::Down
            | Key::Left
            | Key::Right,
        ) => vec![],
    }
}

fn apply_paste(w: &mut Wizard, raw: &str, now: Time) -> Vec<Effect> {
    let mut fx = check_expiry(w, now);
    if w.paste.expired {
        return fx;
    }
    // A bare refresh token has a code's shape: the one already in the env file is known, though.
    let saved = w
        .ctx
        .env_existing
        .iter()
        .find(|(k, _)| k == crate::auth::keys::REFRESH_TOKEN)
        .map(|(_, v)| v.expose().to_string());
    match catalog::clean_code_paste(raw, saved.as_deref()) {
        Ok(p) => {
            if let Some(dc) = p.dc
                && dc != w.dc.chosen
            {
                w.paste.dc = Some(dc);
                if w.ctx.accounts_override.is_none() {
                    w.dc_switched = Some(dc);
                }
            }
            fx.extend(submit_code(w, p.code, now));
        }
        Err(e) => {
            w.paste.code_input = Secret::default();
            w.paste.error = Some(e);
        }
    }
    fx
}

fn key_paste(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let mut fx = check_expiry(w, now);
    if w.paste.expired {
        match key {
            Key::Enter | Key::Char('r') | Key::Esc => fx.extend(enter(w, Step::GenerateCode, now)),
            Key::Char(_)
            | Key::Ctrl(_)
            | Key::Tab
            | Key::BackTab
            | Key::Backspace
            | Key::Up
            | Key::Down
            | Key::Left
            | Key::Right => {}
        }
        return fx;
    }
    match key {
        Key::Char(c) => {
            w.paste.error = None;
            w.paste.code_input = Secret::new(format!("{}{c}", w.paste.code_input.expose()));
        }
        Key::Backspace => {
            let mut s = w.paste.code_input.expose().to_string();
            s.pop();
            w.paste.code_input = Secret::new(s);
        }
        Key::Ctrl('u') => w.paste.code_input = Secret::default(),
        Key::Enter => {
            if !w.paste.code_input.is_empty() {
                let raw = w.paste.code_input.expose().to_string();
                fx.extend(apply_paste(w, &raw, now));
            }
        }
        Key::Esc => {
            w.attempt += 1;
            w.paste.minting = false;
            fx.extend(enter(w, Step::GenerateCode, now));
        }
        Key::Ctrl(_) | Key::Tab | Key::BackTab | Key::Up | Key::Down | Key::Left | Key::Right => {}
    }
    fx
}

fn on_paste(w: &mut Wizard, text: &str, now: Time) -> Vec<Effect> {
    match w.step {
        Step::PasteCode => apply_paste(w, text, now),
        Step::Client => {
            paste_client(w, text);
            vec![]
        }
        Step::DataCenter if w.dc.list.filtering => {
            w.dc.list.filter.push_str(text.trim());
            vec![]
        }
        Step::Scopes if w.scopes.list.filtering => {
            w.scopes.list.filter.push_str(text.trim());
            w.scopes.list.cursor = 0;
            vec![]
        }
        Step::Scopes => {
            // A pasted scope list replaces the selection.
            let list: Vec<String> = text
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if !list.is_empty() {
                w.scopes.selected = list;
            }
            vec![]
        }
        Step::Diagnose
        | Step::DataCenter
        | Step::GenerateCode
        | Step::BrowserSignIn
        | Step::DeviceSignIn
        | Step::Exchange
        | Step::LiveTest
        | Step::Save
        | Step::Done => vec![],
    }
}

fn paste_client(w: &mut Wizard, text: &str) {
    w.client.error = None;
    if text.trim_start().starts_with('{') {
        match catalog::clean_code_paste(text, None) {
            Ok(p) => {
                if let Some(id) = p.client_id {
                    w.client.id = id;
                }
                if let Some(secret) = p.client_secret {
                    w.client.secret = secret;
                }
                w.client.source = Some("self_client.json".into());
            }
            Err(e) => w.client.error = Some(e),
        }
        return;
    }
    match w.client.field {
        ClientField::Id => match catalog::clean_client_id(text) {
            Ok(id) => {
                w.client.id = id;
                w.client.field = ClientField::Secret;
            }
            Err(e) => w.client.error = Some(e),
        },
        ClientField::Secret => match catalog::clean_client_secret(text) {
            Ok(s) => w.client.secret = s,
            Err(e) => w.client.error = Some(e),
        },
        ClientField::RedirectUri => w.client.redirect_uri = text.trim().to_string(),
    }
}

fn on_tick(w: &mut Wizard, now: Time) -> Vec<Effect> {
    match w.step {
        Step::PasteCode => {
            let mut fx = check_expiry(w, now);
            let due = w
                .paste
                .last_poll
                .is_none_or(|last| last.until(now) >= CLIPBOARD_POLL);
            if !w.paste.expired && !w.paste.minting && w.ctx.can_read_clipboard && due {
                w.paste.last_poll = Some(now);
                fx.push(Effect::PollClipboard);
            }
            fx
        }
        Step::Diagnose
        | Step::DataCenter
        | Step::Client
        | Step::Scopes
        | Step::GenerateCode
        | Step::BrowserSignIn
        | Step::DeviceSignIn
        | Step::Exchange
        | Step::LiveTest
        | Step::Save
        | Step::Done => vec![],
    }
}

fn on_clipboard(w: &mut Wizard, text: Option<String>, now: Time) -> Vec<Effect> {
    if w.step != Step::PasteCode || w.paste.expired || w.paste.minting {
        return vec![];
    }
    let Some(text) = text else { return vec![] };
    let value = text.trim().to_string();
    if !catalog::is_code_shaped(&value) || w.rejected_clipboard.as_deref() == Some(value.as_str()) {
        return vec![];
    }
    // Taken once: a failed code is not picked up again.
    w.rejected_clipboard = Some(value.clone());
    submit_code(w, Secret::new(value), now)
}

/// The step that fixes a diagnosis.
pub fn fix_step(code: Code) -> Step {
    match code {
        Code::Ok => Step::LiveTest,
        Code::MissingCredentials | Code::InvalidClientSecret | Code::InvalidRedirectUri => {
            Step::Client
        }
        Code::InvalidClient | Code::WrongDc => Step::DataCenter,
        Code::ScopeMissing => Step::Scopes,
        Code::BadInput => Step::PasteCode,
        Code::RefreshTokenRevoked
        | Code::RateLimited
        | Code::TokenRejected
        | Code::NotOrgMember
        | Code::Network
        | Code::ServerError
        | Code::InvalidCode => Step::GenerateCode,
    }
}

/// True when the failure may mean the code belongs to another DC, and the others are worth a try.
pub fn can_try_other_dcs(w: &Wizard) -> bool {
    match &w.exchange.state {
        ExchangeState::Failed {
            diagnosis,
            before_expiry,
        } => {
            diagnosis.code == Code::InvalidCode
                && *before_expiry
                && !w.exchange.tried_other_dcs
                && w.ctx.accounts_override.is_none()
                && w.sent_code.is_some()
        }
        ExchangeState::Idle | ExchangeState::Running { .. } => false,
    }
}

fn on_exchanged(w: &mut Wizard, result: Result<super::Outcome, Diagnosis>) -> Vec<Effect> {
    let (dc, since) = match w.exchange.state {
        ExchangeState::Running { dc, since } => (dc, since),
        ExchangeState::Idle | ExchangeState::Failed { .. } => return vec![],
    };
    match result {
        Ok(outcome) => {
            if dc != w.dc.chosen {
                w.dc_switched = Some(dc);
            }
            w.exchange.dc_queue.clear();
            // The organization the env file names, else Zoho's default.
            let configured = w
                .env_old(keys::ORGANIZATION_ID)
                .map(|s| s.expose().to_string());
            let org_cursor = outcome
                .organizations
                .iter()
                .position(|o| Some(&o.id) == configured.as_ref())
                .or_else(|| outcome.organizations.iter().position(|o| o.is_default))
                .unwrap_or(0);
            w.live = LiveTest {
                outcome: Some(outcome),
                org_cursor,
            };
            w.exchange.state = ExchangeState::Idle;
            w.banner = None;
            enter(w, Step::LiveTest, since)
        }
        Err(diagnosis) => {
            let before_expiry = w.paste.expires_at.is_none_or(|at| since < at);
            if diagnosis.code == Code::InvalidCode
                && before_expiry
                && let (Some(next), Some(code)) =
                    (w.exchange.dc_queue.first().copied(), w.sent_code.clone())
            {
                w.exchange.dc_queue.remove(0);
                return send_exchange(w, next, code, since);
            }
            if diagnosis.code == Code::ScopeMissing && w.scopes.product.is_none() {
                w.scopes.product = w.probe_product();
            }
            w.exchange.state = ExchangeState::Failed {
                diagnosis,
                before_expiry,
            };
            enter(w, Step::Exchange, since)
        }
    }
}

fn key_exchange(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let failed = match &w.exchange.state {
        ExchangeState::Failed { diagnosis, .. } => Some(diagnosis.code),
        ExchangeState::Idle | ExchangeState::Running { .. } => None,
    };
    match (failed, key) {
        (None, Key::Esc) => {
            // The result of the running request no longer matters.
            w.attempt += 1;
            w.exchange.state = ExchangeState::Idle;
            let back = back_from_exchange(w);
            enter(w, back, now)
        }
        (Some(code), Key::Enter) => {
            let step = on_path(w, fix_step(code));
            go_fix(w, step, now)
        }
        (Some(_), Key::Char('d')) if can_try_other_dcs(w) => {
            let tried = match w.exchange.state {
                ExchangeState::Running { dc, .. } => dc,
                ExchangeState::Idle | ExchangeState::Failed { .. } => {
                    w.dc_switched.unwrap_or(w.dc.chosen)
                }
            };
            w.exchange.tried_other_dcs = true;
            w.exchange.dc_queue = Dc::ALL.into_iter().filter(|d| *d != tried).collect();
            let next = w.exchange.dc_queue.remove(0);
            let code = w.sent_code.clone().unwrap_or_default();
            send_exchange(w, next, code, now)
        }
        (Some(_), Key::Char('g')) => {
            let step = w.code_step();
            go_fix(w, step, now)
        }
        (Some(_), Key::Char('s')) => go_fix(w, Step::Scopes, now),
        (Some(_), Key::Char('c')) => go_fix(w, Step::Client, now),
        (Some(_), Key::Esc) => {
            let back = back_from_exchange(w);
            go_fix(w, back, now)
        }
        (None, _) | (Some(_), _) => vec![],
    }
}

/// A step of the Self Client path on the chosen path: Generate and Paste code become the
/// browser or device sign-in (which starts over).
fn on_path(w: &Wizard, step: Step) -> Step {
    match (step, w.client.sign_in) {
        (Step::GenerateCode | Step::PasteCode, SignIn::Browser | SignIn::Device) => w.code_step(),
        (_, SignIn::SelfClient | SignIn::Browser | SignIn::Device) => step,
    }
}

/// Where Esc leaves the Exchange step for: the paste field, or the Scopes step (a browser or
/// device sign-in is not resumed, it starts over from there).
fn back_from_exchange(w: &Wizard) -> Step {
    match w.client.sign_in {
        SignIn::SelfClient => Step::PasteCode,
        SignIn::Browser | SignIn::Device => Step::Scopes,
    }
}

fn go_fix(w: &mut Wizard, step: Step, now: Time) -> Vec<Effect> {
    w.exchange = w.exchange.left();
    if step == Step::PasteCode {
        w.paste.code_input = Secret::default();
    }
    enter(w, step, now)
}

fn key_live_test(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let len = w.live.outcome.as_ref().map_or(0, |o| o.organizations.len());
    if move_cursor(&mut w.live.org_cursor, len, key, true) {
        return vec![];
    }
    match key {
        Key::Enter => {
            w.save = w.save.reopened();
            enter(w, Step::Save, now)
        }
        Key::Esc => {
            let step = w.code_step();
            enter(w, step, now)
        }
        Key::Char(_)
        | Key::Ctrl(_)
        | Key::Tab
        | Key::BackTab
        | Key::Backspace
        | Key::Up
        | Key::Down
        | Key::Left
        | Key::Right => vec![],
    }
}

fn write(w: &mut Wizard) -> Vec<Effect> {
    w.attempt += 1;
    w.save.state = SaveState::Writing;
    let plan = w.save_plan();
    vec![Effect::WriteEnv(WriteRequest {
        attempt: w.attempt,
        updates: plan.updates,
        keychain: plan.keychain,
        client_id: plan.client_id,
        add_to_gitignore: w.save.add_gitignore && w.save_options().contains(&SaveOption::Gitignore),
        expected_refresh: w.env_old(keys::REFRESH_TOKEN).cloned(),
    })]
}

fn key_save(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    match w.save.state.clone() {
        SaveState::Writing => vec![],
        SaveState::Failed(_) => match key {
            Key::Enter => write(w),
            // The keychain failed closed; the file is an explicit choice, never a silent one.
            Key::Char('f') if w.save.use_keychain => {
                w.save.use_keychain = false;
                write(w)
            }
            Key::Esc => {
                w.save.state = SaveState::Preview;
                vec![]
            }
            Key::Char(_)
            | Key::Ctrl(_)
            | Key::Tab
            | Key::BackTab
            | Key::Backspace
            | Key::Up
            | Key::Down
            | Key::Left
            | Key::Right => vec![],
        },
        SaveState::Preview => {
            let options = w.save_options();
            if move_cursor(&mut w.save.cursor, options.len(), key, true) {
                return vec![];
            }
            match key {
                Key::Char(' ') => {
                    match options.get(w.save.cursor) {
                        Some(SaveOption::Keychain) => w.save.use_keychain = !w.save.use_keychain,
                        Some(SaveOption::Gitignore) => w.save.add_gitignore = !w.save.add_gitignore,
                        None => {}
                    }
                    vec![]
                }
                Key::Enter => write(w),
                Key::Esc => enter(w, Step::LiveTest, now),
                Key::Char(_)
                | Key::Ctrl(_)
                | Key::Tab
                | Key::BackTab
                | Key::Backspace
                | Key::Up
                | Key::Down
                | Key::Left
                | Key::Right => vec![],
            }
        }
    }
}

impl Wizard {
    /// The effects to perform when the wizard starts at its first step (reauth may start later).
    pub fn start(&mut self, now: Time) -> Vec<Effect> {
        if self.step == Step::Diagnose && self.reauth.is_some() {
            return reauth::begin_check(self, now);
        }
        enter(self, self.step, now)
    }
}
