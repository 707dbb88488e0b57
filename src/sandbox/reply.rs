//! What a simulated endpoint answers: status, body, content type and extra headers. No IO here.
//! Its own module so that the rules (`world`), the product tables (`products`) and the module
//! endpoints (`modules`) share it without importing each other.

/// The `Content-Type` of a reply, spelled the way the Zoho service that sends it spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// `application/json;charset=UTF-8` (accounts, Books family, Desk).
    Json,
    /// `application/json;charset=utf-8`: CRM's lower-case spelling (facts §10).
    JsonLower,
    /// `text/html;charset=UTF-8`.
    Html,
    /// No body and no content type (HTTP 204).
    Empty,
}

/// What an endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    pub kind: Body,
    /// Extra headers, in order (`Location`, `x-rate-limit-*`, ...).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON reply with `application/json;charset=UTF-8`.
    pub(crate) fn new(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            body: body.into(),
            kind: Body::Json,
            headers: Vec::new(),
        }
    }

    pub(crate) fn html(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            kind: Body::Html,
            ..Reply::new(status, body)
        }
    }

    /// HTTP 204 with no body at all.
    pub(crate) fn no_content() -> Reply {
        Reply {
            kind: Body::Empty,
            ..Reply::new(204, "")
        }
    }

    /// A 302 to `location` with an empty `text/html` body (CRM's IAMSecurityError answer).
    pub(crate) fn found(location: String) -> Reply {
        Reply::html(302, "").with_header("location", location)
    }

    pub(crate) fn lower_case_json(mut self) -> Reply {
        if self.kind == Body::Json {
            self.kind = Body::JsonLower;
        }
        self
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    /// `{"error":"<code>"}` with HTTP 200, the way Zoho's token endpoint refuses (facts §2).
    pub(crate) fn error(code: &str) -> Reply {
        Reply::error_with(200, code)
    }

    pub(crate) fn error_with(status: u16, code: &str) -> Reply {
        Reply::new(status, serde_json::json!({ "error": code }).to_string())
    }
}
