//! End-to-end figures of the release binary against `zoho-auth sandbox` on loopback, side by side
//! with the reference tools (`gh auth token`, `curl`), printed as one Markdown table with PASS/MISS
//! per goal. Run through `benches/run.sh`, which builds the release binary and the criterion
//! benches first; `cargo bench --bench e2e` alone works too (render figures are then read from
//! whatever criterion results exist).
//!
//! Environment: `ZOHO_AUTH_BIN` (the binary to measure; default: the one cargo built for this
//! bench), `CRITERION_DIR` (default `$CARGO_TARGET_DIR/criterion`), `BENCH_RUNS` (runs of the
//! process figures: token, exchange; default 31), `BENCH_SLOW_RUNS` (runs of the PTY figures,
//! default 11), `BENCH_IDLE_SECS` (default 10).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use serde_json::Value;

const SCOPE: &str = "ZohoBooks.fullaccess.all";

fn main() {
    // `cargo bench` passes `--bench`; there is nothing else to parse.
    match run() {
        Ok(all_pass) => std::process::exit(if all_pass { 0 } else { 1 }),
        Err(e) => {
            eprintln!("bench: {e:#}");
            std::process::exit(2);
        }
    }
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

struct Config {
    bin: PathBuf,
    gh: Option<PathBuf>,
    runs: usize,
    slow_runs: usize,
    idle: Duration,
    criterion: PathBuf,
    /// Private HOME, cache and config folders of the measured processes.
    scratch: tempfile::TempDir,
}

fn run() -> Result<bool> {
    let bin = std::env::var_os("ZOHO_AUTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_zoho-auth")));
    let criterion = std::env::var_os("CRITERION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target"))
                .join("criterion")
        });
    let cfg = Config {
        bin: bin
            .canonicalize()
            .with_context(|| format!("{}", bin.display()))?,
        gh: which("gh"),
        runs: env_usize("BENCH_RUNS", 31),
        slow_runs: env_usize("BENCH_SLOW_RUNS", 11),
        idle: Duration::from_secs(env_usize("BENCH_IDLE_SECS", 10) as u64),
        criterion,
        scratch: tempfile::tempdir()?,
    };
    if which("curl").is_none() {
        bail!("curl is needed (apt-get install curl)");
    }
    std::fs::create_dir_all(cfg.scratch.path().join("home"))?;
    let sandbox = Sandbox::start(&cfg.bin)?;
    // Many exchanges below: keep every refresh token alive and nothing throttled.
    sandbox.post(
        "/_sandbox/config",
        r#"{"max_refresh_tokens":100000,"max_access_tokens":100000,"throttle_limit":100000}"#,
    )?;

    let mut table = Table {
        load_before: load_average(),
        ..Table::default()
    };
    eprintln!("bench: exchange vs two curls ({} runs each)", cfg.runs);
    let grant = exchange(&cfg, &sandbox, &mut table)?;
    eprintln!("bench: token with a cached token ({} runs)", cfg.runs);
    token_cached(&cfg, &sandbox, &grant, &mut table)?;
    eprintln!("bench: 50 concurrent token processes on an expired cache");
    token_concurrent(&cfg, &sandbox, &grant, &mut table)?;
    eprintln!(
        "bench: wizard first frame in a PTY ({} runs)",
        cfg.slow_runs
    );
    first_frame(&cfg, &sandbox, &mut table)?;
    eprintln!("bench: wizard idle on the countdown (3 x {:?})", cfg.idle);
    idle_cpu(&cfg, &mut table)?;
    eprintln!("bench: wizard peak memory through a full run (3 runs)");
    peak_memory(&cfg, &sandbox, &mut table)?;
    criterion_rows(&cfg, &mut table);
    let size = std::fs::metadata(&cfg.bin)?.len();
    table.row(
        "Release binary size",
        format!("{} bytes", group_digits(size)),
        String::new(),
        // A ceiling, not a goal to chase: per-crate size tuning bought no user-visible gain.
        Goal::AtMost(16_000_000.0, size as f64, "≤ 16,000,000 bytes".into()),
    );
    drop(sandbox);
    println!();
    Ok(table.print(&cfg))
}

// ---------------------------------------------------------------------------------------------
// The figures

/// The env file and cache folder of a grant made by `exchange`.
struct Grant {
    env_file: PathBuf,
    cache_dir: PathBuf,
}

