//! Pure transition tests of `wizard::update`. No IO, no async, no terminal.

#[path = "wizard_support/mod.rs"]
mod support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use support::*;
use zoho_auth::auth::diagnosis::Code;
use zoho_auth::auth::{Dc, Product, Secret};
use zoho_auth::wizard::{
    ClientField, CopyOutcome, DcSource, Effect, EnvValue, ExchangeRequest, ExchangeState, Key, Msg,
    Prefill, SaveState, Step, Wizard, WriteRequest, update,
};

fn exchange_effect(attempt: u64, dc: Dc) -> Effect {
    Effect::Exchange(ExchangeRequest {
        attempt,
        dc,
        client_id: ID.into(),
        client_secret: Secret::new(SECRET),
        code: Secret::new(CODE),
        scopes: vec!["ZohoBooks.fullaccess.all".into()],
        product: Some(Product::Books),
        redirect_uri: None,
        accounts: None,
    })
}

// 1. Data center

#[test]
fn dc_step_is_first_and_preselected_from_the_time_zone() {
    let mut w = fresh();
    assert_eq!(w.step, Step::DataCenter);
    assert_eq!(w.start(t(0)), vec![]);
    assert_eq!(w.dc_rows()[w.dc.list.cursor], Dc::Eu);
    assert_eq!(key(&mut w, Key::Enter, 0), vec![]);
    assert_eq!((w.step, w.dc.chosen), (Step::Client, Dc::Eu));
}

#[test]
fn dc_step_moves_with_arrows_and_jk() {
    let mut w = fresh();
    key(&mut w, Key::Char('j'), 0);
    key(&mut w, Key::Down, 0);
    key(&mut w, Key::Char('k'), 0);
    assert_eq!(w.dc_rows()[w.dc.list.cursor], Dc::In);
    key(&mut w, Key::Enter, 0);
    assert_eq!(w.dc.chosen, Dc::In);
}

#[test]
fn dc_filter_takes_q_as_text_and_shows_no_match() {
    let mut w = fresh();
    key(&mut w, Key::Char('/'), 0);
    assert_eq!(key(&mut w, Key::Char('q'), 0), vec![]);
    assert!(w.dc_rows().is_empty());
    assert_eq!(key(&mut w, Key::Enter, 0), vec![]);
    assert_eq!(w.step, Step::DataCenter);
    key(&mut w, Key::Char('/'), 0);
    key(&mut w, Key::Esc, 0);
    assert_eq!(w.dc.list.filter, "");
    typed(&mut w, "/cloud", 0);
    assert_eq!(w.dc_rows(), vec![Dc::Ca]);
    key(&mut w, Key::Enter, 0); // keep the filter
    key(&mut w, Key::Enter, 0); // choose
    assert_eq!((w.step, w.dc.chosen), (Step::Client, Dc::Ca));
}

#[test]
fn q_quits_outside_fields_and_ctrl_c_everywhere() {
    let mut w = fresh();
    assert_eq!(key(&mut w, Key::Char('q'), 0), vec![Effect::Quit(130)]);
    let mut w = at_client();
    assert_eq!(key(&mut w, Key::Char('q'), 0), vec![]);
    assert_eq!(w.client.id, "q");
    assert_eq!(key(&mut w, Key::Ctrl('c'), 0), vec![Effect::Quit(130)]);
}

// 2. Client

#[test]
fn client_is_validated_by_shape_before_anything_is_sent() {
    let mut w = at_client();
    typed(&mut w, "hello", 0);
    assert_eq!(key(&mut w, Key::Enter, 0), vec![]);
    assert_eq!(w.step, Step::Client);
    assert!(
        w.client
            .error
            .as_deref()
            .unwrap()
            .starts_with("The client id does not look right")
    );
    key(&mut w, Key::Ctrl('u'), 0);
    typed(&mut w, ID, 0);
    key(&mut w, Key::Enter, 0);
    assert_eq!(
        (w.step, w.client.field),
        (Step::Client, ClientField::Secret)
    );
    assert_eq!(w.client.error, None);
    paste(&mut w, CODE, 0);
    assert!(
        w.client
            .error
            .as_deref()
            .unwrap()
            .contains("not a client secret")
    );
    paste(&mut w, &format!("  \"{SECRET}\"\n"), 0);
    assert_eq!(key(&mut w, Key::Enter, 0), vec![]);
    assert_eq!(w.step, Step::Scopes);
    assert_eq!(w.client.secret.expose(), SECRET);
}

