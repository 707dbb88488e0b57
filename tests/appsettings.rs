//! Merging the `Zoho` section into .NET appsettings.json: comments, trailing commas, nesting, key
//! order and every byte outside our values kept; atomic write with a backup; clear errors.

use std::fs;
use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use zoho_auth::auth::Secret;
use zoho_auth::auth::appsettings::{self, AppSettingsError, ZohoSection};
use zoho_auth::auth::envfile;

fn section() -> ZohoSection {
    ZohoSection {
        client_id: "1000.NEWCLIENTID".into(),
        client_secret: Secret::new("0123456789abcdefSECRET"),
        refresh_token: Secret::new("1000.refresh.TOKEN"),
        accounts_url: "https://accounts.zoho.eu".into(),
        api_domain: "https://www.zohoapis.eu".into(),
        organization_id: Some("60012345678".into()),
    }
}

fn zoho_json() -> Value {
    json!({
        "ClientId": "1000.NEWCLIENTID",
        "ClientSecret": "0123456789abcdefSECRET",
        "RefreshToken": "1000.refresh.TOKEN",
        "AccountsUrl": "https://accounts.zoho.eu",
        "ApiDomain": "https://www.zohoapis.eu",
        "OrganizationId": "60012345678"
    })
}

/// Reads JSON with comments and trailing commas (as .NET does) through serde_json: comments and
/// commas before a closing bracket are removed outside strings, and a BOM is dropped.
fn parse_jsonc(text: &str) -> Value {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
            i += 1;
        } else if c == '"' {
            in_string = true;
            out.push(c);
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '}' || c == ']' {
            let trimmed = out.trim_end().len();
            if out[..trimmed].ends_with(',') {
                out.truncate(trimmed - 1);
            }
            out.push(c);
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON after stripping: {e}\n{out}"))
}

/// The byte offsets of each `"key":` in order, to check that keys kept their order.
fn positions(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|k| {
            text.find(&format!("\"{k}\""))
                .unwrap_or_else(|| panic!("{k} missing"))
        })
        .collect()
}

fn merge_file(original: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.json");
    fs::write(&path, original).unwrap();
    appsettings::merge_zoho_section(&path, &section()).unwrap();
    let out = fs::read_to_string(&path).unwrap();
    let backup = fs::read_to_string(dir.path().join("appsettings.json.bak")).unwrap();
    assert_eq!(backup, original, "the previous file is kept as a backup");
    (dir, out)
}

const TEMPLATE: &str = r#"{
  // Logging configuration
  "Logging": {
    "LogLevel": {
      "Default": "Information",
      "Microsoft.AspNetCore": "Warning", /* trailing comma below */
    },
  },
  "ConnectionStrings": {
    "Default": "Server=.;Database=app;Trusted_Connection=True;" // local only
  },
  "AllowedHosts": "*",
  "Features": [ "a", "b", ],
  "Limits": { "Max": 10, "Ratio": -1.5e3, "On": true, "Off": null }
}
"#;

#[test]
fn adds_the_section_last_and_keeps_every_other_byte() {
    let (_dir, out) = merge_file(TEMPLATE);
    let expected = TEMPLATE.replace(
        "\"Off\": null }\n}",
        "\"Off\": null },\n  \"Zoho\": {\n    \"ClientId\": \"1000.NEWCLIENTID\",\n    \"ClientSecret\": \"0123456789abcdefSECRET\",\n    \"RefreshToken\": \"1000.refresh.TOKEN\",\n    \"AccountsUrl\": \"https://accounts.zoho.eu\",\n    \"ApiDomain\": \"https://www.zohoapis.eu\",\n    \"OrganizationId\": \"60012345678\"\n  }\n}",
    );
    assert_eq!(out, expected);
    let v = parse_jsonc(&out);
    assert_eq!(v["Zoho"], zoho_json());
    assert_eq!(v["Logging"]["LogLevel"]["Default"], "Information");
    assert_eq!(v["Features"], json!(["a", "b"]));
    let order = positions(
        &out,
        &[
            "Logging",
            "ConnectionStrings",
            "AllowedHosts",
            "Features",
            "Limits",
            "Zoho",
        ],
    );
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn updates_an_existing_section_in_place() {
    let original = r#"{
    "Zoho": {
        // ours, but old
        "clientid": "1000.OLD",
        "Region": "eu", // not ours: kept
        "RefreshToken": "1000.old.token",
        "OrganizationId": 42
    },
    "After": { "Zoho": "a nested key of the same name is not the section" }
}"#;
    let (_dir, out) = merge_file(original);
    assert_eq!(
        out,
        r#"{
    "Zoho": {
        // ours, but old
        "clientid": "1000.NEWCLIENTID",
        "Region": "eu", // not ours: kept
        "RefreshToken": "1000.refresh.TOKEN",
        "OrganizationId": "60012345678",
        "ClientSecret": "0123456789abcdefSECRET",
        "AccountsUrl": "https://accounts.zoho.eu",
        "ApiDomain": "https://www.zohoapis.eu"
    },
    "After": { "Zoho": "a nested key of the same name is not the section" }
}"#
    );
    let v = parse_jsonc(&out);
    assert_eq!(v["Zoho"]["Region"], "eu");
    assert_eq!(
        v["After"]["Zoho"],
        "a nested key of the same name is not the section"
    );
}

