//! Pure views of the wizard: `draw(frame, &Wizard, now)`. No mutation, no IO, no clock here;
//! the countdown is `expires_at - now`. Secrets appear only masked.

mod parts;
mod reauth;
mod signin;
mod theme;

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::wizard::{
    ClientField, CopyOutcome, DcSource, EXPIRIES, EnvValue, ExchangeState, SaveOption, SaveState,
    ScopeRow, SignIn, SignInState, Step, Time, Wizard, can_try_other_dcs, fix_step,
};
pub use theme::Palette;

use parts::{SPINNER, mmss, truncate};

/// The smallest terminal the wizard draws in.
pub const MIN_COLS: u16 = 80;
pub const MIN_ROWS: u16 = 24;

/// Draws the whole wizard.
pub fn draw(frame: &mut Frame, w: &Wizard, now: Time) {
    let area = frame.area();
    let p = Palette::new(w.ctx.theme);
    if area.width < MIN_COLS || area.height < MIN_ROWS {
        draw_too_small(frame, area, &p);
        return;
    }
    // The key hints wrap to a second row rather than being cut when they are wider than the
    // terminal (the sandbox's Generate code step at 80 columns).
    let hint = hint_line(w, &p, now);
    let hint_rows = if hint.width() > area.width as usize {
        2
    } else {
        1
    };
    let [header, progress, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(hint_rows),
    ])
    .areas(area);

    let command = if w.reauth.is_some() {
        " zoho-auth reauth "
    } else {
        " zoho-auth setup "
    };
    let path = w.path();
    // The step's place on the chosen path (a browser or device sign-in is one step, not two).
    let place = path
        .iter()
        .position(|s| *s == w.step)
        .map_or(w.step.number(), |i| i + 1);
    let where_ = match w.step {
        Step::Diagnose => "  diagnosis · nothing changes until a new token is verified".to_string(),
        Step::DataCenter
        | Step::Client
        | Step::Scopes
        | Step::GenerateCode
        | Step::PasteCode
        | Step::BrowserSignIn
        | Step::DeviceSignIn
        | Step::Exchange
        | Step::LiveTest
        | Step::Save
        | Step::Done => format!("  step {place}/{} · {}", path.len(), w.step.title()),
    };
    let mut title = vec![Span::styled(command, p.title()), Span::raw(where_)];
    if w.ctx.sandbox {
        title.push(Span::styled("   SANDBOX: simulated Zoho", p.warn()));
    }
    frame.render_widget(Paragraph::new(Line::from(title)), header);
    frame.render_widget(Paragraph::new(progress_line(w, &p)), progress);

    let block_title = match w.step {
        Step::Diagnose if w.checking() => " Checking ".to_string(),
        Step::Diagnose => " Diagnosis ".to_string(),
        Step::DataCenter
        | Step::Client
        | Step::Scopes
        | Step::GenerateCode
        | Step::PasteCode
        | Step::BrowserSignIn
        | Step::DeviceSignIn
        | Step::Exchange
        | Step::LiveTest
        | Step::Save
        | Step::Done => format!(" {place}. {} ", w.step.title()),
    };
    // The sign-in URL wraps over whole rows, with no border to catch in a selection.
    let borders = match (w.step, &w.signin.state) {
        (Step::BrowserSignIn, SignInState::Waiting { url: Some(_), .. }) => {
            Borders::TOP | Borders::BOTTOM
        }
        (_, SignInState::Waiting { .. } | SignInState::Idle | SignInState::Failed(_)) => {
            Borders::ALL
        }
    };
    let block = Block::new()
        .borders(borders)
        .title(block_title)
        .border_style(p.dim());
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let mut lines: Vec<Line> = vec![];
    if let Some(b) = &w.banner {
        lines.push(Line::from(Span::styled(
            format!("{} ({})", b.message, b.code.as_str()),
            p.warn(),
        )));
        if !b.fix.is_empty() {
            lines.push(Line::from(format!("Fix: {}", b.fix)));
        }
        lines.push(Line::raw(""));
    }
    if let Some(note) = reauth::entry_note(w, &p) {
        lines.push(note);
    }
    let body_lines = match w.step {
        Step::Diagnose => reauth::view_diagnose(w, &p, now),
        Step::DataCenter => view_data_center(w, &p, inner.height as usize - lines.len()),
        Step::Client => view_client(w, &p),
        Step::Scopes => view_scopes(
            w,
            &p,
            inner.height as usize - lines.len(),
            inner.width as usize,
        ),
        Step::GenerateCode => view_generate(w, &p),
        Step::PasteCode => view_paste(w, &p, now),
        Step::BrowserSignIn => signin::view_browser(w, &p, now),
        Step::DeviceSignIn => signin::view_device(w, &p, now),
        Step::Exchange => view_exchange(w, &p, now),
        Step::LiveTest => view_live_test(w, &p),
        Step::Save => view_save(w, &p),
        Step::Done => view_done(w, &p),
    };
    lines.extend(body_lines);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    frame.render_widget(Paragraph::new(hint).wrap(Wrap { trim: false }), hints);
}

