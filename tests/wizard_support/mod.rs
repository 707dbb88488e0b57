//! Fixtures shared by the wizard's transition and snapshot tests. No IO here.
#![allow(dead_code)]

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use zoho_auth::auth::diagnosis::{Code, Diagnosis};
use zoho_auth::auth::{Dc, Product, Secret};
use zoho_auth::wizard::{
    Context, DcSource, Effect, Gitignore, Key, Msg, Org, Outcome, Prefill, Step, Theme, Time,
    Wizard, WriteReport, update,
};

pub const ID: &str = "1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX";
pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789";
pub const CODE: &str = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210";
pub const ACCESS: &str = "1000.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
pub const REFRESH: &str = "1000.cccccccccccccccccccccccccccccccc.dddddddddddddddddddddddddddddddd";

/// The wizard drawn at `now` on a `cols`x`rows` test terminal.
pub fn drawn(w: &Wizard, now: Time, cols: u16, rows: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    term.draw(|f| zoho_auth::ui::draw(f, w, now)).unwrap();
    term
}

/// The screen as text, checked to show none of `secrets`, not even a 20-character piece.
pub fn render_without(w: &Wizard, now: Time, cols: u16, rows: u16, secrets: &[&str]) -> String {
    let text = drawn(w, now, cols, rows).backend().to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "a secret is on screen:\n{text}");
        assert!(
            !text.contains(&secret[5..25]),
            "part of a secret is on screen:\n{text}"
        );
    }
    text
}

/// Seconds on the wizard's clock.
pub fn t(secs: u64) -> Time {
    Time::from_secs(secs)
}

pub fn ctx() -> Context {
    Context {
        env_path: "/home/dev/app/.env".into(),
        env_existing: vec![("ZOHO_CLIENT_ID".into(), Secret::new(ID))],
        gitignore: Gitignore::NotIgnored,
        shadowing: vec![],
        can_open_browser: false,
        can_read_clipboard: true,
        sandbox: false,
        accounts_override: None,
        console_override: None,
        dc_flag: None,
        demo_clients: vec![],
        theme: Theme { color: true },
        run_as: "zoho-auth".into(),
        sandbox_restart: None,
        store: None,
    }
}

/// A first-time setup: the DC preselected from the time zone, nothing else known.
pub fn fresh() -> Wizard {
    let prefill = Prefill {
        dc: Some((Dc::Eu, DcSource::TimeZone)),
        ..Prefill::default()
    };
    Wizard::new(prefill, ctx())
}

pub fn key(w: &mut Wizard, k: Key, secs: u64) -> Vec<Effect> {
    update(
        w,
        Msg::Key {
            key: k,
            now: t(secs),
        },
    )
}

pub fn typed(w: &mut Wizard, text: &str, secs: u64) {
    for c in text.chars() {
        key(w, Key::Char(c), secs);
    }
}

pub fn paste(w: &mut Wizard, text: &str, secs: u64) -> Vec<Effect> {
    update(
        w,
        Msg::Paste {
            text: text.into(),
            now: t(secs),
        },
    )
}

pub fn at_client() -> Wizard {
    let mut w = fresh();
    key(&mut w, Key::Enter, 0);
    assert_eq!(w.step, Step::Client);
    w
}

pub fn at_scopes() -> Wizard {
    let mut w = at_client();
    paste(&mut w, ID, 0);
    paste(&mut w, SECRET, 0);
    key(&mut w, Key::Enter, 0);
    assert_eq!(w.step, Step::Scopes);
    w
}

pub fn at_generate() -> Wizard {
    let mut w = at_scopes();
    key(&mut w, Key::Enter, 0);
    assert_eq!(w.step, Step::GenerateCode);
    w
}

/// On the Paste step; the 3-minute countdown started at t=10s.
pub fn at_paste() -> Wizard {
    let mut w = at_generate();
    key(&mut w, Key::Enter, 10);
    assert_eq!(w.step, Step::PasteCode);
    w
}

/// The code was pasted at t=40s; the exchange runs.
pub fn at_exchange() -> Wizard {
    let mut w = at_paste();
    paste(&mut w, CODE, 40);
    assert_eq!(w.step, Step::Exchange);
    w
}

pub fn outcome() -> Outcome {
    Outcome {
        access_token: Secret::new(ACCESS),
        refresh_token: Some(Secret::new(REFRESH)),
        scopes: vec!["ZohoBooks.fullaccess.all".into()],
        api_domain: "https://www.zohoapis.eu".into(),
        product: Some(Product::Books),
        organizations: vec![
            Org {
                id: "10234695".into(),
                name: "Zillum".into(),
                is_default: false,
            },
            Org {
                id: "20234696".into(),
                name: "Zillum GmbH".into(),
                is_default: true,
            },
        ],
        dc_mismatch: None,
    }
}

