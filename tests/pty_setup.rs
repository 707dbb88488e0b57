//! End-to-end: the real binary in a pseudo-terminal (portable-pty + vt100). Waits for text on the
//! screen with a deadline, never a fixed sleep; counts the keys sent.

#[path = "pty_support/mod.rs"]
mod pty;

use pty::Session;

#[test]
fn ctrl_c_mid_way_quits_130_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, "KEEP=1\n").unwrap();
    let mut s = Session::start(&["setup", "--env-file", env.to_str().unwrap()], dir.path());
    s.wait_for("Data center");
    s.wait_for("Preselected from your time zone");
    s.key("\r");
    s.wait_for("Client ID");
    s.key("\x03");
    assert_eq!(s.wait_exit(), 130);
    s.assert_restored();
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "KEEP=1\n");
}

const ID: &str = "1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX";
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789";

#[test]
fn a_usable_env_file_starts_at_the_client_step_with_everything_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    let text = format!("ZOHO_DC=in\nZOHO_CLIENT_ID={ID}\nZOHO_CLIENT_SECRET={SECRET}\n");
    std::fs::write(&env, &text).unwrap();
    let mut s = Session::start(&["setup", "--env-file", env.to_str().unwrap()], dir.path());
    s.wait_for("2. Client");
    s.wait_for("Filled in from the env file");
    assert!(s.screen().contains(ID), "{}", s.screen());
    // Esc: the data-center step, with the env file's DC under the cursor.
    s.key("\x1b");
    s.wait_for("Preselected from your env file");
    assert!(s.screen().contains("› India"), "{}", s.screen());
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
    s.assert_restored();
    assert_eq!(std::fs::read_to_string(&env).unwrap(), text);
}

#[test]
fn an_env_file_without_a_usable_client_starts_at_the_data_center_step() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    // A known DC, but the secret is not one (a refresh token pasted in the wrong place).
    std::fs::write(
        &env,
        format!("ZOHO_DC=in\nZOHO_CLIENT_ID={ID}\nZOHO_CLIENT_SECRET=1000.abc.def\n"),
    )
    .unwrap();
    let mut s = Session::start(&["setup", "--env-file", env.to_str().unwrap()], dir.path());
    s.wait_for("1. Data center");
    s.wait_for("Preselected from your env file");
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
}

#[test]
fn a_usable_env_file_with_accounts_url_still_starts_at_the_data_center_step() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(
        &env,
        format!("ZOHO_DC=in\nZOHO_CLIENT_ID={ID}\nZOHO_CLIENT_SECRET={SECRET}\n"),
    )
    .unwrap();
    let mut s = Session::start(
        &[
            "setup",
            "--accounts-url",
            "http://127.0.0.1:9",
            "--env-file",
            env.to_str().unwrap(),
        ],
        dir.path(),
    );
    s.wait_for("1. Data center");
    s.wait_for("(--accounts-url)");
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
}

#[test]
fn the_sandbox_says_requests_go_to_the_built_in_sandbox() {
    let _port = pty::lock_sandbox_port();
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    let mut s = Session::start(
        &["setup", "--sandbox", "--env-file", env.to_str().unwrap()],
        dir.path(),
    );
    s.wait_for("(the built-in sandbox)");
    assert!(!s.screen().contains("--accounts-url"), "{}", s.screen());
    s.key("q");
    assert_eq!(s.wait_exit(), 130);
}

#[test]
fn without_a_terminal_it_points_to_exchange_and_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .arg("setup")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zoho-auth exchange"), "{err}");
}

mod with_sandbox {
    use super::*;
    use zoho_auth::sandbox::{Sandbox, SandboxConfig};