fn draw_too_small(frame: &mut Frame, area: Rect, p: &Palette) {
    let text = vec![
        Line::from(Span::styled("zoho-auth needs a larger terminal.", p.bold())),
        Line::raw(format!(
            "Now {}x{}; make it at least {MIN_COLS}x{MIN_ROWS}. The wizard resumes where it was.",
            area.width, area.height
        )),
        Line::raw("Ctrl+C quits."),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

fn progress_line(w: &Wizard, p: &Palette) -> Line<'static> {
    let short = |s: Step| match s {
        Step::Diagnose => "Check",
        Step::DataCenter => "DC",
        Step::Client => "Client",
        Step::Scopes => "Scopes",
        Step::GenerateCode => "Code",
        Step::PasteCode => "Paste",
        Step::BrowserSignIn => "Sign in",
        Step::DeviceSignIn => "Device",
        Step::Exchange => "Exchange",
        Step::LiveTest => "Test",
        Step::Save => "Save",
        Step::Done => "Done",
    };
    let mut spans = vec![Span::raw(" ")];
    let mut steps = vec![];
    if w.reauth.is_some() {
        steps.push(Step::Diagnose);
    }
    steps.extend(w.path());
    for (i, s) in steps.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", p.dim()));
        }
        let style = if s == w.step {
            p.current()
        } else if s.number() < w.step.number() {
            p.ok()
        } else {
            p.dim()
        };
        spans.push(Span::styled(short(s), style));
    }
    Line::from(spans)
}

/// The key-hint bar of the current screen: the wizard's key map (`wizard::key_hints`), the same
/// module as the handlers, not a second list here.
pub fn hints(w: &Wizard, now: Time) -> Vec<(&'static str, &'static str)> {
    crate::wizard::key_hints(w, now)
}

fn hint_line(w: &Wizard, p: &Palette, now: Time) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, (k, what)) in hints(w, now).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("  ", p.dim()));
        }
        spans.push(Span::styled(k, p.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    Line::from(spans)
}

/// Keeps `cursor` visible in a window of `height` rows over `len` rows; returns the first row.
fn scroll(cursor: usize, len: usize, height: usize) -> usize {
    if len <= height || height == 0 {
        0
    } else {
        cursor.saturating_sub(height / 2).min(len - height)
    }
}

fn filter_line(list: &crate::wizard::ListState, p: &Palette) -> Option<Line<'static>> {
    if list.filtering {
        Some(Line::from(vec![
            Span::styled("/ ", p.key()),
            Span::raw(list.filter.clone()),
            Span::styled("▏", p.key()),
        ]))
    } else if !list.filter.is_empty() {
        Some(Line::from(vec![
            Span::styled("filter: ", p.dim()),
            Span::raw(list.filter.clone()),
            Span::styled("  (Esc clears)", p.dim()),
        ]))
    } else {
        None
    }
}

fn view_data_center(w: &Wizard, p: &Palette, height: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::raw(
        "Where does your Zoho account live? A code only works in its own data center.",
    )];
    let note = match w.dc.source {
        Some(DcSource::EnvFile) => "Preselected from your env file.",
        Some(DcSource::TimeZone) => "Preselected from your time zone.",
        Some(DcSource::Flag) => "Preselected from --dc.",
        None => "Not sure? It is the domain you sign in at: zoho.com, zoho.eu, zoho.in, ...",
    };
    lines.push(Line::styled(note, p.dim()));
    if let Some(url) = &w.ctx.accounts_override {
        let why = if w.ctx.sandbox {
            "the built-in sandbox"
        } else {
            "--accounts-url"
        };
        lines.push(Line::styled(
            format!("Requests go to {url} ({why})."),
            p.warn(),
        ));
    }
    lines.push(Line::raw(""));
    if let Some(f) = filter_line(&w.dc.list, p) {
        lines.push(f);
    }
    let rows = w.dc_rows();
    if rows.is_empty() {
        lines.push(Line::styled(
            format!(
                "No data center matches \"{}\". Backspace edits the filter, Esc clears it.",
                w.dc.list.filter
            ),
            p.warn(),
        ));
        return lines;
    }
    let room = height.saturating_sub(lines.len());
    let first = scroll(w.dc.list.cursor, rows.len(), room);
    for (i, dc) in rows.iter().enumerate().skip(first).take(room) {
        let here = i == w.dc.list.cursor;
        let style = if here { p.current() } else { Style::default() };
        let host = dc.accounts_url().trim_start_matches("https://").to_string();
        lines.push(Line::from(vec![
            Span::styled(if here { " › " } else { "   " }, p.key()),
            Span::styled(format!("{:<16} {:<4} {host}", dc.name(), dc.code()), style),
        ]));
    }
    lines
}

