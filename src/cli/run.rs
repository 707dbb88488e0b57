//! `zoho-auth run [--] CMD [ARGS…]`: runs CMD with a valid access token in its environment
//! (`ZOHO_ACCESS_TOKEN`, `ZOHO_API_DOMAIN`, `ZOHO_DC`, `ZOHO_ORGANIZATION_ID`, each only with a
//! value) and never the client secret, the refresh token or the store URL, even when they are set
//! in ours. No token, no child: the diagnosis and its exit code instead. CMD's exit status is ours
//! (128+N when a signal N ended it); CMD that cannot be found exits 127, not executable 126, as
//! shells do.
//!
//! Signals (Unix). While CMD runs, SIGTERM, SIGHUP and SIGINT no longer end zoho-auth: they are
//! passed to CMD and we wait for it, so CMD decides how to stop and its status is what we return.
//! - SIGTERM and SIGHUP are forwarded always: a supervisor (`kill PID`, `docker stop`,
//!   systemd) sends them to us alone.
//! - SIGINT is forwarded unless we are in the foreground process group of our controlling
//!   terminal. There, Ctrl+C is delivered by the terminal to the whole group, CMD included (it
//!   runs in our group so that it can read the terminal), and forwarding would deliver it twice,
//!   which many programs read as "force quit". The cost: a `kill -INT` aimed at zoho-auth alone
//!   while it runs in the foreground of a terminal does not reach CMD; use SIGTERM for that.
//!
//! Windows has no such signals: a console Ctrl+C reaches every process of the console, CMD
//! included, so we only keep it from ending zoho-auth before CMD.

use std::ffi::OsString;

use clap::Args;

use crate::auth::handoff::{WITHHELD_FROM_CHILD, Want};
use crate::auth::printable::printable;

use super::GlobalArgs;
use super::common::print_diagnosis;
use super::handoff::token_source;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The program to run and its arguments (`--` before them is optional).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

/// Exit status when CMD is not found, as shells report it.
pub const NOT_FOUND: u8 = 127;
/// Exit status when CMD exists but cannot be executed.
pub const NOT_EXECUTABLE: u8 = 126;

pub async fn run(global: &GlobalArgs, args: &RunArgs) -> u8 {
    let Some((program, rest)) = args.command.split_first() else {
        eprintln!("zoho-auth: run needs a command.\n  Fix: zoho-auth run -- CMD [ARGS…]");
        return 2;
    };
    let token = match token_source(global) {
        Ok(source) => source.get(Want::USUAL).await,
        Err(d) => Err(d),
    };
    let token = match token {
        Ok(token) => token,
        Err(d) => {
            print_diagnosis(&d);
            return d.exit_code();
        }
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest);
    for key in WITHHELD_FROM_CHILD {
        cmd.env_remove(key);
    }
    for (key, value) in token.child_env() {
        cmd.env(key, value);
    }
    drop(token);
    let shown = printable(&program.to_string_lossy());
    // Signals are ours to handle from before the child exists: one sent in between is kept.
    #[cfg(unix)]
    let mut signals = match unix::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "zoho-auth: internal error: cannot listen for signals ({e}), so {shown} was not started."
            );
            return 1;
        }
    };
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return spawn_failed(&shown, &e),
    };
    #[cfg(unix)]
    let status = signals.wait_forwarding(&mut child).await;
    #[cfg(not(unix))]
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = tokio::signal::ctrl_c() => continue,
        }
    };
    match status {
        Ok(status) => exit_status(status),
        Err(e) => {
            eprintln!("zoho-auth: lost track of {shown}: {e}.");
            1
        }
    }
}

fn spawn_failed(shown: &str, e: &std::io::Error) -> u8 {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            eprintln!(
                "zoho-auth: {shown}: command not found, so it was not run.\n  Fix: check the name, or give its full path."
            );
            NOT_FOUND
        }
        std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "zoho-auth: {shown}: permission denied, so it was not run.\n  Fix: make it executable (chmod +x) or run it through its interpreter."
            );
            NOT_EXECUTABLE
        }
        _ => {
            eprintln!(
                "zoho-auth: {shown}: cannot be run: {e}.\n  Fix: check that it is a program for this system."
            );
            NOT_EXECUTABLE
        }
    }
}

/// CMD's status as ours: its exit code, or 128+N when signal N ended it.
fn exit_status(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return (code & 0xff) as u8;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return (128 + signal).clamp(0, 255) as u8;
        }
    }
    1
}

#[cfg(unix)]
mod unix {
    use tokio::process::Child;
    use tokio::signal::unix::{Signal, SignalKind, signal};

    pub struct Signals {
        term: Signal,
        int: Signal,
        hup: Signal,
    }

    impl Signals {
        pub fn new() -> std::io::Result<Signals> {
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
                hup: signal(SignalKind::hangup())?,
            })
        }

        /// Waits for the child, passing on the signals we receive meanwhile (see the module doc).
        pub async fn wait_forwarding(
            &mut self,
            child: &mut Child,
        ) -> std::io::Result<std::process::ExitStatus> {
            loop {
                let forward = tokio::select! {
                    status = child.wait() => return status,
                    _ = self.term.recv() => Some(libc::SIGTERM),
                    _ = self.hup.recv() => Some(libc::SIGHUP),
                    _ = self.int.recv() => (!terminal_foreground()).then_some(libc::SIGINT),
                };
                if let (Some(sig), Some(pid)) = (forward, child.id()) {
                    // SAFETY: kill(2) with the pid of our own child that has not been reaped
                    // (child.id() is None once it has), so the pid cannot have been reused.
                    unsafe {
                        libc::kill(pid as libc::pid_t, sig);
                    }
                }
            }
        }
    }

    /// Whether we run in the foreground process group of our controlling terminal, where the
    /// terminal itself delivers Ctrl+C to the child as well.
    fn terminal_foreground() -> bool {
        use std::os::fd::AsRawFd;
        let Ok(tty) = std::fs::File::open("/dev/tty") else {
            return false;
        };
        // SAFETY: plain syscalls on a file descriptor we own for the duration of the call.
        unsafe { libc::tcgetpgrp(tty.as_raw_fd()) == libc::getpgrp() }
    }
}
