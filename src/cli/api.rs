//! `zoho-auth api [-X METHOD] PATH [-f key=value]... [--input FILE|-] [-H 'Name: value']...
//! [--paginate]`: an authenticated request to a Zoho API, like `gh api` for GitHub. The Zoho
//! knowledge lives in `auth::api`; this file reads the arguments and the grant, and writes.

use std::io::Read;

use clap::Args;
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::auth::access;
use crate::auth::api::{
    self, Caller, Fetched, Hosts, Inputs, PageError, PageSource, Paging, Refusal, TokenSource,
};
use crate::auth::client::{Client, checked_url};
use crate::auth::handoff::{AccessToken, Want};
use crate::auth::keys;
use crate::auth::printable::printable;
use crate::auth::{Dc, Secret};

use super::GlobalArgs;
use super::common::{Configured, client, load_configured};

#[derive(Debug, Clone, Default, Args)]
pub struct ApiArgs {
    /// The HTTP method (default GET, or POST when --input gives a body).
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// The path below the product's base (/books/v3/invoices, /crm/v8/Leads, /api/v1/tickets...),
    /// or a full URL on the grant's API domain or Desk host.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// key=value (a string) or key:=JSON: a query parameter for GET/DELETE (and with --input),
    /// a field of the JSON body otherwise. Repeatable.
    #[arg(short = 'f', long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// Send this file as the body (`-` reads stdin); JSON content type when it is JSON.
    #[arg(long, value_name = "FILE|-")]
    pub input: Option<String>,
    /// An extra request header, 'Name: value'. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Follow Zoho's paging and print one JSON document holding every record.
    #[arg(long)]
    pub paginate: bool,
}

fn print_refusal(r: &Refusal) {
    eprintln!("zoho-auth: {}", r.message);
    if !r.fix.is_empty() {
        eprintln!("  Fix: {}", r.fix);
    }
}

pub async fn run(global: &GlobalArgs, args: &ApiArgs) -> u8 {
    match call(global, args).await {
        Ok(()) => 0,
        Err(r) => {
            print_refusal(&r);
            r.exit
        }
    }
}

/// The arguments as `auth::api` takes them; every usage error is found here, before any request.
fn inputs(args: &ApiArgs) -> Result<Inputs, Refusal> {
    let fields = args
        .fields
        .iter()
        .map(|f| api::Field::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let headers = args
        .headers
        .iter()
        .map(|h| api::parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let input = match args.input.as_deref() {
        None => None,
        Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
                Refusal::usage(
                    format!("Could not read the body from stdin: {e}."),
                    "Pipe the body in, e.g. `zoho-auth api /books/v3/contacts --input - < contact.json`.",
                )
            })?;
            Some(bytes)
        }
        Some(file) => Some(std::fs::read(file).map_err(|e| {
            Refusal::usage(
                format!("Could not read --input {}: {e}.", printable(file)),
                "Pass a readable file, or - for stdin.",
            )
        })?),
    };
    Ok(Inputs {
        method: args.method.clone(),
        fields,
        input,
        headers,
        organization_id: None,
    })
}