fn view_client(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    let host = w
        .ctx
        .console_override
        .clone()
        .unwrap_or_else(|| w.dc.chosen.console_host());
    let mut lines = signin::choice_lines(w, p);
    lines.push(Line::raw(""));
    let (what, where_) = match w.client.sign_in {
        SignIn::SelfClient => (
            "Your Self Client's id and secret.",
            format!("In {host}: Self Client → Client Secret tab (create a Self Client first)."),
        ),
        SignIn::Browser => (
            "Your server-based client's id and secret.",
            format!("In {host}: the client's Client Secret tab (a Server-based Application)."),
        ),
        SignIn::Device => (
            "Your non-browser client's id and secret.",
            format!("In {host}: the client's Client Secret tab (a Non-browser Application)."),
        ),
    };
    lines.push(Line::raw(what));
    lines.push(Line::styled(where_, p.dim()));
    if let Some(src) = &w.client.source {
        lines.push(Line::styled(format!("Filled in from {src}."), p.ok()));
    }
    lines.push(Line::raw(""));
    let field = |label: &str, value: String, focused: bool| {
        let style = if focused {
            p.current()
        } else {
            Style::default()
        };
        Line::from(vec![
            Span::styled(if focused { " › " } else { "   " }, p.key()),
            Span::raw(format!("{label:<15}")),
            Span::styled(format!("{value}{}", if focused { "▏" } else { "" }), style),
        ])
    };
    lines.push(field(
        "Client ID",
        w.client.id.clone(),
        w.client.field == ClientField::Id,
    ));
    lines.push(field(
        "Client secret",
        w.client.secret.masked(),
        w.client.field == ClientField::Secret,
    ));
    if w.client.sign_in == SignIn::Browser {
        lines.push(field(
            "Redirect URI",
            w.client.redirect_uri.clone(),
            w.client.field == ClientField::RedirectUri,
        ));
        lines.push(Line::styled(
            "   Register exactly this Authorized Redirect URI in the API console.",
            p.warn(),
        ));
    }
    lines.push(Line::raw(""));
    if let Some(e) = &w.client.error {
        lines.push(Line::styled(e.clone(), p.error()));
    }
    match (w.client.sign_in, w.ctx.can_open_browser) {
        (SignIn::Browser, false) => lines.extend(signin::headless_lines(w, p)),
        (SignIn::SelfClient, _) => {
            lines.push(Line::styled(
                "Tip: paste a downloaded self_client.json here to fill in both.",
                p.dim(),
            ));
            lines.push(Line::styled(
                "The secret is never shown; nothing is sent before the code exchange.",
                p.dim(),
            ));
        }
        (SignIn::Device, _) | (SignIn::Browser, true) => lines.push(Line::styled(
            "The secret is never shown; nothing is sent before you continue.",
            p.dim(),
        )),
    }
    lines
}