#[test]
fn client_imports_a_self_client_json_paste() {
    let mut w = at_client();
    let json = format!(
        r#"{{"client_id":"{ID}","client_secret":"{SECRET}","code":"{CODE}","grant_type":"authorization_code","scope":["ZohoBooks.fullaccess.all"],"expiry_time":1700000000000}}"#
    );
    paste(&mut w, &json, 0);
    assert_eq!(w.client.id, ID);
    assert_eq!(w.client.secret.expose(), SECRET);
    assert_eq!(w.client.source.as_deref(), Some("self_client.json"));
}

#[test]
fn esc_goes_back_and_keeps_what_was_entered() {
    let mut w = at_scopes();
    key(&mut w, Key::Char(' '), 0);
    assert_eq!(key(&mut w, Key::Esc, 0), vec![]);
    assert_eq!(w.step, Step::Client);
    assert_eq!(key(&mut w, Key::Esc, 0), vec![]);
    assert_eq!(w.step, Step::DataCenter);
    key(&mut w, Key::Enter, 0);
    assert_eq!(
        (w.client.id.as_str(), w.client.secret.expose()),
        (ID, SECRET)
    );
    key(&mut w, Key::Enter, 0);
    assert_eq!(w.step, Step::Scopes);
    assert_eq!(
        w.scopes.selected,
        vec!["ZohoBooks.fullaccess.all".to_string()]
    );
}

// 3. Scopes

#[test]
fn enter_on_an_empty_selection_takes_the_preset_under_the_cursor() {
    let mut w = at_scopes();
    assert_eq!(
        key(&mut w, Key::Enter, 0),
        vec![Effect::CopyToClipboard("ZohoBooks.fullaccess.all".into())]
    );
    assert_eq!(w.step, Step::GenerateCode);
    assert_eq!(w.probe_product(), Some(Product::Books));
}

#[test]
fn scopes_toggle_filter_and_live_string() {
    let mut w = at_scopes();
    typed(&mut w, "/modules.leads.all", 0);
    key(&mut w, Key::Enter, 0);
    // The CRM preset first, then ZohoCRM.modules.leads.ALL.
    key(&mut w, Key::Char('j'), 0);
    key(&mut w, Key::Char(' '), 0);
    assert_eq!(w.scope_string(), "ZohoCRM.modules.leads.ALL");
    key(&mut w, Key::Esc, 0); // clears the filter, stays
    assert_eq!((w.step, w.scopes.list.filter.as_str()), (Step::Scopes, ""));
    typed(&mut w, "/banking.read", 0);
    key(&mut w, Key::Enter, 0);
    // The "Books: read only" preset first (it holds the scope), then the scope itself.
    key(&mut w, Key::Down, 0);
    key(&mut w, Key::Char(' '), 0);
    assert_eq!(
        w.scope_string(),
        "ZohoCRM.modules.leads.ALL,ZohoBooks.banking.READ"
    );
    key(&mut w, Key::Char(' '), 0);
    assert_eq!(w.scope_string(), "ZohoCRM.modules.leads.ALL");
}

#[test]
fn scopes_filter_without_match_selects_nothing() {
    let mut w = at_scopes();
    typed(&mut w, "/nothing-like-this", 0);
    assert!(w.scope_rows().is_empty());
    key(&mut w, Key::Enter, 0);
    assert_eq!(key(&mut w, Key::Enter, 0), vec![]);
    assert_eq!(w.step, Step::Scopes);
    assert!(w.scopes.selected.is_empty());
}

