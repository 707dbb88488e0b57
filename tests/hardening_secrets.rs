//! Secret hygiene. Every command that handles a secret runs with `-v` (the request trace on), on
//! its happy path and its error paths (refusals, faults, bad input, a secret on the command line),
//! and the wizard runs in a pseudo-terminal with `-v` through an error and a successful setup.
//! Every captured byte (stdout, stderr with the trace, every screen the wizard showed, and the raw
//! terminal output) is searched for every secret value used: the client secrets, every code, and
//! every access and refresh token the sandbox issued (`Control::issued_secrets`), whole and in
//! part. None may appear. The one exception is `token`'s stdout, which is the access token by
//! design: it must be exactly that token and a newline.
#![cfg(unix)]

mod support;

use support::{Run, World};
use zoho_auth::sandbox::{Fault, FaultKind, SandboxConfig};

/// Everything the commands printed, with where it came from.
#[derive(Default)]
struct Log {
    entries: Vec<(String, String)>,
}

impl Log {
    fn add(&mut self, label: &str, run: &Run) {
        self.entries
            .push((format!("{label} (stdout)"), run.stdout.clone()));
        self.entries
            .push((format!("{label} (stderr)"), run.stderr.clone()));
    }

    fn add_text(&mut self, label: &str, text: String) {
        self.entries.push((label.to_string(), text));
    }

    /// No secret, nor a 20-character piece from its middle, appears anywhere.
    fn assert_clean(&self, secrets: &[String]) {
        assert!(secrets.len() > 5, "secrets were collected: {secrets:?}");
        for secret in secrets {
            let piece = &secret[secret.len() / 2 - 10..secret.len() / 2 + 10];
            for (label, text) in &self.entries {
                assert!(
                    !text.contains(secret.as_str()) && !text.contains(piece),
                    "a secret ({}) leaked in {label}:\n{text}",
                    zoho_auth::auth::secret::mask(secret)
                );
            }
        }
    }
}

async fn run_logged(w: &World, log: &mut Log, label: &str, args: &[&str]) -> Run {
    let run = w.run(args).await;
    log.add(label, &run);
    run
}

/// `exchange -v` of `code` with the demo client, the secret through the environment.
async fn exchange(w: &World, log: &mut Log, label: &str, code: &str, extra: &[&str]) -> Run {
    let client = w.sandbox.self_client();
    let base = w.base();
    let mut args = vec![
        "exchange",
        "-v",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        code,
    ];
    args.extend_from_slice(extra);
    let mut cmd = w.command(&args);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let out = cmd.output().await.unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    log.add(label, &run);
    run
}

