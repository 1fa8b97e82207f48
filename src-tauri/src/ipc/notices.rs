//! Carries the refresher's [`Notice`]s to the desktop: events for the UI (coalesced, so a burst of
//! refreshes reloads the list once), the tray menu, and desktop notifications.

use std::sync::{Arc, Mutex};

use tauri::AppHandle;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{emit, EVENT_ACCOUNTS_CHANGED, EVENT_ACCOUNT_REFRESHING};
use crate::desktop::notify::{self, Notifier};
use crate::linker::unix_now;
use crate::refresh::Notice;

/// Runs until the refresher stops.
pub async fn forward(app: AppHandle, mut notices: UnboundedReceiver<Notice>) {
    let german = crate::desktop::prefers_german();
    let notifier = Arc::new(Mutex::new(Notifier::new()));
    while let Some(first) = notices.recv().await {
        // Take everything already waiting, then act once.
        let batch: Vec<Notice> = std::iter::once(first).chain(std::iter::from_fn(|| notices.try_recv().ok())).collect();
        let mut changed = false;
        for notice in &batch {
            match notice {
                Notice::Refreshing { account_id } => emit(&app, EVENT_ACCOUNT_REFRESHING, account_id.clone()),
                _ => changed = true,
            }
            if let Some(n) = notify::for_notice(notice, german, unix_now()) {
                let notifier = notifier.clone();
                tauri::async_runtime::spawn_blocking(move || {
                    let mut notifier = notifier.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = notifier.show(&n) {
                        tracing::info!(error = %e, "desktop notification not shown");
                    }
                });
            }
        }
        if changed {
            emit(&app, EVENT_ACCOUNTS_CHANGED, ());
            crate::windows::tray::refresh(&app).await;
        }
    }
}
