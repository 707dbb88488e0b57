//! Pure transition tests of `zoho-auth reauth`: the check result lands the wizard on the step that
//! fixes it, with the rest prefilled. No IO, no async, no terminal.

#[path = "reauth_support/mod.rs"]
mod reauth_support;
#[path = "wizard_support/mod.rs"]
mod support;

use pretty_assertions::assert_eq;
use reauth_support::*;
use support::*;
use zoho_auth::auth::diagnosis::Code;
use zoho_auth::auth::{Dc, Product, Secret};
use zoho_auth::wizard::{
    CheckStage, ClientField, Effect, ExchangeRequest, Key, Msg, Prefill, RevokeState, ScopeRow,
    Seed, Step, Wizard, update,
};
use zoho_auth::wizard::{SPINNER_TICK, reauth_step};

/// The wizard after the diagnosis: the step it shows and where Enter goes.
fn diagnosed(code: Code) -> Wizard {
    let mut w = reauth();
    assert_eq!(
        check_answers(&mut w, code, Some(Product::Books)),
        vec![Effect::StopTimer]
    );
    assert_eq!(w.step, Step::Diagnose);
    w
}

fn assert_kept(w: &Wizard) {
    assert_eq!(w.dc.chosen, Dc::Eu);
    assert_eq!(w.client.id, ID);
    assert_eq!(w.client.secret, Secret::new(SECRET));
    assert_eq!(w.scopes.selected, vec![BOOKS.to_string()]);
}

// The check

#[test]
fn reauth_starts_by_checking_with_a_spinner() {
    let mut w = reauth();
    assert_eq!(w.step, Step::Diagnose);
    assert_eq!(
        w.start(t(0)),
        vec![
            Effect::StartTimer {
                every: SPINNER_TICK
            },
            Effect::Check {
                attempt: 1,
                product: None
            },
        ]
    );
    assert!(w.checking());
    update(
        &mut w,
        Msg::CheckProgress {
            attempt: 1,
            stage: CheckStage::Refreshing,
        },
    );
    update(
        &mut w,
        Msg::CheckProgress {
            attempt: 1,
            stage: CheckStage::Testing(Product::Books),
        },
    );
    let r = w.reauth.as_ref().unwrap();
    assert_eq!(
        r.stages,
        vec![CheckStage::Refreshing, CheckStage::Testing(Product::Books)]
    );
    // Keys do nothing while the check runs, except quitting (nothing was changed: 130).
    assert_eq!(key(&mut w, Key::Enter, 1), vec![]);
    assert_eq!(key(&mut w, Key::Char('q'), 1), vec![Effect::Quit(130)]);
}

#[test]
fn stale_check_results_are_ignored() {
    let mut w = reauth();
    w.start(t(0));
    let stale = 0;
    assert_eq!(
        update(
            &mut w,
            Msg::CheckProgress {
                attempt: stale,
                stage: CheckStage::Refreshing
            }
        ),
        vec![]
    );
    assert_eq!(
        update(
            &mut w,
            Msg::Checked {
                attempt: stale,
                result: result(Code::Ok, None)
            }
        ),
        vec![]
    );
    let r = w.reauth.as_ref().unwrap();
    assert!(r.stages.is_empty());
    assert!(r.result.is_none());
    assert!(w.checking());
}

#[test]
fn a_result_after_a_recheck_started_is_ignored() {
    let mut w = diagnosed(Code::Network);
    key(&mut w, Key::Char('r'), 5);
    assert_eq!(w.attempt, 2);
    assert_eq!(
        update(
            &mut w,
            Msg::Checked {
                attempt: 1,
                result: result(Code::Ok, None)
            }
        ),
        vec![]
    );
    assert!(w.checking());
}

// Each diagnosis lands on the step that fixes it.

#[test]
fn the_mapping_of_every_diagnosis() {
    use Step::*;
    let cases = [
        (Code::RefreshTokenRevoked, Some(GenerateCode)),
        (Code::TokenRejected, Some(GenerateCode)),
        (Code::NotOrgMember, Some(GenerateCode)),
        (Code::ScopeMissing, Some(Scopes)),
        (Code::InvalidClient, Some(DataCenter)),
        (Code::WrongDc, Some(DataCenter)),
        (Code::MissingCredentials, Some(DataCenter)),
        (Code::InvalidClientSecret, Some(Client)),
        (Code::Network, None),
        (Code::ServerError, None),
        (Code::RateLimited, None),
        (Code::Ok, None),
    ];
    for (code, step) in cases {
        assert_eq!(reauth_step(code), step, "{code:?}");
    }
}

