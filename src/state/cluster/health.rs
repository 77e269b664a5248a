//! Which nodes of the topology this node takes as failed: those that have not answered its
//! probe for `cluster-node-timeout` (`net::cluster_probe` decides, this holds the answer). Redis
//! marks a node PFAIL on its own and FAIL once a majority of masters agree over the bus; with no
//! bus, each cachet node decides alone, and every node probing every other reaches the same
//! verdict within a timeout or so.

use std::collections::BTreeSet;
use std::sync::Arc;

use arc_swap::ArcSwap;

#[derive(Default)]
pub struct Health {
    /// Node ids, replaced whole when the verdict changes: a redirection check reads it per
    /// keyed command with one atomic load.
    failed: ArcSwap<BTreeSet<String>>,
}

impl Health {
    pub fn failed(&self) -> arc_swap::Guard<Arc<BTreeSet<String>>> {
        self.failed.load()
    }

    /// The probe's verdict; a store only when it changed.
    pub fn set_failed(&self, failed: BTreeSet<String>) {
        if **self.failed.load() != failed {
            if failed.is_empty() {
                tracing::info!("every node of the cluster answers again");
            } else {
                tracing::warn!(nodes = ?failed, "cluster nodes taken as failed");
            }
            self.failed.store(Arc::new(failed));
        }
    }
}
