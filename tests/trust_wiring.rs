//! Issue 11, the env file's safety wired through the use-case layer (`auth::save`): no one-time
//! code or sign-in is spent on a save that cannot work (item 7), saves and `revoke` are compare
//! and swap so racing commands cannot lose or delete a token (item 8), and every command that
//! writes says where the backup is and that git ignores it (item 2). The real binary against the
//! in-process sandbox.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{BIN, World};
use zoho_auth::auth::envfile::{PAUSE_ENV, PAUSE_STEPS};

const SCOPE: &str = "ZohoBooks.fullaccess.all";
const CAP: Duration = Duration::from_secs(60);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The binary with a clean environment, the sandbox's cache folder, and `env` as the env file.
fn command(w: &World, env: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", w.dir.path())
        .env("ZOHO_AUTH_CACHE_DIR", w.cache_dir())
        .env("ZOHO_AUTH_HTTP_TIMEOUT", "5")
        .arg("--env-file")
        .arg(env)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// `exchange` of `code` for the demo Self Client (its secret in the environment).
fn exchange(w: &World, env: &Path, code: &str, extra: &[&str]) -> tokio::process::Command {
    let client = w.sandbox.self_client();
    let base = w.base();
    let mut args = vec![
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        code,
        "--no-test",
    ];
    args.extend_from_slice(extra);
    let mut cmd = command(w, env, &args);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    cmd
}

async fn output(mut cmd: tokio::process::Command) -> Run {
    let out = tokio::time::timeout(CAP, cmd.output())
        .await
        .expect("the command ends")
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + CAP;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn env_get(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    dotenvy::from_read_iter(text.as_bytes())
        .filter_map(Result::ok)
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .last()
}

// ----- item 7: no code is spent on a save that cannot work -----

/// The env file's folder does not exist: refused before the code is sent (exit 2, nothing sent);
/// the same code works afterwards. On main the code was sent and burnt, then the write failed.
#[tokio::test(flavor = "multi_thread")]
async fn exchange_into_a_missing_folder_keeps_the_code() {
    let w = World::start().await;
    let env = w.dir.path().join("not-yet").join(".env");
    let code = w.sandbox.mint_code(SCOPE, 5);
    let run = output(exchange(&w, &env, &code, &[])).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("Nothing was sent"), "{}", run.stderr);
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");
    assert!(!env.exists());

    std::fs::create_dir(env.parent().unwrap()).unwrap();
    let run = output(exchange(&w, &env, &code, &[])).await;
    assert_eq!(run.code, 0, "the same code still works: {}", run.stderr);
    assert!(env_get(&env, "ZOHO_REFRESH_TOKEN").is_some());
}

/// An existing env file whose backup place is taken by a folder: refused before sending.
#[tokio::test(flavor = "multi_thread")]
async fn exchange_with_a_blocked_backup_keeps_the_code() {
    let w = World::start().await;
    let env = w.env_path();
    std::fs::write(&env, "OTHER=1\n").unwrap();
    std::fs::create_dir(w.dir.path().join(".env.bak")).unwrap();
    let code = w.sandbox.mint_code(SCOPE, 5);
    let run = output(exchange(&w, &env, &code, &[])).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(".env.bak"), "{}", run.stderr);
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "OTHER=1\n");

    std::fs::remove_dir(w.dir.path().join(".env.bak")).unwrap();
    let run = output(exchange(&w, &env, &code, &[])).await;
    assert_eq!(run.code, 0, "the same code still works: {}", run.stderr);
}

