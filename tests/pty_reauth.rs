//! End-to-end `zoho-auth reauth`: the real binary in a pseudo-terminal (portable-pty + vt100)
//! against the in-process sandbox. A working env file is made with `exchange`, its refresh token is
//! revoked server-side, and reauth must diagnose it and write a new, verified token with one code;
//! a reauth that fails anywhere leaves every file as it was. Waits for text, never a fixed sleep.

#[path = "support/mod.rs"]
mod support;

#[path = "pty_support/mod.rs"]
mod pty;

use std::path::{Path, PathBuf};

use pty::Session;
use support::{World, snapshot_dir};
use zoho_auth::sandbox::{Fault, FaultKind};

const BOOKS: &str = "ZohoBooks.fullaccess.all";

/// A sandbox, and an env file of a working Books setup with the user's own lines around it.
struct Broken {
    rt: tokio::runtime::Runtime,
    world: World,
    old_refresh: String,
}

impl Broken {
    /// A working setup whose refresh token was then revoked at Zoho (server-side).
    fn revoked() -> Broken {
        let b = Broken::working();
        assert!(matches!(
            b.world.sandbox.control().revoke(&b.old_refresh),
            zoho_auth::sandbox::ControlOutcome::Done
        ));
        b
    }

    fn working() -> Broken {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let world = rt.block_on(World::start());
        std::fs::write(
            world.env_path(),
            "# my app\nexport DATABASE_URL=\"postgres://localhost/app\"\n\n",
        )
        .unwrap();
        let run = rt.block_on(world.exchange(BOOKS, &[]));
        assert_eq!(run.code, 0, "exchange failed: {}", run.stderr);
        let mut text = world.env_text();
        text.push_str("# below the Zoho keys\nLOG_LEVEL=debug\n");
        std::fs::write(world.env_path(), text).unwrap();
        let old_refresh = world
            .env_get("ZOHO_REFRESH_TOKEN")
            .expect("a refresh token");
        Broken {
            rt,
            world,
            old_refresh,
        }
    }

    fn env(&self) -> PathBuf {
        self.world.env_path()
    }

    fn reauth(&self, extra: &[&str]) -> Session {
        let base = self.world.base();
        let env = self.env();
        let mut args = vec![
            "reauth",
            "--env-file",
            env.to_str().unwrap(),
            "--accounts-url",
            &base,
            "--api-domain",
            &base,
        ];
        args.extend_from_slice(extra);
        Session::start(&args, self.world.dir.path())
    }

    fn mint(&self) -> String {
        self.world.sandbox.mint_code(BOOKS, 3)
    }

    /// Every file beside the env file (the env file, its backup), byte for byte.
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        snapshot_dir(self.world.dir.path())
    }
}

