//! The one recipe of a new grant (`auth::flow::new_grant`): exchange, the host rule on the
//! answer's api_domain (tests/trust_hosts.rs), live test, refresh-verify; whatever fails after
//! Zoho issued a refresh token revokes it. Against the in-process sandbox.

use zoho_auth::auth::client::{Client, ClientOptions, Credentials};
use zoho_auth::auth::diagnosis::Code;
use zoho_auth::auth::flow::{self, Obtained, Target};
use zoho_auth::auth::{Product, Secret};
use zoho_auth::sandbox::{Sandbox, SandboxConfig};

async fn setup() -> (Sandbox, Client, Target, Credentials) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let base = sandbox.base_url();
    let target = Target::from_urls(&base, Some(&base), None).unwrap();
    let demo = sandbox.self_client();
    let creds = Credentials {
        client_id: demo.client_id,
        client_secret: Secret::new(demo.client_secret),
    };
    (
        sandbox,
        Client::new(ClientOptions::default()).unwrap(),
        target,
        creds,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_grant_is_exchanged_tested_and_refresh_verified() {
    let (sandbox, client, target, creds) = setup().await;
    let code = Secret::new(sandbox.mint_code("ZohoBooks.fullaccess.all", 3));
    let scopes = vec!["ZohoBooks.fullaccess.all".to_string()];
    let v = flow::new_grant(
        &client,
        &target,
        &creds,
        Obtained::Code {
            code: &code,
            redirect_uri: None,
        },
        &scopes,
        None,
        true,
        true,
    )
    .await
    .unwrap();
    assert_eq!(v.product, Some(Product::Books));
    assert!(!v.organizations.is_empty());
    let stats = sandbox.stats();
    assert_eq!((stats.exchanges, stats.refreshes, stats.revokes), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_live_test_revokes_the_new_refresh_token_and_says_so() {
    let (sandbox, client, target, creds) = setup().await;
    let code = Secret::new(sandbox.mint_code("ZohoCRM.modules.ALL", 3));
    let scopes = vec!["ZohoCRM.modules.ALL".to_string()];
    let d = flow::new_grant(
        &client,
        &target,
        &creds,
        Obtained::Code {
            code: &code,
            redirect_uri: None,
        },
        &scopes,
        Some(Product::Books),
        true,
        false,
    )
    .await
    .unwrap_err();
    assert_ne!(d.code, Code::Ok);
    assert!(d.message.contains("revoked at Zoho"), "{}", d.message);
    assert_eq!(sandbox.stats().revokes, 1);
}