    #[test]
    fn a_first_time_setup_by_keys_and_one_paste_writes_the_env_file() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let sandbox = rt
            .block_on(Sandbox::start(SandboxConfig::default()))
            .unwrap();
        let base = sandbox.base_url();
        let demo = sandbox.self_client();
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(
            &env,
            format!(
                "# my app\nZOHO_CLIENT_ID={}\nZOHO_CLIENT_SECRET={}\n",
                demo.client_id, demo.client_secret
            ),
        )
        .unwrap();
        let mut s = Session::start(
            &[
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
        s.wait_for("Filled in from the env file");
        s.key("\r");
        s.wait_for("Presets");
        s.key("\r"); // the preset under the cursor: Books, full access
        s.wait_for("Generate code");
        s.key("\r"); // 3 minutes
        s.wait_for("Time left");
        let code = sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
        s.paste(&code);
        s.wait_for("Token verified");
        s.key("\r");
        s.wait_for("Changes to");
        s.key("\r");
        s.wait_for("Written to");
        s.key("\r");
        assert_eq!(s.wait_exit(), 0);
        s.assert_restored();
        assert!(s.keys <= 12, "{} keys", s.keys);
        assert_eq!(s.pastes, 1);
        let written = std::fs::read_to_string(&env).unwrap();
        assert!(written.starts_with("# my app\n"), "{written}");
        let vars: std::collections::HashMap<String, String> = dotenvy::from_path_iter(&env)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(vars["ZOHO_CLIENT_ID"], demo.client_id);
        assert_eq!(vars["ZOHO_ACCOUNTS_URL"], base);
        assert_eq!(vars["ZOHO_API_DOMAIN"], base);
        assert_eq!(vars["ZOHO_SCOPES"], "ZohoBooks.fullaccess.all");
        assert!(vars["ZOHO_REFRESH_TOKEN"].starts_with("1000."));
        assert!(!vars.contains_key("ZOHO_DC"));
        assert!(!s.screen().contains(&code));
    }

    /// Issue 12 item 1: after a setup that kept the secrets in the keychain (the env file says
    /// `ZOHO_SECRET_STORE=keychain`), a setup that saves to the env file must drop the marker, or
    /// `check`/`token` keep reading the old secrets from the keychain.
    #[test]
    fn saving_to_the_file_after_a_keychain_setup_drops_the_keychain_marker() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let sandbox = rt
            .block_on(Sandbox::start(SandboxConfig::default()))
            .unwrap();
        let base = sandbox.base_url();
        let demo = sandbox.self_client();
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        // What a keychain setup leaves behind, plus the client typed in again.
        std::fs::write(
            &env,
            format!(
                "ZOHO_CLIENT_ID={}\nZOHO_CLIENT_SECRET={}\nZOHO_SECRET_STORE=keychain\n",
                demo.client_id, demo.client_secret
            ),
        )
        .unwrap();
        let mut s = Session::start(
            &[
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
        s.wait_for("Filled in from the env file");
        s.key("\r");
        s.wait_for("Presets");
        s.key("\r");
        s.wait_for("Generate code");
        s.key("\r");
        s.wait_for("Time left");
        s.paste(&sandbox.mint_code("ZohoBooks.fullaccess.all", 3));
        s.wait_for("Token verified");
        s.key("\r");
        s.wait_for("Changes to");
        s.key("\r"); // the keychain option stays off: the secrets go to the file
        s.wait_for("Written to");
        s.key("\r");
        assert_eq!(s.wait_exit(), 0);
        let written = std::fs::read_to_string(&env).unwrap();
        assert!(!written.contains("ZOHO_SECRET_STORE"), "{written}");
        assert!(written.contains("ZOHO_REFRESH_TOKEN=1000."), "{written}");
        // `token` reads the file's secrets (no keychain is consulted, none holds this grant).
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
            .args(["token", "--env-file", env.to_str().unwrap()])
            .env_remove("ZOHO_CLIENT_ID")
            .env_remove("ZOHO_CLIENT_SECRET")
            .env_remove("ZOHO_REFRESH_TOKEN")
            .env_remove("ZOHO_SECRET_STORE")
            .env("HOME", dir.path())
            .env("ZOHO_AUTH_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("1000."));
    }
}

/// Issue 13 item 3: no dead end after trying it. `setup --sandbox` writes `.env.sandbox` (not the
/// project's `.env`, and no .gitignore edit), marks it as the sandbox's, and after quitting says
/// what to run; the `zoho-auth sandbox` it names (default state, from the data folder) serves the
/// same grant again, so `token --env-file .env.sandbox` works. `m` puts the code on the Paste
/// screen (countdown and code shown); Enter exchanges it.
#[test]
fn after_setup_sandbox_the_suggested_sandbox_serves_the_grant_again() {
    let _port = pty::lock_sandbox_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let mut s = Session::start(&["setup", "--sandbox"], dir.path());
    s.wait_for("Data center");
    s.key("\r");
    s.wait_for("demo client");
    s.key("\r");
    s.wait_for("Presets");
    s.key("\r");
    s.wait_for("Generate code");
    s.key("m");
    s.wait_for("Enter exchanges it");
    assert!(s.screen().contains("Time left"), "{}", s.screen());
    s.key("\r");
    s.wait_for("Token verified");
    s.key("\r");
    s.wait_for("Changes to");
    s.key("\r");
    s.wait_for("Written to");
    let done = s.screen();
    assert!(done.contains("The sandbox stops when you quit"), "{done}");
    assert!(done.contains("--env-file .env.sandbox token"), "{done}");
    s.key("\r");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    // The summary on the normal screen, after the terminal is restored.
    let after = s.screen();
    assert!(
        after.contains("wrote ") && after.contains(".env.sandbox"),
        "{after}"
    );
    let restart = after
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once("start it again with `")?;
            Some(rest.split('`').next()?.to_string())
        })
        .unwrap_or_else(|| panic!("no restart command in: {after}"));
    // The tests run the binary from target/: not installed, so `cargo run --` is suggested.
    assert!(restart.starts_with("cargo run -- sandbox"), "{restart}");
    assert!(!dir.path().join(".env").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "target/\n"
    );
    let env = dir.path().join(".env.sandbox");
    let written = std::fs::read_to_string(&env).unwrap();
    assert!(written.starts_with("# zoho-auth sandbox:"), "{written}");

    // `zoho-auth sandbox` as suggested (its default state is the data folder's).
    let args: Vec<&str> = restart
        .trim_start_matches("cargo run -- ")
        .split_whitespace()
        .collect();
    let mut sandbox = std::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .args(&args)
        .current_dir(dir.path())
        .env("ZOHO_AUTH_DATA_DIR", dir.path().join("data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(sandbox.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    let mut second = String::new();
    std::io::BufRead::read_line(&mut out, &mut second).unwrap();
    assert!(first.starts_with("Sandbox listening on"), "{first}");
    assert!(
        second.starts_with("State: ") && second.contains("sandbox-state.json"),
        "{second}"
    );
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let token = std::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .args(["--env-file", ".env.sandbox", "token"])
        .current_dir(dir.path())
        .env("ZOHO_AUTH_CACHE_DIR", dir.path().join("cache"))
        .env_remove("ZOHO_CLIENT_ID")
        .env_remove("ZOHO_CLIENT_SECRET")
        .env_remove("ZOHO_REFRESH_TOKEN")
        .output()
        .unwrap();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    assert_eq!(
        token.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    assert!(String::from_utf8_lossy(&token.stdout).starts_with("1000."));
}

/// Issue 13 item 4: `-v` is honoured by the wizard: its requests are traced and the trace is
/// printed on the normal screen once the terminal is restored (on the wizard's screen it would
/// garble it).
#[test]
fn verbose_wizard_prints_its_request_trace_after_restoring_the_terminal() {
    let _port = pty::lock_sandbox_port();
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start(&["-v", "setup", "--sandbox"], dir.path());
    s.wait_for("Data center");
    s.key("\r");
    s.wait_for("demo client");
    s.key("\r");
    s.wait_for("Presets");
    s.key("\r");
    s.wait_for("Generate code");
    s.key("m");
    s.wait_for("Enter exchanges it");
    s.key("\r");
    s.wait_for("Token verified");
    assert!(!s.screen().contains("/oauth/v2/token"), "{}", s.screen());
    s.key("\x03");
    assert_eq!(s.wait_exit(), 130);
    s.assert_restored();
    let after = s.screen();
    assert!(after.contains("/oauth/v2/token"), "{after}");
    assert!(after.contains("nothing was written"), "{after}");
}
