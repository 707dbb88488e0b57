//! The UI-independent auth library: data centers, scope catalogue, token client, organization
//! probes, diagnosis, env file editor, secret storage, token cache. Rule: nothing here imports
//! ratatui, crossterm, or anything of `wizard`, `ui` or `runtime`.

pub mod appsettings;
pub mod cache;
pub mod clean;
pub mod client;
pub mod dc;
pub mod device;
pub mod diagnosis;
pub mod envfile;
pub mod flow;
pub mod hosts;
pub mod loopback;
pub mod printable;
pub mod probe;
pub mod product;
pub mod scopes;
pub mod secret;
pub mod sqlstore;
pub mod store;
pub mod trace;

pub use dc::Dc;
pub use product::Product;
pub use secret::Secret;
