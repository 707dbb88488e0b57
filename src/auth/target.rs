//! Where requests go: the one resolver every command, the wizard's runtime and the sign-ins use.
//! The order is the contract's: an explicit choice (`--accounts-url`, `--dc`), then what a pasted
//! code or a sign-in names (only through `hosts`), then what is saved (environment variable, env
//! file; a store later), then the US data center. Its inputs are plain values, so a new source
//! (`--store`) is one more field of [`Saved`]. No IO here.

use url::Url;

use super::client::{AuthError, checked_url};
use super::dc::Dc;
use super::diagnosis::{self, Code, Context, Diagnosis, Phase};
use super::hosts::{self, HostRefused};

/// Where requests go: the accounts server, the DC when known, and an API-domain override (sandbox,
/// tests) that replaces the `api_domain` Zoho returns for the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub accounts: Url,
    pub dc: Option<Dc>,
    pub api_override: Option<Url>,
}

impl Target {
    pub fn for_dc(dc: Dc) -> Target {
        Target {
            accounts: Url::parse(&dc.accounts_url()).expect("static DC URLs parse"),
            dc: Some(dc),
            api_override: None,
        }
    }

    /// From explicit URLs; `dc` is taken from the arguments or, failing that, from a Zoho host in
    /// the accounts URL.
    pub fn from_urls(
        accounts: &str,
        api_override: Option<&str>,
        dc: Option<Dc>,
    ) -> Result<Target, Diagnosis> {
        let accounts_url = checked_url(accounts).map_err(|e| bad_url(&e))?;
        let api_override = api_override
            .map(checked_url)
            .transpose()
            .map_err(|e| bad_url(&e))?;
        Ok(Target {
            dc: dc.or_else(|| Dc::from_url(accounts)),
            accounts: accounts_url,
            api_override,
        })
    }

    /// `https://accounts.zoho.com`, as written to `ZOHO_ACCOUNTS_URL` (no trailing slash).
    pub fn accounts_str(&self) -> String {
        self.accounts.as_str().trim_end_matches('/').to_string()
    }

    /// `host[:port]` of the accounts server, for messages.
    pub fn host(&self) -> String {
        match (self.accounts.host_str(), self.accounts.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => self.accounts.to_string(),
        }
    }

    /// The URLs the user chose, against which a server-named `api_domain` is checked.
    pub fn chosen(&self) -> Vec<&Url> {
        let mut out = vec![&self.accounts];
        out.extend(self.api_override.as_ref());
        out
    }

    /// The `api_domain` a token answer names, checked with the host rule before any token is
    /// sent to it or it is written. With an API override the answer is not used for requests.
    pub fn check_api_domain(&self, api_domain: &str) -> Result<(), HostRefused> {
        if self.api_override.is_some() {
            return Ok(());
        }
        hosts::named_api_domain(api_domain, &self.chosen()).map(|_| ())
    }
}

pub(crate) fn bad_url(err: &AuthError) -> Diagnosis {
    diagnosis::from_error(
        err,
        &Context {
            phase: Phase::Exchange,
            product: None,
            scopes: &[],
            accounts_host: "",
            api_domain: None,
            dc: None,
        },
    )
}

/// The store flags as given (`--store`/`ZOHO_AUTH_STORE`, `--tenant`, `--layout`, `--table`).
/// Its `Debug` never shows the URL, which may carry a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoreFlags {
    pub url: String,
    pub tenant: String,
    pub layout: Option<String>,
    pub table: Option<String>,
}

impl std::fmt::Debug for StoreFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreFlags")
            .field("url", &"<masked>")
            .field("layout", &self.layout)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// What the user chose explicitly, as given (flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    /// `--accounts-url`.
    pub accounts_url: Option<String>,
    /// `--api-domain`.
    pub api_domain: Option<String>,
    /// `--dc`, not yet validated.
    pub dc: Option<String>,
    /// `--store` (or `ZOHO_AUTH_STORE`) with its tenant, layout and table: the grant lives there.
    pub store: Option<StoreFlags>,
}