/// `--appsettings` in a folder that does not exist: refused before sending.
#[tokio::test(flavor = "multi_thread")]
async fn exchange_with_an_unwritable_appsettings_keeps_the_code() {
    let w = World::start().await;
    let settings = w.dir.path().join("nowhere").join("appsettings.json");
    let code = w.sandbox.mint_code(SCOPE, 5);
    let run = output(exchange(
        &w,
        &w.env_path(),
        &code,
        &["--appsettings", settings.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");
    assert!(!w.env_path().exists());
}

/// `login --device` into a missing folder: no device code is asked for.
#[tokio::test(flavor = "multi_thread")]
async fn device_login_into_a_missing_folder_asks_for_no_code() {
    let w = World::start().await;
    let env = w.dir.path().join("not-yet").join(".env");
    let client = w.sandbox.device_client();
    let base = w.base();
    let mut cmd = command(
        &w,
        &env,
        &[
            "login",
            "--device",
            "--accounts-url",
            &base,
            "--client-id",
            &client.client_id,
            "--scopes",
            SCOPE,
        ],
    );
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let run = output(cmd).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("Nothing was sent"), "{}", run.stderr);
    assert_eq!(w.sandbox.stats().device_code_requests, 0);
    assert_eq!(w.sandbox.stats().requests, 0, "nothing reached the server");
}

/// `login --browser` into a missing folder: refused before the listener binds or a URL is shown.
#[tokio::test(flavor = "multi_thread")]
async fn browser_login_into_a_missing_folder_starts_nothing() {
    let w = World::start().await;
    let env = w.dir.path().join("not-yet").join(".env");
    let client = w.sandbox.server_client();
    let base = w.base();
    let mut cmd = command(
        &w,
        &env,
        &[
            "login",
            "--browser",
            "--no-open",
            "--redirect-uri",
            "http://127.0.0.1:1/callback",
            "--accounts-url",
            &base,
            "--client-id",
            &client.client_id,
            "--scopes",
            SCOPE,
        ],
    );
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let run = output(cmd).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("open this URL"), "{}", run.stderr);
    assert_eq!(w.sandbox.stats().requests, 0);
}

// ----- item 8: concurrency -----

/// Holds a writer at its first write step (it has the env file's lock by then).
struct Paused {
    dir: PathBuf,
}

impl Paused {
    fn new(w: &World) -> Paused {
        let dir = w.dir.path().join("pause");
        std::fs::create_dir_all(&dir).unwrap();
        Paused { dir }
    }

    async fn reached(&self) {
        let at = self.dir.join(format!("{}.reached", PAUSE_STEPS[0]));
        wait_until("the paused writer", || at.exists()).await;
    }

    fn release(&self) {
        for step in PAUSE_STEPS {
            std::fs::write(self.dir.join(format!("{step}.go")), b"").unwrap();
        }
    }
}

/// Two exchanges race into one env file: the first holds the write lock while the second
/// exchanges its code. The second loses: exit 5, its new token revoked and said, the file keeps
/// the winner's token (which works). On main the second silently overwrote the first, whose
/// refresh token was orphaned.
#[tokio::test(flavor = "multi_thread")]
async fn two_racing_exchanges_keep_one_token_and_revoke_the_losers() {
    let w = World::start().await;
    let env = w.env_path();
    let pause = Paused::new(&w);
    let first_code = w.sandbox.mint_code(SCOPE, 5);
    let second_code = w.sandbox.mint_code(SCOPE, 5);

    let mut first = exchange(&w, &env, &first_code, &[]);
    first.env(PAUSE_ENV, &pause.dir);
    let first = first.spawn().unwrap();
    pause.reached().await;

    let second = exchange(&w, &env, &second_code, &["--json"])
        .spawn()
        .unwrap();
    let control = w.sandbox.control();
    wait_until("the second exchange", || control.stats().exchanges == 2).await;
    pause.release();

    let first = first.wait_with_output().await.unwrap();
    let second = second.wait_with_output().await.unwrap();
    let first_err = String::from_utf8_lossy(&first.stderr);
    let second_err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(first.status.code(), Some(0), "{first_err}");
    assert_eq!(second.status.code(), Some(5), "{second_err}");
    assert!(
        second_err.contains("Another command saved a refresh token"),
        "{second_err}"
    );
    assert!(second_err.contains("revoked at Zoho"), "{second_err}");
    assert!(second.stdout.is_empty(), "no success summary");
    assert_eq!(w.sandbox.stats().revokes, 1, "the loser's token is revoked");

    let text = std::fs::read_to_string(&env).unwrap();
    assert_eq!(text.matches("ZOHO_REFRESH_TOKEN=").count(), 1, "{text}");
    let check = output(command(&w, &env, &["check"])).await;
    assert_eq!(check.code, 0, "the winner's token works: {}", check.stderr);

    // Every other token the sandbox issued (the loser's refresh token among them) is dead.
    let winner = env_get(&env, "ZOHO_REFRESH_TOKEN").unwrap();
    let text = std::fs::read_to_string(&env).unwrap();
    let others: Vec<String> = w
        .sandbox
        .control()
        .issued_secrets()
        .into_iter()
        .filter(|s| *s != winner && *s != first_code && *s != second_code)
        .collect();
    assert!(!others.is_empty());
    let probe = w.dir.path().join("probe.env");
    for other in others {
        std::fs::write(&probe, text.replace(&winner, &other)).unwrap();
        let run = output(command(&w, &probe, &["check"])).await;
        assert_eq!(
            run.code, 3,
            "an issued token still refreshes: {}",
            run.stderr
        );
    }
}

/// `revoke` reads the file, revokes its token, and meanwhile an exchange saves a new one: the new
/// token stays (on main revoke deleted whatever ZOHO_REFRESH_TOKEN held).
#[tokio::test(flavor = "multi_thread")]
async fn revoke_racing_an_exchange_keeps_the_new_token() {
    let w = World::start().await;
    let env = w.env_path();
    let code = w.sandbox.mint_code(SCOPE, 5);
    let run = output(exchange(&w, &env, &code, &[])).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let old = env_get(&env, "ZOHO_REFRESH_TOKEN").unwrap();

    let pause = Paused::new(&w);
    let code = w.sandbox.mint_code(SCOPE, 5);
    let mut newer = exchange(&w, &env, &code, &[]);
    newer.env(PAUSE_ENV, &pause.dir);
    let newer = newer.spawn().unwrap();
    pause.reached().await;

    let revoke = command(&w, &env, &["revoke"]).spawn().unwrap();
    let control = w.sandbox.control();
    wait_until("the revoke", || control.stats().revokes == 1).await;
    pause.release();

    let newer = newer.wait_with_output().await.unwrap();
    assert_eq!(
        newer.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&newer.stderr)
    );
    let revoke = revoke.wait_with_output().await.unwrap();
    let revoke_err = String::from_utf8_lossy(&revoke.stderr);
    assert_eq!(revoke.status.code(), Some(0), "{revoke_err}");
    assert!(
        revoke_err.contains("a newer refresh token was saved"),
        "{revoke_err}"
    );
    let now = env_get(&env, "ZOHO_REFRESH_TOKEN").expect("the new token stays");
    assert_ne!(now, old);
    let check = output(command(&w, &env, &["check"])).await;
    assert_eq!(check.code, 0, "the new token works: {}", check.stderr);
}

