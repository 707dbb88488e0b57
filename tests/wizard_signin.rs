//! Pure transition tests of the browser (loopback) and device sign-in paths, and of where setup
//! starts. No IO, no async, no terminal.

#[path = "wizard_support/mod.rs"]
mod support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use support::*;
use zoho_auth::auth::diagnosis::{Code, Diagnosis};
use zoho_auth::auth::{Dc, Product, Secret};
use zoho_auth::wizard::{
    ClientField, Context, DcSource, DeviceEvent, Effect, EnvValue, ExchangeRequest, ExchangeState,
    Key, Msg, Prefill, SIGN_IN_TIMEOUT, SPINNER_TICK, SignIn, SignInFailure, SignInState, SignedIn,
    Step, Wizard, setup_start, update,
};

const SANDBOX: &str = "http://127.0.0.1:40123";

fn browser_start(attempt: u64) -> Effect {
    Effect::StartBrowserSignIn {
        attempt,
        accounts: "https://accounts.zoho.eu".into(),
        client_id: ID.into(),
        scopes: vec!["ZohoBooks.fullaccess.all".into()],
        redirect_uri: "http://localhost:8085/callback".into(),
        timeout: SIGN_IN_TIMEOUT,
    }
}

fn device_start(attempt: u64) -> Effect {
    Effect::StartDeviceSignIn {
        attempt,
        accounts: "https://accounts.zoho.eu".into(),
        dc: Dc::Eu,
        client_id: ID.into(),
        client_secret: Secret::new(SECRET),
        scopes: vec!["ZohoBooks.fullaccess.all".into()],
        product: Some(Product::Books),
    }
}

fn url(w: &mut Wizard) -> Vec<Effect> {
    let attempt = w.attempt;
    update(
        w,
        Msg::SignInUrl {
            attempt,
            url: AUTH_URL.into(),
        },
    )
}

fn callback(w: &mut Wizard, result: Result<SignedIn, SignInFailure>) -> Vec<Effect> {
    let attempt = w.attempt;
    update(w, Msg::SignInCallback { attempt, result })
}

fn signed_in() -> SignedIn {
    SignedIn {
        code: Secret::new(CODE),
        accounts: "https://accounts.zoho.eu".into(),
        dc: Some(Dc::Eu),
    }
}

fn polled(w: &mut Wizard, event: DeviceEvent) -> Vec<Effect> {
    let attempt = w.attempt;
    update(w, Msg::DevicePolled { attempt, event })
}

/// The browser sign-in came back with a code (EU); the exchange runs.
fn signed_in_by_browser() -> Wizard {
    let mut w = at_browser();
    url(&mut w);
    callback(&mut w, Ok(signed_in()));
    w
}

/// The device code was approved (EU); the exchange runs.
fn approved_on_device() -> Wizard {
    let mut w = at_device_code();
    polled(
        &mut w,
        DeviceEvent::Approved {
            accounts: "https://accounts.zoho.eu".into(),
        },
    );
    w
}

// The Client step's choice

#[test]
fn self_client_is_the_default_and_left_right_cycle_the_sign_in() {
    let mut w = at_client();
    assert_eq!(w.client.sign_in, SignIn::SelfClient);
    assert_eq!(key(&mut w, Key::Right, 0), vec![]);
    assert_eq!(w.client.sign_in, SignIn::Browser);
    key(&mut w, Key::Right, 0);
    assert_eq!(w.client.sign_in, SignIn::Device);
    key(&mut w, Key::Right, 0);
    assert_eq!(w.client.sign_in, SignIn::SelfClient);
    key(&mut w, Key::Left, 0);
    assert_eq!(w.client.sign_in, SignIn::Device);
    // The path follows the choice: one sign-in step instead of Generate + Paste.
    assert_eq!(
        w.path(),
        vec![
            Step::DataCenter,
            Step::Client,
            Step::Scopes,
            Step::DeviceSignIn,
            Step::Exchange,
            Step::LiveTest,
            Step::Save,
            Step::Done
        ]
    );
}

