//! Emulators of real OAuth 2.0 providers, with their documented quirks, as in-process test
//! servers on `127.0.0.1:0`.
//!
//! | Module | Provider | Quirks emulated |
//! | --- | --- | --- |
//! | [`zaehlerfreunde`] | Zählerfreunde (an Auth0 tenant) | authorize host ≠ token host, `audience` required, JSON token requests, `offline_access` for refresh tokens, rotating refresh tokens with Auth0's `403` on reuse |
//! | [`youthweb`] | Youthweb | login redirect `/login?redirect=…`, optional `redirect_uri`, `client_secret` in a JSON body, refresh grant not offered, JSON:API resources needing `Accept: application/vnd.api+json` |
//! | [`workfront`] | Adobe Workfront | per-organization host (`/wf/{org_host}/…` here), `domain` and `lane` on the redirect, 2-minute codes, Basic + JSON or form client authentication, `token_type` `sessionID` with `expires_in` 0, `sessionID` request header |
//!
//! All three share: a login form (ids `username`, `password`, `login`, the credentials in
//! `#demo-credentials`; user `demo`, password `demo`), a consent page (buttons `approve`,
//! `deny`), one-time codes (reuse answers `invalid_grant` and revokes what the code issued),
//! [`EmulatorStats`], and fault controls, both as methods and as HTTP routes:
//!
//! * `POST /_control/fail-next-token` with `{"n": 2, "fault": {"kind": "too_many_429", "retry_after_secs": 1}}`
//!   (see [`Fault`] for the kinds: `status_503`, `status_500_html`, `too_many_429`,
//!   `malformed_json`, `empty_body` and `hang` answer instead of processing the request;
//!   `hang_after_issuing` (`{"kind": "hang_after_issuing", "secs": 30}`) processes it, so a
//!   refresh token is rotated or a code redeemed, and only then waits before answering);
//! * `POST /_control/revoke-refresh-tokens`;
//! * `POST /_control/tamper-next-state`;
//! * `GET /_control/stats`;
//! * `POST /_control/mint-refresh-tokens` with `{"n": 3, "scope": "openid offline_access"}`
//!   (both optional: `n` defaults to 1, at most 100 000; Workfront also takes `"org"`),
//!   answering `200 {"refresh_tokens": ["zf_rt_…", …]}`: fresh, active refresh tokens of the
//!   configured client, each in its own family, as if codes had been redeemed (no browser, no
//!   statistic counted). Also `mint_refresh_tokens(n)` on [`zaehlerfreunde::ZaehlerfreundeServer`]
//!   (default scope `openid offline_access`; a scope without `offline_access` is refused with
//!   `400 invalid_scope`) and [`workfront::WorkfrontServer`] (bound to the first configured
//!   organization host, and usable only at that host's token endpoint). Youthweb offers no
//!   refresh grant and answers `400 unsupported_grant_type`.
//!
//! Refresh tokens (and Workfront's session ids) carry a per-emulator prefix (`zf_rt_`,
//! `yw_rt_`, `wf_at_`, `wf_rt_`) so tests can scan logs for leaks. Zählerfreunde's and
//! Youthweb's access tokens are JWTs as at the real providers, so they start with `eyJ`
//! (their `jti` claim carries `zf_at_…` / `yw_at_…`). The emulators never log a token,
//! code or secret and store them only as SHA-256 hashes.

pub(crate) mod common;
pub mod workfront;
pub mod youthweb;
pub mod zaehlerfreunde;

#[cfg(test)]
mod test_support;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A failure the next token request(s) are answered with instead of the real answer (or, for
/// [`Fault::HangAfterIssuing`], after it was processed). Each counts in
/// [`EmulatorStats::faults_injected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Fault {
    /// `503 Service Unavailable` with a JSON error body.
    #[serde(rename = "status_503")]
    Status503,
    /// `500 Internal Server Error` with an HTML page as the body.
    #[serde(rename = "status_500_html")]
    Status500Html,
    /// `429 Too Many Requests` with a `Retry-After` header.
    #[serde(rename = "too_many_429")]
    TooMany429 {
        /// The value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// `200 OK`, `Content-Type: application/json`, but a truncated JSON document.
    #[serde(rename = "malformed_json")]
    MalformedJson,
    /// `200 OK`, `Content-Type: application/json`, and an empty body.
    #[serde(rename = "empty_body")]
    EmptyBody,
    /// No answer for `secs` seconds, then `504 Gateway Timeout`.
    #[serde(rename = "hang")]
    Hang {
        /// How long to wait before answering.
        secs: u64,
    },
    /// The request is processed as usual (a code is redeemed, a refresh token rotated: the
    /// state change is committed), then the answer, success or error, is sent only after
    /// `secs` seconds. A client that times out or is killed meanwhile never learns the tokens
    /// that were issued; presenting its old refresh token again is then reuse.
    #[serde(rename = "hang_after_issuing")]
    HangAfterIssuing {
        /// How long to wait, after processing, before answering.
        secs: u64,
    },
}

/// A snapshot of what an emulator has done since it started. Counters only grow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorStats {
    /// Requests to the authorization endpoint, valid or not.
    pub authorize_requests: u64,
    /// Successful logins.
    pub logins_succeeded: u64,
    /// Logins with wrong credentials.
    pub logins_failed: u64,
    /// Consent decisions that denied access.
    pub consents_denied: u64,
    /// Authorization codes issued.
    pub codes_issued: u64,
    /// Requests to the token endpoint, successful or not.
    pub token_requests: u64,
    /// Token requests by their `grant_type` (`"(none)"` when it was missing).
    pub token_requests_by_grant: BTreeMap<String, u64>,
    /// Token requests answered with an error (faults not included).
    pub token_errors: u64,
    /// Token and revocation requests with an `application/json` body.
    pub json_requests: u64,
    /// Token and revocation requests with an `application/x-www-form-urlencoded` body.
    pub form_requests: u64,
    /// Token and revocation requests with any other or no content type.
    pub other_content_type_requests: u64,
    /// Token requests authenticating the client with `Authorization: Basic`.
    pub client_auth_basic: u64,
    /// Token requests authenticating the client with `client_secret` in the body.
    pub client_auth_body: u64,
    /// Token requests of a public client (only `client_id`, no secret).
    pub client_auth_none: u64,
    /// Authorization codes presented a second time.
    pub code_reuse_detected: u64,
    /// Successful refresh grants (each one rotates the refresh token).
    pub refresh_grants: u64,
    /// Rotated refresh tokens presented again (their family was revoked).
    pub refresh_reuse_detected: u64,
    /// Token requests answered with an injected [`Fault`].
    pub faults_injected: u64,
    /// API calls answered successfully.
    pub api_ok: u64,
    /// API calls answered `401` (missing, wrong, expired or revoked credentials).
    pub api_unauthorized: u64,
    /// Requests to a revocation endpoint.
    pub revocation_requests: u64,
    /// Time the token endpoint spent answering, summed over its requests, in microseconds: the provider's
    /// own share of a code exchange, which benchmarks subtract. Counted by the Zählerfreunde emulator only.
    pub token_endpoint_us: u64,
}
