//! Snapshots of every wizard screen at 80x24 with a fixed `now`. Secrets never appear.

#[path = "wizard_support/mod.rs"]
mod support;

use support::*;
use zoho_auth::auth::diagnosis::Code;
use zoho_auth::auth::{Dc, Secret};
use zoho_auth::wizard::{CopyOutcome, Key, Msg, Prefill, Time, Wizard, update};

fn render(w: &Wizard, now: Time, cols: u16, rows: u16) -> String {
    render_without(w, now, cols, rows, &[SECRET, CODE, ACCESS, REFRESH])
}

fn snap(name: &str, w: &Wizard, secs: u64) {
    insta::assert_snapshot!(name, render(w, t(secs), 80, 24));
}

#[test]
fn step1_data_center() {
    snap("step1_data_center", &fresh(), 0);
}

#[test]
fn step1_data_center_no_filter_match() {
    let mut w = fresh();
    typed(&mut w, "/mars", 0);
    snap("step1_data_center_no_match", &w, 0);
}

#[test]
fn step2_client() {
    let mut w = at_client();
    paste(&mut w, ID, 0);
    typed(&mut w, &SECRET[..12], 0);
    snap("step2_client", &w, 0);
}

#[test]
fn step2_client_bad_id() {
    let mut w = at_client();
    typed(&mut w, "my-client", 0);
    key(&mut w, Key::Enter, 0);
    snap("step2_client_bad_id", &w, 0);
}

#[test]
fn step3_scopes() {
    let mut w = at_scopes();
    key(&mut w, Key::Char(' '), 0);
    key(&mut w, Key::Down, 0);
    snap("step3_scopes", &w, 0);
}

/// Issue 13 item 4: key hints wider than 80 columns wrap to a second row instead of being cut.
#[test]
fn sandbox_generate_hints_wrap_at_80_columns() {
    let mut w = at_generate();
    w.ctx.sandbox = true;
    let screen = render(&w, t(0), 80, 24);
    assert!(screen.contains("m mint code"), "{screen}");
    assert!(screen.contains("q quit"), "{screen}");
    insta::assert_snapshot!("sandbox_generate_hints_wrap_at_80_columns", screen);
}

/// Issue 13 item 4: on a wide terminal the names, descriptions and preset strings use the width.
#[test]
fn step3_scopes_160_columns() {
    let mut w = at_scopes();
    key(&mut w, Key::Char(' '), 0);
    key(&mut w, Key::Down, 0);
    let screen = render(&w, t(0), 160, 24);
    // A preset string of 95 characters is shown whole (at 80 columns it is cut at 38).
    assert!(
        screen.contains(
            "ZohoBooks.invoices.ALL,ZohoBooks.contacts.ALL,ZohoBooks.customerpayments.ALL,ZohoBooks.settings.READ"
        ),
        "{screen}"
    );
    insta::assert_snapshot!("step3_scopes_160_columns", screen);
}

#[test]
fn step3_scopes_no_filter_match() {
    let mut w = at_scopes();
    typed(&mut w, "/payroll", 0);
    snap("step3_scopes_no_match", &w, 0);
}

#[test]
fn step3_scopes_probe_warning() {
    let mut w = at_scopes();
    typed(&mut w, "/modules.leads.all", 0);
    key(&mut w, Key::Enter, 0);
    key(&mut w, Key::Down, 0);
    key(&mut w, Key::Char(' '), 0);
    key(&mut w, Key::Char('p'), 0); // Books, which these scopes cannot open
    snap("step3_scopes_probe_warning", &w, 0);
}

#[test]
fn step4_generate_code() {
    let mut w = at_generate();
    update(&mut w, Msg::Copied(CopyOutcome::System));
    snap("step4_generate_code", &w, 0);
}

#[test]
fn step4_generate_code_no_clipboard() {
    let mut w = at_generate();
    update(&mut w, Msg::Copied(CopyOutcome::Unavailable));
    snap("step4_generate_code_no_clipboard", &w, 0);
}

#[test]
fn step4_generate_code_sandbox() {
    let prefill = Prefill {
        client_id: Some(ID.into()),
        client_secret: Some(Secret::new(SECRET)),
        client_source: Some("the sandbox".into()),
        scopes: vec!["ZohoBooks.fullaccess.all".into()],
        start_at: zoho_auth::wizard::Step::GenerateCode,
        ..Prefill::default()
    };
    let mut c = ctx();
    c.sandbox = true;
    c.accounts_override = Some("http://127.0.0.1:8470".into());
    c.console_override = Some("http://127.0.0.1:8470/".into());
    let mut w = Wizard::new(prefill, c);
    w.start(t(0));
    update(&mut w, Msg::Copied(CopyOutcome::Osc52));
    snap("step4_generate_code_sandbox", &w, 0);
}

#[test]
fn step5_paste_code() {
    // Started at 10 s with 3 minutes: 2:30 left at 40 s.
    snap("step5_paste_code", &at_paste(), 40);
}

