//! The views of the browser and device sign-in steps, and the sign-in choice on the Client step.
//! Pure: they read `&Wizard` and `now`; the countdown is `deadline - now`.

use ratatui::text::{Line, Span};

use super::parts::{SPINNER, mmss};
use super::theme::Palette;
use crate::auth::loopback::RedirectUri;
use crate::auth::printable::printable;
use crate::wizard::{
    CopyOutcome, DeviceCodeInfo, DeviceEvent, SignIn, SignInFailure, SignInState, Step, Time,
    Wizard,
};

/// The port the redirect URI listens on, for the `ssh -L` advice.
fn redirect_port(w: &Wizard) -> u16 {
    RedirectUri::parse(&w.client.redirect_uri).map_or(8085, |r| r.port())
}

/// The headless advice for a browser sign-in: where the URL must be opened, and how the redirect
/// can still reach this machine.
pub(super) fn headless_lines(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    let port = redirect_port(w);
    vec![
        Line::styled(
            "No browser can be opened here (SSH or no display): the sign-in URL must be",
            p.warn(),
        ),
        Line::styled(
            "opened in a browser elsewhere, and its redirect must reach this machine:",
            p.warn(),
        ),
        Line::from(vec![
            Span::raw("  "),
            Span::styled(format!("ssh -L {port}:127.0.0.1:{port} host"), p.key()),
            Span::styled(" on your computer, then open the URL there.", p.dim()),
        ]),
        Line::styled(
            "Simpler here: the Self Client paste, or a device code (←→ picks them).",
            p.dim(),
        ),
    ]
}

/// The sign-in choice of the Client step: three rows, the chosen one marked.
pub(super) fn choice_lines(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    SignIn::ALL
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let here = *m == w.client.sign_in;
            let label = if i == 0 { "Sign in  " } else { "         " };
            Line::from(vec![
                Span::raw(label),
                Span::styled(if here { "(•) " } else { "( ) " }, p.key()),
                Span::styled(m.label(), if here { p.current() } else { p.dim() }),
            ])
        })
        .collect()
}

/// The cause and the fix of a failed sign-in, in the wizard's words.
fn failure_text(w: &Wizard, failure: &SignInFailure) -> (String, String) {
    let device = w.step == Step::DeviceSignIn;
    match failure {
        SignInFailure::PortBusy { addr, detail } => (
            format!(
                "Cannot listen on {addr} for the browser's redirect: {detail}. Nothing was sent."
            ),
            "Stop the program that uses the port (another zoho-auth?) and press Enter, or register another loopback redirect URI in the API console and enter it on the Client step (c).".into(),
        ),
        SignInFailure::Denied if device => (
            "Access was denied on the verification page (access_denied): no token was issued."
                .into(),
            "Press Enter for a new code and approve it; to grant other scopes, go back (Esc)."
                .into(),
        ),
        SignInFailure::Denied => (
            "Access was denied on Zoho's consent page (access_denied): no token was issued."
                .into(),
            "Press Enter to sign in again and choose Accept; to grant other scopes, go back (Esc)."
                .into(),
        ),
        SignInFailure::StateMismatch => (
            "The redirect that arrived does not carry the state this sign-in sent: it belongs to another sign-in (an old tab?) or was forged. Its code was not used.".into(),
            "Press Enter to sign in again, and finish in the tab of this sign-in.".into(),
        ),
        SignInFailure::TimedOut { seconds } => (
            format!(
                "No sign-in came back within {}.",
                crate::auth::loopback::human_duration(*seconds)
            ),
            format!(
                "Press Enter to try again. If Zoho showed an error about the redirect URI, register exactly {} for the client in the API console (c changes it here).",
                w.client.redirect_uri.trim()
            ),
        ),
        SignInFailure::Expired => (
            "The device code expired before it was approved.".into(),
            "Press Enter for a new code and approve it before the countdown ends.".into(),
        ),
        SignInFailure::Other(d) => (d.message.clone(), d.fix.clone()),
    }
}

fn failed_lines(w: &Wizard, p: &Palette, failure: &SignInFailure) -> Vec<Line<'static>> {
    let (cause, fix) = failure_text(w, failure);
    let heading = match failure {
        SignInFailure::Other(d) => format!("✗ The sign-in did not complete ({}).", d.code.as_str()),
        SignInFailure::PortBusy { .. }
        | SignInFailure::Denied
        | SignInFailure::StateMismatch
        | SignInFailure::TimedOut { .. }
        | SignInFailure::Expired => "✗ The sign-in did not complete.".to_string(),
    };
    vec![
        Line::styled(heading, p.error()),
        Line::raw(""),
        Line::raw(cause),
        Line::raw(""),
        Line::from(vec![Span::styled("Fix: ", p.bold()), Span::raw(fix)]),
    ]
}

fn clock(w: &Wizard, p: &Palette, now: Time) -> Span<'static> {
    match w.sign_in_deadline() {
        Some(at) => {
            let left = now.until(at);
            let style = if left.as_secs() < 30 {
                p.warn()
            } else {
                p.dim()
            };
            Span::styled(format!("  {} left", mmss(left)), style)
        }
        None => Span::raw(""),
    }
}

