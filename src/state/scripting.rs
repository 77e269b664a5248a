//! Scripting state every client shares: the Lua VM of EVAL with its script cache (by SHA1), the
//! function libraries with their own VM (as Redis keeps two), and the state of the script running
//! now, which other clients read to answer `BUSY` and which SCRIPT KILL, FUNCTION KILL and
//! SHUTDOWN NOSAVE set. The VMs are built and driven by `commands::scripting`; this module only
//! keeps them.
//!
//! A script runs holding the exec gate exclusively (`exec_gate`), then its VM's mutex: one script
//! at a time, whatever VM. The run state is atomics only, so the commands allowed while a script
//! is busy (`allow_busy`: SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN, MULTI...) read and set it
//! without the gate or the VM.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::Bytes;

use crate::error::ScriptError;

bitflags::bitflags! {
    /// A script's flags: from its shebang (`#!lua flags=no-writes,allow-oom`), or
    /// `EVAL_COMPAT` for an EVAL script without one (Redis's compatibility mode).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct ScriptFlags: u8 {
        const NO_WRITES = 1 << 0;
        const ALLOW_OOM = 1 << 1;
        const ALLOW_STALE = 1 << 2;
        const NO_CLUSTER = 1 << 3;
        const ALLOW_CROSS_SLOT = 1 << 4;
        const EVAL_COMPAT = 1 << 5;
    }
}

/// The flags a shebang or `register_function` may name, in Redis's order.
pub const FLAG_NAMES: [(&str, ScriptFlags); 5] = [
    ("no-writes", ScriptFlags::NO_WRITES),
    ("allow-oom", ScriptFlags::ALLOW_OOM),
    ("allow-stale", ScriptFlags::ALLOW_STALE),
    ("no-cluster", ScriptFlags::NO_CLUSTER),
    ("allow-cross-slot-keys", ScriptFlags::ALLOW_CROSS_SLOT),
];

/// A Lua VM as `commands::scripting::vm` builds it: the state, the real global table (scripts see
/// a read-only proxy of it), the table through which the running script reaches its client
/// (`current`), and the runner that calls a script under the error handler.
pub struct Vm {
    pub lua: mlua::Lua,
    pub globals: mlua::Table,
    pub current: mlua::Table,
    pub runner: mlua::Function,
}

pub struct CachedScript {
    pub body: Bytes,
    pub flags: ScriptFlags,
    pub function: mlua::Function,
}

/// EVAL's VM and its cache: compiled scripts by lower-case SHA1 hex.
pub struct EvalVm {
    pub vm: Vm,
    pub scripts: HashMap<Box<str>, CachedScript>,
    /// Bytes of the cached bodies (INFO's `used_memory_scripts_eval`).
    pub bodies: usize,
}

pub struct FunctionDef {
    pub name: Box<str>,
    pub description: Option<Bytes>,
    pub flags: ScriptFlags,
    pub function: mlua::Function,
}

pub struct Library {
    pub name: Box<str>,
    pub code: Bytes,
    /// By name, as FUNCTION LIST orders them.
    pub functions: BTreeMap<Box<str>, FunctionDef>,
}

/// The function libraries and the VM their code was loaded in.
pub struct FunctionsVm {
    pub vm: Vm,
    pub libraries: BTreeMap<Box<str>, Library>,
    /// Function name, ASCII lower-cased → its library's name and the name as registered. FCALL
    /// finds a function whatever the case and two libraries may not hold `f` and `F`, as Redis's
    /// global function dict compares names without case (a library's own list keeps case).
    index: HashMap<Box<str>, (Box<str>, Box<str>)>,
}

impl FunctionsVm {
    pub fn new(vm: Vm) -> FunctionsVm {
        FunctionsVm {
            vm,
            libraries: BTreeMap::new(),
            index: HashMap::new(),
        }
    }

    pub fn function(&self, name: &str) -> Option<(&Library, &FunctionDef)> {
        let (library, registered) = self.index.get(&*name.to_ascii_lowercase())?;
        let library = self.libraries.get(library)?;
        Some((library, library.functions.get(registered)?))
    }

