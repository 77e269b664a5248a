//! Regions: named key prefixes with a budget of their own (`region` directive, CACHE.REGION).
//! A key belongs to the region whose prefix is the longest one its name starts with; a region
//! over its `maxmemory` or `maxmemory-keys` evicts among its own keys with its own policy
//! (`Keyspace::evict_region`), while the global limit still holds over everything.
//!
//! Cost: with no region the hot path pays one relaxed load of `Regions::active`. With regions,
//! each write, delete and read matches the key against the prefixes, longest first (regions are
//! few: a linear scan of a handful of `starts_with` beats a trie's pointer chasing), under the
//! shard lock the change is made under. The region is not stored in the entry (its header's
//! flag byte has no bit left): it is matched again when the entry leaves. That stays exact because
//! the table of regions only changes with every shard locked (`Keyspace::set_regions`), which
//! recounts every region's keys and bytes from the data in the same critical section.
//!
//! A region's bytes are its entries' (`Entry::memory`: block, labels, collection), not the
//! table slots, which the region's keys share with every other key of their shard.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::engine::entry::Priority;
use crate::engine::policy::Policy;
use crate::engine::Keyspace;

/// What a region is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSpec {
    pub name: String,
    pub prefix: Vec<u8>,
    /// Bytes of the region's entries; 0: no byte budget.
    pub maxmemory: usize,
    /// Keys; 0: no key budget.
    pub maxmemory_keys: usize,
    pub policy: Policy,
    /// Seconds given to a key written without a TTL; 0: none.
    pub default_ttl: u64,
    /// Priority given to a key written with the default one (normal); `None`: normal.
    pub priority: Option<Priority>,
}

impl RegionSpec {
    pub fn new(name: &str, prefix: &[u8]) -> RegionSpec {
        RegionSpec {
            name: name.to_string(),
            prefix: prefix.to_vec(),
            maxmemory: 0,
            maxmemory_keys: 0,
            policy: Policy::AllKeysCachet,
            default_ttl: 0,
            priority: None,
        }
    }
}

/// A configured region and its running figures.
#[derive(Debug)]
pub struct Region {
    pub spec: RegionSpec,
    pub bytes: AtomicUsize,
    pub keys: AtomicUsize,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub evicted_keys: AtomicU64,
    pub evicted_bytes: AtomicU64,
}

/// A region's figures read at one moment (INFO, CACHE.STATS, CACHE.REGION INFO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionReport {
    pub spec: RegionSpec,
    pub bytes: usize,
    pub keys: usize,
    pub hits: u64,
    pub misses: u64,
    pub evicted_keys: u64,
    pub evicted_bytes: u64,
}

impl Region {
    fn new(spec: RegionSpec) -> Region {
        Region {
            spec,
            bytes: AtomicUsize::new(0),
            keys: AtomicUsize::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evicted_keys: AtomicU64::new(0),
            evicted_bytes: AtomicU64::new(0),
        }
    }

    /// Over its byte or key budget.
    pub fn over_budget(&self) -> bool {
        let spec = &self.spec;
        (spec.maxmemory > 0 && self.bytes.load(Ordering::Acquire) > spec.maxmemory)
            || (spec.maxmemory_keys > 0 && self.keys.load(Ordering::Acquire) > spec.maxmemory_keys)
    }

    pub fn report(&self) -> RegionReport {
        RegionReport {
            spec: self.spec.clone(),
            bytes: self.bytes.load(Ordering::Relaxed),
            keys: self.keys.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evicted_keys: self.evicted_keys.load(Ordering::Relaxed),
            evicted_bytes: self.evicted_bytes.load(Ordering::Relaxed),
        }
    }

    fn account(&self, bytes: isize, keys: isize) {
        adjust(&self.bytes, bytes);
        adjust(&self.keys, keys);
    }

