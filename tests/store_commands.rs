//! The commands with a SQL store (`--store`): the real binary against the in-process sandbox and
//! real databases: SQLite always; PostgreSQL and MariaDB when `ZOHO_AUTH_TEST_POSTGRES_URL` /
//! `ZOHO_AUTH_TEST_MYSQL_URL` are set (`.ci/databases.sh` starts them). Without them the server
//! cases are skipped with a note, except under `CI`, where a missing server fails the run.

mod support;
#[path = "wizard_support/mod.rs"]
mod wizard_support;

use pretty_assertions::assert_eq;
use support::{Run, World};
use zoho_auth::auth::sqlstore::{Layout, SqlStore, StoreUrl};

const SCOPE: &str = "ZohoBooks.fullaccess.all";

/// The stores to test: a fresh SQLite file, and the servers whose URL variable is set.
fn store_urls(dir: &std::path::Path) -> Vec<String> {
    let mut list = vec![format!("sqlite:{}", dir.join("tokens.db").display())];
    for (var, name) in [
        ("ZOHO_AUTH_TEST_POSTGRES_URL", "PostgreSQL"),
        ("ZOHO_AUTH_TEST_MYSQL_URL", "MariaDB"),
    ] {
        match std::env::var(var) {
            Ok(url) => list.push(url),
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("{var} is not set under CI: .ci/run starts {name} with .ci/databases.sh")
            }
            Err(_) => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: {name} cases of tests/store_commands.rs ({var} is not set)"
                );
            }
        }
    }
    list
}

/// A table name no other test (or earlier run) uses.
fn table() -> String {
    format!("zt_{:08x}", rand::random::<u32>())
}

/// Args that select the store, table and tenant.
fn at(url: &str, table: &str, tenant: &str) -> Vec<String> {
    vec![
        "--store".into(),
        url.into(),
        "--table".into(),
        table.into(),
        "--tenant".into(),
        tenant.into(),
    ]
}

async fn run(w: &World, store: &[String], args: &[&str]) -> Run {
    // Global options before the command: after `run --` they would be the child's.
    let mut all: Vec<&str> = store.iter().map(String::as_str).collect();
    all.extend_from_slice(args);
    w.run(&all).await
}

async fn exchange(w: &World, store: &[String], extra: &[&str]) -> Run {
    let mut all: Vec<&str> = store.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    w.exchange(SCOPE, &all).await
}

async fn open(url: &str, table: &str) -> SqlStore {
    SqlStore::open(
        &StoreUrl::parse(url).unwrap(),
        Layout::ZohoAuth,
        Some(table),
    )
    .await
    .unwrap()
}

fn no_secret(w: &World, r: &Run) {
    for s in w.sandbox.control().issued_secrets() {
        assert!(
            !r.stdout.contains(&s) || r.stdout.trim() == s,
            "a secret in stdout"
        );
        assert!(!r.stderr.contains(&s), "a secret in stderr: {}", r.stderr);
    }
}

