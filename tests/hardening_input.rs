//! Bad input, as the real binary sees it: codes, client ids, client secrets and refresh tokens
//! padded, quoted, wrapped across lines, empty, a megabyte long, not UTF-8, or of the wrong kind,
//! through every way in (a flag, stdin with `-`, an environment variable, the env file). Each is
//! either normalised (the exchange works and the env file holds the clean value) or refused with
//! exit 2 and a message naming the field, without echoing the value and without a single request
//! to the (simulated) Zoho.
#![cfg(unix)]

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use support::World;

/// A test case: the command line, what stdin carries, environment variables and the env file.
#[derive(Default, Clone)]
struct Case {
    name: String,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, OsString)>,
    env_file: Option<Vec<u8>>,
}

struct Out {
    code: i32,
    stderr: String,
}

fn case(name: &str) -> Case {
    Case {
        name: name.to_string(),
        ..Case::default()
    }
}

impl Case {
    fn args(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(OsString::from));
        self
    }
    fn raw_arg(mut self, bytes: &[u8]) -> Case {
        self.args.push(OsString::from_vec(bytes.to_vec()));
        self
    }
    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.stdin = Some(bytes.into());
        self
    }
    fn env(mut self, key: &str, value: impl Into<Vec<u8>>) -> Case {
        self.env
            .push((key.to_string(), OsString::from_vec(value.into())));
        self
    }
    fn env_file(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.env_file = Some(bytes.into());
        self
    }
}