    pub fn reset_stats(&self) {
        for counter in [
            &self.hits,
            &self.misses,
            &self.evicted_keys,
            &self.evicted_bytes,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

fn adjust(counter: &AtomicUsize, delta: isize) {
    if delta > 0 {
        counter.fetch_add(delta as usize, Ordering::AcqRel);
    } else if delta < 0 {
        counter.fetch_sub(delta.unsigned_abs(), Ordering::AcqRel);
    }
}

/// The regions in force, longest prefix first, so the first match is the longest.
#[derive(Debug, Default)]
pub struct RegionTable {
    regions: Vec<Arc<Region>>,
}

impl RegionTable {
    /// The region `key` belongs to: the longest prefix it starts with.
    pub fn find(&self, key: &[u8]) -> Option<&Arc<Region>> {
        self.regions
            .iter()
            .find(|r| key.starts_with(&r.spec.prefix))
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Region>> {
        self.regions.iter().find(|r| r.spec.name == name)
    }

    /// In the order of their names (LIST, INFO, CONFIG REWRITE).
    pub fn sorted(&self) -> Vec<&Arc<Region>> {
        let mut all: Vec<&Arc<Region>> = self.regions.iter().collect();
        all.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        all
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Region>> {
        self.regions.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }
}

/// The keyspace's regions: `active` is the one load the hot path pays when none is configured.
#[derive(Default)]
pub struct Regions {
    active: AtomicBool,
    table: ArcSwap<RegionTable>,
}

impl Regions {
    /// Runs `f` on the region of `key`, if regions are configured and one matches.
    #[inline]
    pub fn with<R>(&self, key: &[u8], f: impl FnOnce(&Region) -> R) -> Option<R> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let table = self.table.load();
        table.find(key).map(|r| f(r))
    }

    /// Adds `bytes` and `keys` (either may be negative) to the region of `key`.
    #[inline]
    pub fn account(&self, key: &[u8], bytes: isize, keys: isize) {
        self.with(key, |r| r.account(bytes, keys));
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    pub fn table(&self) -> Arc<RegionTable> {
        self.table.load_full()
    }

    /// Installs `specs` with figures starting at zero, except the counters (hits, misses,
    /// evictions) of regions kept by name. The caller holds every shard and counts the keys in
    /// (`Keyspace::set_regions`).
    pub(crate) fn install(&self, specs: Vec<RegionSpec>) -> Arc<RegionTable> {
        let old = self.table.load_full();
        let mut regions: Vec<Arc<Region>> = specs
            .into_iter()
            .map(|spec| {
                let region = Region::new(spec);
                if let Some(before) = old.by_name(&region.spec.name) {
                    for (to, from) in [
                        (&region.hits, &before.hits),
                        (&region.misses, &before.misses),
                        (&region.evicted_keys, &before.evicted_keys),
                        (&region.evicted_bytes, &before.evicted_bytes),
                    ] {
                        to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
                    }
                }
                Arc::new(region)
            })
            .collect();
        regions.sort_by_key(|r| std::cmp::Reverse(r.spec.prefix.len()));
        let table = Arc::new(RegionTable { regions });
        self.table.store(table.clone());
        self.active.store(!table.is_empty(), Ordering::Release);
        table
    }
}

impl Keyspace {
    /// Replaces the regions (conf file at start, CACHE.REGION SET/DEL) and counts every key
    /// into its new region: all shards are held, so no write sees a half-counted table and
    /// the figures equal a recount when they are released. O(keys), at the command.
    pub fn set_regions(&self, specs: Vec<RegionSpec>) {
        let mut locked = self.lock_all();
        let table = self.regions.install(specs);
        if table.is_empty() {
            return;
        }
        locked.for_each(|shard| {
            for db in shard.dbs.iter() {
                for entry in db.map.iter() {
                    if let Some(region) = table.find(entry.key()) {
                        region.account(entry.memory() as isize, 1);
                    }
                }
            }
        });
    }

    /// Each region's (name, bytes, keys) counted afresh from the data, in the order of
    /// `RegionTable::sorted` (tests: the running figures must equal it).
    pub fn recount_regions(&self) -> Vec<(String, usize, usize)> {
        let locked = self.lock_all();
        let table = self.regions.table();
        let mut counts: Vec<(String, usize, usize)> = table
            .sorted()
            .into_iter()
            .map(|r| (r.spec.name.clone(), 0, 0))
            .collect();
        locked.for_each_ref(|shard| {
            for db in shard.dbs.iter() {
                for entry in db.map.iter() {
                    if let Some(region) = table.find(entry.key()) {
                        if let Some(count) = counts.iter_mut().find(|c| c.0 == region.spec.name) {
                            count.1 += entry.memory();
                            count.2 += 1;
                        }
                    }
                }
            }
        });
        counts
    }

    /// Every region's figures, by name.
    pub fn region_reports(&self) -> Vec<RegionReport> {
        let table = self.regions.table();
        table.sorted().into_iter().map(|r| r.report()).collect()
    }

    pub fn reset_region_stats(&self) {
        self.regions.table().iter().for_each(|r| r.reset_stats());
    }
}

/// Why a set of regions cannot be installed.
pub fn check(specs: &[RegionSpec], global_maxmemory: usize) -> Result<(), String> {
    for (i, spec) in specs.iter().enumerate() {
        if let Some(other) = specs[..i].iter().find(|o| o.name == spec.name) {
            return Err(format!("region '{}' is defined twice", other.name));
        }
        if let Some(other) = specs[..i].iter().find(|o| o.prefix == spec.prefix) {
            return Err(format!(
                "regions '{}' and '{}' have the same prefix",
                other.name, spec.name
            ));
        }
        if global_maxmemory > 0 && spec.maxmemory > global_maxmemory {
            return Err(format!(
                "region '{}' maxmemory {} is larger than maxmemory {}",
                spec.name, spec.maxmemory, global_maxmemory
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_none_costs_nothing() {
        let regions = Regions::default();
        assert_eq!(regions.with(b"user:1", |r| r.spec.name.clone()), None);
        regions.install(vec![
            RegionSpec::new("users", b"user:"),
            RegionSpec::new("sessions", b"user:session:"),
            RegionSpec::new("all-u", b"u"),
        ]);
        let name = |key: &[u8]| regions.with(key, |r| r.spec.name.clone());
        assert_eq!(name(b"user:session:9").as_deref(), Some("sessions"));
        assert_eq!(name(b"user:9").as_deref(), Some("users"));
        assert_eq!(name(b"ux").as_deref(), Some("all-u"));
        assert_eq!(name(b"product:1"), None);
        regions.install(Vec::new());
        assert!(!regions.is_active());
    }

    #[test]
    fn checks_duplicates_and_the_global_budget() {
        let mut a = RegionSpec::new("a", b"a:");
        a.maxmemory = 2000;
        assert!(check(std::slice::from_ref(&a), 0).is_ok());
        assert!(check(std::slice::from_ref(&a), 1000)
            .unwrap_err()
            .contains("larger than maxmemory"));
        let b = RegionSpec::new("b", b"a:");
        assert!(check(&[a.clone(), b], 0)
            .unwrap_err()
            .contains("same prefix"));
        assert!(check(&[a.clone(), a], 0).unwrap_err().contains("twice"));
    }
}
