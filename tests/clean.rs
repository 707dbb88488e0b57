//! The paste cleaner and shape checks: every accepted form of a code, every rejection, and that no
//! error message ever contains the pasted value. No IO, no network.

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use zoho_auth::auth::clean::{
    Field, Kind, MAX_PASTE_BYTES, PasteError, PasteSource, Pasted, ShapeError, clean_client_id,
    clean_client_secret, clean_code_paste, clean_code_paste_knowing, clean_token, describe,
    is_code_shaped, looks_like, strip,
};

const CODE: &str = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210";
const CLIENT_ID: &str = "1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX";
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789";

fn bare(code: &str) -> Pasted {
    clean_code_paste(code).expect("a code")
}

fn message(e: &impl std::fmt::Display) -> String {
    e.to_string()
}

/// The value itself, or any 12-character piece of it, must not appear in a message.
fn assert_not_leaked(msg: &str, value: &str) {
    let chars: Vec<char> = value.chars().collect();
    for window in chars.windows(12) {
        let piece: String = window.iter().collect();
        if piece
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c.is_ascii_uppercase())
        {
            assert!(!msg.contains(&piece), "message leaks {piece:?}: {msg}");
        }
    }
}

// ---------------------------------------------------------------------------------------- strip

#[test]
fn strip_removes_whitespace_quotes_bom_and_separators() {
    assert_eq!(strip(CODE), CODE);
    assert_eq!(strip(&format!("  {CODE}\n")), CODE);
    assert_eq!(strip(&format!("\"{CODE}\"")), CODE);
    assert_eq!(strip(&format!("'{CODE}'")), CODE);
    assert_eq!(strip(&format!("`{CODE}`")), CODE);
    assert_eq!(strip(&format!("\u{201C}{CODE}\u{201D}")), CODE);
    assert_eq!(strip(&format!(" \" ' {CODE} ' \" ")), CODE);
    assert_eq!(strip(&format!("\u{FEFF}{CODE}")), CODE);
    assert_eq!(strip(&format!("\"{CODE}\",")), CODE);
    assert_eq!(strip(&format!("'{CODE}';")), CODE);
    assert_eq!(strip(&format!(",{CODE};")), CODE);
    // Wrapped across lines by a terminal, with CRLF, tabs, NBSP and other Unicode spaces.
    let wrapped = format!(
        "{}\r\n{}\t{}\u{00A0}{}\u{2003}",
        &CODE[..20],
        &CODE[20..40],
        &CODE[40..50],
        &CODE[50..]
    );
    assert_eq!(strip(&wrapped), CODE);
    assert_eq!(
        strip(&format!("{}\u{200B}{}", &CODE[..10], &CODE[10..])),
        CODE
    );
    // Unmatched quotes stay: they are not a pair around the value.
    assert_eq!(strip("\"abc"), "\"abc");
    assert_eq!(strip("'abc\""), "'abc\"");
    assert_eq!(strip(""), "");
    assert_eq!(strip(" \"\" ; "), "");
}

// ---------------------------------------------------------------------------------------- looks_like

#[test]
fn looks_like_each_kind() {
    assert_eq!(looks_like(CODE), Kind::Code);
    assert_eq!(looks_like(&CODE.replacen("1000", "1004", 1)), Kind::Code);
    assert_eq!(looks_like(&format!(" '{CODE}' ")), Kind::Code);
    assert_eq!(looks_like(CLIENT_ID), Kind::ClientId);
    assert_eq!(looks_like(SECRET), Kind::ClientSecret);
    assert_eq!(looks_like(&SECRET.to_uppercase()), Kind::ClientSecret);
    assert_eq!(
        looks_like(&format!("https://example.com/cb?code={CODE}&location=us")),
        Kind::RedirectUrl
    );
    assert_eq!(
        looks_like(&format!(
            "{{\"code\":\"{CODE}\",\"client_id\":\"{CLIENT_ID}\"}}"
        )),
        Kind::SelfClientJson
    );
    assert_eq!(
        looks_like(&format!(
            "{{\"access_token\":\"{CODE}\",\"refresh_token\":\"{CODE}\"}}"
        )),
        Kind::Token
    );
    assert_eq!(looks_like(" \n\t\"\" "), Kind::Empty);
    assert_eq!(looks_like("hello"), Kind::Unknown);
    assert_eq!(looks_like("{not json"), Kind::Unknown);
    assert_eq!(looks_like(&"1".repeat(MAX_PASTE_BYTES + 1)), Kind::Unknown);
}

