//! The sandbox's HTML pages. Pure string building, every value escaped; each page says it is a
//! simulation. No scripts.

/// Scopes offered as checkboxes on the Self Client page.
const COMMON_SCOPES: &[&str] = &[
    "ZohoBooks.fullaccess.all",
    "ZohoBooks.settings.READ",
    "ZohoInvoice.fullaccess.all",
    "ZohoInventory.FullAccess.all",
    "ZohoExpense.fullaccess.ALL",
    "ZohoCRM.org.ALL",
    "ZohoCRM.modules.ALL",
    "Desk.basic.READ",
];

pub(crate) const DURATIONS: [u32; 4] = [3, 5, 7, 10];

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} – Zoho SIMULATION</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem;color:#222}}
.banner{{background:#b00020;color:#fff;padding:.6rem 1rem;font-weight:bold;border-radius:4px}}
code,pre{{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px;word-break:break-all}}
pre{{padding:.6rem;white-space:pre-wrap}}
label{{display:block;margin:.2rem 0}} .error{{color:#b00020;font-weight:bold}}
button{{padding:.4rem 1rem;margin-right:.5rem}}
</style></head><body>
<p class="banner">SIMULATION – this is the zoho-auth sandbox, not Zoho. Nothing here touches a real account.</p>
<h1>{title}</h1>
{body}
</body></html>
"#,
        title = escape(title),
    )
}

pub(crate) struct ClientView<'a> {
    pub label: &'a str,
    pub id: &'a str,
    pub secret: &'a str,
    pub note: &'a str,
}

/// `GET /`: the Self Client tab of the API console.
pub(crate) fn console(action: &str, clients: &[ClientView<'_>], error: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(error) = error {
        body.push_str(&format!("<p class=\"error\">{}</p>\n", escape(error)));
    }
    let self_client = &clients[0];
    body.push_str(&format!(
        "<h2>Self Client</h2>\n<p>Client ID: <code>{}</code><br>Client Secret: <code>{}</code></p>\n",
        escape(self_client.id),
        escape(self_client.secret)
    ));
    body.push_str(&format!(
        "<h2>Generate Code</h2>\n<form method=\"post\" action=\"{}\">\n",
        escape(action)
    ));
    body.push_str("<p>Scopes (comma-separated; the ticked ones are added):<br>\n<input name=\"scope\" size=\"60\" placeholder=\"ZohoBooks.fullaccess.all\"></p>\n");
    for scope in COMMON_SCOPES {
        let scope = escape(scope);
        body.push_str(&format!(
            "<label><input type=\"checkbox\" name=\"scope_pick\" value=\"{scope}\"> {scope}</label>\n"
        ));
    }
    body.push_str("<p>Time duration: <select name=\"duration\">\n");
    for minutes in DURATIONS {
        body.push_str(&format!(
            "<option value=\"{minutes}\">{minutes} minutes</option>\n"
        ));
    }
    body.push_str("</select></p>\n<p>Scope description: <input name=\"description\" size=\"40\"></p>\n<p><button type=\"submit\">CREATE</button></p>\n</form>\n");
    body.push_str("<h2>Other demo clients</h2>\n<ul>\n");
    for c in &clients[1..] {
        body.push_str(&format!(
            "<li>{}: <code>{}</code> / secret <code>{}</code> – {}</li>\n",
            escape(c.label),
            escape(c.id),
            escape(c.secret),
            escape(c.note)
        ));
    }
    body.push_str("</ul>\n");
    page("API Console (simulated)", &body)
}

/// The page shown after minting a code.
pub(crate) fn minted(
    code: &str,
    scopes: &[String],
    minutes: u32,
    download: &str,
    home: &str,
) -> String {
    let body = format!(
        "<p>Generated code (valid {minutes} minutes, one use):</p>\n<pre>{code}</pre>\n\
         <p>Scopes: <code>{scopes}</code></p>\n\
         <p><a href=\"{download}\" download=\"self_client.json\">Download self_client.json</a></p>\n\
         <p><a href=\"{home}\">Back</a></p>\n",
        code = escape(code),
        scopes = escape(&scopes.join(",")),
        download = escape(download),
        home = escape(home),
    );
    page("Code generated", &body)
}

/// The consent page of `GET /oauth/v2/auth`.
pub(crate) fn consent(action: &str, fields: &[(&str, &str)], scopes: &str) -> String {
    let mut body = format!(
        "<p>The demo server-based client asks for access to your (simulated) Zoho data:</p>\n<pre>{}</pre>\n<form method=\"post\" action=\"{}\">\n",
        escape(scopes),
        escape(action)
    );
    for (name, value) in fields {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(name),
            escape(value)
        ));
    }
    body.push_str("<button type=\"submit\" name=\"decision\" value=\"approve\">Accept</button>\n<button type=\"submit\" name=\"decision\" value=\"deny\">Reject</button>\n</form>\n");
    page("Authorize demo client", &body)
}

/// The error page shown instead of a redirect (bad client or redirect URI).
pub(crate) fn error(message: &str) -> String {
    page(
        "Invalid request",
        &format!("<p class=\"error\">{}</p>\n", escape(message)),
    )
}

/// The device verification page.
pub(crate) fn device(action: &str, user_code: &str, scopes: Option<&[String]>) -> String {
    let scopes = match scopes {
        Some(s) => format!(
            "<p>Requested scopes: <code>{}</code></p>\n",
            escape(&s.join(","))
        ),
        None if user_code.is_empty() => String::new(),
        None => "<p class=\"error\">This code is unknown, expired or already used.</p>\n".into(),
    };
    let body = format!(
        "{scopes}<form method=\"post\" action=\"{}\">\n<p>Code shown on your device: <input name=\"user_code\" value=\"{}\"></p>\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>\n",
        escape(action),
        escape(user_code)
    );
    page("Connect a device", &body)
}

/// A page with one message.
pub(crate) fn message(title: &str, message: &str) -> String {
    page(title, &format!("<p>{}</p>\n", escape(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let html = error("<script>");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("SIMULATION"));
    }
}
