//! The operations the commands and the wizard share, each ending in a `Diagnosis` on failure:
//! exchange and verify a new grant, check a configured one, probe, revoke. One client, one
//! diagnosis: `exchange` and the wizard cannot disagree about what an error means.

use serde::Serialize;
use url::Url;

use super::Product;
use super::client::{AuthError, Client, Credentials, TokenSet, checked_url};
use super::dc::Dc;
use super::diagnosis::{self, Code, Context, Diagnosis, Phase};
use super::probe::{self, Organization};
use super::scopes;
use super::secret::Secret;

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

    fn host(&self) -> String {
        match (self.accounts.host_str(), self.accounts.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => self.accounts.to_string(),
        }
    }
}

/// The diagnosis of an error met in `phase` against `target`.
fn diagnose(
    err: &AuthError,
    phase: Phase,
    target: &Target,
    product: Option<Product>,
    scopes: &[String],
) -> Diagnosis {
    diagnose_at(err, phase, target, product, scopes, None)
}

/// As [`diagnose`], knowing the grant's `api_domain` (an API refusal at another DC's host is
/// `wrong_dc`).
fn diagnose_at(
    err: &AuthError,
    phase: Phase,
    target: &Target,
    product: Option<Product>,
    scopes: &[String],
    api_domain: Option<&str>,
) -> Diagnosis {
    diagnosis::from_error(
        err,
        &Context {
            phase,
            product,
            scopes,
            accounts_host: &target.host(),
            api_domain,
            dc: target.dc,
        },
    )
}

fn bad_url(err: &AuthError) -> Diagnosis {
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

/// A grant that was exchanged and, unless skipped, live-tested.
#[derive(Debug, Clone)]
pub struct Verified {
    pub tokens: TokenSet,
    pub product: Option<Product>,
    pub organizations: Vec<Organization>,
    /// The DC of the account, from `api_domain` (else the target's).
    pub dc: Option<Dc>,
    /// Set when Zoho's `api_domain` implies another DC than the one chosen.
    pub dc_mismatch: Option<Dc>,
}

/// The scopes to reason with: what Zoho says the token carries, else what was requested.
fn effective_scopes(tokens: &TokenSet, requested: &[String]) -> Vec<String> {
    if tokens.scopes.is_empty() {
        requested.to_vec()
    } else {
        tokens.scopes.clone()
    }
}

/// Exchanges a code, then (unless `live_test` is false) probes the product's organizations.
#[allow(clippy::too_many_arguments)]
pub async fn exchange_and_verify(
    client: &Client,
    target: &Target,
    creds: &Credentials,
    code: &Secret,
    redirect_uri: Option<&str>,
    requested_scopes: &[String],
    product: Option<Product>,
    live_test: bool,
) -> Result<Verified, Diagnosis> {
    let tokens = client
        .exchange_code(&target.accounts, creds, code, redirect_uri)
        .await
        .map_err(|e| diagnose(&e, Phase::Exchange, target, product, requested_scopes))?;
    if tokens.refresh_token.is_none() {
        return Err(Diagnosis::new(
            Code::InvalidCode,
            "Zoho exchanged the code but returned no refresh token: the code was generated for online access only.",
            "For a server-based client, request the code with access_type=offline and prompt=consent (`zoho-auth login --browser` does); a Self Client code always gives one.",
        ));
    }
    verify(client, target, tokens, requested_scopes, product, live_test).await
}

/// The second half of [`exchange_and_verify`], for tokens obtained another way (the device flow):
/// picks the product, notes a data-center mismatch and (unless `live_test` is false) probes.
pub async fn verify(
    client: &Client,
    target: &Target,
    tokens: TokenSet,
    requested_scopes: &[String],
    product: Option<Product>,
    live_test: bool,
) -> Result<Verified, Diagnosis> {
    let scopes = effective_scopes(&tokens, requested_scopes);
    let product = product.or_else(|| scopes::first_probe_product(&scopes));
    let account_dc = Dc::from_url(&tokens.api_domain);
    let dc_mismatch = match (target.dc, account_dc) {
        (Some(chosen), Some(actual)) if chosen != actual => Some(actual),
        _ => None,
    };
    let mut organizations = Vec::new();
    if live_test && let Some(product) = product {
        let probed = probe_with(
            client,
            target,
            &tokens.api_domain,
            product,
            &tokens.access_token,
            &scopes,
        )
        .await;
        organizations = match probed {
            Ok(organizations) => organizations,
            Err(mut diagnosis) => {
                // The new refresh token will not be saved. Revoke it: Zoho deletes the oldest of
                // more than 20 per client, and that may be the one in use (best effort).
                if let Some(refresh) = &tokens.refresh_token
                    && client.revoke(&target.accounts, refresh).await.is_ok()
                {
                    diagnosis.message = format!(
                        "{} The new refresh token was not saved, and was revoked at Zoho.",
                        diagnosis.message.trim_end()
                    );
                }
                return Err(diagnosis);
            }
        };
    }
    Ok(Verified {
        dc: account_dc.or(target.dc),
        dc_mismatch,
        product,
        organizations,
        tokens,
    })
}

/// The live test alone, with the diagnosis of a refusal.
pub async fn probe(
    client: &Client,
    target: &Target,
    api_domain: &str,
    product: Product,
    access: &Secret,
) -> Result<Vec<Organization>, Diagnosis> {
    probe_with(client, target, api_domain, product, access, &[]).await
}

async fn probe_with(
    client: &Client,
    target: &Target,
    api_domain: &str,
    product: Product,
    access: &Secret,
    scopes: &[String],
) -> Result<Vec<Organization>, Diagnosis> {
    let fail = |e: AuthError| {
        diagnose_at(
            &e,
            Phase::Probe,
            target,
            Some(product),
            scopes,
            Some(api_domain),
        )
    };
    let base =
        probe::probe_base(product, api_domain, target.api_override.as_ref()).map_err(fail)?;
    probe::probe(client, product, &base, access)
        .await
        .map_err(fail)
}

/// Refreshes an access token, with the diagnosis of a refusal.
pub async fn refresh(
    client: &Client,
    target: &Target,
    creds: &Credentials,
    refresh_token: &Secret,
) -> Result<TokenSet, Diagnosis> {
    client
        .refresh(&target.accounts, creds, refresh_token)
        .await
        .map_err(|e| diagnose(&e, Phase::Refresh, target, None, &[]))
}

/// Revokes a token at Zoho. `Ok(false)`: Zoho did not know it (already revoked).
pub async fn revoke(client: &Client, target: &Target, token: &Secret) -> Result<bool, Diagnosis> {
    client
        .revoke(&target.accounts, token)
        .await
        .map_err(|e| diagnose(&e, Phase::Revoke, target, None, &[]))
}

/// What `check` found: the diagnosis and what is known of the account.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub diagnosis: Code,
    pub message: String,
    pub fix: String,
    pub dc: Option<&'static str>,
    pub api_domain: Option<String>,
    pub product: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<Organization>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The fresh access token, for the token cache. Never serialized.
    #[serde(skip)]
    pub access: Option<(Secret, std::time::Duration)>,
}

