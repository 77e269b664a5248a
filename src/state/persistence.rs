//! Snapshots on disk: SAVE, BGSAVE, the `save` schedule, the save at shutdown, the load at start,
//! and the figures of INFO persistence. The format is `engine::snapshot`'s.
//!
//! A save walks the shards one at a time (each encoded under its own lock: a point-in-time view
//! per shard, not of the whole keyspace), with no fork and no pause of the other shards. It is
//! streamed to `temp-<pid>.cachet` in `dir`, fsynced, renamed over `dbfilename`, and `dir` is
//! fsynced, so the previous snapshot stays whole until the new one is complete and durable. One
//! save runs at a time: SAVE on the caller's thread, BGSAVE on a thread of its own.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::time::Instant;

use crate::engine::dump::RestoreLimits;
use crate::engine::notice::{class, Notice, NoticeSink};
use crate::engine::now_ms;
use crate::engine::snapshot::{self, Header, LoadLimits, SnapshotError};
use crate::engine::types::hash::HashLimits;
use crate::engine::types::stream::NodeLimits;
use crate::engine::types::zset::ZSetLimits;
use crate::error::CmdError;
use crate::state::Server;

/// After a failed background save, the schedule waits this long before trying again (Redis's
/// `CONFIG_BGSAVE_RETRY_DELAY`), so a full disk is not hammered every cron tick.
const RETRY_DELAY_MS: u64 = 5_000;
/// How much lower the background save's encoder runs than the connections' (nice steps), where
/// `SCHED_IDLE` cannot be had.
const BGSAVE_NICE: i32 = 10;
/// Write buffer of the snapshot file.
const WRITE_BUFFER: usize = 1 << 20;

const IDLE: u8 = 0;
const SAVING: u8 = 1;
const BGSAVING: u8 = 2;

pub struct Persistence {
    /// Changes since the last successful save (`rdb_changes_since_last_save`): every keyspace
    /// notice counts one, as Redis's `dirty` counts writes, expirations and evictions.
    pub dirty: AtomicU64,
    state: AtomicU8,
    /// Unix ms the running background save started.
    bgsave_started_ms: AtomicU64,
    pub last_bgsave_ok: AtomicBool,
    /// Seconds the last background save took; -1 before the first.
    pub last_bgsave_secs: AtomicI64,
    /// Saves attempted (`rdb_saves`).
    pub saves: AtomicU64,
    /// BGSAVE SCHEDULE: a background save waits to start.
    pub scheduled: AtomicBool,
    last_attempt_ms: AtomicU64,
    pub keys_processed: AtomicU64,
    pub keys_total: AtomicU64,
    pub loading: Loading,
    /// Whether this process's shutdown wrote its final snapshot (`finish_shutdown` then leaves
    /// the coherence run marker beside it).
    final_saved: AtomicBool,
    /// `created_at_ms` of the last snapshot this process wrote (the run marker names it).
    last_created_ms: AtomicU64,
    /// SHUTDOWN asks the running BGSAVE to stop, then saves at once in the foreground, as Redis
    /// kills its saving child: the BGSAVE's encoder runs in `SCHED_IDLE` and would crawl on a
    /// busy machine.
    stop_bgsave: AtomicBool,
    /// The server, for the background save's thread (handlers hold only a reference).
    pub server: std::sync::OnceLock<std::sync::Weak<Server>>,
}

/// The load at start, for INFO's `loading_*` fields and the last load's counts.
#[derive(Default)]
pub struct Loading {
    pub start_secs: AtomicU64,
    pub total_bytes: AtomicU64,
    pub loaded_bytes: AtomicU64,
    pub started: std::sync::OnceLock<Instant>,
    pub keys_loaded: AtomicU64,
    pub keys_expired: AtomicU64,
}

impl Default for Persistence {
    fn default() -> Self {
        Persistence {
            dirty: AtomicU64::new(0),
            state: AtomicU8::new(IDLE),
            bgsave_started_ms: AtomicU64::new(0),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            saves: AtomicU64::new(0),
            scheduled: AtomicBool::new(false),
            last_attempt_ms: AtomicU64::new(0),
            keys_processed: AtomicU64::new(0),
            keys_total: AtomicU64::new(0),
            loading: Loading::default(),
            final_saved: AtomicBool::new(false),
            last_created_ms: AtomicU64::new(0),
            stop_bgsave: AtomicBool::new(false),
            server: std::sync::OnceLock::new(),
        }
    }
}

