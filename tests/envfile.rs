//! The env file editor: hand-written tricky files with reviewed expected results, property tests of
//! byte preservation and read-back (by `EnvFile::get` and by dotenvy), atomic writes, and a writer
//! killed with SIGKILL between every two steps.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use zoho_auth::auth::envfile::{self, Change, EnvError, EnvFile, GitignoreStatus};
#[cfg(unix)]
use zoho_auth::auth::envfile::{PAUSE_ENV, PAUSE_STEPS};

/// The update every fixture gets: what a successful `exchange` writes, plus removing a stale
/// access token.
const STANDARD_UPDATE: &[(&str, Option<&str>)] = &[
    ("ZOHO_CLIENT_ID", Some("1000.NEWCLIENTID0123456789")),
    (
        "ZOHO_REFRESH_TOKEN",
        Some("1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"),
    ),
    ("ZOHO_API_DOMAIN", Some("https://www.zohoapis.eu")),
    (
        "ZOHO_SCOPES",
        Some("ZohoBooks.fullaccess.all,ZohoBooks.settings.READ"),
    ),
    ("ZOHO_ACCESS_TOKEN", None),
];

/// What dotenvy reads from `text`: the last value of each key, skipping lines it rejects. The BOM
/// is removed first, as `dotenvy::from_path` does.
fn dotenvy_map(text: &str) -> BTreeMap<String, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut map = BTreeMap::new();
    for (k, v) in dotenvy::from_read_iter(text.as_bytes()).flatten() {
        map.insert(k, v);
    }
    map
}

/// Like `dotenvy_map`, but every line must be accepted.
fn dotenvy_map_strict(text: &str) -> BTreeMap<String, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut map = BTreeMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        let (k, v) = item.unwrap_or_else(|e| panic!("dotenvy rejected {text:?}: {e}"));
        map.insert(k, v);
    }
    map
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/env");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "env"))
        .collect();
    files.sort();
    files
}

/// Each fixture `NAME.env` has a reviewed `NAME.expected`: the file after `STANDARD_UPDATE`.
/// `BLESS=1 cargo test --test envfile fixtures` writes missing ones for review.
#[test]
fn fixtures_after_the_standard_update() {
    let files = fixtures();
    assert!(files.len() >= 15, "at least 15 tricky files");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = fs::read_to_string(&path).unwrap();
        let mut file = EnvFile::parse(&input);
        assert_eq!(
            file.render(),
            input,
            "{name}: parse + render is the identity"
        );
        let before = dotenvy_map(&input);

        envfile::apply(&mut file, STANDARD_UPDATE);
        let output = file.render();

        let expected_path = path.with_extension("expected");
        if std::env::var_os("BLESS").is_some() && !expected_path.exists() {
            fs::write(&expected_path, &output).unwrap();
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{name}: missing {}", expected_path.display()));
        assert_eq!(output, expected, "{name}");

        // The file as written reads back the new values, with our reader and with dotenvy.
        let reread = EnvFile::parse(&output);
        let after = dotenvy_map(&output);
        for &(key, value) in STANDARD_UPDATE {
            assert_eq!(reread.get(key).as_deref(), value, "{name}: {key} (EnvFile)");
            // An unterminated quote makes dotenvy swallow the rest of the file, appended lines too.
            if name != "18-unterminated-quote.env" {
                assert_eq!(
                    after.get(key).map(String::as_str),
                    value,
                    "{name}: {key} (dotenvy)"
                );
            }
        }
        // Keys we did not touch read back as before.
        for (key, value) in &before {
            if STANDARD_UPDATE.iter().all(|(k, _)| k != key) {
                assert_eq!(after.get(key), Some(value), "{name}: untouched {key}");
            }
        }
        // Every untouched line is byte-identical (the last one may gain a line ending).
        let touched: BTreeSet<&str> = STANDARD_UPDATE.iter().map(|(k, _)| *k).collect();
        assert_untouched_lines_kept(&input, &output, &touched, &name);
        assert_eq!(
            reread.has_bom(),
            input.starts_with('\u{feff}'),
            "{name}: BOM"
        );
    }
}