fn view_scopes(w: &Wizard, p: &Palette, height: usize, width: usize) -> Vec<Line<'static>> {
    let mut lines = vec![];
    if let Some(f) = filter_line(&w.scopes.list, p) {
        lines.push(f);
    }
    let rows = w.scope_rows();
    // Footer: 1 blank + the scope string (wrapped, at most 6 lines) + the live test line.
    let string_lines = (("Scope string: ".len() + w.scope_string().len()) / 78 + 1).min(6);
    let warn_lines = w
        .scope_warning()
        .map_or(1, |warn| (warn.chars().count() + 2) / 78 + 1);
    let footer = 1 + string_lines + warn_lines;
    let room = height.saturating_sub(lines.len() + footer);
    if rows.is_empty() {
        lines.push(Line::styled(
            format!(
                "No scope matches \"{}\". Backspace edits the filter, Esc clears it.",
                w.scopes.list.filter
            ),
            p.warn(),
        ));
    } else {
        // Group headers are drawn above the first row of each group.
        let mut drawn: Vec<(Option<usize>, Line<'static>)> = vec![];
        let mut last_group: Option<Option<usize>> = None;
        for (i, row) in rows.iter().enumerate() {
            let group = match row {
                ScopeRow::Preset(_) => None,
                ScopeRow::Scope(g, _) => Some(*g),
            };
            if last_group != Some(group) {
                let name = group.map_or("Presets".to_string(), |g| w.scopes.groups[g].name.clone());
                drawn.push((None, Line::styled(name, p.bold())));
                last_group = Some(group);
            }
            let here = i == w.scopes.list.cursor;
            let (checked, name, desc) = match row {
                ScopeRow::Preset(i) => (
                    w.preset_selected(*i),
                    w.scopes.presets[*i].name.clone(),
                    w.scopes.presets[*i].scopes.join(","),
                ),
                ScopeRow::Scope(g, s) => {
                    let info = &w.scopes.groups[*g].scopes[*s];
                    (
                        w.scopes.selected.contains(&info.name),
                        info.name.clone(),
                        info.description.clone(),
                    )
                }
            };
            let style = if here { p.current() } else { Style::default() };
            let added = matches!(row, ScopeRow::Scope(..))
                && w.reauth
                    .as_ref()
                    .and_then(|r| r.added_scope.as_deref())
                    .is_some_and(|s| s == name)
                && checked;
            let mark = match (added, checked) {
                (true, _) => "[+] ",
                (false, true) => "[x] ",
                (false, false) => "[ ] ",
            };
            // The columns take the terminal's width: 31 + 38 at 80 columns, the names' full
            // width (42) and the rest for the description on a wide one.
            let name_width = if width >= 120 { 42 } else { 31 };
            let desc_width = width.saturating_sub(3 + 4 + name_width + 2).max(10);
            let name = truncate(&name, name_width);
            let desc = truncate(&desc, desc_width);
            drawn.push((
                Some(i),
                Line::from(vec![
                    Span::styled(if here { " › " } else { "   " }, p.key()),
                    Span::styled(mark, if added { p.warn() } else { p.ok() }),
                    Span::styled(format!("{name:<name_width$}"), style),
                    Span::styled(format!(" {desc}"), p.dim()),
                ]),
            ));
        }
        let cursor_line = drawn
            .iter()
            .position(|(i, _)| *i == Some(w.scopes.list.cursor))
            .unwrap_or(0);
        let first = scroll(cursor_line, drawn.len(), room);
        lines.extend(drawn.into_iter().skip(first).take(room).map(|(_, l)| l));
    }
    while lines.len() < height.saturating_sub(footer) {
        lines.push(Line::raw(""));
    }
    lines.push(Line::raw(""));
    if w.scopes.selected.is_empty() {
        lines.push(Line::styled(
            "Nothing selected yet: Space picks, Enter takes the row under the cursor.",
            p.dim(),
        ));
    } else {
        lines.push(Line::from(vec![
            Span::styled("Scope string: ", p.dim()),
            Span::styled(w.scope_string(), p.bold()),
        ]));
    }
    let product = match w.probe_product() {
        Some(pr) if w.scopes.product.is_some() => {
            format!("Live test: {} (p changes it)", pr.name())
        }
        Some(pr) => format!(
            "Live test: {} (from the scopes; p picks another)",
            pr.name()
        ),
        None => "Live test: none (p picks a product)".to_string(),
    };
    match w.scope_warning() {
        Some(warn) => lines.push(Line::styled(format!("⚠ {warn}"), p.warn())),
        None => lines.push(Line::styled(product, p.dim())),
    }
    lines
}

