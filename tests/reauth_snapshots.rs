//! Snapshots of the reauth screens at 80x24 with a fixed `now`: the checking screen, each
//! diagnosis, the "nothing changed, retry" screen, the steps reauth enters at, and Done with the
//! revoke offer. Secrets never appear.

#[path = "reauth_support/mod.rs"]
mod reauth_support;
#[path = "wizard_support/mod.rs"]
mod support;

use reauth_support::*;
use support::*;
use zoho_auth::auth::Product;
use zoho_auth::auth::diagnosis::Code;
use zoho_auth::wizard::{
    CheckStage, Effect, Key, Msg, Prefill, RevokeState, Seed, Time, Wizard, update,
};

fn render(w: &Wizard, now: Time) -> String {
    render_without(
        w,
        now,
        80,
        24,
        &[SECRET, CODE, ACCESS, REFRESH, OLD_REFRESH],
    )
}

fn snap(name: &str, w: &Wizard, secs: u64) {
    insta::assert_snapshot!(name, render(w, t(secs)));
}

fn diagnosed_with(mut w: Wizard, code: Code, product: Option<Product>) -> Wizard {
    check_answers(&mut w, code, product);
    w
}

fn diagnosed(code: Code) -> Wizard {
    diagnosed_with(reauth(), code, Some(Product::Books))
}

#[test]
fn checking_screen() {
    let mut w = reauth_with(prefill(&[BOOKS]), Some(Seed::Read(Code::TokenRejected)));
    w.start(t(0));
    update(
        &mut w,
        Msg::CheckProgress {
            attempt: 1,
            stage: CheckStage::Refreshing,
        },
    );
    snap("reauth_checking", &w, 1);
}

#[test]
fn checking_screen_testing_the_product() {
    let mut w = reauth();
    w.start(t(0));
    for stage in [CheckStage::Refreshing, CheckStage::Testing(Product::Books)] {
        update(&mut w, Msg::CheckProgress { attempt: 1, stage });
    }
    snap("reauth_checking_testing", &w, 2);
}

#[test]
fn diagnosis_refresh_token_revoked() {
    snap(
        "reauth_diagnosis_refresh_token_revoked",
        &diagnosed(Code::RefreshTokenRevoked),
        3,
    );
}

#[test]
fn diagnosis_refresh_token_revoked_replacing_the_pasted_error() {
    let w = diagnosed_with(
        reauth_with(prefill(&[BOOKS]), Some(Seed::Read(Code::TokenRejected))),
        Code::RefreshTokenRevoked,
        None,
    );
    snap("reauth_diagnosis_replaces_the_seed", &w, 3);
}

#[test]
fn diagnosis_token_rejected_confirming_the_pasted_error() {
    let w = diagnosed_with(
        reauth_with(prefill(&[BOOKS]), Some(Seed::Read(Code::TokenRejected))),
        Code::TokenRejected,
        Some(Product::Books),
    );
    snap("reauth_diagnosis_token_rejected", &w, 3);
}

#[test]
fn diagnosis_scope_missing() {
    let w = diagnosed_with(
        reauth_with(prefill(&["ZohoCRM.modules.leads.ALL"]), None),
        Code::ScopeMissing,
        Some(Product::Crm),
    );
    snap("reauth_diagnosis_scope_missing", &w, 3);
}

#[test]
fn diagnosis_invalid_client() {
    snap(
        "reauth_diagnosis_invalid_client",
        &diagnosed(Code::InvalidClient),
        3,
    );
}

#[test]
fn diagnosis_wrong_dc() {
    snap("reauth_diagnosis_wrong_dc", &diagnosed(Code::WrongDc), 3);
}

#[test]
fn diagnosis_invalid_client_secret() {
    snap(
        "reauth_diagnosis_invalid_client_secret",
        &diagnosed(Code::InvalidClientSecret),
        3,
    );
}

