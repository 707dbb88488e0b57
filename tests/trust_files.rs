//! Trust, file side (issue 11): the backup never shows in git, a shell sourcing the env file runs
//! nothing, the owner and mode survive a rewrite, what is not a regular file is refused before a
//! code is sent, the whole save is checked before a code is sent, writers of one file exclude each
//! other (with a compare-and-swap), a crashed writer's temp files are cleaned up, and the token
//! cache neither trusts its content nor follows a symlinked folder.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};

use pretty_assertions::assert_eq;
use zoho_auth::auth::Secret;
use zoho_auth::auth::cache::{Cached, TokenCache};
use zoho_auth::auth::envfile::{self, EnvError, EnvFile, Written};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn git_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    dir
}

/// What `git status` lists as untracked, every file.
fn untracked(dir: &Path) -> Vec<String> {
    git(dir, &["status", "--porcelain", "--untracked-files=all"])
        .lines()
        .filter_map(|l| l.strip_prefix("?? "))
        .map(str::to_string)
        .collect()
}

fn fake_token(c: char) -> String {
    format!("1000.{}.{}", c.to_string().repeat(32), "0".repeat(32))
}

// ---------------------------------------------------------------------------------------------
// Item 2: the backup.

#[test]
fn the_backup_never_shows_as_untracked_and_the_write_says_where_it_is() {
    let repo = git_repo();
    let env = repo.path().join(".env");
    // The usual rule: the env file by its exact name, which does not cover `.env.bak`.
    fs::write(repo.path().join(".gitignore"), ".env\n").unwrap();

    // No previous file: no backup, and no claim of one.
    let first =
        envfile::update_with_report(&env, &[("ZOHO_REFRESH_TOKEN", Some(&fake_token('a')))])
            .unwrap();
    assert_eq!(first.backup, None);
    assert_eq!(first.gitignore, None);
    assert!(!repo.path().join(".env.bak").exists());

    let second =
        envfile::update_with_report(&env, &[("ZOHO_REFRESH_TOKEN", Some(&fake_token('b')))])
            .unwrap();
    let bak = repo.path().join(".env.bak");
    assert_eq!(second.backup.as_deref(), Some(bak.as_path()));
    assert!(fs::read_to_string(&bak).unwrap().contains(&fake_token('a')));
    assert_eq!(
        second.gitignore.as_deref(),
        Some(repo.path().join(".gitignore").as_path())
    );
    assert_eq!(
        fs::read_to_string(repo.path().join(".gitignore")).unwrap(),
        ".env\n/.env.bak\n"
    );
    assert_eq!(untracked(repo.path()), vec![".gitignore".to_string()]);

    // Already ignored: nothing more is added.
    let third =
        envfile::update_with_report(&env, &[("ZOHO_REFRESH_TOKEN", Some(&fake_token('c')))])
            .unwrap();
    assert_eq!(third.gitignore, None);
    assert_eq!(
        fs::read_to_string(repo.path().join(".gitignore")).unwrap(),
        ".env\n/.env.bak\n"
    );
}

#[test]
fn the_backup_is_ignored_in_a_subfolder_and_when_the_env_file_is_not() {
    let repo = git_repo();
    let app = repo.path().join("app");
    fs::create_dir(&app).unwrap();
    let env = app.join("prod.env");
    fs::write(&env, "ZOHO_DC=eu\n").unwrap();
    let written = envfile::update_with_report(&env, &[("ZOHO_DC", Some("in"))]).unwrap();
    assert_eq!(written.gitignore, Some(app.join(".gitignore")));
    let shown = untracked(repo.path());
    assert!(!shown.iter().any(|f| f.ends_with(".bak")), "{shown:?}");
    // The env file itself was not ignored and still is not: only the backup is added.
    assert!(shown.contains(&"app/prod.env".to_string()), "{shown:?}");
}

