//! Issue 13 items 3 and 4: a newcomer's path followed literally. The commands run as the real
//! binary against an in-process sandbox (or one that has stopped), with a clean environment.

mod support;

use support::{BIN, World};

/// Runs the binary in `dir` with a clean environment and the env file `dir/.env`.
async fn run_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("ZOHO_AUTH_CACHE_DIR", dir.join("cache"))
        .env("ZOHO_AUTH_HTTP_TIMEOUT", "3")
        .current_dir(dir)
        .arg("--env-file")
        .arg(dir.join(".env"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Item 3: an env file of a sandbox that is not running. Every command that reaches the network
/// says the sandbox is not running and what to run, never "check your internet connection".
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_sandbox_is_named_with_the_command_to_start_it() {
    let w = World::start().await;
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let World { sandbox, dir } = w;
    sandbox.stop().await;
    for args in [
        &["check"][..],
        &["token"],
        &["revoke"],
        &["run", "--", "true"],
        &["api", "/books/v3/organizations"],
    ] {
        // No cached access token: each command must reach the accounts server.
        let _ = std::fs::remove_dir_all(dir.path().join("cache"));
        let (code, stdout, stderr) = run_in(dir.path(), args).await;
        assert_eq!(code, 5, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains("is not running"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("`zoho-auth sandbox` in another terminal"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("internet"), "{args:?}: {stderr}");
    }
}

/// Item 4: `rust-version` is set, is at least every dependency's, and the README states it.
#[test]
fn rust_version_covers_every_dependency_and_the_readme_states_it() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // "1.89" is "1.89.0".
    let parse = |v: &str| -> Vec<u32> {
        let mut parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
        parts.resize(3, 0);
        parts
    };
    let mut ours = None;
    let mut highest = (vec![0], String::new());
    for package in meta["packages"].as_array().unwrap() {
        let Some(v) = package["rust_version"].as_str() else {
            continue;
        };
        if package["name"] == "zoho-auth" {
            ours = Some(v.to_string());
        } else if parse(v) > highest.0 {
            highest = (parse(v), package["name"].as_str().unwrap().to_string());
        }
    }
    let ours = ours.expect("Cargo.toml sets rust-version");
    assert!(
        parse(&ours) >= highest.0,
        "rust-version {ours} is below {}'s {:?}",
        highest.1,
        highest.0
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust {ours}")),
        "README must state Rust {ours}"
    );
}

/// Item 4: every one-shot command ends quietly on a closed pipe (`scopes --json | head -1`), as
/// Unix tools do: killed by SIGPIPE or exit 0, never "internal error".
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    for args in [
        &["scopes", "--json"][..],
        &["scopes"],
        &["completions", "bash"],
    ] {
        let mut child = std::process::Command::new(BIN)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first write.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {:?} {stderr}",
            out.status
        );
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// Item 4: `--dc xx` is an unknown data center (exit 2) for every command that takes it, never
/// "missing credentials".
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_dc_is_a_usage_error_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["check"][..],
        &["check", "--json"],
        &["token"],
        &["revoke"],
        &["api", "/books/v3/organizations"],
        &["run", "--", "true"],
    ] {
        let mut all = vec!["--dc", "xx"];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = run_in(dir.path(), &all).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(
            stderr.contains("Unknown data center \"xx\""),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("missing_credentials"),
            "{args:?}: {stderr}"
        );
    }
}

/// Item 4: `check` shares `token`'s cache. A monitor running it again and again spends at most
/// one refresh (none while the cached token has 5 more minutes), says which it did on stderr and
/// in `--json` (`token`: `cached` or `refreshed`), and `--refresh` forces one.
#[tokio::test(flavor = "multi_thread")]
async fn check_reuses_the_cached_token_and_refresh_forces_one() {
    let w = World::start().await;
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let _ = std::fs::remove_dir_all(w.cache_dir());
    let before = w.sandbox.stats().refreshes;
    let first = w.run(&["check", "--json"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json()["token"], "refreshed");
    assert!(
        first.stderr.contains("refreshed the access token"),
        "{}",
        first.stderr
    );
    for _ in 0..5 {
        let again = w.run(&["check", "--json"]).await;
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!(again.json()["token"], "cached");
        assert!(
            again.stderr.contains("tested the cached access token"),
            "{}",
            again.stderr
        );
        assert!(again.json()["organizations"].is_array());
    }
    let human = w.run(&["check"]).await;
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert_eq!(
        w.sandbox.stats().refreshes - before,
        1,
        "one refresh in seven checks"
    );
    let forced = w.run(&["check", "--json", "--refresh"]).await;
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(forced.json()["token"], "refreshed");
    assert_eq!(w.sandbox.stats().refreshes - before, 2);
    // `token` uses what `check` cached: no refresh.
    let token = w.run(&["token"]).await;
    assert_eq!(token.code, 0, "{}", token.stderr);
    assert_eq!(w.sandbox.stats().refreshes - before, 2);
}

/// Item 4: `--json` is honoured or refused (exit 2), never silently ignored; `token --json`
/// prints the versioned object.
#[tokio::test(flavor = "multi_thread")]
async fn json_is_honoured_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["setup"][..],
        &["reauth"],
        &["login", "--device"],
        &["revoke"],
        &["sandbox", "--port", "0"],
        &["run", "--", "true"],
        &["serve"],
        &["completions", "bash"],
    ] {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = run_in(dir.path(), &all).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(
            stderr.contains("has no JSON output, so --json is refused"),
            "{args:?}: {stderr}"
        );
    }
    let w = World::start().await;
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = w.run(&["token", "--json"]).await;
    assert_eq!(token.code, 0, "{}", token.stderr);
    let json = token.json();
    assert_eq!(json["token_type"], "Zoho-oauthtoken");
    assert!(json["access_token"].as_str().unwrap().starts_with("1000."));
    assert_eq!(json["api_domain"], w.base());
}

