//! Random identifiers shaped like Zoho's (facts §9). Generated at start, so nothing committed looks real.

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// User codes avoid look-alikes (0/O, 1/I) because people type them.
const USER_CODE_CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn lower_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    hex::encode(buf)
}

fn pick(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rand::random_range(0..alphabet.len())] as char)
        .collect()
}

/// A code, access token, refresh token or device code: `<prefix>.<32 hex>.<32 hex>`.
pub(crate) fn token(prefix: &str) -> String {
    format!("{prefix}.{}.{}", lower_hex(16), lower_hex(16))
}

/// A client id: `<prefix>.` and 30 upper-case alphanumerics.
pub(crate) fn client_id(prefix: &str) -> String {
    format!("{prefix}.{}", pick(UPPER_ALNUM, 30))
}

/// A client secret: 42 lower-case hex characters.
pub(crate) fn client_secret() -> String {
    lower_hex(21)
}

/// A device-flow user code, e.g. `K7QX-M2PD`.
pub(crate) fn user_code() -> String {
    format!("{}-{}", pick(USER_CODE_CHARS, 4), pick(USER_CODE_CHARS, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_facts() {
        let t = token("1000");
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "1000");
        for part in &parts[1..] {
            assert_eq!(part.len(), 32);
            assert!(part.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        }
        let id = client_id("1000");
        assert_eq!(id.len(), 35);
        assert!(
            id[5..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        let secret = client_secret();
        assert_eq!(secret.len(), 42);
        assert!(secret.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }
}