/// The runtime's answer to the exchange under way: `outcome()`, verified.
pub fn exchanged(w: &mut Wizard) -> Vec<Effect> {
    let attempt = w.attempt;
    update(
        w,
        Msg::Exchanged {
            attempt,
            result: Ok(outcome()),
        },
    )
}

pub fn diag(code: Code) -> Diagnosis {
    match code {
        Code::InvalidCode => Diagnosis::new(
            code,
            "Zoho refused the code: it expired, was already used, or belongs to another data center.",
            "Generate a new code and paste it within its time.",
        ),
        Code::ScopeMissing => Diagnosis::new(
            code,
            "Zoho Books answered code 57: the token lacks a scope the organizations endpoint needs.",
            "Add ZohoBooks.settings.READ (or ZohoBooks.fullaccess.all) and make a new code.",
        ),
        _ => Diagnosis::new(code, format!("{} happened.", code.as_str()), "Do the fix."),
    }
}

pub fn at_live_test() -> Wizard {
    let mut w = at_exchange();
    exchanged(&mut w);
    assert_eq!(w.step, Step::LiveTest);
    w
}

pub fn at_save() -> Wizard {
    let mut w = at_live_test();
    key(&mut w, Key::Enter, 50);
    assert_eq!(w.step, Step::Save);
    w
}

pub fn report() -> WriteReport {
    WriteReport {
        env_path: "/home/dev/app/.env".into(),
        keys: vec![
            "ZOHO_CLIENT_ID".into(),
            "ZOHO_CLIENT_SECRET".into(),
            "ZOHO_REFRESH_TOKEN".into(),
            "ZOHO_DC".into(),
            "ZOHO_ACCOUNTS_URL".into(),
            "ZOHO_API_DOMAIN".into(),
            "ZOHO_SCOPES".into(),
            "ZOHO_ORGANIZATION_ID".into(),
        ],
        backup: Some("/home/dev/app/.env.bak".into()),
        backup_gitignore: None,
        keychain: false,
        gitignore_added: true,
    }
}

/// The runtime's answer to the exchange under way: refused with `code`'s diagnosis.
pub fn exchange_failed(w: &mut Wizard, code: Code) -> Vec<Effect> {
    let attempt = w.attempt;
    update(
        w,
        Msg::Exchanged {
            attempt,
            result: Err(diag(code)),
        },
    )
}

/// The runtime's answer to the write under way: `report()`.
pub fn written(w: &mut Wizard) -> Vec<Effect> {
    let attempt = w.attempt;
    update(
        w,
        Msg::Written {
            attempt,
            result: Ok(report()),
        },
    )
}

pub fn at_done() -> Wizard {
    let mut w = at_save();
    key(&mut w, Key::Enter, 55);
    written(&mut w);
    assert_eq!(w.step, Step::Done);
    w
}

pub const SECOND: Duration = Duration::from_secs(1);

/// The sign-in URL the runtime would send (a fixed state).
pub const AUTH_URL: &str = "https://accounts.zoho.eu/oauth/v2/auth?scope=ZohoBooks.fullaccess.all&client_id=1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX&response_type=code&access_type=offline&prompt=consent&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2Fcallback&state=0123456789abcdef0123456789abcdef";

/// On the Client step with the client filled in and `method` chosen by → presses.
pub fn at_client_with(method: zoho_auth::wizard::SignIn) -> Wizard {
    let mut w = at_client();
    paste(&mut w, ID, 0);
    paste(&mut w, SECRET, 0);
    while w.client.sign_in != method {
        key(&mut w, Key::Right, 0);
    }
    w
}

/// On the browser sign-in step, started at t=10s (the listener is being bound).
pub fn at_browser() -> Wizard {
    let mut w = at_client_with(zoho_auth::wizard::SignIn::Browser);
    key(&mut w, Key::Enter, 0);
    assert_eq!(w.step, Step::Scopes);
    key(&mut w, Key::Enter, 10);
    assert_eq!(w.step, Step::BrowserSignIn);
    w
}

/// On the device step, started at t=10s (the code is being requested).
pub fn at_device() -> Wizard {
    let mut w = at_client_with(zoho_auth::wizard::SignIn::Device);
    key(&mut w, Key::Enter, 0);
    key(&mut w, Key::Enter, 10);
    assert_eq!(w.step, Step::DeviceSignIn);
    w
}

pub fn device_info() -> zoho_auth::wizard::DeviceCodeInfo {
    zoho_auth::wizard::DeviceCodeInfo {
        user_code: "KXQT-7MZR".into(),
        verification_url: "https://accounts.zoho.eu/oauth/v3/device".into(),
        verification_uri_complete: None,
        expires_in: Duration::from_secs(300),
        interval: Duration::from_secs(30),
    }
}

/// The device code is shown (received at once).
pub fn at_device_code() -> Wizard {
    let mut w = at_device();
    let attempt = w.attempt;
    update(
        &mut w,
        Msg::DeviceStarted {
            attempt,
            result: Ok(device_info()),
        },
    );
    w
}
