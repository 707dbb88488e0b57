//! `zoho-auth login --browser` and `--device` against the in-process sandbox, running the real
//! binary. The browser is played by reqwest: it GETs the authorization URL the command prints (with
//! `_sandbox_auto=approve|deny`) and follows the redirect to the command's listener. No fixed
//! sleeps: every wait is for a line on stderr, a sandbox counter or the process's exit, capped so a
//! bug fails instead of hanging.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::World;
use tokio::io::AsyncBufReadExt;
use tokio::sync::watch;
use zoho_auth::sandbox::{DemoClient, Fault, FaultKind, SandboxConfig};

const SCOPES: &str = "ZohoBooks.fullaccess.all";
/// The cap on any single wait. Reaching it is a failure, never part of a passing run.
const CAP: Duration = Duration::from_secs(60);

/// A running `zoho-auth`, its stderr collected line by line.
struct Running {
    child: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    seen: watch::Receiver<usize>,
    started: Instant,
}

struct Ended {
    code: i32,
    stderr: String,
}

impl Running {
    fn spawn(mut cmd: tokio::process::Command) -> Running {
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("binary runs");
        let stderr = child.stderr.take().expect("stderr piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, seen) = watch::channel(0usize);
        let sink = lines.clone();
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let count = {
                    let mut all = sink.lock().unwrap();
                    all.push(line);
                    all.len()
                };
                let _ = tx.send(count);
            }
        });
        Running {
            child,
            lines,
            seen,
            started: Instant::now(),
        }
    }

    fn stderr(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a stderr line matching `pred` and returns it.
    async fn line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let find = |lines: &Arc<Mutex<Vec<String>>>| {
            lines.lock().unwrap().iter().find(|l| pred(l)).cloned()
        };
        let lines = self.lines.clone();
        let found = tokio::time::timeout(CAP, self.seen.wait_for(|_| find(&lines).is_some()))
            .await
            .is_ok_and(|r| r.is_ok());
        match find(&self.lines) {
            Some(line) => line,
            None => panic!(
                "no stderr line {what} (waited: {found}); stderr so far:\n{}",
                self.stderr()
            ),
        }
    }

    /// The authorization URL: the line that is a URL and nothing else.
    async fn auth_url(&mut self) -> String {
        self.line("with the authorization URL", |l| {
            l.starts_with("http") && l.contains("/oauth/v2/auth?")
        })
        .await
    }

    /// The user code of the device flow.
    async fn user_code(&mut self) -> String {
        let line = self
            .line("with the user code", |l| l.contains("enter the code:"))
            .await;
        line.rsplit(' ').next().unwrap().to_string()
    }

    async fn end(mut self) -> Ended {
        let status = match tokio::time::timeout(CAP, self.child.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => panic!("the command did not end; stderr:\n{}", self.stderr()),
        };
        // The reader ends at EOF, right after the process.
        let _ = tokio::time::timeout(CAP, self.seen.wait_for(|_| false)).await;
        Ended {
            code: status.code().unwrap_or(-1),
            stderr: self.stderr(),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A browser that follows redirects, like a real one.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `login` with the `flow` flags as `client` (its secret in the environment), then `extra`.
fn login(w: &World, client: DemoClient, flow: &[&str], extra: &[&str]) -> Running {
    let base = w.base();
    let mut args = vec!["login"];
    args.extend_from_slice(flow);
    args.extend_from_slice(&[
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--scopes",
        SCOPES,
    ]);
    args.extend_from_slice(extra);
    let mut cmd = w.command(&args);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    Running::spawn(cmd)
}

fn login_browser(w: &World, extra: &[&str]) -> Running {
    login(
        w,
        w.sandbox.server_client(),
        &["--browser", "--no-open"],
        extra,
    )
}

fn login_device(w: &World, extra: &[&str]) -> Running {
    login(w, w.sandbox.device_client(), &["--device"], extra)
}

/// Plays the browser on the sign-in `url`: the sandbox approves, the redirect is followed.
async fn approve(url: &str) -> reqwest::Response {
    browser()
        .get(format!("{url}&_sandbox_auto=approve"))
        .send()
        .await
        .unwrap()
}

/// A sandbox whose device flow polls every second.
async fn device_world(millis: bool) -> World {
    World::with_config(SandboxConfig {
        device_interval: Duration::from_secs(1),
        device_millis: millis,
        ..SandboxConfig::default()
    })
    .await
}

// ----- browser -----

#[tokio::test]
async fn browser_sign_in_writes_the_env_file() {
    let _port = support::lock_port_8085();
    let w = World::start().await;
    let mut run = login_browser(&w, &["-v"]);
    let url = run.auth_url().await;
    let page = approve(&url).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("You can close this tab")
    );
    let end = run.end().await;
    assert_eq!(end.code, 0, "{}", end.stderr);

    // What was asked for (facts §5), and the redirect URI to register shown on its own line.
    let sent = url::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = sent.query_pairs().into_owned().collect();
    assert_eq!(q["scope"], SCOPES);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["redirect_uri"], "http://localhost:8085/callback");
    assert_eq!(q["state"].len(), 32);
    assert!(
        end.stderr
            .lines()
            .any(|l| l.trim() == "http://localhost:8085/callback"),
        "{}",
        end.stderr
    );

    let refresh = w
        .env_get("ZOHO_REFRESH_TOKEN")
        .expect("refresh token written");
    assert_eq!(
        w.env_get("ZOHO_CLIENT_ID").as_deref(),
        Some(w.sandbox.server_client().client_id.as_str())
    );
    // Secrets stay out of the messages, even with -v.
    assert!(!end.stderr.contains(&refresh));
    assert!(
        !end.stderr
            .contains(&w.sandbox.server_client().client_secret)
    );
    assert_eq!(w.env_get("ZOHO_ACCOUNTS_URL"), Some(w.base()));
    assert_eq!(w.env_get("ZOHO_SCOPES").as_deref(), Some(SCOPES));
    let stats = w.sandbox.stats();
    assert_eq!(stats.exchanges, 1);
    assert!(stats.probes >= 1, "the live test ran");
}

