//! The transitions of the wizard. No IO, no async, no clock: every arm is written out.

use std::time::Duration;

use super::catalog;
use super::reauth;
use super::{
    ClientField, EXPIRIES, Effect, ExchangeRequest, ExchangeState, Key, Msg, SaveOption, SaveState,
    ScopeRow, Step, Time, Wizard, WriteRequest,
};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::{Dc, Product, Secret};

/// The countdown redraws once a second.
pub const COUNTDOWN_TICK: Duration = Duration::from_secs(1);
/// The spinner turns four times a second while a request runs.
pub const SPINNER_TICK: Duration = Duration::from_millis(250);
/// The clipboard is read at most this often.
pub const CLIPBOARD_POLL: Duration = Duration::from_secs(1);

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
            w.copied = Some(outcome);
            vec![]
        }
        Msg::Clipboard { text, now } => on_clipboard(w, text, now),
        Msg::Opened { ok } => {
            w.opened = Some(ok);
            vec![]
        }
        Msg::Exchanged { attempt, result } => {
            let running = matches!(w.exchange, ExchangeState::Running { .. });
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
            if attempt != w.attempt || w.step != Step::PasteCode || !w.minting {
                return vec![];
            }
            w.minting = false;
            let mut fx = check_expiry(w, now);
            match result {
                Ok(code) => fx.extend(submit_code(w, code, now)),
                Err(e) => w.paste_error = Some(format!("The sandbox did not mint a code: {e}")),
            }
            fx
        }
        Msg::Written { attempt, result } => {
            if attempt != w.attempt || w.step != Step::Save || w.save != SaveState::Writing {
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
                    w.save = SaveState::Failed(e);
                    vec![]
                }
            }
        }
        Msg::CheckProgress { attempt, stage } => reauth::on_progress(w, attempt, stage),
        Msg::Checked { attempt, result } => reauth::on_checked(w, attempt, result),
        Msg::RevokedOld { attempt, result } => reauth::on_revoked(w, attempt, result),
    }
}

