//! The only place the wizard performs IO: the terminal (raw mode, alternate screen, bracketed
//! paste, restored on every exit), the event loop, and the executor of the wizard's effects
//! (HTTP through `auth`, clipboard, browser, timers, file writes).

mod effects;
mod reauth;
mod terminal;

pub use reauth::run_reauth;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::auth::envfile;
use crate::auth::{Dc, Product, Secret};
use crate::cli::{GlobalArgs, SetupArgs};
use crate::wizard::{
    self, Context, DcSource, Effect, Gitignore, Key, Msg, Prefill, SignIn, Step, Theme, Time,
    Wizard,
};

/// The keys of the env file the wizard reads and writes.
pub const ENV_KEYS: [&str; 9] = [
    "ZOHO_CLIENT_ID",
    "ZOHO_CLIENT_SECRET",
    "ZOHO_REFRESH_TOKEN",
    "ZOHO_DC",
    "ZOHO_ACCOUNTS_URL",
    "ZOHO_API_DOMAIN",
    "ZOHO_SCOPES",
    "ZOHO_ORGANIZATION_ID",
    "ZOHO_SECRET_STORE",
];

/// What the executor needs besides the wizard's state.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub env_path: PathBuf,
    pub accounts_override: Option<String>,
    pub api_override: Option<String>,
    pub dc_flag: Option<Dc>,
    /// Over SSH the clipboard is the local terminal's: OSC 52.
    pub ssh: bool,
    /// The sandbox's base URL when `--sandbox` runs one.
    pub sandbox: Option<String>,
    /// `zoho-auth reauth`: the configured grant to check, refresh-verify against and revoke.
    pub reauth: Option<std::sync::Arc<reauth::Grant>>,
}

/// `zoho-auth`, `zoho-auth setup`, `zoho-auth setup --sandbox`: the interactive wizard.
pub async fn run_setup(global: &GlobalArgs, args: &SetupArgs) -> u8 {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "zoho-auth: the setup wizard needs a terminal (stdin and stdout are not both a TTY).\n\
             Without one, use `zoho-auth exchange --code -` (the code on stdin) with \
             --client-id, --client-secret - or ZOHO_CLIENT_ID/ZOHO_CLIENT_SECRET; see `zoho-auth exchange --help`."
        );
        return 2;
    }
    let dc_flag = match global.dc.as_deref().map(|c| (c, Dc::from_code(c))) {
        Some((code, None)) => {
            eprintln!(
                "zoho-auth: unknown data center `{code}`; use one of us eu in au jp ca cn sa uk."
            );
            return 2;
        }
        Some((_, Some(dc))) => Some(dc),
        None => None,
    };
    // `--sandbox`: a simulated Zoho in this process, alive until the wizard ends, with its demo
    // Self Client preloaded. Requests go to it whatever the flags say.
    let sandbox = if args.sandbox {
        match crate::sandbox::Sandbox::start(crate::sandbox::SandboxConfig::default()).await {
            Ok(sandbox) => Some(sandbox),
            Err(e) => {
                eprintln!("zoho-auth: could not start the built-in sandbox on 127.0.0.1: {e}");
                return 5;
            }
        }
    } else {
        None
    };
    let sandbox_base = sandbox.as_ref().map(|s| s.base_url());
    let demo_client = sandbox.as_ref().map(|s| {
        let demo = s.self_client();
        (demo.client_id, Secret::new(demo.client_secret))
    });
    let demo_clients: Vec<(SignIn, String, Secret)> = sandbox
        .as_ref()
        .map(|s| {
            [
                (SignIn::SelfClient, s.self_client()),
                (SignIn::Browser, s.server_client()),
                (SignIn::Device, s.device_client()),
            ]
            .into_iter()
            .map(|(m, c)| (m, c.client_id, Secret::new(c.client_secret)))
            .collect()
        })
        .unwrap_or_default();
    let setup = Setup {
        env_path: global.env_file.clone(),
        accounts_override: sandbox_base.clone().or_else(|| global.accounts_url.clone()),
        api_override: sandbox_base.clone().or_else(|| global.api_domain.clone()),
        dc_flag,
        ssh: ssh(),
        sandbox: sandbox_base,
        reauth: None,
    };
    let existing = match envfile::load(&setup.env_path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("zoho-auth: {e}");
            return 2;
        }
    };
    let (prefill, mut ctx) = prepare(&setup, existing.as_ref(), demo_client);
    ctx.demo_clients = demo_clients;
    let code = run_wizard(Wizard::new(prefill, ctx), setup).await;
    if let Some(sandbox) = sandbox {
        sandbox.stop().await;
    }
    code
}