#[test]
fn refresh_token_revoked_goes_to_generate_code_with_everything_kept() {
    let mut w = diagnosed(Code::RefreshTokenRevoked);
    assert_eq!(w.reauth.as_ref().unwrap().next, Some(Step::GenerateCode));
    assert_eq!(
        key(&mut w, Key::Enter, 2),
        vec![Effect::CopyToClipboard(BOOKS.into())]
    );
    assert_eq!(w.step, Step::GenerateCode);
    assert_kept(&w);
    assert_eq!(w.scopes.product, Some(Product::Books));
}

#[test]
fn token_rejected_goes_to_generate_code_with_everything_kept() {
    let mut w = diagnosed(Code::TokenRejected);
    assert_eq!(
        key(&mut w, Key::Enter, 2),
        vec![Effect::CopyToClipboard(BOOKS.into())]
    );
    assert_eq!(w.step, Step::GenerateCode);
    assert_kept(&w);
}

#[test]
fn a_revoked_token_with_no_scopes_in_the_file_goes_to_scopes_first() {
    let mut w = reauth_with(prefill(&[]), None);
    check_answers(&mut w, Code::RefreshTokenRevoked, None);
    assert_eq!(w.reauth.as_ref().unwrap().next, Some(Step::Scopes));
    assert_eq!(key(&mut w, Key::Enter, 2), vec![]);
    assert_eq!(w.step, Step::Scopes);
}

#[test]
fn scope_missing_goes_to_scopes_with_the_probe_scope_added_and_under_the_cursor() {
    let leads = "ZohoCRM.modules.leads.ALL";
    let mut w = reauth_with(prefill(&[leads]), None);
    check_answers(&mut w, Code::ScopeMissing, Some(Product::Crm));
    assert_eq!(w.reauth.as_ref().unwrap().next, Some(Step::Scopes));
    assert_eq!(key(&mut w, Key::Enter, 2), vec![]);
    assert_eq!(w.step, Step::Scopes);
    assert_eq!(
        w.scopes.selected,
        vec![leads.to_string(), "ZohoCRM.org.READ".into()]
    );
    assert_eq!(w.scopes.product, Some(Product::Crm));
    let r = w.reauth.as_ref().unwrap();
    assert_eq!(r.added_scope.as_deref(), Some("ZohoCRM.org.READ"));
    match w.scope_rows()[w.scopes.list.cursor] {
        ScopeRow::Scope(g, s) => assert_eq!(w.scopes.groups[g].scopes[s].name, "ZohoCRM.org.READ"),
        ScopeRow::Preset(i) => panic!("cursor on preset {i}"),
    }
    assert_eq!(w.scope_warning(), None);
    assert_eq!(w.dc.chosen, Dc::Eu);
    assert_eq!(w.client.id, ID);
    // Enter takes the selection as it stands to Generate code.
    assert_eq!(
        key(&mut w, Key::Enter, 3),
        vec![Effect::CopyToClipboard(format!("{leads},ZohoCRM.org.READ"))]
    );
}

#[test]
fn invalid_client_goes_to_the_data_center_step() {
    let mut w = diagnosed(Code::InvalidClient);
    assert_eq!(key(&mut w, Key::Enter, 2), vec![]);
    assert_eq!(w.step, Step::DataCenter);
    assert_eq!(w.dc_rows()[w.dc.list.cursor], Dc::Eu);
    assert_kept(&w);
}

#[test]
fn wrong_dc_goes_to_the_data_center_step_with_the_account_dc_under_the_cursor() {
    let mut w = diagnosed(Code::WrongDc);
    assert_eq!(key(&mut w, Key::Enter, 2), vec![]);
    assert_eq!(w.step, Step::DataCenter);
    assert_eq!(w.dc_rows()[w.dc.list.cursor], Dc::In);
    key(&mut w, Key::Enter, 3);
    assert_eq!((w.step, w.dc.chosen), (Step::Client, Dc::In));
    assert_eq!(w.client.id, ID);
    assert_eq!(w.scopes.selected, vec![BOOKS.to_string()]);
}

#[test]
fn invalid_client_secret_goes_to_the_client_step_with_the_secret_field_focused_and_empty() {
    let mut w = diagnosed(Code::InvalidClientSecret);
    assert_eq!(key(&mut w, Key::Enter, 2), vec![]);
    assert_eq!(w.step, Step::Client);
    assert_eq!(w.client.field, ClientField::Secret);
    assert!(w.client.secret.is_empty());
    assert_eq!(w.client.id, ID);
    let fresh_secret = "fedcba9876543210fedcba9876543210fedcba9876";
    paste(&mut w, fresh_secret, 3);
    assert_eq!(w.client.secret, Secret::new(fresh_secret));
    key(&mut w, Key::Enter, 3);
    assert_eq!(w.step, Step::Scopes);
    assert_eq!(w.scopes.selected, vec![BOOKS.to_string()]);
}

