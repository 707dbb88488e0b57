//! `zoho-auth api --paginate` against a shell loop of curl calls fetching the same 200-record pages
//! from the same loopback server: wall time (median of BENCH_RUNS, default 5) and the peak RSS of
//! `zoho-auth` for 10,000 and 50,000 records, to show the time goal (at most 0.6x the curl loop)
//! and that memory does not grow with the record count. The server is an in-process Books
//! `/books/v3/invoices` with Zoho's paging (facts §10) and a token endpoint; pages are rendered
//! once before timing, so the figures measure the clients.
//!
//! Run: `cargo bench --bench api` (or with `ZOHO_AUTH_BIN=/path/to/zoho-auth`). Needs curl and
//! bash; peak RSS is read with `/usr/bin/time -v` when present.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

const ORG: &str = "10234695";
const PER_PAGE: usize = 200;

fn main() {
    match run() {
        Ok(pass) => std::process::exit(if pass { 0 } else { 1 }),
        Err(e) => {
            eprintln!("bench api: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Every page of a list of `total` Books-like invoices, rendered once.
struct Pages {
    pages: Vec<Bytes>,
}

impl Pages {
    fn new(total: usize) -> Pages {
        let count = total.div_ceil(PER_PAGE).max(1);
        let pages = (0..count)
            .map(|p| {
                let start = p * PER_PAGE;
                let end = (start + PER_PAGE).min(total);
                let records: Vec<serde_json::Value> = (start..end)
                    .map(|i| {
                        let status = ["paid", "sent", "overdue", "draft"][i % 4];
                        serde_json::json!({
                            "invoice_id": format!("{}", 460000000000000u64 + i as u64),
                            "invoice_number": format!("INV-{i:06}"),
                            "customer_id": format!("{}", 460000000001000u64 + (i % 97) as u64),
                            "customer_name": format!("Zylker Customer {}", i % 97),
                            "status": status,
                            "date": "2026-11-02",
                            "due_date": "2026-12-02",
                            "currency_code": "USD",
                            "total": (i as f64) * 1.25 + 10.0,
                            "balance": if i % 4 == 0 { 0.0 } else { (i as f64) * 1.25 + 10.0 },
                            "created_time": "2026-11-02T10:21:02+0000",
                            "last_modified_time": "2026-11-03T08:00:00+0000",
                            "reference_number": format!("PO-{}", i * 7),
                            "salesperson_name": "",
                            "has_attachment": false,
                        })
                    })
                    .collect();
                let body = serde_json::json!({
                    "code": 0,
                    "message": "success",
                    "invoices": records,
                    "page_context": {"page": p + 1, "per_page": PER_PAGE, "has_more_page": p + 1 < count,
                        "report_name": "Invoices", "sort_column": "created_time", "sort_order": "D"},
                });
                Bytes::from(body.to_string())
            })
            .collect();
        Pages { pages }
    }
}

struct Shared {
    base: String,
    token: String,
    pages: Pages,
}

async fn handle(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    if uri.path() == "/oauth/v2/token" {
        let body = serde_json::json!({"access_token": s.token, "api_domain": s.base, "token_type": "Bearer", "expires_in": 3600});
        return (
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            body.to_string(),
        )
            .into_response();
    }
    let expected = format!("Zoho-oauthtoken {}", s.token);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"code":57,"message":"You are not authorized to perform this operation"}"#,
        )
            .into_response();
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.as_str());
    if get("organization_id") != Some(ORG) {
        return (StatusCode::BAD_REQUEST, r#"{"code":6041,"message":"This user is not associated with the CompanyID/CompanyName:."}"#).into_response();
    }
    let page: usize = get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    match s.pages.pages.get(page.saturating_sub(1)) {
        Some(body) => (
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            body.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            r#"{"code":5,"message":"Invalid URL Passed"}"#,
        )
            .into_response(),
    }
}

/// A server for `total` records on a port of its own; returns its base URL.
fn serve(rt: &tokio::runtime::Runtime, total: usize, token: &str) -> Result<(String, usize)> {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let base = format!("http://{}", listener.local_addr()?);
    let pages = Pages::new(total);
    let count = pages.pages.len();
    let shared = Arc::new(Shared {
        base: base.clone(),
        token: token.to_string(),
        pages,
    });
    let app = Router::new().fallback(handle).with_state(shared);
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, count))
}

fn hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak RSS in KiB from `/usr/bin/time -v` output.
fn max_rss(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
}

