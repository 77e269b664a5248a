//! MIGRATE: keys sent to another server (Redis or cachet) as RESTORE commands carrying DUMP
//! payloads, then deleted here unless COPY, following Redis 7.0's `migrateCommand` step by step:
//! the same argument checks and order, `+NOKEY` when none of the keys exists, AUTH / AUTH2 and a
//! SELECT only when the cached connection's database differs, the request written in 64 KiB
//! chunks, one reply line read per command, one retry on a fresh connection when a cached one
//! turned out closed (never after a timeout), and Redis's IOERR texts.
//!
//! With `tls-cluster yes` the connection is TLS (Redis's `migrateGetSocket` does the same): the
//! target's certificate must be signed by a CA of `tls-ca-cert-file`/`-dir` and, unlike Redis,
//! which checks the chain only, name the host MIGRATE was given (as cachet's links check it).
//!
//! The transfer is synchronous, as in Redis: the calling client waits, and the runtime moves its
//! other tasks off this thread while it does (`block_in_place`). A key written by another client
//! during the transfer is deleted with the migrated value, where Redis, single-threaded, has no
//! such window.

use std::io::{BufRead, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::super::{args, list, Ctx};
use crate::engine::dump;
use crate::engine::notice::class;
use crate::error::{CmdError, CmdResult};
use crate::state::migrate::{CachedSocket, MigrateSockets, MigrateStream};

/// Redis writes the request in chunks of this size, each with the full timeout.
const WRITE_CHUNK: usize = 64 * 1024;
/// Redis reads each reply line into a buffer of this size.
const REPLY_LINE_MAX: usize = 1024;

#[derive(Clone, Copy)]
struct Options<'a> {
    copy: bool,
    replace: bool,
    username: Option<&'a Bytes>,
    password: Option<&'a Bytes>,
    keys: &'a [Bytes],
}

fn parse_options(args: &[Bytes]) -> Result<Options<'_>, CmdError> {
    let mut options = Options {
        copy: false,
        replace: false,
        username: None,
        password: None,
        keys: &args[3..4],
    };
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let arg = &args[j];
        if args::is_c(arg, "copy") {
            options.copy = true;
        } else if args::is_c(arg, "replace") {
            options.replace = true;
        } else if args::is_c(arg, "auth") {
            if more == 0 {
                return Err(CmdError::Syntax);
            }
            j += 1;
            options.password = Some(&args[j]);
        } else if args::is_c(arg, "auth2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            options.username = Some(&args[j + 1]);
            options.password = Some(&args[j + 2]);
            j += 2;
        } else if args::is_c(arg, "keys") {
            if !args[3].is_empty() {
                return Err(CmdError::MigrateKeysWithKey);
            }
            options.keys = &args[j + 1..];
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(options)
}

/// The keys of a MIGRATE for the command table (Redis's `migrateGetKeys`): the key argument, or
/// what follows KEYS; the values of AUTH and AUTH2 are skipped while looking for KEYS.
pub fn migrate_keys(args: &[Bytes]) -> Vec<usize> {
    let mut i = 6;
    while i < args.len() {
        let arg = &args[i];
        if args::is_c(arg, "keys") {
            if !args[3].is_empty() {
                return Vec::new();
            }
            return (i + 1..args.len()).collect();
        }
        if args::is_c(arg, "auth") {
            i += 1;
        } else if args::is_c(arg, "auth2") {
            i += 2;
        }
        i += 1;
    }
    vec![3]
}