    /// The library holding a function of this name, whatever its case.
    pub fn owner(&self, function: &str) -> Option<&str> {
        self.index
            .get(&*function.to_ascii_lowercase())
            .map(|(library, _)| &**library)
    }

    /// Lists a library's functions in the global index (its libraries entry is the caller's).
    pub fn index_library(&mut self, library: &Library) {
        for function in library.functions.keys() {
            self.index.insert(
                function.to_ascii_lowercase().into(),
                (library.name.clone(), function.clone()),
            );
        }
    }

    pub fn unindex_library(&mut self, library: &Library) {
        for function in library.functions.keys() {
            self.index.remove(&*function.to_ascii_lowercase());
        }
    }

    pub fn clear_index(&mut self) {
        self.index.clear();
    }

    pub fn indexed(&self) -> usize {
        self.index.len()
    }

    /// Bytes of the libraries' code and names (INFO's `used_memory_functions`, approximately).
    pub fn code_bytes(&self) -> usize {
        self.libraries
            .values()
            .map(|l| l.code.len() + l.name.len() + l.functions.len() * 64)
            .sum()
    }
}

/// What a kill asked of the running script.
const KILL_NONE: u8 = 0;
const KILL_USER: u8 = 1;
const KILL_SHUTDOWN: u8 = 2;

/// The script running now, if any. Set by the client that runs it, read by everyone.
#[derive(Default)]
pub struct RunState {
    /// Milliseconds of `monotonic_ms` when it started; 0 when no script runs.
    started: AtomicU64,
    /// `busy-reply-threshold` when it started (0: never busy).
    threshold: AtomicU64,
    eval: AtomicBool,
    wrote: AtomicBool,
    kill: AtomicU8,
    /// The name FUNCTION STATS shows, and the command (`eval`, `fcall`...).
    details: Mutex<Option<(Box<str>, Vec<Bytes>)>>,
    /// `monotonic_ms` past which the library code FUNCTION LOAD runs is stopped; 0: none.
    load_deadline: AtomicU64,
}

/// Milliseconds since the first call, from a monotonic clock (never 0).
pub fn monotonic_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