// ---------------------------------------------------------------------------------------- accepted codes

#[test]
fn a_bare_code_in_every_wrapping() {
    for raw in [
        CODE.to_string(),
        format!("   {CODE}   "),
        format!("\"{CODE}\""),
        format!("'{CODE}'\n"),
        format!("\u{FEFF}{CODE}"),
        format!("{}\r\n{}", &CODE[..35], &CODE[35..]),
        format!("\"{}\n{}\",", &CODE[..50], &CODE[50..]),
    ] {
        let p = bare(&raw);
        assert_eq!(p.code.expose(), CODE, "{raw:?}");
        assert_eq!(p.source, PasteSource::BareCode);
        assert_eq!(p.location, None);
        assert_eq!(p.client_id, None);
        assert_eq!(p.scopes, None);
        assert!(is_code_shaped(&raw));
    }
    for prefix in ["1002", "1004"] {
        let code = CODE.replacen("1000", prefix, 1);
        assert_eq!(bare(&code).code.expose(), code);
    }
}

#[test]
fn a_redirect_url_as_zoho_sends_it() {
    // As captured: state first, accounts-server percent-encoded, trailing '&'.
    let url = format!(
        "https://www.google.com/?state=testing&code={CODE}&location=in&accounts-server=https%3A%2F%2Faccounts.zoho.in&"
    );
    let p = clean_code_paste(&url).unwrap();
    assert_eq!(
        p,
        Pasted {
            code: zoho_auth::auth::Secret::new(CODE),
            location: Some("in".into()),
            accounts_server: Some("https://accounts.zoho.in".into()),
            client_id: None,
            client_secret: None,
            scopes: None,
            expiry_time_ms: None,
            source: PasteSource::RedirectUrl,
        }
    );
    assert!(is_code_shaped(&url));
}

#[test]
fn a_redirect_url_without_state_unencoded_wrapped_or_query_only() {
    let plain = format!(
        "http://localhost:8080/callback?code={CODE}&location=us&accounts-server=https://accounts.zoho.com"
    );
    let p = clean_code_paste(&plain).unwrap();
    assert_eq!(p.code.expose(), CODE);
    assert_eq!(p.location.as_deref(), Some("us"));
    assert_eq!(
        p.accounts_server.as_deref(),
        Some("https://accounts.zoho.com")
    );

    // Wrapped by the terminal and quoted.
    let wrapped = format!("'{}\r\n{}'", &plain[..60], &plain[60..]);
    assert_eq!(clean_code_paste(&wrapped).unwrap(), p);

    // Just the query string, with or without '?'.
    let query = format!("?code={CODE}&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu");
    let q = clean_code_paste(&query).unwrap();
    assert_eq!(q.code.expose(), CODE);
    assert_eq!(q.location.as_deref(), Some("eu"));
    assert_eq!(
        q.accounts_server.as_deref(),
        Some("https://accounts.zoho.eu")
    );
    assert_eq!(clean_code_paste(&query[1..]).unwrap(), q);

    // Only a code: location and accounts server unknown.
    let only = clean_code_paste(&format!("https://example.com/cb?code={CODE}")).unwrap();
    assert_eq!(only.location, None);
    assert_eq!(only.accounts_server, None);
}

#[test]
fn a_percent_encoded_code_is_decoded() {
    // Some tools encode the dots.
    let encoded = CODE.replace('.', "%2E");
    let p = clean_code_paste(&format!("https://example.com/?code={encoded}&location=au")).unwrap();
    assert_eq!(p.code.expose(), CODE);
    assert_eq!(p.location.as_deref(), Some("au"));
}