#[test]
fn scopes_warn_when_the_product_probe_cannot_pass() {
    let mut w = at_scopes();
    typed(&mut w, "/leads", 0);
    key(&mut w, Key::Enter, 0);
    key(&mut w, Key::Char('j'), 0);
    key(&mut w, Key::Char(' '), 0);
    assert!(
        w.scope_warning()
            .unwrap()
            .contains("live test will be skipped")
    );
    key(&mut w, Key::Char('p'), 0); // Books
    assert_eq!(w.scopes.product, Some(Product::Books));
    assert_eq!(
        w.scope_warning().unwrap(),
        "These scopes cannot pass the Zoho Books live test: add ZohoBooks.settings.READ."
    );
}

// 4. Generate code

#[test]
fn generate_starts_the_countdown_with_the_chosen_expiry() {
    let mut w = at_generate();
    key(&mut w, Key::Char('5'), 0);
    key(&mut w, Key::Right, 0);
    key(&mut w, Key::Left, 0);
    assert_eq!(
        key(&mut w, Key::Enter, 10),
        vec![Effect::StartTimer {
            every: Duration::from_secs(1)
        }]
    );
    assert_eq!(w.step, Step::PasteCode);
    assert_eq!(w.paste.expires_at, Some(t(10 + 300)));
    assert_eq!(w.remaining(t(70)), Some(Duration::from_secs(240)));
}

#[test]
fn generate_opens_the_console_only_where_a_browser_can_open() {
    let mut w = at_generate();
    assert_eq!(key(&mut w, Key::Char('o'), 0), vec![]);
    assert_eq!(w.generate.opened, Some(false));
    w.ctx.can_open_browser = true;
    assert_eq!(
        key(&mut w, Key::Char('o'), 0),
        vec![Effect::OpenUrl("https://api-console.zoho.eu/".into())]
    );
    update(&mut w, Msg::Opened { ok: true });
    assert_eq!(w.generate.opened, Some(true));
    update(&mut w, Msg::Copied(CopyOutcome::Unavailable));
    assert_eq!(w.generate.copied, Some(CopyOutcome::Unavailable));
    assert_eq!(
        key(&mut w, Key::Char('c'), 0),
        vec![Effect::CopyToClipboard("ZohoBooks.fullaccess.all".into())]
    );
    assert_eq!(key(&mut w, Key::Esc, 0), vec![]);
    assert_eq!(w.step, Step::Scopes);
}

// 5. Paste code

#[test]
fn a_pasted_code_is_sent_at_once() {
    let mut w = at_paste();
    assert_eq!(
        paste(&mut w, &format!("  '{CODE}'\r\n"), 40),
        vec![
            Effect::StartTimer {
                every: Duration::from_millis(250)
            },
            exchange_effect(1, Dc::Eu),
        ]
    );
    assert_eq!(w.step, Step::Exchange);
}

#[test]
fn a_redirect_url_paste_takes_the_code_and_its_dc() {
    let mut w = at_paste();
    let url = format!(
        "https://www.google.com/?state=x&code={CODE}&location=in&accounts-server=https%3A%2F%2Faccounts.zoho.in&"
    );
    let fx = paste(&mut w, &url, 40);
    assert_eq!(fx[1], exchange_effect(1, Dc::In));
    assert_eq!(w.paste.dc, Some(Dc::In));
}

#[test]
fn the_wrong_kind_of_paste_is_named_and_not_sent() {
    let mut w = at_paste();
    assert_eq!(paste(&mut w, SECRET, 20), vec![]);
    assert_eq!(w.step, Step::PasteCode);
    assert_eq!(
        w.paste.error.as_deref(),
        Some(
            "That is a client secret, not a code. Paste the code the API console generated: it looks like 1000.<32 characters>.<32 characters>."
        )
    );
    assert_eq!(paste(&mut w, ID, 20), vec![]);
    assert!(w.paste.error.as_deref().unwrap().contains("client id"));
}

#[test]
fn a_typed_code_is_sent_with_enter() {
    let mut w = at_paste();
    typed(&mut w, CODE, 30);
    let fx = key(&mut w, Key::Enter, 30);
    assert_eq!(fx.last(), Some(&exchange_effect(1, Dc::Eu)));
}

