//! `zoho-auth token --json`: the versioned object of design.md on stdout only, the same token as
//! plain `token` (one refresh shared through the cache), and `-v` naming a cache hit.

mod support;

use support::World;

async fn granted() -> World {
    let w = World::start().await;
    let run = w.exchange("ZohoBooks.fullaccess.all", &["--no-test"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    w
}

#[tokio::test]
async fn the_object_carries_the_contract_keys_and_the_same_token_as_plain_token() {
    let w = granted().await;
    std::fs::write(
        w.env_path(),
        format!("{}ZOHO_ORGANIZATION_ID=777001\n", w.env_text()),
    )
    .unwrap();
    let plain = w.run(&["token"]).await;
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let json = w.run(&["token", "--json"]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.stdout.lines().count(), 1, "one line: {}", json.stdout);
    let object = json.json();
    assert_eq!(object["version"], 1);
    assert_eq!(object["token_type"], "Zoho-oauthtoken");
    assert_eq!(object["access_token"], plain.stdout.trim());
    assert_eq!(object["api_domain"], w.base());
    assert_eq!(object["organization_id"], "777001");
    let expires = object["expires_at"].as_str().expect("expires_at is text");
    assert!(
        expires.len() == 20 && expires.ends_with('Z') && expires.as_bytes()[10] == b'T',
        "RFC 3339 in UTC: {expires}"
    );
    // The sandbox has no data center of Zoho's: the key is left out, not null.
    assert!(object.get("dc").is_none(), "{object}");
    // Nothing but the object on stdout; the token never on stderr.
    assert!(!json.stderr.contains(plain.stdout.trim()));
}

#[tokio::test]
async fn verbose_says_when_the_cache_answered() {
    let w = granted().await;
    let first = w.run(&["token"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let refreshes = w.sandbox.stats().refreshes;
    let second = w.run(&["token", "-v"]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, first.stdout, "the cached token");
    assert_eq!(w.sandbox.stats().refreshes, refreshes, "no new refresh");
    assert!(
        second
            .stderr
            .contains("the cached access token was used (no request); it expires in")
            && second.stderr.contains(" UTC"),
        "{}",
        second.stderr
    );
    assert!(!second.stderr.contains(first.stdout.trim()));
}