#[test]
fn the_redirect_uri_field_exists_for_a_server_based_client_only() {
    let mut w = at_client_with(SignIn::Browser);
    assert_eq!(w.client.redirect_uri, "http://localhost:8085/callback");
    assert_eq!(w.client.field, ClientField::Secret);
    key(&mut w, Key::Tab, 0);
    assert_eq!(w.client.field, ClientField::RedirectUri);
    key(&mut w, Key::Tab, 0);
    assert_eq!(w.client.field, ClientField::Id);
    key(&mut w, Key::BackTab, 0);
    assert_eq!(w.client.field, ClientField::RedirectUri);
    // Leaving the browser choice moves the focus off the field that disappears.
    key(&mut w, Key::Right, 0);
    assert_eq!(w.client.field, ClientField::Id);
    key(&mut w, Key::Tab, 0);
    key(&mut w, Key::Tab, 0);
    assert_eq!(w.client.field, ClientField::Id);
}

#[test]
fn the_redirect_uri_is_editable_and_validated_before_anything_runs() {
    let mut w = at_client_with(SignIn::Browser);
    key(&mut w, Key::Tab, 0);
    key(&mut w, Key::Ctrl('u'), 0);
    typed(&mut w, "https://example.com/cb", 0);
    assert_eq!(key(&mut w, Key::Enter, 0), vec![]);
    assert_eq!(
        (w.step, w.client.field),
        (Step::Client, ClientField::RedirectUri)
    );
    assert!(
        w.client
            .error
            .as_deref()
            .unwrap()
            .contains("not a loopback"),
        "{:?}",
        w.client.error
    );
    key(&mut w, Key::Ctrl('u'), 0);
    paste(&mut w, " http://127.0.0.1:9004/zoho \n", 0);
    assert_eq!(w.client.error, None);
    key(&mut w, Key::Enter, 0);
    assert_eq!(w.step, Step::Scopes);
    let fx = key(&mut w, Key::Enter, 10);
    assert!(
        matches!(&fx[0], Effect::StartBrowserSignIn { redirect_uri, .. } if redirect_uri == "http://127.0.0.1:9004/zoho"),
        "{fx:?}"
    );
}

// Browser sign-in

#[test]
fn browser_sign_in_forward_to_the_live_test() {
    let mut w = at_client_with(SignIn::Browser);
    key(&mut w, Key::Enter, 0);
    let fx = key(&mut w, Key::Enter, 10);
    assert_eq!(w.step, Step::BrowserSignIn);
    assert_eq!(
        fx,
        vec![
            browser_start(1),
            Effect::StartTimer {
                every: SPINNER_TICK
            }
        ]
    );
    assert_eq!(w.sign_in_deadline(), Some(t(310)));
    // Headless: the URL is copied, never opened.
    assert_eq!(url(&mut w), vec![Effect::CopyToClipboard(AUTH_URL.into())]);
    let fx = callback(&mut w, Ok(signed_in()));
    assert_eq!(w.step, Step::Exchange);
    assert_eq!(
        fx,
        vec![Effect::Exchange(ExchangeRequest {
            attempt: 2,
            dc: Dc::Eu,
            client_id: ID.into(),
            client_secret: Secret::new(SECRET),
            code: Secret::new(CODE),
            scopes: vec!["ZohoBooks.fullaccess.all".into()],
            product: Some(Product::Books),
            redirect_uri: Some("http://localhost:8085/callback".into()),
            accounts: Some("https://accounts.zoho.eu".into()),
        })]
    );
    exchanged(&mut w);
    assert_eq!(w.step, Step::LiveTest);
    key(&mut w, Key::Enter, 60);
    assert_eq!(w.step, Step::Save);
    assert!(w.env_updates().contains(&(
        "ZOHO_ACCOUNTS_URL".into(),
        EnvValue::Plain("https://accounts.zoho.eu".into())
    )));
}

#[test]
fn with_a_browser_here_the_url_is_opened_too() {
    let mut w = at_browser();
    w.ctx.can_open_browser = true;
    assert_eq!(
        url(&mut w),
        vec![
            Effect::CopyToClipboard(AUTH_URL.into()),
            Effect::OpenUrl(AUTH_URL.into())
        ]
    );
    assert_eq!(
        key(&mut w, Key::Char('o'), 20),
        vec![Effect::OpenUrl(AUTH_URL.into())]
    );
}