/// Moves to `step` and returns what entering it takes. Also used when the wizard starts.
pub(super) fn enter(w: &mut Wizard, step: Step, now: Time) -> Vec<Effect> {
    w.step = step;
    let mut fx = vec![];
    let timer = match step {
        Step::Diagnose => w.checking().then_some(SPINNER_TICK),
        Step::DataCenter | Step::Client | Step::Scopes => None,
        Step::GenerateCode => {
            w.expires_at = None;
            w.expired = false;
            w.copied = None;
            fx.push(Effect::CopyToClipboard(w.scope_string()));
            None
        }
        Step::PasteCode => {
            if w.expired {
                None
            } else {
                Some(COUNTDOWN_TICK)
            }
        }
        Step::Exchange => match w.exchange {
            ExchangeState::Running { .. } => Some(SPINNER_TICK),
            ExchangeState::Idle | ExchangeState::Failed { .. } => None,
        },
        Step::LiveTest | Step::Save | Step::Done => None,
    };
    let _ = now;
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
    if filter_key(&mut w.dc_list, key) {
        return vec![];
    }
    let rows = w.dc_rows();
    if move_cursor(&mut w.dc_list.cursor, rows.len(), key, !w.dc_list.filtering) {
        return vec![];
    }
    match key {
        Key::Char('/') => {
            w.dc_list.filtering = true;
            vec![]
        }
        Key::Enter => match rows.get(w.dc_list.cursor) {
            Some(dc) => {
                if *dc != w.dc {
                    w.dc_switched = None;
                }
                w.dc = *dc;
                w.dc_list.filter.clear();
                w.dc_list.cursor = Dc::ALL.iter().position(|d| d == dc).unwrap_or(0);
                enter(w, Step::Client, now)
            }
            None => vec![],
        },
        Key::Esc => {
            w.dc_list.filter.clear();
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

fn key_client(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    match key {
        Key::Tab | Key::BackTab | Key::Up | Key::Down => {
            w.client_field = match w.client_field {
                ClientField::Id => ClientField::Secret,
                ClientField::Secret => ClientField::Id,
            };
            vec![]
        }
        Key::Char(c) => {
            w.client_error = None;
            match w.client_field {
                ClientField::Id => w.client_id.push(c),
                ClientField::Secret => {
                    w.client_secret = Secret::new(format!("{}{c}", w.client_secret.expose()))
                }
            }
            vec![]
        }
        Key::Backspace => {
            w.client_error = None;
            match w.client_field {
                ClientField::Id => {
                    w.client_id.pop();
                }
                ClientField::Secret => {
                    let mut s = w.client_secret.expose().to_string();
                    s.pop();
                    w.client_secret = Secret::new(s);
                }
            }
            vec![]
        }
        Key::Ctrl('u') => {
            match w.client_field {
                ClientField::Id => w.client_id.clear(),
                ClientField::Secret => w.client_secret = Secret::default(),
            }
            vec![]
        }
        Key::Enter => {
            let id = catalog::clean_client_id(&w.client_id);
            let secret = catalog::clean_client_secret(w.client_secret.expose());
            match (id, secret) {
                (Ok(id), Ok(secret)) => {
                    w.client_id = id;
                    w.client_secret = secret;
                    w.client_error = None;
                    enter(w, Step::Scopes, now)
                }
                (Err(e), _) => {
                    w.client_field = ClientField::Id;
                    w.client_error = Some(e);
                    vec![]
                }
                (Ok(id), Err(e)) => {
                    w.client_id = id;
                    if w.client_field == ClientField::Id && w.client_secret.is_empty() {
                        w.client_field = ClientField::Secret;
                    } else {
                        w.client_field = ClientField::Secret;
                        w.client_error = Some(e);
                    }
                    vec![]
                }
            }
        }
        Key::Esc => enter(w, Step::DataCenter, now),
        Key::Ctrl(_) | Key::Left | Key::Right => vec![],
    }
}

fn toggle_scope(w: &mut Wizard, scope: &str) {
    if let Some(i) = w.scopes.iter().position(|s| s == scope) {
        w.scopes.remove(i);
    } else {
        w.scopes.push(scope.to_string());
    }
}

fn toggle_row(w: &mut Wizard, row: ScopeRow) {
    match row {
        ScopeRow::Preset(i) => {
            let scopes = w.presets[i].scopes.clone();
            if w.preset_selected(i) {
                w.scopes.retain(|s| !scopes.contains(s));
            } else {
                for s in scopes {
                    if !w.scopes.contains(&s) {
                        w.scopes.push(s);
                    }
                }
            }
        }
        ScopeRow::Scope(g, s) => {
            let name = w.groups[g].scopes[s].name.clone();
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
    if filter_key(&mut w.scope_list, key) {
        return vec![];
    }
    let rows = w.scope_rows();
    if move_cursor(&mut w.scope_list.cursor, rows.len(), key, true) {
        return vec![];
    }
    match key {
        Key::Char('/') => {
            w.scope_list.filtering = true;
            vec![]
        }
        Key::Char(' ') => {
            if let Some(row) = rows.get(w.scope_list.cursor) {
                toggle_row(w, *row);
            }
            vec![]
        }
        Key::Char('p') => {
            w.product = next_product(w.product);
            vec![]
        }
        Key::Char('x') => {
            w.scopes.clear();
            vec![]
        }
        Key::Enter => {
            if w.scopes.is_empty() {
                match rows.get(w.scope_list.cursor) {
                    Some(row) => toggle_row(w, *row),
                    None => return vec![],
                }
            }
            if w.scopes.is_empty() {
                return vec![];
            }
            enter(w, Step::GenerateCode, now)
        }
        Key::Esc => {
            if w.scope_list.filter.is_empty() {
                enter(w, Step::Client, now)
            } else {
                w.scope_list.filter.clear();
                w.scope_list.cursor = 0;
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
    w.expired = false;
    w.expires_at = Some(now.plus(Duration::from_secs(u64::from(w.expiry_minutes()) * 60)));
    w.code_input = Secret::default();
    w.paste_error = None;
    w.paste_dc = None;
    w.last_poll = None;
    w.minting = false;
    w.exchange = ExchangeState::Idle;
    w.tried_other_dcs = false;
    w.dc_queue.clear();
    enter(w, Step::PasteCode, now)
}

fn key_generate(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let last = EXPIRIES.len() - 1;
    match key {
        Key::Up | Key::Left | Key::Char('k') | Key::Char('h') => {
            w.expiry_idx = w.expiry_idx.saturating_sub(1);
            vec![]
        }
        Key::Down | Key::Right | Key::Char('j') | Key::Char('l') => {
            w.expiry_idx = (w.expiry_idx + 1).min(last);
            vec![]
        }
        Key::Char(c @ ('3' | '5' | '7' | '1' | '0')) => {
            w.expiry_idx = match c {
                '3' => 0,
                '5' => 1,
                '7' => 2,
                _ => 3,
            };
            vec![]
        }
        Key::Char('c') => {
            w.copied = None;
            vec![Effect::CopyToClipboard(w.scope_string())]
        }
        Key::Char('o') => {
            if w.ctx.can_open_browser {
                vec![Effect::OpenUrl(w.console_url())]
            } else {
                w.opened = Some(false);
                vec![]
            }
        }
        Key::Char('m') if w.ctx.sandbox => {
            let mut fx = start_countdown(w, now);
            w.attempt += 1;
            w.minting = true;
            fx.push(Effect::MintSandboxCode {
                attempt: w.attempt,
                scopes: w.scopes.clone(),
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
    let out = w.expires_at.is_some_and(|at| now >= at);
    if w.step == Step::PasteCode && out && !w.expired {
        w.expired = true;
        w.minting = false;
        w.code_input = Secret::default();
        w.paste_error = None;
        return set_timer(w, None).into_iter().collect();
    }
    vec![]
}

/// Sends a code to Zoho, unless its countdown ran out.
fn submit_code(w: &mut Wizard, code: Secret, now: Time) -> Vec<Effect> {
    let mut fx = check_expiry(w, now);
    if w.expired {
        return fx;
    }
    let dc = w.dc_switched.unwrap_or(w.dc);
    w.sent_code = Some(code.clone());
    w.code_input = Secret::default();
    w.paste_error = None;
    fx.extend(send_exchange(w, dc, code, now));
    fx
}

fn send_exchange(w: &mut Wizard, dc: Dc, code: Secret, now: Time) -> Vec<Effect> {
    w.attempt += 1;
    w.exchange = ExchangeState::Running { dc, since: now };
    let mut fx = enter(w, Step::Exchange, now);
    fx.push(Effect::Exchange(ExchangeRequest {
        attempt: w.attempt,
        dc,
        client_id: w.client_id.clone(),
        client_secret: w.client_secret.clone(),
        code,
        scopes: w.scopes.clone(),
        product: w.probe_product(),
    }));
    fx
}

fn apply_paste(w: &mut Wizard, raw: &str, now: Time) -> Vec<Effect> {
    let mut fx = check_expiry(w, now);
    if w.expired {
        return fx;
    }
    match catalog::clean_code_paste(raw) {
        Ok(p) => {
            if let Some(dc) = p.dc
                && dc != w.dc
            {
                w.paste_dc = Some(dc);
                if w.ctx.accounts_override.is_none() {
                    w.dc_switched = Some(dc);
                }
            }
            fx.extend(submit_code(w, p.code, now));
        }
        Err(e) => {
            w.code_input = Secret::default();
            w.paste_error = Some(e);
        }
    }
    fx
}

fn key_paste(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let mut fx = check_expiry(w, now);
    if w.expired {
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
            w.paste_error = None;
            w.code_input = Secret::new(format!("{}{c}", w.code_input.expose()));
        }
        Key::Backspace => {
            let mut s = w.code_input.expose().to_string();
            s.pop();
            w.code_input = Secret::new(s);
        }
        Key::Ctrl('u') => w.code_input = Secret::default(),
        Key::Enter => {
            if !w.code_input.is_empty() {
                let raw = w.code_input.expose().to_string();
                fx.extend(apply_paste(w, &raw, now));
            }
        }
        Key::Esc => {
            w.attempt += 1;
            w.minting = false;
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
        Step::DataCenter if w.dc_list.filtering => {
            w.dc_list.filter.push_str(text.trim());
            vec![]
        }
        Step::Scopes if w.scope_list.filtering => {
            w.scope_list.filter.push_str(text.trim());
            w.scope_list.cursor = 0;
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
                w.scopes = list;
            }
            vec![]
        }
        Step::Diagnose
        | Step::DataCenter
        | Step::GenerateCode
        | Step::Exchange
        | Step::LiveTest
        | Step::Save
        | Step::Done => vec![],
    }
}

fn paste_client(w: &mut Wizard, text: &str) {
    w.client_error = None;
    if text.trim_start().starts_with('{') {
        match catalog::clean_code_paste(text) {
            Ok(p) => {
                if let Some(id) = p.client_id {
                    w.client_id = id;
                }
                if let Some(secret) = p.client_secret {
                    w.client_secret = secret;
                }
                w.client_source = Some("self_client.json".into());
            }
            Err(e) => w.client_error = Some(e),
        }
        return;
    }
    match w.client_field {
        ClientField::Id => match catalog::clean_client_id(text) {
            Ok(id) => {
                w.client_id = id;
                w.client_field = ClientField::Secret;
            }
            Err(e) => w.client_error = Some(e),
        },
        ClientField::Secret => match catalog::clean_client_secret(text) {
            Ok(s) => w.client_secret = s,
            Err(e) => w.client_error = Some(e),
        },
    }
}

fn on_tick(w: &mut Wizard, now: Time) -> Vec<Effect> {
    match w.step {
        Step::PasteCode => {
            let mut fx = check_expiry(w, now);
            let due = w
                .last_poll
                .is_none_or(|last| last.until(now) >= CLIPBOARD_POLL);
            if !w.expired && !w.minting && w.ctx.can_read_clipboard && due {
                w.last_poll = Some(now);
                fx.push(Effect::PollClipboard);
            }
            fx
        }
        Step::Diagnose
        | Step::DataCenter
        | Step::Client
        | Step::Scopes
        | Step::GenerateCode
        | Step::Exchange
        | Step::LiveTest
        | Step::Save
        | Step::Done => vec![],
    }
}

fn on_clipboard(w: &mut Wizard, text: Option<String>, now: Time) -> Vec<Effect> {
    if w.step != Step::PasteCode || w.expired || w.minting {
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
    match &w.exchange {
        ExchangeState::Failed {
            diagnosis,
            before_expiry,
        } => {
            diagnosis.code == Code::InvalidCode
                && *before_expiry
                && !w.tried_other_dcs
                && w.ctx.accounts_override.is_none()
                && w.sent_code.is_some()
        }
        ExchangeState::Idle | ExchangeState::Running { .. } => false,
    }
}

fn on_exchanged(w: &mut Wizard, result: Result<super::Outcome, Diagnosis>) -> Vec<Effect> {
    let (dc, since) = match w.exchange {
        ExchangeState::Running { dc, since } => (dc, since),
        ExchangeState::Idle | ExchangeState::Failed { .. } => return vec![],
    };
    match result {
        Ok(outcome) => {
            if dc != w.dc {
                w.dc_switched = Some(dc);
            }
            w.dc_queue.clear();
            // The organization the env file names, else Zoho's default.
            let configured = w
                .env_old("ZOHO_ORGANIZATION_ID")
                .map(|s| s.expose().to_string());
            w.org_cursor = outcome
                .organizations
                .iter()
                .position(|o| Some(&o.id) == configured.as_ref())
                .or_else(|| outcome.organizations.iter().position(|o| o.is_default))
                .unwrap_or(0);
            w.outcome = Some(outcome);
            w.exchange = ExchangeState::Idle;
            w.banner = None;
            enter(w, Step::LiveTest, since)
        }
        Err(diagnosis) => {
            let before_expiry = w.expires_at.is_none_or(|at| since < at);
            if diagnosis.code == Code::InvalidCode
                && before_expiry
                && let (Some(next), Some(code)) = (w.dc_queue.first().copied(), w.sent_code.clone())
            {
                w.dc_queue.remove(0);
                return send_exchange(w, next, code, since);
            }
            if diagnosis.code == Code::ScopeMissing && w.product.is_none() {
                w.product = w.probe_product();
            }
            w.exchange = ExchangeState::Failed {
                diagnosis,
                before_expiry,
            };
            enter(w, Step::Exchange, since)
        }
    }
}

fn key_exchange(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let failed = match &w.exchange {
        ExchangeState::Failed { diagnosis, .. } => Some(diagnosis.code),
        ExchangeState::Idle | ExchangeState::Running { .. } => None,
    };
    match (failed, key) {
        (None, Key::Esc) => {
            // The result of the running request no longer matters.
            w.attempt += 1;
            w.exchange = ExchangeState::Idle;
            enter(w, Step::PasteCode, now)
        }
        (Some(code), Key::Enter) => {
            let step = fix_step(code);
            go_fix(w, step, now)
        }
        (Some(_), Key::Char('d')) if can_try_other_dcs(w) => {
            let tried = match w.exchange {
                ExchangeState::Running { dc, .. } => dc,
                ExchangeState::Idle | ExchangeState::Failed { .. } => w.dc_switched.unwrap_or(w.dc),
            };
            w.tried_other_dcs = true;
            w.dc_queue = Dc::ALL.into_iter().filter(|d| *d != tried).collect();
            let next = w.dc_queue.remove(0);
            let code = w.sent_code.clone().unwrap_or_default();
            send_exchange(w, next, code, now)
        }
        (Some(_), Key::Char('g')) => go_fix(w, Step::GenerateCode, now),
        (Some(_), Key::Char('s')) => go_fix(w, Step::Scopes, now),
        (Some(_), Key::Char('c')) => go_fix(w, Step::Client, now),
        (Some(_), Key::Esc) => go_fix(w, Step::PasteCode, now),
        (None, _) | (Some(_), _) => vec![],
    }
}

fn go_fix(w: &mut Wizard, step: Step, now: Time) -> Vec<Effect> {
    w.exchange = ExchangeState::Idle;
    w.dc_queue.clear();
    if step == Step::PasteCode {
        w.code_input = Secret::default();
    }
    enter(w, step, now)
}

fn key_live_test(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let len = w.outcome.as_ref().map_or(0, |o| o.organizations.len());
    if move_cursor(&mut w.org_cursor, len, key, true) {
        return vec![];
    }
    match key {
        Key::Enter => {
            w.save = SaveState::Preview;
            w.save_cursor = 0;
            enter(w, Step::Save, now)
        }
        Key::Esc => enter(w, Step::GenerateCode, now),
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
    w.save = SaveState::Writing;
    let keychain = if w.use_keychain {
        let refresh = w
            .outcome
            .as_ref()
            .and_then(|o| o.refresh_token.clone())
            .unwrap_or_default();
        vec![
            ("ZOHO_CLIENT_SECRET".to_string(), w.client_secret.clone()),
            ("ZOHO_REFRESH_TOKEN".to_string(), refresh),
        ]
    } else {
        vec![]
    };
    vec![Effect::WriteEnv(WriteRequest {
        attempt: w.attempt,
        updates: w.env_updates(),
        keychain,
        client_id: w.client_id.clone(),
        add_to_gitignore: w.add_gitignore && w.save_options().contains(&SaveOption::Gitignore),
    })]
}

fn key_save(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    match w.save.clone() {
        SaveState::Writing => vec![],
        SaveState::Failed(_) => match key {
            Key::Enter => write(w),
            Key::Esc => {
                w.save = SaveState::Preview;
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
            if move_cursor(&mut w.save_cursor, options.len(), key, true) {
                return vec![];
            }
            match key {
                Key::Char(' ') => {
                    match options.get(w.save_cursor) {
                        Some(SaveOption::Keychain) => w.use_keychain = !w.use_keychain,
                        Some(SaveOption::Gitignore) => w.add_gitignore = !w.add_gitignore,
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