/// Item 4: a subcommand's `--help` lists its own options first, the global ones after them under
/// their own heading.
#[test]
fn help_lists_the_commands_own_options_first() {
    for (command, own) in [
        ("check", "--refresh"),
        ("scopes", "--product"),
        ("exchange", "--code"),
        ("sandbox", "--state"),
    ] {
        let out = std::process::Command::new(BIN)
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        let own_at = help
            .find(own)
            .unwrap_or_else(|| panic!("{command}: {help}"));
        let heading = help
            .find("Global options:")
            .unwrap_or_else(|| panic!("{command}: {help}"));
        assert!(own_at < heading, "{command}: {help}");
        assert!(help[heading..].contains("--env-file"), "{command}: {help}");
        assert!(!help[..heading].contains("--env-file"), "{command}: {help}");
    }
}

/// Item 4: `exchange --code <redirect URL>` of a server-based client, without `--redirect-uri`:
/// the redirect URI is the pasted URL's origin and path, and stderr says so.
#[tokio::test(flavor = "multi_thread")]
async fn exchange_takes_the_redirect_uri_from_a_pasted_redirect_url() {
    let w = World::start().await;
    let server = w.sandbox.server_client();
    let base = w.base();
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let auth = http
        .get(format!(
            "{base}/oauth/v2/auth?client_id={}&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2Fcallback&scope=ZohoBooks.fullaccess.all&access_type=offline&_sandbox_auto=approve",
            server.client_id
        ))
        .send()
        .await
        .unwrap();
    let redirect = auth.headers()["location"].to_str().unwrap().to_string();
    assert!(
        redirect.starts_with("http://localhost:8085/callback?"),
        "{redirect}"
    );
    let mut cmd = w.command(&[
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        &server.client_id,
        "--code",
        "-",
        "--no-test",
    ]);
    cmd.env("ZOHO_CLIENT_SECRET", &server.client_secret)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, redirect.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("sending redirect_uri http://localhost:8085/callback (the pasted URL"),
        "{stderr}"
    );
    assert!(w.env_get("ZOHO_REFRESH_TOKEN").is_some());
}