#[tokio::test]
async fn browser_sign_in_exchanges_at_the_accounts_server_of_the_redirect() {
    let _port = support::lock_port_8085();
    let w = World::start().await;
    assert!(w.sandbox.control().set_user_dc("eu"));
    let mut run = login_browser(&w, &["--no-test"]);
    let url = run.auth_url().await;
    let page = approve(&url).await;
    assert_eq!(page.status(), 200);
    let end = run.end().await;
    assert_eq!(end.code, 0, "{}", end.stderr);
    let eu = format!("{}/_dc/eu", w.base());
    assert_eq!(w.env_get("ZOHO_ACCOUNTS_URL"), Some(eu.clone()));
    assert_eq!(w.env_get("ZOHO_DC").as_deref(), Some("eu"));
    assert!(end.stderr.contains(&format!("exchanging the code at {eu}")));
}

#[tokio::test]
async fn browser_denied_exits_3_and_writes_nothing() {
    let _port = support::lock_port_8085();
    let w = World::start().await;
    let mut run = login_browser(&w, &[]);
    let url = run.auth_url().await;
    let page = browser()
        .get(format!("{url}&_sandbox_auto=deny"))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Access denied"));
    let end = run.end().await;
    assert_eq!(end.code, 3, "{}", end.stderr);
    assert!(end.stderr.contains("access_denied"), "{}", end.stderr);
    assert!(!w.env_path().exists());
    assert_eq!(w.sandbox.stats().exchanges, 0);
}

