//! The host rule (design.md): a secret (client secret, code, refresh or access token) goes only to
//! a Zoho host over https of a known data center, to a host the user named (`--accounts-url`,
//! `--api-domain`, the env file's `ZOHO_ACCOUNTS_URL`/`ZOHO_API_DOMAIN`), or to loopback the user
//! named (the sandbox). Nothing a server or a paste says can move a secret elsewhere. Every path
//! that takes a host from a server or a paste (a redirect's `accounts-server`, a `self_client.json`,
//! a device poll's `other_dc`, a token answer's `api_domain`) asks this module. No IO here.

use url::Url;

use super::client::checked_url;
use super::dc::Dc;
use super::printable::printable;

/// A host named by a server or a paste that may not receive a secret. Its `Display` names the host
/// (control characters removed) and says that nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} {shown} is neither a Zoho {role} over https nor a host you named, so nothing was sent to it"
)]
pub struct HostRefused {
    /// What named the host, e.g. "the redirect's accounts-server".
    pub what: &'static str,
    /// The value as received, made printable.
    pub shown: String,
    /// "accounts server" or "API domain".
    pub role: &'static str,
}

impl HostRefused {
    /// The fix to show with it.
    pub fn fix(&self) -> &'static str {
        "Check where the value came from. If this host really is yours (a proxy, a test server), name it explicitly with --accounts-url or --api-domain (or ZOHO_ACCOUNTS_URL / ZOHO_API_DOMAIN in the env file)."
    }
}

/// The data center whose accounts server this URL is exactly: https, the default port, no user
/// info, query or fragment, an empty path. `https://accounts.zoho.eu@elsewhere` is not.
pub fn zoho_accounts_dc(url: &Url) -> Option<Dc> {
    if !plain_origin(url) {
        return None;
    }
    Dc::ALL.into_iter().find(|dc| {
        Url::parse(&dc.accounts_url())
            .ok()
            .is_some_and(|a| a.host_str() == url.host_str())
    })
}

/// The data center whose API domain (`https://www.zohoapis.<tld>`) this URL is exactly, with the
/// same strictness as [`zoho_accounts_dc`].
pub fn zoho_api_dc(url: &Url) -> Option<Dc> {
    if !plain_origin(url) {
        return None;
    }
    Dc::ALL.into_iter().find(|dc| {
        Url::parse(&dc.api_domain())
            .ok()
            .is_some_and(|a| a.host_str() == url.host_str())
    })
}

/// https, default port, no credentials, query or fragment, and no path beyond `/`.
fn plain_origin(url: &Url) -> bool {
    url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && matches!(url.path(), "" | "/")
}

/// No credentials, query or fragment: a base URL a request path can be appended to.
fn clean_base(url: &Url) -> bool {
    url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
}

/// A `location` of a redirect or device answer: a data-center code and nothing else.
pub fn location(value: &str) -> Option<Dc> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Dc::from_code(value)
}

/// An accounts server named by a server or a paste (`what` says which), checked against the
/// accounts server the user chose (`chosen`): a Zoho data center's own accounts host, or a URL on
/// the same origin as `chosen` (the sandbox's `/_dc/{code}` paths).
pub fn named_accounts_server(
    value: &str,
    chosen: &Url,
    what: &'static str,
) -> Result<Url, HostRefused> {
    let refused = || HostRefused {
        what,
        shown: printable(value.trim()),
        role: "accounts server",
    };
    let url = checked_url(value).map_err(|_| refused())?;
    if !clean_base(&url) {
        return Err(refused());
    }
    if url.origin() == chosen.origin() || zoho_accounts_dc(&url).is_some() {
        return Ok(url);
    }
    Err(refused())
}

