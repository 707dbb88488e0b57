//! Performs the wizard's effects and answers with messages: HTTP through `auth`, the clipboard
//! (arboard, or OSC 52 over SSH), the browser, and the env file.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use tokio::sync::mpsc::UnboundedSender;

use tokio::task::JoinHandle;
use url::Url;

use super::Setup;
use super::terminal::Term;
use crate::auth::client::{Client, ClientOptions, Credentials, TokenSet};
use crate::auth::device::{self, DeviceError, PollEvent};
use crate::auth::diagnosis::{Code, Diagnosis};
use crate::auth::envfile;
use crate::auth::flow::{self, Target};
use crate::auth::loopback::{self, AuthorizationRequest, Listener, LoopbackError, RedirectUri};
use crate::auth::{Dc, Product, Secret};
use crate::wizard::{
    CopyOutcome, DeviceCodeInfo, DeviceEvent, Effect, EnvValue, ExchangeRequest, Msg, Org, Outcome,
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

fn target(setup: &Setup, req: &ExchangeRequest) -> Result<Target, Diagnosis> {
    if let Some(accounts) = &req.accounts {
        // Where the browser sign-in ended: the redirect's (trusted) accounts server.
        let dc = Dc::from_url(accounts).or(match setup.accounts_override {
            Some(_) => setup.dc_flag,
            None => Some(req.dc),
        });
        return Target::from_urls(accounts, setup.api_override.as_deref(), dc);
    }
    match &setup.accounts_override {
        Some(accounts) => Target::from_urls(accounts, setup.api_override.as_deref(), setup.dc_flag),
        None => {
            let mut t = Target::for_dc(req.dc);
            if let Some(api) = &setup.api_override {
                t = Target::from_urls(&t.accounts_str(), Some(api), Some(req.dc))?;
            }
            Ok(t)
        }
    }
}

async fn exchange(
    client: &Client,
    setup: &Setup,
    req: ExchangeRequest,
) -> Result<Outcome, Diagnosis> {
    let target = target(setup, &req)?;
    let creds = Credentials {
        client_id: req.client_id.clone(),
        client_secret: req.client_secret.clone(),
    };
    // The exchange alone first, so that a refresh token a later check refuses can be revoked.
    let exchanged = flow::exchange_and_verify(
        client,
        &target,
        &creds,
        &req.code,
        req.redirect_uri.as_deref(),
        &req.scopes,
        req.product,
        false,
    )
    .await?;
    verify_new(
        client,
        setup,
        &target,
        &creds,
        exchanged.tokens,
        &req.scopes,
        req.product,
    )
    .await
}

/// The checks a new grant must pass before it may be saved: the live test and, in reauth, a
/// refresh. When one fails, nothing will be written, so the new refresh token is revoked (best
/// effort): unsaved, it would still count against Zoho's 20 per user and client.
async fn verify_new(
    client: &Client,
    setup: &Setup,
    target: &Target,
    creds: &Credentials,
    tokens: TokenSet,
    scopes: &[String],
    product: Option<Product>,
) -> Result<Outcome, Diagnosis> {
    let fresh = tokens.refresh_token.clone();
    let checked = async {
        let v = flow::verify(client, target, tokens, scopes, product, true).await?;
        if setup.reauth.is_some()
            && let Some(refresh) = &v.tokens.refresh_token
        {
            super::reauth::verify_refresh(client, target, creds, refresh).await?;
        }
        Ok::<_, Diagnosis>(v)
    }
    .await;
    let v = match (checked, fresh) {
        (Ok(v), _) => v,
        (Err(d), None) => return Err(d),
        (Err(d), Some(fresh)) => return Err(discard(client, target, &fresh, d).await),
    };
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

/// Revokes a new refresh token that will not be saved, and says so in the diagnosis.
async fn discard(client: &Client, target: &Target, fresh: &Secret, d: Diagnosis) -> Diagnosis {
    match flow::revoke(client, target, fresh).await {
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
    let accounts = callback.accounts(&started);
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
    let moved = grant.accounts != started;
    let dc = Dc::from_url(&accounts).or(match (moved, &setup.accounts_override) {
        (true, _) => None,
        (false, Some(_)) => setup.dc_flag,
        (false, None) => Some(req.dc),
    });
    let result = match Target::from_urls(&accounts, setup.api_override.as_deref(), dc) {
        Ok(target) => {
            verify_new(
                client,
                setup,
                &target,
                &req.creds,
                grant.tokens,
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

fn write_env(path: &Path, req: WriteRequest) -> Result<WriteReport, String> {
    let existed = path.exists();
    let values: Vec<(String, Option<String>)> = req
        .updates
        .iter()
        .map(|(k, v)| {
            let value = match v {
                EnvValue::Plain(s) => Some(s.clone()),
                EnvValue::Secret(s) => Some(s.expose().to_string()),
                EnvValue::Remove => None,
            };
            (k.clone(), value)
        })
        .collect();
    let updates: Vec<(&str, Option<&str>)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    let keychain = !req.keychain.is_empty();
    if keychain {
        let secrets: Vec<(&str, &Secret)> =
            req.keychain.iter().map(|(k, v)| (k.as_str(), v)).collect();
        crate::auth::store::init_default_store()
            .and_then(|()| {
                crate::auth::store::save_with_keychain(path, &req.client_id, &secrets, &updates)
            })
            .map_err(|e| e.to_string())?;
    } else {
        envfile::update(path, &updates).map_err(|e| e.to_string())?;
    }
    let mut gitignore_added = false;
    if req.add_to_gitignore {
        gitignore_added = envfile::add_to_gitignore(path).is_ok();
    }
    Ok(WriteReport {
        env_path: path.display().to_string(),
        keys: req
            .updates
            .iter()
            .filter(|(_, v)| !matches!(v, EnvValue::Remove))
            .map(|(k, _)| k.clone())
            .collect(),
        backup: existed.then(|| envfile::backup_path(path).display().to_string()),
        keychain,
        gitignore_added,
    })
}
