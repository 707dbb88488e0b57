//! `Secret`: a value that must never be printed. `Debug` shows `***`; there is no `Display` and no
//! `Serialize`. Reading the value is one greppable method: `expose()`.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The only way to read the value. Every call site is a place a secret leaves the type.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A masked form that is safe to show: the first 5 characters (`1000.`) and the length.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Masks a secret for display: keeps a short prefix such as `1000.` and hides the rest.
pub fn mask(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let prefix: String = match value.find('.') {
        Some(dot) if dot <= 4 => value[..=dot].to_string(),
        _ => String::new(),
    };
    format!("{prefix}****… ({} chars)", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("1000.abc.def");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "1000.abc.def");
    }

    #[test]
    fn mask_keeps_only_the_prefix() {
        assert_eq!(mask("1000.0123456789abcdef"), "1000.****… (21 chars)");
        assert_eq!(mask("abcdef"), "****… (6 chars)");
        assert_eq!(mask(""), "");
    }
}
