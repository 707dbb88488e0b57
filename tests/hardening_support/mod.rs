//! The real binary in a pseudo-terminal, for the terminal-restore and secret-hygiene tests: the
//! screen through vt100, every byte the program wrote, the terminal's mode bits (termios) read
//! through the master side, and the child's pid for signals. Waits for text with a deadline,
//! never a fixed sleep.
#![cfg(unix)]
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

/// `ECHO` in termios' local flags: the same bit on Linux and the BSDs.
pub const ECHO: u64 = 0o10;

pub struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    screens: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    pub keys: usize,
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
pub fn modes(master: &dyn MasterPty) -> Modes {
    let t = master.get_termios().expect("termios of the pty");
    Modes {
        local: t.local_flags.bits() as u64,
        input: t.input_flags.bits() as u64,
        output: t.output_flags.bits() as u64,
    }
}

impl Session {
    /// Starts `program args` in `dir` with a clean terminal environment plus `env`.
    pub fn start_program(program: &str, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Self {
        let pty = open();
        let mut cmd = CommandBuilder::new(program);
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
            "ZOHO_AUTH_TEST_PANIC",
            "RUST_BACKTRACE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("TZ", "Europe/Berlin");
        cmd.env("TERM", "xterm-256color");
        cmd.env("ZOHO_AUTH_CACHE_DIR", dir.join("cache"));
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
        let reader = std::thread::spawn(move || {
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
            reader: Some(reader),
            writer,
            master: pty.master,
            child,
            keys: 0,
        }
    }

    /// The wizard binary.
    pub fn start(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Self {
        Session::start_program(env!("CARGO_BIN_EXE_zoho-auth"), args, dir, env)
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
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

    pub fn modes(&self) -> Modes {
        modes(self.master.as_ref())
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("the child's pid")
    }

    pub fn wait_for(&self, text: &str) {
        self.wait_until(&format!("`{text}` on screen"), || {
            self.screen().contains(text)
        });
    }

    pub fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if done() {
                return;
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("never happened: {what}. Screen:\n{}", self.screen());
    }

    pub fn key(&mut self, bytes: &str) {
        self.keys += 1;
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn paste(&mut self, text: &str) {
        let bracketed = format!("\x1b[200~{text}\x1b[201~");
        self.writer.write_all(bracketed.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Sends a signal by name (`TERM`, `HUP`) to the child.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the child to exit; returns its exit code, after the last bytes were read.
    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader ends at EOF (every slave closed): everything written has been seen.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status.exit_code();
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
        panic!("the program did not exit:\n{}", self.screen());
    }

    /// The screen is out of the alternate screen, cursor shown, bracketed paste off; echo and the
    /// other mode bits are as they were before the program started.
    pub fn assert_restored(&self, before: Modes, what: &str) {
        {
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
