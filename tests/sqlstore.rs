//! The SQL token store against real databases: SQLite always; PostgreSQL and MariaDB when
//! `ZOHO_AUTH_TEST_POSTGRES_URL` / `ZOHO_AUTH_TEST_MYSQL_URL` are set (`.ci/databases.sh` starts
//! private servers and sets them). Without them the server cases are skipped with a note, except
//! under `CI`, where a missing server fails the run. Nothing is mocked.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use sqlx::Connection;
use zoho_auth::auth::Dc;
use zoho_auth::auth::secret::Secret;
use zoho_auth::auth::sqlstore::{
    AccessToken, Backend, FleetError, Layout, SqlStore, StoreError, StoreOptions, StoreUrl,
    StoredGrant,
};

const LAYOUTS: [Layout; 2] = [Layout::ZohoAuth, Layout::ZohoSdk];

/// The stores to test: a fresh SQLite file, and the servers whose URL variable is set.
struct Stores {
    list: Vec<StoreUrl>,
    _dir: tempfile::TempDir,
}

fn stores() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let mut list =
        vec![StoreUrl::parse(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap()];
    for (var, name) in [
        ("ZOHO_AUTH_TEST_POSTGRES_URL", "PostgreSQL"),
        ("ZOHO_AUTH_TEST_MYSQL_URL", "MariaDB"),
    ] {
        match std::env::var(var) {
            Ok(url) => list.push(StoreUrl::parse(&url).unwrap()),
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("{var} is not set under CI: .ci/run starts {name} with .ci/databases.sh")
            }
            Err(_) => skipped(name, var),
        }
    }
    Stores { list, _dir: dir }
}

/// Says once per run, past the test harness's output capture, which servers were not tested.
fn skipped(name: &str, var: &str) {
    use std::io::Write;
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap();
    if !said.iter().any(|s| s == var) {
        said.push(var.to_string());
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {name} cases of tests/sqlstore.rs ({var} is not set; run `.ci/databases.sh cargo test --test sqlstore`)"
        );
    }
}