fn exchange(cfg: &Config, sb: &Sandbox, table: &mut Table) -> Result<Grant> {
    let mut ours = Vec::new();
    let mut curls = Vec::new();
    let mut last = None;
    for i in 0..cfg.runs {
        // zoho-auth exchange: code → tokens → organizations probe → env file (and token cache).
        let code = sb.mint_code()?;
        let dir = cfg.scratch.path().join(format!("exchange-{i}"));
        std::fs::create_dir_all(&dir)?;
        let env_file = dir.join(".env");
        let cache_dir = dir.join("cache");
        let mut cmd = ours_cmd(cfg, &cache_dir);
        cmd.env("ZOHO_CLIENT_SECRET", &sb.client_secret)
            .arg("exchange")
            .arg("--env-file")
            .arg(&env_file)
            .args(["--accounts-url", &sb.base, "--client-id", &sb.client_id])
            .args(["--code", &code, "--scopes", SCOPE]);
        let (elapsed, out) = timed_output(&mut cmd)?;
        if !out.status.success() {
            bail!(
                "zoho-auth exchange failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        ours.push(elapsed);
        last = Some(Grant {
            env_file,
            cache_dir,
        });

        // By hand: the exchange, then the probe with the access token it returned.
        let code = sb.mint_code()?;
        let mut c1 = Command::new("curl");
        c1.args(["-s", "-X", "POST"])
            .arg(format!("{}/oauth/v2/token", sb.base))
            .args(["-d", &format!("client_id={}", sb.client_id)])
            .args(["-d", &format!("client_secret={}", sb.client_secret)])
            .args(["-d", "grant_type=authorization_code"])
            .args(["-d", &format!("code={code}")]);
        let (t1, out1) = timed_output(&mut c1)?;
        let body: Value = serde_json::from_slice(&out1.stdout)
            .with_context(|| String::from_utf8_lossy(&out1.stdout).into_owned())?;
        let access = body["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("curl exchange answered {body}"))?;
        let mut c2 = Command::new("curl");
        c2.arg("-s")
            .arg(format!("{}/books/v3/organizations", sb.base))
            .args(["-H", &format!("Authorization: Zoho-oauthtoken {access}")]);
        let (t2, out2) = timed_output(&mut c2)?;
        let probe: Value = serde_json::from_slice(&out2.stdout)
            .with_context(|| String::from_utf8_lossy(&out2.stdout).into_owned())?;
        if probe["code"].as_i64() != Some(0) {
            bail!("curl probe answered {probe}");
        }
        curls.push(t1 + t2);
    }
    let (m_ours, m_curl) = (median(&ours), median(&curls));
    table.row(
        &format!(
            "`exchange` end to end: code → tokens → organizations probe → env file (n={})",
            cfg.runs
        ),
        ms(m_ours),
        format!("two `curl` calls (exchange, probe): {}", ms(m_curl)),
        Goal::Ratio(ratio(m_ours, m_curl), 0.8),
    );
    last.ok_or_else(|| anyhow!("no exchange ran"))
}

fn token_cached(cfg: &Config, sb: &Sandbox, grant: &Grant, table: &mut Table) -> Result<()> {
    let token_cmd = || {
        let mut cmd = ours_cmd(cfg, &grant.cache_dir);
        cmd.arg("token").arg("--env-file").arg(&grant.env_file);
        cmd
    };
    let before = sb.stats()?;
    let out = token_cmd().output()?;
    if !out.status.success() || !String::from_utf8_lossy(&out.stdout).starts_with("1000.") {
        bail!(
            "zoho-auth token failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut ours = Vec::new();
    let mut gh = Vec::new();
    for _ in 0..cfg.runs {
        ours.push(timed_status(&mut token_cmd())?.0);
        if let Some(path) = &cfg.gh {
            gh.push(timed_status(&mut gh_cmd(cfg, path))?.0);
        }
    }
    let after = sb.stats()?;
    let requests =
        after["requests"].as_u64().unwrap_or(u64::MAX) - before["requests"].as_u64().unwrap_or(0);
    let m_ours = median(&ours);
    let (reference, goal) = match gh.is_empty() {
        true => (
            "`gh` not installed".to_string(),
            Goal::Skipped("≤ 0.2x".into()),
        ),
        false => {
            let m_gh = median(&gh);
            (
                format!("`gh auth token`: {} (see note 1)", ms(m_gh)),
                Goal::Ratio(ratio(m_ours, m_gh), 0.2),
            )
        }
    };
    table.row(
        &format!(
            "`token` with a valid cached token: wall time (n={})",
            cfg.runs
        ),
        ms(m_ours),
        reference,
        goal,
    );
    table.row(
        &format!(
            "`token` with a valid cached token: requests to the sandbox ({} calls)",
            cfg.runs + 1
        ),
        requests.to_string(),
        String::new(),
        Goal::Exactly(0, requests),
    );
    Ok(())
}

fn token_concurrent(cfg: &Config, sb: &Sandbox, grant: &Grant, table: &mut Table) -> Result<()> {
    const PROCESSES: usize = 50;
    const ROUNDS: usize = 3;
    let mut refreshes = Vec::new();
    for _ in 0..ROUNDS {
        expire_cache(&grant.cache_dir)?;
        let before = sb.stats()?;
        let barrier = Arc::new(Barrier::new(PROCESSES));
        let handles: Vec<_> = (0..PROCESSES)
            .map(|_| {
                let mut cmd = ours_cmd(cfg, &grant.cache_dir);
                cmd.arg("token").arg("--env-file").arg(&grant.env_file);
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    cmd.output()
                })
            })
            .collect();
        let mut tokens = std::collections::BTreeSet::new();
        for h in handles {
            let out = h.join().map_err(|_| anyhow!("thread panicked"))??;
            if !out.status.success() {
                bail!(
                    "a concurrent token failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            tokens.insert(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        if tokens.len() != 1 {
            bail!("50 concurrent token calls printed {} tokens", tokens.len());
        }
        let after = sb.stats()?;
        refreshes.push(
            after["refreshes"].as_u64().unwrap_or(0) - before["refreshes"].as_u64().unwrap_or(0),
        );
    }
    let worst = refreshes.iter().copied().max().unwrap_or(0);
    table.row(
        &format!(
            "{PROCESSES} concurrent `token` on an expired cache: refresh requests ({ROUNDS} rounds)"
        ),
        refreshes
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        "all 50 print the same token".into(),
        Goal::Exactly(1, worst),
    );
    Ok(())
}

/// The text that completes the Data center screen: its last list row, then the key-hint bar,
/// which is the last row ratatui writes.
fn dc_frame_complete(screen: &str) -> bool {
    screen.contains("Preselected from your time zone")
        && screen.contains("United Kingdom   uk   accounts.zoho.uk")
        && screen.contains("q quit")
}

fn first_frame(cfg: &Config, sb: &Sandbox, table: &mut Table) -> Result<()> {
    let mut ours = Vec::new();
    let mut gh = Vec::new();
    for i in 0..cfg.slow_runs {
        let dir = cfg.scratch.path().join(format!("frame-{i}"));
        std::fs::create_dir_all(&dir)?;
        let env_file = dir.join(".env");
        let mut cmd = pty_cmd(cfg, &cfg.bin, &dir);
        cmd.args(["setup", "--env-file", path_str(&env_file)?]);
        cmd.args(["--accounts-url", &sb.base, "--api-domain", &sb.base]);
        let start = Instant::now();
        let mut s = Pty::spawn(cmd, Some(Box::new(dc_frame_complete)))?;
        let at = s.wait_watch(Duration::from_secs(20))?;
        ours.push(at - start);
        s.key("\x03")?;
        s.wait_exit(Duration::from_secs(20))?;

        if let Some(path) = &cfg.gh {
            let mut cmd = pty_cmd(cfg, path, &dir);
            gh_env(cfg, &mut cmd);
            cmd.args(["auth", "token"]);
            let start = Instant::now();
            let mut s = Pty::spawn(cmd, None)?;
            s.child.wait()?;
            gh.push(start.elapsed());
        }
    }
    let m_ours = median(&ours);
    let (reference, goal) = match gh.is_empty() {
        true => (
            "`gh` not installed".to_string(),
            Goal::Skipped("≤ 0.5x".into()),
        ),
        false => {
            let m_gh = median(&gh);
            (
                format!(
                    "`gh auth token` in the same PTY, exec to exit: {}",
                    ms(m_gh)
                ),
                Goal::Ratio(ratio(m_ours, m_gh), 0.5),
            )
        }
    };
    table.row(
        &format!(
            "Wizard: exec to the first complete frame (Data center), PTY 80x24 (n={})",
            cfg.slow_runs
        ),
        ms(m_ours),
        reference,
        goal,
    );
    Ok(())
}

/// Drives `setup --sandbox` to the Paste code screen (the countdown).
fn to_countdown(cfg: &Config, dir: &Path) -> Result<Pty> {
    let env_file = dir.join(".env");
    let mut cmd = pty_cmd(cfg, &cfg.bin, dir);
    cmd.args(["setup", "--sandbox", "--env-file", path_str(&env_file)?]);
    let mut s = Pty::spawn(cmd, None)?;
    let t = Duration::from_secs(20);
    s.wait_for(dc_frame_complete, t)?;
    s.key("\r")?;
    s.wait_for(|sc| sc.contains("step 2/9"), t)?;
    s.key("\r")?;
    s.wait_for(|sc| sc.contains("step 3/9") && sc.contains("Presets"), t)?;
    s.key("\r")?; // the preset under the cursor: Books, full access
    s.wait_for(|sc| sc.contains("step 4/9"), t)?;
    s.key("\r")?; // 3 minutes
    s.wait_for(|sc| sc.contains("Time left"), t)?;
    Ok(s)
}

fn idle_cpu(cfg: &Config, table: &mut Table) -> Result<()> {
    const ROUNDS: usize = 3;
    let ticks_per_sec = clock_ticks()?;
    let mut shares = Vec::new();
    let mut redraws = Vec::new();
    for i in 0..ROUNDS {
        let dir = cfg.scratch.path().join(format!("idle-{i}"));
        std::fs::create_dir_all(&dir)?;
        let mut s = to_countdown(cfg, &dir)?;
        let pid = s.child.process_id().ok_or_else(|| anyhow!("no pid"))?;
        // Let the effects of entering the step (clipboard, timers) settle.
        std::thread::sleep(Duration::from_millis(1500));
        let (cpu0, reads0) = (cpu_ticks(pid)?, s.reads());
        let t0 = Instant::now();
        std::thread::sleep(cfg.idle);
        let (cpu1, reads1) = (cpu_ticks(pid)?, s.reads());
        let wall = t0.elapsed().as_secs_f64();
        shares.push((cpu1 - cpu0) as f64 / ticks_per_sec / wall * 100.0);
        redraws.push((reads1 - reads0) as f64 / wall);
        s.key("\x03")?;
        s.wait_exit(Duration::from_secs(20))?;
    }
    let share = median_f(&shares);
    table.row(
        &format!(
            "Wizard idle {} s on the countdown (Paste code): CPU of one core (n={ROUNDS})",
            cfg.idle.as_secs()
        ),
        format!("{share:.2} %"),
        format!(
            "{:.1} terminal writes/s (the mm:ss redraw)",
            median_f(&redraws)
        ),
        Goal::AtMost(0.5, share, "≤ 0.5 %".into()),
    );
    Ok(())
}

fn peak_memory(cfg: &Config, sb: &Sandbox, table: &mut Table) -> Result<()> {
    const ROUNDS: usize = 3;
    let mut peaks = Vec::new();
    for i in 0..ROUNDS {
        let dir = cfg.scratch.path().join(format!("full-{i}"));
        std::fs::create_dir_all(&dir)?;
        let env_file = dir.join(".env");
        std::fs::write(
            &env_file,
            format!(
                "# bench\nZOHO_CLIENT_ID={}\nZOHO_CLIENT_SECRET={}\n",
                sb.client_id, sb.client_secret
            ),
        )?;
        let mut cmd = pty_cmd(cfg, &cfg.bin, &dir);
        cmd.args(["setup", "--env-file", path_str(&env_file)?]);
        cmd.args(["--accounts-url", &sb.base, "--api-domain", &sb.base]);
        let mut s = Pty::spawn(cmd, None)?;
        let t = Duration::from_secs(20);
        s.wait_for(dc_frame_complete, t)?;
        s.key("\r")?;
        s.wait_for(|sc| sc.contains("Filled in from the env file"), t)?;
        s.key("\r")?;
        s.wait_for(|sc| sc.contains("Presets"), t)?;
        s.key("\r")?;
        s.wait_for(|sc| sc.contains("step 4/9"), t)?;
        s.key("\r")?;
        s.wait_for(|sc| sc.contains("Time left"), t)?;
        let code = sb.mint_code()?;
        s.paste(&code)?;
        s.wait_for(|sc| sc.contains("Token verified"), t)?;
        s.key("\r")?;
        s.wait_for(|sc| sc.contains("Changes to"), t)?;
        s.key("\r")?;
        s.wait_for(|sc| sc.contains("Written to"), t)?;
        let pid = s.child.process_id().ok_or_else(|| anyhow!("no pid"))?;
        peaks.push(vm_hwm_kib(pid)? as f64);
        s.key("\r")?;
        let code = s.wait_exit(t)?;
        if code != 0 {
            bail!("the wizard exited {code} after a full run");
        }
        let written = std::fs::read_to_string(&env_file)?;
        if !written.contains("ZOHO_REFRESH_TOKEN=1000.") {
            bail!("the full run wrote no refresh token");
        }
    }
    let mib = median_f(&peaks) / 1024.0;
    table.row(
        &format!("Wizard peak memory through a full run, VmHWM (n={ROUNDS})"),
        format!("{mib:.1} MiB"),
        String::new(),
        Goal::AtMost(13.0, mib, "≤ 13 MiB".into()),
    );
    Ok(())
}

fn criterion_rows(cfg: &Config, table: &mut Table) {
    let read = |group: &str, bench: &str| -> Option<f64> {
        let p = cfg
            .criterion
            .join(group)
            .join(bench)
            .join("new/estimates.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    let mut frames = Vec::new();
    let mut missing = false;
    for bench in [
        "1_data_center",
        "2_client",
        "3_scopes",
        "4_generate_code",
        "5_paste_code",
        "6_exchange",
        "7_live_test",
        "8_save",
        "9_done",
    ] {
        match read("render", bench) {
            Some(ns) => frames.push(format!("{} {}", &bench[..1], us(ns))),
            None => missing = true,
        }
    }
    if missing {
        table.note("Render figures missing: run `cargo bench --bench render` first.");
    }
    if !frames.is_empty() {
        table.row(
            "Render one complete frame, TestBackend 80x24, per screen 1–9 (criterion median)",
            frames.join(" · "),
            String::new(),
            Goal::Info,
        );
    }
    let scopes = zoho_auth::auth::scopes::catalogue().len();
    if let Some(ns) = read("scope_filter", "filter_per_keystroke") {
        let typed = read("scope_filter", "wizard_query_typed_and_drawn")
            .map(|ns| {
                let keys = "books invoices read".len() as f64;
                format!("; in the wizard, key + redraw: {}", us(ns / keys))
            })
            .unwrap_or_default();
        table.row(
            &format!(
                "Scope filter per keystroke, whole catalogue ({scopes} scopes, criterion median)"
            ),
            us(ns),
            typed.trim_start_matches("; ").to_string(),
            Goal::Info,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

fn ours_cmd(cfg: &Config, cache_dir: &Path) -> Command {
    let mut cmd = Command::new(&cfg.bin);
    for var in [
        "ZOHO_CLIENT_ID",
        "ZOHO_CLIENT_SECRET",
        "ZOHO_REFRESH_TOKEN",
        "ZOHO_DC",
        "ZOHO_ACCOUNTS_URL",
        "ZOHO_API_DOMAIN",
        "ZOHO_SCOPES",
        "ZOHO_SECRET_STORE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", cfg.scratch.path().join("home"))
        .env("ZOHO_AUTH_CACHE_DIR", cache_dir)
        .stdin(Stdio::null());
    cmd
}

fn gh_cmd(cfg: &Config, gh: &Path) -> Command {
    let mut cmd = Command::new(gh);
    cmd.args(["auth", "token"])
        .env("HOME", cfg.scratch.path().join("home"))
        .env("GH_CONFIG_DIR", cfg.scratch.path().join("gh"))
        .env("GH_NO_UPDATE_NOTIFIER", "1")
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_ENTERPRISE_TOKEN")
        .env_remove("GITHUB_ENTERPRISE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn gh_env(cfg: &Config, cmd: &mut CommandBuilder) {
    cmd.env("GH_CONFIG_DIR", cfg.scratch.path().join("gh"));
    cmd.env("GH_NO_UPDATE_NOTIFIER", "1");
    for var in [
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "GH_ENTERPRISE_TOKEN",
        "GITHUB_ENTERPRISE_TOKEN",
    ] {
        cmd.env_remove(var);
    }
}

fn timed_status(cmd: &mut Command) -> Result<(Duration, std::process::ExitStatus)> {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd.status()?;
    Ok((start.elapsed(), status))
}

fn timed_output(cmd: &mut Command) -> Result<(Duration, std::process::Output)> {
    let start = Instant::now();
    let out = cmd.output()?;
    Ok((start.elapsed(), out))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Sets every cached token's expiry to the past, keeping the files.
fn expire_cache(dir: &Path) -> Result<()> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
            v["expires_at"] = Value::from(1u64);
            std::fs::write(&path, serde_json::to_vec(&v)?)?;
            n += 1;
        }
    }
    if n == 0 {
        bail!("no cached token in {}", dir.display());
    }
    Ok(())
}

fn clock_ticks() -> Result<f64> {
    let out = Command::new("getconf").arg("CLK_TCK").output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// utime + stime of a process (all its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').ok_or_else(|| anyhow!("bad stat"))? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

fn vm_hwm_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or_else(|| anyhow!("no VmHWM"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow!("bad VmHWM"))?
        .parse()?)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow!("not UTF-8: {}", p.display()))
}

// ---------------------------------------------------------------------------------------------
// The sandbox, as a separate process on loopback

struct Sandbox {
    child: Child,
    base: String,
    client_id: String,
    client_secret: String,
}

impl Sandbox {
    fn start(bin: &Path) -> Result<Sandbox> {
        let mut child = Command::new(bin)
            .args(["sandbox", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut next = || -> Result<String> {
            lines
                .next()
                .ok_or_else(|| anyhow!("the sandbox closed its output"))?
                .map_err(Into::into)
        };
        let first = next()?;
        let base = first
            .strip_prefix("Sandbox listening on ")
            .ok_or_else(|| anyhow!("unexpected first line: {first}"))?
            .trim()
            .to_string();
        let (mut client_id, mut client_secret) = (None, None);
        while client_id.is_none() || client_secret.is_none() {
            let line = next()?;
            if let Some(v) = line.trim().strip_prefix("client id:") {
                client_id = Some(v.trim().to_string());
            } else if let Some(v) = line.trim().strip_prefix("client secret:") {
                client_secret = Some(v.trim().to_string());
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Sandbox {
            child,
            base,
            client_id: client_id.expect("set"),
            client_secret: client_secret.expect("set"),
        })
    }

    fn curl(&self, args: &[&str]) -> Result<Value> {
        let out = Command::new("curl").arg("-sS").args(args).output()?;
        if !out.status.success() {
            bail!("curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_slice(&out.stdout)
            .with_context(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn post(&self, path: &str, body: &str) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        self.curl(&["-X", "POST", &url, "-d", body])
    }

    fn stats(&self) -> Result<Value> {
        self.curl(&[&format!("{}/_sandbox/stats", self.base)])
    }

    fn mint_code(&self) -> Result<String> {
        let v = self.post(
            "/_sandbox/code",
            &format!(r#"{{"scope":"{SCOPE}","duration_minutes":3}}"#),
        )?;
        v["code"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no code in {v}"))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// A pseudo-terminal session (portable-pty + vt100), as in tests/pty_setup.rs

type Watch = Box<dyn Fn(&str) -> bool + Send>;

struct Screen {
    parser: vt100::Parser,
    reads: u64,
    watch: Option<Watch>,
    /// When `watch` first held, taken in the reader thread right after the bytes arrived.
    seen: Option<Instant>,
}

struct Pty {
    screen: Arc<Mutex<Screen>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

fn pty_cmd(cfg: &Config, program: &Path, dir: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(program);
    cmd.cwd(dir);
    for var in [
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "SSH_CONNECTION",
        "SSH_TTY",
        "NO_COLOR",
        "ZOHO_CLIENT_ID",
        "ZOHO_CLIENT_SECRET",
        "ZOHO_REFRESH_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", cfg.scratch.path().join("home"));
    cmd.env("TZ", "Europe/Berlin");
    cmd.env("TERM", "xterm-256color");
    cmd
}

impl Pty {
    fn spawn(cmd: CommandBuilder, watch: Option<Watch>) -> Result<Pty> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| anyhow!("openpty: {e}"))?;
        let mut reader = pair.master.try_clone_reader().map_err(|e| anyhow!("{e}"))?;
        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new(
                std::num::NonZeroU16::new(24).expect("24"),
                std::num::NonZeroU16::new(80).expect("80"),
                0,
            ),
            reads: 0,
            watch,
            seen: None,
        }));
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let now = Instant::now();
                let mut s = sink.lock().expect("screen lock");
                s.parser.process(&buf[..n]);
                s.reads += 1;
                if s.seen.is_none()
                    && let Some(w) = &s.watch
                    && w(&s.parser.screen().contents())
                {
                    s.seen = Some(now);
                }
            }
        });
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| anyhow!("spawn: {e}"))?;
        drop(pair.slave);
        let writer = pair.master.take_writer().map_err(|e| anyhow!("{e}"))?;
        Ok(Pty {
            screen,
            writer,
            child,
            _master: pair.master,
        })
    }

    fn contents(&self) -> String {
        self.screen
            .lock()
            .expect("screen lock")
            .parser
            .screen()
            .contents()
    }

    fn reads(&self) -> u64 {
        self.screen.lock().expect("screen lock").reads
    }

    fn wait_for(&self, ok: impl Fn(&str) -> bool, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if ok(&self.contents()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        bail!("the expected screen never appeared:\n{}", self.contents())
    }

    /// The instant the watch predicate first held.
    fn wait_watch(&self, limit: Duration) -> Result<Instant> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(at) = self.screen.lock().expect("screen lock").seen {
                return Ok(at);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        bail!("the first frame never appeared:\n{}", self.contents())
    }

    fn key(&mut self, bytes: &str) -> Result<()> {
        self.writer.write_all(bytes.as_bytes())?;
        self.writer.flush()?;
        Ok(())
    }

    fn paste(&mut self, text: &str) -> Result<()> {
        self.key(&format!("\x1b[200~{text}\x1b[201~"))
    }

    fn wait_exit(&mut self, limit: Duration) -> Result<u32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.exit_code());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        bail!("the wizard did not exit:\n{}", self.contents())
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics and the table

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn median_f(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn us(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

enum Goal {
    /// Measured ratio, the most allowed.
    Ratio(f64, f64),
    /// Limit, measured value, how the goal reads.
    AtMost(f64, f64, String),
    /// Expected count, measured count.
    Exactly(u64, u64),
    /// The reference is missing.
    Skipped(String),
    /// A figure without a goal.
    Info,
}

#[derive(Default)]
struct Table {
    rows: Vec<[String; 5]>,
    notes: Vec<String>,
    misses: usize,
    load_before: String,
}

impl Table {
    fn row(&mut self, what: &str, ours: String, reference: String, goal: Goal) {
        let (ratio, goal, verdict) = match goal {
            Goal::Ratio(r, max) => (format!("{r:.2}x"), format!("≤ {max}x"), pass(r <= max)),
            Goal::AtMost(max, v, text) => (String::new(), text, pass(v <= max)),
            Goal::Exactly(want, got) => (String::new(), want.to_string(), pass(got == want)),
            Goal::Skipped(text) => (String::new(), text, "SKIP".into()),
            Goal::Info => (String::new(), String::new(), String::new()),
        };
        if verdict == "MISS" {
            self.misses += 1;
        }
        self.rows.push([
            what.into(),
            ours,
            reference,
            ratio,
            format!("{goal} {verdict}").trim().into(),
        ]);
    }

    fn note(&mut self, text: &str) {
        self.notes.push(text.into());
    }

    fn print(&self, cfg: &Config) -> bool {
        println!("| figure | zoho-auth | reference, same run | ratio | goal |");
        println!("|---|---|---|---|---|");
        for r in &self.rows {
            println!("| {} | {} | {} | {} | {} |", r[0], r[1], r[2], r[3], r[4]);
        }
        println!();
        println!("Medians of repeated runs; the reference runs alternate with ours.");
        if cfg.gh.is_some() {
            println!(
                "1. `gh auth token` runs with an empty GH_CONFIG_DIR: it is not logged in, prints \
                 \"no oauth token\" and exits 1 at once, so this is its startup cost."
            );
        }
        println!(
            "2. The wizard runs with DISPLAY unset (no clipboard polling), TERM=xterm-256color, \
             80x24; memory and idle runs use the sandbox on loopback."
        );
        for n in &self.notes {
            println!("{n}");
        }
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "Machine: {cpus} CPUs, {}; load average {} at the start, {} at the end (other work on \
             the machine slows the multi-process figures, exchange most: it waits on two fsyncs).",
            uname(),
            self.load_before,
            load_average()
        );
        self.misses == 0
    }
}

fn pass(ok: bool) -> String {
    if ok { "PASS" } else { "MISS" }.into()
}

/// The 1-minute load average.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn uname() -> String {
    Command::new("uname")
        .arg("-srm")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