#[test]
fn at_expiry_the_dead_code_is_not_sent_and_regenerate_keeps_the_scopes() {
    let mut w = at_paste();
    assert_eq!(update(&mut w, Msg::Tick { now: t(189) }).len(), 1); // a poll
    assert_eq!(
        update(&mut w, Msg::Tick { now: t(190) }),
        vec![Effect::StopTimer]
    );
    assert!(w.paste.expired);
    assert!(!w.typing());
    assert_eq!(paste(&mut w, CODE, 191), vec![]);
    assert_eq!(w.step, Step::PasteCode);
    assert_eq!(
        update(
            &mut w,
            Msg::Clipboard {
                text: Some(CODE.into()),
                now: t(192)
            }
        ),
        vec![]
    );
    assert_eq!(
        key(&mut w, Key::Enter, 200),
        vec![Effect::CopyToClipboard("ZohoBooks.fullaccess.all".into())]
    );
    assert_eq!(w.step, Step::GenerateCode);
    assert!(!w.paste.expired);
}

#[test]
fn a_paste_after_the_deadline_but_before_the_tick_is_not_sent() {
    let mut w = at_paste();
    assert_eq!(paste(&mut w, CODE, 500), vec![Effect::StopTimer]);
    assert!(w.paste.expired);
    assert_eq!(w.attempt, 0);
}

#[test]
fn the_clipboard_is_polled_at_most_once_a_second_and_a_code_is_taken() {
    let mut w = at_paste();
    assert_eq!(
        update(&mut w, Msg::Tick { now: t(11) }),
        vec![Effect::PollClipboard]
    );
    assert_eq!(
        update(
            &mut w,
            Msg::Tick {
                now: zoho_auth::wizard::Time(11_500)
            }
        ),
        vec![]
    );
    assert_eq!(
        update(
            &mut w,
            Msg::Clipboard {
                text: Some("ZohoBooks.fullaccess.all".into()),
                now: t(11)
            }
        ),
        vec![]
    );
    assert_eq!(
        update(&mut w, Msg::Tick { now: t(12) }),
        vec![Effect::PollClipboard]
    );
    let fx = update(
        &mut w,
        Msg::Clipboard {
            text: Some(format!("{CODE}\n")),
            now: t(12),
        },
    );
    assert_eq!(fx.last(), Some(&exchange_effect(1, Dc::Eu)));
}

#[test]
fn the_sandbox_mints_the_code() {
    let mut w = at_generate();
    w.ctx.sandbox = true;
    assert_eq!(
        key(&mut w, Key::Char('m'), 10),
        vec![
            Effect::StartTimer {
                every: Duration::from_secs(1)
            },
            Effect::MintSandboxCode {
                attempt: 1,
                scopes: vec!["ZohoBooks.fullaccess.all".into()],
                minutes: 3
            }
        ]
    );
    assert_eq!(update(&mut w, Msg::Tick { now: t(11) }), vec![]); // no poll while minting
    let fx = update(
        &mut w,
        Msg::SandboxCode {
            attempt: 1,
            result: Ok(Secret::new(CODE)),
            now: t(12),
        },
    );
    // Issue 13 item 4: the code waits on the Paste screen (countdown and code shown); Enter
    // exchanges it.
    assert_eq!(fx, vec![]);
    assert_eq!(w.step, Step::PasteCode);
    assert_eq!(w.paste.code_input.expose(), CODE);
    assert_eq!(
        key(&mut w, Key::Enter, 13).last(),
        Some(&exchange_effect(2, Dc::Eu))
    );
}

// 6. Exchange

#[test]
fn a_stale_exchange_result_is_ignored() {
    let mut w = at_exchange();
    assert_eq!(
        key(&mut w, Key::Esc, 41),
        vec![Effect::StartTimer {
            every: Duration::from_secs(1)
        }]
    );
    assert_eq!(w.step, Step::PasteCode);
    let before = w.clone();
    assert_eq!(
        update(
            &mut w,
            Msg::Exchanged {
                attempt: 1,
                result: Ok(outcome())
            }
        ),
        vec![]
    );
    assert_eq!(w, before);
}

