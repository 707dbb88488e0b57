//! `zoho-auth serve` under load: answers per second and latency percentiles of `GET /v1/token`
//! over loopback, from a keep-alive load generator (N connections, each a loop of requests), and
//! the refreshes Zoho saw. Three rounds against an in-process sandbox:
//! - as fast as it answers, tokens that live an hour: throughput (latency there is queueing on a
//!   saturated machine, reported but not judged);
//! - paced at the goal rate, tokens that live an hour: latency at 10,000 answers/s;
//! - paced likewise, tokens that live 302 s, so every token enters the 5-minute window two seconds
//!   after it is minted and refreshes happen under load: refreshes must not exceed the tokens
//!   served (at most one refresh per token lifetime), and answers keep flowing.
//!
//! Goals (issue 15): at least 10,000 answers/s on 2 cores with p99 at most 2 ms, at most one
//! refresh per token lifetime. Prints one Markdown table; exit 1 when a goal is missed.
//! `cargo bench --bench serve`. Environment: `ZOHO_AUTH_BIN` (default: the binary cargo built for
//! this bench), `BENCH_SERVE_SECS` (measured seconds per round, default 5),
//! `BENCH_SERVE_CONNECTIONS` (default 32), `BENCH_SERVE_RATE` (answers/s of the paced rounds,
//! default 10,000).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use zoho_auth::sandbox::{Sandbox, SandboxConfig};

const SCOPE: &str = "ZohoBooks.fullaccess.all";

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn main() {
    // The load generator and the sandbox share one runtime; `serve` is its own process.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match runtime.block_on(run()) {
        Ok(true) => std::process::exit(0),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("bench: {e:#}");
            std::process::exit(2);
        }
    }
}

struct Round {
    name: &'static str,
    paced: Option<u64>,
    answers: u64,
    errors: u64,
    secs: f64,
    p50_us: u64,
    p99_us: u64,
    p999_us: u64,
    max_us: u64,
    refreshes: u64,
    tokens: usize,
}

async fn run() -> Result<bool> {
    let bin = std::env::var_os("ZOHO_AUTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_zoho-auth")));
    let secs = env_u64("BENCH_SERVE_SECS", 5);
    let connections = env_u64("BENCH_SERVE_CONNECTIONS", 32) as usize;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut rounds = Vec::new();
    let rate = env_u64("BENCH_SERVE_RATE", 10_000);
    for (name, lifetime, paced) in [
        ("as fast as it answers, tokens live 1 h", 3600, None),
        ("paced at the goal rate, tokens live 1 h", 3600, Some(rate)),
        (
            "paced at the goal rate, tokens live 302 s (refreshes under load)",
            302,
            Some(rate),
        ),
    ] {
        rounds.push(round(&bin, name, lifetime, paced, secs, connections).await?);
    }
    println!(
        "\n`zoho-auth serve`, `GET /v1/token` over loopback: {connections} keep-alive connections, {secs} s per round, {cores} cores shared by the server and the load generator.\n"
    );
    println!(
        "| round | answers/s | p50 | p99 | p99.9 | max | errors | refreshes | tokens served | goal |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut all = true;
    for r in &rounds {
        let rate = r.answers as f64 / r.secs;
        // A paced round sends at most the goal rate: it passes within 2% of it (timer ticks).
        let wanted = r.paced.map_or(10_000.0, |p| p as f64 * 0.98);
        let pass = rate >= wanted
            && (r.paced.is_none() || r.p99_us <= 2_000)
            && r.errors == 0
            && r.refreshes as usize <= r.tokens;
        all &= pass;
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} | {} | {} |",
            r.name,
            rate,
            r.p50_us as f64 / 1000.0,
            r.p99_us as f64 / 1000.0,
            r.p999_us as f64 / 1000.0,
            r.max_us as f64 / 1000.0,
            r.errors,
            r.refreshes,
            r.tokens,
            if pass { "PASS" } else { "MISS" }
        );
    }
    println!(
        "\nGoal: >= 10,000 answers/s (the unpaced round), p99 <= 2 ms at that rate (the paced rounds), no errors, refreshes <= tokens served (one refresh per token lifetime at most; the count includes the start's). Latency is measured from the moment a request is sent."
    );
    Ok(all)
}

