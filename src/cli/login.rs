//! `zoho-auth login`: sign in without pasting a code. `--browser`: a server-based client and a
//! loopback redirect; `--device`: the device flow of a "Non-browser" client. Both end like
//! `exchange`: live test, then the env file. Messages, URLs and the code to type go to stderr,
//! each URL alone on its own line; nothing is written before the grant is verified.

use std::time::Duration;

use crate::auth::client::{Client, Credentials};
use crate::auth::device::{self, PollEvent};
use crate::auth::diagnosis::Diagnosis;
use crate::auth::flow::{self, Obtained, Target};
use crate::auth::loopback::{
    self, AuthorizationRequest, DEFAULT_REDIRECT_URI, Listener, RedirectUri, human_duration,
};
use crate::auth::save::{Expect, SecretsIn};
use crate::auth::{Product, Secret, keys, scopes, target};
use crate::platform;

use super::common::{
    bad_input, client, client_credentials, configured_target, load_env, lookup, print_diagnosis,
    product_flag,
};
use super::exchange::{self, Grant};
use super::{GlobalArgs, LoginArgs};

pub async fn run(global: &GlobalArgs, args: &LoginArgs) -> u8 {
    match login(global, args).await {
        Ok(()) => 0,
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}

/// The client, scopes and starting point, cleaned and validated; nothing has been sent yet.
struct Inputs {
    creds: Credentials,
    scopes: Vec<String>,
    product: Option<Product>,
    /// Where the sign-in starts (the authorization page, the device-code request).
    target: Target,
    /// The refresh token the env file held when read: the save expects it still there.
    held_refresh: Option<Secret>,
}

async fn login(global: &GlobalArgs, args: &LoginArgs) -> Result<(), Diagnosis> {
    super::store::preflight(global).await?;
    match (args.browser, args.device) {
        (true, _) => {
            let redirect =
                RedirectUri::parse(args.redirect_uri.as_deref().unwrap_or(DEFAULT_REDIRECT_URI))
                    .map_err(|e| e.diagnosis())?;
            if args.timeout == 0 {
                return Err(bad_input(
                    "--timeout must be at least 1 second.",
                    "Pass --timeout SECONDS (the default is 300).",
                ));
            }
            let inputs = resolve(global, args)?;
            browser(global, args, &inputs, &client(global)?, &redirect).await
        }
        (false, true) => {
            if args.redirect_uri.is_some() {
                return Err(bad_input(
                    "--redirect-uri applies to --browser only: the device flow has no redirect.",
                    "Drop --redirect-uri, or use --browser.",
                ));
            }
            let inputs = resolve(global, args)?;
            device(global, args, &inputs, &client(global)?).await
        }
        (false, false) => Err(bad_input(
            "Choose how to sign in: --browser or --device.",
            "Use `zoho-auth login --browser` for a server-based client (a browser on this machine), or `zoho-auth login --device` for a \"Non-browser\" client (approve on any device).",
        )),
    }
}

fn resolve(global: &GlobalArgs, args: &LoginArgs) -> Result<Inputs, Diagnosis> {
    let product = product_flag(args.client.product.as_deref())?;
    let env = load_env(&global.env_file)?;
    let (client_id, client_secret) = client_credentials(&args.client, None, None, env.as_ref())?;
    let scopes = args
        .client
        .scopes
        .clone()
        .or_else(|| lookup(keys::SCOPES, env.as_ref()))
        .map(|s| scopes::parse_list(&s))
        .unwrap_or_default();
    if scopes.is_empty() {
        return Err(bad_input(
            "No scopes given.",
            "Pass --scopes with the comma-separated scopes to grant, e.g. --scopes ZohoBooks.fullaccess.all (`zoho-auth scopes` lists them).",
        ));
    }
    let target = configured_target(global, env.as_ref())?;
    // Before the sign-in starts: its code is spent on the exchange, so the save must be able to
    // succeed (the same check as `exchange`).
    exchange::preflight(
        global,
        &client_id,
        &target,
        &scopes,
        SecretsIn::EnvFile,
        None,
    )?;
    Ok(Inputs {
        creds: Credentials {
            client_id,
            client_secret,
        },
        scopes,
        product,
        target,
        held_refresh: Expect::held(env.as_ref()),
    })
}

async fn browser(
    global: &GlobalArgs,
    args: &LoginArgs,
    inputs: &Inputs,
    client: &Client,
    redirect: &RedirectUri,
) -> Result<(), Diagnosis> {
    // Bind first: a busy port fails before anything is opened or sent.
    let listener = Listener::bind(redirect).await.map_err(|e| e.diagnosis())?;
    eprintln!("zoho-auth: listening on {}", listener.listening_on());
    for warning in listener.warnings() {
        eprintln!("zoho-auth: warning: {warning}");
    }
    let state = loopback::new_state();
    let url = loopback::authorization_url(
        &inputs.target.accounts,
        &AuthorizationRequest {
            client_id: &inputs.creds.client_id,
            scopes: &inputs.scopes,
            redirect_uri: redirect,
            state: &state,
        },
    )
    .map_err(|e| bad_input(e.to_string(), "Check --accounts-url."))?;

    let console = inputs
        .target
        .dc
        .map(|dc| format!(" ({})", dc.console_url()))
        .unwrap_or_default();
    eprintln!(
        "zoho-auth: the client must be a server-based client whose Authorized Redirect URIs in the API console{console} include exactly:"
    );
    eprintln!("  {}", redirect.as_str());
    eprintln!("zoho-auth: open this URL to sign in:");
    eprintln!("{url}");
    if args.no_open {
    } else if !platform::can_open_browser() {
        eprintln!(
            "zoho-auth: no browser can be opened here (an SSH session, or no display). Open the URL in a browser on this machine, or forward the port first (`ssh -L {port}:127.0.0.1:{port} HOST`). Simpler without a browser here: `zoho-auth login --device` (a \"Non-browser\" client), or the Self Client paste (`zoho-auth exchange`).",
            port = redirect.port()
        );
    } else if open::that_detached(url.as_str()).is_err() {
        eprintln!("zoho-auth: could not open a browser; open the URL above yourself.");
    }
    eprintln!(
        "zoho-auth: waiting up to {} for the sign-in (Ctrl+C cancels) ...",
        human_duration(args.timeout)
    );

    let callback = listener
        .wait_for_redirect(&state, Duration::from_secs(args.timeout))
        .await
        .map_err(|e| e.diagnosis())?;

    // The one guard: a redirect naming a foreign accounts server is refused (exit 2), nothing sent.
    let target = target::after_redirect(
        &inputs.target,
        callback.accounts_server.as_deref(),
        callback.location.as_deref(),
    )?;
    eprintln!(
        "zoho-auth: signed in; exchanging the code at {} ...",
        target.accounts_str()
    );
    let verified = flow::new_grant(
        client,
        &target,
        &inputs.creds,
        Obtained::Code {
            code: &callback.code,
            redirect_uri: Some(redirect.as_str()),
        },
        &inputs.scopes,
        inputs.product,
        !args.client.no_test,
        false,
    )
    .await?;
    finish(global, args, inputs, client, &target, &verified).await
}

async fn device(
    global: &GlobalArgs,
    args: &LoginArgs,
    inputs: &Inputs,
    client: &Client,
) -> Result<(), Diagnosis> {
    let start = &inputs.target;
    let code = device::start(
        client,
        &start.accounts,
        &inputs.creds.client_id,
        &inputs.scopes,
    )
    .await
    .map_err(|e| e.diagnosis(&host(&start.accounts), &inputs.scopes))?;
    eprintln!("zoho-auth: to sign in, open this page on any device (a phone will do):");
    eprintln!("{}", code.verification_url);
    eprintln!("zoho-auth: and enter the code: {}", code.user_code);
    eprintln!(
        "zoho-auth: waiting for approval (the code expires in {}; Ctrl+C cancels) ...",
        human_duration(code.expires_in.as_secs())
    );
    let grant = device::poll_until(client, &inputs.creds, &code, |event| match event {
        PollEvent::SlowDown { interval } => eprintln!(
            "zoho-auth: Zoho asked to poll less often; polling every {} now.",
            human_duration(interval.as_secs())
        ),
        PollEvent::MovedTo { accounts } => eprintln!(
            "zoho-auth: the account lives in another data center; polling {} now.",
            accounts.as_str().trim_end_matches('/')
        ),
    })
    .await
    .map_err(|e| e.diagnosis(&host(&start.accounts), &inputs.scopes))?;
    let target = target::after_device(start, &grant.accounts);
    eprintln!("zoho-auth: approved.");
    let verified = flow::new_grant(
        client,
        &target,
        &inputs.creds,
        Obtained::Tokens(grant.tokens),
        &inputs.scopes,
        inputs.product,
        !args.client.no_test,
        false,
    )
    .await?;
    finish(global, args, inputs, client, &target, &verified).await
}

async fn finish(
    global: &GlobalArgs,
    args: &LoginArgs,
    inputs: &Inputs,
    client: &Client,
    target: &Target,
    verified: &flow::Verified,
) -> Result<(), Diagnosis> {
    let grant = Grant {
        creds: &inputs.creds,
        target,
        requested_scopes: &inputs.scopes,
        secrets_in: SecretsIn::EnvFile,
        appsettings: None,
        held_refresh: inputs.held_refresh.as_ref(),
    };
    exchange::finish(global, &grant, verified, client, args.client.no_test).await
}

fn host(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.to_string(),
    }
}