fn fault(path: &str, kind: FaultKind) -> Fault {
    Fault::new(path, kind, 2)
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_prints_a_secret_with_v_on_any_path() {
    let w = World::with_config(SandboxConfig {
        throttle_limit: 4,
        ..SandboxConfig::default()
    })
    .await;
    let client = w.sandbox.self_client();
    let base = w.base();
    let books = "ZohoBooks.fullaccess.all";
    let mut log = Log::default();
    let mut extra_secrets: Vec<String> = Vec::new();

    // exchange: success, then every way it can fail.
    let code = w.sandbox.mint_code(books, 3);
    let run = exchange(&w, &mut log, "exchange ok", &code, &["--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("-> POST"),
        "the trace runs: {}",
        run.stderr
    );
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    let saved_env = w.env_text();

    let run = exchange(&w, &mut log, "exchange reused code", &code, &[]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let run = exchange(
        &w,
        &mut log,
        "exchange refresh token as code",
        &refresh,
        &[],
    )
    .await;
    // The env file's own refresh token is named as one before anything is sent (issue 13).
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = exchange(
        &w,
        &mut log,
        "exchange client secret as code",
        &client.client_secret,
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let code = w.sandbox.mint_code(books, 3);
    let run = exchange(
        &w,
        &mut log,
        "exchange code with a redirect URL around it",
        &format!("https://example.com/cb?code={code}&location=us"),
        &["--no-test"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (kind, path) in [
        (FaultKind::Http500, "/oauth/v2/token"),
        (FaultKind::MalformedJson, "/oauth/v2/token"),
        (FaultKind::Drop, "/oauth/v2/token"),
        (FaultKind::Html503, "/books/v3/organizations"),
    ] {
        w.sandbox.control().inject_fault(fault(path, kind));
        let code = w.sandbox.mint_code(books, 3);
        let run = exchange(&w, &mut log, &format!("exchange {kind:?}"), &code, &[]).await;
        w.sandbox.control().clear_faults();
        assert_eq!(run.code, 5, "{kind:?}: {}", run.stderr);
    }
    // The live test refuses the scopes: the unsaved refresh token is revoked (traced, masked).
    let code = w
        .sandbox
        .mint_code("ZohoCRM.modules.ALL,ZohoCRM.org.READ", 3);
    let run = exchange(
        &w,
        &mut log,
        "exchange scope missing",
        &code,
        &["--product", "books"],
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("token=***"), "{}", run.stderr);

    // A wrong client secret (its value is a secret too) and a secret on the command line.
    let wrong = "0123456789abcdef0123456789abcdef01234567ab".to_string();
    extra_secrets.push(wrong.clone());
    let code = w.sandbox.mint_code(books, 3);
    let run = run_logged(
        &w,
        &mut log,
        "exchange wrong secret on argv",
        &[
            "-v",
            "exchange",
            "--accounts-url",
            &base,
            "--client-id",
            &client.client_id,
            "--client-secret",
            &wrong,
            "--code",
            &code,
        ],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("visible to other users"),
        "{}",
        run.stderr
    );

    // A self_client.json and an appsettings.json.
    let code = w.sandbox.mint_code(books, 3);
    let json_path = w.dir.path().join("self_client.json");
    std::fs::write(
        &json_path,
        format!(
            "{{\"scope\":[\"{books}\"],\"expiry_time\":1,\"client_id\":\"{}\",\"client_secret\":\"{}\",\"code\":\"{code}\",\"grant_type\":\"authorization_code\"}}",
            client.client_id, client.client_secret
        ),
    )
    .unwrap();
    let appsettings = w.dir.path().join("appsettings.json");
    let run = run_logged(
        &w,
        &mut log,
        "exchange self_client.json + appsettings",
        &[
            "exchange",
            "--verbose",
            "--accounts-url",
            &base,
            "--self-client-json",
            json_path.to_str().unwrap(),
            "--appsettings",
            appsettings.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();

    // check: ok, JSON, a fault, the throttle, a wrong-kind value in the file, a revoked token.
    for (label, args) in [
        ("check", vec!["-v", "check"]),
        ("check --json", vec!["check", "-v", "--json"]),
        (
            "check crm (scope missing)",
            vec!["-v", "check", "--product", "crm"],
        ),
    ] {
        run_logged(&w, &mut log, label, &args).await;
    }
    w.sandbox
        .control()
        .inject_fault(fault("/oauth/v2/token", FaultKind::Html503));
    // `--refresh`: a cached token would be tested without reaching the faulty token endpoint.
    let run = run_logged(
        &w,
        &mut log,
        "check 503",
        &["-v", "check", "--json", "--refresh"],
    )
    .await;
    w.sandbox.control().clear_faults();
    assert_eq!(run.code, 5);
    for i in 0..3 {
        run_logged(
            &w,
            &mut log,
            &format!("check to the throttle {i}"),
            &["-v", "check", "--refresh"],
        )
        .await;
    }

    // token: fresh, cached, under a fault. Its stdout is the token by design.
    std::fs::remove_dir_all(w.cache_dir()).ok();
    w.sandbox
        .control()
        .update_config(|c| c.throttle_limit = 100);
    let mut printed = Vec::new();
    for label in ["token", "token cached"] {
        let run = w.run(&["-v", "token"]).await;
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        log.add_text(&format!("{label} (stderr)"), run.stderr.clone());
        printed.push(run.stdout.clone());
    }
    std::fs::remove_dir_all(w.cache_dir()).ok();
    w.sandbox
        .control()
        .inject_fault(fault("/oauth/v2/token", FaultKind::MalformedJson));
    let run = run_logged(&w, &mut log, "token fault", &["-v", "token"]).await;
    w.sandbox.control().clear_faults();
    assert_eq!(run.code, 5);

    // Values of the wrong kind in the env file.
    let good = w.env_text();
    std::fs::write(w.env_path(), good.replace(&refresh, &client.client_secret)).unwrap();
    for command in ["check", "token", "revoke"] {
        let run = run_logged(
            &w,
            &mut log,
            &format!("{command} with a secret as the refresh token"),
            &["-v", command],
        )
        .await;
        assert_eq!(run.code, 2, "{}", run.stderr);
    }
    std::fs::write(w.env_path(), &good).unwrap();

    // revoke: under a fault, then for real, then again (Zoho no longer knows it).
    w.sandbox
        .control()
        .inject_fault(fault("/oauth/v2/token/revoke", FaultKind::Http500));
    let run = run_logged(&w, &mut log, "revoke 500", &["-v", "revoke"]).await;
    w.sandbox.control().clear_faults();
    assert_eq!(run.code, 5);
    let run = run_logged(&w, &mut log, "revoke", &["revoke", "-v"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::write(w.env_path(), &good).unwrap();
    run_logged(&w, &mut log, "revoke again", &["-v", "revoke"]).await;
    std::fs::write(w.env_path(), &good).unwrap();
    let run = run_logged(&w, &mut log, "check revoked", &["-v", "check", "--json"]).await;
    assert_eq!(run.json()["diagnosis"], "refresh_token_revoked");
    run_logged(&w, &mut log, "token revoked", &["-v", "token"]).await;

    // The older env file (first exchange) and no credentials at all.
    std::fs::write(w.env_path(), &saved_env).unwrap();
    run_logged(&w, &mut log, "check old file", &["-v", "check"]).await;
    std::fs::remove_file(w.env_path()).unwrap();
    run_logged(&w, &mut log, "check nothing", &["-v", "check", "--json"]).await;
    run_logged(&w, &mut log, "scopes", &["-v", "scopes", "--json"]).await;

    // The files written are not output, but the messages about them are; `.env` content is not
    // checked here.
    let mut secrets = w.sandbox.control().issued_secrets();
    for c in [
        w.sandbox.self_client(),
        w.sandbox.server_client(),
        w.sandbox.device_client(),
    ] {
        secrets.push(c.client_secret);
    }
    secrets.extend(extra_secrets);
    log.assert_clean(&secrets);

    // `token` printed one issued access token and a newline, nothing else.
    for out in printed {
        let token = out.strip_suffix('\n').expect("one newline");
        assert!(!token.contains('\n'));
        assert!(secrets.iter().any(|s| s == token), "an issued token");
        assert_ne!(token, refresh, "the access token, not the refresh token");
    }
}

#[path = "pty_support/mod.rs"]
mod pty;

/// The wizard with `-v`: the secret pasted into the client step, a value of the wrong kind and
/// a used code pasted (both refused on screen), then a fresh code, verified and saved.
#[test]
fn the_wizard_with_v_never_shows_a_secret() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sandbox = rt
        .block_on(zoho_auth::sandbox::Sandbox::start(SandboxConfig::default()))
        .unwrap();
    let base = sandbox.base_url();
    let demo = sandbox.self_client();
    let books = "ZohoBooks.fullaccess.all";
    let used = sandbox.mint_code(books, 3);
    // Use the code up, as if an earlier attempt had exchanged it.
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch.env");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .args([
            "exchange",
            "--no-test",
            "--accounts-url",
            &base,
            "--env-file",
        ])
        .arg(&scratch)
        .args(["--client-id", &demo.client_id, "--code", &used])
        .env("ZOHO_CLIENT_SECRET", &demo.client_secret)
        .env("ZOHO_AUTH_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    let env = dir.path().join(".env");
    std::fs::write(&env, format!("# app\nZOHO_CLIENT_ID={}\n", demo.client_id)).unwrap();
    let mut s = pty::Session::start(
        &[
            "-v",
            "setup",
            "--accounts-url",
            &base,
            "--api-domain",
            &base,
            "--env-file",
            env.to_str().unwrap(),
        ],
        dir.path(),
    );
    s.wait_for("Data center");
    s.key("\r");
    s.wait_for("Client ID");
    s.key("\t");
    s.paste(&demo.client_secret);
    s.wait_for("(42 chars)");
    s.key("\r");
    s.wait_for("Presets");
    s.key("\r");
    s.wait_for("Generate code");
    s.key("\r");
    s.wait_for("Time left");
    s.paste(&demo.client_secret);
    s.wait_for("client secret");
    s.paste(&used);
    s.wait_for("invalid_code");
    s.key("g");
    s.wait_for("Generate code");
    s.key("\r");
    s.wait_for("Time left");
    let fresh = sandbox.mint_code(books, 3);
    s.paste(&fresh);
    s.wait_for("Token verified");
    s.key("\r");
    s.wait_for("Changes to");
    s.key("\r");
    s.wait_for("Written to");
    s.key("\r");
    assert_eq!(s.wait_exit(), 0, "{}", s.screen());
    let written = std::fs::read_to_string(&env).unwrap();
    assert!(
        written.contains(&demo.client_secret),
        "the secret was saved"
    );

    let mut log = Log::default();
    for (i, screen) in s.screens().into_iter().enumerate() {
        log.add_text(&format!("screen {i}"), screen);
    }
    assert!(log.entries.len() > 10, "screens were captured");
    let screens = s.screens();
    assert!(
        screens.iter().any(|t| t.contains("1000.****… (70 chars)")),
        "the save preview (masked refresh token) was among the screens searched"
    );
    assert!(
        screens
            .iter()
            .any(|t| t.contains("That is a client secret"))
    );
    log.add_text(
        "raw terminal output",
        String::from_utf8_lossy(&s.raw()).into_owned(),
    );
    let mut secrets = sandbox.control().issued_secrets();
    secrets.push(demo.client_secret.clone());
    assert!(secrets.contains(&fresh) && secrets.contains(&used));
    log.assert_clean(&secrets);
    rt.block_on(sandbox.stop());
}

/// Runs `cmd` with stderr read line by line; `on_line` may act on each line (approve a device
/// code, play the browser). Returns the whole run once the process ended.
async fn run_interactive(mut cmd: tokio::process::Command, mut on_line: impl FnMut(&str)) -> Run {
    use tokio::io::AsyncBufReadExt;
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let out_task = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text)
            .await
            .ok();
        text
    });
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    let read_all = async {
        while let Ok(Some(line)) = lines.next_line().await {
            on_line(&line);
            stderr.push_str(&line);
            stderr.push('\n');
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), read_all)
        .await
        .expect("the command ended");
    let status = child.wait().await.unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out_task.await.unwrap(),
        stderr,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_with_v_never_prints_a_secret() {
    let w = World::with_config(SandboxConfig {
        device_interval: std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let base = w.base();
    let books = "ZohoBooks.fullaccess.all";
    let mut log = Log::default();

    // The device flow, approved and then denied.
    for approve in [true, false] {
        let device = w.sandbox.device_client();
        let mut cmd = w.command(&[
            "-v",
            "login",
            "--device",
            "--accounts-url",
            &base,
            "--client-id",
            &device.client_id,
            "--scopes",
            books,
        ]);
        cmd.env("ZOHO_CLIENT_SECRET", &device.client_secret);
        let control = w.sandbox.control();
        let run = run_interactive(cmd, |line| {
            if let Some((_, code)) = line.rsplit_once("enter the code: ") {
                let code = code.trim();
                if approve {
                    control.approve_device(code);
                } else {
                    control.deny_device(code);
                }
            }
        })
        .await;
        assert_eq!(run.code, if approve { 0 } else { 3 }, "{}", run.stderr);
        log.add(&format!("login --device (approve: {approve})"), &run);
    }

    // The browser flow: the test plays the browser, and what the browser shows is output too.
    let server = w.sandbox.server_client();
    let mut cmd = w.command(&[
        "login",
        "--verbose",
        "--browser",
        "--no-open",
        "--accounts-url",
        &base,
        "--client-id",
        &server.client_id,
        "--scopes",
        books,
    ]);
    cmd.env("ZOHO_CLIENT_SECRET", &server.client_secret);
    let pages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = pages.clone();
    let run = run_interactive(cmd, move |line| {
        if line.starts_with("http") && line.contains("/oauth/v2/auth?") {
            let url = format!("{line}&_sandbox_auto=approve");
            let sink = sink.clone();
            tokio::spawn(async move {
                let page = reqwest::get(url).await.unwrap().text().await.unwrap();
                sink.lock().unwrap().push(page);
            });
        }
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("-> POST"), "{}", run.stderr);
    log.add("login --browser", &run);
    for (i, page) in pages.lock().unwrap().iter().enumerate() {
        log.add_text(&format!("browser page {i}"), page.clone());
    }

    let mut secrets = w.sandbox.control().issued_secrets();
    for c in [w.sandbox.server_client(), w.sandbox.device_client()] {
        secrets.push(c.client_secret);
    }
    log.assert_clean(&secrets);
}

/// `reauth` with `-v` in a pseudo-terminal, given an error text that quotes the dead refresh
/// token (as a pasted log line may): neither it nor any new secret is shown.
#[test]
fn reauth_with_v_never_shows_a_secret() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let w = rt.block_on(World::start());
    let books = "ZohoBooks.fullaccess.all";
    let run = rt.block_on(w.exchange(books, &[]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let old = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    w.sandbox.control().revoke(&old);
    let base = w.base();
    let error_text =
        format!("POST /oauth/v2/token refresh_token={old} -> {{\"error\":\"invalid_code\"}}");
    let env = w.env_path();
    let mut s = pty::Session::start(
        &[
            "reauth",
            "-v",
            "--from-error",
            &error_text,
            "--env-file",
            env.to_str().unwrap(),
            "--accounts-url",
            &base,
            "--api-domain",
            &base,
        ],
        w.dir.path(),
    );
    // The seed shows a diagnosis while the live check still runs: wait for its end (the hint).
    s.wait_for("Enter fix it");
    s.key("\r");
    s.wait_for("Zoho keeps at most 20 refresh tokens");
    s.key("\r");
    s.wait_for("Time left");
    let code = w.sandbox.mint_code(books, 3);
    s.paste(&code);
    s.wait_for("Token verified");
    s.key("\r");
    s.wait_for("Changes to");
    s.key("\r");
    s.wait_for("Written to");
    s.key("\r");
    assert_eq!(s.wait_exit(), 0, "{}", s.screen());
    assert_ne!(w.env_get("ZOHO_REFRESH_TOKEN").unwrap(), old);

    let mut log = Log::default();
    for (i, screen) in s.screens().into_iter().enumerate() {
        log.add_text(&format!("screen {i}"), screen);
    }
    log.add_text(
        "raw terminal output",
        String::from_utf8_lossy(&s.raw()).into_owned(),
    );
    let mut secrets = w.sandbox.control().issued_secrets();
    secrets.push(w.sandbox.self_client().client_secret);
    log.assert_clean(&secrets);
    rt.block_on(w.sandbox.stop());
}
