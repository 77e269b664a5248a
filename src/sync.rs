//! One policy for poisoned locks, stated once: a panic while a lock was held is a bug in one
//! request, not a reason to stop serving every other client. The lock is taken anyway, with the
//! data as the panicking code left it, and the work it guards is done, never skipped: every
//! critical section in cachet keeps its structure usable between statements (counts may be off,
//! memory is never unsafe), and skipping work instead (a queued job dropped, a count never
//! settled) turns one bug into a second, silent one. Redis would have crashed; a cache that loses
//! everything for one bad request is worse. Every `Mutex` and `RwLock` is taken through
//! `LockExt`.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub trait LockExt<T: ?Sized> {
    type Guard<'a>
    where
        Self: 'a;
    fn lock_or_recover(&self) -> Self::Guard<'_>;
}

impl<T: ?Sized> LockExt<T> for Mutex<T> {
    type Guard<'a>
        = MutexGuard<'a, T>
    where
        T: 'a;

    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `LockExt` for readers-writer locks.
pub trait RwLockExt<T: ?Sized> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T>;
    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockExt<T> for RwLock<T> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T> {
        self.write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_taken_with_its_data() {
        let mutex = std::sync::Arc::new(Mutex::new(1));
        let clone = mutex.clone();
        let _ = std::thread::spawn(move || {
            let mut value = clone.lock_or_recover();
            *value = 2;
            panic!("a bug while holding the lock");
        })
        .join();
        assert!(mutex.is_poisoned());
        assert_eq!(*mutex.lock_or_recover(), 2);
        let rw = RwLock::new(3);
        assert_eq!(*rw.read_or_recover(), 3);
        *rw.write_or_recover() = 4;
        assert_eq!(*rw.read_or_recover(), 4);
    }
}
