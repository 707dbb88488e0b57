//! Zoho data centers (facts §1): accounts server, API domain, API console, Books and Desk hosts,
//! and resolving a DC from its code, a redirect's `location`/`accounts-server`, or an `api_domain`.

use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dc {
    /// United States, zoho.com
    Us,
    /// Europe, zoho.eu
    Eu,
    /// India, zoho.in
    In,
    /// Australia, zoho.com.au
    Au,
    /// Japan, zoho.jp
    Jp,
    /// Canada, zohocloud.ca
    Ca,
    /// China, zoho.com.cn
    Cn,
    /// Saudi Arabia, zoho.sa
    Sa,
    /// United Kingdom, zoho.uk
    Uk,
}

impl Dc {
    pub const ALL: [Dc; 9] = [
        Dc::Us,
        Dc::Eu,
        Dc::In,
        Dc::Au,
        Dc::Jp,
        Dc::Ca,
        Dc::Cn,
        Dc::Sa,
        Dc::Uk,
    ];

    /// The code used on the command line, in `ZOHO_DC` and in Zoho's `location`.
    pub fn code(self) -> &'static str {
        match self {
            Dc::Us => "us",
            Dc::Eu => "eu",
            Dc::In => "in",
            Dc::Au => "au",
            Dc::Jp => "jp",
            Dc::Ca => "ca",
            Dc::Cn => "cn",
            Dc::Sa => "sa",
            Dc::Uk => "uk",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dc::Us => "United States",
            Dc::Eu => "Europe",
            Dc::In => "India",
            Dc::Au => "Australia",
            Dc::Jp => "Japan",
            Dc::Ca => "Canada",
            Dc::Cn => "China",
            Dc::Sa => "Saudi Arabia",
            Dc::Uk => "United Kingdom",
        }
    }

    /// The domain suffix of Zoho's web hosts in this DC (`zoho.com`, `zohocloud.ca`, ...).
    fn zoho_domain(self) -> &'static str {
        match self {
            Dc::Us => "zoho.com",
            Dc::Eu => "zoho.eu",
            Dc::In => "zoho.in",
            Dc::Au => "zoho.com.au",
            Dc::Jp => "zoho.jp",
            Dc::Ca => "zohocloud.ca",
            Dc::Cn => "zoho.com.cn",
            Dc::Sa => "zoho.sa",
            Dc::Uk => "zoho.uk",
        }
    }

    /// The suffix of the API domain (`zohoapis.com`, ...). Canada is `zohoapis.ca`.
    fn apis_domain(self) -> &'static str {
        match self {
            Dc::Us => "zohoapis.com",
            Dc::Eu => "zohoapis.eu",
            Dc::In => "zohoapis.in",
            Dc::Au => "zohoapis.com.au",
            Dc::Jp => "zohoapis.jp",
            Dc::Ca => "zohoapis.ca",
            Dc::Cn => "zohoapis.com.cn",
            Dc::Sa => "zohoapis.sa",
            Dc::Uk => "zohoapis.uk",
        }
    }

    /// `https://accounts.zoho.com`, without a trailing slash.
    pub fn accounts_url(self) -> String {
        format!("https://accounts.{}", self.zoho_domain())
    }

    /// `https://www.zohoapis.com`, without a trailing slash.
    pub fn api_domain(self) -> String {
        format!("https://www.{}", self.apis_domain())
    }

    /// `api-console.zoho.com`.
    pub fn console_host(self) -> String {
        format!("api-console.{}", self.zoho_domain())
    }

    /// `https://api-console.zoho.com/`.
    pub fn console_url(self) -> String {
        format!("https://{}/", self.console_host())
    }

    /// The legacy Books host, `books.zoho.com`.
    pub fn books_host(self) -> String {
        format!("books.{}", self.zoho_domain())
    }

    /// The Desk API host, `desk.zoho.com`.
    pub fn desk_host(self) -> String {
        format!("desk.{}", self.zoho_domain())
    }

    pub fn desk_url(self) -> String {
        format!("https://{}", self.desk_host())
    }

    pub fn from_code(code: &str) -> Option<Dc> {
        let code = code.trim().to_ascii_lowercase();
        Dc::ALL.into_iter().find(|dc| dc.code() == code)
    }

    /// The DC whose accounts server, API domain or any Zoho web host this URL (or bare host) is on.
    pub fn from_url(url: &str) -> Option<Dc> {
        let host = host_of(url)?;
        // Longest suffix first, so that `zoho.com.au` is not taken for `zoho.com`.
        let mut candidates: Vec<(Dc, &str)> = Dc::ALL
            .into_iter()
            .flat_map(|dc| [(dc, dc.zoho_domain()), (dc, dc.apis_domain())])
            .collect();
        candidates.sort_by_key(|(_, suffix)| std::cmp::Reverse(suffix.len()));
        candidates
            .into_iter()
            .find(|(_, suffix)| host == *suffix || host.ends_with(&format!(".{suffix}")))
            .map(|(dc, _)| dc)
    }

    /// A guess from the system time zone, only when it clearly implies one DC.
    pub fn from_time_zone(tz: &str) -> Option<Dc> {
        let tz = tz.trim();
        let exact = [
            ("Asia/Kolkata", Dc::In),
            ("Asia/Calcutta", Dc::In),
            ("Asia/Tokyo", Dc::Jp),
            ("Asia/Shanghai", Dc::Cn),
            ("Asia/Chongqing", Dc::Cn),
            ("Asia/Riyadh", Dc::Sa),
            ("Europe/London", Dc::Uk),
        ];
        if let Some((_, dc)) = exact.iter().find(|(name, _)| *name == tz) {
            return Some(*dc);
        }
        if tz.starts_with("Australia/") {
            return Some(Dc::Au);
        }
        if tz.starts_with("Europe/") {
            return Some(Dc::Eu);
        }
        let canada = [
            "America/Toronto",
            "America/Vancouver",
            "America/Edmonton",
            "America/Winnipeg",
            "America/Halifax",
            "America/St_Johns",
            "America/Regina",
        ];
        if canada.contains(&tz) || tz.starts_with("Canada/") {
            return Some(Dc::Ca);
        }
        if tz.starts_with("America/") || tz.starts_with("US/") {
            return Some(Dc::Us);
        }
        None
    }
}

