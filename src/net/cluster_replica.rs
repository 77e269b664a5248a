//! A cluster replica kept warm and coherent without replication proper. Every tenth of a second,
//! in `cluster-enabled yes`, this task hands the coherence links what the topology asks
//! (`Server::coherence_settings`: a replica follows its master's invalidations as a peer's, a
//! master with replicas publishes its own), then, on a replica whose link to its master is up,
//! fills the replica from the master: every key with its metadata and TTL, as CACHE.WARM copies
//! them (`net::warm`, SCAN then CACHE.EXPORTKEY, a key stored only if absent). The fill starts
//! only once the link is up, since a link's first subscription drops local data, and again after
//! each time coherence drops it (the master's FLUSHALL, a link that could not catch up).
//!
//! What the replica serves is never older than what the master has invalidated and published:
//! a write on the master reaches the replica as an invalidation, so a READONLY client then misses
//! there until the next fill, or until the application writes the key again (on the master: the
//! replica answers MOVED to writes). A copy asked for before an invalidation of its key arrived is
//! not stored (`state::warm`'s guard). The stream carries no values: that is the cost of having no
//! replication; the lag is the coherence lag (INFO coherence).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::now_ms;
use crate::state::cluster::Mode;
use crate::state::coherence::links::UP;
use crate::state::warm::WarmRequest;
use crate::state::Server;
use crate::sync::LockExt;

const PERIOD: Duration = Duration::from_millis(100);

pub async fn follow(server: Arc<Server>) {
    if server.cluster.mode != Mode::Yes {
        return;
    }
    let mut shutdown = server.shutdown_receiver();
    // The master filled from last, and the count of data drops then.
    let mut filled: Option<(String, u64)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PERIOD) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        // Also done by the commands that change the topology; here for the rest (a start, a
        // CONFIG SET of the coherence directives is done by apply_config too).
        server.follow_topology();
        let bus = server.config.read().coherence_bus.clone();
        let Some(master) = server.cluster.coherence_role().0 else {
            filled = None;
            continue;
        };
        let drops = server.warm.drops();
        if filled.as_ref() == Some(&(master.clone(), drops)) {
            continue;
        }
        // With a bus, the master's invalidations come through it.
        let followed = if bus.is_empty() { &master } else { &bus };
        let up = server
            .coherence
            .links
            .lock_or_recover()
            .iter()
            .any(|link| &link.addr == followed && link.state.load(Ordering::Relaxed) == UP);
        let Some((host, port)) = master
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host.to_string(), port.parse().ok()?)))
        else {
            continue;
        };
        if !up {
            continue;
        }
        let config = server.config.read();
        let login = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let request = WarmRequest {
            host,
            port,
            db: 0,
            top: 0,
            all: true,
            pattern: None,
            user: login(&config.masteruser),
            password: login(&config.masterauth),
        };
        drop(config);
        // One warm-up at a time: a CACHE.WARM running delays the fill to a later turn.
        if server.warm.start(request, now_ms()) {
            tracing::info!(%master, "replica filling from its master");
            filled = Some((master, drops));
        }
    }
}
