//! `zoho-auth sandbox --state FILE`: clients, grants and created records survive a restart; the
//! file is written atomically with mode 0600 after each change; a file that cannot be read or is
//! not a sandbox state stops the start with exit 2 and names the file. No internet.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use zoho_auth::sandbox::{Sandbox, SandboxConfig, StartError, StateError};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// `zoho-auth sandbox --port 0 --state FILE` as a child process, with its base URL.
async fn spawn_with_state(state: &Path) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .args(["sandbox", "--port", "0", "--state"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn zoho-auth");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("first line in time")
        .expect("readable")
        .expect("a line");
    let base = first
        .strip_prefix("Sandbox listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    // Keep reading stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

#[cfg(unix)]
async fn sigterm_and_wait(mut child: tokio::process::Child) -> String {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut stderr = child.stderr.take().unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits in time")
        .unwrap();
    let mut text = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text)
        .await
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{text}");
    text
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

async fn clients(base: &str) -> Value {
    json_of(
        http()
            .get(format!("{base}/_sandbox/clients"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .1
}

async fn refresh(base: &str, client: &Value, refresh_token: &str) -> Value {
    json_of(
        http()
            .post(format!("{base}/oauth/v2/token"))
            .form(&[
                ("client_id", client["client_id"].as_str().unwrap()),
                ("client_secret", client["client_secret"].as_str().unwrap()),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
    .1
}

/// Mints a Self Client code and exchanges it: (access token, refresh token).
async fn grant(base: &str, scope: &str) -> (String, String) {
    let (_, minted) = json_of(
        http()
            .post(format!("{base}/_sandbox/code"))
            .body(json!({"scope": scope}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (_, v) = json_of(
        http()
            .post(format!("{base}/oauth/v2/token"))
            .form(&[
                ("client_id", minted["client_id"].as_str().unwrap()),
                ("client_secret", minted["client_secret"].as_str().unwrap()),
                ("grant_type", "authorization_code"),
                ("code", minted["code"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    (
        v["access_token"]
            .as_str()
            .expect("access token")
            .to_string(),
        v["refresh_token"]
            .as_str()
            .expect("refresh token")
            .to_string(),
    )
}

#[cfg(unix)]
#[tokio::test]
async fn clients_grants_and_records_survive_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("nested").join("sandbox-state.json");

    let (child, base) = spawn_with_state(&state).await;
    let before = clients(&base).await;
    let (access, refresh_token) = grant(&base, "ZohoBooks.fullaccess.all").await;
    let (status, created) = json_of(
        http()
            .post(format!("{base}/books/v3/invoices?organization_id=10234695"))
            .header("Authorization", format!("Zoho-oauthtoken {access}"))
            .body(json!({"customer_id": "46000010000002", "reference_number": "kept"}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["invoice"]["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let stderr = sigterm_and_wait(child).await;
    assert!(stderr.contains("state is saved in"), "{stderr}");
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the state file holds secrets");

    let (child, base) = spawn_with_state(&state).await;
    let after = clients(&base).await;
    assert_eq!(
        after, before,
        "the demo clients are the same after a restart"
    );
    let v = refresh(&base, &after["self_client"], &refresh_token).await;
    assert!(
        v["access_token"].is_string(),
        "the refresh token still refreshes: {v}"
    );
    let access = v["access_token"].as_str().unwrap();
    let (status, v) = json_of(
        http()
            .get(format!(
                "{base}/books/v3/invoices/{id}?organization_id=10234695"
            ))
            .header("Authorization", format!("Zoho-oauthtoken {access}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["invoice"]["reference_number"], json!("kept"));
    sigterm_and_wait(child).await;
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(state.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["sandbox-state.json".to_string()]);
}

#[tokio::test]
async fn each_change_is_saved_before_any_stop() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let sb = Sandbox::start_with_state(SandboxConfig::default(), &state)
        .await
        .expect("starts");
    let fresh = std::fs::read_to_string(&state).expect("written at start");
    assert!(fresh.contains(&sb.self_client().client_id));
    let (_, refresh_token) = grant(&sb.base_url(), "ZohoCRM.modules.ALL").await;
    // No stop: a crash now would keep the grant.
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains(&refresh_token));
    let client = sb.self_client();
    drop(sb);
    let sb = Sandbox::start_with_state(SandboxConfig::default(), &state)
        .await
        .expect("starts again");
    assert_eq!(sb.self_client(), client);
    let v = refresh(
        &sb.base_url(),
        &json!({"client_id": client.client_id, "client_secret": client.client_secret}),
        &refresh_token,
    )
    .await;
    assert!(v["access_token"].is_string(), "{v}");
    sb.shutdown().await.expect("saved at stop");
}

#[tokio::test]
async fn a_bad_state_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("garbage.json", "this is not JSON".to_string()),
        ("other.json", json!({"kind": "something else"}).to_string()),
        ("empty.json", String::new()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &content).unwrap();
        match Sandbox::start_with_state(SandboxConfig::default(), &path).await {
            Err(StartError::State(StateError::Corrupt { path: shown, .. })) => {
                assert!(shown.ends_with(name), "{shown:?}");
            }
            Err(other) => panic!("{name}: {other}"),
            Ok(_) => panic!("{name}: started on a bad state file"),
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            content,
            "never reset"
        );
    }
    // A directory cannot be read as a file.
    match Sandbox::start_with_state(SandboxConfig::default(), dir.path()).await {
        Err(StartError::State(StateError::Unreadable { .. })) => {}
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("started on a directory"),
    }
}

#[tokio::test]
async fn the_command_exits_2_on_a_corrupt_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken-state.json");
    std::fs::write(&path, "{\"kind\":").unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoho-auth"))
        .args(["sandbox", "--port", "0", "--state"])
        .arg(&path)
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains("Fix:"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"kind\":");
}