fn view_generate(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    let copy_note = match w.generate.copied {
        Some(CopyOutcome::System) => Span::styled("✓ copied to the clipboard", p.ok()),
        Some(CopyOutcome::Osc52) => {
            Span::styled("✓ sent to your terminal's clipboard (OSC 52)", p.ok())
        }
        Some(CopyOutcome::Unavailable) => Span::styled(
            "no clipboard here: select the line below and copy it by hand",
            p.warn(),
        ),
        None => Span::styled("copying…", p.dim()),
    };
    let url = w.console_url();
    let open_note = match (w.ctx.can_open_browser, w.generate.opened) {
        (_, Some(true)) => Span::styled("✓ opened in your browser", p.ok()),
        (true, Some(false)) => Span::styled("the browser did not open: copy the address", p.warn()),
        (true, None) => Span::styled("o opens it", p.dim()),
        (false, _) => Span::styled(
            "no browser here (SSH or no display): open it yourself",
            p.dim(),
        ),
    };
    let mut expiry = vec![Span::raw("3. The expiry you pick in the console: ")];
    for (i, m) in EXPIRIES.iter().enumerate() {
        let label = format!(" {m} min ");
        if i == w.generate.expiry_idx {
            expiry.push(Span::styled(format!("[{label}]"), p.current()));
        } else {
            expiry.push(Span::raw(format!(" {label} ")));
        }
    }
    let mut lines = vec![
        Line::from(vec![Span::raw("1. Scope string  "), copy_note]),
        Line::from(vec![
            Span::raw("   "),
            Span::styled(w.scope_string(), p.bold()),
        ]),
        Line::from(vec![
            Span::raw("2. API console   "),
            Span::styled(url, p.bold()),
        ]),
        Line::from(vec![Span::raw("   "), open_note]),
        Line::styled(
            "   Self Client → Generate Code: paste the scopes, pick the expiry, add a",
            p.dim(),
        ),
        Line::styled("   description, CREATE. Copy the code it shows.", p.dim()),
        Line::from(expiry),
        Line::raw(""),
    ];
    if w.ctx.sandbox {
        lines.push(Line::styled(
            "Sandbox: press m and the simulated console mints the code for you.",
            p.ok(),
        ));
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(
        "⚠ Zoho keeps at most 20 refresh tokens per user per client. The new one evicts",
        p.warn(),
    ));
    lines.push(Line::styled(
        "  the oldest, which may be the one production uses.",
        p.warn(),
    ));
    lines
}

fn view_paste(w: &Wizard, p: &Palette, now: Time) -> Vec<Line<'static>> {
    let left = w.remaining(now).unwrap_or_default();
    let style = if left < Duration::from_secs(20) {
        p.error()
    } else if left < Duration::from_secs(60) {
        p.warn()
    } else {
        p.ok()
    };
    let clock = Span::styled(
        format!(" {} ", mmss(left)),
        style.add_modifier(ratatui::style::Modifier::BOLD),
    );
    let expired = w.paste.expired || w.paste.expires_at.is_some_and(|at| now >= at);
    if expired {
        return vec![
            Line::from(vec![Span::raw("Time left "), clock]),
            Line::raw(""),
            Line::styled(
                "The code has expired. It was not sent: Zoho would refuse it.",
                p.error(),
            ),
            Line::raw(""),
            Line::raw("Press Enter to generate a new one with the same scopes:"),
            Line::styled(format!("   {}", w.scope_string()), p.bold()),
            Line::styled(
                "Tip: pick a longer expiry (up to 10 min) in the console.",
                p.dim(),
            ),
        ];
    }
    let mut lines = vec![
        Line::from(vec![Span::raw("Time left "), clock]),
        Line::raw(""),
        Line::raw("Paste the code from the console (Ctrl+Shift+V, or right-click → Paste)."),
        Line::styled(
            "A bare code, the whole redirect URL or a self_client.json body all work.",
            p.dim(),
        ),
        Line::raw(""),
        Line::from(vec![
            Span::raw("Code  "),
            Span::styled(
                if w.paste.code_input.is_empty() {
                    "(waiting)".to_string()
                } else {
                    w.paste.code_input.masked()
                },
                p.current(),
            ),
        ]),
        Line::raw(""),
    ];
    if let Some(e) = &w.paste.error {
        lines.push(Line::styled(format!("✗ {e}"), p.error()));
    }
    if w.paste.minting {
        lines.push(Line::styled("The sandbox is minting a code…", p.dim()));
    } else if w.ctx.sandbox && !w.paste.code_input.is_empty() {
        lines.push(Line::styled(
            "The sandbox pasted a fresh code here: Enter exchanges it.",
            p.key(),
        ));
    } else if w.ctx.can_read_clipboard {
        lines.push(Line::styled(
            "Watching the clipboard: a copied code is taken by itself.",
            p.dim(),
        ));
    }
    if let Some(dc) = w.paste.dc {
        lines.push(Line::styled(
            format!(
                "The redirect says the code is from {} ({}).",
                dc.name(),
                dc.code()
            ),
            p.warn(),
        ));
    }
    lines
}