#[tokio::test]
async fn state_mismatch_gets_an_error_page_and_exits_3() {
    let w = World::start().await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut run = login_browser(&w, &["--redirect-uri", &redirect]);
    run.auth_url().await;
    let code = "1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef";
    let page = browser()
        .get(format!(
            "{redirect}?state=not-ours&code={code}&location=us&accounts-server=http%3A%2F%2F127.0.0.1%3A1&"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let body = page.text().await.unwrap();
    assert!(body.contains("state does not match"), "{body}");
    let end = run.end().await;
    assert_eq!(end.code, 3, "{}", end.stderr);
    assert!(
        end.stderr.contains("does not carry the state"),
        "{}",
        end.stderr
    );
    assert!(!w.env_path().exists());
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not used");
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_refused_by_zoho_and_the_wait_times_out() {
    // Zoho shows an error page instead of redirecting (facts §5): nothing reaches the listener.
    let w = World::start().await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut run = login_browser(&w, &["--redirect-uri", &redirect, "--timeout", "1"]);
    let url = run.auth_url().await;
    let page = approve(&url).await;
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("Invalid redirect URI"));
    let end = run.end().await;
    assert_eq!(end.code, 3, "{}", end.stderr);
    assert!(
        end.stderr.contains("No sign-in came back within 1 second"),
        "{}",
        end.stderr
    );
    assert!(
        end.stderr.contains(&format!("register exactly {redirect}")),
        "{}",
        end.stderr
    );
    assert!(!w.env_path().exists());
    // The listener is gone with the process.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[tokio::test]
async fn a_redirect_uri_mismatch_at_the_exchange_exits_3() {
    // The code was issued for the registered URI, the exchange names another: invalid_redirect_uri.
    let w = World::start().await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut run = login_browser(&w, &["--redirect-uri", &redirect]);
    let url = run.auth_url().await;
    let mut consent = url::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = consent
        .query_pairs()
        .into_owned()
        .map(|(k, v)| match k.as_str() {
            "redirect_uri" => (k, "http://localhost:8085/callback".to_string()),
            _ => (k, v),
        })
        .collect();
    consent
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("_sandbox_auto", "approve");
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = no_follow.get(consent).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    let page = browser()
        .get(format!("{redirect}?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let end = run.end().await;
    assert_eq!(end.code, 3, "{}", end.stderr);
    assert!(
        end.stderr.contains("invalid_redirect_uri"),
        "{}",
        end.stderr
    );
    assert!(!w.env_path().exists());
}

#[tokio::test]
async fn a_non_loopback_redirect_uri_exits_2_before_anything_is_sent() {
    let w = World::start().await;
    let end = login_browser(&w, &["--redirect-uri", "https://example.com/callback"])
        .end()
        .await;
    assert_eq!(end.code, 2, "{}", end.stderr);
    assert!(end.stderr.contains("not on this machine"), "{}", end.stderr);
    assert!(!end.stderr.contains("/oauth/v2/auth"));
    assert_eq!(w.sandbox.stats().requests, 0);
}

#[tokio::test]
async fn a_busy_port_exits_2_before_anything_is_shown() {
    let w = World::start().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let end = login_browser(&w, &["--redirect-uri", &redirect])
        .end()
        .await;
    assert_eq!(end.code, 2, "{}", end.stderr);
    assert!(end.stderr.contains("already in use"), "{}", end.stderr);
    assert!(!end.stderr.contains("/oauth/v2/auth"));
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let w = World::start().await;
    let none = w.run(&["login"]).await;
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("--browser or --device"),
        "{}",
        none.stderr
    );
    let both = w.run(&["login", "--browser", "--device"]).await;
    assert_eq!(both.code, 2);
    let client = w.sandbox.server_client();
    let mut cmd = w.command(&["login", "--browser", "--client-id", &client.client_id]);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let no_scopes = Running::spawn(cmd).end().await;
    assert_eq!(no_scopes.code, 2, "{}", no_scopes.stderr);
    assert!(
        no_scopes.stderr.contains("No scopes given"),
        "{}",
        no_scopes.stderr
    );
    assert_eq!(w.sandbox.stats().requests, 0);
}

// ----- device -----

#[tokio::test]
async fn device_sign_in_never_polls_faster_than_the_interval() {
    let w = device_world(false).await;
    let mut run = login_device(&w, &["-v"]);
    let code = run.user_code().await;
    let url = run
        .line("with the verification URL", |l| l.starts_with("http"))
        .await;
    assert_eq!(url, format!("{}/oauth/v3/device", w.base()));
    // Let it poll while pending at least once, then approve.
    let control = w.sandbox.control();
    let polled = wait_until(|| control.stats().device_polls >= 1).await;
    assert!(polled, "no poll: {}", run.stderr());
    assert_eq!(
        control.approve_device(&code),
        zoho_auth::sandbox::ControlOutcome::Done
    );
    let elapsed_before_end = run.started;
    let end = run.end().await;
    let elapsed = elapsed_before_end.elapsed();
    assert_eq!(end.code, 0, "{}", end.stderr);
    let refresh = w
        .env_get("ZOHO_REFRESH_TOKEN")
        .expect("refresh token written");
    assert_eq!(
        w.env_get("ZOHO_CLIENT_ID").as_deref(),
        Some(w.sandbox.device_client().client_id.as_str())
    );
    assert!(!end.stderr.contains(&refresh));
    assert!(
        !end.stderr
            .contains(&w.sandbox.device_client().client_secret)
    );
    assert!(
        end.stderr.contains("POST"),
        "-v traces the polls: {}",
        end.stderr
    );
    // The sandbox answers slow_down to any poll closer than the interval: none was served.
    assert!(!end.stderr.contains("poll less often"), "{}", end.stderr);
    let polls = w.sandbox.stats().device_polls;
    assert!(polls >= 2, "pending, then granted: {polls}");
    // The first poll waits one interval too: never more polls than whole seconds elapsed.
    assert!(
        polls <= elapsed.as_secs() + 1,
        "{polls} polls in {elapsed:?}"
    );
}

#[tokio::test]
async fn device_polling_rides_out_a_server_error() {
    let w = device_world(false).await;
    w.sandbox
        .control()
        .inject_fault(Fault::new("/oauth/v3/device/token", FaultKind::Html503, 1));
    let mut run = login_device(&w, &["--no-test"]);
    let code = run.user_code().await;
    let control = w.sandbox.control();
    assert!(wait_until(|| control.stats().faults_served == 1).await);
    control.approve_device(&code);
    let end = run.end().await;
    assert_eq!(end.code, 0, "{}", end.stderr);
    assert!(w.env_get("ZOHO_REFRESH_TOKEN").is_some());
}

#[tokio::test]
async fn device_denied_exits_3() {
    let w = device_world(false).await;
    let mut run = login_device(&w, &[]);
    let code = run.user_code().await;
    w.sandbox.control().deny_device(&code);
    let end = run.end().await;
    assert_eq!(end.code, 3, "{}", end.stderr);
    assert!(end.stderr.contains("Access was denied"), "{}", end.stderr);
    assert!(!w.env_path().exists());
}

#[tokio::test]
async fn device_code_expiry_exits_3() {
    let w = device_world(false).await;
    let mut run = login_device(&w, &[]);
    run.user_code().await;
    w.sandbox.control().advance_clock(Duration::from_secs(301));
    let end = run.end().await;
    assert_eq!(end.code, 3, "{}", end.stderr);
    assert!(end.stderr.contains("expired"), "{}", end.stderr);
    assert!(!w.env_path().exists());
}

#[tokio::test]
async fn slow_down_makes_polling_slower() {
    let w = device_world(false).await;
    let mut run = login_device(&w, &["--no-test"]);
    let code = run.user_code().await;
    let control = w.sandbox.control();
    assert!(wait_until(|| control.stats().device_polls >= 1).await);
    // Zoho wants more room now: the next poll, one second later, gets slow_down.
    control.update_config(|c| c.device_interval = Duration::from_millis(1500));
    let line = run
        .line("about slow_down", |l| l.contains("poll less often"))
        .await;
    assert!(line.contains("every 2 seconds"), "{line}");
    control.approve_device(&code);
    let end = run.end().await;
    assert_eq!(end.code, 0, "{}", end.stderr);
    // After the doubling no poll came too soon again.
    assert_eq!(
        end.stderr.matches("poll less often").count(),
        1,
        "{}",
        end.stderr
    );
    assert!(w.env_get("ZOHO_REFRESH_TOKEN").is_some());
}

#[tokio::test]
async fn other_dc_moves_polling_to_the_account_data_center() {
    let w = device_world(false).await;
    let mut run = login_device(&w, &[]);
    let code = run.user_code().await;
    w.sandbox.control().approve_device_in(&code, "eu");
    let end = run.end().await;
    assert_eq!(end.code, 0, "{}", end.stderr);
    let eu = format!("{}/_dc/eu", w.base());
    assert!(
        end.stderr.contains(&format!("polling {eu} now")),
        "{}",
        end.stderr
    );
    assert_eq!(w.env_get("ZOHO_ACCOUNTS_URL"), Some(eu.clone()));
    assert_eq!(w.env_get("ZOHO_API_DOMAIN"), Some(eu));
}

#[tokio::test]
async fn device_timings_in_milliseconds() {
    let w = device_world(true).await;
    let mut run = login_device(&w, &[]);
    let expiry = run
        .line("with the expiry", |l| l.contains("the code expires in"))
        .await;
    assert!(expiry.contains("5 minutes"), "{expiry}");
    let code = run.user_code().await;
    w.sandbox.control().approve_device(&code);
    let end = run.end().await;
    assert_eq!(end.code, 0, "{}", end.stderr);
    assert!(!end.stderr.contains("poll less often"), "{}", end.stderr);
    assert!(w.env_get("ZOHO_REFRESH_TOKEN").is_some());
}

/// Waits (checking every 20 ms, at most [`CAP`]) until `cond` holds.
async fn wait_until(cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + CAP;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

/// Issue 11 item 1: the loopback callback goes through the one host rule (`auth::target`). A
/// redirect that names a foreign accounts server is refused: exit 2 naming the host, the code is
/// not sent anywhere, nothing is written (it used to fall back with a warning).
#[tokio::test]
async fn a_callback_naming_a_foreign_accounts_server_is_refused() {
    let w = World::start().await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut run = login_browser(&w, &["--redirect-uri", &redirect]);
    let url = run.auth_url().await;
    let state = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let code = w.sandbox.mint_code(SCOPES, 3);
    let page = browser()
        .get(format!(
            "{redirect}?state={state}&code={code}&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu%40evil.example&"
        ))
        .send()
        .await
        .unwrap();
    drop(page);
    let end = run.end().await;
    assert_eq!(end.code, 2, "{}", end.stderr);
    assert!(end.stderr.contains("evil.example"), "{}", end.stderr);
    assert!(end.stderr.contains("nothing was sent"), "{}", end.stderr);
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not used");
    assert!(!w.env_path().exists());
}
