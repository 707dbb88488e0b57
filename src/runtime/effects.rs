//! Performs the wizard's effects and answers with messages: HTTP through `auth`, the clipboard
//! (arboard, or OSC 52 over SSH), the browser, and the env file.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use tokio::sync::mpsc::UnboundedSender;

use tokio::task::JoinHandle;
use url::Url;

use super::setup::Setup;
use super::terminal::Term;
use crate::auth::client::{Client, ClientOptions, Credentials};
use crate::auth::device::{self, DeviceError, PollEvent};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::flow::{self, Obtained, Target};
use crate::auth::loopback::{self, AuthorizationRequest, Listener, LoopbackError, RedirectUri};
use crate::auth::save::{self, Destination};
use crate::auth::target;
use crate::auth::{Dc, Product, Secret};
use crate::wizard::{
    CopyOutcome, DeviceCodeInfo, DeviceEvent, Effect, ExchangeRequest, Msg, Org, Outcome,
    SignInFailure, SignedIn, Time, WriteReport, WriteRequest,
};

pub struct Executor {
    setup: Setup,
    tx: UnboundedSender<Msg>,
    client: Client,
    /// Kept alive while the wizard runs: on X11/Wayland the owner serves the copied text.
    clipboard: Option<arboard::Clipboard>,
    /// The running browser or device sign-in; aborting it frees the listener's port.
    sign_in: Option<JoinHandle<()>>,
}

impl Executor {
    pub fn new(setup: Setup, tx: UnboundedSender<Msg>) -> anyhow::Result<Executor> {
        let client = Client::new(ClientOptions {
            verbose: false,
            timeout: Duration::from_secs(20),
        })
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        let clipboard = if setup.ssh {
            None
        } else {
            arboard::Clipboard::new().ok()
        };
        Ok(Executor {
            setup,
            tx,
            client,
            clipboard,
            sign_in: None,
        })
    }

    /// Starts one effect; slow work runs in a task and answers through the channel.
    pub fn perform(&mut self, fx: Effect, now: Time, term: &mut Term) {
        match fx {
            Effect::CopyToClipboard(text) => {
                let outcome = self.copy(&text, term);
                let _ = self.tx.send(Msg::Copied(outcome));
            }
            Effect::OpenUrl(url) => {
                let ok = open::that_detached(&url).is_ok();
                let _ = self.tx.send(Msg::Opened { ok });
            }
            Effect::PollClipboard => {
                let text = self.clipboard.as_mut().and_then(|c| c.get_text().ok());
                let _ = self.tx.send(Msg::Clipboard { text, now });
            }
            Effect::Exchange(req) => {
                let client = self.client.clone();
                let setup = self.setup.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let attempt = req.attempt;
                    let result = exchange(&client, &setup, req).await;
                    let _ = tx.send(Msg::Exchanged { attempt, result });
                });
            }
            Effect::MintSandboxCode {
                attempt,
                scopes,
                minutes,
            } => {
                let tx = self.tx.clone();
                let base = self.setup.sandbox.clone();
                tokio::spawn(async move {
                    let result = mint(base.as_deref(), &scopes.join(","), minutes).await;
                    let _ = tx.send(Msg::SandboxCode {
                        attempt,
                        result,
                        now,
                    });
                });
            }
            Effect::WriteEnv(req) if self.setup.store.is_some() => {
                let tx = self.tx.clone();
                let store = self.setup.store.clone();
                tokio::spawn(async move {
                    let attempt = req.attempt;
                    let result = write_store(store.as_ref(), req).await;
                    let _ = tx.send(Msg::Written { attempt, result });
                });
            }
            Effect::WriteEnv(req) => {
                let tx = self.tx.clone();
                let path = self.setup.env_path.clone();
                tokio::task::spawn_blocking(move || {
                    let attempt = req.attempt;
                    let result = write_env(&path, req);
                    let _ = tx.send(Msg::Written { attempt, result });
                });
            }
            Effect::Check { attempt, product } => {
                let client = self.client.clone();
                let grant = self.setup.reauth.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result =
                        super::reauth::check(&client, grant.as_deref(), product, attempt, &tx)
                            .await;
                    let _ = tx.send(Msg::Checked { attempt, result });
                });
            }
            Effect::RevokeOld { attempt } => {
                let client = self.client.clone();
                let grant = self.setup.reauth.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = super::reauth::revoke_old(&client, grant.as_deref()).await;
                    let _ = tx.send(Msg::RevokedOld { attempt, result });
                });
            }
            Effect::StartBrowserSignIn {
                attempt,
                accounts,
                client_id,
                scopes,
                redirect_uri,
                timeout,
            } => {
                let previous = self.sign_in.take();
                let tx = self.tx.clone();
                self.sign_in = Some(tokio::spawn(async move {
                    stop(previous).await;
                    let request = BrowserRequest {
                        accounts: &accounts,
                        client_id: &client_id,
                        scopes: &scopes,
                        redirect_uri: &redirect_uri,
                        timeout,
                    };
                    let result = browser_sign_in(attempt, request, &tx).await;
                    let _ = tx.send(Msg::SignInCallback { attempt, result });
                }));
            }
            Effect::StartDeviceSignIn {
                attempt,
                accounts,
                dc,
                client_id,
                client_secret,
                scopes,
                product,
            } => {
                let previous = self.sign_in.take();
                let tx = self.tx.clone();
                let client = self.client.clone();
                let setup = self.setup.clone();
                self.sign_in = Some(tokio::spawn(async move {
                    stop(previous).await;
                    let request = DeviceRequest {
                        attempt,
                        accounts,
                        dc,
                        creds: Credentials {
                            client_id,
                            client_secret,
                        },
                        scopes,
                        product,
                    };
                    device_sign_in(&client, &setup, request, &tx).await;
                }));
            }
            Effect::CancelSignIn => {
                if let Some(task) = self.sign_in.take() {
                    task.abort();
                }
            }
            // The event loop handles these itself.
            Effect::StartTimer { .. } | Effect::StopTimer | Effect::Quit(_) => {}
        }
    }

    fn copy(&mut self, text: &str, term: &mut Term) -> CopyOutcome {
        if self.setup.ssh {
            let b64 = base64::engine::general_purpose::STANDARD.encode(text);
            return match term.write_raw(format!("\x1b]52;c;{b64}\x07").as_bytes()) {
                Ok(()) => CopyOutcome::Osc52,
                Err(_) => CopyOutcome::Unavailable,
            };
        }
        match self
            .clipboard
            .as_mut()
            .map(|c| c.set_text(text.to_string()))
        {
            Some(Ok(())) => CopyOutcome::System,
            Some(Err(_)) | None => CopyOutcome::Unavailable,
        }
    }
}