/// An `api_domain` a token answer names, checked before any token is sent to it or it is written:
/// a Zoho API domain over https, or the same origin as a URL the user chose (`--api-domain`, the
/// accounts server for the sandbox).
pub fn named_api_domain(value: &str, chosen: &[&Url]) -> Result<Url, HostRefused> {
    let refused = || HostRefused {
        what: "the api_domain Zoho's answer names,",
        shown: printable(value.trim()),
        role: "API domain",
    };
    let url = checked_url(value).map_err(|_| refused())?;
    if !clean_base(&url) {
        return Err(refused());
    }
    if zoho_api_dc(&url).is_some() || chosen.iter().any(|c| c.origin() == url.origin()) {
        return Ok(url);
    }
    Err(refused())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn only_exact_zoho_accounts_hosts_are_zoho() {
        assert_eq!(
            zoho_accounts_dc(&u("https://accounts.zoho.eu")),
            Some(Dc::Eu)
        );
        assert_eq!(
            zoho_accounts_dc(&u("https://accounts.zohocloud.ca/")),
            Some(Dc::Ca)
        );
        for bad in [
            "http://accounts.zoho.eu",
            "https://accounts.zoho.eu:8443",
            "https://accounts.zoho.eu@elsewhere.example",
            "https://user:pw@accounts.zoho.eu",
            "https://accounts.zoho.eu.elsewhere.example",
            "https://evil-accounts.zoho.eu.example",
            "https://accounts.zoho.eu/oauth?x=1",
            "https://accounts.zoho.eu/somewhere",
            "https://www.zohoapis.eu",
        ] {
            assert_eq!(zoho_accounts_dc(&u(bad)), None, "{bad}");
        }
    }

    #[test]
    fn a_redirect_cannot_move_secrets_to_a_foreign_host() {
        let chosen = u("https://accounts.zoho.com");
        assert!(named_accounts_server("https://accounts.zoho.in", &chosen, "x").is_ok());
        for bad in [
            "https://accounts.zoho.eu@elsewhere.example",
            "https://elsewhere.example",
            "http://127.0.0.1:9",
            "javascript:alert(1)",
            "accounts.zoho.eu",
        ] {
            let err =
                named_accounts_server(bad, &chosen, "the redirect's accounts-server").unwrap_err();
            assert!(err.to_string().contains("nothing was sent"), "{err}");
        }
    }

    #[test]
    fn the_sandbox_origin_is_trusted_only_on_its_own_port() {
        let sandbox = u("http://127.0.0.1:4000");
        assert!(named_accounts_server("http://127.0.0.1:4000/_dc/eu", &sandbox, "x").is_ok());
        assert!(named_accounts_server("http://127.0.0.1:4001", &sandbox, "x").is_err());
    }

    #[test]
    fn api_domain_is_a_zoho_api_host_or_a_chosen_origin() {
        let sandbox = u("http://127.0.0.1:4000");
        assert!(named_api_domain("https://www.zohoapis.com", &[]).is_ok());
        assert!(named_api_domain("https://www.zohoapis.eu", &[&sandbox]).is_ok());
        assert!(named_api_domain("http://127.0.0.1:4000/_dc/eu", &[&sandbox]).is_ok());
        for bad in [
            "https://www.zohoapis.com.evil.example",
            "https://evil.example",
            "https://www.zohoapis.com@evil.example",
            "http://www.zohoapis.com",
            "http://127.0.0.1:4001",
        ] {
            assert!(named_api_domain(bad, &[&sandbox]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_location_is_a_dc_code_and_nothing_else() {
        assert_eq!(location("eu"), Some(Dc::Eu));
        assert_eq!(location(" IN "), Some(Dc::In));
        assert_eq!(location("https://accounts.zoho.eu"), None);
        assert_eq!(location("eu@x"), None);
        assert_eq!(location(""), None);
    }

    #[test]
    fn a_refused_host_is_printed_without_control_characters() {
        let chosen = u("https://accounts.zoho.com");
        let err =
            named_accounts_server("https://e\u{1b}]52;c;AAAA\u{7}vil", &chosen, "x").unwrap_err();
        assert!(!err.to_string().chars().any(char::is_control));
    }
}