#[tokio::test]
async fn exchange_saves_the_row_and_token_check_run_read_it() {
    let w = World::start().await;
    for url in store_urls(w.dir.path()) {
        let t = table();
        let s = at(&url, &t, "acme");
        let r = exchange(&w, &s, &[]).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stderr.contains("saved the grant for tenant \"acme\""));
        assert!(!w.env_path().exists(), "no env file written");
        no_secret(&w, &r);

        let store = open(&url, &t).await;
        let row = store.load("acme").await.unwrap().expect("row saved");
        assert_eq!(row.client_id, w.sandbox.self_client().client_id);
        assert_eq!(row.accounts_url, w.base());
        assert_eq!(row.scopes, vec![SCOPE.to_string()]);
        let access = row.access.clone().expect("access token saved");

        // The saved access token is handed out with no request to Zoho.
        let before = w.sandbox.stats().token_requests;
        let tok = run(&w, &s, &["token"]).await;
        assert_eq!(tok.code, 0, "{}", tok.stderr);
        assert_eq!(tok.stdout.trim(), access.token.expose());
        assert_eq!(w.sandbox.stats().token_requests, before);

        let json = run(&w, &s, &["token", "--json"]).await;
        assert_eq!(json.code, 0, "{}", json.stderr);
        let v = json.json();
        assert_eq!(v["access_token"], access.token.expose());
        assert_eq!(v["api_domain"], row.api_domain.trim_end_matches('/'));
        assert_eq!(
            v["expires_at"],
            zoho_auth::auth::handoff::rfc3339((access.expires_at_ms / 1000) as u64)
        );
        assert_eq!(v["version"], 1);
        assert_eq!(v["token_type"], "Zoho-oauthtoken");
        assert_eq!(
            v["organization_id"].as_str(),
            row.organization_id.as_deref(),
            "the row's organization"
        );
        assert!(row.organization_id.is_some());

        // `api` gets its token (and the organization) from the row too.
        let api = run(&w, &s, &["api", "/books/v3/organizations"]).await;
        assert_eq!(api.code, 0, "{}", api.stderr);
        assert!(api.stdout.contains("10234695"), "{}", api.stdout);
        assert_eq!(
            w.sandbox.stats().token_requests,
            before,
            "no refresh for api"
        );

        // `check` tests the fleet token of the row too: no refresh spent (issue 13: a monitor
        // running it every minute must not eat Zoho's quota), and it says so.
        let check = run(&w, &s, &["check", "--json"]).await;
        assert_eq!(check.code, 0, "{}", check.stderr);
        assert_eq!(check.json()["ok"], true);
        assert_eq!(check.json()["token"], "cached", "{}", check.stderr);
        assert_eq!(
            w.sandbox.stats().token_requests,
            before,
            "no refresh for check"
        );

        // The store through its variable: the child gets the token, never the store's URL.
        let mut cmd = w.command(&[
            "--table",
            &t,
            "--tenant",
            "acme",
            "run",
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$ZOHO_ACCESS_TOKEN\" \"${ZOHO_AUTH_STORE:-unset}\"",
        ]);
        cmd.env("ZOHO_AUTH_STORE", &url);
        let ran = cmd.output().await.unwrap();
        assert_eq!(
            ran.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&ran.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&ran.stdout),
            format!("{}|unset", access.token.expose())
        );
        assert!(!w.env_path().exists());
        store.close().await;
    }
}

#[tokio::test]
async fn revoke_deletes_only_that_tenants_row_and_tenants_lists_both() {
    let w = World::start().await;
    for url in store_urls(w.dir.path()) {
        let t = table();
        let a = at(&url, &t, "a");
        let b = at(&url, &t, "b");
        assert_eq!(exchange(&w, &a, &[]).await.code, 0);
        assert_eq!(exchange(&w, &b, &[]).await.code, 0);

        let list = run(&w, &a, &["tenants"]).await;
        assert_eq!(list.code, 0, "{}", list.stderr);
        let lines: Vec<&str> = list.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{}", list.stdout);
        assert!(lines[0].starts_with("TENANT"));
        assert!(lines[1].starts_with("a "));
        assert!(lines[2].starts_with("b "));
        no_secret(&w, &list);
        let json = run(&w, &a, &["tenants", "--json"]).await;
        assert_eq!(json.code, 0, "{}", json.stderr);
        let v = json.json();
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tenant"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(v[0]["access_token_expires_at_ms"].is_i64());
        // Written just now, by the database's clock (same machine): within a minute of ours.
        let updated = v[1]["updated_at_ms"].as_i64().expect("updated_at_ms");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((now - updated).abs() < 60_000, "{updated} vs {now}");
        assert!(v[1]["updated_at"].as_str().unwrap().ends_with('Z'));
        for t in v.as_array().unwrap() {
            for secret in ["client_secret", "refresh_token", "access_token"] {
                assert!(t.get(secret).is_none(), "{secret} listed");
            }
        }
        no_secret(&w, &json);

        let store = open(&url, &t).await;
        let token_a = store.load("a").await.unwrap().unwrap().refresh_token;
        let revokes = w.sandbox.stats().revokes;
        let r = run(&w, &a, &["revoke"]).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(w.sandbox.stats().revokes, revokes + 1);
        assert!(store.load("a").await.unwrap().is_none(), "a's row deleted");
        assert!(store.load("b").await.unwrap().is_some(), "b's row kept");
        assert_ne!(
            store.load("b").await.unwrap().unwrap().refresh_token,
            token_a
        );
        // The revoked tenant now has no grant: missing credentials, exit 2, store and tenant named.
        let gone = run(&w, &a, &["token"]).await;
        assert_eq!(gone.code, 2, "{}", gone.stderr);
        assert!(gone.stderr.contains("no grant for tenant \"a\""));
        assert_eq!(run(&w, &b, &["token"]).await.code, 0);
        store.close().await;
    }
}

