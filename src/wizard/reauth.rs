//! The transitions of `zoho-auth reauth`: the check of the configured grant, its diagnosis, the
//! entry into the wizard at the step that fixes it, and the revoke of the superseded token.
//! No IO, no async, no clock here.

use super::nav::{enter, set_timer};
use super::{
    CheckResult, CheckStage, ClientField, Effect, Key, RevokeState, ScopeRow, Step, Time, Wizard,
    catalog,
};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::{Dc, Product, Secret};

/// The step of the wizard a check result sends reauth to; `None` keeps the diagnosis screen
/// (nothing to fix, or a retry is the only remedy).
pub fn reauth_step(code: Code) -> Option<Step> {
    match code {
        Code::Ok | Code::Network | Code::ServerError | Code::RateLimited => None,
        Code::RefreshTokenRevoked
        | Code::TokenRejected
        | Code::NotOrgMember
        | Code::InvalidCode
        | Code::BadInput => Some(Step::GenerateCode),
        Code::ScopeMissing => Some(Step::Scopes),
        Code::InvalidClient | Code::WrongDc | Code::MissingCredentials => Some(Step::DataCenter),
        Code::InvalidClientSecret | Code::InvalidRedirectUri => Some(Step::Client),
    }
}

/// When to try again after a failure that re-authorizing cannot fix; `None` for the others.
pub fn retry_advice(code: Code) -> Option<&'static str> {
    match code {
        Code::Network => Some(
            "Retry as soon as the connection works again (check VPN, proxy or firewall first).",
        ),
        Code::ServerError => {
            Some("Retry in a few minutes: this is on Zoho's side or a proxy's (status.zoho.com).")
        }
        Code::RateLimited => Some(
            "Retry in 10 minutes, once Zoho's window has passed: every try before that counts against it.",
        ),
        Code::Ok
        | Code::MissingCredentials
        | Code::InvalidClient
        | Code::InvalidClientSecret
        | Code::RefreshTokenRevoked
        | Code::ScopeMissing
        | Code::TokenRejected
        | Code::NotOrgMember
        | Code::WrongDc
        | Code::InvalidCode
        | Code::InvalidRedirectUri
        | Code::BadInput => None,
    }
}

/// The first step whose input is missing or malformed, so that reauth never jumps past it.
fn first_incomplete(w: &Wizard) -> Option<Step> {
    let client_ok = catalog::clean_client_id(&w.client.id).is_ok()
        && catalog::clean_client_secret(w.client.secret.expose()).is_ok();
    if !client_ok {
        Some(Step::Client)
    } else if w.scopes.selected.is_empty() {
        Some(Step::Scopes)
    } else {
        None
    }
}

/// Starts a (new) check: a new attempt, the spinner, and the effect.
pub(super) fn begin_check(w: &mut Wizard, now: Time) -> Vec<Effect> {
    w.attempt += 1;
    let attempt = w.attempt;
    let Some(r) = w.reauth.as_mut() else {
        return vec![];
    };
    r.stages.clear();
    r.result = None;
    r.next = None;
    r.checking_since = Some(now);
    let product = r.product;
    let mut fx = enter(w, Step::Diagnose, now);
    fx.push(Effect::Check { attempt, product });
    fx
}

pub(super) fn on_progress(w: &mut Wizard, attempt: u64, stage: CheckStage) -> Vec<Effect> {
    if attempt != w.attempt || w.step != Step::Diagnose || !w.checking() {
        return vec![];
    }
    if let Some(r) = w.reauth.as_mut()
        && !r.stages.contains(&stage)
    {
        r.stages.push(stage);
    }
    vec![]
}

pub(super) fn on_checked(w: &mut Wizard, attempt: u64, result: CheckResult) -> Vec<Effect> {
    if attempt != w.attempt || w.step != Step::Diagnose || !w.checking() {
        return vec![];
    }
    if w.scopes.selected.is_empty() {
        w.scopes.selected = result.scopes.clone();
    }
    let code = result.diagnosis.code;
    let next = reauth_step(code).map(|step| match first_incomplete(w) {
        Some(missing) if missing.number() < step.number() => missing,
        Some(_) | None => step,
    });
    let Some(r) = w.reauth.as_mut() else {
        return vec![];
    };
    if let Some(p) = result.product {
        r.product = Some(p);
    }
    r.checking_since = None;
    r.result = Some(result);
    r.next = next;
    set_timer(w, None).into_iter().collect()
}

/// The product after `p` in the catalogue's order, wrapping around.
fn next_product(p: Option<Product>) -> Product {
    let i = p
        .and_then(|p| Product::ALL.iter().position(|x| *x == p))
        .map_or(0, |i| (i + 1) % Product::ALL.len());
    Product::ALL[i]
}

