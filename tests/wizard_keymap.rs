//! The key map and the handlers agree: on every screen, each key the hint bar shows
//! (`wizard::key_hints`) is acted on by `update` (a changed state or an effect). A hint for a key
//! the handler ignores, or a handler change that drops a hinted key, fails here. Pure: no terminal.

#[path = "wizard_support/mod.rs"]
mod support;

use support::*;
use zoho_auth::auth::diagnosis::Code;
use zoho_auth::wizard::{Key, Msg, Wizard, key_hints, update};

/// The keys a hint label names, in groups: each group must act, and a pair of movement keys
/// acts when either does (at the top of a list, Up has nowhere to go). Labels that name no single
/// key (`type`, `paste`) give none.
fn keys_of(label: &str) -> Vec<Vec<Key>> {
    if label == "/" {
        return vec![vec![Key::Char('/')]];
    }
    let mut out = vec![];
    for part in label.split('/') {
        match part {
            "Enter" => out.push(vec![Key::Enter]),
            "Esc" => out.push(vec![Key::Esc]),
            "Space" => out.push(vec![Key::Char(' ')]),
            "Tab" => out.push(vec![Key::Tab]),
            "↑↓" => out.push(vec![Key::Up, Key::Down]),
            "←→" => out.push(vec![Key::Left, Key::Right]),
            "jk" => out.push(vec![Key::Char('j'), Key::Char('k')]),
            "type" | "paste" => {}
            p if p.starts_with("Ctrl+") => out.push(vec![Key::Ctrl(
                p[5..].chars().next().unwrap().to_ascii_lowercase(),
            )]),
            p if p.chars().count() == 1 => out.push(vec![Key::Char(p.chars().next().unwrap())]),
            other => panic!("a hint label this test does not know: {other:?}"),
        }
    }
    out
}

fn screens() -> Vec<(&'static str, Wizard, u64)> {
    let mut exchange_failed = at_exchange();
    support::exchange_failed(&mut exchange_failed, Code::InvalidCode);
    let mut save_failed = at_save();
    key(&mut save_failed, Key::Char(' '), 55); // keychain on
    key(&mut save_failed, Key::Enter, 55);
    let attempt = save_failed.attempt;
    update(
        &mut save_failed,
        Msg::Written {
            attempt,
            result: Err("the OS keychain is not available".into()),
        },
    );
    // Ctrl+U clears the focused field: give it something to clear.
    let mut client = at_client();
    typed(&mut client, "1000.", 10);
    // Enter sends what was typed: type something.
    let mut paste = at_paste();
    typed(&mut paste, "1000.", 40);
    let mut dc_filter = fresh();
    key(&mut dc_filter, Key::Char('/'), 0);
    vec![
        ("data center", fresh(), 0),
        ("data center, filtering", dc_filter, 0),
        ("client, typing", client, 10),
        ("scopes", at_scopes(), 20),
        ("generate code", at_generate(), 30),
        ("paste code, typing", paste, 40),
        ("exchange failed", exchange_failed, 50),
        ("live test", at_live_test(), 55),
        ("save", at_save(), 55),
        ("save failed (keychain)", save_failed, 56),
        ("done", at_done(), 60),
        ("browser sign-in", at_browser(), 20),
        ("device sign-in", at_device_code(), 20),
    ]
}

#[test]
fn every_hinted_key_is_handled() {
    for (name, w, secs) in screens() {
        let hints = key_hints(&w, t(secs));
        assert!(!hints.is_empty(), "{name}: no hints");
        for (label, what) in hints {
            for group in keys_of(label) {
                let acts = group.iter().any(|k| {
                    let mut after = w.clone();
                    let fx = key(&mut after, *k, secs);
                    !fx.is_empty() || after != w
                });
                assert!(
                    acts,
                    "{name}: the hint \"{label} {what}\" names {group:?}, which the handler ignores"
                );
            }
        }
    }
}