/// Where a saved grant says requests go (environment variable, else env file; a store later).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    /// `ZOHO_ACCOUNTS_URL`.
    pub accounts_url: Option<String>,
    /// `ZOHO_DC`.
    pub dc: Option<String>,
}

/// What a pasted code carried about where it was issued.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pasted<'a> {
    /// The redirect's or self_client.json's `accounts-server`.
    pub accounts_server: Option<&'a str>,
    /// The redirect's `location`.
    pub location: Option<&'a str>,
}

impl Choice {
    /// `--dc`, validated (exit 2 when unknown).
    pub fn dc(&self) -> Result<Option<Dc>, Diagnosis> {
        match &self.dc {
            None => Ok(None),
            Some(code) => Dc::from_code(code).map(Some).ok_or_else(|| {
                Diagnosis::new(
                    Code::BadInput,
                    format!("Unknown data center {code:?}."),
                    "Use one of: us eu in au jp ca cn sa uk.",
                )
            }),
        }
    }
}

impl Saved {
    fn dc(&self) -> Option<Dc> {
        self.dc.as_deref().and_then(Dc::from_code)
    }
}

/// A configured grant's target (`check`, `token`, `revoke`, `reauth`, `login`): `--accounts-url`,
/// else `--dc`, else `ZOHO_ACCOUNTS_URL`, else `ZOHO_DC`, else the US data center.
pub fn configured(choice: &Choice, saved: &Saved) -> Result<Target, Diagnosis> {
    let flag_dc = choice.dc()?;
    let saved_dc = saved.dc();
    let accounts = choice
        .accounts_url
        .clone()
        .or_else(|| flag_dc.map(Dc::accounts_url))
        .or_else(|| saved.accounts_url.clone())
        .or_else(|| saved_dc.map(Dc::accounts_url))
        .unwrap_or_else(|| Dc::Us.accounts_url());
    Target::from_urls(
        &accounts,
        choice.api_domain.as_deref(),
        flag_dc.or(saved_dc),
    )
}

