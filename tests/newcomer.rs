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

/// Item 4: `--dc xx` is an unknown data center (exit 2) for every command, checked before
/// anything else: never "missing credentials" (`login` and `exchange` without a client), never a
/// refused `--json`.
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
        &["login", "--device"],
        &["login", "--browser", "--no-open"],
        &["exchange", "--code", "1000.cccc.dddd"],
        &["exchange", "--code", "1000.cccc.dddd", "--json"],
        &["serve"],
        &["tenants"],
        &["scopes"],
        &["setup"],
        &["reauth"],
        &["revoke", "--json"],
        &["completions", "bash"],
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
            !stderr.contains("missing_credentials") && !stderr.contains("No client"),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            2,
            "{args:?}: only the cause and fix: {stderr}"
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

/// The global options, as `--help` names them.
const GLOBALS: [&str; 10] = [
    "--env-file",
    "--accounts-url",
    "--api-domain",
    "--dc",
    "--json",
    "--verbose",
    "--store",
    "--tenant",
    "--layout",
    "--table",
];

/// Whether `help` lists option `flag` (a line of the options table, not a mention in a text).
fn lists(help: &str, flag: &str) -> bool {
    help.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("-v, ").unwrap_or(line);
        line.strip_prefix(flag)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '<']))
    })
}

/// Item 4: a subcommand's `--help` (and `help SUBCOMMAND`) lists its own options first, then
/// under their own heading only the global options that mean something there: `scopes` none of
/// the grant or store ones, `sandbox` and `completions` none at all, `--json` only where it is
/// honoured.
#[test]
fn help_lists_the_commands_own_options_then_only_the_globals_that_apply() {
    let grant_and_store = [
        "--env-file",
        "--accounts-url",
        "--api-domain",
        "--dc",
        "--verbose",
        "--store",
        "--tenant",
        "--layout",
        "--table",
    ];
    let with_json = [&grant_and_store[..], &["--json"]].concat();
    let cases: [(&str, Option<&str>, &[&str]); 14] = [
        ("setup", Some("--sandbox"), &grant_and_store),
        ("reauth", Some("--from-error"), &grant_and_store),
        ("exchange", Some("--code"), &with_json),
        ("login", Some("--device"), &grant_and_store),
        ("check", Some("--refresh"), &with_json),
        ("token", None, &with_json),
        ("revoke", None, &grant_and_store),
        (
            "tenants",
            None,
            &["--store", "--layout", "--table", "--json"],
        ),
        ("scopes", Some("--product"), &["--json"]),
        ("sandbox", Some("--state"), &[]),
        ("api", Some("--paginate"), &with_json),
        ("run", None, &grant_and_store),
        ("serve", Some("--listen"), &grant_and_store),
        ("completions", None, &[]),
    ];
    // Every subcommand is here: a new one must decide which global options mean something for it.
    let mut all: Vec<String> = zoho_auth::cli::command()
        .get_subcommands()
        .map(|sc| sc.get_name().to_string())
        .collect();
    let mut listed: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
    all.sort();
    listed.sort();
    assert_eq!(all, listed);
    for (command, own, shown) in cases {
        let out = std::process::Command::new(BIN)
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        let via_help = std::process::Command::new(BIN)
            .args(["help", command])
            .output()
            .unwrap();
        assert!(via_help.status.success(), "help {command}");
        assert_eq!(String::from_utf8_lossy(&via_help.stdout), help, "{command}");
        for flag in GLOBALS {
            assert_eq!(
                lists(&help, flag),
                shown.contains(&flag),
                "{command} --help and {flag}:\n{help}"
            );
        }
        let heading = help.find("Global options:");
        assert_eq!(heading.is_some(), !shown.is_empty(), "{command}: {help}");
        if let (Some(own), Some(heading)) = (own, heading) {
            let own_at = help
                .find(own)
                .unwrap_or_else(|| panic!("{command}: {help}"));
            assert!(own_at < heading, "{command}: {help}");
        }
    }
    // The command without a subcommand (the wizard) lists every global option.
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in GLOBALS {
        assert!(lists(&help, flag), "--help and {flag}:\n{help}");
    }
}

