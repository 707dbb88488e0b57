//! Shared by the command tests: an in-process sandbox, a temp folder with an env file, and the real
//! binary run against them with a clean environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use zoho_auth::sandbox::{Sandbox, SandboxConfig};

pub const BIN: &str = env!("CARGO_BIN_EXE_zoho-auth");

pub struct World {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

impl World {
    pub async fn start() -> World {
        World::with_config(SandboxConfig::default()).await
    }

    pub async fn with_config(config: SandboxConfig) -> World {
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        World {
            sandbox,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn base(&self) -> String {
        self.sandbox.base_url()
    }

    pub fn env_path(&self) -> PathBuf {
        self.dir.path().join(".env")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn env_text(&self) -> String {
        std::fs::read_to_string(self.env_path()).unwrap_or_default()
    }

    pub fn env_get(&self, key: &str) -> Option<String> {
        let text = self.env_text();
        dotenvy::from_read_iter(text.as_bytes())
            .filter_map(Result::ok)
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .last()
    }

    /// A command with a clean environment, the sandbox as accounts server, this env file and cache.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("ZOHO_AUTH_CACHE_DIR", self.cache_dir())
            .env("ZOHO_AUTH_HTTP_TIMEOUT", "3")
            .arg("--env-file")
            .arg(self.env_path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().await.expect("binary runs"))
    }

    /// Runs with `stdin` piped in.
    pub async fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        use tokio::io::AsyncWriteExt;
        let mut cmd = self.command(args);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("binary runs");
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin.as_bytes()).await.expect("write stdin");
        drop(pipe);
        Run::from(child.wait_with_output().await.expect("binary ends"))
    }

    /// `exchange` of a fresh Self Client code for `scope` against the sandbox; the secret via env.
    pub async fn exchange(&self, scope: &str, extra: &[&str]) -> Run {
        let client = self.sandbox.self_client();
        let code = self.sandbox.mint_code(scope, 3);
        let base = self.base();
        let mut args = vec![
            "exchange",
            "--accounts-url",
            &base,
            "--client-id",
            &client.client_id,
            "--code",
            &code,
        ];
        args.extend_from_slice(extra);
        let mut cmd = self.command(&args);
        cmd.env("ZOHO_CLIENT_SECRET", &client.client_secret);
        Run::from(cmd.output().await.expect("binary runs"))
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Every file in a folder, with its content, for "left untouched" assertions.
pub fn snapshot_dir(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() {
                out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// Held while a test listens on (or makes the binary listen on) 127.0.0.1:8085, the only redirect
/// URI the sandbox's server client accepts. A file lock, because every test binary is its own
/// process: `login` and the wizard's PTY tests take turns across processes, not just threads.
pub struct Port8085Lock(std::fs::File);

/// Blocks until no other test holds port 8085; released when the guard drops.
pub fn lock_port_8085() -> Port8085Lock {
    let path = std::env::temp_dir().join("zoho-auth-tests-port-8085.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("open the port lock file");
    file.lock().expect("take the port lock");
    Port8085Lock(file)
}
