//! End-to-end: the wizard's browser and device sign-ins, the real binary in a pseudo-terminal
//! against the in-process sandbox. The test plays the browser (it reads the URL from the screen
//! and GETs it with `_sandbox_auto=approve|deny`, following the redirect to the wizard's listener)
//! and the person approving a device code (`approve_device`). No fixed sleeps.

#[path = "pty_support/mod.rs"]
mod pty;
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use pty::{ESC, RIGHT, Session};
use support::{World, lock_port_8085, snapshot_dir};
use zoho_auth::sandbox::{ControlOutcome, Fault, FaultKind, SandboxConfig};

const BOOKS: &str = "ZohoBooks.fullaccess.all";

/// A sandbox and an env file holding `client`'s id and secret (no DC: the wizard starts at the
/// data-center step, as `--accounts-url` wants).
fn world_with(
    config: SandboxConfig,
    client: impl Fn(&World) -> (String, String),
) -> (tokio::runtime::Runtime, World) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let world = rt.block_on(World::with_config(config));
    let (id, secret) = client(&world);
    std::fs::write(
        world.env_path(),
        format!("# my app\nZOHO_CLIENT_ID={id}\nZOHO_CLIENT_SECRET={secret}\n"),
    )
    .unwrap();
    (rt, world)
}

fn server_client(w: &World) -> (String, String) {
    let c = w.sandbox.server_client();
    (c.client_id, c.client_secret)
}

fn device_client(w: &World) -> (String, String) {
    let c = w.sandbox.device_client();
    (c.client_id, c.client_secret)
}

fn self_client(w: &World) -> (String, String) {
    let c = w.sandbox.self_client();
    (c.client_id, c.client_secret)
}

fn setup(world: &World) -> Session {
    let base = world.base();
    let env = world.env_path();
    Session::start(
        &[
            "setup",
            "--accounts-url",
            &base,
            "--api-domain",
            &base,
            "--env-file",
            env.to_str().unwrap(),
        ],
        world.dir.path(),
    )
}

