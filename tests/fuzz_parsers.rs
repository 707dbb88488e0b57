//! Bounded fuzzing (property tests with many cases) of the two parsers that see untrusted text:
//! the paste cleaner (`auth::clean`) and the env file editor (`auth::envfile`). None may panic;
//! cleaning is idempotent; errors never quote the value; an edited file reads back what was set,
//! or the edit is refused because a quote in the file is never closed.
//!
//! `cargo test` runs a few cases per property; `.ci/run` sets `ZOHO_AUTH_FUZZ_CASES` for a bounded
//! long run (a few minutes). Failing inputs are kept in `tests/fuzz_parsers.proptest-regressions`.

use proptest::prelude::*;
use std::path::PathBuf;
use zoho_auth::auth::clean::{
    self, Kind, MAX_PASTE_BYTES, clean_client_id, clean_client_secret, clean_code_paste,
    clean_token, looks_like, strip,
};

use zoho_auth::auth::envfile::{EnvError, EnvFile, apply, check_update};

fn config() -> ProptestConfig {
    let cases = std::env::var("ZOHO_AUTH_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    ProptestConfig {
        cases,
        // Shrinking a failure can take long with many cases; a failure is a failure.
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    }
}

const CODE: &str = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210";
const ID: &str = "1000.0SQKHCOMCQOBELBGMDTL9K1904GNIX";
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789";

/// Text that looks like what people paste: pieces of codes, URLs, JSON, quotes, whitespace,
/// zero-width characters, env lines, and arbitrary Unicode.
fn paste() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(CODE.to_string()),
        Just(ID.to_string()),
        Just(SECRET.to_string()),
        Just("https://example.com/cb?".to_string()),
        Just("code=".to_string()),
        Just("&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu".to_string()),
        Just("error=access_denied".to_string()),
        Just("{\"code\":\"".to_string()),
        Just("\",\"client_id\":\"".to_string()),
        Just("\"refresh_token\":".to_string()),
        Just("}".to_string()),
        Just("ZOHO_REFRESH_TOKEN=".to_string()),
        Just("export ".to_string()),
        "[\"'`\u{201c}\u{201d}\u{2018}\u{2019},; \t\r\n\u{feff}\u{200b}=?&#{}\\[\\]:%.]{0,6}",
        "[0-9a-fA-F.]{0,40}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

/// Secret-like values (hex, digits, dots, capitals), at least 12 characters: no message may
/// contain one whole.
fn secretish() -> impl Strategy<Value = String> {
    "[0-9a-fA-F.A-Z]{12,90}"
}