impl NoticeSink for Persistence {
    fn notice(&self, notice: &Notice<'_>) {
        // A creation comes with the write that made it, which counts; a miss is a read.
        if notice.class & (class::NEW | class::KEY_MISS) == 0 {
            self.dirty.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Persistence {
    pub fn bgsave_in_progress(&self) -> bool {
        self.state.load(Ordering::Acquire) == BGSAVING
    }

    pub fn saving(&self) -> bool {
        self.state.load(Ordering::Acquire) != IDLE
    }

    /// Seconds the running background save has taken, -1 when none runs.
    pub fn current_bgsave_secs(&self) -> i64 {
        match self.bgsave_in_progress() {
            true => {
                (now_ms().saturating_sub(self.bgsave_started_ms.load(Ordering::Relaxed)) / 1000)
                    as i64
            }
            false => -1,
        }
    }

    fn begin(&self, state: u8) -> bool {
        self.state
            .compare_exchange(IDLE, state, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn end(&self) {
        self.state.store(IDLE, Ordering::Release);
    }
}

/// The snapshot's path: `dbfilename` inside `dir`.
pub fn snapshot_path(server: &Server) -> PathBuf {
    let config = server.config.read();
    Path::new(&config.dir).join(&config.dbfilename)
}

/// Writes the snapshot now, on this thread (SAVE, SHUTDOWN). Refused while another save runs.
pub fn save(server: &Server) -> Result<(), CmdError> {
    if !server.persistence.begin(SAVING) {
        return Err(CmdError::BgsaveInProgress);
    }
    let result = write_snapshot(server, false);
    server.persistence.end();
    match result {
        Ok(()) => {
            server
                .persistence
                .last_bgsave_ok
                .store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(()) => Err(CmdError::SaveFailed),
    }
}

/// Starts a background save (BGSAVE). `Err` when one runs already.
pub fn bgsave(server: &Server) -> Result<(), CmdError> {
    let persistence = &server.persistence;
    let Some(server) = persistence.server.get().and_then(std::sync::Weak::upgrade) else {
        return Err(CmdError::SaveFailed);
    };
    if !persistence.begin(BGSAVING) {
        return Err(CmdError::BgsaveInProgress);
    }
    persistence.scheduled.store(false, Ordering::Relaxed);
    persistence.stop_bgsave.store(false, Ordering::Relaxed);
    let started = now_ms();
    persistence
        .bgsave_started_ms
        .store(started, Ordering::Relaxed);
    persistence
        .last_attempt_ms
        .store(started, Ordering::Relaxed);
    let worker = server.clone();
    let spawned = std::thread::Builder::new()
        .name("cachet-bgsave".into())
        .spawn(move || {
            let result = write_snapshot(&worker, true);
            let persistence = &worker.persistence;
            persistence
                .last_bgsave_secs
                .store(((now_ms() - started) / 1000) as i64, Ordering::Relaxed);
            persistence
                .last_bgsave_ok
                .store(result.is_ok(), Ordering::Relaxed);
            match result {
                Ok(()) => tracing::info!("Background saving terminated with success"),
                Err(()) => tracing::warn!("Background saving error"),
            }
            persistence.end();
        });
    match spawned {
        Ok(_) => {
            tracing::info!("Background saving started");
            Ok(())
        }
        Err(err) => {
            tracing::warn!(%err, "Can't save in background: no thread");
            persistence.last_bgsave_ok.store(false, Ordering::Relaxed);
            persistence.end();
            Err(CmdError::SaveFailed)
        }
    }
}

/// What the cron does each tick: a scheduled BGSAVE, or one the `save` points ask for (as
/// Redis's `serverCron`: enough changes, enough time since the last save, and after a failure
/// not before the retry delay).
pub fn cron(server: &Server) {
    let persistence = &server.persistence;
    if persistence.saving() {
        return;
    }
    if persistence.scheduled.load(Ordering::Relaxed) {
        let _ = bgsave(server);
        return;
    }
    let points = server.config.read().save_points.clone();
    if points.is_empty() {
        return;
    }
    let now = now_ms();
    let dirty = persistence.dirty.load(Ordering::Relaxed);
    let since_save = (now / 1000).saturating_sub(server.last_save.load(Ordering::Relaxed));
    let may_retry = persistence.last_bgsave_ok.load(Ordering::Relaxed)
        || now.saturating_sub(persistence.last_attempt_ms.load(Ordering::Relaxed)) > RETRY_DELAY_MS;
    if let Some((seconds, changes)) = points
        .iter()
        .find(|(seconds, changes)| dirty >= *changes && since_save > *seconds)
    {
        if may_retry {
            tracing::info!("{changes} changes in {seconds} seconds. Saving...");
            let _ = bgsave(server);
        }
    }
}

/// Whether writes are refused with MISCONF: the last background save failed, a schedule is set
/// and `stop-writes-on-bgsave-error` is on (Redis's `writeCommandsDeniedByDiskError`).
pub fn writes_denied(server: &Server) -> bool {
    if server.persistence.last_bgsave_ok.load(Ordering::Relaxed) {
        return false;
    }
    let config = server.config.read();
    config.stop_writes_on_bgsave_error && !config.save_points.is_empty()
}

/// The save SHUTDOWN and a signal do: with SAVE, or when a schedule is set and NOSAVE is not
/// given. A background save under way is waited for first. `Ok` when there was nothing to do.
///
/// As Redis, nothing is saved while the dataset is still loading: a partial load written over the
/// snapshot would lose the rest of it.
pub fn save_for_shutdown(server: &Server, asked: bool, nosave: bool) -> Result<(), CmdError> {
    let scheduled = !server.config.read().save_points.is_empty();
    if nosave || !(asked || scheduled) {
        return Ok(());
    }
    if !server.loaded.load(Ordering::Acquire) {
        tracing::warn!("Shutting down while loading: the snapshot on disk is left as it is");
        return Ok(());
    }
    if server.persistence.bgsave_in_progress() {
        tracing::warn!("There is a background save in progress. Stopping it!");
        server
            .persistence
            .stop_bgsave
            .store(true, Ordering::Relaxed);
    }
    while server.persistence.saving() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    tracing::info!("Saving the final snapshot before exiting.");
    save(server)?;
    server
        .persistence
        .final_saved
        .store(true, Ordering::Relaxed);
    Ok(())
}

/// The run marker's path: `<dbfilename>.run` beside the snapshot.
fn run_marker_path(server: &Server) -> PathBuf {
    let config = server.config.read();
    Path::new(&config.dir).join(format!("{}.run", config.dbfilename))
}

/// The last step of a clean stop, once every connection, link and background task has ended (no
/// change and no publication can happen any more). When the shutdown saved a snapshot and
/// coherence is on: what is still queued is published, the snapshot is written again if anything
/// changed after it (so that it holds every change the run published), and the run marker is
/// left beside it, so that the next process goes on with this run and the daemons that follow
/// this one keep their data. Without it (a crash, a failed save, NOSAVE) the next process starts
/// a new run and they drop theirs: a peer must never keep what this one invalidated unseen.
pub fn finish_shutdown(server: &Server) {
    let coherence = &server.coherence;
    if !server.persistence.final_saved.load(Ordering::Relaxed) || !coherence.enabled() {
        return;
    }
    coherence.publish_pending(server);
    if server.persistence.dirty.load(Ordering::Relaxed) > 0 {
        tracing::info!("Changes after the final snapshot: saving it again before exiting.");
        if save(server).is_err() {
            tracing::warn!("The coherence run is not kept: its followers will drop their data");
            return;
        }
    }
    let (run, last_seq, backlog) = {
        let backlog = coherence.lock_backlog();
        (coherence.run(), backlog.last_seq(), backlog.messages())
    };
    let marker = snapshot::RunMarker {
        node_id: String::from_utf8_lossy(&coherence.node_id).into_owned(),
        snapshot_created_at_ms: server.persistence.last_created_ms.load(Ordering::Relaxed),
        run,
        last_seq,
        backlog: backlog
            .into_iter()
            .map(|(seq, payload)| (seq, serde_bytes::ByteBuf::from(payload.to_vec())))
            .collect(),
    };
    let path = run_marker_path(server);
    match write_durably(&path, &marker.encode()) {
        Ok(()) => {
            tracing::info!(run, last_seq, path = %path.display(), "Coherence run kept for the restart")
        }
        Err(err) => {
            tracing::warn!(path = %path.display(), "Can't write the coherence run marker: {err}")
        }
    }
}

/// `bytes` written to a temporary file, fsynced, renamed to `path`, and the directory fsynced.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!("temp-{}.run", std::process::id()));
    let written = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Reads and deletes the run marker, durably, before the snapshot is loaded: whatever happens
/// next, a marker is used at most once (a process that resumed a run and then crashed must not
/// resume it again from the same snapshot: its sequences after the marker are already taken).
fn take_run_marker(server: &Server) -> Option<snapshot::RunMarker> {
    let path = run_marker_path(server);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::warn!(path = %path.display(), "Can't read the coherence run marker: {err}");
            return None;
        }
    };
    let removed = std::fs::remove_file(&path)
        .and_then(|()| File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all());
    if let Err(err) = removed {
        tracing::warn!(path = %path.display(), "Can't delete the coherence run marker, so it is not used: {err}");
        return None;
    }
    match snapshot::RunMarker::decode(&bytes) {
        Ok(marker) => Some(marker),
        Err(err) => {
            tracing::warn!(path = %path.display(), "Ignoring the coherence run marker: {err}");
            None
        }
    }
}

/// `background`: the encoding runs at a lower priority (BGSAVE), so that on a busy CPU the save
/// takes longer rather than the clients' latency; the shard copies stay at the clients' priority
/// (see `Keyspace::write_snapshot`).
fn write_snapshot(server: &Server, background: bool) -> Result<(), ()> {
    let started = Instant::now();
    let persistence = &server.persistence;
    persistence.saves.fetch_add(1, Ordering::Relaxed);
    let dirty_before = persistence.dirty.load(Ordering::Relaxed);
    let (dir, target, compress, list_fill, node_id) = {
        let config = server.config.read();
        (
            PathBuf::from(&config.dir),
            Path::new(&config.dir).join(&config.dbfilename),
            config.rdbcompression,
            config.list_max_listpack_size,
            config.node_id.clone(),
        )
    };
    let temp = dir.join(format!("temp-{}.cachet", std::process::id()));
    let header = Header {
        created_at_ms: now_ms(),
        node_id,
        cachet_version: crate::state::CACHET_VERSION.to_string(),
        databases: server.keyspace.databases() as u32,
        coherence_positions: server
            .coherence
            .positions()
            .into_iter()
            .map(|(node, run, seq)| (serde_bytes::ByteBuf::from(node.to_vec()), run, seq))
            .collect(),
        dictionaries: server
            .keyspace
            .dictionaries
            .saved()
            .into_iter()
            .map(|(prefix, bytes)| {
                (
                    serde_bytes::ByteBuf::from(prefix.into_vec()),
                    serde_bytes::ByteBuf::from(bytes.into_vec()),
                )
            })
            .collect(),
    };
    persistence.keys_total.store(
        server.keyspace.totals.keys.load(Ordering::Relaxed) as u64,
        Ordering::Relaxed,
    );
    persistence.keys_processed.store(0, Ordering::Relaxed);
    let written = (|| -> std::io::Result<snapshot::Totals> {
        let file = File::create(&temp)?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let totals = server.keyspace.write_snapshot(
            &mut out,
            &header,
            snapshot::SectionFormat {
                compress,
                list_fill,
            },
            || {
                if background && !crate::os::idle_thread_priority() {
                    crate::os::lower_thread_priority(BGSAVE_NICE);
                }
            },
            |keys| persistence.keys_processed.store(keys, Ordering::Relaxed),
            || !(background && persistence.stop_bgsave.load(Ordering::Relaxed)),
        )?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temp, &target)?;
        // The rename is durable only once the directory is.
        File::open(&dir)?.sync_all()?;
        Ok(totals)
    })();
    match written {
        Ok(totals) => {
            persistence
                .last_created_ms
                .store(header.created_at_ms, Ordering::Relaxed);
            persistence.dirty.fetch_sub(
                dirty_before.min(persistence.dirty.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
            server.last_save.store(now_ms() / 1000, Ordering::Relaxed);
            tracing::info!(
                keys = totals.keys,
                bytes = totals.bytes,
                millis = started.elapsed().as_millis() as u64,
                path = %target.display(),
                "DB saved on disk"
            );
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {
            let _ = std::fs::remove_file(&temp);
            tracing::warn!("Background saving stopped for the shutdown's save");
            Err(())
        }
        Err(err) => {
            let _ = std::fs::remove_file(&temp);
            tracing::warn!(
                path = %temp.display(),
                "Write error saving DB on disk: {err} (the previous snapshot {} is kept)",
                target.display()
            );
            Err(())
        }
    }
}

/// The configuration's encodings, for the values the snapshot's DUMP payloads rebuild (no
/// `key-load-delay`: the load at start adds it).
pub fn load_limits(server: &Server) -> LoadLimits {
    let config = server.config.read();
    LoadLimits {
        restore: RestoreLimits {
            hash: HashLimits {
                max_listpack_entries: config.hash_max_listpack_entries,
                max_listpack_value: config.hash_max_listpack_value,
            },
            zset: ZSetLimits {
                max_listpack_entries: config.zset_max_listpack_entries,
                max_listpack_value: config.zset_max_listpack_value,
            },
            max_intset_entries: config.set_max_intset_entries,
        },
        stream: NodeLimits {
            max_bytes: config.stream_node_max_bytes,
            max_entries: config.stream_node_max_entries,
        },
        key_load_delay: 0,
    }
}

/// Why the daemon must not start.
#[derive(Debug)]
pub struct LoadRefused(pub String);

/// The node id a previous run saved in the snapshot's header, so that a restarted daemon is the
/// same node to its coherence peers. `None` without a readable snapshot.
pub fn saved_node_id(dir: &str, dbfilename: &str) -> Option<String> {
    let file = File::open(Path::new(dir).join(dbfilename)).ok()?;
    let header = snapshot::read_header(&mut BufReader::new(file)).ok()?;
    (!header.node_id.is_empty()).then_some(header.node_id)
}

/// The load at start begins (INFO's `loading_start_time`); it lasts until `server.loaded`.
pub fn begin_loading(server: &Server) {
    let loading = &server.persistence.loading;
    loading.start_secs.store(now_ms() / 1000, Ordering::Relaxed);
    loading.started.get_or_init(Instant::now);
}

/// Loads the snapshot at start, before any command but those flagged `loading` is served. No
/// file: an empty start. A file that cannot be read: refused (`snapshot-load-failure refuse`, the
/// default), or an empty start with the file left where it is for inspection.
pub fn load_at_start(server: &Server) -> Result<(), LoadRefused> {
    let marker = take_run_marker(server);
    let path = snapshot_path(server);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return fail(server, &path, &SnapshotError::Io(err.to_string())),
    };
    let loading = &server.persistence.loading;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    loading.total_bytes.store(total, Ordering::Relaxed);
    loading.loaded_bytes.store(0, Ordering::Relaxed);
    let started = *loading.started.get_or_init(Instant::now);
    tracing::info!(path = %path.display(), bytes = total, "Loading the snapshot");
    let limits = LoadLimits {
        key_load_delay: server.config.read().key_load_delay,
        ..load_limits(server)
    };
    let expected = records_per_db(server, &path, &file);
    let mut last_log = Instant::now();
    let result = server.keyspace.load_snapshot(
        &mut BufReader::with_capacity(WRITE_BUFFER, file),
        limits,
        expected.as_deref(),
        |totals| {
            loading.loaded_bytes.store(totals.bytes, Ordering::Relaxed);
            let now = Instant::now();
            if now.duration_since(last_log).as_secs() >= 1 {
                last_log = now;
                tracing::info!(
                    keys = totals.keys,
                    bytes = totals.bytes,
                    percent = format!("{:.1}", percent(totals.bytes, total)),
                    elapsed_ms = now.duration_since(started).as_millis() as u64,
                    "Loading the snapshot"
                );
            }
        },
    );
    match result {
        Ok((header, totals)) => {
            server.coherence.resume_from(
                header
                    .coherence_positions
                    .iter()
                    .map(|(node, run, seq)| (bytes::Bytes::copy_from_slice(node), *run, *seq)),
            );
            if let Some(marker) = marker {
                resume_run(server, &header, marker);
            }
            loading.keys_loaded.store(totals.keys, Ordering::Relaxed);
            loading
                .keys_expired
                .store(totals.expired, Ordering::Relaxed);
            server
                .last_save
                .store(header.created_at_ms / 1000, Ordering::Relaxed);
            // Loading counted no changes: what is in memory is what is on disk.
            server.persistence.dirty.store(0, Ordering::Relaxed);
            if totals.skipped > 0 {
                tracing::warn!(
                    skipped = totals.skipped,
                    "maxmemory reached while loading and the policy evicts nothing: keys left out"
                );
            }
            // Redis's two lines, with the same facts, and the figures as fields.
            tracing::info!(
                keys = totals.keys,
                expired = totals.expired,
                "Done loading the snapshot, keys loaded: {}, keys expired: {}.",
                totals.keys,
                totals.expired
            );
            let elapsed = started.elapsed();
            tracing::info!(
                bytes = totals.bytes,
                elapsed_ms = elapsed.as_millis() as u64,
                "DB loaded from disk: {:.3} seconds",
                elapsed.as_secs_f64()
            );
            Ok(())
        }
        Err(err) => fail(server, &path, &err),
    }
}

/// The records of each database in the snapshot file, read from its section headers before
/// the load (as Redis's `RESIZEDB`) through a handle of its own. `None` for what cannot be read
/// twice (a FIFO), and for a file whose headers do not parse: the load reports what is wrong.
fn records_per_db(server: &Server, path: &Path, file: &File) -> Option<Vec<u64>> {
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut input = BufReader::new(File::open(path).ok()?);
    snapshot::records_per_db(&mut input, server.keyspace.databases()).ok()
}

/// Goes on with the run of the process that wrote `marker`, if the marker goes with the snapshot
/// just loaded and this daemon is still that node.
fn resume_run(server: &Server, header: &Header, marker: snapshot::RunMarker) {
    let coherence = &server.coherence;
    if marker.snapshot_created_at_ms != header.created_at_ms
        || marker.node_id != header.node_id
        || marker.node_id.as_bytes() != &coherence.node_id[..]
    {
        tracing::warn!("The coherence run marker is not the loaded snapshot's: a new run starts");
        return;
    }
    let messages = marker
        .backlog
        .into_iter()
        .map(|(seq, payload)| (seq, bytes::Bytes::from(payload.into_vec())))
        .collect();
    coherence.resume_run(marker.run, marker.last_seq, messages);
    tracing::info!(
        run = marker.run,
        last_seq = marker.last_seq,
        "Coherence run resumed after a clean shutdown"
    );
}

fn percent(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        done as f64 * 100.0 / total as f64
    }
}

fn fail(server: &Server, path: &Path, err: &SnapshotError) -> Result<(), LoadRefused> {
    let message = format!("Can't load the snapshot {}: {err}", path.display());
    if server.config.read().snapshot_load_failure_empty {
        tracing::error!(
            "{message}; starting empty (snapshot-load-failure empty), the file is left as it is"
        );
        server.flush_databases(None, false);
        server.persistence.dirty.store(0, Ordering::Relaxed);
        Ok(())
    } else {
        tracing::error!("{message}; refusing to start (snapshot-load-failure refuse)");
        Err(LoadRefused(message))
    }
}

/// INFO's `loading_*` fields while a load runs: (start time, total bytes, percent, loaded bytes,
/// elapsed seconds).
pub fn loading_progress(server: &Server) -> Option<(u64, u64, f64, u64, u64)> {
    let loading = &server.persistence.loading;
    if server.loaded.load(Ordering::Acquire) {
        return None;
    }
    let total = loading.total_bytes.load(Ordering::Relaxed);
    let loaded = loading.loaded_bytes.load(Ordering::Relaxed);
    let elapsed = loading.started.get().map_or(0, |s| s.elapsed().as_secs());
    Some((
        loading.start_secs.load(Ordering::Relaxed),
        total,
        percent(loaded, total),
        loaded,
        elapsed,
    ))
}
