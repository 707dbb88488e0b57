//! Small pieces every view shares: the spinner frames, truncation, mm:ss. Pure.

use std::time::Duration;

pub(super) const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// `s` cut to `max` characters, with an ellipsis when cut.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        s.chars().take(max - 1).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

pub(crate) fn mmss(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_millis() > 0);
    format!("{:02}:{:02}", s / 60, s % 60)
}