/// An env file path in a folder of its own: `check_update` probes the folder with a temp file.
fn scratch_env() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .join(".env")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_cleaner_never_panics_on_pastes(text in paste()) {
        let stripped = strip(&text);
        prop_assert_eq!(strip(&stripped), stripped.clone(), "strip is idempotent");
        prop_assert!(!stripped.chars().any(char::is_whitespace));
        let kind = looks_like(&text);
        let cleaned = clean_code_paste(&text);
        if let Ok(pasted) = &cleaned {
            let code = pasted.code.expose();
            prop_assert_eq!(looks_like(code), Kind::Code);
            prop_assert!(clean::is_code_shaped(code));
            // Cleaning a clean code gives it back.
            let again = clean_code_paste(code).unwrap();
            prop_assert_eq!(again.code.expose(), code);
        }
        if kind == Kind::Code {
            prop_assert!(cleaned.is_ok(), "a code-shaped paste is accepted: {:?}", text);
        }
        for result in [
            clean_client_id(&text).map(|_| ()),
            clean_client_secret(&text).map(|_| ()),
            clean_token(&text).map(|_| ()),
        ] {
            let _ = result.map_err(|e| e.to_string());
        }
        let _ = clean::describe(&text);
    }

    #[test]
    fn the_cleaner_never_panics_on_any_text(text in any::<String>()) {
        let _ = looks_like(&text);
        let _ = clean_code_paste(&text).map_err(|e| e.to_string());
        let _ = clean_client_id(&text).map_err(|e| e.to_string());
        let _ = clean_client_secret(&text).map_err(|e| e.to_string());
        let _ = clean_token(&text).map_err(|e| e.to_string());
        prop_assert_eq!(strip(&strip(&text)), strip(&text));
    }

    #[test]
    fn errors_never_quote_the_value(value in secretish(), pad in "[ \"'\n]{0,3}") {
        let text = format!("{pad}{value}{pad}");
        let messages = [
            clean_code_paste(&text).err().map(|e| e.to_string()),
            clean_client_id(&text).err().map(|e| e.to_string()),
            clean_client_secret(&text).err().map(|e| e.to_string()),
            clean_token(&text).err().map(|e| e.to_string()),
        ];
        for message in messages.into_iter().flatten() {
            prop_assert!(!message.contains(&value), "{:?} quoted in {:?}", value, message);
        }
    }

    #[test]
    fn the_cleaner_handles_huge_pastes(n in (MAX_PASTE_BYTES - 2)..(MAX_PASTE_BYTES * 3), c in any::<char>()) {
        let text: String = std::iter::repeat_n(c, n / c.len_utf8() + 1).collect();
        let _ = looks_like(&text);
        let _ = clean_code_paste(&text);
        let _ = clean_client_secret(&text);
    }

    #[test]
    fn the_env_parser_never_panics_and_renders_back(text in any::<String>()) {
        let file = EnvFile::parse(&text);
        prop_assert_eq!(file.render(), text);
        for key in file.keys() {
            let _ = file.get(&key);
        }
        let _ = file.lines().count();
    }

    #[test]
    fn set_then_get_reads_back_on_any_file(
        text in prop_oneof![
            any::<String>(),
            "([A-Za-z_ =#'\"\\\\$\\{\\}\r\n\t.`]|export |ZOHO_CLIENT_ID|\u{feff}){0,80}",
        ],
        value in prop_oneof![
            "[A-Za-z0-9._,:/=@+-]{0,70}",
            "[ a'\"`\\\\$#=\n\r\t{}.-]{0,12}",
            any::<String>(),
        ],
        key in prop_oneof![Just("ZOHO_CLIENT_ID"), Just("ZOHO_REFRESH_TOKEN"), Just("A")],
    ) {
        let mut file = EnvFile::parse(&text);
        // Refused for the file when a quote is never closed (the value would be swallowed) or
        // when no quoting keeps the value safe from a shell; in memory the latter still reads back.
        let check = check_update(&scratch_env(), &file, &[(key, Some(value.as_str()))]);
        match check {
            Ok(()) | Err(EnvError::UnsafeValue { .. }) => {}
            Err(e) => {
                prop_assert!(file.unclosed_quote().is_some(), "refused: {}", e);
                return Ok(());
            }
        }
        let others: Vec<(String, Option<String>)> = file
            .keys()
            .into_iter()
            .filter(|k| k != key)
            .map(|k| {
                let v = file.get(&k);
                (k, v)
            })
            .collect();
        file.set(key, &value);
        let rendered = file.render();
        let reread = EnvFile::parse(&rendered);
        prop_assert_eq!(reread.get(key), Some(value.clone()), "in {:?}", rendered);
        for (k, v) in &others {
            prop_assert_eq!(&reread.get(k), v, "untouched {} in {:?}", k, rendered);
        }
        let mut removed = reread.clone();
        removed.remove(key);
        prop_assert_eq!(EnvFile::parse(&removed.render()).get(key), None);
        let changes = apply(&mut EnvFile::parse(&rendered), &[(key, Some(value.as_str()))]);
        prop_assert!(changes.iter().all(|c| !c.is_change()), "setting the same value changes nothing");
    }
}
