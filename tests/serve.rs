//! `zoho-auth serve`: the keeper's single-flight refresh and refresh-ahead with a counting fake
//! `TokenSource` on a virtual clock (refreshes held open on a channel, no sleeps), then the real
//! binary against the in-process sandbox: 401/421, /healthz, the token object, 0600 key file and
//! socket, loopback refusal, 2,000 concurrent requests with at most one refresh, and a refresh
//! ahead of expiry while answers keep flowing.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use support::World;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, mpsc};
use zoho_auth::auth::Secret;
use zoho_auth::auth::diagnosis::{Code, Diagnosis};
use zoho_auth::auth::handoff::{AccessToken, TokenSource, Want};
use zoho_auth::cli::serve::{Access, Clock, Keeper, RETRY_AFTER_SECS, router};
use zoho_auth::sandbox::{Fault, FaultKind};

// ---------------------------------------------------------------------------------------------
// Library level: the keeper and router with a fake source.

/// A source that counts its calls and answers each with the next result the test sends.
struct Fake {
    calls: Arc<AtomicUsize>,
    answers: mpsc::UnboundedSender<Result<AccessToken, Diagnosis>>,
    source: TokenSource,
}

fn fake() -> Fake {
    let calls = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::unbounded_channel();
    let rx = Arc::new(Mutex::new(rx));
    let counted = calls.clone();
    let source = TokenSource::new(move |want| {
        assert_eq!(want, Want::USUAL, "serve asks for what `token` asks for");
        counted.fetch_add(1, Ordering::SeqCst);
        let rx = rx.clone();
        Box::pin(async move {
            rx.lock()
                .await
                .recv()
                .await
                .expect("the test sends an answer")
        })
    });
    Fake {
        calls,
        answers: tx,
        source,
    }
}

fn token(n: u32, expires_at: u64) -> AccessToken {
    AccessToken {
        token: Secret::new(format!("1000.{}.fake{n}", "0".repeat(32))),
        expires_at,
        api_domain: "https://www.zohoapis.eu".into(),
        dc: Some(zoho_auth::auth::Dc::Eu),
        organization_id: None,
    }
}

struct Local {
    url: String,
    key: String,
    now: Arc<AtomicU64>,
    /// Requests that reached the endpoint.
    arrived: Arc<AtomicUsize>,
    http: reqwest::Client,
}

