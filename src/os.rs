//! What the operating system tells about the process and the machine (INFO's server, memory and
//! CPU figures). Every module is compiled with `#![deny(unsafe_code)]` (see `lib.rs`) but this
//! one and one measured function, `ReplyBuf::put` (the copy every reply is made of: with a
//! checked copy, encoding small bulks measured 10-30% slower).
#![allow(unsafe_code)]

use std::time::Duration;

/// `uname`'s system, release and machine, as INFO's `os` field: `Linux 6.1.0 x86_64`.
pub fn name() -> String {
    // SAFETY: `uname` fills the zeroed struct it is given; its fields are NUL-terminated strings.
    unsafe {
        let mut name: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut name) != 0 {
            return std::env::consts::OS.to_string();
        }
        let field = |chars: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(chars.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!(
            "{} {} {}",
            field(&name.sysname),
            field(&name.release),
            field(&name.machine)
        )
    }
}

/// Resident set size from `/proc/self/statm`, as Redis's `zmalloc_get_rss`; `None` off Linux.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    (pages.max(0) as u64) * page_size()
}

/// CPU time used, as `getrusage` reports it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    pub system: Duration,
    pub user: Duration,
}

/// CPU time of the process itself and of its waited-for children.
pub fn cpu_times() -> (CpuTimes, CpuTimes) {
    fn duration(time: libc::timeval) -> Duration {
        Duration::from_secs(time.tv_sec.max(0) as u64)
            + Duration::from_micros(time.tv_usec.max(0) as u64)
    }
    let usage = |who| {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut usage);
            usage
        };
        CpuTimes {
            system: duration(usage.ru_stime),
            user: duration(usage.ru_utime),
        }
    };
    (usage(libc::RUSAGE_SELF), usage(libc::RUSAGE_CHILDREN))
}

/// CPU time the calling thread has used, in nanoseconds (for measurements on a shared machine,
/// where wall time counts other processes' turns).
pub fn thread_cpu_ns() -> f64 {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    time.tv_sec as f64 * 1e9 + time.tv_nsec as f64
}

/// Gives every jemalloc arena's dirty pages back to the system (MEMORY PURGE), as Redis's
/// `jemalloc_purge`: the `arena.<MALLCTL_ARENAS_ALL>.purge` control, which takes no value.
pub fn purge_allocator() {
    /// `MALLCTL_ARENAS_ALL`: every arena.
    const PURGE_ALL: &[u8] = b"arena.4096.purge\0";
    // SAFETY: the name is NUL-terminated, and a control without a value is called with null
    // old/new pointers and zero lengths, as jemalloc documents for `arena.<i>.purge`.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}
