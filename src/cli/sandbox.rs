//! `zoho-auth sandbox`: the simulated Zoho in the foreground.

use super::{GlobalArgs, SandboxArgs};

pub async fn run(_global: &GlobalArgs, _args: &SandboxArgs) -> u8 {
    eprintln!("zoho-auth: the sandbox is not built yet");
    1
}
