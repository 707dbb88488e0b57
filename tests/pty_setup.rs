//! End-to-end: the real binary in a pseudo-terminal (portable-pty + vt100). Waits for text on the
//! screen with a deadline, never a fixed sleep; counts the keys sent.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

#[allow(dead_code)] // `paste` and `pastes` serve the sandbox test below.
struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    keys: usize,
    pastes: usize,
}

impl Session {
    fn start(args: &[&str], dir: &Path) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_zoho-auth"));
        cmd.args(args);
        cmd.cwd(dir);
        for var in [
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "SSH_CONNECTION",
            "SSH_TTY",
            "NO_COLOR",
        ] {
            cmd.env_remove(var);
        }
        for var in ["ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN"] {
            cmd.env_remove(var);
        }
        cmd.env("TZ", "Europe/Berlin");
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(24).unwrap(),
            std::num::NonZeroU16::new(80).unwrap(),
            0,
        )));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let sink = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        // Keep the master open for the life of the session.
        std::mem::forget(pty.master);
        Session {
            parser,
            writer,
            child,
            keys: 0,
            pastes: 0,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.screen().contains(text) {
                return;
            }
            std::thread::yield_now();
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("`{text}` never appeared on screen:\n{}", self.screen());
    }

    fn key(&mut self, bytes: &str) {
        self.keys += 1;
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    #[allow(dead_code)]
    fn paste(&mut self, text: &str) {
        self.pastes += 1;
        let bracketed = format!("\x1b[200~{text}\x1b[201~");
        self.writer.write_all(bracketed.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader drain the last bytes (the restore sequences).
                let settle = Instant::now() + Duration::from_millis(300);
                while Instant::now() < settle {
                    std::thread::park_timeout(Duration::from_millis(20));
                }
                return status.exit_code();
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("the wizard did not exit:\n{}", self.screen());
    }

    fn assert_restored(&self) {
        let p = self.parser.lock().unwrap();
        assert!(
            !p.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!p.screen().hide_cursor(), "the cursor is still hidden");
        assert!(!p.screen().bracketed_paste(), "bracketed paste is still on");
    }
}

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
}
