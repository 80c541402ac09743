//! The listening connection: `LISTEN` on [`super::CHANNEL`], each notification decoded into a
//! [`Change`] and broadcast to the store's subscribers.
//!
//! Notifications are only delivered to a connected session, so whenever the connection is
//! lost the subscribers are told [`Change::All`], and again once `LISTEN` runs on a new one
//! (whatever committed in between was not heard). A heartbeat query every [`HEARTBEAT`]
//! notices a connection that died without a word (a cut network) within
//! [`HEARTBEAT`] + [`HEARTBEAT_TIMEOUT`]. Reconnection is retried every [`RETRY`].

use std::future::poll_fn;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use super::connect::Target;
use crate::Change;

/// How often the listening connection is checked.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long a heartbeat may take before the connection is given up.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
/// The wait between attempts to reconnect.
const RETRY: Duration = Duration::from_millis(250);

/// The `application_name` of the listening connection (what an operator sees in
/// `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "keywarden-listen";

/// Listens for as long as the store lives (the task is aborted when it is dropped).
pub(super) async fn run(mut target: Target, changes: broadcast::Sender<Change>) {
    target.config.application_name(APPLICATION_NAME);
    loop {
        if let Err(why) = session(&target, &changes).await {
            tracing::warn!(error = %why, "lost the store's change notifications; reconnecting");
        }
        // Whatever was announced while no session listened is lost.
        let _ = changes.send(Change::All);
        tokio::time::sleep(RETRY).await;
    }
}

/// One listening session, until its connection fails.
async fn session(target: &Target, changes: &broadcast::Sender<Change>) -> Result<(), String> {
    let connecting = target.config.connect(target.tls.clone());
    let (client, mut connection) = tokio::time::timeout(HEARTBEAT_TIMEOUT, connecting)
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    // The connection object yields the notifications; it must be polled for the client's
    // queries to make progress too, so it is driven by a task of its own.
    let sender = changes.clone();
    let mut driver = tokio::spawn(async move {
        loop {
            match poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let _ = sender.send(Change::decode(n.payload()));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return e.to_string(),
                None => return "connection closed".to_owned(),
            }
        }
    });
    let listening = async {
        client
            .batch_execute(&format!("LISTEN {}", super::CHANNEL))
            .await
            .map_err(|e| e.to_string())?;
        // Listening from now on: what committed before is what the caches must not trust.
        let _ = changes.send(Change::All);
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            tokio::time::timeout(HEARTBEAT_TIMEOUT, client.batch_execute("SELECT 1"))
                .await
                .map_err(|_| "heartbeat timed out".to_owned())?
                .map_err(|e| e.to_string())?;
        }
    };
    let result: Result<(), String> = tokio::select! {
        failed = listening => failed,
        ended = &mut driver => Err(ended.unwrap_or_else(|e| e.to_string())),
    };
    driver.abort();
    result
}
