//! The cluster's failure detector, in place of Redis's bus: every tenth of
//! `cluster-node-timeout` (at least every 100 ms, at most every second) this node PINGs each
//! other node of its topology over a fresh connection, all at once; a node whose last answer is
//! older than `cluster-node-timeout` is taken as failed (`state::cluster::Health`), and is back
//! at its first answer. Any reply counts (an error such as NOAUTH or LOADING too: the process
//! is there). Only in `cluster-enabled yes`; cost: one short connection per node per period.
//! Under `tls-cluster yes` the probes go over TLS (with the client certificate MIGRATE
//! presents), so a node that serves TLS only (`port 0`) is probed where it listens.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::coherence::call::{call, Dial};
use crate::state::cluster::Mode;
use crate::state::Server;

const MIN_PERIOD: Duration = Duration::from_millis(100);
const MAX_PERIOD: Duration = Duration::from_secs(1);

pub async fn probe(server: Arc<Server>) {
    if server.cluster.mode != Mode::Yes {
        return;
    }
    let mut shutdown = server.shutdown_receiver();
    // When each node last answered (a node is given its timeout from its first probe).
    let mut answered: HashMap<String, Instant> = HashMap::new();
    loop {
        let timeout = Duration::from_millis(server.config.read().cluster_node_timeout);
        let period = (timeout / 10).clamp(MIN_PERIOD, MAX_PERIOD);
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let topology = server.cluster.topology();
        let others: Vec<(String, String)> = topology
            .nodes
            .iter()
            .filter(|n| n.id != topology.myself)
            .map(|n| (n.id.clone(), format!("{}:{}", n.ip, n.port)))
            .collect();
        let started = Instant::now();
        answered.retain(|id, _| others.iter().any(|(known, _)| known == id));
        // A node is given its timeout from when it is first probed.
        for (id, _) in &others {
            answered.entry(id.clone()).or_insert(started);
        }
        let wait = timeout.min(period * 5).max(MIN_PERIOD);
        let dial = Dial::cluster(&server);
        let mut probes = tokio::task::JoinSet::new();
        for (id, addr) in others {
            let dial = dial.clone();
            probes.spawn(async move {
                let alive = tokio::time::timeout(wait, ping(&addr, &dial)).await;
                (id, matches!(alive, Ok(Ok(()))))
            });
        }
        while let Some(Ok((id, alive))) = probes.join_next().await {
            if alive {
                answered.insert(id, started);
            }
        }
        let now = Instant::now();
        let failed: BTreeSet<String> = answered
            .iter()
            .filter(|(_, &last)| now.duration_since(last) > timeout)
            .map(|(id, _)| id.clone())
            .collect();
        server.cluster.health.set_failed(failed);
    }
}

/// PING on a fresh connection (a TLS handshake first under `tls-cluster`); Ok at any reply.
async fn ping(addr: &str, dial: &Dial<'_>) -> std::io::Result<()> {
    call(addr, dial, &[b"PING"]).await.map(|_| ())
}