fn assert_untouched_lines_kept(input: &str, output: &str, touched: &BTreeSet<&str>, what: &str) {
    let keep = |l: &envfile::EnvLine| l.key.is_none_or(|k| !touched.contains(k));
    let old_file = EnvFile::parse(input);
    let new_file = EnvFile::parse(output);
    let old: Vec<&str> = old_file.lines().filter(keep).map(|l| l.raw).collect();
    let new: Vec<&str> = new_file.lines().filter(keep).map(|l| l.raw).collect();
    assert_eq!(old.len(), new.len(), "{what}: untouched line count");
    let last_input_line = old_file.lines().last().map(|l| l.raw);
    for (o, n) in old.iter().zip(&new) {
        if Some(*o) == last_input_line && !o.ends_with('\n') {
            assert!(
                n == o || n.strip_prefix(o).is_some_and(|e| e == "\n" || e == "\r\n"),
                "{what}: last line {o:?} became {n:?}"
            );
        } else {
            assert_eq!(o, n, "{what}: untouched line changed");
        }
    }
}

#[test]
fn no_write_when_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    fs::write(&path, "ZOHO_CLIENT_ID=1000.A\n").unwrap();
    let changes = envfile::update(
        &path,
        &[("ZOHO_CLIENT_ID", Some("1000.A")), ("ZOHO_DC", None)],
    )
    .unwrap();
    assert_eq!(
        changes,
        vec![
            Change::Unchanged("ZOHO_CLIENT_ID".into()),
            Change::Unchanged("ZOHO_DC".into())
        ]
    );
    assert!(
        !envfile::backup_path(&path).exists(),
        "nothing written, no backup"
    );
}

#[test]
fn update_creates_then_edits_with_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let changes = envfile::update(&path, &[("ZOHO_DC", Some("eu"))]).unwrap();
    assert_eq!(changes, vec![Change::Added("ZOHO_DC".into())]);
    assert_eq!(fs::read_to_string(&path).unwrap(), "ZOHO_DC=eu\n");
    assert!(
        !envfile::backup_path(&path).exists(),
        "no previous file, no backup"
    );

    let changes = envfile::update(
        &path,
        &[("ZOHO_DC", Some("in")), ("ZOHO_SCOPES", Some("a,b"))],
    )
    .unwrap();
    assert_eq!(
        changes,
        vec![
            Change::Updated("ZOHO_DC".into()),
            Change::Added("ZOHO_SCOPES".into())
        ]
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "ZOHO_DC=in\nZOHO_SCOPES=a,b\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join(".env.bak")).unwrap(),
        "ZOHO_DC=eu\n"
    );
    let changes = envfile::update(&path, &[("ZOHO_DC", None)]).unwrap();
    assert_eq!(changes, vec![Change::Removed("ZOHO_DC".into())]);
    assert_eq!(fs::read_to_string(&path).unwrap(), "ZOHO_SCOPES=a,b\n");
    let names: BTreeSet<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, BTreeSet::from([".env".into(), ".env.bak".into()]));
}

#[cfg(unix)]
#[test]
fn written_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    fs::write(&path, "A=1\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    envfile::write_atomic(&path, "A=2\n").unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&envfile::backup_path(&path)), 0o600);
}

#[cfg(unix)]
#[test]
fn a_symlinked_env_file_stays_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.env");
    let link = dir.path().join(".env");
    fs::write(&real, "A=1\n").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    envfile::update(&link, &[("A", Some("2"))]).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "A=2\n");
    assert_eq!(
        fs::read_to_string(dir.path().join("real.env.bak")).unwrap(),
        "A=1\n"
    );
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a folder: refused before any temp file is written.
    let target = dir.path().join("taken");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("inside"), "x").unwrap();
    let err = envfile::write_atomic(&target, "A=1\n").unwrap_err();
    assert!(matches!(err, EnvError::NotAFile { .. }), "{err:?}");
    assert!(err.to_string().contains("taken"), "{err}");
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["taken".to_string()], "no temp file left");

    let missing = dir.path().join("no/such/folder/.env");
    let err = envfile::write_atomic(&missing, "A=1\n").unwrap_err();
    assert!(err.to_string().contains("no/such/folder"), "{err}");
}

#[test]
fn load_reports_missing_and_non_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    assert!(envfile::load(&path).unwrap().is_none());
    fs::write(&path, b"A=\xff\xfe\n").unwrap();
    let err = envfile::load(&path).unwrap_err();
    assert!(matches!(err, EnvError::NotUtf8 { .. }));
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert!(err.to_string().contains("UTF-8"), "{err}");
    // Not UTF-8: update refuses and leaves the file alone.
    assert!(envfile::update(&path, &[("A", Some("1"))]).is_err());
    assert_eq!(fs::read(&path).unwrap(), b"A=\xff\xfe\n");
}