#[test]
fn a_redirect_from_another_dc_is_exchanged_and_saved_there() {
    let mut w = at_browser();
    url(&mut w);
    let fx = callback(
        &mut w,
        Ok(SignedIn {
            code: Secret::new(CODE),
            accounts: "https://accounts.zoho.in".into(),
            dc: Some(Dc::In),
        }),
    );
    assert!(
        matches!(&fx[..], [Effect::Exchange(ExchangeRequest { dc: Dc::In, accounts: Some(a), .. })] if a == "https://accounts.zoho.in"),
        "{fx:?}"
    );
    assert_eq!(w.dc_switched, Some(Dc::In));
    assert_eq!(w.known_dc(), Some(Dc::In));
    assert_eq!(w.accounts_url(), "https://accounts.zoho.in");
}

#[test]
fn esc_cancels_the_sign_in_and_its_late_answers_are_ignored() {
    let mut w = at_browser();
    url(&mut w);
    let stale = w.attempt;
    let fx = key(&mut w, Key::Esc, 20);
    assert_eq!(fx, vec![Effect::CancelSignIn, Effect::StopTimer]);
    assert_eq!(w.step, Step::Scopes);
    assert_eq!(w.signin.state, SignInState::Idle);
    let before = w.clone();
    assert_eq!(
        update(
            &mut w,
            Msg::SignInCallback {
                attempt: stale,
                result: Ok(signed_in())
            }
        ),
        vec![]
    );
    assert_eq!(
        update(
            &mut w,
            Msg::SignInUrl {
                attempt: stale,
                url: AUTH_URL.into()
            }
        ),
        vec![]
    );
    assert_eq!(w, before);
    // Enter on Scopes starts a new sign-in with a new attempt.
    let fx = key(&mut w, Key::Enter, 30);
    assert_eq!(fx[0], browser_start(stale + 2));
    // An answer of the cancelled one is still ignored.
    assert_eq!(
        update(
            &mut w,
            Msg::SignInCallback {
                attempt: stale,
                result: Err(SignInFailure::Denied)
            }
        ),
        vec![]
    );
    assert!(matches!(w.signin.state, SignInState::Waiting { .. }));
}

#[test]
fn each_browser_failure_is_shown_with_a_retry_and_a_way_back() {
    let failures = [
        SignInFailure::PortBusy {
            addr: "127.0.0.1:8085".into(),
            detail: "the port is already in use".into(),
        },
        SignInFailure::Denied,
        SignInFailure::StateMismatch,
        SignInFailure::TimedOut { seconds: 300 },
        SignInFailure::Other(Diagnosis::new(
            Code::InvalidCode,
            "Zoho said no.",
            "Try again.",
        )),
    ];
    for failure in failures {
        let mut w = at_browser();
        url(&mut w);
        let fx = callback(&mut w, Err(failure.clone()));
        assert_eq!(fx, vec![Effect::StopTimer], "{failure:?}");
        assert_eq!(w.step, Step::BrowserSignIn);
        assert_eq!(w.signin.state, SignInState::Failed(failure.clone()));
        assert_eq!(w.sign_in_deadline(), None);
        // Enter tries again: a new listener, a new attempt.
        let attempt = w.attempt;
        let fx = key(&mut w, Key::Enter, 40);
        assert_eq!(
            fx,
            vec![
                browser_start(attempt + 1),
                Effect::StartTimer {
                    every: SPINNER_TICK
                }
            ]
        );
        // Failed again; c goes to the Client step (the redirect URI), Esc to the scopes.
        callback(&mut w, Err(failure.clone()));
        assert_eq!(key(&mut w, Key::Char('c'), 41), vec![]);
        assert_eq!(w.step, Step::Client);
        let mut w2 = at_browser();
        callback(&mut w2, Err(failure.clone()));
        assert_eq!(key(&mut w2, Key::Esc, 41), vec![]);
        assert_eq!(w2.step, Step::Scopes);
    }
}

#[test]
fn a_refused_exchange_after_a_browser_sign_in_signs_in_again() {
    let mut w = signed_in_by_browser();
    let attempt = w.attempt;
    exchange_failed(&mut w, Code::InvalidCode);
    // No other DC to try: the redirect said where the account lives.
    assert!(!zoho_auth::wizard::can_try_other_dcs(&w));
    let fx = key(&mut w, Key::Enter, 50);
    assert_eq!(w.step, Step::BrowserSignIn);
    assert_eq!(fx[0], browser_start(attempt + 1));
    // Esc from a failed exchange goes back to the scopes, not to a paste field.
    let mut w = signed_in_by_browser();
    exchange_failed(&mut w, Code::ScopeMissing);
    key(&mut w, Key::Esc, 50);
    assert_eq!(w.step, Step::Scopes);
}

