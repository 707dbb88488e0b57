//! Where requests go (`auth::target`): one resolver, flag → environment/env file → US, with the
//! host rule on what a paste or a sign-in names. Pure: no server needed.

use zoho_auth::auth::Dc;
use zoho_auth::auth::diagnosis::Code;
use zoho_auth::auth::target::{self, Choice, Pasted, Saved, Target, WizardChoice};

fn choice(accounts: Option<&str>, dc: Option<&str>) -> Choice {
    Choice {
        accounts_url: accounts.map(str::to_string),
        api_domain: None,
        dc: dc.map(str::to_string),
        store: None,
    }
}

fn saved(accounts: Option<&str>, dc: Option<&str>) -> Saved {
    Saved {
        accounts_url: accounts.map(str::to_string),
        dc: dc.map(str::to_string),
    }
}

#[test]
fn configured_takes_the_flag_then_what_is_saved_then_the_us() {
    let none = Choice::default();
    let t = target::configured(&none, &Saved::default()).unwrap();
    assert_eq!(t.accounts_str(), "https://accounts.zoho.com");
    let t = target::configured(&none, &saved(None, Some("in"))).unwrap();
    assert_eq!(
        (t.accounts_str().as_str(), t.dc),
        ("https://accounts.zoho.in", Some(Dc::In))
    );
    let t = target::configured(&none, &saved(Some("http://127.0.0.1:9"), Some("eu"))).unwrap();
    assert_eq!(
        (t.accounts_str().as_str(), t.dc),
        ("http://127.0.0.1:9", Some(Dc::Eu))
    );
    let t = target::configured(
        &choice(None, Some("jp")),
        &saved(Some("http://127.0.0.1:9"), None),
    )
    .unwrap();
    assert_eq!(t.accounts_str(), "https://accounts.zoho.jp");
    let t = target::configured(
        &choice(Some("http://127.0.0.1:8"), Some("jp")),
        &Saved::default(),
    )
    .unwrap();
    assert_eq!(
        (t.accounts_str().as_str(), t.dc),
        ("http://127.0.0.1:8", Some(Dc::Jp))
    );
    let bad = target::configured(&choice(None, Some("xx")), &Saved::default()).unwrap_err();
    assert_eq!(bad.code, Code::BadInput);
}

#[test]
fn a_paste_moves_the_exchange_only_to_a_zoho_host_or_the_chosen_origin() {
    let none = Choice::default();
    let paste = |a: &'static str| Pasted {
        accounts_server: Some(a),
        location: None,
    };
    let t = target::for_code(
        &none,
        &Saved::default(),
        paste("https://accounts.zoho.in"),
        "x",
    )
    .unwrap();
    assert_eq!(
        (t.accounts_str().as_str(), t.dc),
        ("https://accounts.zoho.in", Some(Dc::In))
    );
    let sandbox = saved(Some("http://127.0.0.1:4000"), None);
    let t = target::for_code(&none, &sandbox, paste("http://127.0.0.1:4000/_dc/eu"), "x").unwrap();
    assert_eq!(t.accounts_str(), "http://127.0.0.1:4000/_dc/eu");
    for foreign in [
        "https://accounts.zoho.eu@elsewhere.example",
        "https://elsewhere.example",
        "http://127.0.0.1:4001",
    ] {
        let d = target::for_code(
            &none,
            &sandbox,
            paste(foreign),
            "the redirect's accounts-server",
        )
        .unwrap_err();
        assert_eq!(d.code, Code::BadInput, "{foreign}");
        assert!(d.message.contains("nothing was sent"), "{}", d.message);
    }
}

#[test]
fn an_explicit_choice_is_never_beaten_silently() {
    let paste = Pasted {
        accounts_server: Some("https://accounts.zoho.in"),
        location: Some("in"),
    };
    // --accounts-url wins over the paste.
    let t = target::for_code(
        &choice(Some("http://127.0.0.1:9"), None),
        &Saved::default(),
        paste,
        "x",
    )
    .unwrap();
    assert_eq!(t.accounts_str(), "http://127.0.0.1:9");
    // --dc that disagrees: refused, naming both.
    let d = target::for_code(&choice(None, Some("eu")), &Saved::default(), paste, "x").unwrap_err();
    assert_eq!(d.code, Code::BadInput);
    assert!(
        d.message.contains("India (in)") && d.message.contains("(eu)"),
        "{}",
        d.message
    );
    // --dc that agrees: fine.
    let t = target::for_code(&choice(None, Some("in")), &Saved::default(), paste, "x").unwrap();
    assert_eq!(t.dc, Some(Dc::In));
    // A location that is not a DC code names nothing.
    let t = target::for_code(
        &Choice::default(),
        &Saved::default(),
        Pasted {
            accounts_server: None,
            location: Some("https://accounts.zoho.eu"),
        },
        "x",
    )
    .unwrap();
    assert_eq!(t.dc, Some(Dc::Us));
}

#[test]
fn a_sign_in_redirect_is_checked_by_the_same_rule() {
    let started = Target::for_dc(Dc::Us);
    let t = target::after_redirect(&started, Some("https://accounts.zoho.eu"), Some("eu")).unwrap();
    assert_eq!(
        (t.accounts_str().as_str(), t.dc),
        ("https://accounts.zoho.eu", Some(Dc::Eu))
    );
    let d = target::after_redirect(
        &started,
        Some("https://accounts.zoho.eu@evil.example"),
        None,
    )
    .unwrap_err();
    assert_eq!(d.code, Code::BadInput);
    assert!(d.message.contains("evil.example"), "{}", d.message);
    let t = target::after_redirect(&started, None, None).unwrap();
    assert_eq!(t, started);
}

#[test]
fn the_api_domain_of_an_answer_is_checked_against_the_choice() {
    let us = Target::for_dc(Dc::Us);
    assert!(us.check_api_domain("https://www.zohoapis.eu").is_ok());
    assert!(us.check_api_domain("https://evil.example").is_err());
    let sandbox = Target::from_urls("http://127.0.0.1:4000", None, None).unwrap();
    assert!(sandbox.check_api_domain("http://127.0.0.1:4000").is_ok());
    assert!(sandbox.check_api_domain("http://127.0.0.1:4001").is_err());
    // With an API override the answer's domain receives nothing.
    let overridden =
        Target::from_urls("http://127.0.0.1:4000", Some("http://127.0.0.1:4002"), None).unwrap();
    assert!(overridden.check_api_domain("https://evil.example").is_ok());
}

#[test]
fn the_wizard_resolves_through_the_same_module() {
    let plain = WizardChoice::default();
    let t = target::for_wizard(&plain, Dc::Au, None).unwrap();
    assert_eq!(t.accounts_str(), "https://accounts.zoho.com.au");
    let sandbox = WizardChoice {
        accounts_override: Some("http://127.0.0.1:4000".into()),
        api_override: Some("http://127.0.0.1:4000".into()),
        dc_flag: None,
    };
    let t = target::for_wizard(&sandbox, Dc::Au, None).unwrap();
    assert_eq!(
        (t.accounts_str().as_str(), t.dc),
        ("http://127.0.0.1:4000", None)
    );
    let t = target::for_wizard(&plain, Dc::Us, Some("https://accounts.zoho.in")).unwrap();
    assert_eq!(t.dc, Some(Dc::In));
}