#[test]
fn appsettings_and_any_write_atomic_backup_is_ignored_too() {
    let repo = git_repo();
    let path = repo.path().join("appsettings.json");
    fs::write(&path, "{}\n").unwrap();
    git(repo.path(), &["add", "appsettings.json"]);
    let written = envfile::write_atomic(&path, "{\"Zoho\":{}}\n").unwrap();
    assert_eq!(
        written.backup,
        Some(repo.path().join("appsettings.json.bak"))
    );
    let shown = untracked(repo.path());
    assert_eq!(shown, vec![".gitignore".to_string()]);
}

// ---------------------------------------------------------------------------------------------
// Item 4: values a shell would run.

/// Values that run something, or change, when a shell sources the file unquoted or in double
/// quotes. Each `touch` names a file that must never appear.
const HOSTILE: &[(&str, &str)] = &[
    ("BACKTICK", "a`touch pwned-backtick`b"),
    ("COMMAND", "$(touch pwned-command)"),
    ("AMPERSAND_URL", "https://x.example/cb?a=b&touch=pwned-amp"),
    ("SEMICOLON", "a;touch pwned-semicolon"),
    ("PIPE", "a|touch pwned-pipe"),
    ("DOLLAR", "pa$$word$HOME"),
    ("TILDE", "~/x"),
    ("NEWLINE", "line one\ntouch pwned-newline"),
    ("BACKSLASH", "C:\\Users\\zoho"),
    ("SINGLE_QUOTE", "it's"),
    ("DOUBLE_QUOTE", "say \"hi\""),
];

/// Sources `env` in `shell` (from `dir`) and returns the value of each key of [`HOSTILE`].
fn sourced(shell: &str, dir: &Path, env: &Path) -> Vec<String> {
    let mut script = String::from(". \"$1\" >/dev/null 2>&1\n");
    for (key, _) in HOSTILE {
        script.push_str(&format!("printf '%s\\0' \"${key}\"\n"));
    }
    let out = Command::new(shell)
        .current_dir(dir)
        .args(["-c", &script, shell])
        .arg(env)
        .output()
        .expect("the shell runs");
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .take(HOSTILE.len())
        .map(str::to_string)
        .collect()
}

#[cfg(unix)]
#[test]
fn a_shell_sourcing_the_env_file_runs_nothing_and_reads_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    // Existing lines in double quotes: their style is kept only when that is safe.
    let mut existing = String::new();
    for (key, _) in HOSTILE {
        existing.push_str(&format!("{key}=\"old\"\n"));
    }
    fs::write(&env, existing).unwrap();
    let updates: Vec<(&str, Option<&str>)> = HOSTILE.iter().map(|(k, v)| (*k, Some(*v))).collect();
    envfile::update(&env, &updates).unwrap();
    let text = fs::read_to_string(&env).unwrap();

    let expected: Vec<String> = HOSTILE.iter().map(|(_, v)| v.to_string()).collect();
    for shell in ["sh", "bash"] {
        if Command::new(shell).arg("-c").arg("true").status().is_err() {
            continue;
        }
        assert_eq!(
            sourced(shell, dir.path(), &env),
            expected,
            "{shell}:\n{text}"
        );
    }
    let pwned: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned"))
        .collect();
    assert!(pwned.is_empty(), "the shell ran {pwned:?}:\n{text}");
    // Every loader's grammar (ours, dotenvy) reads them back too.
    let file = EnvFile::parse(&text);
    let dotenvy: std::collections::BTreeMap<String, String> =
        dotenvy::from_read_iter(text.as_bytes())
            .map(Result::unwrap)
            .collect();
    for (key, value) in HOSTILE {
        assert_eq!(file.get(key).as_deref(), Some(*value), "{key}");
        assert_eq!(dotenvy.get(*key).map(String::as_str), Some(*value), "{key}");
    }
}

#[test]
fn a_value_no_form_keeps_safe_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, "A=1\n").unwrap();
    for value in ["it's `whoami`", "it's $(id)", "${HOME}", "a\\\\b", "a\rb"] {
        let err = envfile::update(&env, &[("ZOHO_SCOPES", Some(value))]).unwrap_err();
        assert!(
            matches!(err, EnvError::UnsafeValue { .. }),
            "{value:?}: {err:?}"
        );
        assert!(err.to_string().contains("ZOHO_SCOPES"), "{err}");
        assert!(
            !err.to_string().contains(value),
            "the value is not printed: {err}"
        );
        assert_eq!(fs::read_to_string(&env).unwrap(), "A=1\n");
        // And the check before a code is sent says so too.
        let file = envfile::load(&env).unwrap().unwrap();
        assert!(envfile::check_update(&env, &file, &[("ZOHO_SCOPES", Some(value))]).is_err());
    }
}

