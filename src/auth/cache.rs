//! The access-token cache behind `zoho-auth token`: one JSON file per client and refresh token
//! (keyed by a hash, never the token itself) in the user's cache directory, mode 0600, written
//! atomically. A lock file makes concurrent callers wait for one refresh instead of each minting a
//! token (Zoho allows 10 per refresh token per 10 minutes). A cache folder that is a symbolic link
//! or (on Unix) not owned by this user is never used, and a cached entry is used only when its
//! token has the shape of a Zoho access token: the file is data another program could have written.

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

    /// A cached token with more than `MIN_REMAINING_SECS` left at `now` (unix seconds). An entry
    /// whose token is not shaped like a Zoho access token (see [`is_access_token_shape`]) or whose
    /// API domain is not a plain http(s) URL is ignored, as is a cache folder that is not ours.
    pub fn read(&self, key: &str, now: u64) -> Option<Cached> {
        usable_dir(&self.dir).ok()?;
        let text = fs::read_to_string(self.file(key)).ok()?;
        let disk: OnDisk = serde_json::from_str(&text).ok()?;
        if !is_access_token_shape(&disk.access_token) || !is_plain_url(&disk.api_domain) {
            return None;
        }
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
        if usable_dir(&self.dir).is_ok() {
            let _ = fs::remove_file(self.file(key));
        }
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

/// `^\d{4}\.[0-9a-f]{16,64}\.[0-9a-f]{16,64}$`: a Zoho access token (`1000.<32 hex>.<32 hex>`),
/// with room for other lengths. Nothing with whitespace or control characters passes.
pub fn is_access_token_shape(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(prefix), Some(a), Some(b), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let hex = |p: &str| {
        (16..=64).contains(&p.len()) && p.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    };
    prefix.len() == 4 && prefix.bytes().all(|c| c.is_ascii_digit()) && hex(a) && hex(b)
}

/// An `http(s)://` URL of printable ASCII without spaces.
fn is_plain_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.bytes().all(|c| c.is_ascii_graphic())
}

/// Refuses a cache folder that is a symbolic link (it could lead anywhere, e.g. into a folder
/// another user reads) or, on Unix, that belongs to another user. A missing folder is fine.
fn usable_dir(dir: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() {
        return Err(io::Error::other(format!(
            "the cache folder {} is a symbolic link; zoho-auth does not follow it",
            dir.display()
        )));
    }
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "the cache folder {} is not a folder",
            dir.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(io::Error::other(format!(
                "the cache folder {} belongs to user id {}, not to this user",
                dir.display(),
                meta.uid()
            )));
        }
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    usable_dir(dir)?;
    fs::create_dir_all(dir)?;
    usable_dir(dir)?;
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
            access_token: Secret::new(format!("1000.{}.{}", "a".repeat(32), "b".repeat(32))),
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

    #[test]
    fn token_shape() {
        let good = format!("1000.{}.{}", "0a".repeat(16), "f9".repeat(16));
        assert!(is_access_token_shape(&good));
        for bad in [
            format!("{good} "),
            format!("{good}\n"),
            good.replace(".0a", ".\u{1b}a"),
            good.to_uppercase(),
            format!("1000.{}", "a".repeat(32)),
            format!("100.{}.{}", "a".repeat(32), "b".repeat(32)),
            String::new(),
        ] {
            assert!(!is_access_token_shape(&bad), "{bad:?}");
        }
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