fn view_exchange(w: &Wizard, p: &Palette, now: Time) -> Vec<Line<'static>> {
    match &w.exchange.state {
        ExchangeState::Running { dc, since } => {
            let frame = SPINNER[((now.0.saturating_sub(since.0)) / 250) as usize % SPINNER.len()];
            let target = match &w.ctx.accounts_override {
                Some(url) => url.clone(),
                None => dc.accounts_url(),
            };
            let mut lines = vec![
                Line::from(vec![
                    Span::styled(format!("{frame} "), p.key()),
                    Span::raw(format!("Exchanging the code at {target}…")),
                ]),
                Line::raw(""),
            ];
            let then = if w.reauth.is_some() {
                "Then a refresh with the new token and a live test"
            } else {
                "Then a live test"
            };
            match w.probe_product() {
                Some(pr) => lines.push(Line::styled(
                    format!("{then}: {}'s organizations endpoint.", pr.name()),
                    p.dim(),
                )),
                None => lines.push(Line::styled(
                    "No live test: the scopes open no organizations endpoint.",
                    p.dim(),
                )),
            }
            if !w.exchange.dc_queue.is_empty() || w.exchange.tried_other_dcs {
                lines.push(Line::styled(
                    format!("Trying the code in {} ({}).", dc.name(), dc.code()),
                    p.warn(),
                ));
            }
            lines
        }
        ExchangeState::Failed { diagnosis, .. } => {
            let mut lines = vec![
                Line::styled(format!("✗ {}", diagnosis.code.as_str()), p.error()),
                Line::raw(""),
                Line::raw(diagnosis.message.clone()),
            ];
            if !diagnosis.fix.is_empty() {
                lines.push(Line::raw(""));
                lines.push(Line::from(vec![
                    Span::styled("Fix: ", p.bold()),
                    Span::raw(diagnosis.fix.clone()),
                ]));
            }
            lines.push(Line::raw(""));
            if can_try_other_dcs(w) {
                lines.push(Line::styled(
                    "The code was sent before it expired, so it may belong to another data",
                    p.warn(),
                ));
                lines.push(Line::styled(
                    "center: press d to try the same code in the others.",
                    p.warn(),
                ));
            } else if w.exchange.tried_other_dcs {
                lines.push(Line::styled(
                    "No data center accepted the code: it is used or expired. Make a new one.",
                    p.warn(),
                ));
            }
            lines.push(Line::from(vec![
                Span::styled("Enter", p.key()),
                Span::raw(format!(
                    " goes to the step that fixes it: {}.",
                    fix_step(diagnosis.code).title()
                )),
            ]));
            lines
        }
        ExchangeState::Idle => vec![Line::raw("Nothing sent.")],
    }
}

fn view_live_test(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    let Some(o) = &w.live.outcome else {
        return vec![Line::raw("No token yet.")];
    };
    let mut lines = vec![];
    match o.product {
        Some(pr) => lines.push(Line::styled(
            format!(
                "✓ Token verified. {} answered with {} organization{}.",
                pr.name(),
                o.organizations.len(),
                if o.organizations.len() == 1 { "" } else { "s" }
            ),
            p.ok(),
        )),
        None => lines.push(Line::styled(
            "✓ Code exchanged. No live test: the scopes open no organizations endpoint.",
            p.ok(),
        )),
    }
    lines.push(Line::raw(format!("API domain: {}", o.api_domain)));
    if o.refresh_token.is_none() {
        lines.push(Line::styled(
            "⚠ Zoho sent no refresh token: the token dies in an hour.",
            p.warn(),
        ));
    }
    if let Some(dc) = o.dc_mismatch {
        lines.push(Line::styled(
            format!(
                "⚠ Zoho's api_domain is in {} ({}), not in {}: the account lives there.",
                dc.name(),
                dc.code(),
                w.dc.chosen.name()
            ),
            p.warn(),
        ));
    }
    if let Some(dc) = w.dc_switched {
        lines.push(Line::styled(
            format!(
                "The code worked in {} ({}); that is saved.",
                dc.name(),
                dc.code()
            ),
            p.warn(),
        ));
    }
    lines.push(Line::raw(""));
    if o.organizations.is_empty() {
        lines.push(Line::raw("Enter continues to the preview of the env file."));
        return lines;
    }
    lines.push(Line::raw(
        "Pick the organization to save as ZOHO_ORGANIZATION_ID:",
    ));
    for (i, org) in o.organizations.iter().enumerate() {
        let here = i == w.live.org_cursor;
        let style = if here { p.current() } else { Style::default() };
        lines.push(Line::from(vec![
            Span::styled(if here { " › (•) " } else { "   ( ) " }, p.key()),
            Span::styled(format!("{:<32} {:<14}", org.name, org.id), style),
            Span::styled(if org.is_default { " default" } else { "" }, p.dim()),
        ]));
    }
    lines
}