#[tokio::test]
async fn two_tenants_in_different_data_centers_side_by_side() {
    let w = World::start().await;
    let url = format!("sqlite:{}", w.dir.path().join("dcs.db").display());
    let t = table();
    let client = w.sandbox.self_client();
    for (tenant, dc) in [("us-co", None), ("eu-co", Some("eu"))] {
        let (accounts, code) = match dc {
            None => (w.base(), w.sandbox.mint_code(SCOPE, 3)),
            Some(dc) => (
                format!("{}/_dc/{dc}", w.base()),
                w.sandbox
                    .control()
                    .mint_code_in(dc, SCOPE, 3)
                    .expect("a code")
                    .code,
            ),
        };
        let mut args = vec![
            "exchange",
            "--accounts-url",
            &accounts,
            "--client-id",
            &client.client_id,
            "--code",
            &code,
        ];
        let s = at(&url, &t, tenant);
        args.extend(s.iter().map(String::as_str));
        let mut cmd = w.command(&args);
        cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
        let out = cmd.output().await.unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = open(&url, &t).await;
    let us = store.load("us-co").await.unwrap().unwrap();
    let eu = store.load("eu-co").await.unwrap().unwrap();
    assert_eq!(us.accounts_url, w.base());
    assert_eq!(eu.accounts_url, format!("{}/_dc/eu", w.base()));
    // Each tenant's token refreshes at its own accounts server and names its own API domain.
    for (tenant, row) in [("us-co", &us), ("eu-co", &eu)] {
        let s = at(&url, &t, tenant);
        let json = run(&w, &s, &["token", "--json"]).await;
        assert_eq!(json.code, 0, "{}", json.stderr);
        assert_eq!(
            json.json()["api_domain"],
            row.api_domain.trim_end_matches('/')
        );
        let check = run(&w, &s, &["check"]).await;
        assert_eq!(check.code, 0, "{tenant}: {}", check.stderr);
    }
    store.close().await;
}

#[tokio::test]
async fn hostile_tenant_names_are_data() {
    let w = World::start().await;
    let url = format!("sqlite:{}", w.dir.path().join("h.db").display());
    let t = table();
    let names = [
        "'; DROP TABLE zoho_tokens; --",
        "tenant with spaces \" and quotes",
        "ünïcødé-テナント",
        "\u{202e}bidi",
    ];
    for name in names {
        let r = exchange(&w, &at(&url, &t, name), &[]).await;
        assert_eq!(r.code, 0, "{name:?}: {}", r.stderr);
        assert!(!r.stderr.contains('\u{202e}'), "printed unescaped");
    }
    let store = open(&url, &t).await;
    let mut listed: Vec<String> = store
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.tenant)
        .collect();
    listed.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(listed, want);
    for name in names {
        assert_eq!(run(&w, &at(&url, &t, name), &["token"]).await.code, 0);
    }
    // Too long, or a NUL-free but empty name: exit 2 naming the store, nothing sent.
    let long = "x".repeat(256);
    let before = w.sandbox.stats().exchanges;
    let r = exchange(&w, &at(&url, &t, &long), &[]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("256 characters"), "{}", r.stderr);
    let r = exchange(&w, &at(&url, &t, ""), &[]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(w.sandbox.stats().exchanges, before);
    store.close().await;
}

#[tokio::test]
async fn an_unreachable_store_stops_the_exchange_before_the_code_is_spent() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let code = w.sandbox.mint_code(SCOPE, 3);
    let base = w.base();
    let bad = "postgres://u:SECRETPW@127.0.0.1:1/db";
    let args = [
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        &code,
        "--store",
        bad,
    ];
    let mut cmd = w.command(&args);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let out = cmd.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("SECRETPW"), "{stderr}");
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");

    // The same code still exchanges into a reachable store.
    let url = format!("sqlite:{}", w.dir.path().join("ok.db").display());
    let mut args = args.to_vec();
    args[8] = &url;
    let mut cmd = w.command(&args);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let out = cmd.output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_store_password_is_never_printed() {
    let w = World::start().await;
    let bad = "postgres://u:SECRETPW@127.0.0.1:1/db";
    for args in [
        vec!["token", "--store", bad],
        vec!["check", "--store", bad],
        vec!["tenants", "--store", bad],
        vec!["revoke", "--store", bad],
        vec!["token", "--store", bad, "--table", "no-dash"],
        vec!["token", "--store", bad, "--layout", "nope"],
        vec!["token", "--store", "postgres://u:SECRETPW@[bad/db"],
    ] {
        let r = w.run(&args).await;
        assert_ne!(r.code, 0);
        assert!(
            !r.stderr.contains("SECRETPW") && !r.stdout.contains("SECRETPW"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("postgres://"),
            "{args:?}: store not named: {}",
            r.stderr
        );
    }
    // Through the variable too, and never in --help.
    let mut cmd = w.command(&["token"]);
    cmd.env("ZOHO_AUTH_STORE", bad);
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("SECRETPW"));
    let mut cmd = w.command(&["--help"]);
    cmd.env("ZOHO_AUTH_STORE", bad);
    let out = cmd.output().await.unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--store"), "{help}");
    assert!(!help.contains("SECRETPW"), "{help}");
}

