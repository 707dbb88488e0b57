//! The only place the wizard performs IO: the terminal (raw mode, alternate screen, bracketed
//! paste, restored on every exit), the event loop, and the executor of the wizard's effects
//! (HTTP through `auth`, clipboard, browser, timers, file writes).

mod effects;
mod reauth;
mod setup;
mod terminal;

pub use reauth::OldGrant;
pub use setup::{Http, Setup};

use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::auth::{Dc, Product, Secret, envfile, keys, saved};
use crate::wizard::{
    self, Context, DcSource, Effect, Gitignore, Key, Msg, Prefill, Step, Theme, Time, Wizard,
};

/// The prefill and context of a first-time setup: DC from the env file, `--dc` or the time zone;
/// the client from the env file (or the sandbox's demo client).
pub fn prepare(
    setup: &Setup,
    existing: Option<&envfile::EnvFile>,
    demo_client: Option<(String, Secret)>,
) -> (Prefill, Context) {
    let get = |k: &str| existing.and_then(|f| f.get(k)).filter(|v| !v.is_empty());
    let env_dc = get(keys::DC)
        .and_then(|c| Dc::from_code(&c))
        .or_else(|| get(keys::ACCOUNTS_URL).and_then(|u| Dc::from_url(&u)));
    let dc = match (setup.choice.dc_flag, env_dc) {
        (Some(dc), _) => Some((dc, DcSource::Flag)),
        (None, Some(dc)) => Some((dc, DcSource::EnvFile)),
        (None, None) => time_zone()
            .and_then(|tz| Dc::from_time_zone(&tz))
            .map(|dc| (dc, DcSource::TimeZone)),
    };
    let (client_id, client_secret, client_source) = match demo_client {
        Some((id, secret)) => (
            Some(id),
            Some(secret),
            Some("the sandbox's demo client".to_string()),
        ),
        None => {
            let id = get(keys::CLIENT_ID);
            let secret = get(keys::CLIENT_SECRET).map(Secret::new);
            let source = id.as_ref().map(|_| "the env file".to_string());
            (id, secret, source)
        }
    };
    let scopes = get(keys::SCOPES)
        .map(|s| crate::auth::scopes::parse_list(&s))
        .unwrap_or_default();
    let prefill = Prefill {
        dc,
        client_id,
        client_secret,
        client_source,
        scopes,
        product: None::<Product>,
        start_at: Step::DataCenter,
        focus_secret: false,
        banner: None,
    };
    let env_existing = saved::file_values(existing);
    // The sandbox's values are a simulation's: its file never makes the wizard edit .gitignore.
    let gitignore = match envfile::gitignore_status(&setup.env_path) {
        _ if setup.sandbox.is_some() => Gitignore::NotNeeded,
        envfile::GitignoreStatus::NotIgnored => Gitignore::NotIgnored,
        envfile::GitignoreStatus::NotARepo | envfile::GitignoreStatus::Ignored => {
            Gitignore::NotNeeded
        }
    };
    let shadowing = envfile::shadowing_vars(&keys::ALL, |k| std::env::var(k).ok());
    let ctx =
        Context {
            env_path: setup.env_path.display().to_string(),
            env_existing,
            gitignore,
            shadowing,
            can_open_browser: crate::platform::can_open_browser(),
            can_read_clipboard: !setup.ssh,
            sandbox: setup.sandbox.is_some(),
            accounts_override: setup.choice.accounts_override.clone(),
            // A sandbox (built-in, or a standalone one on loopback) serves its Self Client page at `/`.
            console_override: setup
                .sandbox
                .clone()
                .or_else(|| {
                    setup.choice.accounts_override.clone().filter(|a| {
                        url::Url::parse(a).is_ok_and(|u| crate::auth::dc::is_loopback(&u))
                    })
                })
                .map(|base| format!("{}/", base.trim_end_matches('/'))),
            dc_flag: setup.choice.dc_flag,
            demo_clients: vec![],
            store: setup
                .store
                .as_ref()
                .map(|s| (s.url.to_string(), s.tenant.clone())),
            theme: Theme {
                color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            },
            run_as: "zoho-auth".into(),
            sandbox_restart: None,
        };
    let prefill = Prefill {
        start_at: wizard::setup_start(&prefill, &ctx),
        ..prefill
    };
    (prefill, ctx)
}