#[test]
fn a_self_client_json_with_scope_as_an_array() {
    let json = format!(
        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{SECRET}","code":"{CODE}","grant_type":"authorization_code","scope":["zohobooks.fullaccess.all","ZohoCRM.org.READ"],"expiry_time":1767225600000}}"#
    );
    let p = clean_code_paste(&json).unwrap();
    assert_eq!(
        p,
        Pasted {
            code: zoho_auth::auth::Secret::new(CODE),
            location: None,
            accounts_server: None,
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(zoho_auth::auth::Secret::new(SECRET)),
            scopes: Some(vec![
                "ZohoBooks.fullaccess.all".into(),
                "ZohoCRM.org.READ".into()
            ]),
            expiry_time_ms: Some(1_767_225_600_000),
            source: PasteSource::SelfClientJson,
        }
    );
    assert!(is_code_shaped(&json));
}

#[test]
fn a_self_client_json_pretty_printed_with_scope_as_a_string() {
    let json = format!(
        "\u{FEFF}{{\r\n  \"client_id\": \"{CLIENT_ID}\",\r\n  \"client_secret\": \"{SECRET}\",\r\n  \"code\": \"{CODE}\",\r\n  \"grant_type\": \"authorization_code\",\r\n  \"scope\": \"ZohoBooks.settings.READ, ZohoBooks.invoices.ALL\",\r\n  \"expiry_time\": \"1767225600000\"\r\n}}\r\n"
    );
    let p = clean_code_paste(&json).unwrap();
    assert_eq!(p.code.expose(), CODE);
    assert_eq!(
        p.scopes,
        Some(vec![
            "ZohoBooks.settings.READ".into(),
            "ZohoBooks.invoices.ALL".into()
        ])
    );
    assert_eq!(p.expiry_time_ms, Some(1_767_225_600_000));
    assert_eq!(p.source, PasteSource::SelfClientJson);

    // A space-separated scope string, and a line wrapped inside the code string.
    let json = format!(
        "{{\"code\":\"{}\n{}\",\"scope\":\"ZohoCRM.modules.ALL ZohoCRM.org.READ\"}}",
        &CODE[..30],
        &CODE[30..]
    );
    let p = clean_code_paste(&json).unwrap();
    assert_eq!(p.code.expose(), CODE);
    assert_eq!(p.client_id, None);
    assert_eq!(p.expiry_time_ms, None);
    assert_eq!(
        p.scopes,
        Some(vec![
            "ZohoCRM.modules.ALL".into(),
            "ZohoCRM.org.READ".into()
        ])
    );
}

// ---------------------------------------------------------------------------------------- rejections

#[test]
fn rejects_empty() {
    for raw in ["", "   ", "\r\n\t", "\"\"", "'  '", "\u{FEFF}", ";"] {
        assert_eq!(clean_code_paste(raw), Err(PasteError::Empty), "{raw:?}");
    }
    assert!(!is_code_shaped(""));
}

#[test]
fn rejects_a_client_secret_and_a_client_id_by_name() {
    let e = clean_code_paste(&format!(" \"{SECRET}\" ")).unwrap_err();
    assert_eq!(e, PasteError::ClientSecret);
    assert!(message(&e).starts_with("That is a client secret, not a code."));
    assert_not_leaked(&message(&e), SECRET);

    let e = clean_code_paste(CLIENT_ID).unwrap_err();
    assert_eq!(e, PasteError::ClientId);
    assert!(message(&e).starts_with("That is a client id, not a code."));
    assert!(!is_code_shaped(SECRET));
    assert!(!is_code_shaped(CLIENT_ID));
}

#[test]
fn rejects_a_token_response() {
    let json = format!(
        r#"{{"access_token":"{CODE}","refresh_token":"{}","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}}"#,
        CODE.replace('0', "1")
    );
    let e = clean_code_paste(&json).unwrap_err();
    assert_eq!(e, PasteError::Token);
    assert_not_leaked(&message(&e), CODE);
    assert!(!is_code_shaped(&json));
}

