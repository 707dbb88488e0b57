//! `zoho-auth` / `zoho-auth setup [--sandbox]`: the interactive wizard. This command owns its
//! arguments; it starts the runtime with plain values (a `Wizard`, where requests go, the env path).

use std::io::IsTerminal;

use crate::auth::target::WizardChoice;
use crate::auth::{Dc, Secret, envfile};
use crate::runtime::{self, Setup};
use crate::wizard::{SignIn, Wizard};

use super::{GlobalArgs, SetupArgs};

/// `zoho-auth`, `zoho-auth setup`, `zoho-auth setup --sandbox`: the interactive wizard.
pub async fn run(global: &GlobalArgs, args: &SetupArgs) -> u8 {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "zoho-auth: the setup wizard needs a terminal (stdin and stdout are not both a TTY).\n\
             Without one, use `zoho-auth exchange --code -` (the code on stdin) with \
             --client-id, --client-secret - or ZOHO_CLIENT_ID/ZOHO_CLIENT_SECRET; see `zoho-auth exchange --help`."
        );
        return 2;
    }
    let store = match super::store::for_wizard(global).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let dc_flag = match global.dc.as_deref().map(|c| (c, Dc::from_code(c))) {
        Some((code, None)) => {
            eprintln!(
                "zoho-auth: unknown data center `{code}`; use one of us eu in au jp ca cn sa uk."
            );
            return 2;
        }
        Some((_, Some(dc))) => Some(dc),
        None => None,
    };
    // `--sandbox`: a simulated Zoho in this process, alive until the wizard ends, with its demo
    // Self Client preloaded. Requests go to it whatever the flags say.
    let sandbox = if args.sandbox {
        match crate::sandbox::Sandbox::start(crate::sandbox::SandboxConfig::default()).await {
            Ok(sandbox) => Some(sandbox),
            Err(e) => {
                eprintln!("zoho-auth: could not start the built-in sandbox on 127.0.0.1: {e}");
                return 5;
            }
        }
    } else {
        None
    };
    let sandbox_base = sandbox.as_ref().map(|s| s.base_url());
    let demo_client = sandbox.as_ref().map(|s| {
        let demo = s.self_client();
        (demo.client_id, Secret::new(demo.client_secret))
    });
    let demo_clients: Vec<(SignIn, String, Secret)> = sandbox
        .as_ref()
        .map(|s| {
            [
                (SignIn::SelfClient, s.self_client()),
                (SignIn::Browser, s.server_client()),
                (SignIn::Device, s.device_client()),
            ]
            .into_iter()
            .map(|(m, c)| (m, c.client_id, Secret::new(c.client_secret)))
            .collect()
        })
        .unwrap_or_default();
    let setup = Setup {
        env_path: global.env_file.clone(),
        choice: WizardChoice {
            accounts_override: sandbox_base.clone().or_else(|| global.accounts_url.clone()),
            api_override: sandbox_base.clone().or_else(|| global.api_domain.clone()),
            dc_flag,
        },
        ssh: runtime::ssh(),
        sandbox: sandbox_base,
        reauth: None,
        store: store.clone(),
    };
    let existing = match envfile::load(&setup.env_path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("zoho-auth: {e}");
            return 2;
        }
    };
    let (prefill, mut ctx) = runtime::prepare(&setup, existing.as_ref(), demo_client);
    ctx.demo_clients = demo_clients;
    let code = runtime::run_wizard(Wizard::new(prefill, ctx), setup).await;
    if let Some(sandbox) = sandbox {
        sandbox.stop().await;
    }
    code
}
