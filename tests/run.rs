//! `zoho-auth run` as the real binary against the in-process sandbox: what the child's environment
//! holds and never holds, exit status and signal pass-through, no child without a valid token,
//! and the shell's 127/126 for a command that cannot be run.
#![cfg(unix)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::World;

/// A world with a grant in its env file, made by `exchange` against the sandbox.
async fn granted() -> World {
    let w = World::start().await;
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    w
}

/// The child's environment as `env -0` prints it.
fn parse_env(stdout: &str) -> Vec<(String, String)> {
    stdout
        .split('\0')
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Waits until `path` exists; the test's own timeout bounds it.
async fn wait_for_file(path: &Path) {
    while !path.exists() {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_child_gets_the_token_and_never_the_grant() {
    let w = granted().await;
    std::fs::write(
        w.env_path(),
        format!("{}ZOHO_ORGANIZATION_ID=777001\n", w.env_text()),
    )
    .unwrap();
    let client = w.sandbox.self_client();
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    // Exported in our environment too: still not handed on.
    let mut cmd = w.command(&["run", "--", "env", "-0"]);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret)
        .env("ZOHO_REFRESH_TOKEN", &refresh)
        .env("KEEP_ME", "kept");
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let env = parse_env(&stdout);
    let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    // ZOHO_AUTH_STORE now selects a store; its withholding is in tests/store_commands.rs.
    for withheld in ["ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN"] {
        assert_eq!(get(withheld), None, "{withheld} reached the child");
    }
    assert!(!stdout.contains(&client.client_secret));
    assert!(!stdout.contains(&refresh));
    let token = get("ZOHO_ACCESS_TOKEN").expect("the token");
    assert!(token.starts_with("1000."), "{token}");
    assert!(
        w.sandbox
            .control()
            .issued_secrets()
            .iter()
            .any(|s| s == &token),
        "a token the sandbox issued"
    );
    assert_eq!(get("ZOHO_API_DOMAIN").as_deref(), Some(w.base().as_str()));
    assert_eq!(get("ZOHO_ORGANIZATION_ID").as_deref(), Some("777001"));
    assert_eq!(get("ZOHO_DC"), None, "the sandbox is no known DC");
    assert_eq!(get("KEEP_ME").as_deref(), Some("kept"));
    assert!(!stderr.contains(&token), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dc_is_handed_on_when_known_and_the_token_is_reused_from_the_cache() {
    let w = granted().await;
    let base = w.base();
    let first = w
        .run(&["run", "sh", "-c", "printf %s \"$ZOHO_ACCESS_TOKEN\""])
        .await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let refreshes = w.sandbox.stats().refreshes;
    // `--dc eu` with the sandbox as accounts server: the DC is handed on, requests still go to
    // the sandbox. The cached token is reused (no second refresh).
    let second = w
        .run(&[
            "--dc",
            "eu",
            "--accounts-url",
            &base,
            "run",
            "sh",
            "-c",
            "printf '%s %s' \"$ZOHO_ACCESS_TOKEN\" \"$ZOHO_DC\"",
        ])
        .await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, format!("{} eu", first.stdout));
    assert_eq!(w.sandbox.stats().refreshes, refreshes);
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_status_is_passed_through() {
    let w = granted().await;
    let run = w.run(&["run", "--", "sh", "-c", "exit 7"]).await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    let run = w.run(&["run", "sh", "-c", "kill -TERM $$"]).await;
    assert_eq!(run.code, 143, "128 + SIGTERM: {}", run.stderr);
    let run = w.run(&["run", "sh", "-c", "kill -KILL $$"]).await;
    assert_eq!(run.code, 137, "128 + SIGKILL: {}", run.stderr);
    // Hyphens after CMD belong to CMD, not to zoho-auth.
    let run = w
        .run(&["run", "sh", "-c", "echo \"$1\"", "sh", "--json"])
        .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "--json\n"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_sent_to_run_reach_the_child() {
    let w = granted().await;
    for (signal, name) in [("-TERM", "TERM"), ("-INT", "INT"), ("-HUP", "HUP")] {
        let ready = w.dir.path().join(format!("ready-{name}"));
        let got = w.dir.path().join(format!("got-{name}"));
        let script = format!(
            "trap 'echo {name} > \"{got}\"; kill $pid; exit 9' {name}; sleep 600 & pid=$!; : > \"{ready}\"; wait $pid",
            got = got.display(),
            ready = ready.display()
        );
        let mut cmd = w.command(&["run", "sh", "-c", &script]);
        // A process group of its own: never the foreground group of a terminal running the tests,
        // where SIGINT is deliberately not forwarded (the terminal delivers it to the child).
        cmd.process_group(0);
        let mut child = cmd.spawn().unwrap();
        tokio::select! {
            () = wait_for_file(&ready) => {}
            status = child.wait() => panic!("run ended before the child was ready: {status:?}"),
        }
        let pid = child.id().unwrap().to_string();
        let kill = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(kill.success());
        // A hang guard, not a timing threshold: without forwarding the child sleeps 600 s.
        let Ok(status) = tokio::time::timeout(Duration::from_secs(60), child.wait()).await else {
            // Leave no sleeping shell behind: the whole group goes.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            panic!("SIG{name} never reached the child");
        };
        let status = status.unwrap();
        assert_eq!(std::fs::read_to_string(&got).unwrap().trim(), name);
        assert_eq!(
            status.code(),
            Some(9),
            "the child's status after its trap ({name})"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_child_without_a_valid_token() {
    let w = granted().await;
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    w.sandbox.control().revoke(&refresh);
    // The exchange left an access token in the cache, which would still be handed on.
    let _ = std::fs::remove_dir_all(w.cache_dir());
    let marker = w.dir.path().join("child-ran");
    let script = format!(": > \"{}\"", marker.display());
    let run = w.run(&["run", "sh", "-c", &script]).await;
    assert_eq!(run.code, 3, "a revoked grant: {}", run.stderr);
    assert!(run.stderr.contains("Fix:"), "{}", run.stderr);
    assert!(!marker.exists(), "the child must not start");

    let empty = World::start().await;
    let run = empty.run(&["run", "sh", "-c", &script]).await;
    assert_eq!(run.code, 2, "no grant at all: {}", run.stderr);
    assert!(run.stderr.contains("ZOHO_CLIENT_ID"), "{}", run.stderr);
    assert!(!marker.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_unrunnable_command_exits_like_a_shell() {
    let w = granted().await;
    let run = w.run(&["run", "zoho-auth-no-such-program-here"]).await;
    assert_eq!(run.code, 127, "{}", run.stderr);
    assert!(run.stderr.contains("command not found"), "{}", run.stderr);
    assert!(run.stderr.contains("zoho-auth-no-such-program-here"));

    let script = w.dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let run = w.run(&["run", script.to_str().unwrap()]).await;
    assert_eq!(run.code, 126, "{}", run.stderr);
    assert!(run.stderr.contains("permission denied"), "{}", run.stderr);

    let run = w.run(&["run"]).await;
    assert_eq!(run.code, 2, "no command is a usage error: {}", run.stderr);
}
