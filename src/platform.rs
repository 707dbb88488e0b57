//! What this machine can do for a sign-in: whether launching a browser can work here. Reads the
//! environment only; launches nothing.

/// False in an SSH session (`SSH_CONNECTION` or `SSH_TTY` set) and, on Linux and the BSDs, without
/// a graphical session (`DISPLAY` and `WAYLAND_DISPLAY` both unset). A browser opened there would
/// not reach the person, or would fail; print the URL instead.
pub fn can_open_browser() -> bool {
    can_open_browser_with(|key| std::env::var_os(key).is_some_and(|v| !v.is_empty()))
}

/// [`can_open_browser`] with the environment injected (`is_set(KEY)`), for tests.
pub fn can_open_browser_with(is_set: impl Fn(&str) -> bool) -> bool {
    if is_set("SSH_CONNECTION") || is_set("SSH_TTY") {
        return false;
    }
    if needs_display() {
        return is_set("DISPLAY") || is_set("WAYLAND_DISPLAY");
    }
    true
}

/// Systems whose browsers need an X11 or Wayland session (not macOS, not Windows).
fn needs_display() -> bool {
    cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(set: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |key| set.contains(&key)
    }

    #[test]
    fn ssh_never_opens_a_browser() {
        assert!(!can_open_browser_with(env(&["SSH_CONNECTION", "DISPLAY"])));
        assert!(!can_open_browser_with(env(&["SSH_TTY", "WAYLAND_DISPLAY"])));
    }

    #[test]
    fn a_display_is_needed_where_browsers_need_one() {
        assert!(can_open_browser_with(env(&["DISPLAY"])));
        assert!(can_open_browser_with(env(&["WAYLAND_DISPLAY"])));
        assert_eq!(can_open_browser_with(env(&[])), !needs_display());
    }
}