#[test]
fn keeps_trailing_commas_comments_crlf_bom_and_tabs() {
    let original = "\u{feff}{\r\n\t\"A\": 1, // first\r\n\t\"B\": [1, 2],\r\n}\r\n";
    let (_dir, out) = merge_file(original);
    assert!(out.starts_with("\u{feff}{\r\n\t\"A\": 1, // first\r\n\t\"B\": [1, 2],\r\n\t\"Zoho\": {\r\n\t\t\"ClientId\""), "{out:?}");
    assert!(
        out.ends_with("\t\t\"OrganizationId\": \"60012345678\"\r\n\t},\r\n}\r\n"),
        "{out:?}"
    );
    assert!(
        !out.replace("\r\n", "").contains('\n'),
        "only CRLF line endings"
    );
    assert_eq!(parse_jsonc(&out)["Zoho"], zoho_json());
}

#[test]
fn comment_after_the_last_member_stays_on_its_line() {
    let original = "{\n  \"A\": \"x\" // why A\n}\n";
    let (_dir, out) = merge_file(original);
    assert!(
        out.starts_with("{\n  \"A\": \"x\", // why A\n  \"Zoho\": {\n    \"ClientId\""),
        "{out}"
    );
    assert_eq!(parse_jsonc(&out)["A"], "x");
}

#[test]
fn empty_root_and_empty_section() {
    let (_dir, out) = merge_file("{ }\n");
    assert_eq!(parse_jsonc(&out), json!({ "Zoho": zoho_json() }));
    let (_dir, out) = merge_file("{\n  \"Zoho\": {},\n  \"B\": 2\n}\n");
    assert!(
        out.starts_with("{\n  \"Zoho\": {\n    \"ClientId\": \"1000.NEWCLIENTID\",\n"),
        "{out}"
    );
    assert!(out.ends_with("\n  },\n  \"B\": 2\n}\n"), "{out}");
    assert_eq!(parse_jsonc(&out)["Zoho"], zoho_json());
}

#[test]
fn missing_file_is_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.Development.json");
    appsettings::merge_zoho_section(&path, &section()).unwrap();
    let out = fs::read_to_string(&path).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({ "Zoho": zoho_json() })
    );
    assert!(!dir.path().join("appsettings.Development.json.bak").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn merging_twice_changes_nothing_the_second_time() {
    let (dir, once) = merge_file(TEMPLATE);
    let path = dir.path().join("appsettings.json");
    fs::remove_file(dir.path().join("appsettings.json.bak")).unwrap();
    appsettings::merge_zoho_section(&path, &section()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), once);
    assert!(
        !dir.path().join("appsettings.json.bak").exists(),
        "no write when nothing changes"
    );
}

#[test]
fn organization_id_none_keeps_the_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.json");
    fs::write(&path, "{\"Zoho\": {\"OrganizationId\": \"111\"}}").unwrap();
    let mut values = section();
    values.organization_id = None;
    appsettings::merge_zoho_section(&path, &values).unwrap();
    let v = parse_jsonc(&fs::read_to_string(&path).unwrap());
    assert_eq!(v["Zoho"]["OrganizationId"], "111");
    assert_eq!(v["Zoho"]["ClientId"], "1000.NEWCLIENTID");
}

#[test]
fn values_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.json");
    let mut values = section();
    values.client_id = "quote\" back\\slash \u{1} ünï".into();
    appsettings::merge_zoho_section(&path, &values).unwrap();
    let v = parse_jsonc(&fs::read_to_string(&path).unwrap());
    assert_eq!(v["Zoho"]["ClientId"], "quote\" back\\slash \u{1} ünï");
}

