//! The access-token cache behind `zoho-auth token`: one JSON file per client and refresh token
//! (keyed by a hash, never the token itself) in the user's cache directory, mode 0600, written
//! atomically. A lock file makes concurrent callers wait for one refresh instead of each minting a
//! token (Zoho allows 10 per refresh token per 10 minutes).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::secret::Secret;

/// A cached token is reused while more than this many seconds of it remain.
pub const MIN_REMAINING_SECS: u64 = 300;

/// The environment variable that moves the cache (tests, sandboxes, read-only homes).
pub const CACHE_DIR_ENV: &str = "ZOHO_AUTH_CACHE_DIR";

#[derive(Debug, Clone)]
pub struct Cached {
    pub access_token: Secret,
    pub api_domain: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Cached {
    /// A token that lives `lifetime` from `now` (unix seconds).
    pub fn new(
        access_token: &Secret,
        api_domain: &str,
        lifetime: std::time::Duration,
        now: u64,
    ) -> Cached {
        Cached {
            access_token: access_token.clone(),
            api_domain: api_domain.to_string(),
            expires_at: now.saturating_add(lifetime.as_secs()),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    access_token: String,
    api_domain: String,
    expires_at: u64,
}

#[derive(Debug, Clone)]
pub struct TokenCache {
    dir: PathBuf,
}

/// Held while refreshing; dropping it releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

impl TokenCache {
    /// `$ZOHO_AUTH_CACHE_DIR`, else the platform cache directory + `zoho-auth`.
    pub fn from_env() -> Option<TokenCache> {
        let dir = std::env::var_os(CACHE_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|d| d.join("zoho-auth")))?;
        Some(TokenCache { dir })
    }

    pub fn at(dir: impl Into<PathBuf>) -> TokenCache {
        TokenCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cache key of a grant: a hash of the accounts server, client id and refresh token.
    pub fn key(accounts: &str, client_id: &str, refresh_token: &Secret) -> String {
        let mut hasher = Sha256::new();
        for part in [
            accounts.trim_end_matches('/'),
            client_id,
            refresh_token.expose(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        hex::encode(&hasher.finalize()[..16])
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// A cached token with more than `MIN_REMAINING_SECS` left at `now` (unix seconds).
    pub fn read(&self, key: &str, now: u64) -> Option<Cached> {
        let text = fs::read_to_string(self.file(key)).ok()?;
        let disk: OnDisk = serde_json::from_str(&text).ok()?;
        (disk.expires_at > now.saturating_add(MIN_REMAINING_SECS)).then(|| Cached {
            access_token: Secret::new(disk.access_token),
            api_domain: disk.api_domain,
            expires_at: disk.expires_at,
        })
    }

    /// Writes atomically (temp file, then rename), mode 0600.
    pub fn write(&self, key: &str, cached: &Cached) -> io::Result<()> {
        create_private_dir(&self.dir)?;
        let disk = OnDisk {
            access_token: cached.access_token.expose().to_string(),
            api_domain: cached.api_domain.clone(),
            expires_at: cached.expires_at,
        };
        let body = serde_json::to_vec(&disk).map_err(io::Error::other)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)?;
        set_private(tmp.path())?;
        // No fsync: the cache is disposable (a torn or empty file after a crash reads as a miss and
        // costs one refresh), and a sync costs milliseconds on every refresh and exchange.
        tmp.write_all(&body)?;
        tmp.persist(self.file(key)).map_err(|e| e.error)?;
        Ok(())
    }

    pub fn remove(&self, key: &str) {
        let _ = fs::remove_file(self.file(key));
    }

    /// Takes the exclusive lock of this key, waiting for another process that holds it.
    pub fn lock(&self, key: &str) -> io::Result<LockGuard> {
        create_private_dir(&self.dir)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(format!("{key}.lock")))?;
        file.lock()?;
        Ok(LockGuard { _file: file })
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn set_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(expires_at: u64) -> Cached {
        Cached {
            access_token: Secret::new("1000.aaaa.bbbb"),
            api_domain: "https://www.zohoapis.com".into(),
            expires_at,
        }
    }

    #[test]
    fn reused_only_with_more_than_five_minutes_left() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::at(dir.path());
        let key = TokenCache::key("https://accounts.zoho.com", "1000.X", &Secret::new("r"));
        cache.write(&key, &cached(10_000)).unwrap();
        assert!(cache.read(&key, 10_000 - 301).is_some());
        assert!(cache.read(&key, 10_000 - 300).is_none());
        assert!(cache.read("other", 0).is_none());
    }

    #[test]
    fn key_depends_on_every_part_and_hides_the_token() {
        let a = TokenCache::key("https://a", "id", &Secret::new("1000.secret.token"));
        let b = TokenCache::key("https://a", "id", &Secret::new("1000.secret.tokeN"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(!a.contains("secret"));
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::at(dir.path().join("c"));
        cache.write("k", &cached(1)).unwrap();
        let mode = fs::metadata(cache.file("k")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
