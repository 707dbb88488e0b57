//! The views of `zoho-auth reauth`: the Checking screen, the diagnosis, the retry screen, and the
//! revoke offer on Done. Pure: they read `&Wizard` and `now`, nothing else.

use ratatui::text::{Line, Span};

use super::parts::{SPINNER, truncate};
use super::theme::Palette;
use crate::auth::Product;
use crate::auth::diagnosis::Code;
use crate::wizard::{CheckStage, Reauth, RevokeState, Seed, Step, Time, Wizard, retry_advice};

/// The product `p` tests next (the order of `Product::ALL`, wrapping).
fn next_product(p: Option<Product>) -> Product {
    let i = p
        .and_then(|p| Product::ALL.iter().position(|x| *x == p))
        .map_or(0, |i| (i + 1) % Product::ALL.len());
    Product::ALL[i]
}

/// What a diagnosis read from `--from-error` means, in a few words.
fn seed_summary(code: Code) -> &'static str {
    match code {
        Code::TokenRejected => {
            "the API refused the access token (57/401): a dead or rejected token, or a missing scope"
        }
        Code::RefreshTokenRevoked => "the refresh token is dead (invalid_code while refreshing)",
        Code::ScopeMissing => "the token lacks a scope the endpoint needs",
        Code::RateLimited => "Zoho's throttle (too many requests)",
        Code::InvalidClient => "Zoho does not know the client id there",
        Code::InvalidClientSecret => "the client secret is wrong",
        Code::NotOrgMember => "the user is not a member of the organization (403)",
        Code::ServerError => "Zoho or a proxy failed (5xx)",
        Code::Network => "Zoho could not be reached",
        Code::WrongDc => "the credentials belong to another data center",
        Code::MissingCredentials => "credentials are missing",
        Code::InvalidCode => "a code was refused",
        Code::InvalidRedirectUri => "the redirect URI does not match",
        Code::BadInput => "a malformed value",
        Code::Ok => "no error",
    }
}

/// What entering the wizard at `step` will change and keep, for the diagnosis screen.
fn next_sentence(w: &Wizard, r: &Reauth, step: Step) -> String {
    let dc = format!("{} ({})", w.dc.chosen.name(), w.dc.chosen.code());
    match (step, r.code()) {
        (Step::GenerateCode, _) => {
            format!(
                "only a new code is needed; the data center {dc}, the client and the scopes are kept."
            )
        }
        (Step::Scopes, Some(Code::ScopeMissing)) => {
            let probe = r.product.or_else(|| w.probe_product());
            let product = probe.map_or("the product", |p| p.name());
            match probe
                .and_then(|p| crate::wizard::catalog::missing_for_probe(p, &w.scopes.selected))
            {
                Some(scope) => format!(
                    "the current scopes stay selected and {scope} is added for the {product} live test; then a new code."
                ),
                None => "the current scopes stay selected: add what the endpoint needs, then a new code.".into(),
            }
        }
        (Step::Scopes, _) => "pick the scopes (the env file names none), then a new code.".into(),
        (Step::DataCenter, Some(Code::WrongDc)) => {
            let account = r
                .result
                .as_ref()
                .and_then(|res| res.account_dc)
                .map_or(String::new(), |d| format!(" {} is preselected;", d.name()));
            format!(
                "pick the data center the account lives in:{account} client and scopes are kept."
            )
        }
        (Step::DataCenter, Some(Code::MissingCredentials)) => {
            "the normal setup, from the data center, with what the file has filled in.".into()
        }
        (Step::DataCenter, _) => {
            "check the data center the client belongs to; client and scopes are kept.".into()
        }
        (Step::Client, Some(Code::InvalidClientSecret)) => {
            "paste the client secret again (API console, Client Secret tab); the rest is kept."
                .into()
        }
        (Step::Client, _) => "fix the client id and secret; the rest is kept.".into(),
        (Step::BrowserSignIn | Step::DeviceSignIn, _) => {
            format!(
                "only a new sign-in is needed; the data center {dc}, the client and the scopes are kept."
            )
        }
        (
            Step::Diagnose
            | Step::PasteCode
            | Step::Exchange
            | Step::LiveTest
            | Step::Save
            | Step::Done,
            _,
        ) => String::new(),
    }
}