/// The prefill and context of a first-time setup: DC from the env file, `--dc` or the time zone;
/// the client from the env file (or the sandbox's demo client).
pub(crate) fn prepare(
    setup: &Setup,
    existing: Option<&envfile::EnvFile>,
    demo_client: Option<(String, Secret)>,
) -> (Prefill, Context) {
    let get = |k: &str| existing.and_then(|f| f.get(k)).filter(|v| !v.is_empty());
    let env_dc = get("ZOHO_DC")
        .and_then(|c| Dc::from_code(&c))
        .or_else(|| get("ZOHO_ACCOUNTS_URL").and_then(|u| Dc::from_url(&u)));
    let dc = match (setup.dc_flag, env_dc) {
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
            let id = get("ZOHO_CLIENT_ID");
            let secret = get("ZOHO_CLIENT_SECRET").map(Secret::new);
            let source = id.as_ref().map(|_| "the env file".to_string());
            (id, secret, source)
        }
    };
    let scopes = get("ZOHO_SCOPES")
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
    let env_existing = ENV_KEYS
        .iter()
        .filter_map(|k| get(k).map(|v| (k.to_string(), Secret::new(v))))
        .collect();
    let gitignore = match envfile::gitignore_status(&setup.env_path) {
        envfile::GitignoreStatus::NotIgnored => Gitignore::NotIgnored,
        envfile::GitignoreStatus::NotARepo | envfile::GitignoreStatus::Ignored => {
            Gitignore::NotNeeded
        }
    };
    let shadowing = envfile::shadowing_vars(&ENV_KEYS, |k| std::env::var(k).ok());
    let ctx = Context {
        env_path: setup.env_path.display().to_string(),
        env_existing,
        gitignore,
        shadowing,
        can_open_browser: crate::platform::can_open_browser(),
        can_read_clipboard: !setup.ssh,
        sandbox: setup.sandbox.is_some(),
        accounts_override: setup.accounts_override.clone(),
        // A sandbox (built-in, or a standalone one on loopback) serves its Self Client page at `/`.
        console_override: setup
            .sandbox
            .clone()
            .or_else(|| {
                setup
                    .accounts_override
                    .clone()
                    .filter(|a| url::Url::parse(a).is_ok_and(|u| crate::auth::dc::is_loopback(&u)))
            })
            .map(|base| format!("{}/", base.trim_end_matches('/'))),
        dc_flag: setup.dc_flag,
        demo_clients: vec![],
        theme: Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        },
    };
    let prefill = Prefill {
        start_at: wizard::setup_start(&prefill, &ctx),
        ..prefill
    };
    (prefill, ctx)
}

/// Running over SSH: the clipboard is the local terminal's, and no browser opens here.
fn ssh() -> bool {
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
pub(crate) async fn run_wizard(mut w: Wizard, setup: Setup) -> u8 {
    run_wizard_on(&mut w, setup).await
}

/// `run_wizard`, leaving the final state with the caller (reauth prints a summary from it).
pub(crate) async fn run_wizard_on(w: &mut Wizard, setup: Setup) -> u8 {
    let mut term = match terminal::Term::enter() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("zoho-auth: cannot set up the terminal: {e}");
            return 1;
        }
    };
    let code = event_loop(w, &setup, &mut term).await;
    drop(term);
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
                    Some(key) => Msg::Key { key, now: now() },
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
        };
        pending = wizard::update(w, msg);
    }
}