async fn round(
    bin: &Path,
    name: &'static str,
    lifetime: u64,
    paced: Option<u64>,
    secs: u64,
    connections: usize,
) -> Result<Round> {
    let sandbox = Sandbox::start(SandboxConfig {
        access_token_lifetime: Duration::from_secs(lifetime),
        // The refreshes of a 302 s token every two seconds must not hit the throttle.
        throttle_limit: 10_000,
        max_access_tokens: 10_000,
        ..SandboxConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let env_file = dir.path().join(".env");
    let base = sandbox.base_url();
    let client = sandbox.self_client();
    let code = sandbox.mint_code(SCOPE, 3);
    let command = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("ZOHO_AUTH_CACHE_DIR", dir.path().join("cache"))
            .arg("--env-file")
            .arg(&env_file)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    };
    let out = command(&[
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        &code,
        "--no-test",
    ])
    .env("ZOHO_CLIENT_SECRET", &client.client_secret)
    .output()
    .await?;
    if !out.status.success() {
        bail!("exchange failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let _ = std::fs::remove_dir_all(dir.path().join("cache"));
    let key_file = dir.path().join("serve.key");
    let before = sandbox.stats().refreshes;
    let mut child = command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--key-file",
        key_file.to_str().context("temp path")?,
    ])
    .stderr(Stdio::piped())
    .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().context("stderr")?);
    let mut line = String::new();
    stderr.read_line(&mut line).await?;
    let url = line
        .split("serving tokens at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .with_context(|| format!("serve said: {line}"))?
        .to_string();
    tokio::spawn(async move {
        let mut rest = Vec::new();
        let _ = stderr.read_to_end(&mut rest).await;
    });
    let key = std::fs::read_to_string(&key_file)?.trim().to_string();

    // Warm up one second, then measure.
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    // Paced: each connection sends every `connections / rate` seconds, staggered.
    let interval = paced.map(|rate| Duration::from_secs_f64(connections as f64 / rate as f64));
    for i in 0..connections {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let (url, key, stop, measuring) =
            (url.clone(), key.clone(), stop.clone(), measuring.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut tokens = BTreeSet::new();
            let mut ticks = interval.map(|every| {
                let offset = every.mul_f64(i as f64 / connections as f64);
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, every);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                t
            });
            while !stop.load(Ordering::Relaxed) {
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                let started = Instant::now();
                let ok = match http.get(&url).bearer_auth(&key).send().await {
                    Ok(res) if res.status().is_success() => match res.bytes().await {
                        Ok(body) => {
                            if let Some(t) = token_of(&body) {
                                tokens.insert(t);
                            }
                            true
                        }
                        Err(_) => false,
                    },
                    _ => false,
                };
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        latencies.push(started.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                }
            }
            (latencies, errors, tokens)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut tokens = BTreeSet::new();
    for task in tasks {
        let (l, e, t) = task.await?;
        latencies.extend(l);
        errors += e;
        tokens.extend(t);
    }
    let refreshes = sandbox.stats().refreshes - before;
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let _ = child.wait().await;
    sandbox.stop().await;
    latencies.sort_unstable();
    let pick = |q: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
    };
    Ok(Round {
        name,
        paced,
        answers: latencies.len() as u64,
        errors,
        secs: elapsed,
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        p999_us: pick(0.999),
        max_us: latencies.last().copied().unwrap_or(0),
        refreshes,
        tokens: tokens.len(),
    })
}

/// The `access_token` of an answer (hashed: the bench holds no token text longer than needed).
fn token_of(body: &[u8]) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    json.get("access_token")?.as_str()?.hash(&mut h);
    Some(h.finish())
}
