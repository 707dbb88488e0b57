//! Terminal setup and restore: raw mode, alternate screen, bracketed paste. Restored on drop, on
//! panic (in any thread, spawned tasks included) and on SIGTERM/SIGHUP.

use std::io::{self, Stdout, Write};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Size;

use crate::wizard::{Time, Wizard};

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Told by the panic hook. A panic in a spawned task does not end the process: the event loop
/// waits on this to end the wizard instead of drawing on a restored terminal.
static PANICKED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Resolves once a panic happened anywhere in the process (after the terminal was restored).
pub async fn panicked() {
    PANICKED.notified().await
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            PANICKED.notify_one();
        }));
    });
}

/// The wizard's terminal. Dropping it restores the terminal.
pub struct Term {
    inner: Terminal<CrosstermBackend<Stdout>>,
}

impl Term {
    pub fn enter() -> io::Result<Term> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableBracketedPaste) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(out)) {
            Ok(inner) => Ok(Term { inner }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    pub fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    pub fn draw(&mut self, w: &Wizard, now: Time) -> io::Result<()> {
        self.inner.draw(|f| crate::ui::draw(f, w, now)).map(|_| ())
    }

    /// Writes raw bytes (an OSC 52 escape) to the terminal.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let out = self.inner.backend_mut();
        out.write_all(bytes)?;
        out.flush()
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        restore();
    }
}

/// SIGTERM and SIGHUP end the wizard with the conventional exit code (the terminal is restored
/// when `Term` drops).
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// Waits for a signal; returns the exit code (128 + signal number).
    pub async fn recv(&mut self) -> u8 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => 143,
                _ = self.hup.recv() => 129,
            }
        }
        #[cfg(not(unix))]
        {
            std::future::pending::<u8>().await
        }
    }
}