#[test]
fn after_a_server_side_revoke_one_new_code_writes_a_verified_token() {
    let b = Broken::revoked();
    let before = std::fs::read(b.env()).unwrap();
    let refreshes_before = b.world.sandbox.stats().refreshes;
    let mut s = b.reauth(&[
        "--from-error",
        r#"{"code":57,"message":"You are not authorized to perform this operation"}"#,
    ]);
    s.wait_for("refresh_token_revoked");
    s.wait_for("Enter fix it");
    let diagnosis = s.screen();
    assert!(
        diagnosis.contains("✗ Refresh an access token"),
        "{diagnosis}"
    );
    assert!(
        diagnosis.contains("where the error you gave read as"),
        "{diagnosis}"
    );
    s.key("\r");
    s.wait_for("only a new code is needed");
    s.wait_for("Zoho keeps at most 20 refresh tokens");
    s.key("\r"); // 3 minutes: the countdown starts
    s.wait_for("Time left");
    let code = b.mint();
    s.paste(&code);
    s.wait_for("Token verified");
    s.key("\r");
    s.wait_for("Changes to");
    s.key("\r");
    s.wait_for("Written to");
    s.wait_for("already dead: nothing to revoke");
    assert!(!s.screen().contains(&code));
    s.key("\r");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    s.wait_for("verified (exchange, refresh, live test), was written to");
    assert_eq!((s.keys, s.pastes), (5, 1));

    // A new refresh token, verified by a refresh before it was written.
    let new_refresh = b.world.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    assert_ne!(new_refresh, b.old_refresh);
    let stats = b.world.sandbox.stats();
    // The check's refresh (refused) and the verification's refresh of the new token.
    assert_eq!(stats.refreshes - refreshes_before, 2);
    // The previous file is the backup, byte for byte; the user's lines survive.
    let backup = std::fs::read(envfile_backup(&b.env())).unwrap();
    assert_eq!(backup, before);
    let text = b.world.env_text();
    assert!(
        text.starts_with("# my app\nexport DATABASE_URL=\"postgres://localhost/app\"\n"),
        "{text}"
    );
    assert!(
        text.ends_with("# below the Zoho keys\nLOG_LEVEL=debug\n"),
        "{text}"
    );
    assert_eq!(b.world.env_get("ZOHO_SCOPES").as_deref(), Some(BOOKS));
    assert_eq!(b.world.env_get("ZOHO_ACCOUNTS_URL"), Some(b.world.base()));
    // And it works: `check` passes on the written file.
    let check = b.rt.block_on(b.world.run(&["check"]));
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn a_live_old_token_is_revoked_only_after_the_new_one_is_saved() {
    let b = Broken::working();
    // The token works, but the user wants it re-issued anyway (`g`), then revokes the old one.
    let mut s = b.reauth(&[]);
    s.wait_for("ok: nothing needs re-authorizing");
    s.key("g");
    s.wait_for("start countdown");
    s.key("\r");
    s.wait_for("Time left");
    s.paste(&b.mint());
    s.wait_for("Token verified");
    s.key("\r");
    s.wait_for("Changes to");
    // Not revoked yet: the old token still refreshes.
    assert_eq!(b.world.sandbox.stats().revokes, 0);
    s.key("\r");
    s.wait_for("r revokes it");
    assert_eq!(b.world.sandbox.stats().revokes, 0);
    s.key("r");
    s.wait_for("The old refresh token is revoked");
    s.key("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    assert_eq!(b.world.sandbox.stats().revokes, 1);
    let new_refresh = b.world.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    assert_ne!(new_refresh, b.old_refresh);
    let check = b.rt.block_on(b.world.run(&["check"]));
    assert_eq!(check.code, 0, "{}", check.stderr);
    // The old one is dead at Zoho.
    let env = b.world.env_text().replace(&new_refresh, &b.old_refresh);
    std::fs::write(b.env(), env).unwrap();
    let check = b.rt.block_on(b.world.run(&["check", "--json"]));
    assert_eq!(check.json()["diagnosis"], "refresh_token_revoked");
}

fn envfile_backup(env: &Path) -> PathBuf {
    zoho_auth::auth::envfile::backup_path(env)
}

/// Runs a reauth of a revoked token to the Paste step, lets `fail` break it, and checks that the
/// run ends with `exit` and every file is byte-identical.
fn fails_without_a_trace(name: &str, fail: impl FnOnce(&Broken, &mut Session), exit: u32) {
    let b = Broken::revoked();
    let before = b.files();
    let mut s = b.reauth(&[]);
    s.wait_for("Enter fix it");
    s.key("\r");
    s.wait_for("only a new code is needed");
    s.key("\r");
    s.wait_for("Time left");
    fail(&b, &mut s);
    assert_eq!(s.wait_exit(), exit, "{name}:\n{}", s.screen());
    s.assert_restored();
    assert_eq!(b.files(), before, "{name}: a file changed");
}

#[test]
fn a_bad_code_leaves_every_file_byte_identical() {
    fails_without_a_trace(
        "invalid_code",
        |_, s| {
            s.paste("1000.00000000000000000000000000000000.00000000000000000000000000000000");
            s.wait_for("invalid_code");
            s.key("q");
        },
        130,
    );
}

#[test]
fn a_token_endpoint_fault_leaves_every_file_byte_identical() {
    fails_without_a_trace(
        "token endpoint 500",
        |b, s| {
            b.world.sandbox.control().inject_fault(Fault::new(
                "/oauth/v2/token",
                FaultKind::Http500,
                1,
            ));
            s.paste(&b.mint());
            s.wait_for("server_error");
            s.key("q");
        },
        130,
    );
}

#[test]
fn a_failing_live_test_leaves_every_file_byte_identical() {
    fails_without_a_trace(
        "probe 503",
        |b, s| {
            b.world.sandbox.control().inject_fault(Fault::new(
                "/books/v3/organizations",
                FaultKind::Html503,
                1,
            ));
            s.paste(&b.mint());
            s.wait_for("server_error");
            // The new token was exchanged but will not be saved: it is revoked, not left to
            // count against Zoho's 20 per client. The old one is left alone.
            assert_eq!(b.world.sandbox.stats().revokes, 1);
            s.key("q");
        },
        130,
    );
}

#[test]
fn a_new_token_that_does_not_refresh_is_not_written() {
    fails_without_a_trace(
        "refresh throttled",
        |b, s| {
            b.world
                .sandbox
                .control()
                .update_config(|c| c.throttle_limit = 0);
            s.paste(&b.mint());
            s.wait_for("refreshing it failed");
            s.wait_for("rate_limited");
            assert_eq!(b.world.sandbox.stats().revokes, 1);
            s.key("q");
        },
        130,
    );
}

#[test]
fn quitting_mid_way_leaves_every_file_byte_identical() {
    fails_without_a_trace("Ctrl+C", |_, s| s.key("\x03"), 130);
}

#[test]
fn quitting_on_the_diagnosis_exits_with_its_class_and_changes_nothing() {
    let b = Broken::revoked();
    let before = b.files();
    let mut s = b.reauth(&[]);
    s.wait_for("Enter fix it");
    s.key("q");
    assert_eq!(s.wait_exit(), 3);
    s.assert_restored();
    // The diagnosis outlives the screen.
    s.wait_for("(refresh_token_revoked). Nothing was changed.");
    assert_eq!(b.files(), before);
}

#[test]
fn a_server_failure_says_nothing_changed_and_retries() {
    let b = Broken::revoked();
    let before = b.files();
    b.world
        .sandbox
        .control()
        .inject_fault(Fault::new("/oauth/v2/token", FaultKind::Html503, 1));
    let mut s = b.reauth(&[]);
    s.wait_for("Nothing was changed");
    s.wait_for("r checks again");
    s.key("r");
    s.wait_for("refresh_token_revoked");
    s.wait_for("Enter fix it");
    s.key("q");
    assert_eq!(s.wait_exit(), 3);
    assert_eq!(b.files(), before);
}

#[cfg(unix)]
#[test]
fn the_error_text_can_come_on_stdin_while_keys_come_from_the_terminal() {
    let b = Broken::revoked();
    let before = b.files();
    let base = b.world.base();
    let script = format!(
        "printf '%s' '{{\"error\":\"invalid_code\"}}' | exec '{}' reauth --from-error - --env-file '{}' --accounts-url {base} --api-domain {base}",
        env!("CARGO_BIN_EXE_zoho-auth"),
        b.env().display()
    );
    let mut s = Session::start_program("/bin/sh", &["-c", &script], b.world.dir.path(), &[]);
    s.wait_for("The live check confirms the error you gave (refresh_token_revoked)");
    s.key("q");
    assert_eq!(s.wait_exit(), 3);
    s.assert_restored();
    assert_eq!(b.files(), before);
}

#[test]
fn without_a_terminal_it_points_to_check_and_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .arg("reauth")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zoho-auth check"), "{err}");
}