#[test]
fn a_cached_token_with_whitespace_or_control_characters_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let cache = TokenCache::at(dir.path().join("cache"));
    let key = TokenCache::key("https://accounts.zoho.eu", "1000.X", &Secret::new("r"));
    let good = fake_token('a');
    cache
        .write(
            &key,
            &Cached {
                access_token: Secret::new(good.clone()),
                api_domain: "https://www.zohoapis.eu".into(),
                expires_at: 10_000,
            },
        )
        .unwrap();
    assert_eq!(cache.read(&key, 0).unwrap().access_token.expose(), good);
    let file = cache.dir().join(format!("{key}.json"));
    for hostile in [
        format!("{good}\n"),
        format!("{good} "),
        format!("{good}\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}"),
        "\u{1b}[2J".to_string(),
        "1000.not.hex".to_string(),
    ] {
        let body = serde_json::json!({
            "access_token": hostile,
            "api_domain": "https://www.zohoapis.eu",
            "expires_at": 10_000,
        });
        fs::write(&file, body.to_string()).unwrap();
        assert!(cache.read(&key, 0).is_none(), "{hostile:?}");
    }
    let body = serde_json::json!({
        "access_token": good,
        "api_domain": "https://www.zohoapis.eu\u{1b}[2J",
        "expires_at": 10_000,
    });
    fs::write(&file, body.to_string()).unwrap();
    assert!(cache.read(&key, 0).is_none(), "a hostile api_domain");
}

// ---------------------------------------------------------------------------------------------
// Item 10: a symlinked cache folder.

