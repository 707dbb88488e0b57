//! The fleet figure of issue 14: 200 token readers on 8 simulated machines ask one store for the
//! access token of one tenant whose stored token has expired. Each machine is a separate process
//! (this binary re-executed, with its own HOME and cache folder); each reader in it opens its own
//! `SqlStore` (its own connection pool, as a separate `token` process would) and calls
//! `SqlStore::access_token`, whose refresh is a real HTTP refresh at the in-process sandbox.
//! Counted at the sandbox: refreshes per store (goal: exactly 1), and distinct tokens handed out
//! (goal: 1). Stores: SQLite always, PostgreSQL and MariaDB when ZOHO_AUTH_TEST_POSTGRES_URL /
//! ZOHO_AUTH_TEST_MYSQL_URL are set (`.ci/databases.sh cargo bench --bench fleet`).
//!
//! `token` is not wired to stores yet, so the readers drive the library directly.
//! Environment: FLEET_MACHINES (default 8), FLEET_READERS (total, default 200).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use zoho_auth::auth::client::{Client, ClientOptions, Credentials};
use zoho_auth::auth::secret::Secret;
use zoho_auth::auth::sqlstore::{
    AccessToken, Layout, SqlStore, StoreOptions, StoreUrl, StoredGrant,
};
use zoho_auth::sandbox::{Sandbox, SandboxConfig};

const TENANT: &str = "fleet";
const SCOPE: &str = "ZohoBooks.fullaccess.all";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    if let Ok(url) = std::env::var("FLEET_MACHINE_URL") {
        rt.block_on(machine(url));
    } else {
        let ok = rt.block_on(run());
        std::process::exit(if ok { 0 } else { 1 });
    }
}

/// One simulated machine: opens its readers' stores, says READY, waits for a line on stdin, then
/// all readers ask at once. Prints one line per reader: token hash, refreshed, milliseconds.
async fn machine(url: String) {
    let url = StoreUrl::parse(&url).unwrap();
    let table = std::env::var("FLEET_TABLE").unwrap();
    let readers = env_usize("FLEET_MACHINE_READERS", 25);
    let mut stores = Vec::new();
    // 25 readers per process on a 2-core box open 200 connections at once (SCRAM handshakes
    // included): a longer connect allowance than a lone `token` needs.
    let options = StoreOptions {
        connect_timeout: Duration::from_secs(120),
        ..StoreOptions::default()
    };
    for _ in 0..readers {
        stores.push(
            SqlStore::open_with(&url, Layout::ZohoAuth, Some(&table), options)
                .await
                .unwrap(),
        );
    }
    println!("READY");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let tasks: Vec<_> = stores
        .into_iter()
        .map(|store| {
            let client = client.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let got = store
                    .access_token(TENANT, Duration::from_secs(300), async |g: &StoredGrant| {
                        let accounts = url::Url::parse(&g.accounts_url).unwrap();
                        let creds = Credentials {
                            client_id: g.client_id.clone(),
                            client_secret: g.client_secret.clone(),
                        };
                        let set = client.refresh(&accounts, &creds, &g.refresh_token).await?;
                        let expires = now_ms() + set.expires_in.as_millis() as i64;
                        Ok::<_, zoho_auth::auth::client::AuthError>((set.access_token, expires))
                    })
                    .await;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match got {
                    Ok(t) => format!(
                        "{} {} {ms:.1}",
                        &hex::encode(Sha256::digest(t.token.expose().as_bytes()))[..16],
                        t.refreshed
                    ),
                    Err(e) => format!("ERROR {e}"),
                }
            })
        })
        .collect();
    for t in tasks {
        println!("{}", t.await.unwrap());
    }
}

struct Figures {
    store: String,
    refreshes: u64,
    distinct: usize,
    answered: usize,
    errors: Vec<String>,
    wall_ms: f64,
    median_ms: f64,
    max_ms: f64,
}