pub(super) fn key_diagnose(w: &mut Wizard, key: Key, now: Time) -> Vec<Effect> {
    let Some(r) = w.reauth.as_ref() else {
        return vec![];
    };
    if r.checking_since.is_some() {
        return vec![];
    }
    let code = r.code();
    let next = r.next;
    match (key, next, code) {
        (Key::Enter, Some(step), _) => go(w, step, now),
        (Key::Char('r'), _, _) => begin_check(w, now),
        (Key::Enter, None, Some(Code::Network | Code::ServerError | Code::RateLimited)) => {
            begin_check(w, now)
        }
        (Key::Enter, None, _) => vec![Effect::Quit(code.map_or(0, Code::exit_code))],
        (Key::Char('p'), None, Some(Code::Ok)) => {
            let product = next_product(w.reauth.as_ref().and_then(|r| r.product));
            if let Some(r) = w.reauth.as_mut() {
                r.product = Some(product);
            }
            begin_check(w, now)
        }
        (Key::Char('g'), None, Some(Code::Ok)) => {
            let step = first_incomplete(w).unwrap_or(Step::GenerateCode);
            go(w, step, now)
        }
        (
            Key::Char(_)
            | Key::Ctrl(_)
            | Key::Esc
            | Key::Tab
            | Key::BackTab
            | Key::Backspace
            | Key::Up
            | Key::Down
            | Key::Left
            | Key::Right,
            _,
            _,
        ) => vec![],
    }
}

/// Enters the wizard at `step` with what the diagnosis says must change prepared.
fn go(w: &mut Wizard, step: Step, now: Time) -> Vec<Effect> {
    let Some(r) = w.reauth.as_ref() else {
        return vec![];
    };
    let code = r.code();
    let product = r.product;
    let account_dc = r.result.as_ref().and_then(|res| res.account_dc);
    if product.is_some() {
        w.scopes.product = product;
    }
    match (step, code) {
        (Step::Client, Some(Code::InvalidClientSecret)) => {
            w.client.field = ClientField::Secret;
            w.client.secret = Secret::default();
        }
        (Step::Scopes, Some(Code::ScopeMissing)) => {
            let added = w
                .probe_product()
                .and_then(|p| catalog::missing_for_probe(p, &w.scopes.selected));
            if let Some(scope) = &added
                && !w.scopes.selected.contains(scope)
            {
                w.scopes.selected.push(scope.clone());
            }
            if let Some(scope) = &added {
                w.scopes.list.filter.clear();
                w.scopes.list.cursor = w
                    .scope_rows()
                    .iter()
                    .position(|row| match row {
                        ScopeRow::Scope(g, s) => w.scopes.groups[*g].scopes[*s].name == *scope,
                        ScopeRow::Preset(_) => false,
                    })
                    .unwrap_or(0);
            }
            if let Some(r) = w.reauth.as_mut() {
                r.added_scope = added;
            }
        }
        (Step::DataCenter, Some(Code::WrongDc)) => {
            if let Some(dc) = account_dc {
                w.dc.list.filter.clear();
                w.dc.list.cursor = Dc::ALL.iter().position(|d| *d == dc).unwrap_or(0);
            }
        }
        _ => {}
    }
    if let Some(r) = w.reauth.as_mut() {
        r.entered = Some(step);
    }
    enter(w, step, now)
}

/// `r` on the Done step: revoke the superseded refresh token, which is only offered once the new
/// one is saved.
pub(super) fn revoke_old(w: &mut Wizard) -> Vec<Effect> {
    let saved = w.report.is_some();
    let Some(r) = w.reauth.as_mut() else {
        return vec![];
    };
    match (&r.revoke, saved) {
        (RevokeState::Offered | RevokeState::Failed(_), true) => {
            r.revoke = RevokeState::Running;
            w.attempt += 1;
            vec![Effect::RevokeOld { attempt: w.attempt }]
        }
        (
            RevokeState::Offered
            | RevokeState::Failed(_)
            | RevokeState::Unavailable
            | RevokeState::Running
            | RevokeState::Revoked { .. },
            _,
        ) => vec![],
    }
}

pub(super) fn on_revoked(
    w: &mut Wizard,
    attempt: u64,
    result: Result<bool, Diagnosis>,
) -> Vec<Effect> {
    if attempt != w.attempt || w.step != Step::Done {
        return vec![];
    }
    if let Some(r) = w.reauth.as_mut()
        && r.revoke == RevokeState::Running
    {
        r.revoke = match result {
            Ok(known) => RevokeState::Revoked { known },
            Err(d) => RevokeState::Failed(d),
        };
    }
    vec![]
}