#[cfg(unix)]
#[test]
fn a_symlinked_cache_folder_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let link = dir.path().join("cache");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let key = TokenCache::key("https://accounts.zoho.eu", "1000.X", &Secret::new("r"));
    let cached = Cached {
        access_token: Secret::new(fake_token('a')),
        api_domain: "https://www.zohoapis.eu".into(),
        expires_at: 10_000,
    };
    let through_link = TokenCache::at(&link);
    assert!(through_link.write(&key, &cached).is_err());
    assert!(through_link.lock(&key).is_err());
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written there"
    );
    // A token planted behind the link is not read either.
    TokenCache::at(&elsewhere).write(&key, &cached).unwrap();
    assert!(through_link.read(&key, 0).is_none());
    // The folder behind it keeps its mode (a symlink is never chmod-ed through).
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o755)).unwrap();
    let _ = through_link.write(&key, &cached);
    assert_eq!(
        fs::metadata(&elsewhere).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

// ---------------------------------------------------------------------------------------------
// Item 6: ownership, mode and file kinds.

#[cfg(unix)]
fn owner(path: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).unwrap();
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(unix)]
#[test]
fn a_rewrite_as_root_keeps_the_owner_group_and_mode() {
    if !is_root() {
        eprintln!("skipped: needs root to create a file owned by another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, "ZOHO_DC=eu\n").unwrap();
    std::os::unix::fs::chown(&env, Some(4321), Some(8765)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&env, fs::Permissions::from_mode(0o640)).unwrap();

    let written = envfile::update_with_report(&env, &[("ZOHO_DC", Some("in"))]).unwrap();
    // The app's user keeps its file; the group loses read access to the secrets (never looser
    // than 0600).
    assert_eq!(owner(&env), (4321, 8765, 0o600));
    assert_eq!(owner(&written.backup.unwrap()), (4321, 8765, 0o600));

    // A stricter mode is kept.
    fs::set_permissions(&env, fs::Permissions::from_mode(0o400)).unwrap();
    envfile::update(&env, &[("ZOHO_DC", Some("au"))]).unwrap();
    assert_eq!(owner(&env), (4321, 8765, 0o400));
    assert_eq!(fs::read_to_string(&env).unwrap(), "ZOHO_DC=au\n");

    // A new file is 0600.
    let new = dir.path().join("new.env");
    envfile::update(&new, &[("ZOHO_DC", Some("eu"))]).unwrap();
    assert_eq!(owner(&new).2, 0o600);
}

fn assert_not_a_file(path: &Path, what: &str) {
    let err = envfile::preflight(path, &[("ZOHO_DC", Some("eu"))]).unwrap_err();
    assert!(matches!(err, EnvError::NotAFile { .. }), "{what}: {err:?}");
    assert!(
        err.to_string().contains("not a regular file"),
        "{what}: {err}"
    );
    assert!(err.to_string().contains("--env-file"), "{what}: {err}");
    let err =
        envfile::check_update(path, &EnvFile::default(), &[("ZOHO_DC", Some("eu"))]).unwrap_err();
    assert!(matches!(err, EnvError::NotAFile { .. }), "{what}: {err:?}");
    let err = envfile::update(path, &[("ZOHO_DC", Some("eu"))]).unwrap_err();
    assert!(matches!(err, EnvError::NotAFile { .. }), "{what}: {err:?}");
}

#[cfg(unix)]
#[test]
fn device_fifo_folder_and_dangling_link_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let before = fs::metadata("/dev/null").unwrap();
    assert_not_a_file(Path::new("/dev/null"), "/dev/null");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert_eq!(
        fs::metadata("/dev/null").unwrap().permissions(),
        before.permissions()
    );

    let folder = dir.path().join("folder.env");
    fs::create_dir(&folder).unwrap();
    assert_not_a_file(&folder, "a folder");

    let dangling = dir.path().join(".env");
    std::os::unix::fs::symlink(dir.path().join("missing/.env"), &dangling).unwrap();
    assert_not_a_file(&dangling, "a dangling link");
    assert!(matches!(
        envfile::load(&dangling),
        Err(EnvError::NotAFile { .. })
    ));

    // A FIFO: reading it would block until someone writes. Refused at once instead.
    let fifo = dir.path().join("fifo.env");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: c_path is NUL-terminated.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    let fifo_path = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(format!("{:?}", envfile::load(&fifo_path)));
    });
    // A hang guard only: the answer comes at once.
    let answer = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("load of a FIFO returns instead of blocking");
    assert!(answer.contains("NotAFile"), "{answer}");
    assert_not_a_file(&fifo, "a FIFO");
}

#[cfg(unix)]
#[test]
fn a_symlinked_env_file_is_edited_through_the_link() {
    let project = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let real = shared.path().join("zoho.env");
    fs::write(&real, "# shared\nZOHO_DC=eu\n").unwrap();
    let link = project.path().join(".env");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    envfile::preflight(&link, &[("ZOHO_DC", Some("in"))]).unwrap();
    let written = envfile::update_with_report(&link, &[("ZOHO_DC", Some("in"))]).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_link(&link).unwrap(), real);
    assert_eq!(fs::read_to_string(&real).unwrap(), "# shared\nZOHO_DC=in\n");
    let bak = fs::canonicalize(shared.path())
        .unwrap()
        .join("zoho.env.bak");
    assert_eq!(written.backup.as_deref(), Some(bak.as_path()));
    assert_eq!(fs::read_to_string(&bak).unwrap(), "# shared\nZOHO_DC=eu\n");
    // Nothing but the link in the project.
    assert_eq!(fs::read_dir(project.path()).unwrap().count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Item 7: the whole save is checked before a code is sent.

#[test]
fn the_pre_send_check_finds_a_save_that_cannot_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, "ZOHO_DC=eu\n").unwrap();
    let file = envfile::load(&env).unwrap().unwrap();
    let updates = [("ZOHO_REFRESH_TOKEN", Some("x"))];
    envfile::check_update(&env, &file, &updates).unwrap();
    envfile::preflight(&env, &updates).unwrap();
    // The check leaves nothing behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    // Something that is not a file where the backup goes: the rename of the backup would fail.
    fs::create_dir(dir.path().join(".env.bak")).unwrap();
    let err = envfile::check_update(&env, &file, &updates).unwrap_err();
    assert!(matches!(err, EnvError::BackupBlocked { .. }), "{err:?}");
    assert!(err.to_string().contains(".env.bak"), "{err}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    fs::remove_dir(dir.path().join(".env.bak")).unwrap();

    // A folder that does not exist.
    let missing = dir.path().join("no/such/.env");
    let err = envfile::check_update(&missing, &EnvFile::default(), &updates).unwrap_err();
    assert!(err.to_string().contains("no/such"), "{err}");
    assert!(envfile::preflight(&missing, &updates).is_err());
}

