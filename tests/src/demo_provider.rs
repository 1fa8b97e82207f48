//! The demo provider: a small, standards-faithful OAuth 2.0 authorization server.
//!
//! It implements the authorization code grant of [RFC 6749] with mandatory PKCE
//! ([RFC 7636], `S256` only) for one public client, [`DEMO_CLIENT_ID`], whose only registered
//! redirect URI is [`DEMO_REDIRECT_URI`]. One user exists: [`DEMO_USERNAME`] /
//! [`DEMO_PASSWORD`].
//!
//! | Endpoint | What it does |
//! | --- | --- |
//! | `GET /` | a short HTML page describing the server |
//! | `GET /authorize` | validates the request and shows the login page |
//! | `POST /login` | checks the credentials, sets the session cookie and shows the consent page |
//! | `POST /consent` | redirects (`303`) to the client with a `code` or `error=access_denied` |
//! | `POST /token` | `authorization_code` and `refresh_token` grants (refresh tokens rotate) |
//! | `GET`/`POST /userinfo` | the user's claims, for a `Bearer` access token |
//! | `POST /revoke` | [RFC 7009] token revocation |
//! | `GET /.well-known/oauth-authorization-server` | [RFC 8414] metadata (also served as `openid-configuration`) |
//! | `/_control/...` | test controls, only with [`DemoConfig::test_controls`] |
//!
//! Security behaviour worth knowing when writing tests:
//!
//! * A successful login sets the session cookie [`SESSION_COOKIE`]. A later `/authorize` from a
//!   browser that sends it skips the login form and shows the consent page at once, like real
//!   providers remember their users.
//! * Authorization codes live 60 seconds and are single-use. Any presentation at the token
//!   endpoint consumes the code; presenting it again answers `invalid_grant` and revokes every
//!   token issued from it (RFC 6749 §4.1.2).
//! * Refresh tokens rotate. Presenting a refresh token that was already exchanged answers
//!   `invalid_grant` ("refresh token was already used") and revokes the whole token family
//!   (reuse detection, as in the OAuth 2.0 Security Best Current Practice).
//! * Access tokens start with `demo_at_`, refresh tokens with `demo_rt_`, so tests can scan
//!   logs for leaked secrets. The server itself never logs tokens, codes or verifiers, and it
//!   keeps only SHA-256 hashes of the tokens and codes it issued.
//!
//! [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
//! [RFC 7009]: https://www.rfc-editor.org/rfc/rfc7009
//! [RFC 8414]: https://www.rfc-editor.org/rfc/rfc8414

mod authorize;
mod controls;
pub mod hostile;
pub(crate) mod html;
pub(crate) mod jwt;
pub(crate) mod params;
mod state;
mod token;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use state::{Shared, State};

/// The client id of the only registered client, the Account Linker desktop app.
pub const DEMO_CLIENT_ID: &str = "account-linker-demo";

/// The only redirect URI registered for [`DEMO_CLIENT_ID`]; `redirect_uri` must equal it exactly.
pub const DEMO_REDIRECT_URI: &str = "org.accountlinker.app:/oauth2/demo";

/// The user name of the demo user.
pub const DEMO_USERNAME: &str = "demo";

/// The password of the demo user.
pub const DEMO_PASSWORD: &str = "demo";

/// The `sub` (subject) claim of the demo user, in the `id_token` and at `/userinfo`.
pub const DEMO_SUBJECT: &str = "demo-user-1";

/// The display name of the demo user (`name` claim).
pub const DEMO_USER_NAME: &str = "Demo User";

/// The e-mail address of the demo user (`email` claim).
pub const DEMO_USER_EMAIL: &str = "demo@example.test";

/// The name of the session cookie set after a successful login.
pub const SESSION_COOKIE: &str = "demo_session";

/// The scope granted when an authorization request names none.
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// How long an authorization code can be exchanged after it was issued.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// How the demo provider behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Lifetime of access tokens (and of `id_token`s), in seconds. Default 3600. Zero issues
    /// tokens that are already expired, which is handy for testing refresh.
    pub access_token_lifetime_secs: u64,
    /// Serve the `/_control/...` endpoints (tamper with the next `state`, read statistics,
    /// revoke refresh tokens, a hostile page for the app's lock-down tests). Default `false`;
    /// when off those paths answer 404.
    pub test_controls: bool,
    /// The provider's display name, shown in page titles and on the consent page.
    /// Default `"Demo Provider"`.
    pub issuer_name: String,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            access_token_lifetime_secs: 3600,
            test_controls: false,
            issuer_name: "Demo Provider".to_owned(),
        }
    }
}