/// The three check lines: read, refresh, live test; each waiting, running, passed or failed.
fn stage_lines(w: &Wizard, r: &Reauth, p: &Palette, now: Time) -> Vec<Line<'static>> {
    let running = r.checking_since.is_some();
    let spin = r
        .checking_since
        .map(|since| SPINNER[((now.0.saturating_sub(since.0)) / 250) as usize % SPINNER.len()])
        .unwrap_or("·");
    let failed = r
        .result
        .as_ref()
        .is_some_and(|res| res.diagnosis.code != Code::Ok);
    let load_failed = failed && r.stages.is_empty();
    let host = w
        .accounts_url()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string();
    let product = r
        .stages
        .iter()
        .find_map(|s| match s {
            CheckStage::Testing(p) => Some(*p),
            CheckStage::Refreshing => None,
        })
        .or(r.product)
        .or_else(|| w.probe_product());
    // (reached, is the last reached stage)
    let state = |reached: bool, last: bool| -> (String, ratatui::style::Style) {
        match (reached, last, running, failed) {
            (false, _, _, _) => ("·".into(), p.dim()),
            (true, true, true, _) => (spin.to_string(), p.key()),
            (true, true, false, true) => ("✗".into(), p.error()),
            (true, _, _, _) => ("✓".into(), p.ok()),
        }
    };
    let source = if w.save.use_keychain {
        "the env file and the keychain"
    } else {
        "the env file"
    };
    let read = if load_failed {
        ("✗".to_string(), p.error())
    } else if running && r.stages.is_empty() {
        (spin.to_string(), p.key())
    } else {
        ("✓".to_string(), p.ok())
    };
    let refreshing = r.stages.contains(&CheckStage::Refreshing);
    let testing = r.stages.iter().any(|s| matches!(s, CheckStage::Testing(_)));
    let refresh = state(refreshing, refreshing && !testing);
    let test = state(testing, testing);
    let test_text = match product {
        Some(pr) => format!("Live test: the organizations endpoint of {}", pr.name()),
        None if r.result.is_some() && !failed => {
            "Live test: none (no scope opens an organizations endpoint)".into()
        }
        None => "Live test: the product the scopes grant".into(),
    };
    let line = |(mark, style): (String, ratatui::style::Style), text: String| {
        Line::from(vec![
            Span::styled(format!(" {mark} "), style),
            Span::raw(text),
        ])
    };
    vec![
        line(
            read,
            format!("Read the client, refresh token and scopes from {source}"),
        ),
        line(refresh, format!("Refresh an access token at {host}")),
        line(test, test_text),
    ]
}

/// How the live result relates to what `--from-error` said.
fn seed_lines(r: &Reauth, p: &Palette) -> Vec<Line<'static>> {
    let Some(seed) = r.seed else {
        return vec![];
    };
    let text = match (seed, r.code()) {
        (Seed::Unrecognized, None) => {
            "The error text you gave names no Zoho error this tool knows: the live check decides."
                .to_string()
        }
        (Seed::Unrecognized, Some(_)) => {
            "The error text you gave named no known Zoho error; this is the live check's finding."
                .to_string()
        }
        (Seed::Read(code), None) => format!(
            "The error you gave reads as {}: {}. The live check confirms or replaces it.",
            code.as_str(),
            seed_summary(code)
        ),
        (Seed::Read(seen), Some(live)) if seen == live => format!(
            "The live check confirms the error you gave ({}).",
            live.as_str()
        ),
        (Seed::Read(seen), Some(Code::Ok)) => format!(
            "The error you gave read as {}, but the live check passes: it may come from another product or an endpoint needing a scope the token lacks (p tests another product).",
            seen.as_str()
        ),
        (Seed::Read(seen), Some(live)) => format!(
            "The live check found {} where the error you gave read as {}: the live result replaces it.",
            live.as_str(),
            seen.as_str()
        ),
    };
    vec![Line::styled(text, p.warn())]
}