#[test]
fn room_needed_counts_the_new_file_the_backup_and_slack() {
    assert_eq!(envfile::room_needed(0, 0), 16 * 1024);
    assert_eq!(envfile::room_needed(1000, 1200), 2200 + 16 * 1024);
    assert_eq!(envfile::room_needed(u64::MAX, 1), u64::MAX);
}

/// A tmpfs of `size` mounted on a temp folder, unmounted on drop; `None` where mounting is not
/// permitted (not root, or no CAP_SYS_ADMIN).
#[cfg(target_os = "linux")]
struct Tmpfs {
    dir: tempfile::TempDir,
}

#[cfg(target_os = "linux")]
impl Tmpfs {
    fn mount(options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(target_os = "linux")]
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_or_a_read_only_folder_is_found_before_sending() {
    let Some(full) = Tmpfs::mount("size=64k") else {
        eprintln!("skipped: mounting a tmpfs is not permitted here");
        return;
    };
    let env = full.path().join(".env");
    fs::write(&env, "ZOHO_DC=eu\n").unwrap();
    // Fill the disk but for 12 KB: the probe file fits, the new file with its backup might not.
    fs::write(full.path().join("filler"), vec![b'x'; 52 * 1024]).unwrap();
    let file = envfile::load(&env).unwrap().unwrap();
    let err = envfile::check_update(&env, &file, &[("ZOHO_DC", Some("in"))]).unwrap_err();
    assert!(matches!(err, EnvError::NoRoom { .. }), "{err:?}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    assert_eq!(fs::read_to_string(&env).unwrap(), "ZOHO_DC=eu\n");

    let Some(read_only) = Tmpfs::mount("size=64k,ro") else {
        return;
    };
    let env = read_only.path().join(".env");
    let err = envfile::preflight(&env, &[("ZOHO_DC", Some("in"))]).unwrap_err();
    assert!(matches!(err, EnvError::Io { .. }), "{err:?}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn exchange_with_a_dangling_env_link_keeps_the_code_unspent() {
    let w = support::World::start().await;
    let client = w.sandbox.self_client();
    let code = w.sandbox.mint_code("ZohoBooks.fullaccess.all", 3);
    let base = w.base();
    std::os::unix::fs::symlink(w.dir.path().join("typo/.env"), w.env_path()).unwrap();
    let args = [
        "exchange",
        "--no-test",
        "--accounts-url",
        &base,
        "--client-id",
        &client.client_id,
        "--code",
        &code,
    ];
    let run = |w: &support::World| {
        let mut cmd = w.command(&args);
        cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
        cmd
    };
    let out = run(&w).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!stderr.contains(&code), "{stderr}");

    // The code was not sent: it still works once the file is fixed.
    fs::remove_file(w.env_path()).unwrap();
    let out = run(&w).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(w.env_get("ZOHO_REFRESH_TOKEN").is_some());
}

// ---------------------------------------------------------------------------------------------
// Item 8: concurrency.

#[test]
fn concurrent_writers_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, "# shared\n").unwrap();
    let writers = 12;
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let env = env.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let key = format!("KEY_{i}");
                envfile::update(&env, &[(key.as_str(), Some("v"))]).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let file = envfile::load(&env).unwrap().unwrap();
    for i in 0..writers {
        assert_eq!(
            file.get(&format!("KEY_{i}")).as_deref(),
            Some("v"),
            "KEY_{i}"
        );
    }
}