#[test]
fn preview_masks_secrets() {
    let old = EnvFile::parse("ZOHO_CLIENT_ID=1000.OLD\nZOHO_REFRESH_TOKEN=1000.aaaa.bbbb\n");
    let lines = envfile::preview(
        Some(&old),
        &[
            ("ZOHO_CLIENT_ID", Some("1000.NEW")),
            ("ZOHO_REFRESH_TOKEN", Some("1000.cccc.dddd")),
            ("ZOHO_DC", Some("eu")),
            ("ZOHO_ACCESS_TOKEN", None),
        ],
        envfile::is_secret_key,
    );
    let rows: Vec<(String, Change, Option<String>, Option<String>)> = lines
        .into_iter()
        .map(|l| (l.key, l.change, l.old, l.new))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "ZOHO_CLIENT_ID".into(),
                Change::Updated("ZOHO_CLIENT_ID".into()),
                Some("1000.OLD".into()),
                Some("1000.NEW".into())
            ),
            (
                "ZOHO_REFRESH_TOKEN".into(),
                Change::Updated("ZOHO_REFRESH_TOKEN".into()),
                Some("1000.****… (14 chars)".into()),
                Some("1000.****… (14 chars)".into())
            ),
            (
                "ZOHO_DC".into(),
                Change::Added("ZOHO_DC".into()),
                None,
                Some("eu".into())
            ),
            (
                "ZOHO_ACCESS_TOKEN".into(),
                Change::Unchanged("ZOHO_ACCESS_TOKEN".into()),
                None,
                None
            ),
        ]
    );
    let debug = format!(
        "{:?}",
        envfile::preview(
            None,
            &[("ZOHO_CLIENT_SECRET", Some("s3cr3tvalue"))],
            envfile::is_secret_key
        )
    );
    assert!(!debug.contains("s3cr3tvalue"), "{debug}");
}

#[test]
fn shadowing_vars_lists_zoho_keys_set_in_the_environment() {
    let env = |k: &str| match k {
        "ZOHO_CLIENT_ID" | "PATH" => Some("x".to_string()),
        _ => None,
    };
    assert_eq!(
        envfile::shadowing_vars(&["ZOHO_CLIENT_ID", "ZOHO_DC", "PATH"], env),
        vec!["ZOHO_CLIENT_ID".to_string()]
    );
}

#[test]
fn gitignore_status_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, "A=1\n").unwrap();
    assert_eq!(envfile::gitignore_status(&env), GitignoreStatus::NotARepo);

    fs::create_dir(dir.path().join(".git")).unwrap();
    let git_ok = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(git_ok || dir.path().join(".git").exists());
    fs::write(dir.path().join(".gitignore"), "target\n# comment").unwrap();
    assert_eq!(envfile::gitignore_status(&env), GitignoreStatus::NotIgnored);

    envfile::add_to_gitignore(&env).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "target\n# comment\n/.env\n/.env.bak\n"
    );
    assert_eq!(envfile::gitignore_status(&env), GitignoreStatus::Ignored);
    assert_eq!(
        envfile::gitignore_status(&envfile::backup_path(&env)),
        GitignoreStatus::Ignored
    );
    // Idempotent.
    envfile::add_to_gitignore(&env).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "target\n# comment\n/.env\n/.env.bak\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Crash safety: the writer, run in a child process, is killed with SIGKILL at each pause point.

#[cfg(unix)]
const OLD: &str = "# old file\nZOHO_CLIENT_ID=1000.OLD\nZOHO_REFRESH_TOKEN=1000.old.token\n";
#[cfg(unix)]
const NEW: &str =
    "# old file\nZOHO_CLIENT_ID=1000.NEW\nZOHO_REFRESH_TOKEN=1000.new.token.that.is.longer\n";
#[cfg(unix)]
const CHILD_ENV: &str = "ZOHO_AUTH_TEST_CRASH_CHILD";

/// Does nothing in a normal run. As the child of `a_killed_writer_leaves_old_or_new_file`, writes
/// `NEW` over the file named by `ZOHO_AUTH_TEST_CRASH_CHILD`.
#[cfg(unix)]
#[test]
fn crash_child() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        envfile::write_atomic(Path::new(&path), NEW).unwrap();
    }
}

