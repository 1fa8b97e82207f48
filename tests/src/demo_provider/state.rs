//! The demo provider's state: registered clients, pending authorization requests, codes and
//! tokens, all behind one mutex that is never held across an `.await`.
//!
//! Codes and tokens are stored only as SHA-256 hashes: the server can recognise them but
//! could not leak them, even in a debug dump.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::{DemoConfig, DemoStats, CODE_LIFETIME, DEMO_CLIENT_ID, DEMO_REDIRECT_URI};

/// How long a pending authorization request (login / consent) may take.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// How long a used or expired code is remembered, so that its reuse is still detected.
const CODE_RETENTION: Duration = Duration::from_secs(600);

/// Prefix of every access token.
pub(crate) const ACCESS_TOKEN_PREFIX: &str = "demo_at_";

/// Prefix of every refresh token.
pub(crate) const REFRESH_TOKEN_PREFIX: &str = "demo_rt_";

/// What the server shares between its handlers.
pub(crate) struct Shared {
    /// The configuration the server was started with.
    pub(crate) config: DemoConfig,
    /// The base URL, also the issuer identifier.
    pub(crate) base_url: Url,
    /// The HMAC-SHA256 key signing `id_token`s, random per server.
    pub(crate) id_token_key: [u8; 32],
    /// Everything that changes.
    pub(crate) state: Mutex<State>,
}

impl Shared {
    /// Locks the state; a poisoned mutex is still usable since every update is self-contained.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A client registered at the provider.
pub(crate) struct RegisteredClient {
    /// The name shown on the consent page.
    pub(crate) name: &'static str,
    /// The redirect URIs; a request's `redirect_uri` must equal one of them exactly.
    pub(crate) redirect_uris: Vec<String>,
}

/// An authorization request waiting for the user to sign in and decide.
pub(crate) struct PendingRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
    pub(crate) nonce: Option<String>,
    pub(crate) created: Instant,
    /// The subject of the user who signed in, once they did.
    pub(crate) user: Option<&'static str>,
}

/// An authorization code and what it is bound to.
pub(crate) struct CodeGrant {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
    pub(crate) nonce: Option<String>,
    pub(crate) user: &'static str,
    pub(crate) expires_at: Instant,
    /// Whether the code was presented at the token endpoint already.
    pub(crate) used: bool,
    /// The token family issued from this code, if the exchange succeeded.
    pub(crate) family: Option<u64>,
}

/// An issued access token.
pub(crate) struct AccessTokenRecord {
    pub(crate) client_id: String,
    pub(crate) user: &'static str,
    pub(crate) expires_at: Instant,
    pub(crate) family: u64,
}

/// Where a refresh token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshStatus {
    /// It can be exchanged.
    Active,
    /// It was exchanged for a new one; presenting it again is reuse.
    Rotated,
    /// It was revoked.
    Revoked,
}

/// An issued refresh token.
pub(crate) struct RefreshTokenRecord {
    pub(crate) client_id: String,
    pub(crate) user: &'static str,
    pub(crate) scope: String,
    pub(crate) family: u64,
    pub(crate) status: RefreshStatus,
}

/// The SHA-256 hash under which a code or token is stored.
pub(crate) type SecretHash = [u8; 32];

/// Hashes a code or token for storage and lookup.
pub(crate) fn secret_hash(secret: &str) -> SecretHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// 32 random bytes, BASE64URL-encoded without padding (43 characters).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens issued by one grant.
pub(crate) struct IssuedTokens {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
}

/// Everything that changes while the server runs.
pub(crate) struct State {
    pub(crate) clients: HashMap<String, RegisteredClient>,
    pub(crate) pending: HashMap<String, PendingRequest>,
    pub(crate) codes: HashMap<SecretHash, CodeGrant>,
    pub(crate) access_tokens: HashMap<SecretHash, AccessTokenRecord>,
    pub(crate) refresh_tokens: HashMap<SecretHash, RefreshTokenRecord>,
    next_family: u64,
    /// Signed-in browser sessions: the `demo_session` cookie's value → the user's subject.
    pub(crate) sessions: HashMap<String, &'static str>,
    /// Set by the test control: the next consent redirect gets a tampered `state`.
    pub(crate) tamper_next_state: bool,
    pub(crate) stats: DemoStats,
}