async fn call(global: &GlobalArgs, args: &ApiArgs) -> Result<(), Refusal> {
    let mut inputs = inputs(args)?;
    let path = args.path.trim();
    // A relative path with no known base is refused before the grant is even read.
    if !path.contains("://") {
        let relative = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        api::resolve(
            &relative,
            &Hosts {
                api: Url::parse("https://www.zohoapis.com").expect("static URL"),
                desk: Url::parse("https://desk.zoho.com").expect("static URL"),
            },
        )?;
    }
    let mut grant = grant(global)?;
    inputs.organization_id = grant.organization_id();
    let scopes = grant.cfg.scopes.clone();
    let http = api::http_client(timeout())?;
    // The token first: its answer names the API domain the paths resolve against.
    let token = grant.access(None).await?;
    let hosts = grant.hosts()?;
    let resolved = api::resolve(path, &hosts)?;
    let request = api::build(&resolved, &inputs)?;
    let mut caller = Caller::new(http, global.verbose, grant, scopes.clone());
    caller.prime(token);
    if args.paginate {
        return paginate(&mut caller, &request, &scopes).await;
    }
    let answer = caller.send(&request, &[]).await?;
    let mut out = tokio::io::stdout();
    let write_failed = |e: std::io::Error| {
        Refusal::new(
            1,
            format!("Could not write the answer to stdout: {e}."),
            "Check where stdout goes (a closed pipe, a full disk).",
        )
    };
    if let Some(mut response) = answer.response {
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => out.write_all(&bytes).await.map_err(write_failed)?,
                Ok(None) => break,
                Err(_) => {
                    let _ = out.flush().await;
                    return Err(Refusal::new(
                        5,
                        format!(
                            "{} closed the connection before the whole answer arrived: stdout holds only part of it.",
                            request.url.host_str().unwrap_or("-")
                        ),
                        "Try again; if it keeps happening, check your connection or proxy.",
                    ));
                }
            }
        }
        out.flush().await.map_err(write_failed)?;
        return Ok(());
    }
    out.write_all(&answer.body).await.map_err(write_failed)?;
    out.flush().await.map_err(write_failed)?;
    let ask = api::Ask {
        request: &request,
        scopes: &scopes,
        refreshed: answer.refreshed,
    };
    match api::diagnose(
        &ask,
        answer.status,
        answer.location.as_deref(),
        &answer.body,
    ) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// The page source of `--paginate`: the request over the caller, the whole body of each page.
struct Pages<'a, T> {
    caller: &'a mut Caller<T>,
    request: &'a api::Request,
    refreshed: bool,
}

