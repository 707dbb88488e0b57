//! Issue 14's figure: `token` from a warm store against a cached env-file `token`, measured side by
//! side with real processes (the release binary, spawned and waited for; wall time). Each round
//! runs the env-file `token` and then each store's `token` once, so a busy moment hits both.
//! Goal: the PostgreSQL store's median ≤ 3x the env file's. SQLite always; PostgreSQL and MariaDB
//! when ZOHO_AUTH_TEST_POSTGRES_URL / ZOHO_AUTH_TEST_MYSQL_URL are set
//! (`.ci/databases.sh cargo bench --bench store_token`). BENCH_RUNS: rounds (default 31).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zoho_auth::sandbox::{Sandbox, SandboxConfig};

const BIN: &str = env!("CARGO_BIN_EXE_zoho-auth");
const SCOPE: &str = "ZohoBooks.fullaccess.all";

fn command(dir: &Path, store: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("ZOHO_AUTH_CACHE_DIR", dir.join("cache"))
        .arg("--env-file")
        .arg(dir.join(".env"))
        .args(args)
        .stdin(Stdio::null());
    if let Some(url) = store {
        cmd.env("ZOHO_AUTH_STORE", url)
            .env("ZOHO_AUTH_TENANT", "bench")
            .args(["--table", "bench_token"]);
    }
    cmd
}

fn exchange(sb: &Sandbox, dir: &Path, store: Option<&str>) {
    let client = sb.self_client();
    let code = sb.mint_code(SCOPE, 3);
    let out = command(
        dir,
        store,
        &[
            "exchange",
            "--accounts-url",
            &sb.base_url(),
            "--client-id",
            &client.client_id,
            "--code",
            &code,
            "--no-test",
        ],
    )
    .env("ZOHO_CLIENT_SECRET", &client.client_secret)
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "exchange failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One `token` run's wall time; the token must come out.
fn token(dir: &Path, store: Option<&str>) -> Duration {
    let start = Instant::now();
    let out = command(dir, store, &["token"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(31);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sb = rt
        .block_on(Sandbox::start(SandboxConfig::default()))
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();

    let mut subjects: Vec<(String, Option<String>)> = vec![("env file (cached)".into(), None)];
    subjects.push((
        "SQLite store".into(),
        Some(format!(
            "sqlite:{}",
            scratch.path().join("tokens.db").display()
        )),
    ));
    for (var, name) in [
        ("ZOHO_AUTH_TEST_POSTGRES_URL", "PostgreSQL store"),
        ("ZOHO_AUTH_TEST_MYSQL_URL", "MariaDB store"),
    ] {
        match std::env::var(var) {
            Ok(url) => subjects.push((name.into(), Some(url))),
            Err(_) => eprintln!("bench: {name} skipped ({var} is not set)"),
        }
    }
    let dirs: Vec<tempfile::TempDir> = subjects
        .iter()
        .map(|(_, store)| {
            let dir = tempfile::tempdir_in(scratch.path()).unwrap();
            exchange(&sb, dir.path(), store.as_deref());
            // Warm: the first run after the exchange (file cache, database pages, connections).
            token(dir.path(), store.as_deref());
            dir
        })
        .collect();
    let before = sb.stats().refreshes;
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); subjects.len()];
    for _ in 0..runs {
        for (i, (_, store)) in subjects.iter().enumerate() {
            times[i].push(token(dirs[i].path(), store.as_deref()));
        }
    }
    assert_eq!(
        sb.stats().refreshes,
        before,
        "every run reused a stored or cached token"
    );
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    let base = medians[0].as_secs_f64();
    println!("| `token` from | median ({runs} runs) | vs env file | goal |");
    println!("|---|---|---|---|");
    let mut ok = true;
    for ((name, _), m) in subjects.iter().zip(&medians) {
        let ratio = m.as_secs_f64() / base;
        let goal = if name.starts_with("PostgreSQL") {
            let pass = ratio <= 3.0;
            ok &= pass;
            if pass { "≤ 3x: PASS" } else { "≤ 3x: MISS" }
        } else {
            ""
        };
        println!(
            "| {name} | {:.1} ms | {ratio:.2}x | {goal} |",
            m.as_secs_f64() * 1000.0
        );
    }
    std::process::exit(if ok { 0 } else { 1 });
}
