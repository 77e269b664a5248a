//! What memory really costs: allocations are rounded up to jemalloc's size classes, so the
//! accounting tracks what the allocator hands out rather than what was asked for.

/// The size of the jemalloc size class that serves a request of `n` bytes.
/// Classes: 8, 16, then steps of 16 up to 128, then four classes per doubling.
pub fn alloc_size(n: usize) -> usize {
    match n {
        0 => 0,
        1..=8 => 8,
        9..=128 => (n + 15) & !15,
        _ => {
            let log2 = usize::BITS - 1 - (n - 1).leading_zeros();
            let spacing = 1usize << (log2 - 2);
            (n + spacing - 1) & !(spacing - 1)
        }
    }
}

/// Bytes a hash table with `buckets` slots of `slot` bytes costs (slots plus one control byte each).
pub fn table_size(buckets: usize, slot: usize) -> usize {
    if buckets == 0 {
        0
    } else {
        buckets * (slot + 1) + 16
    }
}

/// The allocator's own view: (allocated, resident) bytes, refreshed from jemalloc's stats.
pub fn allocator_stats() -> (usize, usize) {
    let (allocated, _, resident) = allocator_stats_active();
    (allocated, resident)
}

/// jemalloc's allocated, active and resident bytes (INFO's `allocator_*`).
pub fn allocator_stats_active() -> (usize, usize, usize) {
    use tikv_jemalloc_ctl::{epoch, stats};
    if epoch::advance().is_err() {
        return (0, 0, 0);
    }
    (
        stats::allocated::read().unwrap_or(0),
        stats::active::read().unwrap_or(0),
        stats::resident::read().unwrap_or(0),
    )
}

/// Turns jemalloc's background purging threads on or off (`jemalloc-bg-thread`, as Redis's
/// `set_jemalloc_bg_thread`). Freed pages are given back after jemalloc's decay time either
/// way, but without the threads only when the arena that freed them allocates again: after a
/// flood evicted, an arena no thread allocates from keeps its pages resident.
pub fn set_background_purge(on: bool) -> Result<(), String> {
    use tikv_jemalloc_ctl::background_thread;
    if background_thread::read().map_err(|e| e.to_string())? != on {
        background_thread::write(on).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes() {
        assert_eq!(alloc_size(1), 8);
        assert_eq!(alloc_size(17), 32);
        assert_eq!(alloc_size(48), 48);
        assert_eq!(alloc_size(116), 128);
        assert_eq!(alloc_size(129), 160);
        assert_eq!(alloc_size(257), 320);
        assert_eq!(alloc_size(4097), 5120);
    }

    #[test]
    fn background_purge_switches() {
        use tikv_jemalloc_ctl::background_thread;
        set_background_purge(true).unwrap();
        assert!(background_thread::read().unwrap());
        set_background_purge(false).unwrap();
        assert!(!background_thread::read().unwrap());
    }
}
