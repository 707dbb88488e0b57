//! `zoho-auth scopes`: the scope catalogue, by product, with presets. `--json` prints it as data.

use serde::Serialize;

use crate::auth::scopes::{self, Group, Preset};

use super::common::{bad_input, print_diagnosis};
use super::{GlobalArgs, ScopesArgs};

#[derive(Serialize)]
struct Listing<'a> {
    groups: Vec<&'a Group>,
    presets: Vec<&'a Preset>,
}

pub fn run(global: &GlobalArgs, args: &ScopesArgs) -> u8 {
    let catalogue = scopes::catalogue();
    let wanted = args
        .product
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase());
    let groups: Vec<&Group> = catalogue
        .groups
        .iter()
        .filter(|g| {
            wanted.as_deref().is_none_or(|w| {
                g.id.eq_ignore_ascii_case(w) || g.product.is_some_and(|p| p.code() == w)
            })
        })
        .collect();
    if groups.is_empty() {
        let ids: Vec<&str> = catalogue.groups.iter().map(|g| g.id.as_str()).collect();
        print_diagnosis(&bad_input(
            format!(
                "No scopes for product {:?}.",
                args.product.as_deref().unwrap_or("")
            ),
            format!("Use one of: {}.", ids.join(", ")),
        ));
        return 2;
    }
    let presets: Vec<&Preset> = catalogue
        .presets
        .iter()
        .filter(|p| {
            wanted.is_none()
                || groups
                    .iter()
                    .any(|g| g.product.is_some() && g.product == p.product)
        })
        .collect();
    if global.json {
        let listing = Listing { groups, presets };
        println!(
            "{}",
            serde_json::to_string_pretty(&listing).unwrap_or_else(|_| "{}".into())
        );
        return 0;
    }
    let width = groups
        .iter()
        .flat_map(|g| g.scopes.iter().map(|s| s.name.len()))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for group in &groups {
        out.push_str(&format!("{}\n", group.name));
        if !group.probe_scopes.is_empty() {
            out.push_str(&format!(
                "  live test needs one of: {}\n",
                group.probe_scopes.join(", ")
            ));
        }
        for scope in &group.scopes {
            out.push_str(&format!("  {:width$}  {}\n", scope.name, scope.description));
        }
        out.push('\n');
    }
    if !presets.is_empty() {
        out.push_str("Presets\n");
        for preset in &presets {
            out.push_str(&format!("  {}: {}\n", preset.name, preset.scopes.join(",")));
        }
    }
    print!("{out}");
    0
}