/// Issue 13 item 4: a pasted refresh token is named as one, by the rule the wizard and `exchange`
/// share: labelled (`ZOHO_REFRESH_TOKEN=…`, a JSON holding only a refresh_token), or bare and
/// equal to the one already saved. The message never holds the token.
#[test]
fn a_refresh_token_is_named_as_one() {
    let labelled = clean_code_paste(&format!("ZOHO_REFRESH_TOKEN={CODE}")).unwrap_err();
    assert_eq!(labelled, PasteError::RefreshToken { saved: false });
    let text = message(&labelled);
    assert!(
        text.starts_with("This is a refresh token, not a code"),
        "{text}"
    );
    assert!(!text.contains("already in the env file"), "{text}");
    assert_not_leaked(&text, CODE);

    let json = format!(r#"{{"refresh_token":"{CODE}"}}"#);
    assert_eq!(
        clean_code_paste(&json),
        Err(PasteError::RefreshToken { saved: false })
    );

    // Bare, it has a code's shape: only the saved one is known to be a token.
    let saved = clean_code_paste_knowing(&format!("  \"{CODE}\"\n"), Some(CODE)).unwrap_err();
    assert_eq!(saved, PasteError::RefreshToken { saved: true });
    let text = message(&saved);
    assert!(
        text.starts_with("This is a refresh token, not a code"),
        "{text}"
    );
    assert!(text.contains("already in the env file"), "{text}");
    assert_not_leaked(&text, CODE);
    let other = CODE.replace('f', "e");
    assert_eq!(
        clean_code_paste_knowing(CODE, Some(&other))
            .unwrap()
            .code
            .expose(),
        CODE
    );
    assert_eq!(
        clean_code_paste_knowing(CODE, None).unwrap().code.expose(),
        CODE
    );
    assert_eq!(
        clean_code_paste_knowing(CODE, Some(""))
            .unwrap()
            .code
            .expose(),
        CODE
    );
    // A redirect URL carrying the saved token as its code is refused too.
    assert_eq!(
        clean_code_paste_knowing(&format!("https://example.com/cb?code={CODE}"), Some(CODE)),
        Err(PasteError::RefreshToken { saved: true })
    );
}

#[test]
fn a_labelled_line_names_what_it_holds() {
    // Copied from an env file or a shell: a code is taken, a token is named as one.
    for raw in [
        format!("ZOHO_CODE={CODE}"),
        format!("export code=\"{CODE}\""),
        format!("grant-code='{CODE}';"),
    ] {
        let p = clean_code_paste(&raw).unwrap();
        assert_eq!(p.code.expose(), CODE, "{raw}");
        assert_eq!(p.source, PasteSource::BareCode);
    }
    for (raw, error) in [
        (
            format!("ZOHO_REFRESH_TOKEN={CODE}"),
            PasteError::RefreshToken { saved: false },
        ),
        (
            format!("export refresh_token='{CODE}'"),
            PasteError::RefreshToken { saved: false },
        ),
        (format!("access_token=\"{CODE}\""), PasteError::Token),
    ] {
        assert_eq!(clean_code_paste(&raw), Err(error), "{raw}");
        assert_eq!(looks_like(&raw), Kind::Token);
        assert!(!is_code_shaped(&raw));
    }
    let e = clean_code_paste(&format!("ZOHO_CODE={}", &CODE[..40])).unwrap_err();
    assert!(
        message(&e).contains("the code in that line is 40 characters"),
        "{e}"
    );
}

#[test]
fn rejects_values_that_are_not_codes_and_describes_them() {
    let cut = &CODE[..60];
    let e = clean_code_paste(cut).unwrap_err();
    assert_eq!(
        e,
        PasteError::NotACode {
            what: "it is 60 characters, starts with 1000.; its two parts are 32 and 22 characters long instead of 32 and 32 (cut off?)".into()
        }
    );
    assert_not_leaked(&message(&e), CODE);

    let upper = CODE.to_uppercase();
    let e = clean_code_paste(&upper).unwrap_err();
    assert!(message(&e).contains("capital letters"), "{e}");
    assert!(
        message(&e).contains("70 characters, starts with 1000."),
        "{e}"
    );
    assert_not_leaked(&message(&e), &upper);

    let e = clean_code_paste("hello-world").unwrap_err();
    assert!(
        message(&e).contains("11 characters; it does not start with four digits"),
        "{e}"
    );
    assert!(!message(&e).contains("hello"));

    let extra = format!("{CODE}.abc");
    let e = clean_code_paste(&extra).unwrap_err();
    assert!(message(&e).contains("3 parts between dots"), "{e}");

    let odd = CODE.replacen('a', "g", 1);
    let e = clean_code_paste(&odd).unwrap_err();
    assert!(message(&e).contains("other than 0-9 and a-f"), "{e}");
    assert_not_leaked(&message(&e), &odd);
    assert!(!is_code_shaped(&odd));
}

#[test]
fn rejects_overlong_pastes_without_echoing_them() {
    let huge = CODE.repeat(100);
    let e = clean_code_paste(&huge).unwrap_err();
    assert_eq!(e, PasteError::TooLong { chars: 7000 });
    assert_not_leaked(&message(&e), CODE);
    assert!(!is_code_shaped(&huge));
}

#[test]
fn rejects_an_access_denied_redirect() {
    for url in [
        "https://example.com/cb?error=access_denied&state=xyz",
        "https://example.com/cb?state=xyz&error=access_denied&location=us&accounts-server=https%3A%2F%2Faccounts.zoho.com&",
        "?error=ACCESS_DENIED",
    ] {
        assert_eq!(
            clean_code_paste(url),
            Err(PasteError::AccessDenied),
            "{url}"
        );
    }
    let e = clean_code_paste("https://example.com/cb?error=invalid_scope").unwrap_err();
    assert_eq!(
        e,
        PasteError::RedirectError {
            error: "invalid_scope".into()
        }
    );
    // An error value that is not a plain word is not echoed.
    let e =
        clean_code_paste(&format!("https://example.com/cb?error={CODE}%3Cscript%3E")).unwrap_err();
    assert_eq!(
        e,
        PasteError::RedirectError {
            error: "unrecognised".into()
        }
    );
}

#[test]
fn rejects_urls_and_json_without_a_code() {
    assert_eq!(
        clean_code_paste("https://api-console.zoho.com/"),
        Err(PasteError::UrlWithoutCode)
    );
    assert_eq!(
        clean_code_paste("https://example.com/cb?state=abc&location=us"),
        Err(PasteError::UrlWithoutCode)
    );
    assert_eq!(
        clean_code_paste("https://example.com/cb?code="),
        Err(PasteError::UrlWithoutCode)
    );
    assert_eq!(
        clean_code_paste("http://[::1"),
        Err(PasteError::UrlWithoutCode)
    );
    assert_eq!(
        clean_code_paste(&format!(
            r#"{{"client_id":"{CLIENT_ID}","client_secret":"{SECRET}"}}"#
        )),
        Err(PasteError::JsonWithoutCode)
    );
    assert_eq!(
        clean_code_paste(r#"{"error":"invalid_code"}"#),
        Err(PasteError::JsonWithoutCode)
    );
    assert_eq!(
        clean_code_paste("{\"code\": "),
        Err(PasteError::InvalidJson)
    );
    assert_eq!(clean_code_paste("{}}"), Err(PasteError::InvalidJson));
}

#[test]
fn rejects_a_bad_code_inside_a_url_or_json() {
    let url = format!("https://example.com/cb?code={}&location=us", &CODE[..50]);
    let e = clean_code_paste(&url).unwrap_err();
    assert!(matches!(e, PasteError::NotACode { .. }));
    assert!(
        message(&e).contains("the code in that URL is 50 characters"),
        "{e}"
    );
    assert_not_leaked(&message(&e), CODE);

    let json = format!(r#"{{"code":"{SECRET}"}}"#);
    let e = clean_code_paste(&json).unwrap_err();
    assert!(
        message(&e).contains("the code in that JSON is 42 characters"),
        "{e}"
    );
    assert_not_leaked(&message(&e), SECRET);

    let e = clean_code_paste(r#"{"code":1000}"#).unwrap_err();
    assert!(message(&e).contains("not text"), "{e}");
}

#[test]
fn rejects_a_self_client_json_with_a_bad_client_id_or_secret() {
    let json = format!(r#"{{"client_id":"{SECRET}","code":"{CODE}"}}"#);
    let e = clean_code_paste(&json).unwrap_err();
    assert_eq!(
        e,
        PasteError::SelfClientField(ShapeError::WrongKind {
            field: Field::ClientId,
            found: Kind::ClientSecret
        })
    );
    assert!(
        message(&e)
            .starts_with("In that self_client.json: That is a client secret, not a client id.")
    );

    let json = format!(r#"{{"client_secret":"xyz","code":"{CODE}"}}"#);
    let e = clean_code_paste(&json).unwrap_err();
    assert!(matches!(
        e,
        PasteError::SelfClientField(ShapeError::Malformed {
            field: Field::ClientSecret,
            ..
        })
    ));
    assert!(!message(&e).contains("xyz"));
}

// ---------------------------------------------------------------------------------------- client id, secret, token

#[test]
fn client_id_accepts_the_shape_cleaned() {
    assert_eq!(clean_client_id(CLIENT_ID).unwrap(), CLIENT_ID);
    assert_eq!(
        clean_client_id(&format!(" '{CLIENT_ID}'\r\n")).unwrap(),
        CLIENT_ID
    );
    let device = CLIENT_ID.replacen("1000", "1004", 1);
    assert_eq!(clean_client_id(&device).unwrap(), device);
}

#[test]
fn client_id_rejections_name_the_field_and_the_fix() {
    assert_eq!(
        clean_client_id("  "),
        Err(ShapeError::Empty {
            field: Field::ClientId
        })
    );
    let e = clean_client_id(SECRET).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::ClientId,
            found: Kind::ClientSecret
        }
    );
    assert_eq!(
        message(&e),
        "That is a client secret, not a client id. Copy the Client ID from your client's Client Secret tab in the Zoho API console."
    );
    let e = clean_client_id(CODE).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::ClientId,
            found: Kind::Code
        }
    );

    let lower = CLIENT_ID.to_lowercase();
    let e = clean_client_id(&lower).unwrap_err();
    assert!(message(&e).contains("lower-case letters"), "{e}");
    assert_not_leaked(&message(&e), &lower.to_uppercase());

    let e = clean_client_id(&CLIENT_ID[..30]).unwrap_err();
    assert_eq!(
        message(&e),
        "The client id does not look right: it is 30 characters, starts with 1000. instead of 35 (cut off?). A client id is 35 characters: four digits, a dot and 30 capital letters and digits. Copy the Client ID from your client's Client Secret tab in the Zoho API console."
    );
    let e = clean_client_id("my-client").unwrap_err();
    assert!(
        message(&e).contains("does not start with four digits"),
        "{e}"
    );
    assert!(!message(&e).contains("my-client"));
    let e = clean_client_id("1000.ABC-DEF").unwrap_err();
    assert!(message(&e).contains("other than letters and digits"), "{e}");
    assert_eq!(
        clean_client_id(&"A".repeat(MAX_PASTE_BYTES + 1)),
        Err(ShapeError::TooLong {
            field: Field::ClientId,
            chars: MAX_PASTE_BYTES + 1
        })
    );
}

#[test]
fn client_secret_accepts_hex_of_either_case() {
    assert_eq!(clean_client_secret(SECRET).unwrap().expose(), SECRET);
    assert_eq!(
        clean_client_secret(&format!("\"{SECRET}\"\n"))
            .unwrap()
            .expose(),
        SECRET
    );
    let upper = SECRET.to_uppercase().replace('0', "A");
    assert_eq!(clean_client_secret(&upper).unwrap().expose(), upper);
}

#[test]
fn client_secret_rejections_never_show_the_value() {
    assert_eq!(
        clean_client_secret(""),
        Err(ShapeError::Empty {
            field: Field::ClientSecret
        })
    );
    let e = clean_client_secret(CLIENT_ID).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::ClientSecret,
            found: Kind::ClientId
        }
    );
    let e = clean_client_secret(CODE).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::ClientSecret,
            found: Kind::Code
        }
    );
    let e = clean_client_secret(&SECRET[..40]).unwrap_err();
    assert!(message(&e).contains("40 characters instead of 42"), "{e}");
    assert_not_leaked(&message(&e), SECRET);
    let bad = SECRET.replacen('a', "z", 1);
    let e = clean_client_secret(&bad).unwrap_err();
    assert!(message(&e).contains("other than 0-9 and a-f"), "{e}");
    assert!(
        message(&e).starts_with("The client secret does not look right"),
        "{e}"
    );
    assert_not_leaked(&message(&e), &bad);
}