fn put_command(out: &mut Vec<u8>, parts: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
    for part in parts {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
}

/// A key to send: its name, DUMP payload and absolute expiry (0: none), and in cluster mode
/// its cachet metadata as RESTORE options (`PRIORITY p COST n TAGS k t...`), empty when the
/// key has the defaults.
#[derive(PartialEq, Eq)]
struct Found {
    key: Bytes,
    payload: Vec<u8>,
    expire_at: u64,
    meta: Vec<Vec<u8>>,
}

/// The RESTORE options that give a key its metadata on the target; nothing for the defaults.
fn meta_options(entry: &crate::engine::Entry) -> Vec<Vec<u8>> {
    let defaults = crate::engine::CacheMeta::default();
    let mut options = Vec::new();
    if entry.priority() != defaults.priority {
        options.push(b"PRIORITY".to_vec());
        options.push(entry.priority().name().as_bytes().to_vec());
    }
    if entry.cost() != defaults.cost {
        options.push(b"COST".to_vec());
        options.push(entry.cost().to_string().into_bytes());
    }
    if !entry.tags().is_empty() {
        options.push(b"TAGS".to_vec());
        options.push(entry.tags().len().to_string().into_bytes());
        options.extend(entry.tags().iter().map(|t| t.to_vec()));
    }
    options
}

pub fn migrate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let options = parse_options(args)?;
    let timeout = args::int(&args[5])?;
    let dbid = args::int(&args[4])?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let fill = list::fill(ctx.server);
    let db = ctx.client.db;
    // In cluster mode the target is another node of the cachet cluster (Redis sends
    // RESTORE-ASKING there too, for slots being imported), so the keys keep their metadata.
    let cluster = ctx.server.cluster.enabled();
    let mut found = Vec::new();
    for key in options.keys {
        let entry = ctx
            .server
            .keyspace
            .with_key(db, key, ctx.now_ms, |view, hash| {
                read_key(view, hash, key, fill, cluster)
            });
        found.extend(entry);
    }
    if found.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    // Redis reads the port with atoi: what is not a number is port 0, which fails to connect.
    let port: u16 = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let name = [&args[1][..], b":", &args[2][..]].concat();
    // Redis decides per connection too: a cached one keeps what it was opened with.
    let tls = match ctx.server.config.read().tls.cluster {
        true => Some(ctx.server.tls.client_config()),
        false => None,
    };
    let target = Target {
        sockets: &ctx.server.migrate_sockets,
        name: &name,
        host: &host,
        port,
        timeout,
        tls,
    };
    let now = crate::engine::now_ms();
    let outcome = run_blocking(|| transfer(&target, &options, dbid, &found, now, cluster));
    let (restored, mut result) = match outcome {
        Ok(Transfer { restored, error }) => (restored, error.map_or(Ok(()), Err)),
        Err(e) => (Vec::new(), Err(e)),
    };
    if !options.copy {
        let mut sent = only_restored(found, restored);
        // A key written again while it travelled is sent again (REPLACE) rather than deleted
        // with the newer value: the key is deleted here only, under its shard's lock, when it
        // still holds what the target restored.
        for attempt in 0..=RESENDS {
            let mut changed = Vec::new();
            for item in sent {
                ctx.server.keyspace.with_key(
                    db,
                    &item.key,
                    ctx.now_ms,
                    |view, hash| match read_key(view, hash, &item.key, fill, cluster) {
                        Some(current) if current == item => {
                            view.remove(hash, &item.key);
                            view.notify(&item.key, class::GENERIC, "del");
                        }
                        Some(current) => changed.push(current),
                        None => {}
                    },
                );
            }
            if changed.is_empty() || result.is_err() || attempt == RESENDS {
                break;
            }
            let replace = Options {
                replace: true,
                ..options
            };
            let now = crate::engine::now_ms();
            match run_blocking(|| transfer(&target, &replace, dbid, &changed, now, cluster)) {
                Ok(Transfer { restored, error }) => {
                    result = error.map_or(Ok(()), Err);
                    sent = only_restored(changed, restored);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
    }
    result?;
    ctx.out.ok();
    Ok(())
}

/// How many times a key rewritten during its transfer is sent again before it is left here
/// (the next MIGRATE of the slot's keys takes it).
const RESENDS: usize = 3;

/// A key as MIGRATE sends it, read under its shard's lock; `None` when it does not exist.
fn read_key(
    view: &mut crate::engine::DbShard<'_>,
    hash: u64,
    key: &Bytes,
    fill: i64,
    cluster: bool,
) -> Option<Found> {
    view.reap_fields(hash, key, usize::MAX);
    view.read(hash, key).map(|entry| Found {
        key: key.clone(),
        payload: dump::dump(entry, fill),
        expire_at: entry.expire_at(),
        meta: if cluster {
            meta_options(entry)
        } else {
            Vec::new()
        },
    })
}

fn only_restored(sent: Vec<Found>, restored: Vec<Bytes>) -> Vec<Found> {
    let restored: std::collections::HashSet<Bytes> = restored.into_iter().collect();
    sent.into_iter()
        .filter(|item| restored.contains(&item.key))
        .collect()
}

/// Runs blocking I/O: on a multi-threaded runtime the thread's other tasks move to other workers
/// meanwhile; on a single-threaded one the whole server waits, as Redis does.
fn run_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

struct Target<'a> {
    sockets: &'a MigrateSockets,
    name: &'a [u8],
    host: &'a str,
    port: u16,
    timeout: Duration,
    /// `Some` with `tls-cluster yes`: the client context, `None` inside when it is not built.
    tls: Option<Option<Arc<rustls::ClientConfig>>>,
}

impl Target<'_> {
    /// The cached connection, or a new one (Redis's `migrateGetSocket`). Redis connects
    /// without blocking and waits until the socket is writable, which a refused connection also
    /// is: the refusal shows up as a failed write. Only a name that does not resolve or a connect
    /// that times out is "connecting".
    fn socket(&self) -> Result<CachedSocket, Connect> {
        if let Some(socket) = self.sockets.take(self.name) {
            return Ok(socket);
        }
        let addr = (self.host, self.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or(Connect::Failed)?;
        let stream =
            TcpStream::connect_timeout(&addr, self.timeout).map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Connect::Failed,
                _ => Connect::Refused(SocketError::Writing(e)),
            })?;
        let _ = stream.set_nodelay(true);
        let stream = match &self.tls {
            None => MigrateStream::Plain(stream),
            Some(config) => {
                let config = config.clone().ok_or(Connect::Failed)?;
                MigrateStream::Tls(Box::new(
                    self.handshake(config, stream)
                        .map_err(|_| Connect::Failed)?,
                ))
            }
        };
        Ok(CachedSocket::new(stream))
    }

    /// The TLS handshake within the timeout (Redis's blocking connect includes it); any failure
    /// is a failure to connect.
    fn handshake(
        &self,
        config: Arc<rustls::ClientConfig>,
        mut tcp: TcpStream,
    ) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let name = rustls_pki_types::ServerName::try_from(host.to_string())
            .map_err(std::io::Error::other)?;
        let mut conn =
            rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
        tcp.set_read_timeout(Some(self.timeout))?;
        tcp.set_write_timeout(Some(self.timeout))?;
        let deadline = std::time::Instant::now() + self.timeout;
        while conn.is_handshaking() {
            if std::time::Instant::now() > deadline {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            conn.complete_io(&mut tcp)?;
        }
        Ok(rustls::StreamOwned::new(conn, tcp))
    }
}