#[test]
fn missing_credentials_offers_the_normal_setup_from_the_data_center() {
    let mut w = reauth_with(
        Prefill {
            dc: None,
            ..Prefill::default()
        },
        None,
    );
    check_answers(&mut w, Code::MissingCredentials, None);
    assert_eq!(w.reauth.as_ref().unwrap().next, Some(Step::DataCenter));
    assert_eq!(key(&mut w, Key::Enter, 2), vec![]);
    assert_eq!(w.step, Step::DataCenter);
    key(&mut w, Key::Enter, 2);
    assert_eq!(w.step, Step::Client);
}

#[test]
fn network_server_error_and_rate_limited_stay_and_retry_without_writing() {
    for (code, exit) in [
        (Code::Network, 5),
        (Code::ServerError, 5),
        (Code::RateLimited, 6),
    ] {
        let mut w = diagnosed(code);
        let r = w.reauth.as_ref().unwrap();
        assert_eq!(r.next, None, "{code:?}");
        assert!(zoho_auth::wizard::retry_advice(code).is_some());
        let again = vec![
            Effect::StartTimer {
                every: SPINNER_TICK,
            },
            Effect::Check {
                attempt: 2,
                product: Some(Product::Books),
            },
        ];
        assert_eq!(key(&mut w, Key::Char('r'), 2), again, "{code:?}");
        assert_eq!(w.step, Step::Diagnose);
        let attempt = w.attempt;
        update(
            &mut w,
            Msg::Checked {
                attempt,
                result: result(code, Some(Product::Books)),
            },
        );
        // Enter retries too; nothing else happens on this screen.
        assert!(matches!(
            key(&mut w, Key::Enter, 3).last(),
            Some(Effect::Check { attempt: 3, .. })
        ));
        update(
            &mut w,
            Msg::Checked {
                attempt: 3,
                result: result(code, Some(Product::Books)),
            },
        );
        for k in [Key::Char('g'), Key::Char('p'), Key::Esc, Key::Tab] {
            assert_eq!(key(&mut w, k, 4), vec![], "{code:?} {k:?}");
        }
        assert_eq!(key(&mut w, Key::Char('q'), 5), vec![Effect::Quit(exit)]);
    }
}

#[test]
fn ok_says_so_and_offers_another_product_or_a_reissue() {
    let mut w = diagnosed(Code::Ok);
    assert_eq!(w.reauth.as_ref().unwrap().next, None);
    assert_eq!(
        key(&mut w, Key::Char('p'), 2),
        vec![
            Effect::StartTimer {
                every: SPINNER_TICK
            },
            Effect::Check {
                attempt: 2,
                product: Some(Product::Invoice)
            },
        ]
    );
    update(
        &mut w,
        Msg::Checked {
            attempt: 2,
            result: result(Code::Ok, Some(Product::Invoice)),
        },
    );
    assert_eq!(
        key(&mut w, Key::Char('g'), 3),
        vec![Effect::CopyToClipboard(BOOKS.into())]
    );
    assert_eq!(w.step, Step::GenerateCode);
    assert_eq!(w.scopes.product, Some(Product::Invoice));
    assert_kept(&w);

    let mut w = diagnosed(Code::Ok);
    assert_eq!(key(&mut w, Key::Enter, 2), vec![Effect::Quit(0)]);
    assert_eq!(key(&mut w, Key::Char('q'), 2), vec![Effect::Quit(0)]);
}

#[test]
fn the_seed_from_the_error_text_is_kept_beside_the_live_result() {
    let mut w = reauth_with(prefill(&[BOOKS]), Some(Seed::Read(Code::TokenRejected)));
    check_answers(&mut w, Code::RefreshTokenRevoked, None);
    let r = w.reauth.as_ref().unwrap();
    assert_eq!(r.seed, Some(Seed::Read(Code::TokenRejected)));
    assert_eq!(r.code(), Some(Code::RefreshTokenRevoked));
    // The live result decides where to go.
    assert_eq!(r.next, Some(Step::GenerateCode));
}

// The new token: verified before it is written; only then the old one may be revoked.

