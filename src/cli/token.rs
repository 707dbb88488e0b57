//! `zoho-auth token`: prints a valid access token and one newline on stdout, or with `--json` the
//! versioned object of design.md. The token comes from `auth::access`: a cached one with more than
//! 5 minutes left is reused without any request; otherwise one process refreshes under a file
//! lock while concurrent callers wait and then reuse its token.

use crate::auth::access::{self, Obtained};
use crate::auth::handoff::Want;
use crate::auth::stored;

use super::GlobalArgs;
use super::common::{choice, client, load_configured, print_diagnosis};

pub async fn run(global: &GlobalArgs) -> u8 {
    let got = match stored::parse_for(&choice(global)) {
        // One connection and one read of the row for the token and what goes beside it.
        Ok(Some(sc)) => match stored::open(&sc).await {
            Ok(store) => {
                let got = access::from_store(&sc, &store, || client(global), &Want::USUAL).await;
                store.close().await;
                got
            }
            Err(d) => Err(d),
        },
        Ok(None) => match load_configured(global) {
            Ok(cfg) => access::obtain(&cfg, || client(global), &Want::USUAL).await,
            Err(d) => Err(d),
        },
        Err(d) => Err(d),
    };
    match got {
        Ok(granted) => {
            if global.verbose && granted.obtained == Obtained::Cached {
                let left = granted.token.remaining(access::now_unix());
                let day = granted.token.expires_at % 86_400;
                eprintln!(
                    "zoho-auth: the cached access token was used (no request); it expires in {} min, at {:02}:{:02}:{:02} UTC",
                    left / 60,
                    day / 3600,
                    day % 3600 / 60,
                    day % 60
                );
            }
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let line = if global.json {
                granted.token.to_json()
            } else {
                granted.token.token.expose().to_string()
            };
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            0
        }
        Err(d) => {
            print_diagnosis(&d);
            d.exit_code()
        }
    }
}