struct Figures {
    api: Duration,
    curl: Duration,
    rss_kib: Option<u64>,
    bytes: usize,
}

fn measure(
    bin: &Path,
    dir: &Path,
    base: &str,
    pages: usize,
    token: &str,
    runs: usize,
) -> Result<Figures> {
    let env_file = dir.join(".env");
    let cache = dir.join("cache");
    let time = Path::new("/usr/bin/time").exists();
    let api_cmd = || {
        let mut cmd = if time {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-v").arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("ZOHO_AUTH_CACHE_DIR", &cache)
            .args(["--env-file"])
            .arg(&env_file)
            .args(["api", "/books/v3/invoices", "--paginate"])
            .stdin(Stdio::null());
        cmd
    };
    // Warm the token cache once: both sides then start with a token in hand.
    let warm = api_cmd().output()?;
    if !warm.status.success() {
        bail!(
            "zoho-auth api failed: {}",
            String::from_utf8_lossy(&warm.stderr)
        );
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&warm.stdout).context("api printed one JSON document")?;
    let bytes = warm.stdout.len();
    let n = doc["invoices"].as_array().map(Vec::len).unwrap_or(0);
    let script = format!(
        "for p in $(seq 1 {pages}); do curl -s -H \"Authorization: Zoho-oauthtoken $T\" \"{base}/books/v3/invoices?organization_id={ORG}&page=$p&per_page={PER_PAGE}\"; done > /dev/null"
    );
    let mut api_times = Vec::new();
    let mut curl_times = Vec::new();
    let mut rss = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = api_cmd()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        api_times.push(start.elapsed());
        if !out.status.success() {
            bail!(
                "zoho-auth api failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let r = max_rss(&String::from_utf8_lossy(&out.stderr));
        rss = rss.max(r);
        let start = Instant::now();
        let status = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("T", token)
            .status()?;
        curl_times.push(start.elapsed());
        if !status.success() {
            bail!("the curl loop failed");
        }
    }
    eprintln!("bench api: {n} records, {pages} pages, {bytes} bytes of JSON");
    Ok(Figures {
        api: median(api_times),
        curl: median(curl_times),
        rss_kib: rss,
        bytes,
    })
}

fn run() -> Result<bool> {
    let bin = std::env::var_os("ZOHO_AUTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_zoho-auth")));
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5);
    if Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        bail!("curl is needed (apt-get install -y curl)");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let token = format!("1000.{}.{}", hex(32), hex(32));
    let mut rows = Vec::new();
    for total in [10_000usize, 50_000] {
        let (base, pages) = serve(&rt, total, &token)?;
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join(".env"),
            format!(
                "ZOHO_CLIENT_ID=1000.{}\nZOHO_CLIENT_SECRET={}\nZOHO_REFRESH_TOKEN=1000.{}.{}\nZOHO_ACCOUNTS_URL={base}\nZOHO_API_DOMAIN={base}\nZOHO_ORGANIZATION_ID={ORG}\n",
                hex(30).to_ascii_uppercase(),
                hex(42),
                hex(32),
                hex(32)
            ),
        )?;
        let f = measure(&bin, dir.path(), &base, pages, &token, runs)?;
        rows.push((total, pages, f));
    }
    println!(
        "| records | pages | JSON bytes | `api --paginate` (median) | curl loop (median) | ratio | peak RSS of `api` |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (total, pages, f) in &rows {
        println!(
            "| {total} | {pages} | {} | {:.0} ms | {:.0} ms | {:.2}x | {} |",
            f.bytes,
            f.api.as_secs_f64() * 1000.0,
            f.curl.as_secs_f64() * 1000.0,
            f.api.as_secs_f64() / f.curl.as_secs_f64(),
            f.rss_kib
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".into())
        );
    }
    let ratio = rows[0].2.api.as_secs_f64() / rows[0].2.curl.as_secs_f64();
    let time_ok = ratio <= 0.6;
    let flat = match (rows[0].2.rss_kib, rows[1].2.rss_kib) {
        // Five times the records: flat means within 20% (allocator noise), not 5x.
        (Some(a), Some(b)) => (b as f64) <= (a as f64) * 1.2,
        _ => true,
    };
    println!();
    println!(
        "{} wall at 10,000 records ≤ 0.6x the curl loop ({ratio:.2}x)",
        if time_ok { "PASS" } else { "MISS" }
    );
    println!(
        "{} peak RSS flat from 10,000 to 50,000 records",
        if flat { "PASS" } else { "MISS" }
    );
    Ok(time_ok && flat)
}