/// From the diagnosis to Done: Enter, the countdown, the paste, the verified exchange, the save.
fn through_to_done(w: &mut Wizard) {
    key(w, Key::Enter, 2);
    assert_eq!(w.step, Step::GenerateCode);
    key(w, Key::Enter, 10);
    let fx = paste(w, CODE, 20);
    assert_eq!(
        fx.last(),
        Some(&Effect::Exchange(ExchangeRequest {
            attempt: w.attempt,
            dc: Dc::Eu,
            client_id: ID.into(),
            client_secret: Secret::new(SECRET),
            code: Secret::new(CODE),
            scopes: vec![BOOKS.into()],
            product: Some(Product::Books),
            redirect_uri: None,
            accounts: None,
        }))
    );
    exchanged(w);
    assert_eq!(w.step, Step::LiveTest);
    key(w, Key::Enter, 30);
    let fx = key(w, Key::Enter, 31);
    assert!(matches!(fx.as_slice(), [Effect::WriteEnv(_)]), "{fx:?}");
    written(w);
    assert_eq!(w.step, Step::Done);
}

#[test]
fn after_the_save_the_superseded_token_can_be_revoked() {
    let mut w = diagnosed(Code::TokenRejected);
    through_to_done(&mut w);
    assert_eq!(w.reauth.as_ref().unwrap().revoke, RevokeState::Offered);
    let fx = key(&mut w, Key::Char('r'), 40);
    let attempt = w.attempt;
    assert_eq!(fx, vec![Effect::RevokeOld { attempt }]);
    assert_eq!(w.reauth.as_ref().unwrap().revoke, RevokeState::Running);
    assert_eq!(key(&mut w, Key::Char('r'), 40), vec![]);
    update(
        &mut w,
        Msg::RevokedOld {
            attempt,
            result: Ok(true),
        },
    );
    assert_eq!(
        w.reauth.as_ref().unwrap().revoke,
        RevokeState::Revoked { known: true }
    );
    assert_eq!(key(&mut w, Key::Enter, 41), vec![Effect::Quit(0)]);
}

#[test]
fn a_failed_revoke_can_be_retried_and_a_stale_answer_is_ignored() {
    let mut w = diagnosed(Code::NotOrgMember);
    through_to_done(&mut w);
    key(&mut w, Key::Char('r'), 40);
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::RevokedOld {
            attempt: attempt - 1,
            result: Ok(true),
        },
    );
    assert_eq!(w.reauth.as_ref().unwrap().revoke, RevokeState::Running);
    let d = diag(Code::Network);
    update(
        &mut w,
        Msg::RevokedOld {
            attempt,
            result: Err(d.clone()),
        },
    );
    assert_eq!(w.reauth.as_ref().unwrap().revoke, RevokeState::Failed(d));
    assert_eq!(
        key(&mut w, Key::Char('r'), 41),
        vec![Effect::RevokeOld {
            attempt: attempt + 1
        }]
    );
}

#[test]
fn a_dead_old_token_is_not_offered_for_revoking() {
    let mut w = diagnosed(Code::RefreshTokenRevoked);
    through_to_done(&mut w);
    assert_eq!(w.reauth.as_ref().unwrap().revoke, RevokeState::Unavailable);
    assert_eq!(key(&mut w, Key::Char('r'), 40), vec![]);
}

#[test]
fn nothing_is_revoked_or_written_before_the_new_token_is_saved() {
    let mut w = diagnosed(Code::TokenRejected);
    let mut all = vec![];
    all.extend(key(&mut w, Key::Char('r'), 1)); // on the diagnosis: checks again
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::Checked {
            attempt,
            result: result(Code::TokenRejected, Some(Product::Books)),
        },
    );
    all.extend(key(&mut w, Key::Enter, 2));
    all.extend(key(&mut w, Key::Char('r'), 2));
    all.extend(key(&mut w, Key::Enter, 10));
    all.extend(paste(&mut w, CODE, 20));
    let attempt = w.attempt;
    // The verification failed (the refresh of the new token, say): back to the step that fixes it.
    all.extend(update(
        &mut w,
        Msg::Exchanged {
            attempt,
            result: Err(diag(Code::RateLimited)),
        },
    ));
    all.extend(key(&mut w, Key::Enter, 21));
    all.extend(key(&mut w, Key::Char('r'), 22));
    all.extend(key(&mut w, Key::Char('q'), 23));
    assert!(
        all.iter()
            .all(|fx| !matches!(fx, Effect::RevokeOld { .. } | Effect::WriteEnv(_))),
        "{all:?}"
    );
    assert_eq!(all.last(), Some(&Effect::Quit(130)));
}

#[test]
fn the_configured_organization_is_preselected_after_the_exchange() {
    let mut w = diagnosed(Code::TokenRejected);
    w.ctx
        .env_existing
        .push(("ZOHO_ORGANIZATION_ID".into(), Secret::new("10234695")));
    key(&mut w, Key::Enter, 2);
    key(&mut w, Key::Enter, 10);
    paste(&mut w, CODE, 20);
    exchanged(&mut w);
    assert_eq!(w.picked_org().unwrap().id, "10234695");
}