#[cfg(unix)]
fn spawn_writer(env: &Path, pause_dir: &Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, env)
        .env(PAUSE_ENV, pause_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
fn wait_for(path: &Path, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("writer exited ({status}) before {}", path.display());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(unix)]
#[test]
fn a_killed_writer_leaves_old_or_new_file() {
    use std::os::unix::fs::PermissionsExt;
    for (i, step) in PAUSE_STEPS.iter().enumerate() {
        for with_previous_backup in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let pause = tempfile::tempdir().unwrap();
            let env = dir.path().join(".env");
            let bak = envfile::backup_path(&env);
            fs::write(&env, OLD).unwrap();
            if with_previous_backup {
                fs::write(&bak, "# an older backup\n").unwrap();
            }
            for earlier in &PAUSE_STEPS[..i] {
                fs::write(pause.path().join(format!("{earlier}.go")), "").unwrap();
            }
            let mut child = spawn_writer(&env, pause.path());
            wait_for(&pause.path().join(format!("{step}.reached")), &mut child);
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();

            let what = format!("killed at {step} (older backup: {with_previous_backup})");
            let content = fs::read_to_string(&env).unwrap();
            let renamed = PAUSE_STEPS.iter().position(|s| *s == "renamed").unwrap();
            let backed_up = PAUSE_STEPS
                .iter()
                .position(|s| *s == "backup-written")
                .unwrap();
            if i >= renamed {
                assert_eq!(content, NEW, "{what}");
                let mode = fs::metadata(&env).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{what}");
            } else {
                assert_eq!(content, OLD, "{what}");
            }
            if i >= backed_up {
                assert_eq!(fs::read_to_string(&bak).unwrap(), OLD, "{what}: backup");
            } else if with_previous_backup {
                assert_eq!(
                    fs::read_to_string(&bak).unwrap(),
                    "# an older backup\n",
                    "{what}: older backup intact"
                );
            } else {
                assert!(!bak.exists(), "{what}: no partial backup");
            }
            // Whatever else is left is a hidden temp file, never the env file's name.
            for entry in fs::read_dir(dir.path()).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                assert!(
                    name == ".env"
                        || name == ".env.bak"
                        || (name.starts_with(".env.zoho-auth.") && name.ends_with(".tmp")),
                    "{what}: unexpected {name}"
                );
            }
        }
    }

    // Not killed: the new file, the backup, and nothing else.
    let dir = tempfile::tempdir().unwrap();
    let pause = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, OLD).unwrap();
    for step in PAUSE_STEPS {
        fs::write(pause.path().join(format!("{step}.go")), "").unwrap();
    }
    let status = spawn_writer(&env, pause.path()).wait().unwrap();
    assert!(status.success());
    assert_eq!(fs::read_to_string(&env).unwrap(), NEW);
    assert_eq!(fs::read_to_string(envfile::backup_path(&env)).unwrap(), OLD);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// One generated line: the key it assigns (if any) and its exact text without the line ending.
#[derive(Debug, Clone)]
struct Line {
    key: Option<String>,
    text: String,
}

const KEYS: &[&str] = &[
    "ZOHO_CLIENT_ID",
    "ZOHO_CLIENT_SECRET",
    "ZOHO_REFRESH_TOKEN",
    "ZOHO_SCOPES",
    "ZOHO_API_DOMAIN",
    "PORT",
    "app.name",
    "OTHER",
];

fn key() -> impl Strategy<Value = String> {
    proptest::sample::select(KEYS).prop_map(String::from)
}

fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._,:/=@+-]{0,16}",
        "'[A-Za-z0-9 #=\"$.é-]{0,12}'",
        "\"[A-Za-z0-9 #='.ü-]{0,10}\"",
        // A double-quoted value spanning lines.
        "\"[A-Za-z0-9 =-]{0,6}\n[A-Za-z0-9 #=-]{0,6}(\n[A-Za-z0-9=-]{1,6})?\"",
    ]
}

fn line() -> impl Strategy<Value = Line> {
    let assignment = (
        proptest::option::of(Just("export ")),
        key(),
        proptest::sample::select(&["=", " =", "= ", " = "][..]),
        value_text(),
        // No quotes: after `= ` and an empty value, dotenvy reads a quote in a comment as opening.
        proptest::option::of("[a-z .,=#]{0,10}"),
    )
        .prop_map(|(export, key, eq, value, comment)| {
            let mut text = format!("{}{key}{eq}{value}", export.unwrap_or(""));
            if let Some(comment) = comment {
                text.push_str(" # ");
                text.push_str(&comment);
            }
            Line {
                key: Some(key),
                text,
            }
        });
    prop_oneof![
        3 => assignment,
        1 => "#[ -~]{0,20}".prop_map(|text| Line { key: None, text }),
        1 => "[ \t]{0,3}".prop_map(|text| Line { key: None, text }),
    ]
}