impl CheckReport {
    pub fn failed(d: Diagnosis, dc: Option<Dc>, product: Option<Product>) -> CheckReport {
        CheckReport {
            ok: false,
            diagnosis: d.code.for_check(),
            message: d.message,
            fix: d.fix,
            dc: dc.map(Dc::code),
            api_domain: None,
            product: product.map(Product::code),
            organizations: None,
            scopes: Vec::new(),
            access: None,
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.diagnosis.exit_code()
    }
}

/// The stage a running `check` has reached, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckStage {
    /// Refreshing an access token at the accounts server.
    Refreshing,
    /// Calling the product's organizations endpoint.
    Testing(Product),
}

/// Refresh, then live-test: the health check of a configured grant. `configured_scopes` come from
/// `ZOHO_SCOPES` and are used when Zoho does not say which scopes the token carries.
pub async fn check(
    client: &Client,
    target: &Target,
    creds: &Credentials,
    refresh_token: &Secret,
    configured_scopes: &[String],
    product: Option<Product>,
) -> CheckReport {
    check_with_progress(
        client,
        target,
        creds,
        refresh_token,
        configured_scopes,
        product,
        &|_| {},
    )
    .await
}

/// `check`, calling `progress` as each stage starts.
pub async fn check_with_progress(
    client: &Client,
    target: &Target,
    creds: &Credentials,
    refresh_token: &Secret,
    configured_scopes: &[String],
    product: Option<Product>,
    progress: &(dyn Fn(CheckStage) + Send + Sync),
) -> CheckReport {
    progress(CheckStage::Refreshing);
    let tokens = match refresh(client, target, creds, refresh_token).await {
        Ok(t) => t,
        Err(d) => {
            let d = refine_wrong_dc(d, target);
            return CheckReport::failed(d, target.dc, product);
        }
    };
    let scopes = effective_scopes(&tokens, configured_scopes);
    let product = product.or_else(|| scopes::first_probe_product(&scopes));
    let account_dc = Dc::from_url(&tokens.api_domain).or(target.dc);
    let mut report = CheckReport {
        ok: true,
        diagnosis: Code::Ok,
        message: String::new(),
        fix: String::new(),
        dc: account_dc.map(Dc::code),
        api_domain: Some(tokens.api_domain.clone()),
        product: product.map(Product::code),
        organizations: None,
        scopes: scopes.clone(),
        access: Some((tokens.access_token.clone(), tokens.expires_in)),
    };
    let Some(product) = product else {
        report.message = "The refresh token works. No product's organizations endpoint can be tested with these scopes.".into();
        report.fix =
            "Pass --product to test one (books, invoice, inventory, expense, crm, desk).".into();
        return report;
    };
    progress(CheckStage::Testing(product));
    match probe_with(
        client,
        target,
        &tokens.api_domain,
        product,
        &tokens.access_token,
        &scopes,
    )
    .await
    {
        Ok(orgs) => {
            report.message = format!(
                "The refresh token works and {} lists {} organization{}.",
                product.name(),
                orgs.len(),
                if orgs.len() == 1 { "" } else { "s" }
            );
            report.organizations = Some(orgs);
        }
        Err(d) => {
            let d = match (target.dc, Dc::from_url(&tokens.api_domain)) {
                (Some(configured), Some(actual))
                    if configured != actual && d.code == Code::TokenRejected =>
                {
                    diagnosis::wrong_dc(configured, actual)
                }
                _ => d,
            };
            report.ok = false;
            report.diagnosis = d.code.for_check();
            report.message = d.message;
            report.fix = d.fix;
        }
    }
    report
}

/// `invalid_client` at a Zoho accounts server whose DC differs from the configured `ZOHO_DC` is a
/// wrong data center.
fn refine_wrong_dc(d: Diagnosis, target: &Target) -> Diagnosis {
    let accounts_dc = Dc::from_url(target.accounts.as_str());
    match (d.code, target.dc, accounts_dc) {
        (Code::InvalidClient, Some(configured), Some(actual)) if configured != actual => {
            diagnosis::wrong_dc(actual, configured)
        }
        _ => d,
    }
}
