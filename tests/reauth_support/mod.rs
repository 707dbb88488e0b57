//! Fixtures of the reauth transition and snapshot tests: a wizard prefilled as `reauth` prefills it
//! from a working env file, and the check results each diagnosis arrives as. No IO here.
#![allow(dead_code)]

use zoho_auth::auth::diagnosis::{Code, Diagnosis};
use zoho_auth::auth::{Dc, Product, Secret};
use zoho_auth::wizard::{
    CheckResult, CheckStage, DcSource, Effect, Msg, Prefill, ReauthStart, Seed, Wizard, update,
};

use super::support::{ID, SECRET, ctx, t};

pub const BOOKS: &str = "ZohoBooks.fullaccess.all";

/// What `reauth` reads from an env file written by a Books setup in the EU.
pub fn prefill(scopes: &[&str]) -> Prefill {
    Prefill {
        dc: Some((Dc::Eu, DcSource::EnvFile)),
        client_id: Some(ID.into()),
        client_secret: Some(Secret::new(SECRET)),
        client_source: Some("the env file".into()),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..Prefill::default()
    }
}

pub fn reauth_with(prefill: Prefill, seed: Option<Seed>) -> Wizard {
    let mut c = ctx();
    c.env_existing = vec![
        ("ZOHO_CLIENT_ID".into(), Secret::new(ID)),
        ("ZOHO_CLIENT_SECRET".into(), Secret::new(SECRET)),
        ("ZOHO_REFRESH_TOKEN".into(), Secret::new(OLD_REFRESH)),
        ("ZOHO_DC".into(), Secret::new("eu")),
        ("ZOHO_SCOPES".into(), Secret::new(BOOKS)),
    ];
    Wizard::reauth(
        prefill,
        c,
        ReauthStart {
            seed,
            keychain: false,
        },
    )
}

pub fn reauth() -> Wizard {
    reauth_with(prefill(&[BOOKS]), None)
}

/// The refresh token the env file had (never handed to the wizard; only for "not on screen").
pub const OLD_REFRESH: &str =
    "1000.eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.ffffffffffffffffffffffffffffffff";

/// A check result as the runtime reports it, with the contract's wording for each code.
pub fn result(code: Code, product: Option<Product>) -> CheckResult {
    let d = match code {
        Code::Ok => Diagnosis::new(
            code,
            "The refresh token works and Zoho Books lists 2 organizations.",
            "",
        ),
        Code::RefreshTokenRevoked => Diagnosis::new(
            code,
            "accounts.zoho.eu no longer accepts the refresh token (invalid_code): it was revoked, the app was removed from Connected Apps, the password was reset, or it was the oldest of more than 20 refresh tokens for this client and Zoho deleted it.",
            "Get a new one: run `zoho-auth reauth` (or `zoho-auth setup`).",
        ),
        Code::TokenRejected => Diagnosis::new(
            code,
            "Zoho Books rejected a freshly minted token (HTTP 401) although it carries the needed scope.",
            "Check in Zoho that this user belongs to the organization with an admin or API-enabled role.",
        ),
        Code::ScopeMissing => Diagnosis::new(
            code,
            "Zoho CRM refused the token (OAUTH_SCOPE_MISMATCH): it does not carry the scope needed to list organizations.",
            "Generate a new code with ZohoCRM.org.READ added to the scopes (`zoho-auth setup` preselects it), then exchange it.",
        ),
        Code::InvalidClient => Diagnosis::new(
            code,
            "accounts.zoho.eu does not know this client id (invalid_client): the client belongs to another data center, was deleted, or is not enabled for this data center.",
            "Check the data center; in the API console, open the client's Settings tab and enable this data center (Multi-DC), or copy the client id again.",
        ),
        Code::WrongDc => Diagnosis::new(
            code,
            "The env file says Europe (eu), but Zoho placed this account in India (in).",
            "Set ZOHO_DC=in and ZOHO_ACCOUNTS_URL=https://accounts.zoho.in (running `zoho-auth reauth` does it).",
        ),
        Code::InvalidClientSecret => Diagnosis::new(
            code,
            "The client secret does not match the client id (invalid_client_secret).",
            "Copy the secret again from the API console (the client's Client Secret tab).",
        ),
        Code::Network => Diagnosis::new(
            code,
            "Could not reach accounts.zoho.eu: connection refused.",
            "Check your internet connection, proxy or firewall, and the accounts URL; then try again. Nothing was changed.",
        ),
        Code::ServerError => Diagnosis::new(
            code,
            "accounts.zoho.eu answered HTTP 503 with an HTML page.",
            "This is on Zoho's side or a proxy in between: try again in a few minutes. Nothing was changed.",
        ),
        Code::RateLimited => Diagnosis::new(
            code,
            "Zoho answered \"Access Denied: too many requests\": it mints at most 10 access tokens per refresh token in 10 minutes.",
            "Wait up to 10 minutes before trying again, and reuse each access token for its hour (`zoho-auth token` caches it).",
        ),
        Code::MissingCredentials => Diagnosis::new(
            code,
            "ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN not set in the environment (/home/dev/app/.env does not exist).",
            "Run `zoho-auth setup` (or `zoho-auth exchange`) to create them, or pass --env-file with the right file.",
        ),
        _ => Diagnosis::new(code, format!("{} happened.", code.as_str()), "Do the fix."),
    };
    CheckResult {
        diagnosis: d,
        product,
        account_dc: match code {
            Code::WrongDc => Some(Dc::In),
            Code::Ok | Code::TokenRejected | Code::ScopeMissing => Some(Dc::Eu),
            _ => None,
        },
        scopes: vec![],
        organizations: (code == Code::Ok).then_some(2),
    }
}

/// The stages a check reaches before it ends with `code`.
pub fn stages(code: Code, product: Option<Product>) -> Vec<CheckStage> {
    let product = product.unwrap_or(Product::Books);
    match code {
        Code::MissingCredentials | Code::BadInput => vec![],
        Code::RefreshTokenRevoked
        | Code::InvalidClient
        | Code::InvalidClientSecret
        | Code::Network
        | Code::ServerError
        | Code::RateLimited => vec![CheckStage::Refreshing],
        _ => vec![CheckStage::Refreshing, CheckStage::Testing(product)],
    }
}

/// Starts the wizard and answers its check with `code`; returns the effects of the answer.
pub fn check_answers(w: &mut Wizard, code: Code, product: Option<Product>) -> Vec<Effect> {
    let fx = w.start(t(0));
    let attempt = match fx.last() {
        Some(Effect::Check { attempt, .. }) => *attempt,
        other => panic!("start did not ask for a check: {other:?}"),
    };
    for stage in stages(code, product) {
        assert_eq!(update(w, Msg::CheckProgress { attempt, stage }), vec![]);
    }
    update(
        w,
        Msg::Checked {
            attempt,
            result: result(code, product),
        },
    )
}