async fn exchange(
    client: &Client,
    setup: &Setup,
    req: ExchangeRequest,
) -> Result<Outcome, Diagnosis> {
    let target = target::for_wizard(&setup.choice, req.dc, req.accounts.as_deref())?;
    let creds = Credentials {
        client_id: req.client_id.clone(),
        client_secret: req.client_secret.clone(),
    };
    let obtained = Obtained::Code {
        code: &req.code,
        redirect_uri: req.redirect_uri.as_deref(),
    };
    verify_new(
        client,
        setup,
        &target,
        &creds,
        obtained,
        &req.scopes,
        req.product,
    )
    .await
}

/// The one recipe of a new grant (`flow::new_grant`): the live test and, in reauth, a refresh;
/// a grant that fails them is revoked there.
async fn verify_new(
    client: &Client,
    setup: &Setup,
    target: &Target,
    creds: &Credentials,
    obtained: Obtained<'_>,
    scopes: &[String],
    product: Option<Product>,
) -> Result<Outcome, Diagnosis> {
    let v = flow::new_grant(
        client,
        target,
        creds,
        obtained,
        scopes,
        product,
        true,
        setup.reauth.is_some(),
    )
    .await?;
    Ok(Outcome {
        access_token: v.tokens.access_token,
        refresh_token: v.tokens.refresh_token,
        scopes: v.tokens.scopes,
        api_domain: v.tokens.api_domain,
        product: v.product,
        organizations: v
            .organizations
            .into_iter()
            .map(|o| Org {
                id: o.id,
                name: o.name,
                is_default: o.is_default,
            })
            .collect(),
        dc_mismatch: v.dc_mismatch,
    })
}

/// Aborts a previous sign-in and waits until it is gone (its listener dropped).
async fn stop(previous: Option<JoinHandle<()>>) {
    if let Some(task) = previous {
        task.abort();
        let _ = task.await;
    }
}

struct BrowserRequest<'a> {
    accounts: &'a str,
    client_id: &'a str,
    scopes: &'a [String],
    redirect_uri: &'a str,
    timeout: Duration,
}