#[test]
fn a_verified_exchange_goes_to_the_live_test_with_the_default_org() {
    let mut w = at_exchange();
    assert_eq!(
        update(
            &mut w,
            Msg::Exchanged {
                attempt: 1,
                result: Ok(outcome())
            }
        ),
        vec![Effect::StopTimer]
    );
    assert_eq!(w.step, Step::LiveTest);
    assert_eq!(w.picked_org().unwrap().name, "Zillum GmbH");
    key(&mut w, Key::Char('k'), 45);
    assert_eq!(w.picked_org().unwrap().id, "10234695");
}

#[test]
fn invalid_code_before_expiry_offers_the_other_dcs() {
    let mut w = at_exchange();
    let fx = update(
        &mut w,
        Msg::Exchanged {
            attempt: 1,
            result: Err(diag(Code::InvalidCode)),
        },
    );
    assert_eq!(fx, vec![Effect::StopTimer]);
    assert!(matches!(
        w.exchange.state,
        ExchangeState::Failed {
            before_expiry: true,
            ..
        }
    ));
    assert!(zoho_auth::wizard::can_try_other_dcs(&w));
    // d: the same code goes to the next DC (US, since EU was tried).
    let fx = key(&mut w, Key::Char('d'), 42);
    assert_eq!(
        fx,
        vec![
            Effect::StartTimer {
                every: Duration::from_millis(250)
            },
            exchange_effect(2, Dc::Us)
        ]
    );
    // US says invalid_code too: IN is tried without a key.
    let fx = update(
        &mut w,
        Msg::Exchanged {
            attempt: 2,
            result: Err(diag(Code::InvalidCode)),
        },
    );
    assert_eq!(fx, vec![exchange_effect(3, Dc::In)]);
    update(
        &mut w,
        Msg::Exchanged {
            attempt: 3,
            result: Ok(outcome()),
        },
    );
    assert_eq!(w.step, Step::LiveTest);
    assert_eq!(w.dc_switched, Some(Dc::In));
    assert_eq!(w.accounts_url(), "https://accounts.zoho.in");
}

#[test]
fn invalid_code_in_every_dc_says_so_and_enter_regenerates() {
    let mut w = at_exchange();
    update(
        &mut w,
        Msg::Exchanged {
            attempt: 1,
            result: Err(diag(Code::InvalidCode)),
        },
    );
    key(&mut w, Key::Char('d'), 42);
    for _ in 0..8 {
        exchange_failed(&mut w, Code::InvalidCode);
    }
    assert!(matches!(w.exchange.state, ExchangeState::Failed { .. }));
    assert!(w.exchange.tried_other_dcs);
    assert!(!zoho_auth::wizard::can_try_other_dcs(&w));
    assert_eq!(key(&mut w, Key::Char('d'), 50), vec![]);
    assert_eq!(
        key(&mut w, Key::Enter, 50),
        vec![Effect::CopyToClipboard("ZohoBooks.fullaccess.all".into())]
    );
    assert_eq!(w.step, Step::GenerateCode);
}

/// Leaving the Exchange step for a fix drops the running request and the queue, but the same
/// code, sent again from the paste field, is not offered to the other DCs a second time.
#[test]
fn the_same_code_is_not_tried_in_the_other_dcs_twice() {
    let mut w = at_exchange();
    exchange_failed(&mut w, Code::InvalidCode);
    key(&mut w, Key::Char('d'), 42);
    for _ in 0..8 {
        exchange_failed(&mut w, Code::InvalidCode);
    }
    assert!(w.exchange.tried_other_dcs);
    key(&mut w, Key::Esc, 50);
    assert_eq!(w.step, Step::PasteCode);
    assert_eq!(w.exchange.state, ExchangeState::Idle);
    assert!(w.exchange.dc_queue.is_empty());
    paste(&mut w, CODE, 55);
    assert_eq!(w.step, Step::Exchange);
    exchange_failed(&mut w, Code::InvalidCode);
    assert!(!zoho_auth::wizard::can_try_other_dcs(&w));
    assert_eq!(key(&mut w, Key::Char('d'), 60), vec![]);
}