#[test]
fn step5_paste_code_last_seconds() {
    snap("step5_paste_code_last_seconds", &at_paste(), 175);
}

#[test]
fn step5_paste_code_wrong_kind() {
    let mut w = at_paste();
    paste(&mut w, SECRET, 60);
    snap("step5_paste_code_wrong_kind", &w, 61);
}

#[test]
fn step5_paste_code_expired() {
    let mut w = at_paste();
    update(&mut w, Msg::Tick { now: t(190) });
    snap("step5_paste_code_expired", &w, 190);
}

#[test]
fn step6_exchange_running() {
    snap("step6_exchange_running", &at_exchange(), 41);
}

#[test]
fn step6_exchange_invalid_code() {
    let mut w = at_exchange();
    update(
        &mut w,
        Msg::Exchanged {
            attempt: 1,
            result: Err(diag(Code::InvalidCode)),
        },
    );
    snap("step6_exchange_invalid_code", &w, 42);
}

#[test]
fn step6_exchange_scope_missing_57() {
    let mut w = at_exchange();
    update(
        &mut w,
        Msg::Exchanged {
            attempt: 1,
            result: Err(diag(Code::ScopeMissing)),
        },
    );
    snap("step6_exchange_scope_missing", &w, 42);
}

#[test]
fn step7_live_test() {
    snap("step7_live_test", &at_live_test(), 45);
}

#[test]
fn step7_live_test_other_dc() {
    let mut w = at_exchange();
    let mut o = outcome();
    o.dc_mismatch = Some(Dc::In);
    o.api_domain = "https://www.zohoapis.in".into();
    update(
        &mut w,
        Msg::Exchanged {
            attempt: 1,
            result: Ok(o),
        },
    );
    snap("step7_live_test_dc_mismatch", &w, 45);
}

#[test]
fn step8_save() {
    let mut w = at_save();
    w.ctx.shadowing = vec!["ZOHO_REFRESH_TOKEN".into()];
    snap("step8_save", &w, 50);
}

#[test]
fn step8_save_write_failed() {
    let mut w = at_save();
    key(&mut w, Key::Enter, 55);
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::Written {
            attempt,
            result: Err("cannot write /home/dev/app/.env: Permission denied (os error 13)".into()),
        },
    );
    snap("step8_save_write_failed", &w, 56);
}

/// Issue 11 item 5: the keychain fails closed; the error screen offers the file as an explicit
/// choice.
#[test]
fn step8_save_keychain_failed() {
    let mut w = at_save();
    key(&mut w, Key::Char(' '), 55); // keychain on
    key(&mut w, Key::Enter, 55);
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::Written {
            attempt,
            result: Err("the OS keychain is not available (no Secret Service answered on the session D-Bus).".into()),
        },
    );
    snap("step8_save_keychain_failed", &w, 56);
}

#[test]
fn step9_done() {
    snap("step9_done", &at_done(), 60);
}

#[test]
fn terminal_too_small() {
    insta::assert_snapshot!("too_small", render(&fresh(), t(0), 60, 15));
}

#[test]
fn no_color_draws_no_colour_at_all() {
    let mut w = at_paste();
    w.ctx.theme.color = false;
    let term = drawn(&w, t(175), 80, 24);
    for cell in term.backend().buffer().content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "{cell:?}");
    }
}

#[test]
fn the_countdown_turns_yellow_then_red() {
    use ratatui::style::Color;
    let w = at_paste();
    let colour_at = |secs| {
        let term = drawn(&w, t(secs), 80, 24);
        let buf = term.backend().buffer().clone();
        let text = term.backend().to_string();
        let row = text.lines().position(|l| l.contains("Time left")).unwrap();
        let col = text
            .lines()
            .nth(row)
            .unwrap()
            .chars()
            .position(|c| c == ':')
            .unwrap();
        buf[(col as u16, row as u16)].fg
    };
    assert_eq!(colour_at(40), Color::Green);
    assert_eq!(colour_at(140), Color::Yellow);
    assert_eq!(colour_at(175), Color::Red);
}

// The sign-in choice, the browser and device sign-in steps, the sandbox's DC screen.

use zoho_auth::auth::diagnosis::Diagnosis;
use zoho_auth::wizard::{DeviceEvent, SignIn, SignInFailure};

#[test]
fn step1_data_center_sandbox() {
    let mut c = ctx();
    c.sandbox = true;
    c.accounts_override = Some("http://127.0.0.1:40123".into());
    let w = Wizard::new(Prefill::default(), c);
    snap("step1_data_center_sandbox", &w, 0);
}

#[test]
fn step1_data_center_accounts_url() {
    let mut c = ctx();
    c.accounts_override = Some("http://127.0.0.1:40123".into());
    let w = Wizard::new(Prefill::default(), c);
    snap("step1_data_center_accounts_url", &w, 0);
}

#[test]
fn step2_client_browser() {
    let mut w = at_client_with(SignIn::Browser);
    w.ctx.can_open_browser = true;
    snap("step2_client_browser", &w, 0);
}

