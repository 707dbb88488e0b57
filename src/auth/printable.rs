//! Text a server, a paste or another tenant controls, made safe to print on a terminal: control
//! characters (C0, DEL, C1: ESC, OSC 52 clipboard writes, OSC 8 links, screen clears, bells) and
//! the bidirectional overrides that disguise text are shown as `\u{..}` escapes instead of being
//! interpreted. Every place that prints such text goes through [`printable`]. No IO here.

use std::borrow::Cow;

/// True for a character that must not reach a terminal as is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200E}' | '\u{200F}'           // left-to-right / right-to-left marks
            | '\u{202A}'..='\u{202E}'         // embeddings and overrides
            | '\u{2066}'..='\u{2069}'         // isolates
        )
}

/// `text` with every unsafe character escaped as `\u{1b}`; borrowed when nothing changes.
pub fn printable(text: &str) -> String {
    printable_cow(text).into_owned()
}

/// As [`printable`], without allocating when the text is already safe.
pub fn printable_cow(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_cannot_pass() {
        for hostile in [
            "Acme\u{1b}]52;c;ZXZpbA==\u{7}", // OSC 52: write the clipboard
            "\u{1b}]8;;https://evil\u{1b}\\Zoho\u{1b}]8;;\u{1b}\\", // OSC 8: a disguised link
            "\u{1b}[2J\u{1b}[H",             // clear the screen
            "\u{9b}31m",                     // C1 CSI
            "line\r\nfake prompt",
            "\u{202E}gpj.exe",
        ] {
            let shown = printable(hostile);
            assert!(!shown.chars().any(is_unsafe), "{shown:?}");
            assert!(!shown.contains('\u{1b}'));
        }
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for text in ["Zoho Corp", "Société Générale", "株式会社", "org 12345"] {
            assert!(matches!(printable_cow(text), Cow::Borrowed(_)));
            assert_eq!(printable(text), text);
        }
    }

    #[test]
    fn escapes_are_visible() {
        assert_eq!(printable("a\u{1b}b"), "a\\u{1b}b");
    }
}
