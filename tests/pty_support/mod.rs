//! The one pseudo-terminal harness for the end-to-end tests: the real binary (or any program) in
//! an 80x24 portable-pty with a clean environment (no display, no SSH, no ZOHO_* variables, HOME
//! and the cache in the test's folder). A reader thread feeds a vt100 parser and keeps every byte
//! the program wrote and every distinct screen (for the secret searches). On unix the terminal's
//! mode bits (termios) are read through the master side, and the child's pid takes signals.
//! Every wait is for text on the screen or the exit, with a deadline; never a fixed sleep.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The cap on any single wait. Reaching it is a failure, never part of a passing run.
const CAP: Duration = Duration::from_secs(30);

pub const RIGHT: &str = "\x1b[C";
pub const ESC: &str = "\x1b";

/// `ECHO` in termios' local flags: the same bit on Linux and the BSDs.
pub const ECHO: u64 = 0o10;

/// Taken out of the child's environment, so the host's settings never leak into a test.
const CLEARED: [&str; 14] = [
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
    "ZOHO_AUTH_TEST_PANIC",
    "RUST_BACKTRACE",
];

pub struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    screens: Arc<Mutex<Vec<String>>>,
    /// Disconnected when the reader thread has reached EOF (every slave closed).
    eof: Receiver<()>,
    reader: Option<std::thread::JoinHandle<()>>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    pub keys: usize,
    pub pastes: usize,
}

/// The mode bits that raw mode changes, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    pub local: u64,
    pub input: u64,
    pub output: u64,
}

impl Modes {
    pub fn echo(&self) -> bool {
        self.local & ECHO != 0
    }
}

/// A fresh 80x24 pseudo-terminal.
pub fn open() -> portable_pty::PtyPair {
    native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap()
}

/// The terminal modes as seen through the master side.
#[cfg(unix)]
pub fn modes(master: &dyn MasterPty) -> Modes {
    let t = master.get_termios().expect("termios of the pty");
    Modes {
        local: t.local_flags.bits() as u64,
        input: t.input_flags.bits() as u64,
        output: t.output_flags.bits() as u64,
    }
}

impl Session {
    /// The wizard binary with `args` in `dir`.
    pub fn start(args: &[&str], dir: &Path) -> Self {
        Session::start_with(args, dir, &[])
    }

    /// The wizard binary with `args` in `dir`, plus `env`.
    pub fn start_with(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Self {
        Session::start_program(env!("CARGO_BIN_EXE_zoho-auth"), args, dir, env)
    }

    /// Starts `program args` in `dir` with a clean terminal environment plus `env`: HOME is
    /// `dir`, the cache `dir/cache`, the data folder (the sandbox's state) `dir/data`.
    pub fn start_program(program: &str, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Self {
        let pty = open();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(dir);
        for var in CLEARED {
            cmd.env_remove(var);
        }
        cmd.env("HOME", dir);
        cmd.env("ZOHO_AUTH_CACHE_DIR", dir.join("cache"));
        cmd.env("ZOHO_AUTH_DATA_DIR", dir.join("data"));
        cmd.env("ZOHO_AUTH_HTTP_TIMEOUT", "5");
        cmd.env("TZ", "Europe/Berlin");
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(24).unwrap(),
            std::num::NonZeroU16::new(80).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let screens = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (sink, bytes, seen) = (parser.clone(), raw.clone(), screens.clone());
        let (at_eof, eof) = channel::<()>();
        let reader = std::thread::spawn(move || {
            let _at_eof = at_eof;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                bytes.lock().unwrap().extend_from_slice(&buf[..n]);
                let mut parser = sink.lock().unwrap();
                parser.process(&buf[..n]);
                // Every distinct screen, as a person could have read it.
                let contents = parser.screen().contents();
                let mut seen = seen.lock().unwrap();
                if seen.last() != Some(&contents) {
                    seen.push(contents);
                }
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Session {
            parser,
            raw,
            screens,
            eof,
            reader: Some(reader),
            writer,
            master: pty.master,
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

    /// Every distinct screen shown so far (after each chunk of output).
    pub fn screens(&self) -> Vec<String> {
        self.screens.lock().unwrap().clone()
    }

    /// Whether the alternate screen is shown.
    pub fn alternate(&self) -> bool {
        self.parser.lock().unwrap().screen().alternate_screen()
    }

    /// Every byte the program wrote to the terminal so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    #[cfg(unix)]
    pub fn modes(&self) -> Modes {
        modes(self.master.as_ref())
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("the child's pid")
    }

    /// Waits until `done` holds, polling up to the cap.
    pub fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + CAP;
        while Instant::now() < deadline {
            if done() {
                return;
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("never happened: {what}. Screen:\n{}", self.screen());
    }

    /// Waits until `pred` holds for the screen; returns the screen it held for.
    pub fn wait_screen(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let mut held = String::new();
        self.wait_until(&format!("{what} on screen"), || {
            held = self.screen();
            pred(&held)
        });
        held
    }

    pub fn wait_for(&self, text: &str) {
        self.wait_screen(&format!("`{text}`"), |s| s.contains(text));
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

    /// Sends a signal by name (`TERM`, `HUP`) to the child.
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the child to exit and for the reader to reach EOF (every slave closed), so
    /// everything the program wrote, the restore sequences last, has been parsed. Returns the
    /// exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + CAP;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                panic!("the program did not exit:\n{}", self.screen());
            }
            std::thread::park_timeout(Duration::from_millis(20));
        };
        let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(5);
        match self.eof.recv_timeout(left) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {}
            Err(RecvTimeoutError::Timeout) => {
                panic!("the terminal output never ended:\n{}", self.screen())
            }
        }
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the reader thread");
        }
        status.exit_code()
    }

    /// The screen is out of the alternate screen, cursor shown, bracketed paste off.
    pub fn assert_restored(&self) {
        self.assert_screen_restored("the terminal");
    }

    fn assert_screen_restored(&self, what: &str) {
        let p = self.parser.lock().unwrap();
        let screen = p.screen();
        assert!(
            !screen.alternate_screen(),
            "{what}: still on the alternate screen"
        );
        assert!(!screen.hide_cursor(), "{what}: the cursor is still hidden");
        assert!(
            !screen.bracketed_paste(),
            "{what}: bracketed paste is still on"
        );
    }

    /// [`Session::assert_restored`], and echo and the other mode bits are as they were before
    /// the program started.
    #[cfg(unix)]
    pub fn assert_restored_modes(&self, before: Modes, what: &str) {
        self.assert_screen_restored(what);
        let after = self.modes();
        assert!(after.echo(), "{what}: echo is off");
        assert_eq!(after, before, "{what}: terminal modes differ from before");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Held by a test that runs `setup --sandbox` (whose sandbox takes the default port 8470, and
/// whose suggested `zoho-auth sandbox` takes it again after the wizard quits): such tests take
/// turns, across test binaries too, so none finds the port held by another.
pub struct SandboxPortLock(std::fs::File);

/// Blocks until no other test holds the default sandbox port; released when the guard drops.
pub fn lock_sandbox_port() -> SandboxPortLock {
    let path = std::env::temp_dir().join("zoho-auth-tests-port-8470.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("open the port lock file");
    file.lock().expect("take the port lock");
    SandboxPortLock(file)
}