/// A table name no other test (or earlier run) uses.
fn table(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

/// Obviously fake, generated values: never a real-looking secret in the source.
fn fake(what: &str) -> String {
    format!("1000.test{what}{:016x}", rand::random::<u64>())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn grant(layout: Layout, api_domain: &str) -> StoredGrant {
    let dc = Dc::from_url(api_domain);
    StoredGrant {
        client_id: format!("1000.{}", fake("id").to_uppercase().replace('.', "")),
        client_secret: Secret::new(fake("secret")),
        refresh_token: Secret::new(fake("refresh")),
        access: Some(AccessToken {
            token: Secret::new(fake("access")),
            expires_at_ms: now_ms() + 3_600_000,
        }),
        dc,
        accounts_url: dc.map_or(api_domain.to_string(), |d| d.accounts_url()),
        api_domain: api_domain.to_string(),
        scopes: match layout {
            Layout::ZohoAuth => vec![
                "ZohoBooks.fullaccess.all".into(),
                "ZohoCRM.users.READ".into(),
            ],
            Layout::ZohoSdk => Vec::new(),
        },
        organization_id: match layout {
            Layout::ZohoAuth => Some("60001234".into()),
            Layout::ZohoSdk => None,
        },
        user_name: match layout {
            Layout::ZohoAuth => None,
            Layout::ZohoSdk => Some("owner@example.com".into()),
        },
    }
}

fn expired(mut g: StoredGrant) -> StoredGrant {
    if let Some(a) = g.access.as_mut() {
        a.expires_at_ms = now_ms() - 1000;
    }
    g
}

fn label(url: &StoreUrl, layout: Layout) -> String {
    format!("{} {}", url.backend().name(), layout.name())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_load_replace_round_trip_touches_no_other_tenant() {
    let stores = stores();
    for url in &stores.list {
        for layout in LAYOUTS {
            let at = label(url, layout);
            let t = table("rt");
            let store = SqlStore::open(url, layout, Some(&t)).await.unwrap();
            assert_eq!(store.load("acme").await.unwrap(), None, "{at}");

            let first = grant(layout, "https://www.zohoapis.eu");
            let other = grant(layout, "https://www.zohoapis.com");
            store.save("acme", &first).await.unwrap();
            store.save("globex", &other).await.unwrap();
            assert_eq!(
                store.load("acme").await.unwrap().as_ref(),
                Some(&first),
                "{at}"
            );

            let second = grant(layout, "https://www.zohoapis.in");
            store.save("acme", &second).await.unwrap();
            assert_eq!(
                store.load("acme").await.unwrap().as_ref(),
                Some(&second),
                "{at}"
            );
            assert_eq!(
                store.load("globex").await.unwrap().as_ref(),
                Some(&other),
                "{at}"
            );

            let listed: Vec<String> = store
                .tenants()
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.tenant)
                .collect();
            assert_eq!(
                listed,
                vec!["acme".to_string(), "globex".to_string()],
                "{at}"
            );

            assert!(store.delete("acme").await.unwrap(), "{at}");
            assert!(!store.delete("acme").await.unwrap(), "{at}");
            assert_eq!(store.load("acme").await.unwrap(), None, "{at}");
            assert_eq!(
                store.load("globex").await.unwrap().as_ref(),
                Some(&other),
                "{at}"
            );

            // Reopening finds the table as it is (no second create, nothing lost).
            let again = SqlStore::open(url, layout, Some(&t)).await.unwrap();
            assert_eq!(
                again.load("globex").await.unwrap().as_ref(),
                Some(&other),
                "{at}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_layout_derives_the_accounts_server_from_the_api_domain() {
    let stores = stores();
    for url in &stores.list {
        let t = table("sdk");
        let store = SqlStore::open(url, Layout::ZohoSdk, Some(&t))
            .await
            .unwrap();
        let mut g = grant(Layout::ZohoSdk, "https://www.zohoapis.eu");
        g.dc = None;
        g.accounts_url = "https://somewhere-else.example".into();
        store.save("t1", &g).await.unwrap();
        let back = store.load("t1").await.unwrap().unwrap();
        assert_eq!(back.dc, Some(Dc::Eu), "{url}");
        assert_eq!(back.accounts_url, "https://accounts.zoho.eu", "{url}");

        let sandbox = grant(Layout::ZohoSdk, "http://127.0.0.1:41234");
        store.save("t2", &sandbox).await.unwrap();
        let back = store.load("t2").await.unwrap().unwrap();
        assert_eq!(back.accounts_url, "http://127.0.0.1:41234", "{url}");
        assert_eq!(back.dc, None, "{url}");

        let foreign = grant(Layout::ZohoSdk, "https://api.example.com");
        store.save("t3", &foreign).await.unwrap();
        let err = store.load("t3").await.unwrap_err();
        assert!(matches!(err, StoreError::BadRow { .. }), "{url}: {err}");
        assert_eq!(err.exit_code(), 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tenant_names_are_data() {
    let stores = stores();
    let long: String = "ü".repeat(255);
    let names = [
        "'; DROP TABLE zoho_tokens; --",
        "\"quoted\" and `ticked` and \\back\\slashed",
        "Robert'); DELETE FROM oauthtoken WHERE ('1'='1",
        "日本語 テナント 🚀",
        "acme",
        "Acme",
        "acme ",
        "%_wildcards_%",
        long.as_str(),
    ];
    for url in &stores.list {
        for layout in LAYOUTS {
            let at = label(url, layout);
            // The table the injected statements name exists and holds a sentinel row.
            let target = SqlStore::open(url, layout, None).await.unwrap();
            let sentinel = format!("sentinel-{:08x}", rand::random::<u32>());
            let sentinel_grant = grant(layout, "https://www.zohoapis.com");
            target.save(&sentinel, &sentinel_grant).await.unwrap();
            let store = SqlStore::open(url, layout, Some(&table("hostile")))
                .await
                .unwrap();
            let mut saved = Vec::new();
            for name in names {
                let g = grant(layout, "https://www.zohoapis.com");
                store.save(name, &g).await.unwrap();
                saved.push((name, g));
            }
            for (name, g) in &saved {
                let back = store.load(name).await.unwrap();
                assert_eq!(back.as_ref(), Some(g), "{at}: {name:?}");
            }
            let listed: Vec<String> = store
                .tenants()
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.tenant)
                .collect();
            for name in names {
                assert_eq!(
                    listed.iter().filter(|l| l.as_str() == name).count(),
                    1,
                    "{at}: {name:?} listed once, byte for byte"
                );
            }
            let too_long = "ü".repeat(256);
            let err = store.save(&too_long, &saved[0].1).await.unwrap_err();
            assert!(matches!(err, StoreError::BadTenant { .. }), "{at}: {err}");
            assert_eq!(err.exit_code(), 2);
            let back = target.load(&sentinel).await.unwrap();
            assert_eq!(
                back.as_ref(),
                Some(&sentinel_grant),
                "{at}: the target table is intact"
            );
            target.delete(&sentinel).await.unwrap();
        }
    }
}

/// N stores (N separate connection pools, as N processes would have) ask for the token of one
/// tenant whose access token has expired: Zoho is asked once, everyone gets that token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_refreshes_once_and_shares_the_token() {
    const N: usize = 12;
    let stores = stores();
    for url in &stores.list {
        for layout in LAYOUTS {
            let at = label(url, layout);
            let t = table("fleet");
            let seed = SqlStore::open(url, layout, Some(&t)).await.unwrap();
            let g = expired(grant(layout, "https://www.zohoapis.com"));
            seed.save("fleet", &g).await.unwrap();

            let refreshes = Arc::new(AtomicU32::new(0));
            let start = Arc::new(tokio::sync::Barrier::new(N));
            let mut tasks = Vec::new();
            for _ in 0..N {
                let (url, t, refreshes, start) =
                    (url.clone(), t.clone(), refreshes.clone(), start.clone());
                tasks.push(tokio::spawn(async move {
                    let store = SqlStore::open(&url, layout, Some(&t)).await.unwrap();
                    start.wait().await;
                    store
                        .access_token(
                            "fleet",
                            Duration::from_secs(300),
                            async |g: &StoredGrant| {
                                let n = refreshes.fetch_add(1, Ordering::SeqCst);
                                assert!(!g.refresh_token.is_empty());
                                // Zoho's answer takes a while; the others queue at the lock meanwhile.
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                Ok::<_, Infallible>((
                                    Secret::new(format!("1000.testfresh{n}")),
                                    now_ms() + 3_600_000,
                                ))
                            },
                        )
                        .await
                        .unwrap()
                }));
            }
            let mut tokens = Vec::new();
            for task in tasks {
                tokens.push(task.await.unwrap());
            }
            assert_eq!(
                refreshes.load(Ordering::SeqCst),
                1,
                "{at}: one refresh for the fleet"
            );
            assert_eq!(tokens.iter().filter(|t| t.refreshed).count(), 1, "{at}");
            for tok in &tokens {
                assert_eq!(tok.token.expose(), "1000.testfresh0", "{at}");
            }
            // The stored row now holds it, and a later reader does not refresh.
            let back = seed.load("fleet").await.unwrap().unwrap();
            assert_eq!(
                back.access.unwrap().token.expose(),
                "1000.testfresh0",
                "{at}"
            );
            assert_eq!(back.refresh_token, g.refresh_token, "{at}");
            let again = seed
                .access_token(
                    "fleet",
                    Duration::from_secs(300),
                    async |_: &StoredGrant| {
                        Err::<(Secret, i64), &str>("must not refresh a fresh token")
                    },
                )
                .await
                .unwrap();
            assert!(!again.refreshed, "{at}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_keeps_the_grant_and_frees_the_lock() {
    let stores = stores();
    for url in &stores.list {
        let t = table("fail");
        let store = SqlStore::open(url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        let g = expired(grant(Layout::ZohoAuth, "https://www.zohoapis.com"));
        store.save("x", &g).await.unwrap();
        let err = store
            .access_token("x", Duration::from_secs(300), async |_: &StoredGrant| {
                Err::<(Secret, i64), &str>("invalid_code")
            })
            .await
            .unwrap_err();
        assert!(matches!(err, FleetError::Refresh("invalid_code")), "{url}");
        assert_eq!(store.load("x").await.unwrap().as_ref(), Some(&g), "{url}");
        let ok = store
            .access_token("x", Duration::from_secs(300), async |_: &StoredGrant| {
                Ok::<_, Infallible>((Secret::new("1000.testnext"), now_ms() + 3_600_000))
            })
            .await
            .unwrap();
        assert!(ok.refreshed, "{url}");
    }
}

/// A grant replaced (by `setup`) while a refresh of the old one was under way keeps the new
/// grant: the refreshed token is written only onto the grant it was minted from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_does_not_overwrite_a_grant_saved_meanwhile() {
    let stores = stores();
    for url in &stores.list {
        let t = table("race");
        let store = SqlStore::open(url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        let writer = SqlStore::open(url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        let old = expired(grant(Layout::ZohoAuth, "https://www.zohoapis.com"));
        let new = grant(Layout::ZohoAuth, "https://www.zohoapis.com");
        store.save("r", &old).await.unwrap();
        let result = store
            .access_token("r", Duration::from_secs(300), async |_: &StoredGrant| {
                // SQLite's lock is the write transaction itself: a concurrent save waits for it
                // and lands after, so only the server databases can interleave here.
                if url.backend() != Backend::Sqlite {
                    writer.save("r", &new).await.unwrap();
                }
                Ok::<_, Infallible>((Secret::new("1000.testold"), now_ms() + 3_600_000))
            })
            .await
            .unwrap();
        assert_eq!(result.token.expose(), "1000.testold");
        if url.backend() != Backend::Sqlite {
            assert_eq!(store.load("r").await.unwrap().as_ref(), Some(&new), "{url}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_saves_of_one_tenant_at_once_leave_one_whole_grant() {
    let stores = stores();
    for url in &stores.list {
        let t = table("two");
        let a = SqlStore::open(url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        let b = SqlStore::open(url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        for _ in 0..10 {
            let ga = grant(Layout::ZohoAuth, "https://www.zohoapis.eu");
            let gb = grant(Layout::ZohoAuth, "https://www.zohoapis.com");
            let (ra, rb) = tokio::join!(a.save("same", &ga), b.save("same", &gb));
            ra.unwrap();
            rb.unwrap();
            let back = a.load("same").await.unwrap().unwrap();
            assert!(
                back == ga || back == gb,
                "{url}: a mix of two grants: {back:?}"
            );
        }
    }
}

/// Run only as a child of `a_killed_lock_holder_frees_the_lock`: takes the tenant's lock, says
/// LOCKED, and hangs in the refresh until it is killed.
#[test]
#[ignore = "a helper process for a_killed_lock_holder_frees_the_lock"]
fn child_holds_the_lock_until_killed() {
    let (Ok(url), Ok(t)) = (
        std::env::var("ZOHO_AUTH_SQLSTORE_CHILD_URL"),
        std::env::var("ZOHO_AUTH_SQLSTORE_CHILD_TABLE"),
    ) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = StoreUrl::parse(&url).unwrap();
        let store = SqlStore::open(&url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        let _ = store
            .access_token("held", Duration::from_secs(300), async |_: &StoredGrant| {
                use std::io::Write;
                println!("LOCKED");
                std::io::stdout().flush().unwrap();
                std::future::pending::<Result<(Secret, i64), Infallible>>().await
            })
            .await;
    });
}

/// A lock holder SIGKILLed mid-refresh frees the lock with its connection; while it held it, a
/// waiter with a 1 s limit got LockTimeout naming the store (password masked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_holder_frees_the_lock() {
    let stores = stores();
    for url in &stores.list {
        let t = table("kill");
        let options = StoreOptions {
            lock_wait: Duration::from_secs(1),
            ..StoreOptions::default()
        };
        let store = SqlStore::open_with(url, Layout::ZohoAuth, Some(&t), options)
            .await
            .unwrap();
        let g = expired(grant(Layout::ZohoAuth, "https://www.zohoapis.com"));
        store.save("held", &g).await.unwrap();

        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_holds_the_lock_until_killed",
                "--ignored",
                "--nocapture",
            ])
            .env("ZOHO_AUTH_SQLSTORE_CHILD_URL", url.expose())
            .env("ZOHO_AUTH_SQLSTORE_CHILD_TABLE", &t)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let locked = tokio::task::spawn_blocking(move || {
            lines.any(|l| l.map(|l| l.trim() == "LOCKED").unwrap_or(false))
        })
        .await
        .unwrap();
        assert!(locked, "{url}: the child never took the lock");

        let refreshes = AtomicU32::new(0);
        let err = store
            .access_token("held", Duration::from_secs(300), async |_: &StoredGrant| {
                refreshes.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Infallible>((Secret::new("1000.testafter"), now_ms() + 3_600_000))
            })
            .await
            .unwrap_err();
        let FleetError::Store(err) = err;
        assert!(
            matches!(err, StoreError::LockTimeout { .. }),
            "{url}: {err}"
        );
        assert_eq!(err.exit_code(), 5);
        let text = err.to_string();
        assert!(text.contains(&url.to_string()), "{text}");
        assert_no_password(url, &text);
        assert_eq!(refreshes.load(Ordering::SeqCst), 0);

        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let patient = StoreOptions {
            lock_wait: Duration::from_secs(30),
            ..StoreOptions::default()
        };
        let store = SqlStore::open_with(url, Layout::ZohoAuth, Some(&t), patient)
            .await
            .unwrap();
        let tok = store
            .access_token("held", Duration::from_secs(300), async |_: &StoredGrant| {
                refreshes.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Infallible>((Secret::new("1000.testafter"), now_ms() + 3_600_000))
            })
            .await
            .unwrap();
        assert!(tok.refreshed, "{url}");
        assert_eq!(refreshes.load(Ordering::SeqCst), 1);
        assert_eq!(
            store.load("held").await.unwrap().unwrap().refresh_token,
            g.refresh_token
        );
    }
}

fn password_of(url: &StoreUrl) -> Option<String> {
    url::Url::parse(url.expose())
        .ok()?
        .password()
        .map(str::to_string)
}

fn assert_no_password(url: &StoreUrl, text: &str) {
    if let Some(pw) = password_of(url) {
        assert!(!text.contains(&pw), "the password leaked: {text}");
    }
}

#[tokio::test]
async fn an_unreachable_store_is_named_with_its_password_masked() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let password = fake("dbpassword");
    for scheme in ["postgres", "mysql"] {
        let url =
            StoreUrl::parse(&format!("{scheme}://app:{password}@127.0.0.1:{port}/zoho")).unwrap();
        let err = SqlStore::open(&url, Layout::ZohoAuth, None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
        assert_eq!(err.exit_code(), 5);
        let text = format!("{err} {err:?}");
        assert!(
            text.contains(&format!("{scheme}://app:***@127.0.0.1:{port}/zoho")),
            "{text}"
        );
        assert!(!text.contains(&password), "{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let url =
        StoreUrl::parse(&format!("sqlite:{}/no/such/dir/t.db", dir.path().display())).unwrap();
    let err = SqlStore::open(&url, Layout::ZohoAuth, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_auth_failed_and_never_shown() {
    let stores = stores();
    for url in stores
        .list
        .iter()
        .filter(|u| u.backend() != Backend::Sqlite)
    {
        let mut wrong = url::Url::parse(url.expose()).unwrap();
        let password = fake("wrongpw");
        wrong.set_password(Some(&password)).unwrap();
        let wrong = StoreUrl::parse(wrong.as_str()).unwrap();
        let err = SqlStore::open(&wrong, Layout::ZohoAuth, None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::AuthFailed { .. }), "{err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(&password), "{text}");
        assert!(text.contains(":***@"), "{text}");
    }
}

#[tokio::test]
async fn a_bad_table_name_is_refused_before_connecting() {
    let url = StoreUrl::parse("postgres://u:p@127.0.0.1:1/db").unwrap();
    for bad in ["zoho_tokens; DROP TABLE x", "1abc", "a\"b", &"a".repeat(64)] {
        let err = SqlStore::open(&url, Layout::ZohoAuth, Some(bad))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::BadTable { .. }), "{bad}: {err}");
        assert_eq!(err.exit_code(), 2);
    }
}

/// A non-loopback server without TLS is refused before anything is sent.
#[tokio::test]
async fn plain_connections_only_to_loopback() {
    for url in [
        "postgres://u:p@db.example.com/db?sslmode=disable",
        "mysql://u:p@db.example.com/db?ssl-mode=DISABLED",
        "postgres://u:p@10.1.2.3/db?sslmode=prefer",
    ] {
        let err = SqlStore::open(&StoreUrl::parse(url).unwrap(), Layout::ZohoAuth, None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::BadUrl { .. }), "{url}: {err}");
        assert!(err.to_string().contains("unencrypted"), "{err}");
    }
}

/// A table the store's user may read but not write: the save fails naming the store, and the row
/// that was there is intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_table_fails_the_save_and_keeps_the_row() {
    let stores = stores();
    for url in &stores.list {
        let t = table("ro");
        let store = SqlStore::open(url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        let old = grant(Layout::ZohoAuth, "https://www.zohoapis.com");
        store.save("ro", &old).await.unwrap();
        let (ro_url, _guard) = read_only_view(url, &t).await;
        let Some(ro_url) = ro_url else { continue };
        let ro = SqlStore::open(&ro_url, Layout::ZohoAuth, Some(&t))
            .await
            .unwrap();
        let new = grant(Layout::ZohoAuth, "https://www.zohoapis.eu");
        let err = ro.save("ro", &new).await.unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{url}: {err}");
        assert_eq!(err.exit_code(), 5);
        assert!(err.to_string().contains(&ro_url.to_string()), "{err}");
        assert_no_password(&ro_url, &err.to_string());
        let err = ro.preflight("ro").await.unwrap_err();
        assert!(
            matches!(err, StoreError::ReadOnly { .. }),
            "{url}: preflight {err}"
        );
        assert_eq!(
            store.load("ro").await.unwrap().as_ref(),
            Some(&old),
            "{url}"
        );
        // The writable store passes the preflight and it writes nothing.
        store.preflight("someone-else").await.unwrap();
        assert_eq!(store.load("someone-else").await.unwrap(), None, "{url}");
    }
}

/// Unmounts on drop.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount(args: &[&str]) -> bool {
    Command::new("mount")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn root_only(what: &str) -> bool {
    if mount(&["--version"]) && unsafe_is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} needs root under CI"
    );
    eprintln!("skipped: {what} needs root (mount)");
    false
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A URL through which `table` can be read but not written: a read-only user on the servers, a
/// read-only bind mount of the folder for SQLite.
async fn read_only_view(url: &StoreUrl, table: &str) -> (Option<StoreUrl>, Option<Mount>) {
    let user = format!("ro_{:08x}", rand::random::<u32>());
    let password = format!("ro{:016x}", rand::random::<u64>());
    match url.backend() {
        Backend::Sqlite => {
            if !root_only("the read-only SQLite case") {
                return (None, None);
            }
            let file = url.sqlite_path().unwrap().to_path_buf();
            let ro_dir = tempfile::tempdir().unwrap().keep();
            let src = file.parent().unwrap().to_str().unwrap().to_string();
            let dst = ro_dir.to_str().unwrap().to_string();
            assert!(mount(&["--bind", &src, &dst]));
            let guard = Mount(ro_dir.clone());
            assert!(mount(&["-o", "remount,bind,ro", &dst]));
            let ro_file = ro_dir.join(file.file_name().unwrap());
            (
                Some(StoreUrl::parse(&format!("sqlite:{}", ro_file.display())).unwrap()),
                Some(guard),
            )
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url.expose()).await.unwrap();
            for sql in [
                format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"),
                format!("GRANT SELECT ON \"{table}\" TO {user}"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            (Some(with_user(url, &user, &password)), None)
        }
        Backend::MySql => {
            let mut conn = sqlx::MySqlConnection::connect(url.expose()).await.unwrap();
            let db = url::Url::parse(url.expose())
                .unwrap()
                .path()
                .trim_start_matches('/')
                .to_string();
            for sql in [
                format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'"),
                format!("GRANT SELECT ON `{db}`.`{table}` TO '{user}'@'127.0.0.1'"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            (Some(with_user(url, &user, &password)), None)
        }
    }
}

fn with_user(url: &StoreUrl, user: &str, password: &str) -> StoreUrl {
    let mut u = url::Url::parse(url.expose()).unwrap();
    u.set_username(user).unwrap();
    u.set_password(Some(password)).unwrap();
    StoreUrl::parse(u.as_str()).unwrap()
}

/// SQLite on a full disk (a 256 KiB tmpfs): the save fails with DiskFull naming the store, and the
/// row that was there is intact.
#[tokio::test]
async fn a_full_disk_fails_the_sqlite_save_and_keeps_the_row() {
    if !root_only("the SQLite disk-full case") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(mount(&[
        "-t",
        "tmpfs",
        "-o",
        "size=256k",
        "tmpfs",
        dir.path().to_str().unwrap()
    ]));
    let _guard = Mount(dir.path().to_path_buf());
    let url = StoreUrl::parse(&format!("sqlite:{}/t.db", dir.path().display())).unwrap();
    let store = SqlStore::open(&url, Layout::ZohoAuth, None).await.unwrap();
    let old = grant(Layout::ZohoAuth, "https://www.zohoapis.com");
    store.save("full", &old).await.unwrap();
    let mut huge = old.clone();
    huge.client_secret = Secret::new("x".repeat(1024 * 1024));
    let err = store.save("full", &huge).await.unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err}");
    assert_eq!(err.exit_code(), 5);
    assert!(err.to_string().contains(&url.to_string()), "{err}");
    assert_eq!(store.load("full").await.unwrap().as_ref(), Some(&old));
}

/// A missing SQLite file is created; `sqlite://` relative paths are relative to the working
/// directory (checked through the absolute forms here, since tests share one working directory).
#[tokio::test]
async fn a_missing_sqlite_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.db");
    let url = StoreUrl::parse(&format!("sqlite://{}", file.display())).unwrap();
    assert!(!file.exists());
    let store = SqlStore::open(&url, Layout::ZohoAuth, None).await.unwrap();
    assert!(file.exists());
    let g = grant(Layout::ZohoAuth, "https://www.zohoapis.com");
    store.save("default", &g).await.unwrap();
    assert_eq!(store.load("default").await.unwrap(), Some(g));
}

/// Written for tests/sdk_node/check.sh: saves one grant in the zoho-sdk layout to the MariaDB test
/// server (table `oauthtoken`) and prints the row as JSON for the Node SDK's reading to be
/// compared with.
#[tokio::test]
#[ignore = "run by tests/sdk_node/check.sh"]
async fn write_a_row_for_the_node_sdk() {
    let url = StoreUrl::parse(&std::env::var("ZOHO_AUTH_TEST_MYSQL_URL").unwrap()).unwrap();
    let tenant = std::env::var("ZOHO_AUTH_SDK_TENANT").unwrap();
    let store = SqlStore::open(&url, Layout::ZohoSdk, None).await.unwrap();
    let g = grant(Layout::ZohoSdk, "https://www.zohoapis.eu");
    store.save(&tenant, &g).await.unwrap();
    let a = g.access.as_ref().unwrap();
    let row = serde_json::json!({
        "id": tenant,
        "user_name": g.user_name,
        "client_id": g.client_id,
        "client_secret": g.client_secret.expose(),
        "refresh_token": g.refresh_token.expose(),
        "access_token": a.token.expose(),
        "expiry_time": a.expires_at_ms.to_string(),
        "api_domain": g.api_domain,
    });
    let out = std::env::var("ZOHO_AUTH_SDK_EXPECTED").unwrap();
    std::fs::write(out, row.to_string()).unwrap();
}
