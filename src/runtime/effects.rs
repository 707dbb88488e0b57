//! Performs the wizard's effects and answers with messages: HTTP through `auth`, the clipboard
//! (arboard, or OSC 52 over SSH), the browser, and the env file.

use std::path::{Path, PathBuf};
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
use crate::auth::envfile::EnvError;
use crate::auth::flow::{self, Obtained, Target};
use crate::auth::loopback::{self, AuthorizationRequest, Listener, LoopbackError, RedirectUri};
use crate::auth::printable::printable;
use crate::auth::save::{self, Destination, Expect};
use crate::auth::target;
use crate::auth::{Dc, Product, Secret, keys};
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
        let mut client = Client::new(ClientOptions {
            verbose: false,
            timeout: setup.http.timeout,
        })
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        if let Some(lines) = &setup.http.trace {
            client = client.with_trace(crate::auth::trace::Trace::capture(lines.clone()));
        }
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
                let client = self.client.clone();
                tokio::spawn(async move {
                    let attempt = req.attempt;
                    let result = write_env(&client, path, req).await;
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
                let env_path = self.setup.env_path.clone();
                self.sign_in = Some(tokio::spawn(async move {
                    stop(previous).await;
                    // Before the sign-in starts: its code is spent on the exchange.
                    if let Err(d) = preflight(&env_path, &client_id, &accounts, &scopes).await {
                        let result = Err(SignInFailure::Other(d));
                        let _ = tx.send(Msg::SignInCallback { attempt, result });
                        return;
                    }
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
    // The code can be exchanged once: refuse before sending it if the save could not succeed.
    // The wizard shows this on its exchange error screen; the code stays unspent.
    preflight(
        &setup.env_path,
        &req.client_id,
        &target.accounts_str(),
        &req.scopes,
    )
    .await?;
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

/// [`save::preflight`] for the wizard, before a code is sent or a sign-in starts: the env file
/// with what will be written there (the file-mode plan, a superset of the keychain one).
async fn preflight(
    env_path: &Path,
    client_id: &str,
    accounts: &str,
    scopes: &[String],
) -> Result<(), Diagnosis> {
    let (env_path, client_id, accounts, scopes) = (
        env_path.to_path_buf(),
        client_id.to_string(),
        accounts.to_string(),
        scopes.to_vec(),
    );
    let checked = tokio::task::spawn_blocking(move || {
        save::preflight(&save::Intent {
            client_id: &client_id,
            accounts_url: &accounts,
            scopes: &scopes,
            secrets_in: save::SecretsIn::EnvFile,
            dest: Destination {
                env_path: &env_path,
                appsettings: None,
                add_to_gitignore: false,
                expect: Expect::Anything,
            },
        })
        .map_err(|e| e.diagnosis())
    })
    .await;
    let d = match checked {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(d)) => d,
        Err(_) => Diagnosis::new(
            Code::BadInput,
            "The env file could not be checked.",
            "Check the env file's folder, then try again.",
        ),
    };
    Err(Diagnosis::new(
        d.code,
        d.message,
        "Nothing was sent, so the code can still be used while its countdown runs: fix the env file's folder or content, then send the same code again.",
    ))
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
    let mut lines = vec![format!("Listening on {}", listener.listening_on())];
    lines.extend(
        listener
            .warnings()
            .iter()
            .map(|w| format!("Warning: {}", printable(w))),
    );
    let _ = tx.send(Msg::SignInListening { attempt, lines });
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
    // Before the device code is asked for: the approval's tokens must be able to be saved.
    if let Err(d) = preflight(
        &setup.env_path,
        &req.creds.client_id,
        &req.accounts,
        &req.scopes,
    )
    .await
    {
        let _ = tx.send(Msg::DeviceStarted {
            attempt,
            result: Err(SignInFailure::Other(d)),
        });
        return;
    }
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
/// written) through the one save path. Written only if the env file still holds the refresh token
/// it held when the wizard read it; when another command saved one meanwhile, that one stays and
/// the wizard's new token is revoked (unsaved, it would count against Zoho's 20 per client).
async fn write_env(
    client: &Client,
    path: PathBuf,
    req: WriteRequest,
) -> Result<WriteReport, String> {
    let plan = save::Plan {
        updates: req.updates,
        keychain: req.keychain,
        client_id: req.client_id,
    };
    let add_to_gitignore = req.add_to_gitignore;
    let expected = req.expected_refresh;
    let (plan, applied) = tokio::task::spawn_blocking(move || {
        let applied = save::apply(
            &plan,
            &Destination {
                env_path: &path,
                appsettings: None,
                add_to_gitignore,
                expect: Expect::RefreshToken(expected.as_ref()),
            },
        );
        (plan, applied)
    })
    .await
    .map_err(|_| "the save did not finish".to_string())?;
    let report = match applied {
        Ok(report) => report,
        Err(e @ save::SaveError::EnvFile(EnvError::Changed { .. })) => {
            let d = e.diagnosis();
            let accounts = plan
                .value(keys::ACCOUNTS_URL)
                .and_then(|u| Url::parse(u).ok());
            let fresh = plan.value(keys::REFRESH_TOKEN).map(Secret::new);
            let d = match (accounts, fresh) {
                (Some(accounts), Some(fresh)) => {
                    let target = Target {
                        accounts,
                        dc: None,
                        api_override: None,
                    };
                    flow::discard(client, &target, &fresh, d).await
                }
                _ => d,
            };
            return Err(format!("{} {}", d.message, d.fix));
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(WriteReport {
        env_path: report.env_path.display().to_string(),
        keys: report.keys,
        backup: report.backup.map(|b| b.display().to_string()),
        backup_gitignore: report.backup_gitignore.map(|g| g.display().to_string()),
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
        backup_gitignore: None,
    })
}

#[cfg(test)]
mod tests {
    //! The wizard's effects against the in-process sandbox: the save is checked before a code is
    //! sent or a device code asked for (issue 11 item 7), and a save that lost a race to another
    //! command revokes the wizard's new token (item 8).

    use super::*;
    use crate::auth::save::{NewGrant, SecretsIn};
    use crate::auth::target::WizardChoice;
    use crate::sandbox::{Sandbox, SandboxConfig};

    const SCOPE: &str = "ZohoBooks.fullaccess.all";

    fn setup(env_path: PathBuf, base: &str) -> Setup {
        Setup {
            env_path,
            choice: WizardChoice {
                accounts_override: Some(base.to_string()),
                api_override: None,
                dc_flag: None,
            },
            ssh: true,
            sandbox: None,
            reauth: None,
            store: None,
            http: Default::default(),
        }
    }

    fn client() -> Client {
        Client::new(ClientOptions {
            verbose: false,
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_exchange_effect_checks_the_save_before_sending_the_code() {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("later").join(".env");
        let setup = setup(env.clone(), &sandbox.base_url());
        let demo = sandbox.self_client();
        let req = ExchangeRequest {
            attempt: 1,
            dc: Dc::Us,
            client_id: demo.client_id.clone(),
            client_secret: Secret::new(demo.client_secret.clone()),
            code: Secret::new(sandbox.mint_code(SCOPE, 5)),
            scopes: vec![SCOPE.to_string()],
            product: None,
            redirect_uri: None,
            accounts: None,
        };
        let refused = exchange(&client(), &setup, req.clone()).await.unwrap_err();
        assert_eq!(refused.code, Code::BadInput, "{refused}");
        assert!(refused.fix.contains("Nothing was sent"), "{refused}");
        assert_eq!(sandbox.stats().exchanges, 0, "the code was not sent");

        std::fs::create_dir(env.parent().unwrap()).unwrap();
        let outcome = exchange(&client(), &setup, req)
            .await
            .expect("the same code still works");
        assert_eq!(sandbox.stats().exchanges, 1);

        // Another command saved a token meanwhile: the wizard's save does not overwrite it, and
        // its own new token is revoked.
        std::fs::write(&env, "ZOHO_REFRESH_TOKEN=1000.ffff.ffff\n").unwrap();
        let fresh = outcome.refresh_token.unwrap();
        let plan = save::plan(
            &NewGrant {
                client_id: demo.client_id.clone(),
                client_secret: Secret::new(demo.client_secret.clone()),
                refresh_token: fresh,
                dc: None,
                accounts_url: sandbox.base_url(),
                api_domain: Some(outcome.api_domain),
                scopes: Some(SCOPE.into()),
                organization_id: None,
            },
            SecretsIn::EnvFile,
            false,
        );
        let lost = write_env(
            &client(),
            env.clone(),
            WriteRequest {
                attempt: 2,
                updates: plan.updates,
                keychain: plan.keychain,
                client_id: plan.client_id,
                add_to_gitignore: false,
                expected_refresh: None,
            },
        )
        .await
        .unwrap_err();
        assert!(lost.contains("Another command saved"), "{lost}");
        assert!(lost.contains("revoked at Zoho"), "{lost}");
        assert_eq!(sandbox.stats().revokes, 1);
        assert_eq!(
            std::fs::read_to_string(&env).unwrap(),
            "ZOHO_REFRESH_TOKEN=1000.ffff.ffff\n"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_device_sign_in_checks_the_save_before_asking_for_a_code() {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("later").join(".env");
        let base = sandbox.base_url();
        let setup = setup(env, &base);
        let demo = sandbox.device_client();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let req = DeviceRequest {
            attempt: 3,
            accounts: base,
            dc: Dc::Us,
            creds: Credentials {
                client_id: demo.client_id,
                client_secret: Secret::new(demo.client_secret),
            },
            scopes: vec![SCOPE.to_string()],
            product: None,
        };
        device_sign_in(&client(), &setup, req, &tx).await;
        match rx.try_recv() {
            Ok(Msg::DeviceStarted {
                attempt: 3,
                result: Err(SignInFailure::Other(d)),
            }) => assert!(d.fix.contains("Nothing was sent"), "{d}"),
            other => panic!("expected the refused start, got {other:?}"),
        }
        assert!(rx.try_recv().is_err(), "nothing else happened");
        assert_eq!(sandbox.stats().requests, 0, "no device code was asked for");
    }
}