/// The refusal of a host a paste or a server named: exit 2, the host named, nothing sent.
pub fn refused(e: &HostRefused) -> Diagnosis {
    Diagnosis::new(
        Code::BadInput,
        format!("{}.", capitalized(&e.to_string())),
        e.fix(),
    )
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The data center a paste names through the host rule: a Zoho accounts host (exactly), else a
/// `location` that is a DC code. A foreign host names none.
pub fn pasted_dc(pasted: Pasted<'_>) -> Option<Dc> {
    pasted
        .accounts_server
        .and_then(|a| checked_url(a).ok())
        .and_then(|u| hosts::zoho_accounts_dc(&u))
        .or_else(|| pasted.location.and_then(hosts::location))
}

/// Where a pasted code (`exchange`) is exchanged. `--accounts-url` wins over everything; then the
/// accounts server the paste names, accepted only through [`hosts::named_accounts_server`]
/// (refused: exit 2, nothing sent); then its `location` (a DC code only); then `--dc`, then what
/// is saved. A paste whose data center disagrees with an explicit `--dc` is refused (exit 2),
/// naming both: the user's choice is never beaten silently.
pub fn for_code(
    choice: &Choice,
    saved: &Saved,
    pasted: Pasted<'_>,
    what: &'static str,
) -> Result<Target, Diagnosis> {
    let otherwise = configured(choice, saved)?;
    let flag_dc = choice.dc()?;
    let named = match pasted.accounts_server {
        Some(value) => Some(
            hosts::named_accounts_server(value, &otherwise.accounts, what)
                .map_err(|e| refused(&e))?,
        ),
        None => None,
    };
    if choice.accounts_url.is_some() {
        return Ok(otherwise);
    }
    let named_dc = named
        .as_ref()
        .and_then(hosts::zoho_accounts_dc)
        .or_else(|| pasted.location.and_then(hosts::location));
    if let (Some(flag), Some(pasted_dc)) = (flag_dc, named_dc)
        && flag != pasted_dc
    {
        return Err(Diagnosis::new(
            Code::BadInput,
            format!(
                "The code was issued in {} ({}), but --dc says {} ({}); nothing was sent.",
                pasted_dc.name(),
                pasted_dc.code(),
                flag.name(),
                flag.code()
            ),
            format!(
                "Drop --dc (or pass --dc {}) if the code is right, or generate a code in {}'s API console.",
                pasted_dc.code(),
                flag.name()
            ),
        ));
    }
    let dc = flag_dc.or(named_dc).or(saved.dc());
    match named {
        // A Zoho host, or the sandbox's own `/_dc/{code}` path on the chosen origin.
        Some(url) => Target::from_urls(
            url.as_str().trim_end_matches('/'),
            choice.api_domain.as_deref(),
            dc,
        ),
        None => Ok(Target {
            dc: dc.or(otherwise.dc),
            ..otherwise
        }),
    }
}

/// Where a browser sign-in's code is exchanged: the accounts server the redirect names, accepted
/// only through the host rule against where the sign-in started (refused: exit 2, nothing sent);
/// else where it started. `--accounts-url` keeps its DC unknown unless the host says it.
pub fn after_redirect(
    started: &Target,
    accounts_server: Option<&str>,
    location: Option<&str>,
) -> Result<Target, Diagnosis> {
    let accounts = match accounts_server {
        Some(value) => {
            hosts::named_accounts_server(value, &started.accounts, "the redirect's accounts-server")
                .map_err(|e| refused(&e))?
        }
        None => started.accounts.clone(),
    };
    Ok(Target {
        dc: hosts::zoho_accounts_dc(&accounts)
            .or_else(|| Dc::from_url(accounts.as_str()))
            .or_else(|| location.and_then(hosts::location))
            .or(started.dc),
        accounts,
        api_override: started.api_override.clone(),
    })
}

/// Where a device grant was approved: `moved_to` is the accounts server the device flow ended at
/// (it moves only through `device::other_dc_accounts`, which keeps the host rule).
pub fn after_device(started: &Target, moved_to: &Url) -> Target {
    let moved = moved_to != &started.accounts;
    Target {
        dc: Dc::from_url(moved_to.as_str()).or(if moved { None } else { started.dc }),
        accounts: moved_to.clone(),
        api_override: started.api_override.clone(),
    }
}

/// The wizard's choices, as plain values: the overrides (`--accounts-url`/`--api-domain`, or the
/// built-in sandbox) and `--dc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WizardChoice {
    pub accounts_override: Option<String>,
    pub api_override: Option<String>,
    pub dc_flag: Option<Dc>,
}

/// Where the wizard's requests go for the data center the user picked (`dc`), or for the accounts
/// server a browser sign-in ended at (`signed_in`, already checked by [`after_redirect`]).
pub fn for_wizard(
    choice: &WizardChoice,
    dc: Dc,
    signed_in: Option<&str>,
) -> Result<Target, Diagnosis> {
    if let Some(accounts) = signed_in {
        let dc = Dc::from_url(accounts).or(match choice.accounts_override {
            Some(_) => choice.dc_flag,
            None => Some(dc),
        });
        return Target::from_urls(accounts, choice.api_override.as_deref(), dc);
    }
    match &choice.accounts_override {
        Some(accounts) => {
            Target::from_urls(accounts, choice.api_override.as_deref(), choice.dc_flag)
        }
        None => {
            let mut t = Target::for_dc(dc);
            if let Some(api) = &choice.api_override {
                t = Target::from_urls(&t.accounts_str(), Some(api), Some(dc))?;
            }
            Ok(t)
        }
    }
}

/// Where the wizard's device sign-in was approved (`accounts`, after any `other_dc` move).
pub fn for_wizard_device(
    choice: &WizardChoice,
    dc: Dc,
    started: &Url,
    accounts: &Url,
) -> Result<Target, Diagnosis> {
    let moved = accounts != started;
    let text = accounts.as_str().trim_end_matches('/');
    let dc = Dc::from_url(text).or(match (moved, &choice.accounts_override) {
        (true, _) => None,
        (false, Some(_)) => choice.dc_flag,
        (false, None) => Some(dc),
    });
    Target::from_urls(text, choice.api_override.as_deref(), dc)
}