/// Lower-case host of a URL or of a bare host name.
fn host_of(value: &str) -> Option<String> {
    let value = value.trim();
    let parsed = Url::parse(value)
        .ok()
        .or_else(|| Url::parse(&format!("https://{value}")).ok())?;
    parsed.host_str().map(|h| h.to_ascii_lowercase())
}

/// True when the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dc_resolves_from_its_own_hosts() {
        for dc in Dc::ALL {
            assert_eq!(Dc::from_code(dc.code()), Some(dc));
            assert_eq!(Dc::from_url(&dc.accounts_url()), Some(dc), "{dc:?}");
            assert_eq!(Dc::from_url(&dc.api_domain()), Some(dc), "{dc:?}");
            assert_eq!(Dc::from_url(&dc.desk_host()), Some(dc), "{dc:?}");
        }
    }

    #[test]
    fn canada_is_zohocloud_and_australia_is_not_us() {
        assert_eq!(Dc::Ca.accounts_url(), "https://accounts.zohocloud.ca");
        assert_eq!(Dc::Ca.api_domain(), "https://www.zohoapis.ca");
        assert_eq!(Dc::from_url("https://accounts.zoho.com.au"), Some(Dc::Au));
        assert_eq!(Dc::from_url("https://www.zohoapis.com.cn/"), Some(Dc::Cn));
        assert_eq!(Dc::from_url("http://127.0.0.1:8080"), None);
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback(&Url::parse("http://127.0.0.1:1/").unwrap()));
        assert!(is_loopback(
            &Url::parse("http://localhost:8085/cb").unwrap()
        ));
        assert!(is_loopback(&Url::parse("http://[::1]:9/").unwrap()));
        assert!(!is_loopback(
            &Url::parse("http://accounts.zoho.com").unwrap()
        ));
    }
}
