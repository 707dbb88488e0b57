//! The real binary in a pseudo-terminal (portable-pty + vt100) at 80x24, with a clean environment
//! (no display, no SSH, no ZOHO_* variables). Every wait is for text on the screen or the exit,
//! with a deadline; never a fixed sleep.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// The cap on any single wait. Reaching it is a failure, never part of a passing run.
const CAP: Duration = Duration::from_secs(30);

pub const RIGHT: &str = "\x1b[C";
pub const ESC: &str = "\x1b";

pub struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    pub keys: usize,
    pub pastes: usize,
}

impl Session {
    pub fn start(args: &[&str], dir: &Path, cache: &Path) -> Session {
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
            "ZOHO_CLIENT_ID",
            "ZOHO_CLIENT_SECRET",
            "ZOHO_REFRESH_TOKEN",
            "ZOHO_ACCOUNTS_URL",
            "ZOHO_API_DOMAIN",
            "ZOHO_DC",
            "ZOHO_SCOPES",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", dir);
        cmd.env("ZOHO_AUTH_CACHE_DIR", cache);
        cmd.env("ZOHO_AUTH_HTTP_TIMEOUT", "5");
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

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// The screen's rows, each exactly as drawn (trailing blanks trimmed).
    pub fn rows(&self) -> Vec<String> {
        let p = self.parser.lock().unwrap();
        p.screen().rows(0, 80).collect()
    }

    /// Waits until `pred` holds for the screen; returns the screen it held for.
    pub fn wait_until(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + CAP;
        while Instant::now() < deadline {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("{what} never showed on screen:\n{}", self.screen());
    }

    pub fn wait_for(&self, text: &str) {
        self.wait_until(&format!("`{text}`"), |s| s.contains(text));
    }

    pub fn key(&mut self, bytes: &str) {
        self.keys += 1;
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn paste(&mut self, text: &str) {
        self.pastes += 1;
        let bracketed = format!("\x1b[200~{text}\x1b[201~");
        self.writer.write_all(bracketed.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// The sign-in URL: drawn from the screen's first column over whole rows (no border), so
    /// the rows that start with it are joined until a row ends short of the width.
    pub fn sign_in_url(&self) -> String {
        self.wait_for("/oauth/v2/auth?");
        let rows = self.rows();
        let first = rows
            .iter()
            .position(|r| r.starts_with("http") && r.contains("/oauth/v2/auth?"))
            .unwrap_or_else(|| panic!("no row starts with the URL:\n{}", self.screen()));
        let mut url = String::new();
        for row in &rows[first..] {
            url.push_str(row.trim_end());
            if row.trim_end().chars().count() < 80 {
                break;
            }
        }
        url
    }

    /// The word after `label` on the screen (the device flow's user code).
    pub fn word_after(&self, label: &str) -> String {
        self.wait_for(label);
        let screen = self.screen();
        let at = screen.find(label).unwrap() + label.len();
        screen[at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + CAP;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The restore sequences are the last bytes: wait until they are parsed.
                let drained = Instant::now() + Duration::from_secs(5);
                while Instant::now() < drained
                    && self.parser.lock().unwrap().screen().alternate_screen()
                {
                    std::thread::park_timeout(Duration::from_millis(20));
                }
                return status.exit_code();
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("the wizard did not exit:\n{}", self.screen());
    }

    pub fn assert_restored(&self) {
        let p = self.parser.lock().unwrap();
        assert!(
            !p.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!p.screen().hide_cursor(), "the cursor is still hidden");
        assert!(!p.screen().bracketed_paste(), "bracketed paste is still on");
    }
}