impl State {
    /// The initial state, with the demo client registered.
    pub(crate) fn new() -> Self {
        let mut clients = HashMap::new();
        clients.insert(
            DEMO_CLIENT_ID.to_owned(),
            RegisteredClient {
                name: "Account Linker",
                redirect_uris: vec![DEMO_REDIRECT_URI.to_owned()],
            },
        );
        Self {
            clients,
            pending: HashMap::new(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            next_family: 1,
            sessions: HashMap::new(),
            tamper_next_state: false,
            stats: DemoStats::default(),
        }
    }

    /// Forgets what can no longer be used: stale requests, old codes, expired access tokens.
    pub(crate) fn prune(&mut self, now: Instant) {
        self.pending
            .retain(|_, p| now.duration_since(p.created) < PENDING_LIFETIME);
        self.codes
            .retain(|_, c| now < c.expires_at + CODE_RETENTION);
        self.access_tokens.retain(|_, t| now < t.expires_at);
    }

    /// Stores a new authorization code bound to a pending request that the user approved.
    pub(crate) fn issue_code(&mut self, request: PendingRequest, user: &'static str) -> String {
        let code = random_token();
        self.codes.insert(
            secret_hash(&code),
            CodeGrant {
                client_id: request.client_id,
                redirect_uri: request.redirect_uri,
                code_challenge: request.code_challenge,
                scope: request.scope,
                nonce: request.nonce,
                user,
                expires_at: Instant::now() + CODE_LIFETIME,
                used: false,
                family: None,
            },
        );
        self.stats.codes_issued += 1;
        code
    }

    /// Starts a new token family (all tokens descending from one authorization code).
    pub(crate) fn new_family(&mut self) -> u64 {
        let family = self.next_family;
        self.next_family += 1;
        family
    }

    /// Issues an access token and a refresh token in `family`.
    pub(crate) fn issue_tokens(
        &mut self,
        client_id: &str,
        user: &'static str,
        scope: &str,
        family: u64,
        lifetime: Duration,
    ) -> IssuedTokens {
        let access_token = format!("{ACCESS_TOKEN_PREFIX}{}", random_token());
        let refresh_token = format!("{REFRESH_TOKEN_PREFIX}{}", random_token());
        self.access_tokens.insert(
            secret_hash(&access_token),
            AccessTokenRecord {
                client_id: client_id.to_owned(),
                user,
                expires_at: Instant::now() + lifetime,
                family,
            },
        );
        self.refresh_tokens.insert(
            secret_hash(&refresh_token),
            RefreshTokenRecord {
                client_id: client_id.to_owned(),
                user,
                scope: scope.to_owned(),
                family,
                status: RefreshStatus::Active,
            },
        );
        IssuedTokens {
            access_token,
            refresh_token,
        }
    }

    /// Revokes every access and refresh token of `family`.
    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.access_tokens.retain(|_, t| t.family != family);
        for token in self.refresh_tokens.values_mut() {
            if token.family == family && token.status == RefreshStatus::Active {
                token.status = RefreshStatus::Revoked;
            }
        }
    }

    /// Revokes every refresh token that is still active.
    pub(crate) fn revoke_all_refresh_tokens(&mut self) {
        for token in self.refresh_tokens.values_mut() {
            if token.status == RefreshStatus::Active {
                token.status = RefreshStatus::Revoked;
            }
        }
    }

    /// The statistics, with the `active_*` counts computed for `now`.
    pub(crate) fn stats_snapshot(&self, now: Instant) -> DemoStats {
        let mut stats = self.stats.clone();
        stats.active_access_tokens = self
            .access_tokens
            .values()
            .filter(|t| now < t.expires_at)
            .count() as u64;
        stats.active_refresh_tokens = self
            .refresh_tokens
            .values()
            .filter(|t| t.status == RefreshStatus::Active)
            .count() as u64;
        stats
    }
}