fn view_save(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    if let Some((store, tenant)) = &w.ctx.store {
        return view_save_store(w, p, store, tenant);
    }
    let mut lines = vec![Line::from(vec![
        Span::raw("Changes to "),
        Span::styled(w.ctx.env_path.clone(), p.bold()),
        Span::styled("  (an existing file is backed up first)", p.dim()),
    ])];
    for (key, value) in w.env_updates() {
        let old = w.env_old(&key);
        let (mark, shown, style) = match &value {
            EnvValue::Plain(v) => {
                let same = old.is_some_and(|o| o.expose() == v);
                (
                    if same {
                        "="
                    } else if old.is_some() {
                        "~"
                    } else {
                        "+"
                    },
                    v.clone(),
                    same,
                )
            }
            EnvValue::Secret(s) => {
                let same = old.is_some_and(|o| o == s);
                (
                    if same {
                        "="
                    } else if old.is_some() {
                        "~"
                    } else {
                        "+"
                    },
                    s.masked(),
                    same,
                )
            }
            EnvValue::Remove => {
                if old.is_none() {
                    continue;
                }
                ("-", "(removed: kept in the keychain)".to_string(), false)
            }
        };
        let mut shown = shown;
        if shown.chars().count() > 50 {
            shown = shown.chars().take(49).collect::<String>() + "…";
        }
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} "), if style { p.dim() } else { p.ok() }),
            Span::raw(format!("{key:<22} ")),
            Span::styled(shown, if style { p.dim() } else { Style::default() }),
        ]));
    }
    lines.push(Line::raw(""));
    for (i, opt) in w.save_options().into_iter().enumerate() {
        let here = i == w.save.cursor;
        let (on, text) = match opt {
            SaveOption::Keychain => (
                w.save.use_keychain,
                "Store the secrets in the OS keychain, not in the file".to_string(),
            ),
            SaveOption::Gitignore => (
                w.save.add_gitignore,
                "Add the env file to .gitignore (git does not ignore it yet)".to_string(),
            ),
        };
        lines.push(Line::from(vec![
            Span::styled(if here { " › " } else { "   " }, p.key()),
            Span::styled(if on { "[x] " } else { "[ ] " }, p.ok()),
            Span::styled(text, if here { p.current() } else { Style::default() }),
        ]));
    }
    if !w.ctx.shadowing.is_empty() {
        lines.push(Line::styled(
            format!(
                "⚠ Exported in your shell, these win over the file: {}. Unset them.",
                w.ctx.shadowing.join(", ")
            ),
            p.warn(),
        ));
    }
    match &w.save.state {
        SaveState::Preview => {}
        SaveState::Writing => lines.push(Line::styled("Writing…", p.dim())),
        SaveState::Failed(e) => {
            lines.push(Line::styled(format!("✗ The write failed: {e}"), p.error()));
            lines.push(Line::styled(
                "Nothing was changed. Fix the cause, then Enter retries.",
                p.error(),
            ));
            if w.save.use_keychain {
                lines.push(Line::styled(
                    "Or press f to save the secrets to the env file instead (they are not saved anywhere yet).",
                    p.warn(),
                ));
            }
        }
    }
    lines
}