#[test]
fn diagnosis_missing_credentials() {
    let w = diagnosed_with(
        reauth_with(
            Prefill {
                dc: None,
                ..Prefill::default()
            },
            None,
        ),
        Code::MissingCredentials,
        None,
    );
    snap("reauth_diagnosis_missing_credentials", &w, 3);
}

#[test]
fn diagnosis_ok() {
    snap("reauth_diagnosis_ok", &diagnosed(Code::Ok), 3);
}

#[test]
fn diagnosis_ok_although_an_error_was_pasted() {
    let w = diagnosed_with(
        reauth_with(prefill(&[BOOKS]), Some(Seed::Read(Code::TokenRejected))),
        Code::Ok,
        Some(Product::Books),
    );
    snap("reauth_diagnosis_ok_seed_differs", &w, 3);
}

#[test]
fn nothing_changed_retry_network() {
    snap("reauth_retry_network", &diagnosed(Code::Network), 3);
}

#[test]
fn nothing_changed_retry_rate_limited() {
    snap(
        "reauth_retry_rate_limited",
        &diagnosed(Code::RateLimited),
        3,
    );
}

#[test]
fn nothing_changed_retry_server_error() {
    snap(
        "reauth_retry_server_error",
        &diagnosed(Code::ServerError),
        3,
    );
}

#[test]
fn entered_at_generate_code_with_the_refresh_token_warning() {
    let mut w = diagnosed(Code::RefreshTokenRevoked);
    key(&mut w, Key::Enter, 4);
    update(&mut w, Msg::Copied(zoho_auth::wizard::CopyOutcome::System));
    let text = render(&w, t(4));
    assert!(
        text.contains("Zoho keeps at most 20 refresh tokens"),
        "{text}"
    );
    snap("reauth_entered_generate_code", &w, 4);
}

#[test]
fn entered_at_scopes_with_the_missing_scope_marked() {
    let mut w = diagnosed_with(
        reauth_with(prefill(&["ZohoCRM.modules.leads.ALL"]), None),
        Code::ScopeMissing,
        Some(Product::Crm),
    );
    key(&mut w, Key::Enter, 4);
    snap("reauth_entered_scopes", &w, 4);
}

#[test]
fn entered_at_client_with_the_secret_focused() {
    let mut w = diagnosed(Code::InvalidClientSecret);
    key(&mut w, Key::Enter, 4);
    snap("reauth_entered_client", &w, 4);
}

#[test]
fn exchange_running_says_the_refresh_is_verified_too() {
    let mut w = diagnosed(Code::RefreshTokenRevoked);
    key(&mut w, Key::Enter, 4);
    key(&mut w, Key::Enter, 10);
    paste(&mut w, CODE, 20);
    snap("reauth_exchange_running", &w, 21);
}

fn done(code: Code) -> Wizard {
    let mut w = diagnosed(code);
    key(&mut w, Key::Enter, 4);
    key(&mut w, Key::Enter, 10);
    paste(&mut w, CODE, 20);
    exchanged(&mut w);
    key(&mut w, Key::Enter, 30);
    key(&mut w, Key::Enter, 31);
    written(&mut w);
    w
}

#[test]
fn done_offers_to_revoke_the_old_token() {
    let w = done(Code::TokenRejected);
    assert_eq!(w.reauth.as_ref().unwrap().revoke, RevokeState::Offered);
    snap("reauth_done_revoke_offered", &w, 40);
}

#[test]
fn done_after_the_revoke() {
    let mut w = done(Code::TokenRejected);
    let fx = key(&mut w, Key::Char('r'), 40);
    let Some(Effect::RevokeOld { attempt }) = fx.last().cloned() else {
        panic!("{fx:?}")
    };
    update(
        &mut w,
        Msg::RevokedOld {
            attempt,
            result: Ok(true),
        },
    );
    snap("reauth_done_revoked", &w, 41);
}

#[test]
fn done_when_the_old_token_was_already_dead() {
    snap(
        "reauth_done_old_token_dead",
        &done(Code::RefreshTokenRevoked),
        40,
    );
}