fn assert_refused(original: &str, check: impl Fn(&AppSettingsError, &str)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.json");
    fs::write(&path, original).unwrap();
    let err = appsettings::merge_zoho_section(&path, &section()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("appsettings.json"), "{message}");
    assert!(
        !message.contains("SECRET") && !message.contains("TOKEN"),
        "{message}"
    );
    check(&err, &message);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        original,
        "file untouched"
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no backup, no temp file"
    );
}

#[test]
fn invalid_json_names_the_file_and_line() {
    assert_refused(
        "{\n  \"A\": 1,\n  \"B\": 2\n  \"C\": 3\n}\n",
        |err, message| {
            assert!(
                matches!(
                    err,
                    AppSettingsError::Invalid {
                        line: 4,
                        column: 3,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(message.contains("line 4"), "{message}");
        },
    );
    assert_refused("{ \"A\": 'single' }", |err, _| {
        assert!(
            matches!(
                err,
                AppSettingsError::Invalid {
                    line: 1,
                    column: 8,
                    ..
                }
            ),
            "{err:?}"
        );
    });
    assert_refused("{ \"A\": 1 /* never closed", |err, _| {
        assert!(matches!(err, AppSettingsError::Invalid { .. }), "{err:?}");
    });
    assert_refused("{ \"A\": tru }", |err, _| {
        assert!(matches!(err, AppSettingsError::Invalid { .. }), "{err:?}");
    });
    assert_refused("{ \"A\": 1 } extra", |err, _| {
        assert!(matches!(err, AppSettingsError::Invalid { .. }), "{err:?}");
    });
    assert_refused(
        &format!("{}1{}", "[".repeat(500), "]".repeat(500)),
        |err, _| {
            assert!(
                matches!(
                    err,
                    AppSettingsError::NotAnObject { .. } | AppSettingsError::Invalid { .. }
                ),
                "{err:?}"
            );
        },
    );
}

#[test]
fn wrong_shapes_are_refused() {
    assert_refused("[1, 2]", |err, _| {
        assert!(
            matches!(err, AppSettingsError::NotAnObject { .. }),
            "{err:?}"
        );
    });
    assert_refused("{\n  \"Zoho\": \"not an object\"\n}", |err, message| {
        assert!(
            matches!(err, AppSettingsError::SectionNotAnObject { line: 2, .. }),
            "{err:?}"
        );
        assert!(message.contains("line 2"), "{message}");
    });
}

#[test]
fn not_utf8_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.json");
    fs::write(&path, b"{\"A\": \"\xff\"}").unwrap();
    let err = appsettings::merge_zoho_section(&path, &section()).unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"{\"A\": \"\xff\"}");
}

#[test]
fn secrets_do_not_show_in_debug() {
    let debug = format!("{:?}", section());
    assert!(
        !debug.contains("SECRET") && !debug.contains("TOKEN"),
        "{debug}"
    );
}

#[test]
fn realistic_files_from_the_fixtures_folder_merge() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/appsettings");
    let mut count = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let original = fs::read_to_string(&path).unwrap();
        let merged = appsettings::merge_text(&original, &section())
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let before = parse_jsonc(&original);
        let after = parse_jsonc(&merged);
        for (key, value) in before.as_object().unwrap() {
            if key != "Zoho" {
                assert_eq!(&after[key], value, "{}: {key}", path.display());
            }
        }
        for (key, value) in zoho_json().as_object().unwrap() {
            assert_eq!(&after["Zoho"][key], value, "{}: Zoho.{key}", path.display());
        }
        // Every line that holds none of our values is still there, as it was (a comma may follow).
        let ours = [
            "clientid",
            "clientsecret",
            "refreshtoken",
            "accountsurl",
            "apidomain",
            "organizationid",
        ];
        for line in original.lines() {
            let lower = line.to_lowercase();
            if ours.iter().any(|k| lower.contains(k)) {
                continue;
            }
            let line = line.replace(',', "");
            assert!(
                merged.replace(',', "").contains(&line),
                "{}: lost {line:?}",
                path.display()
            );
        }
        count += 1;
    }
    assert!(count >= 3);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.json");
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: c_path is NUL-terminated.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    let fifo = path.clone();
    std::thread::spawn(move || {
        let section = section();
        let _ = tx.send(
            appsettings::merge_zoho_section(&fifo, &section)
                .map_err(|e| e.to_string())
                .err(),
        );
    });
    // A hang guard only: the answer comes at once.
    let err = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("a FIFO is refused instead of read")
        .expect("refused");
    assert!(err.contains("not a regular file"), "{err}");
    assert!(envfile::check_writable(&path, 100).is_err());
}
