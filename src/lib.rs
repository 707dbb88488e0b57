//! zoho-auth: get a working Zoho OAuth token into a project, and diagnose and repair it.
//!
//! Layers, dependencies pointing down only: `cli` (the commands, each owning its arguments) over
//! `runtime` (the wizard's IO, started with plain values) over `ui` (pure views) and `wizard` (pure
//! state machine), all over `auth` (UI-independent library and the use-cases every command and the
//! wizard share). `sandbox` is the built-in simulated Zoho. `.ci/layers.sh` checks the rules.

pub mod auth;
pub mod cli;
pub mod platform;
pub mod runtime;
pub mod sandbox;
pub mod ui;
pub mod wizard;
