//! zoho-auth: get a working Zoho OAuth token into a project, and diagnose and repair it.
//!
//! Layers, dependencies pointing down only: `cli` and `runtime` (IO) over `wizard` (pure state
//! machine) and `ui` (pure views), all over `auth` (UI-independent library). `sandbox` is the
//! built-in simulated Zoho.

pub mod auth;
pub mod cli;
pub mod platform;
pub mod runtime;
pub mod sandbox;
pub mod ui;
pub mod wizard;