/// Without a race, `revoke` still removes the line it revoked, and says where the backup is.
#[tokio::test(flavor = "multi_thread")]
async fn revoke_removes_its_token_and_names_the_backup() {
    let w = World::start().await;
    let env = w.env_path();
    let code = w.sandbox.mint_code(SCOPE, 5);
    assert_eq!(output(exchange(&w, &env, &code, &[])).await.code, 0);
    let run = output(command(&w, &env, &["revoke"])).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(env_get(&env, "ZOHO_REFRESH_TOKEN").is_none());
    let backup = w.dir.path().join(".env.bak");
    assert!(
        run.stderr.contains(&format!(
            "the previous file is kept as {}",
            backup.display()
        )),
        "{}",
        run.stderr
    );
}

// ----- item 2: every write says where the backup is -----

/// A second exchange over an existing file names the backup (stderr and `--json`); in a git
/// repository that ignores `.env` the backup gets its `.gitignore` line, and it is said.
#[tokio::test(flavor = "multi_thread")]
async fn exchange_names_the_backup_and_its_gitignore() {
    let w = World::start().await;
    let env = w.env_path();
    let first = w.sandbox.mint_code(SCOPE, 5);
    let run = output(exchange(&w, &env, &first, &["--json"])).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stderr.contains("previous file is kept"),
        "no old file, no backup: {}",
        run.stderr
    );
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["backup"], serde_json::Value::Null, "{json}");

    let git = std::process::Command::new("git")
        .arg("init")
        .arg("-q")
        .arg(w.dir.path())
        .status();
    let in_git = git.is_ok_and(|s| s.success());
    if in_git {
        std::fs::write(w.dir.path().join(".gitignore"), ".env\n").unwrap();
    }

    let second = w.sandbox.mint_code(SCOPE, 5);
    let run = output(exchange(&w, &env, &second, &["--json"])).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let backup = w.dir.path().join(".env.bak");
    assert!(backup.exists());
    assert!(
        run.stderr.contains(&format!(
            "the previous file is kept as {}",
            backup.display()
        )),
        "{}",
        run.stderr
    );
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["backup"], backup.display().to_string(), "{json}");
    if in_git {
        let gitignore = w.dir.path().join(".gitignore");
        assert!(
            run.stderr.contains(&format!(
                "added the backup to {} so git does not show it",
                gitignore.display()
            )),
            "{}",
            run.stderr
        );
        assert_eq!(json["backup_gitignore"], gitignore.display().to_string());
    }
}
