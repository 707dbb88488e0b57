//! Performs the wizard's effects and answers with messages: HTTP through `auth`, the clipboard
//! (arboard, or OSC 52 over SSH), the browser, and the env file.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use tokio::sync::mpsc::UnboundedSender;

use super::Setup;
use super::terminal::Term;
use crate::auth::Secret;
use crate::auth::client::{Client, ClientOptions, Credentials};
use crate::auth::diagnosis::Diagnosis;
use crate::auth::envfile;
use crate::auth::flow::{self, Target};
use crate::wizard::{
    CopyOutcome, Effect, EnvValue, ExchangeRequest, Msg, Org, Outcome, Time, WriteReport,
    WriteRequest,
};

pub struct Executor {
    setup: Setup,
    tx: UnboundedSender<Msg>,
    client: Client,
    /// Kept alive while the wizard runs: on X11/Wayland the owner serves the copied text.
    clipboard: Option<arboard::Clipboard>,
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
    let v = flow::exchange_and_verify(
        client,
        &target,
        &creds,
        &req.code,
        None,
        &req.scopes,
        req.product,
        true,
    )
    .await?;
    if setup.reauth.is_some()
        && let Some(refresh) = &v.tokens.refresh_token
    {
        super::reauth::verify_refresh(client, &target, &creds, refresh).await?;
    }
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