#[tokio::test]
async fn bad_store_flags_are_exit_2() {
    let w = World::start().await;
    let url = format!("sqlite:{}", w.dir.path().join("f.db").display());
    for (args, says) in [
        (vec!["token", "--store", "redis://x"], "store URL"),
        (
            vec!["token", "--store", &url, "--table", "a;b"],
            "table name",
        ),
        (vec!["token", "--store", &url, "--layout", "sdk"], "layout"),
        (
            vec!["token", "--store", &url],
            "no grant for tenant \"default\"",
        ),
        (vec!["tenants"], "tenants needs --store or ZOHO_AUTH_STORE"),
    ] {
        let r = w.run(&args).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
    let r = exchange(&w, &at(&url, "zoho_tokens", "k"), &["--keychain"]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--keychain does not apply with a store"));
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_store_is_found_before_the_code_is_spent() {
    use std::os::unix::fs::PermissionsExt;
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: root ignores file permissions");
        return;
    }
    let w = World::start().await;
    let dir = w.dir.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("ro.db");
    let url = format!("sqlite:{}", db.display());
    let t = table();
    open(&url, &t).await.close().await;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    let r = exchange(&w, &at(&url, &t, "x"), &[]).await;
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be written"), "{}", r.stderr);
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");
}

#[tokio::test]
async fn a_store_refusing_writes_is_found_before_the_code_is_spent() {
    // Works as root too (file permissions do not stop root): every write is refused.
    let w = World::start().await;
    let url = format!("sqlite:{}", w.dir.path().join("refuse.db").display());
    let t = table();
    open(&url, &t).await.close().await;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TRIGGER refuse_{t} BEFORE INSERT ON {t} \
         BEGIN SELECT RAISE(ABORT, 'writes refused'); END"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let r = exchange(&w, &at(&url, &t, "x"), &[]).await;
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("sqlite:"),
        "the store is named: {}",
        r.stderr
    );
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");
}

#[tokio::test]
async fn a_save_that_fails_after_the_exchange_revokes_the_new_token() {
    // The preflight passes; then the table is dropped and replaced by a view (not writable)
    // between the check and the save, by the run's own `--no-test`-free live test window: here
    // simulated by a store whose table is a view from the start, which only the save writes to.
    let w = World::start().await;
    let url = format!("sqlite:{}", w.dir.path().join("v.db").display());
    let t = table();
    // A view named like the table: the preflight's rolled-back write fails the same way, so make
    // the save fail instead with a trigger that only refuses committed rows of a real grant.
    let store = open(&url, &t).await;
    store.close().await;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TRIGGER refuse_{t} BEFORE INSERT ON {t} WHEN NEW.client_id <> 'preflight' \
         BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let revokes = w.sandbox.stats().revokes;
    let r = exchange(&w, &at(&url, &t, "x"), &[]).await;
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("revoked at Zoho"), "{}", r.stderr);
    assert_eq!(w.sandbox.stats().exchanges, 1);
    assert_eq!(w.sandbox.stats().revokes, revokes + 1);
    no_secret(&w, &r);
}