/// Running over SSH: the clipboard is the local terminal's, and no browser opens here.
pub fn ssh() -> bool {
    std::env::var_os("SSH_CONNECTION").is_some() || std::env::var_os("SSH_TTY").is_some()
}

/// `TZ`, else the zone `/etc/localtime` links to.
fn time_zone() -> Option<String> {
    if let Ok(tz) = std::env::var("TZ")
        && !tz.is_empty()
    {
        return Some(tz.trim_start_matches(':').to_string());
    }
    let target = std::fs::read_link("/etc/localtime").ok()?;
    let s = target.to_string_lossy();
    s.split_once("zoneinfo/").map(|(_, zone)| zone.to_string())
}

/// Maps a crossterm key to the wizard's key; releases and unknown keys are dropped.
fn map_key(ev: KeyEvent) -> Option<Key> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let alt = ev.modifiers.contains(KeyModifiers::ALT);
    Some(match ev.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(_) if alt => return None,
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        _ => return None,
    })
}

/// Runs the wizard in the terminal until it quits; returns the exit code.
pub async fn run_wizard(mut w: Wizard, setup: Setup) -> u8 {
    run_wizard_on(&mut w, setup).await
}

/// `run_wizard`, leaving the final state with the caller (reauth prints a summary from it).
pub async fn run_wizard_on(w: &mut Wizard, setup: Setup) -> u8 {
    let mut term = match terminal::Term::enter() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("zoho-auth: cannot set up the terminal: {e}");
            return 1;
        }
    };
    let trace = setup.http.trace.clone();
    let code = event_loop(w, &setup, &mut term).await;
    drop(term);
    // `-v`: the requests the wizard made, now that the terminal is the normal screen again.
    if let Some(lines) = trace {
        for line in lines.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            eprintln!("{line}");
        }
    }
    match code {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zoho-auth: internal error: {e:#}");
            1
        }
    }
}

async fn event_loop(
    w: &mut Wizard,
    setup: &Setup,
    term: &mut terminal::Term,
) -> anyhow::Result<u8> {
    let start = Instant::now();
    let now = || Time(start.elapsed().as_millis() as u64);
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut exec = effects::Executor::new(setup.clone(), tx.clone())?;
    let mut events = EventStream::new();
    let mut timer: Option<tokio::time::Interval> = None;
    let mut signals = terminal::Signals::new()?;

    let size = term.size()?;
    w.size = (size.width, size.height);
    let first = w.start(now());
    let mut pending: Vec<Effect> = first;
    loop {
        for fx in std::mem::take(&mut pending) {
            match fx {
                Effect::Quit(code) => return Ok(code),
                Effect::StartTimer { every } => {
                    let mut iv = tokio::time::interval(every.max(Duration::from_millis(100)));
                    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    timer = Some(iv);
                }
                Effect::StopTimer => timer = None,
                other => exec.perform(other, now(), term),
            }
        }
        term.draw(w, now())?;
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => match map_key(k) {
                    Some(key) => {
                        #[cfg(debug_assertions)]
                        test_failure()?;
                        Msg::Key { key, now: now() }
                    }
                    None => continue,
                },
                Some(Ok(Event::Paste(text))) => Msg::Paste { text, now: now() },
                Some(Ok(Event::Resize(cols, rows))) => Msg::Resize { cols, rows },
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(130),
            },
            Some(msg) = rx.recv() => msg,
            _ = async { timer.as_mut().expect("guarded").tick().await }, if timer.is_some() => {
                Msg::Tick { now: now() }
            }
            code = signals.recv() => return Ok(code),
            () = terminal::panicked() => anyhow::bail!("a task panicked (the message is above)"),
        };
        pending = wizard::update(w, msg);
    }
}

/// Debug builds only, for the PTY tests of terminal restore: at a key, `ZOHO_AUTH_TEST_PANIC=task`
/// panics a spawned task, `=main` panics the event loop, `=error` ends it with an error.
#[cfg(debug_assertions)]
fn test_failure() -> anyhow::Result<()> {
    match std::env::var("ZOHO_AUTH_TEST_PANIC").as_deref() {
        Ok("task") => drop(tokio::spawn(async { panic!("ZOHO_AUTH_TEST_PANIC=task") })),
        Ok("main") => panic!("ZOHO_AUTH_TEST_PANIC=main"),
        Ok("error") => anyhow::bail!("ZOHO_AUTH_TEST_PANIC=error"),
        _ => {}
    }
    Ok(())
}
