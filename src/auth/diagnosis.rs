//! `Diagnosis`: what went wrong, in plain words, and the fix; with the contract's diagnosis codes
//! (`check --json`) and exit codes (design.md). No IO here.

use serde::Serialize;

/// The contract's diagnosis codes, plus the grant errors `exchange` can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Everything works.
    Ok,
    /// Client id, secret or refresh token is not configured.
    MissingCredentials,
    /// Zoho does not know the client id in this data center.
    InvalidClient,
    /// The client secret does not match the client id.
    InvalidClientSecret,
    /// The refresh token was revoked, deleted or evicted.
    RefreshTokenRevoked,
    /// Zoho's access-token throttle answered "Access Denied".
    RateLimited,
    /// The token lacks the scope the product's API needs.
    ScopeMissing,
    /// The API rejected the token (invalid or expired).
    TokenRejected,
    /// The user is not a member of the organization.
    NotOrgMember,
    /// The credentials belong to another data center.
    WrongDc,
    /// Zoho could not be reached, or timed out.
    Network,
    /// Zoho answered with a server error or a body it does not normally send.
    ServerError,
    /// The grant code is expired, already used, or from another data center.
    InvalidCode,
    /// The redirect URI does not match the one registered for the client.
    InvalidRedirectUri,
    /// The input (a code, id or secret) has the wrong shape; nothing was sent.
    BadInput,
}

impl Code {
    /// The string used in `check --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "ok",
            Code::MissingCredentials => "missing_credentials",
            Code::InvalidClient => "invalid_client",
            Code::InvalidClientSecret => "invalid_client_secret",
            Code::RefreshTokenRevoked => "refresh_token_revoked",
            Code::RateLimited => "rate_limited",
            Code::ScopeMissing => "scope_missing",
            Code::TokenRejected => "token_rejected",
            Code::NotOrgMember => "not_org_member",
            Code::WrongDc => "wrong_dc",
            Code::Network => "network",
            Code::ServerError => "server_error",
            Code::InvalidCode => "invalid_code",
            Code::InvalidRedirectUri => "invalid_redirect_uri",
            Code::BadInput => "bad_input",
        }
    }

    /// The process exit code of this class (design.md "Exit codes").
    pub fn exit_code(self) -> u8 {
        match self {
            Code::Ok => 0,
            Code::MissingCredentials | Code::BadInput => 2,
            Code::InvalidClient
            | Code::InvalidClientSecret
            | Code::RefreshTokenRevoked
            | Code::InvalidCode
            | Code::InvalidRedirectUri => 3,
            Code::ScopeMissing | Code::TokenRejected | Code::NotOrgMember | Code::WrongDc => 4,
            Code::Network | Code::ServerError => 5,
            Code::RateLimited => 6,
        }
    }
}

/// What went wrong and what to do, in plain sentences. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub code: Code,
    pub message: String,
    pub fix: String,
}

impl Diagnosis {
    pub fn new(code: Code, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn ok(message: impl Into<String>) -> Self {
        Self::new(Code::Ok, message, "")
    }

    pub fn exit_code(&self) -> u8 {
        self.code.exit_code()
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.fix.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}\nFix: {}", self.message, self.fix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Code::Ok.exit_code(), 0);
        assert_eq!(Code::MissingCredentials.exit_code(), 2);
        assert_eq!(Code::InvalidCode.exit_code(), 3);
        assert_eq!(Code::RefreshTokenRevoked.exit_code(), 3);
        assert_eq!(Code::ScopeMissing.exit_code(), 4);
        assert_eq!(Code::Network.exit_code(), 5);
        assert_eq!(Code::ServerError.exit_code(), 5);
        assert_eq!(Code::RateLimited.exit_code(), 6);
    }

    #[test]
    fn json_names_are_snake_case() {
        assert_eq!(
            serde_json::to_string(&Code::RefreshTokenRevoked).unwrap(),
            "\"refresh_token_revoked\""
        );
        assert_eq!(Code::NotOrgMember.as_str(), "not_org_member");
    }
}