fn loopback_failure(e: LoopbackError) -> SignInFailure {
    match e {
        LoopbackError::Bind { addr, detail } => SignInFailure::PortBusy { addr, detail },
        LoopbackError::Denied => SignInFailure::Denied,
        LoopbackError::StateMismatch => SignInFailure::StateMismatch,
        LoopbackError::TimedOut { seconds, .. } => SignInFailure::TimedOut { seconds },
        LoopbackError::NotLoopback { .. }
        | LoopbackError::BadRedirectUri { .. }
        | LoopbackError::Refused { .. }
        | LoopbackError::MissingCode
        | LoopbackError::Stopped => SignInFailure::Other(e.diagnosis()),
    }
}

fn bad_accounts(accounts: &str) -> SignInFailure {
    SignInFailure::Other(Diagnosis::new(
        Code::BadInput,
        format!("The accounts server {accounts} is not a URL."),
        "Check --accounts-url, or pick the data center again.",
    ))
}

/// Binds the redirect URI's port; a port a cancelled sign-in held is freed a moment after its
/// task is gone, so a busy port is tried again for a short while.
async fn bind(redirect: &RedirectUri) -> Result<Listener, LoopbackError> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    loop {
        match Listener::bind(redirect).await {
            Err(LoopbackError::Bind { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// `Effect::StartBrowserSignIn`: listen, send the URL, wait for the redirect.
async fn browser_sign_in(
    attempt: u64,
    req: BrowserRequest<'_>,
    tx: &UnboundedSender<Msg>,
) -> Result<SignedIn, SignInFailure> {
    let redirect = RedirectUri::parse(req.redirect_uri).map_err(loopback_failure)?;
    let started = Url::parse(req.accounts).map_err(|_| bad_accounts(req.accounts))?;
    // Bind first: a busy port fails before anything is opened.
    let listener = bind(&redirect).await.map_err(loopback_failure)?;
    let state = loopback::new_state();
    let url = loopback::authorization_url(
        &started,
        &AuthorizationRequest {
            client_id: req.client_id,
            scopes: req.scopes,
            redirect_uri: &redirect,
            state: &state,
        },
    )
    .map_err(|_| bad_accounts(req.accounts))?;
    let _ = tx.send(Msg::SignInUrl {
        attempt,
        url: url.to_string(),
    });
    let callback = listener
        .wait_for_redirect(&state, req.timeout)
        .await
        .map_err(loopback_failure)?;
    // The one guard: a redirect naming a foreign accounts server ends the sign-in, nothing sent.
    let accounts = target::after_redirect(
        &Target {
            accounts: started.clone(),
            dc: None,
            api_override: None,
        },
        callback.accounts_server.as_deref(),
        None,
    )
    .map_err(SignInFailure::Other)?
    .accounts;
    Ok(SignedIn {
        code: callback.code,
        dc: Dc::from_url(accounts.as_str()),
        accounts: accounts.as_str().trim_end_matches('/').to_string(),
    })
}

struct DeviceRequest {
    attempt: u64,
    accounts: String,
    dc: Dc,
    creds: Credentials,
    scopes: Vec<String>,
    product: Option<Product>,
}

fn host(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => url.to_string(),
    }
}

fn device_failure(e: DeviceError, started: &Url, scopes: &[String]) -> SignInFailure {
    match e {
        DeviceError::Denied => SignInFailure::Denied,
        DeviceError::Expired { .. } => SignInFailure::Expired,
        DeviceError::Request(_) | DeviceError::UntrustedDc { .. } | DeviceError::Refused { .. } => {
            SignInFailure::Other(e.diagnosis(&host(started), scopes))
        }
    }
}

/// `Effect::StartDeviceSignIn`: the user code, polling at Zoho's pace, then the same checks as
/// an exchange. Answers `Msg::DeviceStarted`, `Msg::DevicePolled`, then `Msg::Exchanged`.
async fn device_sign_in(
    client: &Client,
    setup: &Setup,
    req: DeviceRequest,
    tx: &UnboundedSender<Msg>,
) {
    let attempt = req.attempt;
    let failed = |failure| {
        let _ = tx.send(Msg::DevicePolled {
            attempt,
            event: DeviceEvent::Failed(failure),
        });
    };
    let Ok(started) = Url::parse(&req.accounts) else {
        let _ = tx.send(Msg::DeviceStarted {
            attempt,
            result: Err(bad_accounts(&req.accounts)),
        });
        return;
    };
    let code = match device::start(client, &started, &req.creds.client_id, &req.scopes).await {
        Ok(code) => code,
        Err(e) => {
            let _ = tx.send(Msg::DeviceStarted {
                attempt,
                result: Err(device_failure(e, &started, &req.scopes)),
            });
            return;
        }
    };
    let _ = tx.send(Msg::DeviceStarted {
        attempt,
        result: Ok(DeviceCodeInfo {
            user_code: code.user_code.clone(),
            verification_url: code.verification_url.clone(),
            verification_uri_complete: code.verification_uri_complete.clone(),
            expires_in: code.expires_in,
            interval: code.interval,
        }),
    });
    let observe = |event: PollEvent| {
        let event = match event {
            PollEvent::SlowDown { interval } => DeviceEvent::SlowDown { interval },
            PollEvent::MovedTo { accounts } => DeviceEvent::MovedTo {
                accounts: accounts.as_str().trim_end_matches('/').to_string(),
            },
        };
        let _ = tx.send(Msg::DevicePolled { attempt, event });
    };
    let grant = match device::poll_until(client, &req.creds, &code, observe).await {
        Ok(grant) => grant,
        Err(e) => return failed(device_failure(e, &started, &req.scopes)),
    };
    if grant.tokens.refresh_token.is_none() {
        return failed(SignInFailure::Other(Diagnosis::new(
            Code::InvalidCode,
            "Zoho approved the device code but returned no refresh token.",
            "Press Enter for a new code (it asks for offline access with consent).",
        )));
    }
    let accounts = grant.accounts.as_str().trim_end_matches('/').to_string();
    let _ = tx.send(Msg::DevicePolled {
        attempt,
        event: DeviceEvent::Approved {
            accounts: accounts.clone(),
        },
    });
    let result = match target::for_wizard_device(&setup.choice, req.dc, &started, &grant.accounts) {
        Ok(target) => {
            verify_new(
                client,
                setup,
                &target,
                &req.creds,
                Obtained::Tokens(grant.tokens),
                &req.scopes,
                req.product,
            )
            .await
        }
        Err(d) => Err(d),
    };
    let _ = tx.send(Msg::Exchanged { attempt, result });
}

async fn mint(base: Option<&str>, scope: &str, minutes: u32) -> Result<Secret, String> {
    let base = base.ok_or("no sandbox is running")?;
    let body = serde_json::json!({ "scope": scope, "duration_minutes": minutes });
    let resp = reqwest::Client::new()
        .post(format!("{base}/_sandbox/code"))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("the sandbox did not answer: {e}"))?;
    let json: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| format!("the sandbox answered something unexpected: {e}"))?;
    json.get("code")
        .and_then(|c| c.as_str())
        .map(Secret::new)
        .ok_or_else(|| "the sandbox answered without a code".to_string())
}

/// `Effect::WriteEnv`: the wizard's plan (made by `auth::save::plan`, so the preview is what is
/// written) through the one save path.
fn write_env(path: &Path, req: WriteRequest) -> Result<WriteReport, String> {
    let plan = save::Plan {
        updates: req.updates,
        keychain: req.keychain,
        client_id: req.client_id,
    };
    let report = save::apply(
        &plan,
        &Destination {
            env_path: path,
            appsettings: None,
            add_to_gitignore: req.add_to_gitignore,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(WriteReport {
        env_path: report.env_path.display().to_string(),
        keys: report.keys,
        backup: report.backup.map(|b| b.display().to_string()),
        keychain: report.keychain,
        gitignore_added: report.gitignore_added,
    })
}

/// `Effect::WriteEnv` with `--store`: the same plan, saved as the tenant's row.
async fn write_store(
    store: Option<&crate::auth::stored::StoreChoice>,
    req: WriteRequest,
) -> Result<WriteReport, String> {
    let sc = store.ok_or("no store is configured")?;
    let plan = save::Plan {
        updates: req.updates,
        keychain: req.keychain,
        client_id: req.client_id,
    };
    let columns = crate::auth::stored::save_plan(sc, &plan)
        .await
        .map_err(|d| d.message)?;
    Ok(WriteReport {
        env_path: crate::auth::stored::describe(sc),
        keys: columns,
        backup: None,
        keychain: false,
        gitignore_added: false,
    })
}