async fn run(w: &World, c: &Case) -> Out {
    use tokio::io::AsyncWriteExt;
    let _ = std::fs::remove_file(w.env_path());
    let _ = std::fs::remove_file(zoho_auth::auth::envfile::backup_path(&w.env_path()));
    if let Some(bytes) = &c.env_file {
        std::fs::write(w.env_path(), bytes).unwrap();
    }
    let mut cmd = w.command(&[]);
    cmd.args(&c.args);
    for (k, v) in &c.env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("binary runs");
    let mut pipe = child.stdin.take().unwrap();
    let input = c.stdin.clone().unwrap_or_default();
    // The binary stops reading past its limit: a broken pipe here is expected, not a failure.
    let writer = tokio::spawn(async move {
        let _ = pipe.write_all(&input).await;
    });
    let out = child.wait_with_output().await.unwrap();
    let _ = writer.await;
    Out {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `exchange` against the sandbox with the given extra arguments; the rest comes from the case.
fn exchange(w: &World, name: &str) -> Case {
    let base = w.base();
    case(name).args(&["exchange", "--accounts-url", &base, "--no-test"])
}

/// Refused with exit 2, naming `field`, the value not echoed, and nothing sent.
async fn assert_refused(w: &World, c: &Case, field: &str, value_hint: Option<&str>) {
    let before = w.sandbox.stats().requests;
    let out = run(w, c).await;
    let err = out.stderr.to_lowercase();
    assert_eq!(out.code, 2, "{}: exit code\n{}", c.name, out.stderr);
    assert!(
        err.contains(field),
        "{}: the message names the field `{field}`:\n{}",
        c.name,
        out.stderr
    );
    assert!(!err.contains("panicked"), "{}: {}", c.name, out.stderr);
    if let Some(value) = value_hint {
        assert!(
            !out.stderr.contains(value),
            "{}: the value is echoed:\n{}",
            c.name,
            out.stderr
        );
    }
    assert!(
        out.stderr.lines().count() <= 12,
        "{}: a short message, not a dump:\n{}",
        c.name,
        out.stderr
    );
    assert_eq!(
        w.sandbox.stats().requests,
        before,
        "{}: nothing was sent to Zoho",
        c.name
    );
    assert_eq!(
        std::fs::read(w.env_path()).ok(),
        c.env_file,
        "{}: the env file is untouched",
        c.name
    );
}

/// Accepted: the exchange works and the env file holds the cleaned values.
async fn assert_normalised(w: &World, c: &Case, id: &str, secret: &str) {
    let out = run(w, c).await;
    assert_eq!(out.code, 0, "{}: {}", c.name, out.stderr);
    assert_eq!(
        w.env_get("ZOHO_CLIENT_ID").as_deref(),
        Some(id),
        "{}",
        c.name
    );
    assert_eq!(
        w.env_get("ZOHO_CLIENT_SECRET").as_deref(),
        Some(secret),
        "{}",
        c.name
    );
    assert!(
        w.env_get("ZOHO_REFRESH_TOKEN")
            .is_some_and(|t| t.starts_with("1000.") && t.len() == 70),
        "{}",
        c.name
    );
}

/// Ways a value may arrive dirty but whole; every one must be cleaned.
fn dirty(value: &str) -> Vec<(&'static str, String)> {
    let mid = value.len() / 2;
    vec![
        ("padded", format!("  \t{value} \n")),
        ("double-quoted", format!("\"{value}\"")),
        ("single-quoted", format!("'{value}'")),
        ("typographic quotes", format!("\u{201c}{value}\u{201d}")),
        (
            "wrapped across lines",
            format!("{}\n{}", &value[..mid], &value[mid..]),
        ),
        (
            "wrapped with CRLF and indent",
            format!("{}\r\n    {}\r\n", &value[..mid], &value[mid..]),
        ),
        ("with a BOM", format!("\u{feff}{value}")),
        (
            "with a zero-width space",
            format!("{}\u{200b}{}", &value[..mid], &value[mid..]),
        ),
        ("quoted, padded, trailing comma", format!(" \"{value}\", ")),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn dirty_codes_ids_and_secrets_are_normalised() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let (id, secret) = (client.client_id.as_str(), client.client_secret.as_str());
    let scope = "ZohoBooks.fullaccess.all";

    let ways = dirty(&"x".repeat(70)).into_iter().map(|(how, _)| how);
    for how in ways {
        // Each run needs a fresh code, dirtied the same way.
        let dirty_code = || {
            let code = w.sandbox.mint_code(scope, 3);
            dirty(&code).into_iter().find(|(h, _)| *h == how).unwrap().1
        };
        let flag = exchange(&w, &format!("code {how}, as a flag"))
            .args(&["--client-id", id, "--code", &dirty_code()])
            .env("ZOHO_CLIENT_SECRET", secret);
        assert_normalised(&w, &flag, id, secret).await;
        let stdin = exchange(&w, &format!("code {how}, on stdin"))
            .args(&["--client-id", id, "--code", "-"])
            .env("ZOHO_CLIENT_SECRET", secret)
            .stdin(dirty_code());
        assert_normalised(&w, &stdin, id, secret).await;
    }

    for (how, id_text) in dirty(id) {
        let code = w.sandbox.mint_code(scope, 3);
        let c = exchange(&w, &format!("client id {how}, as a flag"))
            .args(&["--client-id", &id_text, "--code", &code])
            .env("ZOHO_CLIENT_SECRET", secret);
        assert_normalised(&w, &c, id, secret).await;
        let code = w.sandbox.mint_code(scope, 3);
        let c = exchange(&w, &format!("client id {how}, in ZOHO_CLIENT_ID"))
            .args(&["--code", &code])
            .env("ZOHO_CLIENT_ID", id_text.as_str())
            .env("ZOHO_CLIENT_SECRET", secret);
        assert_normalised(&w, &c, id, secret).await;
    }

    for (how, secret_text) in dirty(secret) {
        let code = w.sandbox.mint_code(scope, 3);
        let c = exchange(&w, &format!("client secret {how}, on stdin"))
            .args(&["--client-id", id, "--code", &code, "--client-secret", "-"])
            .stdin(secret_text.as_str());
        assert_normalised(&w, &c, id, secret).await;
        let code = w.sandbox.mint_code(scope, 3);
        let c = exchange(&w, &format!("client secret {how}, in ZOHO_CLIENT_SECRET"))
            .args(&["--client-id", id, "--code", &code])
            .env("ZOHO_CLIENT_SECRET", secret_text.as_str());
        assert_normalised(&w, &c, id, secret).await;
    }

    // In the env file, values are read the dotenv way first, then cleaned: quotes, padding inside
    // the quotes, and an `export` prefix.
    for (how, line_id, line_secret) in [
        (
            "double-quoted with spaces",
            format!("ZOHO_CLIENT_ID=\" {id} \""),
            format!("ZOHO_CLIENT_SECRET=\"  {secret}\""),
        ),
        (
            "single-quoted, export",
            format!("export ZOHO_CLIENT_ID='{id}'"),
            format!("export ZOHO_CLIENT_SECRET='{secret} '"),
        ),
        (
            "CRLF and a comment",
            format!("ZOHO_CLIENT_ID={id} # the client\r"),
            format!("ZOHO_CLIENT_SECRET={secret}\r"),
        ),
    ] {
        let code = w.sandbox.mint_code(scope, 3);
        let c = exchange(&w, &format!("env file {how}"))
            .args(&["--code", &code])
            .env_file(format!("{line_id}\n{line_secret}\n"));
        assert_normalised(&w, &c, id, secret).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_huge_and_non_utf8_values_exit_2_naming_the_field() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let (id, secret) = (client.client_id.as_str(), client.client_secret.as_str());
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let megabyte = "a".repeat(1 << 20);
    let big_utf8 = "€".repeat((1 << 20) / 3 + 7);
    // An argument or environment string is limited to 128 KiB on Linux.
    let large = "0".repeat(100_000);
    let mut not_utf8 = code.as_bytes().to_vec();
    not_utf8[10] = 0xff;
    let base = |name: &str| exchange(&w, name);

    let cases: Vec<(Case, &[&str])> = vec![
        // Empty, through each way in.
        (
            base("empty code flag")
                .args(&["--client-id", id, "--code", ""])
                .env("ZOHO_CLIENT_SECRET", secret),
            &["code"],
        ),
        (
            base("blank code on stdin")
                .args(&["--client-id", id, "--code", "-"])
                .env("ZOHO_CLIENT_SECRET", secret)
                .stdin(" \n\t\r\n"),
            &["code"],
        ),
        (
            base("quotes only as code")
                .args(&["--client-id", id, "--code", "\"\""])
                .env("ZOHO_CLIENT_SECRET", secret),
            &["code"],
        ),
        (
            base("empty client id flag")
                .args(&["--client-id", "", "--code", &code])
                .env("ZOHO_CLIENT_SECRET", secret),
            &["client id"],
        ),
        (
            base("empty secret on stdin")
                .args(&["--client-id", id, "--code", &code, "--client-secret", "-"])
                .stdin(""),
            &["client secret"],
        ),
        (
            base("empty secret in the environment, none in the file")
                .args(&["--client-id", id, "--code", &code])
                .env("ZOHO_CLIENT_SECRET", ""),
            &["client secret"],
        ),
        (
            base("quoted empty secret in the env file")
                .args(&["--client-id", id, "--code", &code])
                .env_file("ZOHO_CLIENT_SECRET=\"  \"\n"),
            &["client secret"],
        ),
        // A megabyte and more.
        (
            base("a megabyte of code on stdin")
                .args(&["--client-id", id, "--code", "-"])
                .env("ZOHO_CLIENT_SECRET", secret)
                .stdin(megabyte.clone()),
            &["code", "long"],
        ),
        (
            base("more than a megabyte of multi-byte code on stdin")
                .args(&["--client-id", id, "--code", "-"])
                .env("ZOHO_CLIENT_SECRET", secret)
                .stdin(big_utf8.clone()),
            &["code", "long"],
        ),
        (
            base("a megabyte of secret on stdin")
                .args(&["--client-id", id, "--code", &code, "--client-secret", "-"])
                .stdin(megabyte.clone()),
            &["client secret", "long"],
        ),
        (
            base("a megabyte of secret in the env file")
                .args(&["--client-id", id, "--code", &code])
                .env_file(format!("ZOHO_CLIENT_SECRET={megabyte}\n")),
            &["client secret", "long"],
        ),
        (
            base("100 kB code flag")
                .args(&["--client-id", id, "--code", &large])
                .env("ZOHO_CLIENT_SECRET", secret),
            &["code", "long"],
        ),
        (
            base("100 kB client id in the environment")
                .args(&["--code", &code])
                .env("ZOHO_CLIENT_ID", large.as_str())
                .env("ZOHO_CLIENT_SECRET", secret),
            &["client id", "long"],
        ),
        // Not UTF-8.
        (
            base("non-UTF-8 code on stdin")
                .args(&["--client-id", id, "--code", "-"])
                .env("ZOHO_CLIENT_SECRET", secret)
                .stdin(not_utf8.clone()),
            &["code", "utf-8"],
        ),
        (
            base("non-UTF-8 secret on stdin")
                .args(&["--client-id", id, "--code", &code, "--client-secret", "-"])
                .stdin(b"\xff\xfe0123456789abcdef".to_vec()),
            &["client secret", "utf-8"],
        ),
        (
            base("non-UTF-8 secret in the env file")
                .args(&["--client-id", id, "--code", &code])
                .env_file(
                    [
                        b"# app\nZOHO_CLIENT_SECRET=".as_slice(),
                        b"\xff\xfe0123",
                        b"\n",
                    ]
                    .concat(),
                ),
            &["zoho_client_secret", "line 2", "utf-8"],
        ),
        (
            base("non-UTF-8 code flag")
                .args(&["--client-id", id, "--code"])
                .raw_arg(b"1000.\xff\xfe")
                .env("ZOHO_CLIENT_SECRET", secret),
            &["--code", "utf-8"],
        ),
        (
            base("non-UTF-8 client id flag with =")
                .args(&["--code", &code])
                .raw_arg(b"--client-id=1000.\xff")
                .env("ZOHO_CLIENT_SECRET", secret),
            &["--client-id", "utf-8"],
        ),
        (
            base("non-UTF-8 secret in the environment")
                .args(&["--client-id", id, "--code", &code])
                .env("ZOHO_CLIENT_SECRET", b"\xff\xfe0123".to_vec()),
            &["zoho_client_secret", "utf-8"],
        ),
        (
            base("non-UTF-8 client id in the environment, a good one in the env file")
                .args(&["--code", &code])
                .env("ZOHO_CLIENT_ID", b"1000.\xff".to_vec())
                .env_file(format!(
                    "ZOHO_CLIENT_ID={id}\nZOHO_CLIENT_SECRET={secret}\n"
                )),
            &["zoho_client_id", "utf-8"],
        ),
    ];
    for (c, words) in &cases {
        assert_refused(&w, c, words[0], None).await;
        let err = run(&w, c).await.stderr.to_lowercase();
        for word in &words[1..] {
            assert!(err.contains(word), "{}: says `{word}`:\n{err}", c.name);
        }
    }
    assert_eq!(w.sandbox.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn values_of_the_wrong_kind_exit_2_and_send_nothing() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let (id, secret) = (client.client_id.as_str(), client.client_secret.as_str());
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let refresh = format!("1000.{}.{}", "c".repeat(32), "d".repeat(32));
    let token_json = format!(
        "{{\"access_token\":\"1000.{a}.{a}\",\"refresh_token\":\"{refresh}\",\"api_domain\":\"https://www.zohoapis.com\",\"token_type\":\"Bearer\",\"expires_in\":3600}}",
        a = "a".repeat(32)
    );
    let base = |name: &str| exchange(&w, name);

    let cases: Vec<(Case, &str, &str)> = vec![
        (
            base("client secret as the code")
                .args(&["--client-id", id, "--code", secret])
                .env("ZOHO_CLIENT_SECRET", secret),
            "client secret, not a code",
            secret,
        ),
        (
            base("client id as the code")
                .args(&["--client-id", id, "--code", id])
                .env("ZOHO_CLIENT_SECRET", secret),
            "client id, not a code",
            id,
        ),
        (
            base("a token response as the code, on stdin")
                .args(&["--client-id", id, "--code", "-"])
                .env("ZOHO_CLIENT_SECRET", secret)
                .stdin(token_json.as_str()),
            "token",
            &refresh,
        ),
        (
            base("a labelled refresh token as the code")
                .args(&["--client-id", id, "--code", "-"])
                .env("ZOHO_CLIENT_SECRET", secret)
                .stdin(format!("ZOHO_REFRESH_TOKEN={refresh}\n")),
            "refresh token",
            &refresh,
        ),
        (
            base("client secret as the client id")
                .args(&["--client-id", secret, "--code", &code])
                .env("ZOHO_CLIENT_SECRET", secret),
            "not a client id",
            secret,
        ),
        (
            base("code as the client id")
                .args(&["--client-id", &code, "--code", &code])
                .env("ZOHO_CLIENT_SECRET", secret),
            "not a client id",
            &code[5..],
        ),
        (
            base("client id as the client secret, on stdin")
                .args(&["--client-id", id, "--code", &code, "--client-secret", "-"])
                .stdin(id),
            "not a client secret",
            id,
        ),
        (
            base("refresh token as the client secret, in the env file")
                .args(&["--client-id", id, "--code", &code])
                .env_file(format!("ZOHO_CLIENT_SECRET={refresh}\n")),
            "not a client secret",
            &refresh,
        ),
        (
            base("a redirect URL as the client secret")
                .args(&["--client-id", id, "--code", &code])
                .env(
                    "ZOHO_CLIENT_SECRET",
                    format!("https://example.com/cb?code={code}"),
                ),
            "not a client secret",
            &code,
        ),
    ];
    for (c, field, value) in &cases {
        assert_refused(&w, c, field, Some(value)).await;
    }

    // `check`, `token` and `revoke` read the grant from the env file: a secret in place of the
    // refresh token, a client id in place of the secret.
    let good = format!(
        "ZOHO_CLIENT_ID={id}\nZOHO_CLIENT_SECRET={secret}\nZOHO_ACCOUNTS_URL={}\n",
        w.base()
    );
    for (what, file, field, value) in [
        (
            "client secret as the refresh token",
            format!("{good}ZOHO_REFRESH_TOKEN={secret}\n"),
            "not a refresh token",
            secret,
        ),
        (
            "client id as the client secret",
            format!(
                "ZOHO_CLIENT_ID={id}\nZOHO_CLIENT_SECRET={id}\nZOHO_REFRESH_TOKEN={refresh}\nZOHO_ACCOUNTS_URL={}\n",
                w.base()
            ),
            "not a client secret",
            id,
        ),
        (
            "a cut-off refresh token",
            format!("{good}ZOHO_REFRESH_TOKEN={}\n", &refresh[..50]),
            "refresh token",
            &refresh[..50],
        ),
    ] {
        for command in ["check", "token", "revoke"] {
            let c = case(&format!("{command}: {what}"))
                .args(&[command])
                .env_file(file.clone());
            assert_refused(&w, &c, field, Some(value)).await;
        }
    }
    assert_eq!(w.sandbox.stats().requests, 0, "nothing ever reached Zoho");

    // A refresh token has the shape of a code and cannot be told apart: it is sent, and Zoho's
    // `invalid_code` (exit 3) is the answer. Nothing is written.
    let c = exchange(&w, "a bare refresh token as the code")
        .args(&["--client-id", id, "--code", &refresh])
        .env("ZOHO_CLIENT_SECRET", secret);
    let out = run(&w, &c).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("invalid_code"), "{}", out.stderr);
    assert!(!w.env_path().exists());
    assert_eq!(w.sandbox.stats().token_requests, 1);
}

/// A quote opened and never closed makes dotenv loaders read the rest of the file as one value:
/// credentials appended after it would be written but never loaded. The exchange refuses before
/// the one-time code is sent, naming the line; the writer itself refuses too.
#[tokio::test(flavor = "multi_thread")]
async fn an_env_file_with_an_unclosed_quote_is_refused_before_the_code_is_sent() {
    let w = World::start().await;
    let client = w.sandbox.self_client();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let broken = "# app\nZOHO_CLIENT_ID=1000.OLD\nBROKEN=\"never closed\nLATER=1\n";
    let c = exchange(&w, "unclosed quote")
        .args(&["--client-id", &client.client_id, "--code", &code])
        .env("ZOHO_CLIENT_SECRET", client.client_secret.as_str())
        .env_file(broken);
    assert_refused(&w, &c, "never closed", Some(&code)).await;
    let out = run(&w, &c).await;
    assert!(
        out.stderr.contains("line 3, the value of BROKEN"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("code was not sent"), "{}", out.stderr);

    // The writer refuses on its own, and leaves the file as it was.
    std::fs::write(w.env_path(), broken).unwrap();
    let err =
        zoho_auth::auth::envfile::update(&w.env_path(), &[("ZOHO_REFRESH_TOKEN", Some(&code))])
            .unwrap_err();
    assert!(err.to_string().contains("never closed"), "{err}");
    assert!(!err.to_string().contains(&code));
    assert_eq!(std::fs::read_to_string(w.env_path()).unwrap(), broken);
    // A key before the broken line can still be updated in place.
    zoho_auth::auth::envfile::update(&w.env_path(), &[("ZOHO_CLIENT_ID", Some("1000.NEW"))])
        .unwrap();
    assert!(
        w.env_text()
            .contains("ZOHO_CLIENT_ID=1000.NEW\nBROKEN=\"never closed\n")
    );
}