/// A snapshot of what the demo provider has done since it started.
///
/// Counters only grow; `active_*` fields count what is valid at the time of the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DemoStats {
    /// Requests to `GET /authorize`, valid or not.
    pub authorize_requests: u64,
    /// Successful logins at `POST /login`.
    pub logins_succeeded: u64,
    /// Logins rejected because of a wrong user name or password.
    pub logins_failed: u64,
    /// Authorization requests that skipped the login form: the browser had a session cookie.
    pub sessions_resumed: u64,
    /// Consent decisions that denied access.
    pub consents_denied: u64,
    /// Authorization codes issued (consents that allowed access).
    pub codes_issued: u64,
    /// Requests to `POST /token`, successful or not.
    pub token_requests: u64,
    /// Requests to `POST /token` that were answered with an error.
    pub token_errors: u64,
    /// Successful `authorization_code` grants.
    pub code_exchanges: u64,
    /// Successful `refresh_token` grants (each one rotates the refresh token).
    pub refresh_grants: u64,
    /// Authorization codes presented a second time (tokens issued from them were revoked).
    pub code_reuse_detected: u64,
    /// Rotated refresh tokens presented again (their whole family was revoked).
    pub refresh_reuse_detected: u64,
    /// Requests to `/userinfo`, successful or not.
    pub userinfo_requests: u64,
    /// Requests to `POST /revoke`.
    pub revocation_requests: u64,
    /// Access tokens that are currently valid.
    pub active_access_tokens: u64,
    /// Refresh tokens that can currently be exchanged.
    pub active_refresh_tokens: u64,
}

/// A running demo provider. Dropping it shuts the server down.
pub struct DemoServer {
    /// The server's base URL, e.g. `http://127.0.0.1:PORT/` (always with a trailing slash).
    /// It is also the `iss` of the `id_token`s it issues.
    pub base_url: Url,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl fmt::Debug for DemoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoServer")
            .field("base_url", &self.base_url.as_str())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl DemoServer {
    /// Binds `addr` (port 0 lets the OS pick one) and serves the demo provider on the current
    /// tokio runtime until the returned value is dropped or [`DemoServer::shutdown`] is called.
    ///
    /// If `addr` is an unspecified address (`0.0.0.0` or `::`), [`DemoServer::base_url`] uses
    /// the loopback address of the same family.
    pub async fn start(config: DemoConfig, addr: SocketAddr) -> io::Result<DemoServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let mut url_addr = local_addr;
        if url_addr.ip().is_unspecified() {
            url_addr.set_ip(match url_addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let base_url = Url::parse(&format!("http://{url_addr}/")).map_err(io::Error::other)?;
        let shared = Arc::new(Shared {
            config,
            base_url: base_url.clone(),
            id_token_key: rand::random::<[u8; 32]>(),
            state: Mutex::new(State::new()),
        });
        let app = router(Arc::clone(&shared));
        let (tx, rx) = oneshot::channel::<()>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            // Either an explicit signal or the sender being dropped ends the server.
            let _ = rx.await;
        });
        let task = tokio::spawn(async move { serve.await });
        Ok(DemoServer {
            base_url,
            local_addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Starts a demo provider on `127.0.0.1` with a port chosen by the OS.
    pub async fn start_local(config: DemoConfig) -> io::Result<DemoServer> {
        Self::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &DemoConfig {
        &self.shared.config
    }

    /// The absolute URL of `path` on this server, e.g. `endpoint("token")`.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        url.set_path(path);
        url
    }

    /// A snapshot of the server's statistics.
    pub fn stats(&self) -> DemoStats {
        self.shared.lock().stats_snapshot(Instant::now())
    }

    /// Revokes every refresh token issued so far (access tokens stay valid until they expire),
    /// as if the user had removed the app's access at the provider.
    pub fn revoke_all_refresh_tokens(&self) {
        self.shared.lock().revoke_all_refresh_tokens();
    }

    /// Makes the next consent redirect carry a `state` different from the one the client sent
    /// (the original with `-tampered` appended), like an attacker's forged redirect would.
    pub fn tamper_next_state(&self) {
        self.shared.lock().tamper_next_state = true;
    }

    /// Stops accepting connections, lets requests in flight finish (for at most five seconds)
    /// and waits for the server task to end.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(io::Error::other(join_error)),
            Err(_elapsed) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Builds the axum router serving every endpoint.
fn router(shared: Arc<Shared>) -> Router {
    let mut app = Router::new()
        .route("/", get(html::index))
        .route("/authorize", get(authorize::authorize))
        .route("/login", post(authorize::login))
        .route("/consent", post(authorize::consent))
        .route("/token", post(token::token))
        .route("/userinfo", get(token::userinfo).post(token::userinfo))
        .route("/revoke", post(token::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(token::metadata),
        )
        .route("/.well-known/openid-configuration", get(token::metadata));
    if shared.config.test_controls {
        app = app
            .route(
                "/_control/tamper-next-state",
                post(controls::tamper_next_state),
            )
            .route("/_control/stats", get(controls::stats))
            .route(
                "/_control/revoke-refresh-tokens",
                post(controls::revoke_refresh_tokens),
            )
            .route("/_control/hostile-page", get(hostile::hostile_page))
            .route("/_control/redirect-away", get(hostile::redirect_away));
    }
    app.fallback(html::not_found).with_state(shared)
}
