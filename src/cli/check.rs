//! `zoho-auth check`: live-test the configured grant; print the diagnosis; exit code by class.
//! `--json` prints one object on stdout. It tests the token `token` would print (`auth::access`:
//! the cache, or a store's fleet token) while more than 5 minutes of it remain, so a monitor running
//! it every minute never eats Zoho's 10 tokens per 10 minutes; otherwise one refresh, under the
//! lock, shared with the others. `--refresh` forces the refresh. It says which it did.

use crate::auth::access::{self, Granted, Obtained};
use crate::auth::client::TokenSet;
use crate::auth::diagnosis::Code;
use crate::auth::flow::{self, CheckReport};
use crate::auth::handoff::Want;

use super::common::{client, dc_flag, load_configured, now_unix, print_diagnosis, product_flag};
use super::{CheckArgs, GlobalArgs};

/// Where the access token the check tested came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The token cache: no refresh spent.
    Cached { expires_in_secs: u64 },
    /// One refresh at Zoho.
    Refreshed,
    /// No access token was had (the configuration or the refresh failed).
    None,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Cached { .. } => "cached",
            Source::Refreshed => "refreshed",
            Source::None => "none",
        }
    }
}

pub async fn run(global: &GlobalArgs, args: &CheckArgs) -> u8 {
    // A flag the user mistyped is a usage error (exit 2), said as such: not a check that found
    // missing credentials.
    if let Err(d) = dc_flag(global).and_then(|_| product_flag(args.product.as_deref())) {
        print_diagnosis(&d);
        return d.exit_code();
    }
    let (report, source) = report(global, args).await;
    match source {
        Source::Cached { expires_in_secs } => eprintln!(
            "zoho-auth check: tested the cached access token (valid {} more minutes; no refresh spent; --refresh forces one)",
            expires_in_secs / 60
        ),
        Source::Refreshed => eprintln!(
            "zoho-auth check: refreshed the access token (Zoho allows 10 per 10 minutes) and cached it"
        ),
        Source::None => {}
    }
    if global.json {
        let mut value = serde_json::to_value(&report).unwrap_or_else(|_| serde_json::json!({}));
        value["token"] = serde_json::Value::String(source.as_str().into());
        println!("{value}");
    } else {
        print_human(&report);
    }
    report.exit_code()
}

async fn report(global: &GlobalArgs, args: &CheckArgs) -> (CheckReport, Source) {
    let product = match product_flag(args.product.as_deref()) {
        Ok(p) => p,
        Err(d) => return (CheckReport::failed(d, None, None), Source::None),
    };
    let cfg = match load_configured(global) {
        Ok(cfg) => cfg,
        Err(d) => return (CheckReport::failed(d, None, product), Source::None),
    };
    let client = match client(global) {
        Ok(c) => c,
        Err(d) => return (CheckReport::failed(d, cfg.target.dc, product), Source::None),
    };
    // The token `token`, `run`, `serve` and `api` would use (the cache, or a store's fleet token),
    // so a monitor running `check` every minute spends no refresh while it lasts.
    let want = if args.refresh {
        Want::Refresh
    } else {
        Want::USUAL
    };
    let obtain = |want: Want| {
        let client = client.clone();
        let cfg = &cfg;
        async move { access::obtain(cfg, || Ok(client), &want).await }
    };
    let failed = |d| {
        let d = flow::refine_wrong_dc(d, &cfg.target);
        (CheckReport::failed(d, cfg.target.dc, product), Source::None)
    };
    let granted = match obtain(want).await {
        Ok(g) => g,
        Err(d) => return failed(d),
    };
    let test = |granted: &Granted| {
        let tokens = TokenSet {
            access_token: granted.token.token.clone(),
            refresh_token: None,
            scopes: vec![],
            api_domain: granted.token.api_domain.clone(),
            expires_in: std::time::Duration::from_secs(granted.token.remaining(now_unix())),
        };
        flow::check_tokens(&client, &cfg.target, tokens, &cfg.scopes, product, &|_| {})
    };
    let report = test(&granted).await;
    match granted.obtained {
        Obtained::Refreshed => (report, Source::Refreshed),
        // A cached token the API refuses may have been revoked since: spend the run's one
        // refresh on a fresh token instead (unless another process already replaced it).
        Obtained::Cached if report.diagnosis == Code::TokenRejected => {
            let again = match obtain(Want::Replace(granted.token.token.clone())).await {
                Ok(g) => g,
                Err(d) => return failed(d),
            };
            let report = test(&again).await;
            match again.obtained {
                Obtained::Refreshed => (report, Source::Refreshed),
                Obtained::Cached => (cached_words(report), cached(&again)),
            }
        }
        Obtained::Cached => (cached_words(report), cached(&granted)),
    }
}

fn cached(granted: &Granted) -> Source {
    Source::Cached {
        expires_in_secs: granted.token.remaining(now_unix()),
    }
}

/// The report of a cached token: it is the access token that works; the refresh token was not
/// used this time.
fn cached_words(mut report: CheckReport) -> CheckReport {
    if let Some(rest) = report.message.strip_prefix("The refresh token works") {
        report.message = format!("The cached access token works{rest}");
    }
    report
}

fn print_human(report: &CheckReport) {
    let mark = if report.ok { "ok" } else { "FAILED" };
    eprintln!("zoho-auth check: {mark} ({})", report.diagnosis.as_str());
    eprintln!("  {}", report.message);
    if !report.fix.is_empty() {
        eprintln!("  Fix: {}", report.fix);
    }
    if let Some(dc) = report.dc {
        eprintln!("  data center: {dc}");
    }
    if let Some(api) = &report.api_domain {
        eprintln!("  api_domain:  {api}");
    }
    if let Some(orgs) = &report.organizations {
        for org in orgs {
            let mark = if org.is_default { " (default)" } else { "" };
            eprintln!("  organization {}  {}{mark}", org.id, org.name);
        }
    }
}