#[test]
fn step2_client_browser_headless() {
    let w = at_client_with(SignIn::Browser);
    snap("step2_client_browser_headless", &w, 0);
}

#[test]
fn step2_client_browser_bad_redirect_uri() {
    let mut w = at_client_with(SignIn::Browser);
    w.ctx.can_open_browser = true;
    key(&mut w, Key::Tab, 0);
    key(&mut w, Key::Ctrl('u'), 0);
    typed(&mut w, "https://app.example.com/oauth", 0);
    key(&mut w, Key::Enter, 0);
    snap("step2_client_browser_bad_redirect_uri", &w, 0);
}

#[test]
fn step2_client_device() {
    let w = at_client_with(SignIn::Device);
    snap("step2_client_device", &w, 0);
}

fn browser_with_url() -> Wizard {
    let mut w = at_browser();
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::SignInUrl {
            attempt,
            url: AUTH_URL.into(),
        },
    );
    w
}

#[test]
fn step4_browser_starting() {
    snap("step4_browser_starting", &at_browser(), 10);
}

#[test]
fn step4_browser_waiting_headless() {
    let mut w = browser_with_url();
    update(&mut w, Msg::Copied(CopyOutcome::Unavailable));
    snap("step4_browser_waiting_headless", &w, 71);
}

#[test]
fn step4_browser_waiting_opened() {
    let mut w = at_browser();
    w.ctx.can_open_browser = true;
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::SignInUrl {
            attempt,
            url: AUTH_URL.into(),
        },
    );
    update(&mut w, Msg::Copied(CopyOutcome::System));
    update(&mut w, Msg::Opened { ok: true });
    snap("step4_browser_waiting_opened", &w, 71);
}

#[test]
fn the_sign_in_url_wraps_over_whole_rows_with_no_border() {
    let w = browser_with_url();
    let text = render(&w, t(20), 80, 24);
    let rows: Vec<String> = text
        .lines()
        .map(|l| l.trim_matches('"').to_string())
        .collect();
    let first = rows
        .iter()
        .position(|r| r.starts_with("https://"))
        .expect("the URL starts a row");
    let mut url = String::new();
    for row in &rows[first..] {
        url.push_str(row.trim_end());
        if row.trim_end().chars().count() < 80 {
            break;
        }
    }
    assert_eq!(url, AUTH_URL);
}

fn browser_failed(failure: SignInFailure) -> Wizard {
    let mut w = browser_with_url();
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::SignInCallback {
            attempt,
            result: Err(failure),
        },
    );
    w
}

#[test]
fn step4_browser_denied() {
    snap(
        "step4_browser_denied",
        &browser_failed(SignInFailure::Denied),
        40,
    );
}

#[test]
fn step4_browser_state_mismatch() {
    snap(
        "step4_browser_state_mismatch",
        &browser_failed(SignInFailure::StateMismatch),
        40,
    );
}

#[test]
fn step4_browser_timed_out() {
    snap(
        "step4_browser_timed_out",
        &browser_failed(SignInFailure::TimedOut { seconds: 300 }),
        310,
    );
}

#[test]
fn step4_browser_port_busy() {
    snap(
        "step4_browser_port_busy",
        &browser_failed(SignInFailure::PortBusy {
            addr: "127.0.0.1:8085".into(),
            detail: "the port is already in use".into(),
        }),
        11,
    );
}

#[test]
fn step4_device_requesting() {
    snap("step4_device_requesting", &at_device(), 10);
}

#[test]
fn step4_device_code() {
    let mut w = at_device_code();
    update(&mut w, Msg::Copied(CopyOutcome::System));
    snap("step4_device_code", &w, 25);
}

#[test]
fn step4_device_code_slow_down_and_other_dc() {
    let mut w = at_device_code();
    let attempt = w.attempt;
    for event in [
        DeviceEvent::SlowDown {
            interval: std::time::Duration::from_secs(60),
        },
        DeviceEvent::MovedTo {
            accounts: "https://accounts.zoho.in".into(),
        },
    ] {
        update(&mut w, Msg::DevicePolled { attempt, event });
    }
    snap("step4_device_code_slow_down_and_other_dc", &w, 295);
}

fn device_failed(failure: SignInFailure) -> Wizard {
    let mut w = at_device_code();
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::DevicePolled {
            attempt,
            event: DeviceEvent::Failed(failure),
        },
    );
    w
}

#[test]
fn step4_device_denied() {
    snap(
        "step4_device_denied",
        &device_failed(SignInFailure::Denied),
        40,
    );
}

#[test]
fn step4_device_expired() {
    snap(
        "step4_device_expired",
        &device_failed(SignInFailure::Expired),
        310,
    );
}

#[test]
fn step4_device_refused() {
    snap(
        "step4_device_refused",
        &device_failed(SignInFailure::Other(Diagnosis::new(
            Code::InvalidClient,
            "accounts.zoho.eu does not know this client id (invalid_client).",
            "Check that the client is a Non-browser client of this data center.",
        ))),
        40,
    );
}