/// The Save step with `--store`: the tenant's row as it will be written (the same plan), secrets
/// masked.
fn view_save_store(w: &Wizard, p: &Palette, store: &str, tenant: &str) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Saves the row of tenant "),
            Span::styled(
                format!("\"{}\"", crate::auth::printable::printable(tenant)),
                p.bold(),
            ),
            Span::raw(" in "),
            Span::styled(crate::auth::printable::printable(store), p.bold()),
        ]),
        Line::styled(
            "  (one transaction; other tenants' rows are not touched)",
            p.dim(),
        ),
    ];
    let row = crate::auth::stored::row_from_plan(&w.save_plan());
    for (column, value) in crate::auth::stored::preview(tenant, &row) {
        let mut shown = value;
        if shown.chars().count() > 50 {
            shown = shown.chars().take(49).collect::<String>() + "…";
        }
        lines.push(Line::from(vec![
            Span::styled(" + ", p.ok()),
            Span::raw(format!("{column:<16} ")),
            Span::raw(shown),
        ]));
    }
    lines.push(Line::raw(""));
    match &w.save.state {
        SaveState::Preview => {}
        SaveState::Writing => lines.push(Line::styled("Saving…", p.dim())),
        SaveState::Failed(e) => {
            lines.push(Line::styled(format!("✗ The save failed: {e}"), p.error()));
            lines.push(Line::styled(
                "Nothing was changed. Fix the cause, then Enter retries.",
                p.error(),
            ));
        }
    }
    lines
}

fn view_done(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    let mut lines = vec![];
    match &w.report {
        Some(r) => {
            lines.push(Line::styled(format!("✓ Written to {}", r.env_path), p.ok()));
            lines.push(Line::styled(format!("  {}", r.keys.join(", ")), p.dim()));
            if let Some(b) = &r.backup {
                lines.push(Line::styled(
                    format!("  Previous file kept as {b}"),
                    p.dim(),
                ));
            }
            if r.keychain {
                lines.push(Line::styled(
                    "  The client secret and refresh token are in the OS keychain.",
                    p.dim(),
                ));
            }
            if let Some(g) = &r.backup_gitignore {
                lines.push(Line::styled(
                    format!("  The backup is listed in {g}, so git does not show it."),
                    p.dim(),
                ));
            }
            if r.gitignore_added {
                lines.push(Line::styled("  Added to .gitignore.", p.dim()));
            }
        }
        None => lines.push(Line::raw("Nothing was written.")),
    }
    let api = w
        .live
        .outcome
        .as_ref()
        .map(|o| o.api_domain.clone())
        .unwrap_or_else(|| w.dc.chosen.api_domain());
    let path = w
        .live
        .outcome
        .as_ref()
        .and_then(|o| o.product)
        .map_or("/books/v3/organizations", |pr| pr.probe_path());
    // The commands must find the file that was written: name it unless it is the default, and
    // then give each command its own line so nothing wraps. `run` is how zoho-auth runs here
    // (`cargo run --` when it is not installed).
    let run = &w.ctx.run_as;
    let use_lines: Vec<Line> = if w.ctx.env_path == ".env" {
        vec![
            Line::from(vec![
                Span::styled(format!("  {run} token"), p.key()),
                Span::raw("   prints a fresh access token (cached for the hour)"),
            ]),
            Line::from(vec![
                Span::styled(format!("  {run} check"), p.key()),
                Span::raw("   live-tests the saved token again"),
            ]),
            Line::raw(""),
            Line::styled(
                format!("  curl -H \"Authorization: Zoho-oauthtoken $({run} token)\" \\"),
                p.key(),
            ),
            Line::styled(format!("       {api}{path}"), p.key()),
        ]
    } else {
        let env = &w.ctx.env_path;
        vec![
            Line::styled(format!("  {run} --env-file {env} token"), p.key()),
            Line::raw("      prints a fresh access token (cached for the hour)"),
            Line::styled(format!("  {run} --env-file {env} check"), p.key()),
            Line::raw("      live-tests the saved token again"),
            Line::raw(""),
            Line::styled(format!("  TOKEN=$({run} --env-file {env} token)"), p.key()),
            Line::styled(
                "  curl -H \"Authorization: Zoho-oauthtoken $TOKEN\" \\",
                p.key(),
            ),
            Line::styled(format!("       {api}{path}"), p.key()),
        ]
    };
    if run.starts_with("cargo ") {
        lines.push(Line::styled(
            "zoho-auth is not installed: `cargo install --locked --path .` puts it on PATH.",
            p.dim(),
        ));
    }
    if let Some(restart) = &w.ctx.sandbox_restart {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "The sandbox stops when you quit. For these commands, start it again in another terminal:",
            p.warn(),
        ));
        lines.push(Line::styled(format!("  {restart}"), p.key()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Use it:", p.bold()));
    lines.extend(use_lines);
    lines.push(Line::raw(""));
    if w.reauth.is_some() {
        lines.extend(reauth::revoke_lines(w, p));
    } else {
        lines.push(Line::styled(
            "When Zoho says 57 or 401 later: zoho-auth reauth.",
            p.dim(),
        ));
    }
    lines
}
