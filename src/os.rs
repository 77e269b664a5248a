//! What the operating system tells about the process and the machine (INFO's server, memory and
//! CPU figures). Every module is compiled with `#![deny(unsafe_code)]` (see `lib.rs`) but this
//! one, `engine::entry::thin` (the 8-byte table slot) and one measured function,
//! `ReplyBuf::put` (the copy every reply is made of: with a checked copy, encoding small bulks
//! measured 10-30% slower).
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

/// Bytes of transparent huge pages the process maps (`AnonHugePages` of `/proc/self/smaps`, as
/// Redis's `THPGetAnonHugePagesSize`); 0 where that cannot be read.
pub fn anon_huge_pages_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("AnonHugePages:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
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

/// Lowers the calling thread's scheduling priority by `nice` steps (Linux: a thread is a task with
/// its own nice value). A background save runs beside the connections on the same CPUs, and
/// should take their leftovers, not their turns. Errors are ignored: the save only runs at the
/// usual priority then; elsewhere than Linux nothing is done.
#[cfg(target_os = "linux")]
pub fn lower_thread_priority(nice: i32) {
    // SAFETY: plain syscalls on the calling thread's id; no memory is passed.
    unsafe {
        let tid = libc::gettid();
        let current = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, current + nice);
    }
}

#[cfg(not(target_os = "linux"))]
pub fn lower_thread_priority(_nice: i32) {}

/// Puts the calling thread in `SCHED_IDLE`, the class the scheduler runs only when nothing else
/// wants the CPU (a weight of 3 against a nice-0 thread's 1024, where nice +10 is 110). Returns
/// whether that worked; elsewhere than Linux nothing is done.
#[cfg(target_os = "linux")]
pub fn idle_thread_priority() -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` outlives the call, which only reads it.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 }
}

#[cfg(not(target_os = "linux"))]
pub fn idle_thread_priority() -> bool {
    false
}

/// A cheap monotonic clock for timing every command (commandstats, latency histograms, slowlog):
/// the CPU's time-stamp counter where it is invariant (x86-64 with `constant_tsc` and
/// `nonstop_tsc`, as Redis's `monotonic.c` requires), else `Instant`. Measured on the 2-vCPU
/// development VM: `rdtsc` ~6 ns a reading, `Instant::now` ~34 ns (`clock_gettime` through the
/// vDSO); two readings per command.
pub mod ticks {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    struct Calibration {
        tsc: bool,
        /// Nanoseconds per tick, as a 32.32 fixed-point number.
        nanos_per_tick: u64,
        origin: Instant,
    }

    static CALIBRATION: OnceLock<Calibration> = OnceLock::new();

    fn calibration() -> &'static Calibration {
        CALIBRATION.get_or_init(calibrate)
    }

    #[cfg(target_arch = "x86_64")]
    fn tsc() -> u64 {
        // SAFETY: RDTSC has no preconditions; it is available on every x86-64 CPU.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn tsc() -> u64 {
        0
    }

    fn invariant_tsc() -> bool {
        cfg!(target_arch = "x86_64")
            && std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
                info.lines()
                    .find(|line| line.starts_with("flags"))
                    .is_some_and(|flags| {
                        let has = |word: &str| flags.split_whitespace().any(|f| f == word);
                        has("constant_tsc") && has("nonstop_tsc")
                    })
            })
    }

    /// Counts the TSC's ticks over a few milliseconds of `Instant`'s time.
    fn calibrate() -> Calibration {
        let origin = Instant::now();
        if !invariant_tsc() {
            return Calibration {
                tsc: false,
                nanos_per_tick: 1 << 32,
                origin,
            };
        }
        let (start, start_ticks) = (Instant::now(), tsc());
        std::thread::sleep(Duration::from_millis(5));
        let (nanos, ticks) = (start.elapsed().as_nanos(), tsc().wrapping_sub(start_ticks));
        match u64::try_from((nanos << 32) / u128::from(ticks.max(1))) {
            Ok(nanos_per_tick) if ticks > 0 => Calibration {
                tsc: true,
                nanos_per_tick,
                origin,
            },
            _ => Calibration {
                tsc: false,
                nanos_per_tick: 1 << 32,
                origin,
            },
        }
    }

    /// Calibrates now (a few milliseconds, once per process) rather than on the first command.
    pub fn init() {
        calibration();
    }

    /// INFO's `monotonic_clock`, worded as Redis's `monotonicInfoString`.
    pub fn description() -> String {
        let calibration = calibration();
        if calibration.tsc {
            let per_micro = (1000u128 << 32) / u128::from(calibration.nanos_per_tick.max(1));
            format!("X86 TSC @ {per_micro} ticks/us")
        } else {
            "POSIX clock_gettime".to_string()
        }
    }

    /// A reading; only differences between readings mean anything.
    #[inline]
    pub fn now() -> u64 {
        let calibration = calibration();
        if calibration.tsc {
            tsc()
        } else {
            calibration.origin.elapsed().as_nanos() as u64
        }
    }

    /// Nanoseconds between two readings.
    #[inline]
    pub fn nanos_between(start: u64, end: u64) -> u64 {
        let ticks = end.saturating_sub(start) as u128;
        ((ticks * calibration().nanos_per_tick as u128) >> 32) as u64
    }
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

/// Bytes jemalloc keeps in its threads' caches (`stats.arenas.<all>.tcache_bytes`): freed objects
/// kept for reuse, and the batch a thread's first allocation of a size class fetches ahead. Its
/// `allocated` counts them, so a reading of it depends on which sizes each thread happened to
/// allocate before. 0 when the statistic cannot be read (call after an epoch advance).
pub fn allocator_thread_cached() -> usize {
    // SAFETY: the name is NUL-terminated and names a `size_t` statistic (4096 is jemalloc's
    // MALLCTL_ARENAS_ALL, the sum over every arena).
    unsafe { tikv_jemalloc_ctl::raw::read::<usize>(b"stats.arenas.4096.tcache_bytes\0") }
        .unwrap_or(0)
}