enum Connect {
    Failed,
    Refused(SocketError),
}

/// The keys the target restored (to delete here unless COPY), and the error to answer if any.
struct Transfer {
    restored: Vec<Bytes>,
    error: Option<CmdError>,
}

enum SocketError {
    Writing(std::io::Error),
    Reading(std::io::Error),
}

impl SocketError {
    fn timed_out(&self) -> bool {
        let (SocketError::Writing(e) | SocketError::Reading(e)) = self;
        matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        )
    }

    fn reply(&self) -> CmdError {
        match self {
            SocketError::Writing(_) => CmdError::MigrateIo { writing: true },
            SocketError::Reading(_) => CmdError::MigrateIo { writing: false },
        }
    }
}

fn transfer(
    target: &Target<'_>,
    options: &Options<'_>,
    dbid: i64,
    found: &[Found],
    now_ms: u64,
    cluster: bool,
) -> Result<Transfer, CmdError> {
    let restore: &[u8] = if cluster {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    let mut may_retry = true;
    loop {
        let mut socket = match target.socket() {
            Ok(socket) => socket,
            Err(Connect::Failed) => return Err(CmdError::MigrateConnect),
            Err(Connect::Refused(_)) if may_retry => {
                may_retry = false;
                continue;
            }
            Err(Connect::Refused(e)) => return Err(e.reply()),
        };
        let select = socket.last_dbid != Some(dbid);
        let mut request = Vec::new();
        if let Some(password) = options.password {
            match options.username {
                Some(user) => put_command(&mut request, &[b"AUTH", user, password]),
                None => put_command(&mut request, &[b"AUTH", password]),
            }
        }
        if select {
            put_command(&mut request, &[b"SELECT", dbid.to_string().as_bytes()]);
        }
        let mut sent = Vec::new();
        for item in found {
            let ttl = match item.expire_at {
                0 => 0,
                at if at < now_ms => continue,
                at => (at - now_ms).max(1),
            };
            let ttl = ttl.to_string();
            let mut parts: Vec<&[u8]> = vec![restore, &item.key, ttl.as_bytes(), &item.payload];
            if options.replace {
                parts.push(b"REPLACE");
            }
            parts.extend(item.meta.iter().map(Vec::as_slice));
            put_command(&mut request, &parts);
            sent.push(item.key.clone());
        }
        let exchanged = exchange(
            &mut socket,
            target.timeout,
            &request,
            options,
            select,
            sent.len(),
        );
        let (auth, selected, replies, socket_error) = match exchanged {
            Ok(replies) => replies,
            Err(e) => {
                // The connection is dropped (closed), never put back.
                if !e.timed_out() && may_retry {
                    may_retry = false;
                    continue;
                }
                return Err(e.reply());
            }
        };
        // Nothing was restored and the connection failed (a cached one the target had closed):
        // once more on a new connection.
        let retry = socket_error.as_ref().is_some_and(|e| !e.timed_out());
        if retry && replies.is_empty() && may_retry {
            may_retry = false;
            continue;
        }
        let mut error = None;
        let mut restored = Vec::new();
        for (key, reply) in sent.iter().zip(&replies) {
            let failed = [auth.as_deref(), selected.as_deref(), Some(&reply[..])]
                .into_iter()
                .flatten()
                .find(|line| line.first() == Some(&b'-'));
            match failed {
                Some(line) => {
                    error.get_or_insert_with(|| CmdError::MigrateTarget(line[1..].into()));
                }
                None => restored.push(key.clone()),
            }
        }
        if error.is_none() {
            if let Some(e) = socket_error {
                return Ok(Transfer {
                    restored,
                    error: Some(e.reply()),
                });
            }
            socket.last_dbid = Some(dbid);
        } else {
            // On an error, the selected database is no longer known.
            socket.last_dbid = None;
        }
        if socket_error.is_none() {
            target.sockets.put_back(target.name, socket);
        }
        return Ok(Transfer { restored, error });
    }
}

type Replies = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<Vec<u8>>,
    Option<SocketError>,
);