#[test]
fn refresh_token_is_code_shaped() {
    assert_eq!(clean_token(CODE).unwrap().expose(), CODE);
    assert_eq!(clean_token(&format!("'{CODE}'\n")).unwrap().expose(), CODE);
    // A whole token response: its refresh_token is taken.
    let refresh = CODE.replace('0', "2");
    let json =
        format!(r#"{{"access_token":"{CODE}","refresh_token":"{refresh}","expires_in":3600}}"#);
    assert_eq!(clean_token(&json).unwrap().expose(), refresh);
}

#[test]
fn refresh_token_rejections() {
    assert_eq!(
        clean_token(""),
        Err(ShapeError::Empty {
            field: Field::RefreshToken
        })
    );
    let e = clean_token(SECRET).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::RefreshToken,
            found: Kind::ClientSecret
        }
    );
    assert_eq!(
        message(&e),
        format!(
            "That is a client secret, not a refresh token. {}",
            Field::RefreshToken.fix()
        )
    );
    let e = clean_token(CLIENT_ID).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::RefreshToken,
            found: Kind::ClientId
        }
    );
    let e = clean_token(&format!(r#"{{"code":"{CODE}"}}"#)).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::RefreshToken,
            found: Kind::SelfClientJson
        }
    );
    let e = clean_token(&format!("https://x.example/?code={CODE}")).unwrap_err();
    assert_eq!(
        e,
        ShapeError::WrongKind {
            field: Field::RefreshToken,
            found: Kind::RedirectUrl
        }
    );
    let e = clean_token(&CODE[..69]).unwrap_err();
    assert!(
        message(&e).starts_with(
            "The refresh token does not look right: it is 69 characters, starts with 1000."
        ),
        "{e}"
    );
    assert_not_leaked(&message(&e), CODE);
}