#[test]
fn each_diagnosis_has_a_key_to_the_step_that_fixes_it() {
    let cases = [
        (Code::ScopeMissing, Step::Scopes),
        (Code::InvalidClientSecret, Step::Client),
        (Code::InvalidClient, Step::DataCenter),
        (Code::WrongDc, Step::DataCenter),
        (Code::InvalidRedirectUri, Step::Client),
        (Code::TokenRejected, Step::GenerateCode),
        (Code::NotOrgMember, Step::GenerateCode),
        (Code::Network, Step::GenerateCode),
        (Code::ServerError, Step::GenerateCode),
        (Code::RateLimited, Step::GenerateCode),
        (Code::BadInput, Step::PasteCode),
    ];
    for (code, step) in cases {
        let mut w = at_exchange();
        update(
            &mut w,
            Msg::Exchanged {
                attempt: 1,
                result: Err(diag(code)),
            },
        );
        assert_eq!(w.step, Step::Exchange, "{code:?}");
        assert!(!zoho_auth::wizard::can_try_other_dcs(&w), "{code:?}");
        key(&mut w, Key::Enter, 45);
        assert_eq!(w.step, step, "{code:?}");
    }
}

#[test]
fn scope_missing_goes_back_to_scopes_with_the_selection_kept() {
    let mut w = at_exchange();
    update(
        &mut w,
        Msg::Exchanged {
            attempt: 1,
            result: Err(diag(Code::ScopeMissing)),
        },
    );
    assert_eq!(key(&mut w, Key::Char('s'), 45), vec![]);
    assert_eq!(w.step, Step::Scopes);
    assert_eq!(
        w.scopes.selected,
        vec!["ZohoBooks.fullaccess.all".to_string()]
    );
    assert_eq!(w.scopes.product, Some(Product::Books));
}

// 8. Save and 9. Done

fn expected_updates() -> Vec<(String, EnvValue)> {
    let p = |k: &str, v: &str| (k.to_string(), EnvValue::Plain(v.to_string()));
    vec![
        p("ZOHO_CLIENT_ID", ID),
        (
            "ZOHO_CLIENT_SECRET".into(),
            EnvValue::Secret(Secret::new(SECRET)),
        ),
        (
            "ZOHO_REFRESH_TOKEN".into(),
            EnvValue::Secret(Secret::new(REFRESH)),
        ),
        p("ZOHO_DC", "eu"),
        p("ZOHO_ACCOUNTS_URL", "https://accounts.zoho.eu"),
        p("ZOHO_API_DOMAIN", "https://www.zohoapis.eu"),
        p("ZOHO_SCOPES", "ZohoBooks.fullaccess.all"),
        p("ZOHO_ORGANIZATION_ID", "20234696"),
    ]
}

#[test]
fn save_writes_the_env_file_and_done_quits_cleanly() {
    let mut w = at_save();
    assert_eq!(
        key(&mut w, Key::Enter, 55),
        vec![Effect::WriteEnv(WriteRequest {
            attempt: 2,
            updates: expected_updates(),
            keychain: vec![],
            client_id: ID.into(),
            add_to_gitignore: true,
            expected_refresh: None,
        })]
    );
    assert_eq!(w.save.state, SaveState::Writing);
    assert_eq!(key(&mut w, Key::Char('q'), 55), vec![Effect::Quit(130)]);
    update(
        &mut w,
        Msg::Written {
            attempt: 2,
            result: Ok(report()),
        },
    );
    assert_eq!(w.step, Step::Done);
    assert_eq!(key(&mut w, Key::Esc, 60), vec![]);
    assert_eq!(key(&mut w, Key::Enter, 60), vec![Effect::Quit(0)]);
}

