//! What this machine can do for a sign-in (whether launching a browser can work here), and the
//! process hardening every command gets (no core dumps). Launches nothing.

/// Makes sure a crash of this process never writes its memory (secrets included) to a core file:
/// the core size limit goes to 0 (soft and hard) and, on Linux, the process is marked not dumpable
/// (which also keeps other processes of the same user from attaching a debugger). A no-op where
/// neither exists. Call it first thing in `main`.
pub fn disable_core_dumps() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass and touches nothing else.
        if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // SAFETY: PR_SET_DUMPABLE takes one integer argument; the rest are ignored.
            if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

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

    #[cfg(unix)]
    #[test]
    fn core_dumps_are_off_afterwards() {
        disable_core_dumps().unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes into the struct we own.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) }, 0);
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
        #[cfg(target_os = "linux")]
        // SAFETY: PR_GET_DUMPABLE takes no argument and returns the flag.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
        // Calling it again is fine.
        disable_core_dumps().unwrap();
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