#[test]
fn compare_and_swap_lets_exactly_one_racer_win() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    let old = fake_token('a');
    fs::write(&env, format!("ZOHO_REFRESH_TOKEN={old}\n")).unwrap();
    let racers = 8;
    let barrier = Arc::new(Barrier::new(racers));
    let handles: Vec<_> = (0..racers)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let env = env.clone();
            let old = old.clone();
            std::thread::spawn(move || {
                let mine = format!("1000.{:032x}.{}", i + 1, "0".repeat(32));
                barrier.wait();
                let result = envfile::update_if_unchanged(
                    &env,
                    "ZOHO_REFRESH_TOKEN",
                    Some(&old),
                    &[("ZOHO_REFRESH_TOKEN", Some(&mine))],
                );
                (mine, result)
            })
        })
        .collect();
    let results: Vec<(String, Result<Written, EnvError>)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<&String> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(m, _)| m)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one write wins");
    for (_, r) in &results {
        if let Err(e) = r {
            assert!(matches!(e, EnvError::Changed { .. }), "{e:?}");
            assert!(e.to_string().contains("ZOHO_REFRESH_TOKEN"), "{e}");
        }
    }
    let file = envfile::load(&env).unwrap().unwrap();
    assert_eq!(file.get("ZOHO_REFRESH_TOKEN").as_ref(), Some(winners[0]));

    // A revoke that read the old token cannot remove the new one.
    let err = envfile::update_if_unchanged(
        &env,
        "ZOHO_REFRESH_TOKEN",
        Some(&old),
        &[("ZOHO_REFRESH_TOKEN", None)],
    )
    .unwrap_err();
    assert!(matches!(err, EnvError::Changed { .. }));
    assert_eq!(file.get("ZOHO_REFRESH_TOKEN").as_ref(), Some(winners[0]));
    // Expecting absence works as well.
    envfile::update_if_unchanged(&env, "ZOHO_DC", None, &[("ZOHO_DC", Some("eu"))]).unwrap();
    assert!(
        envfile::update_if_unchanged(&env, "ZOHO_DC", None, &[("ZOHO_DC", Some("in"))]).is_err()
    );
}

/// As a child process: one CAS write of `ZOHO_AUTH_TEST_CAS_VALUE` into `ZOHO_AUTH_TEST_CAS_FILE`,
/// started when `ZOHO_AUTH_TEST_CAS_GO` exists. Prints WON or LOST.
#[test]
fn cas_child() {
    let (Some(path), Some(value), Some(go)) = (
        std::env::var_os("ZOHO_AUTH_TEST_CAS_FILE"),
        std::env::var("ZOHO_AUTH_TEST_CAS_VALUE").ok(),
        std::env::var_os("ZOHO_AUTH_TEST_CAS_GO"),
    ) else {
        return;
    };
    let go = PathBuf::from(go);
    while !go.exists() {
        std::thread::yield_now();
    }
    match envfile::update_if_unchanged(
        Path::new(&path),
        "ZOHO_REFRESH_TOKEN",
        Some("1000.old"),
        &[("ZOHO_REFRESH_TOKEN", Some(&value))],
    ) {
        Ok(_) => println!("CAS-WON"),
        Err(EnvError::Changed { .. }) => println!("CAS-LOST"),
        Err(e) => println!("CAS-ERROR {e}"),
    }
}

#[test]
fn compare_and_swap_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, "ZOHO_REFRESH_TOKEN=1000.old\n").unwrap();
    let go = dir.path().join("go");
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "cas_child", "--nocapture", "--test-threads=1"])
                .env("ZOHO_AUTH_TEST_CAS_FILE", &env)
                .env("ZOHO_AUTH_TEST_CAS_VALUE", format!("1000.new{i}"))
                .env("ZOHO_AUTH_TEST_CAS_GO", &go)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    fs::write(&go, "").unwrap();
    let outcomes: Vec<String> = children
        .into_iter()
        .map(|c| String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap())
        .collect();
    let won = outcomes.iter().filter(|o| o.contains("CAS-WON")).count();
    let lost = outcomes.iter().filter(|o| o.contains("CAS-LOST")).count();
    assert_eq!((won, lost), (1, 3), "{outcomes:?}");
}