#[test]
fn a_failed_write_is_shown_and_retried_and_a_stale_answer_is_ignored() {
    let mut w = at_save();
    key(&mut w, Key::Enter, 55);
    update(
        &mut w,
        Msg::Written {
            attempt: 2,
            result: Err("permission denied: /home/dev/app/.env".into()),
        },
    );
    assert_eq!(
        w.save.state,
        SaveState::Failed("permission denied: /home/dev/app/.env".into())
    );
    let fx = key(&mut w, Key::Enter, 56);
    assert!(matches!(&fx[..], [Effect::WriteEnv(r)] if r.attempt == 3));
    update(
        &mut w,
        Msg::Written {
            attempt: 2,
            result: Ok(report()),
        },
    );
    assert_eq!(
        (w.step, w.save.state.clone()),
        (Step::Save, SaveState::Writing)
    );
}

#[test]
fn the_keychain_option_moves_the_secrets_out_of_the_file() {
    let mut w = at_save();
    key(&mut w, Key::Char(' '), 55); // keychain on
    key(&mut w, Key::Char('j'), 55);
    key(&mut w, Key::Char(' '), 55); // .gitignore off
    let fx = key(&mut w, Key::Enter, 55);
    let Effect::WriteEnv(req) = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(
        req.updates[1],
        ("ZOHO_CLIENT_SECRET".into(), EnvValue::Remove)
    );
    assert_eq!(
        req.updates[2],
        ("ZOHO_REFRESH_TOKEN".into(), EnvValue::Remove)
    );
    assert_eq!(
        req.updates[3],
        (
            "ZOHO_SECRET_STORE".into(),
            EnvValue::Plain("keychain".into())
        )
    );
    assert_eq!(
        req.keychain,
        vec![
            ("ZOHO_CLIENT_SECRET".to_string(), Secret::new(SECRET)),
            ("ZOHO_REFRESH_TOKEN".to_string(), Secret::new(REFRESH)),
        ]
    );
    assert!(!req.add_to_gitignore);
}

/// Issue 11 item 5: a keychain that cannot be written fails closed; `f` on the error screen is
/// the explicit choice of the env file, and only then do the secrets go there.
#[test]
fn a_failed_keychain_save_offers_the_file_only_as_an_explicit_choice() {
    let mut w = at_save();
    key(&mut w, Key::Char(' '), 55); // keychain on
    let fx = key(&mut w, Key::Enter, 55);
    assert!(matches!(&fx[..], [Effect::WriteEnv(req)] if !req.keychain.is_empty()));
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::Written {
            attempt,
            result: Err("the OS keychain is not available".into()),
        },
    );
    assert!(matches!(w.save.state, SaveState::Failed(_)));
    // Enter retries the keychain, nothing else.
    let fx = key(&mut w, Key::Enter, 56);
    assert!(matches!(&fx[..], [Effect::WriteEnv(req)] if !req.keychain.is_empty()));
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::Written {
            attempt,
            result: Err("the OS keychain is not available".into()),
        },
    );
    let fx = key(&mut w, Key::Char('f'), 57);
    let [Effect::WriteEnv(req)] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert!(req.keychain.is_empty());
    assert_eq!(
        req.updates[1],
        (
            "ZOHO_CLIENT_SECRET".into(),
            EnvValue::Secret(Secret::new(SECRET))
        )
    );
    assert!(!w.save.use_keychain);
}

#[test]
fn with_an_accounts_override_zoho_dc_is_written_only_when_known() {
    let mut w = at_live_test();
    w.ctx.accounts_override = Some("http://127.0.0.1:9000".into());
    let mut o = outcome();
    o.api_domain = "http://127.0.0.1:9000".into();
    w.live.outcome = Some(o);
    let keys: Vec<String> = w.env_updates().into_iter().map(|(k, _)| k).collect();
    assert!(!keys.contains(&"ZOHO_DC".to_string()));
    w.ctx.dc_flag = Some(Dc::Eu);
    assert_eq!(w.known_dc(), Some(Dc::Eu));
}

// Reauth and key count

