//! Test controls under `/_control/`, routed only when `DemoConfig::test_controls` is on.
//!
//! They let end-to-end tests, which drive the app from outside the process, do what the
//! in-process tests do through [`DemoServer`](super::DemoServer)'s methods.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::state::Shared;

/// `POST /_control/tamper-next-state`: the next consent redirect carries a wrong `state`.
pub(crate) async fn tamper_next_state(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().tamper_next_state = true;
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_control/stats`: the statistics as JSON.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = shared.lock().stats_snapshot(Instant::now());
    Json(stats).into_response()
}

/// `POST /_control/revoke-refresh-tokens`: revokes every active refresh token.
pub(crate) async fn revoke_refresh_tokens(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().revoke_all_refresh_tokens();
    StatusCode::NO_CONTENT.into_response()
}