#[test]
fn describe_gives_length_and_prefix_only() {
    assert_eq!(describe(CODE), "70 characters, starts with 1000.");
    assert_eq!(describe("x"), "1 character");
    assert_eq!(describe("é€"), "2 characters");
}

#[test]
fn debug_of_pasted_hides_the_secrets() {
    let json =
        format!(r#"{{"client_id":"{CLIENT_ID}","client_secret":"{SECRET}","code":"{CODE}"}}"#);
    let shown = format!("{:?}", clean_code_paste(&json).unwrap());
    assert!(!shown.contains(CODE));
    assert!(!shown.contains(SECRET));
    assert!(shown.contains(CLIENT_ID), "the client id is not a secret");
}

// ---------------------------------------------------------------------------------------- properties

fn wrapper() -> impl Strategy<Value = String> {
    // Whitespace of many kinds, quotes (paired by the test) and separators.
    prop::collection::vec(
        prop::sample::select(vec![
            " ", "\t", "\r\n", "\n", "\u{00A0}", "\u{2003}", "\u{3000}", "\u{FEFF}", "\u{200B}",
        ]),
        0..4,
    )
    .prop_map(|v| v.concat())
}

fn code_strategy() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["1000", "1002", "1004"]),
        "[0-9a-f]{32}",
        "[0-9a-f]{32}",
    )
        .prop_map(|(p, a, b)| format!("{p}.{a}.{b}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = strip(&s);
        let _ = looks_like(&s);
        let _ = clean_code_paste(&s);
        let _ = clean_client_id(&s);
        let _ = clean_client_secret(&s);
        let _ = clean_token(&s);
        let _ = is_code_shaped(&s);
    }

    #[test]
    fn never_panics_on_odd_unicode_and_near_misses(
        s in "[\\PC\\u{0300}-\\u{036F}\\u{FEFF}\\u{200B}'\"`{}?=&.:/,; 0-9a-fA-Z]{0,200}"
    ) {
        let _ = strip(&s);
        let _ = looks_like(&s);
        let _ = clean_code_paste(&s);
        let _ = clean_code_paste(&format!("https://x.example/?{s}"));
        let _ = clean_code_paste(&format!("{{\"code\":\"{s}\"}}"));
        let _ = clean_client_id(&format!("1000.{s}"));
        let _ = clean_token(&format!("1000.{s}"));
    }

    #[test]
    fn never_panics_on_very_long_input(s in ".{0,64}", n in 0usize..400) {
        let long = s.repeat(n);
        let _ = strip(&long);
        let _ = looks_like(&long);
        match clean_code_paste(&long) {
            Err(PasteError::TooLong { chars }) => prop_assert!(long.len() > MAX_PASTE_BYTES && chars > 0),
            _ => prop_assert!(long.len() <= MAX_PASTE_BYTES),
        }
    }

    #[test]
    fn a_wrapped_code_is_recovered_exactly(
        code in code_strategy(),
        outer in wrapper(),
        inner in wrapper(),
        split in 0usize..=70,
        quotes in prop::collection::vec(prop::sample::select(vec![('"', '"'), ('\'', '\''), ('`', '`'), ('\u{201C}', '\u{201D}')]), 0..3),
        trailing in prop::sample::select(vec!["", ",", ";"]),
    ) {
        // The code, broken at `split` by whitespace, inside layers of quotes padded by whitespace.
        let mut value = format!("{}{inner}{}", &code[..split], &code[split..]);
        for (open, close) in &quotes {
            value = format!("{outer}{open}{inner}{value}{inner}{close}{outer}");
        }
        let value = format!("{outer}{value}{trailing}{outer}");
        prop_assert_eq!(strip(&value), code.clone());
        prop_assert_eq!(looks_like(&value), Kind::Code);
        let pasted = clean_code_paste(&value).unwrap();
        prop_assert_eq!(pasted.code.expose(), code.as_str());
        prop_assert_eq!(pasted.source, PasteSource::BareCode);
        prop_assert!(is_code_shaped(&value));
        prop_assert_eq!(clean_token(&value).unwrap().expose().to_string(), code.clone());
    }

    #[test]
    fn a_code_in_a_redirect_or_json_is_recovered(code in code_strategy(), state in "[A-Za-z0-9_-]{0,20}") {
        let url = format!("https://example.com/cb?state={state}&code={code}&location=us&accounts-server=https%3A%2F%2Faccounts.zoho.com&");
        let p = clean_code_paste(&url).unwrap();
        prop_assert_eq!(p.code.expose(), code.as_str());
        prop_assert_eq!(p.accounts_server.as_deref(), Some("https://accounts.zoho.com"));
        let json = format!("{{\"code\":\"{code}\",\"scope\":[\"ZohoBooks.fullaccess.all\"]}}");
        prop_assert_eq!(clean_code_paste(&json).unwrap().code.expose().to_string(), code.clone());
    }

    #[test]
    fn errors_never_contain_the_value(body in "[0-9a-fA-Z]{20,69}") {
        let value = format!("1000.{body}");
        for msg in [
            clean_code_paste(&value).err().map(|e| e.to_string()),
            clean_client_id(&value).err().map(|e| e.to_string()),
            clean_client_secret(&value).err().map(|e| e.to_string()),
            clean_token(&value).err().map(|e| e.to_string()),
        ].into_iter().flatten() {
            prop_assert!(!msg.contains(&body), "{}", msg);
        }
    }
}