#[test]
fn cancelling_the_exchange_of_a_browser_code_goes_back_to_the_scopes() {
    let mut w = signed_in_by_browser();
    let attempt = w.attempt;
    key(&mut w, Key::Esc, 45);
    assert_eq!(w.step, Step::Scopes);
    assert_eq!(
        update(
            &mut w,
            Msg::Exchanged {
                attempt,
                result: Ok(outcome())
            }
        ),
        vec![]
    );
    assert_eq!(w.live.outcome, None);
}

// Device sign-in

#[test]
fn device_sign_in_forward_to_the_live_test() {
    let mut w = at_client_with(SignIn::Device);
    key(&mut w, Key::Enter, 0);
    let fx = key(&mut w, Key::Enter, 10);
    assert_eq!(w.step, Step::DeviceSignIn);
    assert_eq!(
        fx,
        vec![
            device_start(1),
            Effect::StartTimer {
                every: SPINNER_TICK
            }
        ]
    );
    assert_eq!(w.sign_in_deadline(), None);
    let fx = update(
        &mut w,
        Msg::DeviceStarted {
            attempt: 1,
            result: Ok(device_info()),
        },
    );
    // The user code goes to the clipboard; the countdown runs to the code's expiry.
    assert_eq!(fx, vec![Effect::CopyToClipboard("KXQT-7MZR".into())]);
    assert_eq!(w.sign_in_deadline(), Some(t(310)));
    assert_eq!(
        key(&mut w, Key::Char('c'), 20),
        vec![Effect::CopyToClipboard("KXQT-7MZR".into())]
    );
    let slow = DeviceEvent::SlowDown {
        interval: Duration::from_secs(60),
    };
    assert_eq!(polled(&mut w, slow.clone()), vec![]);
    let moved = DeviceEvent::MovedTo {
        accounts: "https://accounts.zoho.in".into(),
    };
    polled(&mut w, moved.clone());
    match &w.signin.state {
        SignInState::Waiting { notes, .. } => assert_eq!(notes, &vec![slow, moved]),
        other => panic!("{other:?}"),
    }
    let fx = polled(
        &mut w,
        DeviceEvent::Approved {
            accounts: "https://accounts.zoho.in".into(),
        },
    );
    // Approved: the live test runs under the same attempt.
    assert_eq!(w.step, Step::Exchange);
    assert_eq!(fx, vec![]);
    assert!(matches!(
        w.exchange.state,
        ExchangeState::Running { dc: Dc::In, .. }
    ));
    update(
        &mut w,
        Msg::Exchanged {
            attempt: 1,
            result: Ok(outcome()),
        },
    );
    assert_eq!(w.step, Step::LiveTest);
    assert_eq!(w.accounts_url(), "https://accounts.zoho.in");
    assert_eq!(w.known_dc(), Some(Dc::In));
}

#[test]
fn device_answers_of_a_cancelled_sign_in_are_ignored() {
    let mut w = at_device_code();
    let stale = w.attempt;
    assert_eq!(
        key(&mut w, Key::Esc, 20),
        vec![Effect::CancelSignIn, Effect::StopTimer]
    );
    assert_eq!(w.step, Step::Scopes);
    let before = w.clone();
    for msg in [
        Msg::DeviceStarted {
            attempt: stale,
            result: Ok(device_info()),
        },
        Msg::DevicePolled {
            attempt: stale,
            event: DeviceEvent::Approved {
                accounts: "https://accounts.zoho.eu".into(),
            },
        },
        Msg::Exchanged {
            attempt: stale,
            result: Ok(outcome()),
        },
    ] {
        assert_eq!(update(&mut w, msg), vec![]);
    }
    assert_eq!(w, before);
}

