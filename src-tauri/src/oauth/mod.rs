//! The OAuth 2.0 protocol: everything that is URLs, PKCE, `state`, the redirect and token requests.
//!
//! Nothing here knows about windows, the keyring or files. The connect path is
//! [`flow::PendingFlow::begin`] → (a browser visits the authorize URL) → [`callback::Callback::parse`]
//! → [`token::exchange_code`].

pub mod api;
pub mod callback;
pub mod embedded;
pub mod flow;
pub mod jwt;
pub mod navigation;
pub mod pkce;
pub mod redirect;
pub mod secret;
pub mod token;
