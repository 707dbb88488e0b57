//! Crash safety of the real binary: `exchange` and `revoke` are killed with SIGKILL at every
//! step of their env file write (the debug-only pause hook `ZOHO_AUTH_TEST_PAUSE_WRITE` stops the
//! writer there). Whatever the step, the env file is the old one or the complete new one, never a
//! mix; the backup holds the old one once it was written; nothing else is left but hidden temp
//! files; and the next run works. `tests/envfile.rs` does the same for the writer alone.
#![cfg(all(unix, debug_assertions))]

mod support;

use std::path::Path;
use std::time::Duration;

use support::World;
use zoho_auth::auth::envfile::{self, PAUSE_ENV, PAUSE_STEPS};

const OLD_HEAD: &str = "# production\nexport APP_PORT=8080\n";

fn step_index(name: &str) -> usize {
    PAUSE_STEPS.iter().position(|s| *s == name).unwrap()
}

/// Starts `args` with the pause hook on, lets it pass the steps before `stop`, waits until it
/// reaches `stop` and kills it there.
async fn kill_at(w: &World, args: &[&str], secret: &str, stop: usize) {
    let pause = tempfile::tempdir().unwrap();
    for earlier in &PAUSE_STEPS[..stop] {
        std::fs::write(pause.path().join(format!("{earlier}.go")), "").unwrap();
    }
    let mut cmd = w.command(args);
    cmd.env("ZOHO_CLIENT_SECRET", secret)
        .env(PAUSE_ENV, pause.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let reached = pause.path().join(format!("{}.reached", PAUSE_STEPS[stop]));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !reached.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "exited ({status}) before {}: {}",
                PAUSE_STEPS[stop],
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
}

/// Only the env file, its backup and hidden temp files (and the cache folder) are in `dir`.
fn assert_no_stray_files(dir: &Path, what: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name == ".env"
                || name == ".env.bak"
                || name == "cache"
                || (name.starts_with(".env.zoho-auth.") && name.ends_with(".tmp")),
            "{what}: unexpected {name}"
        );
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn exchange_killed_at_every_write_step_leaves_the_old_or_the_new_file() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let base = w.base();
    let old = format!(
        "{OLD_HEAD}ZOHO_CLIENT_ID={}\nZOHO_REFRESH_TOKEN=1000.{}.{}\n",
        client.client_id,
        "a".repeat(32),
        "b".repeat(32)
    );
    for (stop, step) in PAUSE_STEPS.iter().enumerate() {
        let what = format!("exchange killed at {step}");
        std::fs::write(w.env_path(), &old).unwrap();
        let _ = std::fs::remove_file(envfile::backup_path(&w.env_path()));
        let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
        let args = [
            "exchange",
            "--no-test",
            "--accounts-url",
            &base,
            "--client-id",
            &client.client_id,
            "--code",
            &code,
        ];
        kill_at(&w, &args, &client.client_secret, stop).await;

        let now = w.env_text();
        if stop < step_index("renamed") {
            assert_eq!(now, old, "{what}: the old file, byte for byte");
        } else {
            // The whole new file: the untouched lines first, every key, a working grant.
            assert!(now.starts_with(OLD_HEAD), "{what}:\n{now}");
            assert_eq!(
                w.env_get("ZOHO_CLIENT_SECRET").unwrap(),
                client.client_secret
            );
            let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
            assert_ne!(
                refresh,
                format!("1000.{}.{}", "a".repeat(32), "b".repeat(32))
            );
            assert_eq!(mode(&w.env_path()), 0o600, "{what}");
            let check = w.run(&["check", "--json"]).await;
            assert_eq!(
                check.code, 0,
                "{what}: the new file works: {}",
                check.stdout
            );
        }
        let bak = envfile::backup_path(&w.env_path());
        if stop >= step_index("backup-written") {
            assert_eq!(
                std::fs::read_to_string(&bak).unwrap(),
                old,
                "{what}: backup"
            );
            assert_eq!(mode(&bak), 0o600, "{what}: backup mode");
        } else {
            assert!(!bak.exists(), "{what}: no partial backup");
        }
        assert_no_stray_files(w.dir.path(), &what);
    }

    // Temp files left by the kills do not stop the next run.
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let mut cmd = w.command(&[
        "exchange",
        "--no-test",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        &code,
    ]);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    assert_eq!(cmd.output().await.unwrap().status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn revoke_killed_at_every_write_step_leaves_the_old_or_the_new_file() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    for (stop, step) in PAUSE_STEPS.iter().enumerate() {
        let what = format!("revoke killed at {step}");
        std::fs::remove_file(w.env_path()).ok();
        let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let old = format!("{OLD_HEAD}{}", w.env_text());
        std::fs::write(w.env_path(), &old).unwrap();
        let _ = std::fs::remove_file(envfile::backup_path(&w.env_path()));
        let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
        let new: String = old
            .lines()
            .filter(|l| !l.starts_with("ZOHO_REFRESH_TOKEN="))
            .map(|l| format!("{l}\n"))
            .collect();

        kill_at(&w, &["revoke"], &client.client_secret, stop).await;
        let now = w.env_text();
        if stop < step_index("renamed") {
            assert_eq!(now, old, "{what}");
        } else {
            assert_eq!(now, new, "{what}");
        }
        assert!(!now.is_empty());
        let bak = envfile::backup_path(&w.env_path());
        if stop >= step_index("backup-written") {
            assert_eq!(
                std::fs::read_to_string(&bak).unwrap(),
                old,
                "{what}: backup"
            );
        } else {
            assert!(!bak.exists(), "{what}");
        }
        assert_no_stray_files(w.dir.path(), &what);
        if stop < step_index("renamed") {
            // Zoho revoked it before the write began: a rerun removes the line for good.
            let rerun = w.run(&["revoke"]).await;
            assert_eq!(rerun.code, 0, "{what}: {}", rerun.stderr);
            assert!(!w.env_text().contains(&refresh), "{what}");
        }
    }
}