/// Through the DC and Client steps with the sign-in `rights` presses of → away from the Self
/// Client, then the Books preset on the Scopes step.
fn to_sign_in(s: &mut Session, rights: usize) {
    s.wait_for("Data center");
    s.key("\r");
    s.wait_for("Filled in from the env file");
    for _ in 0..rights {
        s.key(RIGHT);
    }
    match rights {
        1 => s.wait_for("(•) Server-based client"),
        2 => s.wait_for("(•) Non-browser client"),
        _ => {}
    }
    s.key("\r");
    s.wait_for("Presets");
    s.key("\r");
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Plays the browser: the URL with the sandbox's auto answer, redirects followed to the listener.
fn consent(rt: &tokio::runtime::Runtime, url: &str, answer: &str) -> String {
    rt.block_on(async {
        let page = browser()
            .get(format!("{url}&_sandbox_auto={answer}"))
            .send()
            .await
            .expect("the listener answers");
        page.text().await.unwrap()
    })
}

/// Waits until 127.0.0.1:8085 can be bound again (the cancelled listener is gone).
fn port_is_freed() -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpListener::bind("127.0.0.1:8085").is_ok() {
            return true;
        }
        std::thread::park_timeout(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_browser_sign_in_writes_the_env_file() {
    let _port = lock_port_8085();
    let (rt, world) = world_with(SandboxConfig::default(), server_client);
    let base = world.base();
    let mut s = setup(&world);
    to_sign_in(&mut s, 1);
    let url = s.sign_in_url();
    assert!(
        url.starts_with(&format!("{base}/oauth/v2/auth?")),
        "{url}\n{}",
        s.screen()
    );
    assert!(
        url.contains("redirect_uri=http%3A%2F%2Flocalhost%3A8085%2Fcallback"),
        "{url}"
    );
    // No display in the test: the wizard says where to open it and never tries.
    s.wait_for("No browser can be opened here");
    let page = consent(&rt, &url, "approve");
    assert!(page.to_lowercase().contains("close"), "{page}");
    s.wait_for("Token verified");
    s.key("\r");
    s.wait_for("Changes to");
    s.key("\r");
    s.wait_for("Written to");
    s.key("\r");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    // DC, →, Enter, preset, then Live test, Save and Done.
    assert_eq!((s.keys, s.pastes), (7, 0));
    let text = world.env_text();
    assert!(text.starts_with("# my app\n"), "{text}");
    assert!(
        world
            .env_get("ZOHO_REFRESH_TOKEN")
            .unwrap()
            .starts_with("1000.")
    );
    assert_eq!(world.env_get("ZOHO_ACCOUNTS_URL"), Some(base));
    assert_eq!(world.env_get("ZOHO_SCOPES").as_deref(), Some(BOOKS));
    let stats = world.sandbox.stats();
    assert_eq!((stats.auth_requests, stats.exchanges), (1, 1));
    let check = rt.block_on(world.run(&["check"]));
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn a_denied_browser_sign_in_retries_and_esc_frees_the_port() {
    let _port = lock_port_8085();
    let (rt, world) = world_with(SandboxConfig::default(), server_client);
    let before = snapshot_dir(world.dir.path());
    let mut s = setup(&world);
    to_sign_in(&mut s, 1);
    let first = s.sign_in_url();
    consent(&rt, &first, "deny");
    s.wait_for("Access was denied on Zoho's consent page");
    s.wait_for("Enter/r try again");
    // Enter: a new listener and a new state.
    s.key("\r");
    let second = s.wait_screen("a new sign-in URL", |screen| {
        screen.contains("/oauth/v2/auth?") && !screen.contains("Access was denied")
    });
    let second_url = s.sign_in_url();
    assert_ne!(second_url, first, "{second}");
    // The first URL's state is stale now: its redirect is refused, the code never exchanged.
    consent(&rt, &first, "approve");
    s.wait_for("does not carry the state this sign-in sent");
    s.key("r");
    s.wait_for("Waiting for you to sign in");
    // Esc cancels: the scopes again, and the port is free at once.
    s.key(ESC);
    s.wait_for("Presets");
    assert!(port_is_freed(), "the listener still holds 127.0.0.1:8085");
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
    s.assert_restored();
    assert_eq!(world.sandbox.stats().exchanges, 0);
    assert_eq!(snapshot_dir(world.dir.path()), before);
}

#[test]
fn a_busy_port_is_diagnosed_with_cause_and_fix() {
    let _port = lock_port_8085();
    let (_rt, world) = world_with(SandboxConfig::default(), server_client);
    let squatter = std::net::TcpListener::bind("127.0.0.1:8085").expect("the lock keeps it free");
    let mut s = setup(&world);
    to_sign_in(&mut s, 1);
    s.wait_for("Cannot listen on 127.0.0.1:8085");
    s.wait_for("Fix:");
    drop(squatter);
    s.key("r");
    s.wait_for("Waiting for you to sign in");
    s.key("\x03");
    assert_eq!(s.wait_exit(), 130);
    s.assert_restored();
}

#[test]
fn a_device_sign_in_approved_elsewhere_writes_the_env_file() {
    let config = SandboxConfig {
        device_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    let (rt, world) = world_with(config, device_client);
    let base = world.base();
    let mut s = setup(&world);
    to_sign_in(&mut s, 2);
    s.wait_for("1. Open");
    let code = s.word_after("2. Enter");
    assert!(s.screen().contains("/oauth/v3/device"), "{}", s.screen());
    assert!(matches!(
        world.sandbox.control().approve_device(&code),
        ControlOutcome::Done
    ));
    s.wait_for("Token verified");
    s.key("\r");
    s.wait_for("Changes to");
    s.key("\r");
    s.wait_for("Written to");
    s.key("\r");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    assert!(!world.env_get("ZOHO_REFRESH_TOKEN").unwrap().is_empty());
    assert_eq!(world.env_get("ZOHO_ACCOUNTS_URL"), Some(base));
    let stats = world.sandbox.stats();
    assert_eq!(stats.device_code_requests, 1);
    assert!(stats.device_polls >= 1);
    let check = rt.block_on(world.run(&["check"]));
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn a_denied_device_code_says_so_and_writes_nothing() {
    let config = SandboxConfig {
        device_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    let (_rt, world) = world_with(config, device_client);
    let before = snapshot_dir(world.dir.path());
    let mut s = setup(&world);
    to_sign_in(&mut s, 2);
    let code = s.word_after("2. Enter");
    assert!(matches!(
        world.sandbox.control().deny_device(&code),
        ControlOutcome::Done
    ));
    s.wait_for("Access was denied on the verification page");
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
    assert_eq!(snapshot_dir(world.dir.path()), before);
}

#[test]
fn a_new_token_whose_live_test_fails_is_revoked_not_left_behind() {
    let (_rt, world) = world_with(SandboxConfig::default(), self_client);
    let before = snapshot_dir(world.dir.path());
    let mut s = setup(&world);
    to_sign_in(&mut s, 0);
    s.wait_for("start countdown");
    s.key("\r");
    s.wait_for("Time left");
    world.sandbox.control().inject_fault(Fault::new(
        "/books/v3/organizations",
        FaultKind::Html503,
        1,
    ));
    s.paste(&world.sandbox.mint_code(BOOKS, 3));
    s.wait_for("server_error");
    let stats = world.sandbox.stats();
    assert_eq!((stats.exchanges, stats.revokes), (1, 1));
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
    assert_eq!(snapshot_dir(world.dir.path()), before);
}