/// Item 4: a global option hidden from a subcommand's help is still accepted there, before or
/// after the subcommand (design.md), and its value still reaches the command.
#[test]
fn hidden_global_options_are_still_accepted() {
    use clap::FromArgMatches;
    let everything = [
        "--env-file",
        "elsewhere.env",
        "--accounts-url",
        "http://127.0.0.1:9",
        "--api-domain",
        "http://127.0.0.1:9",
        "--dc",
        "eu",
        "-v",
        "--store",
        "sqlite:unused.db",
        "--tenant",
        "t1",
        "--layout",
        "zoho-sdk",
        "--table",
        "t2",
    ];
    for command in [
        &["scopes"][..],
        &["sandbox"],
        &["completions", "bash"],
        &["tenants"],
    ] {
        for after in [false, true] {
            let mut argv = vec!["zoho-auth"];
            if after {
                argv.extend_from_slice(command);
                argv.extend_from_slice(&everything);
            } else {
                argv.extend_from_slice(&everything);
                argv.extend_from_slice(command);
            }
            let matches = zoho_auth::cli::command()
                .try_get_matches_from(&argv)
                .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let cli = zoho_auth::cli::Cli::from_arg_matches(&matches).unwrap();
            let g = &cli.global;
            assert_eq!(
                g.env_file,
                std::path::Path::new("elsewhere.env"),
                "{argv:?}"
            );
            assert_eq!(g.accounts_url.as_deref(), Some("http://127.0.0.1:9"));
            assert_eq!(g.api_domain.as_deref(), Some("http://127.0.0.1:9"));
            assert_eq!(g.dc.as_deref(), Some("eu"), "{argv:?}");
            assert!(g.verbose, "{argv:?}");
            assert_eq!(g.store.as_deref(), Some("sqlite:unused.db"), "{argv:?}");
            assert_eq!(g.tenant, "t1", "{argv:?}");
            assert_eq!(g.layout.as_deref(), Some("zoho-sdk"), "{argv:?}");
            assert_eq!(g.table.as_deref(), Some("t2"), "{argv:?}");
        }
    }
    // And the real binary runs with them: `scopes --json` is honoured.
    let mut args = vec!["scopes", "--json"];
    args.extend_from_slice(&everything);
    let out = std::process::Command::new(BIN)
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["groups"].is_array(), "{json}");
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

/// Item 4: `exchange --code` given a refresh token names it as one (exit 2) and sends nothing:
/// labelled (the env file's line pasted, even with no client configured), or bare and equal to
/// the env file's `ZOHO_REFRESH_TOKEN`. The same rule as the wizard's Paste screen
/// (`auth::clean::clean_code_paste_knowing`).
#[tokio::test(flavor = "multi_thread")]
async fn exchange_names_a_pasted_refresh_token_as_one() {
    let fake = format!("1000.{}.{}", "c".repeat(32), "d".repeat(32));
    let dir = tempfile::tempdir().unwrap();
    let labelled = format!("ZOHO_REFRESH_TOKEN={fake}");
    let (code, stdout, stderr) = run_in(dir.path(), &["exchange", "--code", &labelled]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("This is a refresh token, not a code"),
        "{stderr}"
    );
    assert!(!stderr.contains("No client"), "{stderr}");
    assert!(!stderr.contains(&fake[5..20]), "{stderr}");

    let w = World::start().await;
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let saved = w.env_get("ZOHO_REFRESH_TOKEN").expect("a refresh token");
    let env_before = w.env_text();
    let before = w.sandbox.stats().token_requests;
    let base = w.base();
    for paste in [
        saved.clone(),
        format!("ZOHO_REFRESH_TOKEN={saved}\n"),
        format!("\"{saved}\""),
    ] {
        let run = w
            .run_stdin(
                &[
                    "exchange",
                    "--accounts-url",
                    &base,
                    "--code",
                    "-",
                    "--no-test",
                ],
                &paste,
            )
            .await;
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(
            run.stderr.contains("This is a refresh token, not a code"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains(&saved[5..20]), "{}", run.stderr);
    }
    let bare = w
        .run_stdin(
            &[
                "exchange",
                "--accounts-url",
                &base,
                "--code",
                "-",
                "--no-test",
            ],
            &saved,
        )
        .await;
    assert!(
        bare.stderr.contains("already in the env file"),
        "{}",
        bare.stderr
    );
    assert_eq!(w.sandbox.stats().token_requests, before, "nothing was sent");
    assert_eq!(w.env_text(), env_before, "nothing was written");
}