/// Writes the request and reads the AUTH, SELECT and RESTORE reply lines. An error before the
/// RESTORE replies is an `Err`; one among them ends the list early and comes back beside it.
fn exchange(
    socket: &mut CachedSocket,
    timeout: Duration,
    request: &[u8],
    options: &Options<'_>,
    select: bool,
    restores: usize,
) -> Result<Replies, SocketError> {
    let stream = socket.stream.get_mut();
    let tcp = stream.tcp();
    tcp.set_write_timeout(Some(timeout))
        .and_then(|()| tcp.set_read_timeout(Some(timeout)))
        .map_err(SocketError::Writing)?;
    for chunk in request.chunks(WRITE_CHUNK) {
        stream.write_all(chunk).map_err(SocketError::Writing)?;
        stream.flush().map_err(SocketError::Writing)?;
    }
    let auth = match options.password {
        Some(_) => Some(read_line(socket).map_err(SocketError::Reading)?),
        None => None,
    };
    let selected = match select {
        true => Some(read_line(socket).map_err(SocketError::Reading)?),
        false => None,
    };
    let mut replies = Vec::with_capacity(restores);
    for _ in 0..restores {
        match read_line(socket) {
            Ok(line) => replies.push(line),
            Err(e) => return Ok((auth, selected, replies, Some(SocketError::Reading(e)))),
        }
    }
    Ok((auth, selected, replies, None))
}

/// One reply line without its CRLF (Redis's `syncReadLine`, which keeps at most 1 KiB of it).
fn read_line(socket: &mut CachedSocket) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let read = socket.stream.read_until(b'\n', &mut line)?;
    if read == 0 || line.last() != Some(&b'\n') {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line.truncate(REPLY_LINE_MAX - 1);
    Ok(line)
}