/// The Diagnose step: the Checking screen while the check runs, then the diagnosis.
pub(super) fn view_diagnose(w: &Wizard, p: &Palette, now: Time) -> Vec<Line<'static>> {
    let Some(r) = &w.reauth else {
        return vec![Line::raw("Nothing to diagnose.")];
    };
    let verb = if r.result.is_some() {
        "Checked "
    } else {
        "Checking "
    };
    let mut lines = vec![Line::from(vec![
        Span::raw(verb),
        Span::styled(w.ctx.env_path.clone(), p.bold()),
        Span::raw(" as `zoho-auth check` does. Nothing is changed."),
    ])];
    lines.extend(stage_lines(w, r, p, now));
    lines.push(Line::raw(""));
    let Some(res) = &r.result else {
        lines.extend(seed_lines(r, p));
        return lines;
    };
    let d = &res.diagnosis;
    if d.code == Code::Ok {
        lines.push(Line::styled("✓ ok: nothing needs re-authorizing", p.ok()));
        lines.push(Line::raw(d.message.clone()));
        if !d.fix.is_empty() {
            lines.push(Line::styled(d.fix.clone(), p.dim()));
        }
        lines.extend(seed_lines(r, p));
        lines.push(Line::raw(""));
        let next = next_product(r.product).name();
        lines.push(Line::from(vec![
            Span::styled("p", p.key()),
            Span::raw(format!(" tests another product (next: {next})")),
        ]));
        lines.push(Line::from(vec![
            Span::styled("g", p.key()),
            Span::raw(" re-issues anyway: a new code, with everything else kept"),
        ]));
        return lines;
    }
    lines.push(Line::styled(format!("✗ {}", d.code.as_str()), p.error()));
    lines.push(Line::raw(d.message.clone()));
    // A fix that says "run zoho-auth reauth" (or setup) is this very screen, and the retry advice
    // replaces Zoho's "try again": the lines below say what happens next.
    let own_fix = d.fix.contains("reauth")
        || d.code == Code::MissingCredentials
        || retry_advice(d.code).is_some();
    if !d.fix.is_empty() && !own_fix {
        lines.push(Line::from(vec![
            Span::styled("Fix: ", p.bold()),
            Span::raw(d.fix.clone()),
        ]));
    }
    lines.extend(seed_lines(r, p));
    lines.push(Line::raw(""));
    match (r.next, retry_advice(d.code)) {
        (Some(step), _) => {
            lines.push(Line::from(vec![
                Span::styled("Enter", p.key()),
                Span::raw(format!(
                    " → {}. {}: {}",
                    step.number(),
                    step.title(),
                    next_sentence(w, r, step)
                )),
            ]));
            lines.push(Line::styled(
                "Nothing is written until the new token is verified (exchange, refresh, live test).",
                p.dim(),
            ));
        }
        (None, Some(advice)) => {
            lines.push(Line::styled(
                "Nothing was changed: the env file and the token are as they were.",
                p.ok(),
            ));
            lines.push(Line::raw(advice));
            lines.push(Line::from(vec![
                Span::styled("r", p.key()),
                Span::raw(" checks again."),
            ]));
        }
        (None, None) => {}
    }
    lines
}

/// One line on the step reauth entered at, saying why it is here.
pub(super) fn entry_note(w: &Wizard, p: &Palette) -> Option<Line<'static>> {
    let r = w.reauth.as_ref()?;
    if r.entered != Some(w.step) {
        return None;
    }
    let code = r.code()?;
    let text = match (w.step, &r.added_scope) {
        (Step::Scopes, Some(scope)) => {
            format!("Reauth: [+] {scope} added; your scopes stay selected.")
        }
        (Step::GenerateCode, _) => {
            format!("Reauth ({}): only a new code is needed.", code.as_str())
        }
        (Step::Client, _) if code == Code::InvalidClientSecret => format!(
            "Reauth ({}): paste the secret again; the id is kept.",
            code.as_str()
        ),
        _ => format!(
            "Reauth ({}): fix this step; the rest is kept.",
            code.as_str()
        ),
    };
    // One row: the steps below count on it.
    Some(Line::styled(truncate(&text, 78), p.warn()))
}

/// The revoke offer on the Done step.
pub(super) fn revoke_lines(w: &Wizard, p: &Palette) -> Vec<Line<'static>> {
    let Some(r) = &w.reauth else {
        return vec![];
    };
    let line = match &r.revoke {
        RevokeState::Unavailable => Line::styled(
            "The old refresh token was already dead: nothing to revoke.",
            p.dim(),
        ),
        RevokeState::Offered => Line::from(vec![
            Span::raw("The old refresh token still works. Once nothing uses it, "),
            Span::styled("r", p.key()),
            Span::raw(" revokes it."),
        ]),
        RevokeState::Running => Line::styled("Revoking the old refresh token…", p.dim()),
        RevokeState::Revoked { known: true } => {
            Line::styled("✓ The old refresh token is revoked.", p.ok())
        }
        RevokeState::Revoked { known: false } => Line::styled(
            "Zoho no longer knew the old refresh token: nothing left to revoke.",
            p.ok(),
        ),
        RevokeState::Failed(d) => Line::styled(
            format!(
                "✗ The old token was not revoked: {} r tries again.",
                d.message
            ),
            p.error(),
        ),
    };
    vec![line]
}
