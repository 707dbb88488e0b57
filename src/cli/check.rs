//! `zoho-auth check`: refresh and live-test the configured grant; print the diagnosis; exit code
//! by class. `--json` prints one object on stdout.

use crate::auth::cache::{Cached, TokenCache};
use crate::auth::flow::{self, CheckReport};

use super::common::{client, dc_flag, load_configured, now_unix, print_diagnosis, product_flag};
use super::{CheckArgs, GlobalArgs};

pub async fn run(global: &GlobalArgs, args: &CheckArgs) -> u8 {
    // A flag the user mistyped is a usage error (exit 2), said as such: not a check that found
    // missing credentials.
    if let Err(d) = dc_flag(global).and_then(|_| product_flag(args.product.as_deref())) {
        print_diagnosis(&d);
        return d.exit_code();
    }
    let report = report(global, args).await;
    if global.json {
        println!(
            "{}",
            serde_json::to_string(&report).unwrap_or_else(|_| "{}".into())
        );
    } else {
        print_human(&report);
    }
    report.exit_code()
}

async fn report(global: &GlobalArgs, args: &CheckArgs) -> CheckReport {
    let product = match product_flag(args.product.as_deref()) {
        Ok(p) => p,
        Err(d) => return CheckReport::failed(d, None, None),
    };
    let cfg = match load_configured(global) {
        Ok(cfg) => cfg,
        Err(d) => return CheckReport::failed(d, None, product),
    };
    let client = match client(global) {
        Ok(c) => c,
        Err(d) => return CheckReport::failed(d, cfg.target.dc, product),
    };
    let report = flow::check(
        &client,
        &cfg.target,
        &cfg.creds,
        &cfg.refresh_token,
        &cfg.scopes,
        product,
    )
    .await;
    // The check minted an access token: keep it for `token` rather than waste a throttle slot.
    if let (Some((access, lifetime)), Some(api_domain), Some(cache)) = (
        report.access.as_ref(),
        report.api_domain.as_ref(),
        TokenCache::from_env(),
    ) {
        let key = TokenCache::key(
            &cfg.target.accounts_str(),
            &cfg.creds.client_id,
            &cfg.refresh_token,
        );
        let _ = cache.write(
            &key,
            &Cached::new(access, api_domain, *lifetime, now_unix()),
        );
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