fn spinner(since: Time, now: Time) -> &'static str {
    SPINNER[((now.0.saturating_sub(since.0)) / 250) as usize % SPINNER.len()]
}

/// The browser sign-in: the URL as text (the screen's full width, no border, so that it can be
/// selected), the browser and clipboard notes, the countdown; or the failure.
pub(super) fn view_browser(w: &Wizard, p: &Palette, now: Time) -> Vec<Line<'static>> {
    let (since, url) = match &w.signin.state {
        SignInState::Waiting { since, url, .. } => (*since, url.clone()),
        SignInState::Failed(f) => return failed_lines(w, p, f),
        SignInState::Idle => return vec![Line::raw("Press Enter to sign in.")],
    };
    let redirect = w.client.redirect_uri.trim().to_string();
    let mut lines = vec![];
    let Some(url) = url else {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", spinner(since, now)), p.key()),
            Span::raw(format!("Starting the local listener for {redirect}…")),
        ]));
        return lines;
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{} ", spinner(since, now)), p.key()),
        Span::raw("Waiting for you to sign in at Zoho and click Accept…"),
        clock(w, p, now),
    ]));
    for line in &w.signin.listening {
        lines.push(Line::styled(format!("  {}", printable(line)), p.dim()));
    }
    let opened = match (w.ctx.can_open_browser, w.generate.opened) {
        (true, Some(true)) => Span::styled("✓ Opened in your browser. ", p.ok()),
        (true, Some(false)) => Span::styled("The browser did not open. ", p.warn()),
        (true, None) => Span::styled("Opening your browser… ", p.dim()),
        (false, _) => Span::styled("Open this URL in a browser. ", p.warn()),
    };
    let copied = match w.generate.copied {
        Some(CopyOutcome::System) => Span::styled("✓ URL copied to the clipboard.", p.ok()),
        Some(CopyOutcome::Osc52) => {
            Span::styled("✓ URL sent to your terminal's clipboard.", p.ok())
        }
        Some(CopyOutcome::Unavailable) => Span::styled("Select the URL below to copy it.", p.dim()),
        None => Span::raw(""),
    };
    lines.push(Line::from(vec![opened, copied]));
    lines.push(Line::raw(""));
    lines.push(Line::raw(url));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "After Accept, Zoho sends the browser to {redirect}, where zoho-auth listens: that exact URI must be an Authorized Redirect URI of the client."
        ),
        p.dim(),
    ));
    if !w.ctx.can_open_browser {
        lines.push(Line::raw(""));
        lines.extend(headless_lines(w, p));
    }
    lines
}

fn device_code_lines(info: &DeviceCodeInfo, w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    let copied = match w.generate.copied {
        Some(CopyOutcome::System) => Span::styled("  ✓ copied to the clipboard", p.ok()),
        Some(CopyOutcome::Osc52) => Span::styled("  ✓ sent to your terminal's clipboard", p.ok()),
        Some(CopyOutcome::Unavailable) | None => Span::raw(""),
    };
    vec![
        Line::from(vec![
            Span::raw("1. Open   "),
            Span::styled(info.verification_url.clone(), p.bold()),
        ]),
        Line::styled(
            "         on any device (a phone will do), signed in to Zoho.",
            p.dim(),
        ),
        Line::from(vec![
            Span::raw("2. Enter  "),
            Span::styled(info.user_code.clone(), p.current()),
            copied,
        ]),
        Line::raw("3. Approve the access."),
    ]
}

/// The device sign-in: the verification page and the user code, the countdown to the code's
/// expiry, the polling notes; or the failure.
pub(super) fn view_device(w: &Wizard, p: &Palette, now: Time) -> Vec<Line<'static>> {
    let (since, device, notes) = match &w.signin.state {
        SignInState::Waiting {
            since,
            device,
            notes,
            ..
        } => (*since, device.clone(), notes.clone()),
        SignInState::Failed(f) => return failed_lines(w, p, f),
        SignInState::Idle => return vec![Line::raw("Press Enter for a device code.")],
    };
    let Some(info) = device else {
        return vec![Line::from(vec![
            Span::styled(format!("{} ", spinner(since, now)), p.key()),
            Span::raw(format!("Asking {} for a device code…", w.accounts_url())),
        ])];
    };
    let mut lines = device_code_lines(&info, w, p);
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(format!("{} ", spinner(since, now)), p.key()),
        Span::raw("Waiting for the approval…"),
        clock(w, p, now),
    ]));
    let mut interval = info.interval;
    for note in &notes {
        match note {
            DeviceEvent::SlowDown { interval: every } => {
                interval = *every;
                lines.push(Line::styled(
                    format!(
                        "Zoho asked to poll less often: every {} s now.",
                        every.as_secs()
                    ),
                    p.warn(),
                ));
            }
            DeviceEvent::MovedTo { accounts } => lines.push(Line::styled(
                format!(
                    "The account lives in another data center: polling {} now.",
                    accounts.trim_end_matches('/')
                ),
                p.warn(),
            )),
            DeviceEvent::Approved { .. } | DeviceEvent::Failed(_) => {}
        }
    }
    lines.push(Line::styled(
        format!(
            "Asking Zoho every {} s, never faster. The client must be a Non-browser client.",
            interval.as_secs()
        ),
        p.dim(),
    ));
    lines
}