/// A file: lines with LF or CRLF endings; the last one may have none.
fn file() -> impl Strategy<Value = (Vec<Line>, String)> {
    (
        proptest::collection::vec((line(), any::<bool>()), 0..12),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, final_newline, bom)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            let n = lines.len();
            for (i, (line, crlf)) in lines.iter().enumerate() {
                text.push_str(&line.text);
                // dotenvy rejects a last line ending in a blank without a newline.
                let needs_newline = line.text.is_empty() || line.text.ends_with([' ', '\t']);
                if i + 1 < n || final_newline || needs_newline {
                    text.push_str(if *crlf { "\r\n" } else { "\n" });
                }
            }
            (lines.into_iter().map(|(l, _)| l).collect(), text)
        })
}

fn new_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._,:/-]{0,40}",
        2 => "[ a'\"\\\\$#=\n\t\r.-]{0,8}",
        1 => any::<String>(),
    ]
}

fn updates() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    let update_key = prop_oneof![
        key(),
        Just("ZOHO_DC".to_string()),
        Just("ZOHO_ORGANIZATION_ID".to_string()),
    ];
    proptest::collection::vec(
        (update_key, proptest::option::weighted(0.8, new_value())),
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn edits_keep_untouched_lines_and_read_back((lines, text) in file(), updates in updates()) {
        let mut file = EnvFile::parse(&text);
        prop_assert_eq!(file.render(), text.clone());
        // The parser splits the file exactly as it was generated, keys included.
        let keys: Vec<Option<&str>> = file.lines().map(|l| l.key).collect();
        let generated: Vec<Option<&str>> = lines.iter().map(|l| l.key.as_deref()).collect();
        prop_assert_eq!(keys, generated);

        // Our reading of the file agrees with dotenvy's.
        let mut expected = dotenvy_map_strict(&text);
        for (k, v) in &expected {
            prop_assert_eq!(file.get(k), Some(v.clone()));
        }

        let refs: Vec<(&str, Option<&str>)> =
            updates.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
        envfile::apply(&mut file, &refs);
        for (k, v) in &updates {
            match v {
                Some(v) => expected.insert(k.clone(), v.clone()),
                None => expected.remove(k),
            };
        }
        let output = file.render();

        // Read back the same by our reader and by dotenvy, every key.
        let reread = EnvFile::parse(&output);
        prop_assert_eq!(&dotenvy_map_strict(&output), &expected);
        for (k, v) in &expected {
            prop_assert_eq!(reread.get(k), Some(v.clone()));
        }
        let mut keys = reread.keys();
        keys.sort();
        prop_assert_eq!(keys, expected.keys().cloned().collect::<Vec<_>>());

        let touched: BTreeSet<&str> = updates.iter().map(|(k, _)| k.as_str()).collect();
        assert_untouched_lines_kept(&text, &output, &touched, "generated file");
        prop_assert_eq!(output.starts_with('\u{feff}'), text.starts_with('\u{feff}'));
    }

    #[test]
    fn any_text_parses_and_renders_back(text in any::<String>()) {
        let file = EnvFile::parse(&text);
        prop_assert_eq!(file.render(), text);
    }

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), value in new_value()) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut file = EnvFile::parse(&text);
        prop_assert_eq!(file.render(), text);
        let _ = file.keys();
        file.set("ZOHO_CLIENT_ID", &value);
        file.remove("OTHER");
        let _ = EnvFile::parse(&file.render());
    }

    #[test]
    fn env_like_text_never_panics(text in "([A-Za-z_ =#'\"\\\\$\\{\\}\r\n\t.]|export ){0,60}", value in new_value()) {
        let mut file = EnvFile::parse(&text);
        prop_assert_eq!(file.render(), text.clone());
        file.set("A", &value);
        file.set("ZOHO_SCOPES", "a,b");
        file.remove("B");
        let _ = file.get("A");
    }
}

// ---------------------------------------------------------------------------------------------
// Files for `tests/dotenv_compat/check.sh`, which reads them with python-dotenv and Node dotenv.