#[test]
fn each_device_failure_is_shown_with_a_retry() {
    let failures = [
        SignInFailure::Denied,
        SignInFailure::Expired,
        SignInFailure::Other(Diagnosis::new(
            Code::InvalidClient,
            "No such client.",
            "Check it.",
        )),
    ];
    for failure in failures {
        let mut w = at_device_code();
        let fx = polled(&mut w, DeviceEvent::Failed(failure.clone()));
        assert_eq!(fx, vec![Effect::StopTimer]);
        assert_eq!(w.signin.state, SignInState::Failed(failure.clone()));
        let attempt = w.attempt;
        let fx = key(&mut w, Key::Char('r'), 30);
        assert_eq!(fx[0], device_start(attempt + 1));
    }
    // A failure to get a code at all.
    let mut w = at_device();
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::DeviceStarted {
            attempt,
            result: Err(SignInFailure::Other(diag(Code::Network))),
        },
    );
    assert!(matches!(w.signin.state, SignInState::Failed(_)));
    assert_eq!(key(&mut w, Key::Esc, 30), vec![]);
    assert_eq!(w.step, Step::Scopes);
}

#[test]
fn a_failed_live_test_after_a_device_sign_in_goes_to_the_fix() {
    let mut w = approved_on_device();
    exchange_failed(&mut w, Code::ScopeMissing);
    assert!(matches!(w.exchange.state, ExchangeState::Failed { .. }));
    key(&mut w, Key::Enter, 40);
    assert_eq!(w.step, Step::Scopes);
    // g signs in again on the device path.
    let mut w = approved_on_device();
    let attempt = w.attempt;
    exchange_failed(&mut w, Code::NotOrgMember);
    let fx = key(&mut w, Key::Char('g'), 40);
    assert_eq!(w.step, Step::DeviceSignIn);
    assert_eq!(fx[0], device_start(attempt + 1));
}

#[test]
fn the_sandbox_override_decides_where_sign_ins_start() {
    let mut w = at_client_with(SignIn::Device);
    w.ctx.accounts_override = Some(SANDBOX.into());
    key(&mut w, Key::Enter, 0);
    let fx = key(&mut w, Key::Enter, 10);
    assert!(
        matches!(&fx[0], Effect::StartDeviceSignIn { accounts, .. } if accounts == SANDBOX),
        "{fx:?}"
    );
}

// Where setup starts

fn usable() -> Prefill {
    Prefill {
        dc: Some((Dc::Eu, DcSource::EnvFile)),
        client_id: Some(ID.into()),
        client_secret: Some(Secret::new(SECRET)),
        client_source: Some("the env file".into()),
        ..Prefill::default()
    }
}

#[test]
fn setup_starts_at_the_client_step_with_a_usable_env_file() {
    assert_eq!(setup_start(&usable(), &ctx()), Step::Client);
    let flag = Prefill {
        dc: Some((Dc::In, DcSource::Flag)),
        ..usable()
    };
    assert_eq!(setup_start(&flag, &ctx()), Step::Client);
    let w = Wizard::new(
        Prefill {
            start_at: Step::Client,
            ..usable()
        },
        ctx(),
    );
    assert_eq!(w.step, Step::Client);
    // Esc goes to the data-center step, everything kept.
    let mut w = w;
    key(&mut w, Key::Esc, 0);
    assert_eq!(
        (w.step, w.dc.chosen, w.client.id.as_str()),
        (Step::DataCenter, Dc::Eu, ID)
    );
}

#[test]
fn setup_starts_at_the_data_center_step_otherwise() {
    let cases: Vec<(&str, Prefill, Context)> = vec![
        (
            "dc from the time zone",
            Prefill {
                dc: Some((Dc::Eu, DcSource::TimeZone)),
                ..usable()
            },
            ctx(),
        ),
        (
            "no dc",
            Prefill {
                dc: None,
                ..usable()
            },
            ctx(),
        ),
        (
            "no secret",
            Prefill {
                client_secret: None,
                ..usable()
            },
            ctx(),
        ),
        (
            "malformed id",
            Prefill {
                client_id: Some("my-client".into()),
                ..usable()
            },
            ctx(),
        ),
        (
            "--accounts-url",
            usable(),
            Context {
                accounts_override: Some(SANDBOX.into()),
                ..ctx()
            },
        ),
        (
            "--sandbox",
            usable(),
            Context {
                sandbox: true,
                accounts_override: Some(SANDBOX.into()),
                ..ctx()
            },
        ),
    ];
    for (name, prefill, ctx) in cases {
        assert_eq!(setup_start(&prefill, &ctx), Step::DataCenter, "{name}");
    }
}

