//! Issue 11 item 1, the host rule on every path that meets a host named by a paste or a server:
//! a pasted redirect's or a self_client.json's `accounts-server` and the `api_domain` a token
//! answer names. A hostile tiny server on 127.0.0.1 counts what reaches it: nothing may, the env
//! file stays as it was, and the exit code is the contract's.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::any;
use support::World;

/// A server that counts every request and answers `answer` to each.
struct Hostile {
    base: String,
    hits: Arc<AtomicU64>,
    revokes: Arc<AtomicU64>,
}

impl Hostile {
    async fn start(answer: serde_json::Value) -> Hostile {
        let hits = Arc::new(AtomicU64::new(0));
        let revokes = Arc::new(AtomicU64::new(0));
        let state = (hits.clone(), revokes.clone(), answer);
        type S = (Arc<AtomicU64>, Arc<AtomicU64>, serde_json::Value);
        async fn token(State((hits, _, answer)): State<S>) -> axum::Json<serde_json::Value> {
            hits.fetch_add(1, Ordering::SeqCst);
            axum::Json(answer)
        }
        async fn revoke(State((hits, revokes, _)): State<S>) -> axum::Json<serde_json::Value> {
            hits.fetch_add(1, Ordering::SeqCst);
            revokes.fetch_add(1, Ordering::SeqCst);
            axum::Json(serde_json::json!({"status": "success"}))
        }
        async fn other(State((hits, _, _)): State<S>) -> &'static str {
            hits.fetch_add(1, Ordering::SeqCst);
            "{}"
        }
        let app = Router::new()
            .route("/oauth/v2/token/revoke", any(revoke))
            .route("/oauth/v2/token", any(token))
            .fallback(other)
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hostile {
            base: format!("http://{addr}"),
            hits,
            revokes,
        }
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A token-shaped fake, assembled at run time.
fn fake_token(seed: char) -> String {
    let hex: String = std::iter::repeat_n(seed, 32).collect();
    format!("1000.{hex}.{hex}")
}

/// An env file that names the sandbox as the accounts server, with the demo client.
fn env_for(w: &World) -> String {
    let client = w.sandbox.self_client();
    format!(
        "# app\nZOHO_CLIENT_ID={}\nZOHO_CLIENT_SECRET={}\nZOHO_ACCOUNTS_URL={}\n",
        client.client_id,
        client.client_secret,
        w.base()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_redirect_cannot_move_the_exchange_to_a_foreign_host() {
    let w = World::start().await;
    let hostile = Hostile::start(serde_json::json!({"error": "invalid_code"})).await;
    let text = env_for(&w);
    std::fs::write(w.env_path(), &text).unwrap();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    // `accounts.zoho.eu@127.0.0.1:PORT` reads as a Zoho host to the eye; its host is the hostile one.
    let foreign = hostile.base.replace("http://", "http://accounts.zoho.eu@");
    let redirect = format!(
        "https://example.com/cb?code={code}&location=eu&accounts-server={}&",
        url::form_urlencoded::byte_serialize(foreign.as_bytes()).collect::<String>()
    );
    let run = w.run_stdin(&["exchange", "--code", "-"], &redirect).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("127.0.0.1"),
        "names the host: {}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was sent"), "{}", run.stderr);
    assert_eq!(hostile.hits(), 0, "nothing reached the foreign host");
    assert_eq!(
        w.sandbox.stats().token_requests,
        0,
        "the code was not spent"
    );
    assert_eq!(std::fs::read_to_string(w.env_path()).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_client_json_cannot_name_a_foreign_accounts_server() {
    let w = World::start().await;
    let hostile = Hostile::start(serde_json::json!({"error": "invalid_code"})).await;
    let text = env_for(&w);
    std::fs::write(w.env_path(), &text).unwrap();
    let client = w.sandbox.self_client();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let json_path = w.dir.path().join("self_client.json");
    std::fs::write(
        &json_path,
        format!(
            r#"{{"client_id":"{}","client_secret":"{}","code":"{code}","grant_type":"authorization_code","scope":["ZohoBooks.fullaccess.all"],"expiry_time":1,"location":"eu","accounts-server":"{}"}}"#,
            client.client_id, client.client_secret, hostile.base
        ),
    )
    .unwrap();
    let run = w
        .run(&[
            "exchange",
            "--self-client-json",
            json_path.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&hostile.base), "{}", run.stderr);
    assert!(run.stderr.contains("self_client.json"), "{}", run.stderr);
    assert_eq!(hostile.hits(), 0);
    assert_eq!(w.sandbox.stats().token_requests, 0);
    assert_eq!(std::fs::read_to_string(w.env_path()).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_dc_that_disagrees_with_an_explicit_dc_is_refused_naming_both() {
    let w = World::start().await;
    let text = env_for(&w);
    std::fs::write(w.env_path(), &text).unwrap();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let redirect = format!(
        "https://example.com/cb?code={code}&location=in&accounts-server=https%3A%2F%2Faccounts.zoho.in&"
    );
    let run = w
        .run_stdin(&["exchange", "--dc", "eu", "--code", "-"], &redirect)
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("India (in)"), "{}", run.stderr);
    assert!(run.stderr.contains("--dc"), "{}", run.stderr);
    assert!(run.stderr.contains("(eu)"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(w.env_path()).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_api_domain_in_the_token_answer_gets_no_token_and_nothing_is_written() {
    let w = World::start().await;
    // The API host the hostile token server names: a second listener, so we can count.
    let evil_api = Hostile::start(serde_json::json!({})).await;
    let accounts = Hostile::start(serde_json::json!({
        "access_token": fake_token('a'),
        "refresh_token": fake_token('b'),
        "scope": "ZohoBooks.fullaccess.all",
        "api_domain": evil_api.base,
        "token_type": "Bearer",
        "expires_in": 3600
    }))
    .await;
    let text = "# app\nKEEP=1\n";
    std::fs::write(w.env_path(), text).unwrap();
    let code = fake_token('c');
    let mut cmd = w.command(&[
        "exchange",
        "--accounts-url",
        &accounts.base,
        "--client-id",
        "1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX",
        "--scopes",
        "ZohoBooks.fullaccess.all",
        "--code",
        "-",
    ]);
    cmd.env(
        "ZOHO_CLIENT_SECRET",
        "0123456789abcdef0123456789abcdef0123456789",
    );
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(code.as_bytes()).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("not a Zoho API host"), "{stderr}");
    assert!(stderr.contains(&evil_api.base), "names the host: {stderr}");
    assert_eq!(evil_api.hits(), 0, "the access token never went there");
    assert_eq!(
        accounts.revokes.load(Ordering::SeqCst),
        1,
        "the unusable refresh token is revoked at the accounts server"
    );
    assert!(stderr.contains("revoked"), "{stderr}");
    assert_eq!(std::fs::read_to_string(w.env_path()).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_evil_api_domain_is_refused_before_the_live_test() {
    let w = World::start().await;
    let accounts = Hostile::start(serde_json::json!({
        "access_token": fake_token('d'),
        "refresh_token": fake_token('e'),
        "api_domain": "https://evil.example",
        "token_type": "Bearer",
        "expires_in": 3600
    }))
    .await;
    let code = fake_token('f');
    let client = "1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX";
    let mut cmd = w.command(&[
        "exchange",
        "--accounts-url",
        &accounts.base,
        "--client-id",
        client,
        "--scopes",
        "ZohoBooks.fullaccess.all",
        "--code",
        &code,
    ]);
    cmd.env(
        "ZOHO_CLIENT_SECRET",
        "0123456789abcdef0123456789abcdef0123456789",
    );
    let out = cmd.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("evil.example"), "{stderr}");
    // Refused by the host rule, not by a failed connection to it.
    assert!(stderr.contains("not a Zoho API host"), "{stderr}");
    assert!(!w.env_path().exists(), "nothing written");
    // One token request, one revoke: no probe was attempted anywhere.
    assert_eq!(accounts.hits(), 2);
}
