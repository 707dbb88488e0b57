//! The UI-independent auth library: data centers, scope catalogue, token client, organization
//! probes, diagnosis, env file editor, secret storage, token cache; and the use-cases every command
//! and the wizard share, once each: where requests go (`target`), a new grant (`flow::new_grant`),
//! saving a grant (`save`), reading a saved grant (`saved`), the env key names (`keys`).
//! Rule: nothing here imports ratatui, crossterm, or anything of `wizard`, `ui`, `runtime`, `cli`.

pub mod access;
pub mod api;
pub mod appsettings;
pub mod cache;
pub mod clean;
pub mod client;
pub mod dc;
pub mod device;
pub mod diagnosis;
pub mod envfile;
pub mod flow;
pub mod handoff;
pub mod hosts;
pub mod keys;
pub mod loopback;
pub mod printable;
pub mod probe;
pub mod product;
pub mod save;
pub mod saved;
pub mod scopes;
pub mod secret;
pub mod sqlstore;
pub mod store;
pub mod stored;
pub mod target;
pub mod trace;

pub use dc::Dc;
pub use product::Product;
pub use secret::Secret;
