//! `zoho-auth tenants`: the tenants of a SQL store, without secrets: a table on stdout, or with
//! `--json` an array of objects.

use serde::Serialize;

use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::printable::printable;
use crate::auth::sqlstore::TenantSummary;
use crate::auth::stored;

use super::GlobalArgs;
use super::common::print_diagnosis;

pub async fn run(global: &GlobalArgs) -> u8 {
    match list(global).await {
        Ok(()) => 0,
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    summary: &'a TenantSummary,
    /// The access token's expiry as UTC text, when one is stored.
    access_token_expires_at: Option<String>,
}

async fn list(global: &GlobalArgs) -> Result<(), Diagnosis> {
    let Some(sc) = super::store::choice_of(global)? else {
        return Err(Diagnosis::new(
            Code::BadInput,
            "tenants needs --store or ZOHO_AUTH_STORE.",
            "Pass --store URL (sqlite:PATH, postgres://..., mysql://...) or set ZOHO_AUTH_STORE.",
        ));
    };
    let store = stored::open(&sc).await?;
    let tenants = store.tenants().await.map_err(|e| stored::diagnosis(&e));
    store.close().await;
    let tenants = tenants?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if global.json {
        let rows: Vec<Row<'_>> = tenants
            .iter()
            .map(|t| Row {
                summary: t,
                access_token_expires_at: t.access_token_expires_at_ms.map(utc),
            })
            .collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
        );
        return Ok(());
    }
    if tenants.is_empty() {
        eprintln!("zoho-auth: {} has no tenants yet.", sc.url);
        return Ok(());
    }
    let text = |v: &Option<String>| v.as_deref().map_or("-".to_string(), printable);
    let mut rows = vec![[
        "TENANT".to_string(),
        "CLIENT ID".into(),
        "DC".into(),
        "API DOMAIN".into(),
        "SCOPES".into(),
        "ORGANIZATION".into(),
        "ACCESS TOKEN EXPIRES".into(),
    ]];
    for t in &tenants {
        rows.push([
            printable(&t.tenant),
            text(&t.client_id),
            text(&t.dc),
            text(&t.api_domain),
            if t.scopes.is_empty() {
                "-".into()
            } else {
                printable(&t.scopes.join(","))
            },
            text(&t.organization_id),
            t.access_token_expires_at_ms
                .map_or_else(|| "-".to_string(), utc),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    Ok(())
}

/// Epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_epoch_milliseconds() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(1_709_251_199_000), "2024-02-29T23:59:59Z");
        assert_eq!(super::utc(1_798_761_600_500), "2027-01-01T00:00:00Z");
    }
}
