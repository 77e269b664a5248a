//! Which shards hold keys of a tag, so that `TAG.INVALIDATE` of a small tag locks the few shards
//! holding it instead of every shard (issue 15: 100,000 tags of 10 keys each cost an all-shard
//! lock apiece, and every GET waited behind them).
//!
//! The invariant: shard `s` is listed for (database, tag hash) whenever the tag's key set in that
//! shard and database is not empty. A shard is listed while its lock is held, before the key can
//! be seen, and unlisted only under the same lock, so an invalidation that holds the locks of
//! every listed shard and finds the list unchanged has seen every key of the tag (see
//! `Keyspace::invalidate_labels`). A listed shard with no keys (a FLUSHDB, a hash collision of
//! two tag names) only costs an extra lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::engine::shard_of_hash;
use crate::sync::LockExt;

/// Stripes of the index, picked by tag hash: a tagged write that lists a shard contends only with
/// writes of tags in the same stripe.
const STRIPES: usize = 64;

type Stripe = HashMap<(u32, u64), Vec<u16>, foldhash::fast::FixedState>;

pub struct TagShards {
    stripes: Box<[Mutex<Stripe>]>,
    /// Logical database → the id its tags are filed under. SWAPDB swaps two while it holds every
    /// shard, and every reader holds at least one shard lock, so no reader sees it half done.
    ids: Box<[AtomicU32]>,
    shard_mask: usize,
}

impl TagShards {
    /// `shards` is the keyspace's (a power of two).
    pub fn new(shards: usize, databases: usize) -> Self {
        TagShards {
            stripes: (0..STRIPES).map(|_| Mutex::default()).collect(),
            ids: (0..databases as u32).map(AtomicU32::new).collect(),
            shard_mask: shards.max(1) - 1,
        }
    }

    fn key(&self, db: usize, hash: u64) -> Option<((u32, u64), &Mutex<Stripe>)> {
        let id = self.ids.get(db)?.load(Ordering::Relaxed);
        let stripe = &self.stripes[(hash as usize) % STRIPES];
        Some(((id, hash), stripe))
    }

    /// The tag's key set in the shard of `key_hash` went from empty to not empty. Called under
    /// that shard's lock.
    pub fn list_key(&self, db: usize, hash: u64, key_hash: u64) {
        self.list(db, hash, shard_of_hash(key_hash, self.shard_mask));
    }

    /// The tag's key set in the shard of `key_hash` is empty again (`unlist`).
    pub fn unlist_key(&self, db: usize, hash: u64, key_hash: u64) {
        self.unlist(db, hash, shard_of_hash(key_hash, self.shard_mask));
    }

    fn list(&self, db: usize, hash: u64, shard: usize) {
        let Some((key, stripe)) = self.key(db, hash) else {
            return;
        };
        // Shard counts are at most 65536 (the `shards` directive's range).
        let shard = shard as u16;
        let mut stripe = stripe.lock_or_recover();
        let shards = stripe.entry(key).or_default();
        if let Err(at) = shards.binary_search(&shard) {
            shards.insert(at, shard);
        }
    }

    /// The tag's key set in `shard` is empty again. Called under that shard's lock.
    /// The tag's key set in `shard` is empty again. Called under that shard's lock.
    pub fn unlist(&self, db: usize, hash: u64, shard: usize) {
        let Some((key, stripe)) = self.key(db, hash) else {
            return;
        };
        let mut stripe = stripe.lock_or_recover();
        let Some(shards) = stripe.get_mut(&key) else {
            return;
        };
        if let Ok(at) = shards.binary_search(&(shard as u16)) {
            shards.remove(at);
        }
        if shards.is_empty() {
            stripe.remove(&key);
        }
    }

    /// Appends the shards listed for the tag to `out`.
    pub fn shards(&self, db: usize, hash: u64, out: &mut Vec<usize>) {
        let Some((key, stripe)) = self.key(db, hash) else {
            return;
        };
        if let Some(shards) = stripe.lock_or_recover().get(&key) {
            out.extend(shards.iter().map(|&s| usize::from(s)));
        }
    }

    /// SWAPDB: the two databases' tags trade places. The caller holds every shard.
    pub fn swap_dbs(&self, first: usize, second: usize) {
        if let (Some(a), Some(b)) = (self.ids.get(first), self.ids.get(second)) {
            let id = a.load(Ordering::Relaxed);
            a.store(b.load(Ordering::Relaxed), Ordering::Relaxed);
            b.store(id, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(index: &TagShards, db: usize, hash: u64) -> Vec<usize> {
        let mut out = Vec::new();
        index.shards(db, hash, &mut out);
        out
    }

    #[test]
    fn lists_in_order_once_and_forgets_empty_tags() {
        let index = TagShards::new(8, 2);
        index.list(0, 7, 5);
        index.list(0, 7, 1);
        index.list(0, 7, 5);
        assert_eq!(listed(&index, 0, 7), vec![1, 5]);
        assert!(listed(&index, 1, 7).is_empty());
        index.unlist(0, 7, 5);
        index.unlist(0, 7, 1);
        assert!(listed(&index, 0, 7).is_empty());
        assert!(index.stripes.iter().all(|s| s.lock_or_recover().is_empty()));
        // Out-of-range databases are ignored rather than panicking.
        index.list(9, 7, 1);
        assert!(listed(&index, 9, 7).is_empty());
    }

    #[test]
    fn swapped_databases_trade_their_tags() {
        let index = TagShards::new(8, 2);
        index.list(0, 7, 3);
        index.swap_dbs(0, 1);
        assert!(listed(&index, 0, 7).is_empty());
        assert_eq!(listed(&index, 1, 7), vec![3]);
        index.unlist(1, 7, 3);
        assert!(listed(&index, 1, 7).is_empty());
    }
}
