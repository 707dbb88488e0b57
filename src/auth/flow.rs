//! The operations the commands and the wizard share, each ending in a `Diagnosis` on failure:
//! the one recipe of a new grant (exchange, check the `api_domain` Zoho names, live test,
//! refresh-verify, revoke when it will not be saved), check a configured grant, probe, revoke.
//! One client, one diagnosis: `exchange`, `login` and the wizard cannot disagree about an error.

use super::Product;
use super::client::{AuthError, Client, Credentials, TokenSet};
use super::dc::Dc;
use super::diagnosis::{self, Code, Context, Diagnosis, Phase};
use super::probe::{self, Organization};
use super::scopes;
use super::secret::Secret;
use serde::Serialize;

pub use super::target::Target;

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
    // The api_domain Zoho names receives the access token (live test) and is written: the host
    // rule first. Refused, the new grant cannot be used: revoke it at the (trusted) accounts
    // server and write nothing.
    if let Err(e) = target.check_api_domain(&tokens.api_domain) {
        let d = Diagnosis::new(
            Code::ServerError,
            format!("The server answered an api_domain that is not a Zoho API host: {e}."),
            "Check --accounts-url: it must be Zoho's accounts server (or the sandbox). If the API domain really is yours, name it with --api-domain.",
        );
        return Err(match &tokens.refresh_token {
            Some(fresh) => discard(client, target, fresh, d).await,
            None => d,
        });
    }
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
            Err(diagnosis) => {
                // The new refresh token will not be saved. Revoke it: Zoho deletes the oldest of
                // more than 20 per client, and that may be the one in use (best effort).
                return Err(match &tokens.refresh_token {
                    Some(fresh) => discard(client, target, fresh, diagnosis).await,
                    None => diagnosis,
                });
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

/// How a new grant was obtained.
pub enum Obtained<'a> {
    /// A code to exchange (Self Client paste, browser redirect), with the redirect URI it was
    /// issued for.
    Code {
        code: &'a Secret,
        redirect_uri: Option<&'a str>,
    },
    /// Tokens already issued (the device flow).
    Tokens(TokenSet),
}

/// The one recipe of a new grant: exchange (or take the device flow's tokens), check the
/// `api_domain`, live-test (unless `live_test` is false), refresh-verify (when `refresh_verify`,
/// as reauth does before replacing a working grant). Whatever fails after Zoho issued a refresh
/// token revokes it, and the diagnosis says so: unsaved, it would count against Zoho's 20.
#[allow(clippy::too_many_arguments)]
pub async fn new_grant(
    client: &Client,
    target: &Target,
    creds: &Credentials,
    obtained: Obtained<'_>,
    requested_scopes: &[String],
    product: Option<Product>,
    live_test: bool,
    refresh_verify: bool,
) -> Result<Verified, Diagnosis> {
    let verified = match obtained {
        Obtained::Code { code, redirect_uri } => {
            exchange_and_verify(
                client,
                target,
                creds,
                code,
                redirect_uri,
                requested_scopes,
                product,
                live_test,
            )
            .await?
        }
        Obtained::Tokens(tokens) => {
            if tokens.refresh_token.is_none() {
                return Err(Diagnosis::new(
                    Code::InvalidCode,
                    "Zoho approved the sign-in but returned no refresh token.",
                    "Sign in again (zoho-auth asks for offline access with consent).",
                ));
            }
            verify(client, target, tokens, requested_scopes, product, live_test).await?
        }
    };
    if refresh_verify
        && let Some(fresh) = &verified.tokens.refresh_token
        && let Err(d) = refresh(client, target, creds, fresh).await
    {
        let d = Diagnosis::new(
            d.code,
            format!(
                "The new token was exchanged and live-tested, but refreshing it failed, so nothing was written: {}",
                d.message
            ),
            d.fix,
        );
        return Err(discard(client, target, fresh, d).await);
    }
    Ok(verified)
}

/// Revokes a new refresh token that will not be saved (best effort), and says so in the
/// diagnosis when Zoho confirmed it.
pub async fn discard(client: &Client, target: &Target, fresh: &Secret, d: Diagnosis) -> Diagnosis {
    match client.revoke(&target.accounts, fresh).await {
        Ok(_) => Diagnosis::new(
            d.code,
            format!(
                "{} The new refresh token was not saved, and was revoked at Zoho.",
                d.message.trim_end()
            ),
            d.fix,
        ),
        Err(_) => d,
    }
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
    check_tokens(client, target, tokens, configured_scopes, product, progress).await
}

/// The live test of `check` with an access token in hand: fresh from a refresh, or from the
/// token cache (then no refresh is spent).
pub async fn check_tokens(
    client: &Client,
    target: &Target,
    tokens: TokenSet,
    configured_scopes: &[String],
    product: Option<Product>,
    progress: &(dyn Fn(CheckStage) + Send + Sync),
) -> CheckReport {
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
    if let Err(e) = target.check_api_domain(&tokens.api_domain) {
        report.ok = false;
        report.diagnosis = Code::ServerError;
        report.message =
            format!("The server answered an api_domain that is not a Zoho API host: {e}.");
        report.fix = "Check ZOHO_ACCOUNTS_URL and --accounts-url: they must name Zoho's accounts server (or the sandbox).".into();
        report.api_domain = None;
        report.access = None;
        return report;
    }
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
pub fn refine_wrong_dc(d: Diagnosis, target: &Target) -> Diagnosis {
    let accounts_dc = Dc::from_url(target.accounts.as_str());
    match (d.code, target.dc, accounts_dc) {
        (Code::InvalidClient, Some(configured), Some(actual)) if configured != actual => {
            diagnosis::wrong_dc(actual, configured)
        }
        _ => d,
    }
}