#[test]
fn reauth_can_enter_at_generate_code_prefilled() {
    let prefill = Prefill {
        dc: Some((Dc::In, DcSource::EnvFile)),
        client_id: Some(ID.into()),
        client_secret: Some(Secret::new(SECRET)),
        client_source: Some("the env file".into()),
        scopes: vec!["ZohoBooks.fullaccess.all".into()],
        product: Some(Product::Books),
        start_at: Step::GenerateCode,
        focus_secret: false,
        banner: Some(diag(Code::RefreshTokenRevoked)),
    };
    let mut w = Wizard::new(prefill, ctx());
    assert_eq!(
        w.start(t(0)),
        vec![Effect::CopyToClipboard("ZohoBooks.fullaccess.all".into())]
    );
    assert_eq!(w.step, Step::GenerateCode);
    key(&mut w, Key::Enter, 1);
    let fx = paste(&mut w, CODE, 5);
    assert_eq!(
        fx.last(),
        Some(&Effect::Exchange(ExchangeRequest {
            attempt: 1,
            dc: Dc::In,
            client_id: ID.into(),
            client_secret: Secret::new(SECRET),
            code: Secret::new(CODE),
            scopes: vec!["ZohoBooks.fullaccess.all".into()],
            product: Some(Product::Books),
            redirect_uri: None,
            accounts: None,
        }))
    );
}

#[test]
fn reauth_can_enter_at_the_client_step_with_the_secret_focused() {
    let prefill = Prefill {
        client_id: Some(ID.into()),
        start_at: Step::Client,
        focus_secret: true,
        ..Prefill::default()
    };
    let w = Wizard::new(prefill, ctx());
    assert_eq!(
        (w.step, w.client.field),
        (Step::Client, ClientField::Secret)
    );
}

#[test]
fn a_first_time_setup_takes_few_keys_and_one_paste() {
    let prefill = Prefill {
        dc: Some((Dc::Eu, DcSource::TimeZone)),
        client_id: Some(ID.into()),
        client_secret: Some(Secret::new(SECRET)),
        client_source: Some("the sandbox".into()),
        ..Prefill::default()
    };
    let mut w = Wizard::new(prefill, ctx());
    let mut keys = 0;
    let mut press = |w: &mut Wizard, k: Key| {
        keys += 1;
        key(w, k, 20)
    };
    press(&mut w, Key::Enter); // DC
    press(&mut w, Key::Enter); // client
    press(&mut w, Key::Enter); // preset
    press(&mut w, Key::Enter); // 3 minutes
    paste(&mut w, CODE, 25);
    exchanged(&mut w);
    press(&mut w, Key::Enter); // org
    let fx = press(&mut w, Key::Enter); // write
    assert!(matches!(fx[..], [Effect::WriteEnv(_)]));
    written(&mut w);
    let fx = press(&mut w, Key::Enter);
    assert_eq!(fx, vec![Effect::Quit(0)]);
    assert_eq!(keys, 7);
}

#[test]
fn resize_is_recorded() {
    let mut w = fresh();
    assert_eq!(update(&mut w, Msg::Resize { cols: 70, rows: 20 }), vec![]);
    assert_eq!(w.size, (70, 20));
}

/// Issue 13 item 4: a pasted refresh token is named as one, labelled or the bare one already in
/// the env file; nothing is sent.
#[test]
fn a_pasted_refresh_token_is_named_as_one() {
    let mut w = at_paste();
    let fx = paste(&mut w, &format!("ZOHO_REFRESH_TOKEN={REFRESH}"), 10);
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::Exchange { .. })),
        "{fx:?}"
    );
    let error = w.paste.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("This is a refresh token, not a code"),
        "{error}"
    );

    let mut w = at_paste();
    w.ctx
        .env_existing
        .push(("ZOHO_REFRESH_TOKEN".into(), Secret::new(REFRESH)));
    let fx = paste(&mut w, REFRESH, 10);
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::Exchange { .. })),
        "{fx:?}"
    );
    let error = w.paste.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("This is a refresh token, not a code"),
        "{error}"
    );
    assert!(error.contains("already in the env file"), "{error}");
    assert!(!error.contains(REFRESH));
}