impl<T: TokenSource> PageSource for Pages<'_, T> {
    type Error = Refusal;

    async fn fetch(&mut self, params: &[(&'static str, String)]) -> Result<Fetched, Refusal> {
        let answer = self.caller.send(self.request, params).await?;
        self.refreshed |= answer.refreshed;
        let body = match answer.response {
            Some(response) => api::read_all(response, &self.request.url).await?,
            None => answer.body,
        };
        Ok(Fetched {
            status: answer.status,
            location: answer.location,
            body,
        })
    }
}

async fn paginate<T: TokenSource>(
    caller: &mut Caller<T>,
    request: &api::Request,
    scopes: &[String],
) -> Result<(), Refusal> {
    let Some(product) = request.product else {
        return Err(Refusal::usage(
            "--paginate needs a path under a known product base, to know how that product pages.",
            format!("Use a path starting with one of {}.", api::KNOWN_BASES),
        ));
    };
    if request.method != "GET" {
        return Err(Refusal::usage(
            format!(
                "--paginate pages through a list, with GET; -X {} is not that.",
                request.method
            ),
            "Drop -X (or pass -X GET) when paging.",
        ));
    }
    let size_key = match Paging::of(product) {
        Paging::Desk => "limit",
        Paging::BooksFamily | Paging::Crm => "per_page",
    };
    let per_page = request
        .url
        .query_pairs()
        .find(|(k, _)| k == size_key)
        .and_then(|(_, v)| v.parse::<u32>().ok());
    let mut source = Pages {
        caller,
        request,
        refreshed: false,
    };
    let mut out = tokio::io::stdout();
    let result = api::paginate(Paging::of(product), per_page, &mut source, &mut out).await;
    let refreshed = source.refreshed;
    let stopped = match result {
        Ok(_) => return Ok(()),
        Err(stopped) => stopped,
    };
    let totals = stopped.totals;
    let mut refusal = match stopped.error {
        PageError::Fetch(r) => r,
        PageError::Write(e) => Refusal::new(
            1,
            format!("Could not write the records to stdout: {e}."),
            "Check where stdout goes (a closed pipe, a full disk).",
        ),
        PageError::Shape(what) => Refusal::new(
            5,
            format!("{what}, not the list Zoho sends."),
            "Try again; if it persists, call the path without --paginate to see the answer.",
        ),
        PageError::Refused(fetched) => {
            if totals.opened {
                // Zoho's answer cannot join the document on stdout: show it here.
                let text = String::from_utf8_lossy(&fetched.body);
                let cut: String = text.chars().take(2000).collect();
                eprintln!(
                    "zoho-auth: page {} answered HTTP {}: {}",
                    totals.pages + 1,
                    fetched.status,
                    printable(cut.trim())
                );
            } else {
                let _ = out.write_all(&fetched.body).await;
                let _ = out.flush().await;
            }
            let ask = api::Ask {
                request,
                scopes,
                refreshed,
            };
            api::diagnose(
                &ask,
                fetched.status,
                fetched.location.as_deref(),
                &fetched.body,
            )
            .unwrap_or_else(|| Refusal::new(5, "Zoho answered a page unexpectedly.", "Try again."))
        }
    };
    let _ = out.flush().await;
    if totals.opened {
        refusal.message = format!(
            "{} The output is partial: {} records from {} pages were written, and the JSON document was left unclosed on purpose, so that nothing reading it takes it for the whole list.",
            refusal.message, totals.records, totals.pages
        );
    }
    Err(refusal)
}

/// `ZOHO_AUTH_HTTP_TIMEOUT` (seconds) between reads, else 30 s.
fn timeout() -> std::time::Duration {
    keys::http_timeout(std::env::var(keys::HTTP_TIMEOUT).ok().as_deref())
        .unwrap_or(std::time::Duration::from_secs(30))
}

/// The grant `api` calls with: the configured credentials and `auth::access` (the token use case
/// `token` shares), and the last token it handed out (its API domain).
struct Grant {
    cfg: Configured,
    client: Client,
    last: Option<AccessToken>,
}

fn grant(global: &GlobalArgs) -> Result<Grant, Refusal> {
    let cfg = load_configured(global)?;
    let client = client(global)?;
    Ok(Grant {
        cfg,
        client,
        last: None,
    })
}

impl Grant {
    fn organization_id(&self) -> Option<String> {
        self.cfg.organization_id.clone()
    }

    /// Where paths resolve: `--api-domain` for everything, else the token's API domain (checked
    /// by the host rule in `auth::access`) and its DC's Desk host.
    fn hosts(&self) -> Result<Hosts, Refusal> {
        let target = &self.cfg.target;
        if let Some(base) = &target.api_override {
            return Ok(Hosts::new(base, Some(base), target.dc));
        }
        let value = self
            .last
            .as_ref()
            .map(|t| t.api_domain.clone())
            .unwrap_or_else(|| target.dc.unwrap_or(Dc::Us).api_domain());
        let api = checked_url(&value).map_err(|e| {
            Refusal::new(
                5,
                format!("The API domain {} is not usable: {e}.", printable(&value)),
                "Run `zoho-auth check` to see the grant's API domain.",
            )
        })?;
        Ok(Hosts::new(&api, None, target.dc))
    }
}

impl TokenSource for Grant {
    /// As `token` does: the cached token while more than 5 minutes remain, else one refresh under
    /// the cache's lock. After a 401 (`rejected`), a refresh, unless another process has already
    /// replaced the rejected token in the cache.
    async fn access(&mut self, rejected: Option<&Secret>) -> Result<Secret, Refusal> {
        let want = match rejected {
            Some(r) => Want::Replace(r.clone()),
            None => Want::USUAL,
        };
        let client = self.client.clone();
        let granted = access::obtain(&self.cfg, || Ok(client), &want).await?;
        let token = granted.token.token.clone();
        self.last = Some(granted.token);
        Ok(token)
    }
}