impl Local {
    async fn start(source: TokenSource, now: u64) -> Local {
        let clock_now = Arc::new(AtomicU64::new(now));
        let read = clock_now.clone();
        let clock: Clock = Arc::new(move || read.load(Ordering::SeqCst));
        let keeper = Keeper::new(source, clock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let key = zoho_auth::cli::serve::new_key();
        let arrived = Arc::new(AtomicUsize::new(0));
        let counter = arrived.clone();
        let app = router(
            keeper,
            Access::new(&key, Some(Access::loopback_hosts(port))),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                counter.fetch_add(1, Ordering::SeqCst);
                next.run(req)
            },
        ));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Local {
            url: format!("http://127.0.0.1:{port}"),
            key,
            now: clock_now,
            arrived,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self) -> (StatusCode, serde_json::Value) {
        let res = self
            .http
            .get(format!("{}/v1/token", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap())
    }
}

fn raise_fd_limit() {
    // SAFETY: plain getrlimit/setrlimit on our own process.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    while !f() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_requests_wait_for_one_refresh() {
    raise_fd_limit();
    let f = fake();
    let local = Arc::new(Local::start(f.source.clone(), 1_000).await);
    let requests: Vec<_> = (0..2000)
        .map(|_| {
            let local = local.clone();
            tokio::spawn(async move { local.get().await })
        })
        .collect();
    // Every request is in, all waiting on the one refresh the first started.
    let arrived = local.arrived.clone();
    wait_until(|| arrived.load(Ordering::SeqCst) == 2000).await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    f.answers.send(Ok(token(1, 5_000))).unwrap();
    for request in requests {
        let (status, json) = request.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(json["access_token"].as_str().unwrap().ends_with("fake1"));
    }
    assert_eq!(f.calls.load(Ordering::SeqCst), 1, "one refresh for 2,000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_ahead_of_expiry_keeps_answers_flowing() {
    let f = fake();
    let local = Arc::new(Local::start(f.source.clone(), 1_000).await);
    f.answers.send(Ok(token(1, 4_600))).unwrap();
    let (status, json) = local.get().await;
    assert_eq!(status, StatusCode::OK);
    assert!(json["access_token"].as_str().unwrap().ends_with("fake1"));
    // More than 5 minutes left: answered from memory, nothing asked.
    local.now.store(4_299, Ordering::SeqCst);
    assert_eq!(local.get().await.0, StatusCode::OK);
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);

    // 5 minutes left: the next request starts one refresh, held open by the test; meanwhile
    // every answer, concurrent ones included, is the current token.
    local.now.store(4_300, Ordering::SeqCst);
    let answers = futures::future::join_all((0..200).map(|_| local.get())).await;
    for (status, json) in &answers {
        assert_eq!(*status, StatusCode::OK);
        assert!(json["access_token"].as_str().unwrap().ends_with("fake1"));
    }
    assert_eq!(f.calls.load(Ordering::SeqCst), 2, "one refresh started");
    f.answers.send(Ok(token(2, 8_200))).unwrap();
    // Answers switch to the new token once the refresh lands, and never back.
    loop {
        let (status, json) = local.get().await;
        assert_eq!(status, StatusCode::OK);
        if json["access_token"].as_str().unwrap().ends_with("fake2") {
            break;
        }
    }
    for (status, json) in futures::future::join_all((0..50).map(|_| local.get())).await {
        assert_eq!(status, StatusCode::OK);
        assert!(json["access_token"].as_str().unwrap().ends_with("fake2"));
    }
    assert_eq!(
        f.calls.load(Ordering::SeqCst),
        2,
        "at most one refresh per lifetime"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_and_a_failed_refresh_answer_503_with_the_diagnosis() {
    let f = fake();
    let local = Local::start(f.source.clone(), 1_000).await;
    f.answers.send(Ok(token(1, 1_400))).unwrap();
    assert_eq!(local.get().await.0, StatusCode::OK);
    local.now.store(1_400, Ordering::SeqCst);
    f.answers
        .send(Err(Diagnosis::new(
            Code::RefreshTokenRevoked,
            "Zoho says the refresh token is invalid (invalid_code).",
            "Run `zoho-auth reauth`.",
        )))
        .unwrap();
    let (status, json) = local.get().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["code"], "refresh_token_revoked");
    assert!(json["fix"].as_str().unwrap().contains("reauth"));
    assert!(!json.to_string().contains("fake1"), "no token in an error");
    // Held back: Zoho mints only 10 tokens per 10 minutes.
    assert_eq!(local.get().await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(f.calls.load(Ordering::SeqCst), 2);
    local.now.store(1_400 + RETRY_AFTER_SECS, Ordering::SeqCst);
    f.answers.send(Ok(token(3, 9_000))).unwrap();
    let (status, json) = local.get().await;
    assert_eq!(status, StatusCode::OK);
    assert!(json["access_token"].as_str().unwrap().ends_with("fake3"));
    assert_eq!(f.calls.load(Ordering::SeqCst), 3);
}

// ---------------------------------------------------------------------------------------------
// The binary against the sandbox.

struct Served {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT` or the socket path.
    addr: String,
    key_file: PathBuf,
}

impl Served {
    fn key(&self) -> String {
        std::fs::read_to_string(&self.key_file)
            .unwrap()
            .trim()
            .to_string()
    }

    async fn stop(mut self) -> i32 {
        let pid = self.child.id().unwrap().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        self.child.wait().await.unwrap().code().unwrap_or(-1)
    }
}

/// A world with a grant and no cached token: serve's first token is one refresh.
async fn granted() -> World {
    let w = World::start().await;
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let _ = std::fs::remove_dir_all(w.cache_dir());
    w
}

/// Starts `serve` with `args` and reads its one line on stderr.
async fn serve(w: &World, args: &[&str]) -> Served {
    let key_file = w.dir.path().join("keys").join("serve.key");
    let mut all = vec!["serve", "--key-file", key_file.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut cmd = w.command(&all);
    cmd.stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).await.unwrap();
    assert!(line.contains("serving tokens at"), "{line}");
    assert!(line.contains(key_file.to_str().unwrap()), "{line}");
    assert_eq!(line.trim_end().lines().count(), 1);
    let at = line.split("serving tokens at ").nth(1).unwrap();
    let addr = match at.strip_prefix("unix:") {
        Some(rest) => rest.split(' ').next().unwrap().to_string(),
        None => at
            .split("/v1/token")
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string(),
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move {
        let mut rest = Vec::new();
        let _ = stderr.read_to_end(&mut rest).await;
    });
    Served {
        child,
        addr,
        key_file,
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn the_endpoint_answers_only_its_key_and_its_own_host() {
    let w = granted().await;
    let s = serve(&w, &["--listen", "127.0.0.1:0"]).await;
    assert_eq!(mode(&s.key_file), 0o600);
    let key = s.key();
    assert_eq!(key.len(), 64);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/token", s.addr);

    let none = http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let wrong = http
        .get(&url)
        .bearer_auth("0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_body = wrong.text().await.unwrap();
    let foreign = http
        .get(&url)
        .bearer_auth(&key)
        .header("Host", "attacker.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::MISDIRECTED_REQUEST);
    let health = http
        .get(format!("{}/healthz", s.addr))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let health = http
        .get(format!("{}/healthz", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::UNAUTHORIZED);

    let ok = http.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let json: serde_json::Value = ok.json().await.unwrap();
    let token = json["access_token"].as_str().unwrap().to_string();
    assert!(w.sandbox.control().issued_secrets().contains(&token));
    assert_eq!(json["version"], 1);
    assert_eq!(json["token_type"], "Zoho-oauthtoken");
    assert_eq!(json["api_domain"], w.base());
    assert!(json.get("dc").is_none(), "the sandbox is no known DC");
    let expires = json["expires_at"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");
    assert!(!wrong_body.contains(&token));
    assert_eq!(s.stop().await, 0, "SIGTERM is a clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_concurrent_requests_cost_at_most_one_refresh() {
    raise_fd_limit();
    let w = granted().await;
    let before = w.sandbox.stats().refreshes;
    let s = serve(&w, &["--listen", "127.0.0.1:0"]).await;
    let key = s.key();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/token", s.addr);
    let answers = futures::future::join_all((0..2000).map(|_| {
        let request = http.get(&url).bearer_auth(&key).send();
        async move {
            let res = request.await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<serde_json::Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    }))
    .await;
    assert!(
        answers.windows(2).all(|p| p[0] == p[1]),
        "one token for all"
    );
    assert_eq!(
        w.sandbox.stats().refreshes - before,
        1,
        "the start's refresh, and none for 2,000 answers"
    );
    assert_eq!(s.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_ahead_against_the_sandbox_keeps_the_old_token_flowing_until_the_new_lands() {
    let w = World::start().await;
    // 302 s: inside the 5-minute window two seconds after it is minted.
    w.sandbox
        .control()
        .update_config(|c| c.access_token_lifetime = Duration::from_secs(302));
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let _ = std::fs::remove_dir_all(w.cache_dir());
    let before = w.sandbox.stats().refreshes;
    let s = serve(&w, &["--listen", "127.0.0.1:0"]).await;
    assert_eq!(w.sandbox.stats().refreshes, before + 1);
    // The next refresh is held open at the sandbox until the test has seen answers meanwhile.
    w.sandbox.control().inject_fault(Fault {
        delay_ms: 1500,
        ..Fault::new("/oauth/v2/token", FaultKind::Delay, 1)
    });
    let key = s.key();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/token", s.addr);
    let mut seen: Vec<String> = Vec::new();
    let mut during_refresh = 0;
    loop {
        let res = http.get(&url).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "answers never stop");
        let json: serde_json::Value = res.json().await.unwrap();
        let token = json["access_token"].as_str().unwrap().to_string();
        let holding = w.sandbox.stats().faults_served == 1;
        if seen.last() != Some(&token) {
            seen.push(token);
        }
        if seen.len() == 2 {
            break;
        }
        if holding {
            during_refresh += 1;
        }
    }
    assert!(
        during_refresh > 0,
        "answers while the refresh was held open"
    );
    assert_eq!(
        w.sandbox.stats().refreshes,
        before + 2,
        "one refresh at start, one ahead of expiry"
    );
    assert_ne!(seen[0], seen[1]);
    assert_eq!(s.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unix_socket_is_private_and_removed_on_stop() {
    let w = granted().await;
    let path = w.dir.path().join("serve.sock");
    // A stale socket (nothing listens) is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let s = serve(&w, &["--socket", path.to_str().unwrap()]).await;
    assert_eq!(s.addr, path.to_str().unwrap());
    assert_eq!(mode(&path), 0o600);
    let key = s.key();
    let ask = |auth: String| {
        let path = path.clone();
        async move {
            let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
            let request = format!(
                "GET /v1/token HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        }
    };
    let ok = ask(format!("Authorization: Bearer {key}\r\n")).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("\"token_type\":\"Zoho-oauthtoken\""), "{ok}");
    let denied = ask(String::new()).await;
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");

    // A second serve on the same live socket is refused.
    let again = w.run(&["serve", "--socket", path.to_str().unwrap()]).await;
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("already listens"), "{}", again.stderr);

    assert_eq!(s.stop().await, 0);
    assert!(!path.exists(), "the socket file is removed on stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_loopback_without_allow_remote() {
    let w = granted().await;
    let run = w.run(&["serve", "--listen", "0.0.0.0:0"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--allow-remote"), "{}", run.stderr);
    let s = serve(&w, &["--listen", "0.0.0.0:0", "--allow-remote"]).await;
    assert_eq!(s.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_grant_stops_serve_at_start_with_its_exit_code() {
    let w = granted().await;
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    w.sandbox.control().revoke(&refresh);
    let key = w.dir.path().join("serve.key");
    let run = w
        .run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--key-file",
            key.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!key.exists(), "no key file is left when serve cannot start");
    assert!(run.stderr.contains("Fix:"), "{}", run.stderr);
    assert!(!run.stderr.contains(&refresh));
}