#[tokio::test]
async fn a_fleet_of_token_processes_refreshes_once() {
    let w = World::start().await;
    for url in store_urls(w.dir.path()) {
        let t = table();
        let s = at(&url, &t, "fleet");
        assert_eq!(exchange(&w, &s, &[]).await.code, 0);
        // Expire the stored access token.
        let store = open(&url, &t).await;
        let mut row = store.load("fleet").await.unwrap().unwrap();
        row.access.as_mut().unwrap().expires_at_ms = 1;
        store.save("fleet", &row).await.unwrap();
        let before = w.sandbox.stats().refreshes;
        let mut children = Vec::new();
        for i in 0..8 {
            let mut args: Vec<&str> = vec!["token"];
            args.extend(s.iter().map(String::as_str));
            let mut cmd = w.command(&args);
            // Each process as on its own machine: no shared cache folder or file lock, only the
            // store's lock keeps the refresh to one.
            let machine = w.dir.path().join(format!("machine-{i}"));
            cmd.env("HOME", &machine)
                .env("ZOHO_AUTH_CACHE_DIR", machine.join("cache"));
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            children.push(cmd.spawn().unwrap());
        }
        let mut tokens = Vec::new();
        for c in children {
            let out = c.wait_with_output().await.unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokens.push(String::from_utf8(out.stdout).unwrap());
        }
        assert_eq!(w.sandbox.stats().refreshes, before + 1, "{url}");
        tokens.dedup();
        assert_eq!(tokens.len(), 1, "every process got the one new token");
        let after = store.load("fleet").await.unwrap().unwrap();
        assert_eq!(
            after.access.unwrap().token.expose(),
            tokens[0].trim(),
            "the new token is stored"
        );
        store.close().await;
    }
}

#[test]
fn the_wizard_save_plan_previews_the_stored_row_with_secrets_masked() {
    use zoho_auth::auth::Dc;
    use zoho_auth::auth::save::{self, NewGrant, SecretsIn};
    use zoho_auth::auth::secret::Secret;
    use zoho_auth::auth::stored;
    // Obviously fake values: the preview must mask the secrets whatever they are.
    let client_secret = "fakeclientsecretfakeclientsecret00";
    let refresh_token = "1000.fakerefresh.fakerefreshfakerefresh";
    let plan = save::plan(
        &NewGrant {
            client_id: "1000.FAKECLIENT0000000000000000000".into(),
            client_secret: Secret::new(client_secret),
            refresh_token: Secret::new(refresh_token),
            dc: Some(Dc::Eu),
            accounts_url: "https://accounts.zoho.eu".into(),
            api_domain: Some("https://www.zohoapis.eu".into()),
            scopes: Some("ZohoBooks.fullaccess.all".into()),
            organization_id: Some("10234695".into()),
        },
        SecretsIn::EnvFile,
        false,
    );
    let row = stored::row_from_plan(&plan);
    let text: String = stored::preview("acme \u{202e}corp", &row)
        .into_iter()
        .map(|(column, value)| format!("{column:<16} {value}\n"))
        .collect();
    assert!(!text.contains(client_secret) && !text.contains(refresh_token));
    insta::assert_snapshot!(text);
}