/// Values as the tool writes them into an empty file. Every loader must read them back unchanged,
/// and a shell sourcing the file must run nothing (`tests/trust_files.rs` sources it).
/// Not here because no form keeps them and `update` refuses them: `${NAME}` (python-dotenv expands
/// it even in single quotes), `\\` or a trailing backslash (python-dotenv decodes them in single
/// quotes), and a `'` together with `$`, a backtick, `\`, `"` or a newline. Zoho's tokens, ids,
/// URLs and scopes contain none of these.
const COMPAT_VALUES: &[(&str, &str)] = &[
    ("ZOHO_CLIENT_ID", "1000.ABCDEFGHIJ0123456789"),
    (
        "ZOHO_CLIENT_SECRET",
        "0123456789abcdef0123456789abcdef0123456789",
    ),
    ("ZOHO_REFRESH_TOKEN", "1000.0123abcd4567.89efgh"),
    ("ZOHO_DC", "eu"),
    ("ZOHO_ACCOUNTS_URL", "https://accounts.zoho.eu"),
    ("ZOHO_API_DOMAIN", "https://www.zohoapis.eu"),
    (
        "ZOHO_SCOPES",
        "ZohoBooks.fullaccess.all,ZohoCRM.modules.leads.ALL,ZohoCRM.settings.READ",
    ),
    ("ZOHO_ORGANIZATION_ID", "60012345678"),
    ("URL_WITH_QUERY", "http://127.0.0.1:8080/callback?a=b&c=d"),
    ("WITH_HASH", "abc#def"),
    ("WITH_SPACES", "  two words  "),
    ("WITH_DOLLAR", "pa$$word$HOME"),
    ("WITH_DOUBLE_QUOTE", "say \"hi\""),
    ("WITH_SINGLE_QUOTE", "it's"),
    ("NON_ASCII", "Zürich – 東京"),
    ("EMPTY", ""),
    ("EQUALS", "=a=b="),
    ("WITH_BACKTICK", "a`touch pwned-backtick`b"),
    ("WITH_COMMAND", "$(touch pwned-command)"),
    ("WITH_SHELL_OPERATORS", "a;touch pwned-semicolon&b|c<d>e"),
    ("WITH_BACKSLASH", "C:\\Users\\zoho"),
    ("WITH_NEWLINE", "line one\nline two"),
    ("WITH_TILDE", "~/x:~/y"),
    ("WITH_GLOB", "*?[a]"),
];

/// Files the loaders may not read the same way whatever we write: the unterminated quote swallows
/// the rest of the file in dotenvy and python-dotenv.
const COMPAT_SKIP: &[&str] = &["18-unterminated-quote.expected"];

/// `tests/dotenv_compat/written.env` and `manifest.json` (file -> the values every loader must
/// read, `null` for a key that must be absent) are generated here; `BLESS=1` rewrites them.
#[test]
fn dotenv_compat_files_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let compat = root.join("tests/dotenv_compat");
    let mut written = EnvFile::parse("");
    for (k, v) in COMPAT_VALUES {
        written.set(k, v);
    }
    let written_text = written.render();
    assert_eq!(dotenvy_map_strict(&written_text).len(), COMPAT_VALUES.len());
    for (k, v) in COMPAT_VALUES {
        assert_eq!(
            dotenvy_map_strict(&written_text)
                .get(*k)
                .map(String::as_str),
            Some(*v)
        );
    }

    let mut manifest = serde_json::Map::new();
    let values: serde_json::Map<String, serde_json::Value> = COMPAT_VALUES
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    manifest.insert("tests/dotenv_compat/written.env".into(), values.into());
    for path in fixtures() {
        let expected = path.with_extension("expected");
        let name = expected.file_name().unwrap().to_string_lossy().into_owned();
        if COMPAT_SKIP.contains(&name.as_str()) {
            continue;
        }
        let values: serde_json::Map<String, serde_json::Value> = STANDARD_UPDATE
            .iter()
            .map(|(k, v)| (k.to_string(), v.map_or(serde_json::Value::Null, Into::into)))
            .collect();
        manifest.insert(format!("tests/fixtures/env/{name}"), values.into());
    }
    let manifest_text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";

    let files = [
        (compat.join("written.env"), written_text),
        (compat.join("manifest.json"), manifest_text),
    ];
    for (path, text) in files {
        if std::env::var_os("BLESS").is_some() {
            fs::write(&path, &text).unwrap();
        }
        let current = fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            current,
            text,
            "{} is stale: run with BLESS=1",
            path.display()
        );
    }
}