// ---------------------------------------------------------------------------------------------
// Item 9: temp files of a crashed writer.

#[cfg(unix)]
#[test]
fn temp_files_a_crashed_writer_left_are_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    fs::write(&env, "ZOHO_DC=eu\n").unwrap();
    let secret = format!("ZOHO_REFRESH_TOKEN={}\n", fake_token('d'));

    // A process that is gone.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let crashed = dir
        .path()
        .join(format!(".env.zoho-auth.{dead_pid}.Ab12Cd.tmp"));
    fs::write(&crashed, &secret).unwrap();
    // An older naming without a pid, two hours old.
    let old = dir.path().join(".env.zoho-auth.Zx9Yw8.tmp");
    fs::write(&old, &secret).unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    // A live writer's (this process), a fresh one of unknown age, and another file's: kept.
    let live = dir
        .path()
        .join(format!(".env.zoho-auth.{}.Ef34Gh.tmp", std::process::id()));
    fs::write(&live, &secret).unwrap();
    let other = dir
        .path()
        .join(format!("other.env.zoho-auth.{dead_pid}.Ij56Kl.tmp"));
    fs::write(&other, &secret).unwrap();

    envfile::update(&env, &[("ZOHO_DC", Some("in"))]).unwrap();
    assert!(!crashed.exists(), "a dead writer's temp file is removed");
    assert!(!old.exists(), "an hour-old temp file is removed");
    assert!(live.exists(), "a live writer's temp file is kept");
    assert!(other.exists(), "another file's temp file is kept");
}

/// As a child process running as another user: one update of `ZOHO_AUTH_TEST_OWNER_FILE`.
#[cfg(unix)]
#[test]
fn owner_child() {
    if let Some(path) = std::env::var_os("ZOHO_AUTH_TEST_OWNER_FILE") {
        match envfile::update(Path::new(&path), &[("ZOHO_DC", Some("in"))]) {
            Ok(_) => println!("OWNER-WROTE"),
            Err(e @ EnvError::Owner { .. }) => println!("OWNER-REFUSED {e}"),
            Err(e) => println!("OWNER-ERROR {e}"),
        }
    }
}

#[cfg(unix)]
#[test]
fn another_users_file_is_not_taken_over() {
    use std::os::unix::process::CommandExt;
    if !is_root() {
        eprintln!("skipped: needs root to run a child as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    // Root's file that anyone may write, in a folder anyone may write: a rename by another user
    // would make the file theirs.
    let env = dir.path().join(".env");
    fs::write(&env, "ZOHO_DC=eu\n").unwrap();
    fs::set_permissions(&env, fs::Permissions::from_mode(0o666)).unwrap();
    // A copy of this test binary the other user can run: the build folder may sit below a
    // private one (CI clones into a 0700 temp dir).
    let bin = dir.path().join("owner-child");
    fs::copy(std::env::current_exe().unwrap(), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    // A test running in parallel may fork while the copy's write descriptor is still open; its
    // child holds it until it execs, and exec of the copy fails with ETXTBSY meanwhile. Try again
    // until that child has let go (bounded).
    let run = || {
        Command::new(&bin)
            .args(["--exact", "owner_child", "--nocapture", "--test-threads=1"])
            .env("ZOHO_AUTH_TEST_OWNER_FILE", &env)
            .uid(4321)
            .gid(4321)
            .output()
    };
    let mut tries = 0;
    let out = loop {
        match run() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 500 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other.unwrap(),
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("OWNER-") {
        eprintln!("skipped: the test binary cannot run as another user here: {out:?}");
        return;
    }
    assert!(stdout.contains("OWNER-REFUSED"), "{stdout}");
    assert!(stdout.contains("user id 0"), "{stdout}");
    assert_eq!(fs::read_to_string(&env).unwrap(), "ZOHO_DC=eu\n");
    assert_eq!(owner(&env).0, 0);
}
