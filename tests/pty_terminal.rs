//! The terminal is given back as it was, whatever ends the wizard: SIGTERM, SIGHUP, a panic in a
//! spawned task, a panic in the event loop, an internal error, and a network error shown and then
//! quit. Checked in a real pseudo-terminal: the vt100 screen has left the alternate screen, shows
//! the cursor and has bracketed paste off, and the terminal's mode bits (echo, canonical input,
//! output processing), read through the master side, are those it had before the program started.
#![cfg(unix)]

#[path = "pty_support/mod.rs"]
mod pty;

use pty::{Modes, Session};

/// Starts the wizard on an env file with a demo client, waits for its first screen and checks
/// that it really took the terminal (alternate screen, echo off), so the restore means something.
fn started(env: &[(&str, &str)]) -> (Session, Modes, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env");
    std::fs::write(&env_file, "KEEP=1\n").unwrap();
    let before = pty::modes(pty::open().master.as_ref());
    assert!(before.echo(), "a fresh terminal echoes");
    let s = Session::start_with(
        &["setup", "--env-file", env_file.to_str().unwrap()],
        dir.path(),
        env,
    );
    s.wait_for("Data center");
    s.wait_until("raw mode (echo off)", || !s.modes().echo());
    assert!(s.alternate(), "the wizard is on the alternate screen");
    (s, before, dir)
}

/// The probe itself: a program that turns echo off and exits without restoring it is seen as
/// such, after it exited. Without this, a check that always reads "echo on" would pass.
#[test]
fn the_probe_sees_a_terminal_left_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start_program("sh", &["-c", "stty -echo; echo done"], dir.path(), &[]);
    assert_eq!(s.wait_exit(), 0);
    assert!(!s.modes().echo(), "the probe reads the state left behind");
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    let (mut s, before, dir) = started(&[]);
    s.signal("TERM");
    assert_eq!(s.wait_exit(), 143);
    s.assert_restored_modes(before, "SIGTERM");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).unwrap(),
        "KEEP=1\n"
    );
}

#[test]
fn sighup_restores_the_terminal_and_exits_129() {
    let (mut s, before, _dir) = started(&[]);
    s.signal("HUP");
    assert_eq!(s.wait_exit(), 129);
    s.assert_restored_modes(before, "SIGHUP");
}

#[cfg(debug_assertions)]
#[test]
fn a_panic_in_a_task_restores_the_terminal_and_exits_1() {
    let (mut s, before, _dir) = started(&[("ZOHO_AUTH_TEST_PANIC", "task")]);
    s.key("j");
    assert_eq!(s.wait_exit(), 1, "{}", s.screen());
    s.assert_restored_modes(before, "panic in a task");
    let text = String::from_utf8_lossy(&s.raw()).into_owned();
    assert!(
        text.contains("ZOHO_AUTH_TEST_PANIC=task"),
        "the panic message is shown"
    );
    assert!(
        text.contains("internal error"),
        "and called an internal error"
    );
}

#[cfg(debug_assertions)]
#[test]
fn a_panic_in_the_event_loop_restores_the_terminal() {
    let (mut s, before, _dir) = started(&[("ZOHO_AUTH_TEST_PANIC", "main")]);
    s.key("j");
    // A bug is the contract's "internal error": exit 1, and the message says so.
    assert_eq!(s.wait_exit(), 1, "{}", s.screen());
    s.assert_restored_modes(before, "panic in the event loop");
    assert!(s.screen().contains("internal error"), "{}", s.screen());
}

#[cfg(debug_assertions)]
#[test]
fn an_internal_error_restores_the_terminal_and_exits_1() {
    let (mut s, before, _dir) = started(&[("ZOHO_AUTH_TEST_PANIC", "error")]);
    s.key("j");
    assert_eq!(s.wait_exit(), 1, "{}", s.screen());
    s.assert_restored_modes(before, "internal error");
    assert!(s.screen().contains("internal error"), "{}", s.screen());
}

#[test]
fn ctrl_c_and_q_restore_the_terminal() {
    for (key, code) in [("\x03", 130), ("q", 130)] {
        let (mut s, before, _dir) = started(&[]);
        s.key(key);
        assert_eq!(s.wait_exit(), code);
        s.assert_restored_modes(before, &format!("key {key:?}"));
    }
}

/// A failed exchange (nothing listens at the accounts URL) is shown in the wizard; quitting from
/// there gives the terminal back.
#[test]
fn a_network_error_is_shown_then_quitting_restores_the_terminal() {
    let dead = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}")
    };
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env");
    let original = format!(
        "ZOHO_CLIENT_ID=1000.{}\nZOHO_CLIENT_SECRET={}\n",
        "A".repeat(30),
        "0".repeat(42)
    );
    std::fs::write(&env_file, &original).unwrap();
    let before = pty::modes(pty::open().master.as_ref());
    let mut s = Session::start(
        &[
            "setup",
            "--accounts-url",
            &dead,
            "--api-domain",
            &dead,
            "--env-file",
            env_file.to_str().unwrap(),
        ],
        dir.path(),
    );
    s.wait_for("Data center");
    s.key("\r");
    s.wait_for("Filled in from the env file");
    s.key("\r");
    s.wait_for("Presets");
    s.key("\r");
    s.wait_for("Generate code");
    s.key("\r");
    s.wait_for("Time left");
    s.paste(&format!("1000.{}.{}", "a".repeat(32), "b".repeat(32)));
    s.wait_for("network");
    s.wait_for("127.0.0.1");
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
    s.assert_restored_modes(before, "network error, then q");
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), original);
}