impl RunState {
    pub fn begin(&self, eval: bool, threshold_ms: u64, name: &str, command: Vec<Bytes>) {
        self.eval.store(eval, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.kill.store(KILL_NONE, Ordering::Relaxed);
        self.threshold.store(threshold_ms, Ordering::Relaxed);
        *crate::sync::LockExt::lock_or_recover(&self.details) = Some((name.into(), command));
        self.started.store(monotonic_ms(), Ordering::SeqCst);
    }

    pub fn end(&self) {
        self.started.store(0, Ordering::SeqCst);
        *crate::sync::LockExt::lock_or_recover(&self.details) = None;
    }

    pub fn running(&self) -> bool {
        self.started.load(Ordering::SeqCst) != 0
    }

    /// A script has run past `busy-reply-threshold`: others answer BUSY (Redis's
    /// `isInsideYieldingLongCommand`). One atomic load when no script runs.
    pub fn busy(&self) -> bool {
        let started = self.started.load(Ordering::SeqCst);
        if started == 0 {
            return false;
        }
        let threshold = self.threshold.load(Ordering::Relaxed);
        threshold > 0 && monotonic_ms().saturating_sub(started) >= threshold
    }

    /// Milliseconds the running script has run (0 when none).
    pub fn elapsed_ms(&self) -> u64 {
        match self.started.load(Ordering::SeqCst) {
            0 => 0,
            started => monotonic_ms().saturating_sub(started),
        }
    }

    pub fn is_eval(&self) -> bool {
        self.eval.load(Ordering::Relaxed)
    }

    /// The running script ran a write command: SCRIPT KILL can no longer stop it.
    pub fn mark_written(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    pub fn details(&self) -> Option<(Box<str>, Vec<Bytes>)> {
        crate::sync::LockExt::lock_or_recover(&self.details).clone()
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL, with Redis's `scriptKill` refusals in its order.
    pub fn kill(&self, eval: bool) -> Result<(), ScriptError> {
        if !self.running() {
            return Err(ScriptError::NotBusy);
        }
        if self.wrote.load(Ordering::Relaxed) {
            return Err(ScriptError::Unkillable);
        }
        let running_eval = self.is_eval();
        if eval != running_eval {
            return Err(ScriptError::Busy { eval: running_eval });
        }
        self.kill.store(KILL_USER, Ordering::SeqCst);
        Ok(())
    }

    /// SHUTDOWN NOSAVE: the script stops whatever it wrote.
    pub fn kill_for_shutdown(&self) {
        if self.running() {
            self.kill.store(KILL_SHUTDOWN, Ordering::SeqCst);
        }
    }

    /// Checked by the VM's instruction hook.
    pub fn killed(&self) -> bool {
        self.kill.load(Ordering::SeqCst) != KILL_NONE
    }

    /// FUNCTION LOAD runs a library's code for at most `limit_ms` (None: FUNCTION RESTORE, which
    /// Redis does not limit).
    pub fn limit_load(&self, limit_ms: Option<u64>) {
        let deadline = limit_ms.map_or(0, |ms| monotonic_ms() + ms);
        self.load_deadline.store(deadline, Ordering::Relaxed);
    }

    /// The library code being loaded ran past its limit (checked by the instruction hook).
    pub fn load_expired(&self) -> bool {
        let deadline = self.load_deadline.load(Ordering::Relaxed);
        deadline != 0 && monotonic_ms() > deadline
    }
}

/// INFO's figures, kept up to date by the handlers so INFO needs no VM lock.
#[derive(Default)]
pub struct ScriptStats {
    pub eval_vm_bytes: AtomicUsize,
    pub eval_scripts: AtomicUsize,
    pub eval_bodies: AtomicUsize,
    pub functions_vm_bytes: AtomicUsize,
    pub functions: AtomicUsize,
    pub libraries: AtomicUsize,
    pub functions_code: AtomicUsize,
}

#[derive(Default)]
pub struct Scripting {
    /// EVAL's VM and script cache; built on first use, dropped by SCRIPT FLUSH.
    pub eval: Mutex<Option<EvalVm>>,
    /// The function libraries; built on first use, dropped by FUNCTION FLUSH.
    pub functions: Mutex<Option<FunctionsVm>>,
    pub run: Arc<RunState>,
    pub stats: ScriptStats,
}

impl Scripting {
    /// Records the figures INFO shows of the eval VM.
    pub fn publish_eval(&self, vm: Option<&EvalVm>) {
        let (bytes, scripts, bodies) = match vm {
            Some(vm) => (vm.vm.lua.used_memory(), vm.scripts.len(), vm.bodies),
            None => (0, 0, 0),
        };
        self.stats.eval_vm_bytes.store(bytes, Ordering::Relaxed);
        self.stats.eval_scripts.store(scripts, Ordering::Relaxed);
        self.stats.eval_bodies.store(bodies, Ordering::Relaxed);
    }

    pub fn publish_functions(&self, vm: Option<&FunctionsVm>) {
        let (bytes, functions, libraries, code) = match vm {
            Some(vm) => (
                vm.vm.lua.used_memory(),
                vm.indexed(),
                vm.libraries.len(),
                vm.code_bytes(),
            ),
            None => (0, 0, 0, 0),
        };
        self.stats
            .functions_vm_bytes
            .store(bytes, Ordering::Relaxed);
        self.stats.functions.store(functions, Ordering::Relaxed);
        self.stats.libraries.store(libraries, Ordering::Relaxed);
        self.stats.functions_code.store(code, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_follows_redis_refusals() {
        let run = RunState::default();
        assert_eq!(run.kill(true), Err(ScriptError::NotBusy));
        run.begin(true, 5000, "f", Vec::new());
        assert_eq!(run.kill(false), Err(ScriptError::Busy { eval: true }));
        run.mark_written();
        assert_eq!(run.kill(true), Err(ScriptError::Unkillable));
        run.end();
        run.begin(false, 5000, "f", Vec::new());
        assert_eq!(run.kill(true), Err(ScriptError::Busy { eval: false }));
        assert_eq!(run.kill(false), Ok(()));
        assert!(run.killed());
        assert!(!run.busy());
        run.end();
        assert!(!run.running());
    }
}
