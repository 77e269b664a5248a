//! Coherence on the wire: the publisher task (the queued invalidations, numbered and published),
//! the links that follow other daemons (`link`), the bus forwarder (`bus`), calls to other daemons
//! (`call`) and the RESP reader they share (`resp`). What they share with the commands (the
//! backlog, the message format, the secret, the link states) is state: `state::coherence`.

pub mod bus;
pub(crate) mod call;
pub mod link;
pub mod resp;

use std::sync::Arc;

use crate::state::Server;

/// Publishes the queued invalidations: each wake-up drains the queue, already cut into messages
/// of about `MAX_MESSAGE_BYTES` (`Coherence::take_pending`).
pub async fn publisher(server: Arc<Server>) {
    let coherence = &server.coherence;
    loop {
        // No yield before draining: a yielded task runs only after the next I/O poll, which
        // would hold every invalidation back a turn or two. Under load the batch is what the
        // connections queued while the previous one was being published.
        coherence.queued().await;
        let batches = coherence.take_pending();
        let key = coherence.key();
        for batch in &batches {
            coherence.publish(&server, batch, key.as_ref());
        }
    }
}
