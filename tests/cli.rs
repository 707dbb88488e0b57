//! The scriptable commands (`exchange`, `check`, `token`, `revoke`, `scopes`) run as the real
//! binary against an in-process sandbox: exit codes, diagnosis codes, env file and cache effects.

mod support;

use support::{World, snapshot_dir};
use zoho_auth::sandbox::{Fault, FaultKind, SandboxConfig};

const PRODUCTS: [(&str, &str); 6] = [
    ("books", "ZohoBooks.fullaccess.all"),
    ("invoice", "ZohoInvoice.fullaccess.all"),
    ("inventory", "ZohoInventory.FullAccess.all"),
    ("expense", "ZohoExpense.fullaccess.ALL"),
    ("crm", "ZohoCRM.modules.ALL,ZohoCRM.org.READ"),
    ("desk", "Desk.tickets.ALL,Desk.basic.READ"),
];

#[tokio::test(flavor = "multi_thread")]
async fn exchange_then_probe_for_each_product() {
    for (product, scope) in PRODUCTS {
        let w = World::start().await;
        let run = w.exchange(scope, &["--product", product, "--json"]).await;
        assert_eq!(run.code, 0, "{product}: {}", run.stderr);
        let json = run.json();
        assert_eq!(json["ok"], true);
        assert_eq!(json["product"], product);
        assert!(
            !json["organizations"].as_array().unwrap().is_empty(),
            "{product}: {json}"
        );
        let client = w.sandbox.self_client();
        assert_eq!(w.env_get("ZOHO_CLIENT_ID").unwrap(), client.client_id);
        assert_eq!(
            w.env_get("ZOHO_CLIENT_SECRET").unwrap(),
            client.client_secret
        );
        assert_eq!(w.env_get("ZOHO_ACCOUNTS_URL").unwrap(), w.base());
        assert_eq!(w.env_get("ZOHO_API_DOMAIN").unwrap(), w.base());
        assert!(
            w.env_get("ZOHO_REFRESH_TOKEN")
                .unwrap()
                .starts_with("1000.")
        );
        assert!(w.env_get("ZOHO_ORGANIZATION_ID").is_some(), "{product}");
        assert!(w.env_get("ZOHO_DC").is_none(), "the sandbox is no known DC");
        assert!(
            run.stderr.contains("ZOHO_REFRESH_TOKEN"),
            "reports the keys it changed: {}",
            run.stderr
        );
        w.sandbox.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exchange_without_product_tests_the_first_the_scopes_grant() {
    let w = World::start().await;
    let run = w
        .exchange("ZohoCRM.modules.ALL,ZohoCRM.org.ALL", &["--json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["product"], "crm");
    assert_eq!(
        w.env_get("ZOHO_SCOPES").unwrap(),
        "ZohoCRM.modules.ALL,ZohoCRM.org.ALL"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_code_is_invalid_code_exit_3_and_the_env_file_stays() {
    let w = World::start().await;
    std::fs::write(w.env_path(), "# mine\nOTHER=1\n").unwrap();
    let client = w.sandbox.self_client();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let base = w.base();
    let args = [
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        &code,
        "--no-test",
    ];
    let mut first = w.command(&args);
    first.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    assert_eq!(first.output().await.unwrap().status.code(), Some(0));
    let after_first = w.env_text();

    let mut again = w.command(&args);
    again.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let out = again.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("invalid_code"), "{stderr}");
    assert!(stderr.contains("Fix:"), "{stderr}");
    assert_eq!(
        w.env_text(),
        after_first,
        "a failed exchange writes nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_client_and_wrong_secret_exit_3() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let base = w.base();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let unknown_id = "1000.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123";
    let mut cmd = w.command(&[
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        unknown_id,
        "--code",
        &code,
    ]);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_client"));

    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let mut cmd = w.command(&[
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        &code,
    ]);
    cmd.env("ZOHO_CLIENT_SECRET", "0".repeat(42));
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_client_secret"));
    assert!(!w.env_path().exists(), "nothing written on failure");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_inputs_exit_2_and_send_nothing() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let base = w.base();
    for (id, code, field) in [
        (client.client_id.as_str(), "not-a-code", "code"),
        (
            "12345",
            "1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef",
            "client id",
        ),
    ] {
        let mut cmd = w.command(&[
            "exchange",
            "--accounts-url",
            &base,
            "--client-id",
            id,
            "--code",
            code,
        ]);
        cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
        let out = cmd.output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(field), "names the field {field}: {stderr}");
    }
    assert_eq!(w.sandbox.stats().token_requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn code_secret_and_redirect_url_from_stdin() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let code = w.sandbox.mint_code("ZohoBooks.settings.READ", 3);
    let base = w.base();
    let redirect = format!(
        "  https://example.com/cb?state=x&code={code}&location=us&accounts-server=https%3A%2F%2Faccounts.zoho.com&\n"
    );
    // The secret comes from the env file, the code (a whole redirect URL, padded) from stdin.
    std::fs::write(
        w.env_path(),
        format!("ZOHO_CLIENT_SECRET=\"{}\"\n", client.client_secret),
    )
    .unwrap();
    let args = [
        "exchange",
        "--accounts-url",
        base.as_str(),
        "--client-id",
        client.client_id.as_str(),
        "--code",
        "-",
    ];
    let run = w.run_stdin(&args, &redirect).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        w.env_get("ZOHO_SCOPES").as_deref(),
        Some("ZohoBooks.settings.READ")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_passes_then_reports_a_server_side_revoke() {
    let w = World::start().await;
    assert_eq!(w.exchange("ZohoBooks.fullaccess.all", &[]).await.code, 0);
    let ok = w.run(&["check", "--json"]).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let json = ok.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["diagnosis"], "ok");
    assert_eq!(json["product"], "books");
    assert_eq!(json["api_domain"], w.base());
    assert!(
        json["organizations"]
            .as_array()
            .is_some_and(|o| !o.is_empty())
    );

    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    w.sandbox.control().revoke(&refresh);
    let before = w.env_text();
    let bad = w.run(&["check", "--json"]).await;
    assert_eq!(bad.code, 3, "{}", bad.stderr);
    let json = bad.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["diagnosis"], "refresh_token_revoked");
    assert!(json["fix"].as_str().unwrap().contains("reauth"));
    assert_eq!(w.env_text(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_without_credentials_is_missing_credentials_exit_2() {
    let w = World::start().await;
    let run = w.run(&["check", "--json"]).await;
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["diagnosis"], "missing_credentials");
    assert_eq!(w.sandbox.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn scope_missing_from_code_57_and_oauth_scope_mismatch() {
    for (scope, product) in [
        ("ZohoCRM.modules.ALL,ZohoCRM.org.READ", "books"),
        ("ZohoBooks.fullaccess.all", "crm"),
    ] {
        let w = World::start().await;
        let run = w.exchange(scope, &["--product", product]).await;
        assert_eq!(run.code, 4, "{product}: {}", run.stderr);
        assert!(run.stderr.contains("scope"), "{}", run.stderr);
        assert!(
            !w.env_path().exists(),
            "no env file after a failed live test"
        );

        // The same grant, exchanged without the test, then checked against the product.
        let run = w.exchange(scope, &["--no-test"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let check = w.run(&["check", "--json", "--product", product]).await;
        assert_eq!(check.code, 4);
        assert_eq!(check.json()["diagnosis"], "scope_missing", "{product}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invoice_non_member_is_not_org_member() {
    let w = World::start().await;
    w.sandbox
        .control()
        .set_member(zoho_auth::sandbox::Product::Invoice, false);
    let run = w
        .exchange("ZohoInvoice.fullaccess.all", &["--product", "invoice"])
        .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("403"), "{}", run.stderr);
    assert_eq!(
        w.exchange("ZohoInvoice.fullaccess.all", &["--no-test"])
            .await
            .code,
        0
    );
    let check = w.run(&["check", "--json", "--product", "invoice"]).await;
    assert_eq!(check.json()["diagnosis"], "not_org_member");
}

#[tokio::test(flavor = "multi_thread")]
async fn throttle_answers_rate_limited_exit_6_at_both_statuses() {
    for status in [400u16, 200] {
        let w = World::with_config(SandboxConfig {
            throttle_status: status,
            throttle_limit: 1,
            ..SandboxConfig::default()
        })
        .await;
        assert_eq!(
            w.exchange("ZohoBooks.fullaccess.all", &["--no-test"])
                .await
                .code,
            0
        );
        // The first refresh is the one the window allows; the second is refused. (`--refresh`:
        // without it the second check tests the cached token and spends nothing.)
        assert_eq!(w.run(&["check", "--refresh"]).await.code, 0);
        let check = w.run(&["check", "--json", "--refresh"]).await;
        assert_eq!(check.code, 6, "HTTP {status}: {}", check.stderr);
        assert_eq!(check.json()["diagnosis"], "rate_limited");
    }
}

/// A sandbox and an env file with a working Books token (`exchange --no-test`).
async fn with_token() -> World {
    let w = World::start().await;
    assert_eq!(
        w.exchange("ZohoBooks.fullaccess.all", &["--no-test"])
            .await
            .code,
        0
    );
    w
}

#[tokio::test(flavor = "multi_thread")]
async fn the_second_token_call_sends_nothing() {
    let w = with_token().await;
    std::fs::remove_dir_all(w.cache_dir()).unwrap();
    let first = w.run(&["token"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let token = first.stdout.clone();
    assert!(token.starts_with("1000.") && token.ends_with('\n'));
    assert_eq!(token.trim_end().len(), 70);
    let before = w.sandbox.stats().requests;
    let second = w.run(&["token"]).await;
    assert_eq!(second.stdout, token);
    assert_eq!(
        w.sandbox.stats().requests,
        before,
        "a cached token needs no request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_token_calls_on_an_expired_cache_refresh_once() {
    let w = with_token().await;
    std::fs::remove_dir_all(w.cache_dir()).unwrap();
    let before = w.sandbox.stats().refreshes;
    let runs = futures::future::join_all((0..20).map(|_| w.run(&["token"]))).await;
    let first = runs[0].stdout.clone();
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, first, "every caller gets the one fresh token");
    }
    assert_eq!(w.sandbox.stats().refreshes - before, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn revoke_removes_the_line_and_kills_the_token() {
    let w = with_token().await;
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    let run = w.run(&["revoke"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!w.env_text().contains("ZOHO_REFRESH_TOKEN"));
    assert!(w.env_get("ZOHO_CLIENT_ID").is_some(), "other keys stay");
    // Zoho no longer knows it: put it back and check.
    std::fs::write(
        w.env_path(),
        format!("{}ZOHO_REFRESH_TOKEN={refresh}\n", w.env_text()),
    )
    .unwrap();
    let check = w.run(&["check", "--json"]).await;
    assert_eq!(check.json()["diagnosis"], "refresh_token_revoked");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_exits_5_and_touches_neither_env_file_nor_cache() {
    let kinds = [
        FaultKind::Http500,
        FaultKind::Html503,
        FaultKind::MalformedJson,
        FaultKind::Drop,
    ];
    let w = with_token().await;
    std::fs::remove_dir_all(w.cache_dir()).unwrap();
    let env_before = w.env_text();
    for kind in kinds {
        for command in ["check", "token", "revoke"] {
            w.sandbox
                .control()
                .inject_fault(Fault::new("/oauth/v2/token*", kind, 2));
            let run = w.run(&[command]).await;
            w.sandbox.control().clear_faults();
            assert_eq!(run.code, 5, "{kind:?} {command}: {}", run.stderr);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            assert!(run.stdout.is_empty() || command == "check");
            assert_eq!(w.env_text(), env_before, "{kind:?} {command}");
            assert!(
                snapshot_dir(&w.cache_dir())
                    .iter()
                    .all(|(p, _)| p.extension().is_some_and(|e| e == "lock")),
                "{kind:?} {command}: cache untouched"
            );
        }
        // exchange with a fresh code
        w.sandbox
            .control()
            .inject_fault(Fault::new("/oauth/v2/token", kind, 1));
        let run = w.exchange("ZohoBooks.fullaccess.all", &[]).await;
        assert_eq!(run.code, 5, "{kind:?} exchange: {}", run.stderr);
        assert_eq!(w.env_text(), env_before);
    }
    // A delay past the timeout (3 s in these tests).
    let mut fault = Fault::new("/oauth/v2/token", FaultKind::Delay, 1);
    fault.delay_ms = 6_000;
    w.sandbox.control().inject_fault(fault);
    let run = w.run(&["check"]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("did not answer"), "{}", run.stderr);
    assert_eq!(w.env_text(), env_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_lists_the_catalogue_as_text_and_json() {
    let w = World::start().await;
    let run = w.run(&["scopes", "--product", "books"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("ZohoBooks.fullaccess.all"));
    assert!(!run.stdout.contains("ZohoCRM"));
    let json = w.run(&["scopes", "--json"]).await.json();
    assert!(json["groups"].as_array().unwrap().len() >= 10);
    assert!(!json["presets"].as_array().unwrap().is_empty());
    let bad = w.run(&["scopes", "--product", "nope"]).await;
    assert_eq!(bad.code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_stdout_or_stderr_with_v() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let base = w.base();
    let mut all = String::new();
    let mut cmd = w.command(&[
        "-v",
        "exchange",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        &code,
        "--json",
    ]);
    cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    for args in [
        vec!["-v", "check"],
        vec!["-v", "check", "--json"],
        vec!["-v", "scopes"],
        vec!["-v", "revoke"],
        vec!["-v", "check"],
    ] {
        let run = w.run(&args).await;
        all.push_str(&run.stdout);
        all.push_str(&run.stderr);
    }
    // `token` prints the access token on stdout by design; its stderr must stay clean.
    std::fs::write(
        w.env_path(),
        format!("{}ZOHO_REFRESH_TOKEN={refresh}\n", w.env_text()),
    )
    .unwrap();
    let token = w.run(&["-v", "token"]).await;
    all.push_str(&token.stderr);
    assert!(all.contains("-> POST"), "the trace ran: {all}");
    for secret in [&client.client_secret, &code, &refresh] {
        assert!(!all.contains(secret.as_str()), "a secret leaked:\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn self_client_json_carries_code_and_client() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let code = w
        .sandbox
        .mint_code("ZohoCRM.modules.ALL,ZohoCRM.org.READ", 5);
    let json_path = w.dir.path().join("self_client.json");
    std::fs::write(
        &json_path,
        format!(
            r#"{{"client_id":"{}","client_secret":"{}","code":"{code}","grant_type":"authorization_code","scope":["ZohoCRM.modules.ALL","ZohoCRM.org.READ"],"expiry_time":1}}"#,
            client.client_id, client.client_secret
        ),
    )
    .unwrap();
    let base = w.base();
    let run = w
        .run(&[
            "exchange",
            "--accounts-url",
            &base,
            "--self-client-json",
            json_path.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(w.env_get("ZOHO_CLIENT_ID").unwrap(), client.client_id);
    assert!(
        run.stderr.contains("Zoho CRM"),
        "probed CRM: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn appsettings_gets_a_zoho_section_and_keeps_the_rest() {
    let w = World::start().await;
    let path = w.dir.path().join("appsettings.json");
    let original = "{\n  // logging\n  \"Logging\": { \"LogLevel\": { \"Default\": \"Information\" } },\n  \"AllowedHosts\": \"*\"\n}\n";
    std::fs::write(&path, original).unwrap();
    let run = w
        .exchange(
            "ZohoBooks.fullaccess.all",
            &["--appsettings", path.to_str().unwrap()],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\n  // logging\n  \"Logging\": { \"LogLevel\": { \"Default\": \"Information\" } },\n  \"AllowedHosts\": \"*\""), "{text}");
    let refresh = w.env_get("ZOHO_REFRESH_TOKEN").unwrap();
    assert!(
        text.contains(&format!("\"RefreshToken\": \"{refresh}\"")),
        "{text}"
    );
    assert!(text.contains("\"OrganizationId\": \"10234695\""), "{text}");
    let backup = std::fs::read_to_string(w.dir.path().join("appsettings.json.bak")).unwrap();
    assert_eq!(backup, original);
}

// Linux only: elsewhere the test would reach the real OS keychain.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn keychain_unavailable_fails_closed_before_the_code_is_sent() {
    // No Secret Service runs here (no D-Bus session), as on a headless server. Issue 11 item 5:
    // `--keychain` never falls back to the file on its own; item 7: the keychain is checked before
    // the code is sent, so the code stays usable.
    let w = World::start().await;
    let run = w
        .exchange("ZohoBooks.fullaccess.all", &["--keychain", "--no-test"])
        .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("keychain is not available"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Nothing was sent"), "{}", run.stderr);
    assert!(!w.env_path().exists(), "nothing was written");
    assert_eq!(w.sandbox.stats().exchanges, 0, "the code was not sent");
    assert_eq!(w.sandbox.stats().revokes, 0);
}
