//! `zoho-auth tenants`: the tenants of a SQL store, without secrets: a table on stdout, or with
//! `--json` an array of objects.

use serde::Serialize;

use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::handoff::rfc3339;
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
    /// When the row was last written, as UTC text.
    updated_at: Option<String>,
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
                updated_at: t.updated_at_ms.map(utc),
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
        "UPDATED".into(),
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
            t.updated_at_ms.map_or_else(|| "-".to_string(), utc),
        ]);
    }
    let widths: Vec<usize> = (0..8)
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

/// Epoch milliseconds as RFC 3339 UTC text.
fn utc(ms: i64) -> String {
    rfc3339(u64::try_from(ms.div_euclid(1000)).unwrap_or(0))
}