#[test]
fn q_quits_on_the_sign_in_steps() {
    let mut w = at_browser();
    assert_eq!(key(&mut w, Key::Char('q'), 20), vec![Effect::Quit(130)]);
    let mut w = at_device_code();
    assert_eq!(key(&mut w, Key::Char('q'), 20), vec![Effect::Quit(130)]);
}

#[test]
fn under_the_sandbox_the_demo_client_follows_the_sign_in() {
    let demo = |prefix: &str| format!("{prefix}.0SQKHCOMCQOBELBGMDTL9K1904GNIX");
    let mut c = ctx();
    c.sandbox = true;
    c.demo_clients = vec![
        (
            SignIn::SelfClient,
            demo("1000"),
            Secret::new("a".repeat(42)),
        ),
        (SignIn::Browser, demo("1003"), Secret::new("b".repeat(42))),
        (SignIn::Device, demo("1004"), Secret::new("c".repeat(42))),
    ];
    let prefill = Prefill {
        client_id: Some(demo("1000")),
        client_secret: Some(Secret::new("a".repeat(42))),
        start_at: Step::Client,
        ..Prefill::default()
    };
    let mut w = Wizard::new(prefill, c);
    key(&mut w, Key::Right, 0);
    assert_eq!(w.client.id, demo("1003"));
    key(&mut w, Key::Right, 0);
    assert_eq!(
        (w.client.id.clone(), w.client.secret.expose()),
        (demo("1004"), "c".repeat(42).as_str())
    );
    // A client the user typed is never replaced.
    key(&mut w, Key::Ctrl('u'), 0);
    typed(&mut w, ID, 0);
    key(&mut w, Key::Right, 0);
    assert_eq!(w.client.id, ID);
}

/// Issue 11 item 9: the browser sign-in screen says where the listener listens and shows its
/// warnings (a twin port held by another program), escaped; a stale attempt's lines are ignored.
#[test]
fn the_browser_screen_shows_where_it_listens_and_its_warnings() {
    let mut w = at_browser();
    let attempt = w.attempt;
    let lines = vec![
        "Listening on http://127.0.0.1:8085/callback".to_string(),
        "Warning: [::1]:8085 is held by another program\u{1b}[2J".to_string(),
    ];
    let stale = Msg::SignInListening {
        attempt: attempt - 1,
        lines: vec!["stale".into()],
    };
    assert_eq!(update(&mut w, stale), vec![]);
    assert!(w.signin.listening.is_empty());
    assert_eq!(
        update(
            &mut w,
            Msg::SignInListening {
                attempt,
                lines: lines.clone()
            }
        ),
        vec![]
    );
    assert_eq!(w.signin.listening, lines);
    url(&mut w);
    let text = render_without(&w, t(5), 120, 40, &[]);
    assert!(
        text.contains("Listening on http://127.0.0.1:8085/callback"),
        "{text}"
    );
    assert!(
        text.contains("[::1]:8085 is held by another program"),
        "{text}"
    );
    assert!(
        text.contains("\\u{1b}[2J"),
        "the escape is shown, not sent: {text}"
    );
}

/// Issue 11 item 2: the Done screen says where the backup is and which `.gitignore` keeps it out
/// of git, from the runtime's report; with no previous file it claims no backup.
#[test]
fn the_done_screen_names_the_backup_from_the_report() {
    let mut w = at_save();
    key(&mut w, Key::Enter, 55);
    let attempt = w.attempt;
    let mut r = report();
    r.backup = Some("/home/dev/real/.env.bak".into());
    r.backup_gitignore = Some("/home/dev/real/.gitignore".into());
    update(
        &mut w,
        Msg::Written {
            attempt,
            result: Ok(r),
        },
    );
    let text = render_without(&w, t(60), 120, 40, &[]);
    assert!(text.contains("kept as /home/dev/real/.env.bak"), "{text}");
    assert!(
        text.contains("listed in /home/dev/real/.gitignore, so git does not show it"),
        "{text}"
    );

    let mut w = at_save();
    key(&mut w, Key::Enter, 55);
    let attempt = w.attempt;
    let mut r = report();
    r.backup = None;
    update(
        &mut w,
        Msg::Written {
            attempt,
            result: Ok(r),
        },
    );
    let text = render_without(&w, t(60), 120, 40, &[]);
    assert!(!text.contains(".env.bak"), "no old file, no backup: {text}");
}