async fn run() -> bool {
    let machines = env_usize("FLEET_MACHINES", 8);
    let readers = env_usize("FLEET_READERS", 200);
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![format!("sqlite:{}", dir.path().join("fleet.db").display())];
    for var in ["ZOHO_AUTH_TEST_POSTGRES_URL", "ZOHO_AUTH_TEST_MYSQL_URL"] {
        match std::env::var(var) {
            Ok(u) => urls.push(u),
            Err(_) => eprintln!(
                "fleet: {var} not set, that store is skipped (run .ci/databases.sh cargo bench --bench fleet)"
            ),
        }
    }
    let mut all = Vec::new();
    for url in urls {
        all.push(one_store(&sandbox, &url, machines, readers, dir.path()).await);
    }
    println!(
        "\n{readers} readers on {machines} machines (processes), one expired access token per store\n"
    );
    println!(
        "| store | refreshes at the sandbox | distinct tokens | readers answered | errors | wall | median reader | slowest reader | goal |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut ok = true;
    for f in &all {
        let pass = f.refreshes == 1 && f.distinct == 1 && f.answered == readers;
        ok &= pass;
        println!(
            "| {} | {} | {} | {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {} |",
            f.store,
            f.refreshes,
            f.distinct,
            f.answered,
            f.errors.len(),
            f.wall_ms,
            f.median_ms,
            f.max_ms,
            if pass { "PASS" } else { "MISS" }
        );
        for e in f.errors.iter().take(3) {
            println!("  error: {e}");
        }
    }
    ok
}

async fn one_store(
    sandbox: &Sandbox,
    url: &str,
    machines: usize,
    readers: usize,
    scratch: &std::path::Path,
) -> Figures {
    let store_url = StoreUrl::parse(url).unwrap();
    let table = format!("fleet_{:08x}", rand::random::<u32>());
    let store = SqlStore::open(&store_url, Layout::ZohoAuth, Some(&table))
        .await
        .unwrap();

    // A real grant from the sandbox, saved with an access token that has just expired.
    let client = Client::new(ClientOptions::default()).unwrap();
    let accounts = url::Url::parse(&sandbox.base_url()).unwrap();
    let demo = sandbox.self_client();
    let creds = Credentials {
        client_id: demo.client_id.clone(),
        client_secret: Secret::new(demo.client_secret.clone()),
    };
    let code = Secret::new(sandbox.mint_code(SCOPE, 3));
    let set = client
        .exchange_code(&accounts, &creds, &code, None)
        .await
        .unwrap();
    store
        .save(
            TENANT,
            &StoredGrant {
                client_id: creds.client_id.clone(),
                client_secret: creds.client_secret.clone(),
                refresh_token: set.refresh_token.clone().unwrap(),
                access: Some(AccessToken {
                    token: set.access_token.clone(),
                    expires_at_ms: now_ms() - 1000,
                }),
                dc: None,
                accounts_url: sandbox.base_url(),
                api_domain: set.api_domain.clone(),
                scopes: vec![SCOPE.into()],
                organization_id: None,
                user_name: None,
            },
        )
        .await
        .unwrap();
    let before = sandbox.control().stats().refreshes;

    let per = readers / machines;
    let mut children = Vec::new();
    for m in 0..machines {
        let count = if m == machines - 1 {
            readers - per * (machines - 1)
        } else {
            per
        };
        let home = scratch.join(format!("machine{m}"));
        std::fs::create_dir_all(home.join("cache")).unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("FLEET_MACHINE_URL", url)
            .env("FLEET_TABLE", &table)
            .env("FLEET_MACHINE_READERS", count.to_string())
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        // Readiness is a line on stdout, read in a blocking task.
        let (line, out) = tokio::task::spawn_blocking(move || {
            out.read_line(&mut line).unwrap();
            (line, out)
        })
        .await
        .unwrap();
        assert_eq!(line.trim(), "READY", "machine {m} did not start");
        children.push((child, out));
    }
    let started = Instant::now();
    for (child, _) in &mut children {
        writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let mut lines = Vec::new();
    for (mut child, out) in children {
        let got = tokio::task::spawn_blocking(move || {
            let lines: Vec<String> = out.lines().map_while(Result::ok).collect();
            child.wait().unwrap();
            lines
        })
        .await
        .unwrap();
        lines.extend(got);
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let refreshes = sandbox.control().stats().refreshes - before;

    let mut hashes = std::collections::BTreeSet::new();
    let mut times = Vec::new();
    let mut errors = Vec::new();
    for l in &lines {
        if let Some(e) = l.strip_prefix("ERROR ") {
            errors.push(e.to_string());
            continue;
        }
        let parts: Vec<&str> = l.split(' ').collect();
        hashes.insert(parts[0].to_string());
        times.push(parts[2].parse::<f64>().unwrap());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Figures {
        store: format!("{} ({})", store_url.backend().name(), store_url),
        refreshes,
        distinct: hashes.len(),
        answered: times.len(),
        errors,
        wall_ms,
        median_ms: times.get(times.len() / 2).copied().unwrap_or(f64::NAN),
        max_ms: times.last().copied().unwrap_or(f64::NAN),
    }
}