/// The wizard's Save step with `--store`: the tenant's row from the same plan, secrets masked, no
/// keychain or .gitignore offer.
#[test]
fn the_wizard_save_step_shows_the_store_row() {
    use wizard_support::*;
    let mut w = at_save();
    w.ctx.store = Some((
        "postgres://app:***@db.internal:5432/zoho".into(),
        "acme".into(),
    ));
    assert!(w.save_options().is_empty());
    let shown = render_without(&w, t(50), 80, 24, &[SECRET, CODE, ACCESS, REFRESH]);
    assert!(shown.contains("tenant \"acme\""), "{shown}");
    insta::assert_snapshot!(shown);
}

/// `login --device` with a store: checked before the flow starts, saved as the tenant's row.
#[tokio::test]
async fn device_login_saves_to_the_store() {
    use tokio::io::AsyncBufReadExt;
    let w = World::with_config(zoho_auth::sandbox::SandboxConfig {
        device_interval: std::time::Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let url = format!("sqlite:{}", w.dir.path().join("login.db").display());
    let t = table();
    let client = w.sandbox.device_client();
    let base = w.base();
    let mut args = vec![
        "login",
        "--device",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--scopes",
        SCOPE,
    ];
    let s = at(&url, &t, "dev");
    args.extend(s.iter().map(String::as_str));
    let mut cmd = w.command(&args);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let code = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user code; stderr:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("enter the code:") {
            break line.rsplit(' ').next().unwrap().to_string();
        }
    };
    assert_eq!(
        w.sandbox.control().approve_device(&code),
        zoho_auth::sandbox::ControlOutcome::Done
    );
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push_str(&line);
        seen.push('\n');
    }
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "{seen}");
    assert!(
        seen.contains("saved the grant for tenant \"dev\""),
        "{seen}"
    );
    assert!(!w.env_path().exists(), "no env file written");
    let store = open(&url, &t).await;
    let row = store.load("dev").await.unwrap().expect("row saved");
    assert_eq!(row.client_id, client.client_id);
    store.close().await;

    // An unreachable store stops the sign-in before it starts: no device code is asked for.
    let before = w.sandbox.stats().device_code_requests;
    let mut args = args.clone();
    let i = args.iter().position(|a| *a == url.as_str()).unwrap();
    args[i] = "postgres://u:SECRETPW@127.0.0.1:1/db";
    let mut cmd = w.command(&args);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("SECRETPW"));
    assert_eq!(w.sandbox.stats().device_code_requests, before);
}

/// `--layout zoho-sdk`: the official SDKs' `oauthtoken` table, `id` the tenant.
#[tokio::test]
async fn the_zoho_sdk_layout_round_trips_through_the_commands() {
    let w = World::start().await;
    for url in store_urls(w.dir.path()) {
        let t = format!("sdk_{}", table());
        let mut s = at(&url, &t, "sdk-tenant");
        s.extend(["--layout".to_string(), "zoho-sdk".to_string()]);
        let r = exchange(&w, &s, &[]).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        let store = SqlStore::open(&StoreUrl::parse(&url).unwrap(), Layout::ZohoSdk, Some(&t))
            .await
            .unwrap();
        let row = store.load("sdk-tenant").await.unwrap().expect("row saved");
        let access = row.access.expect("the access token is stored");
        let tok = run(&w, &s, &["token"]).await;
        assert_eq!(tok.code, 0, "{}", tok.stderr);
        assert_eq!(tok.stdout.trim(), access.token.expose());
        let list = run(&w, &s, &["tenants", "--json"]).await;
        assert_eq!(list.json()[0]["tenant"], "sdk-tenant");
        store.close().await;
    }
}
