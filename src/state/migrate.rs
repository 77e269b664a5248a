//! MIGRATE's connections, kept between calls as Redis's `migrate_cached_sockets`: one per
//! `host:port`, at most 64 (a new one past that closes an arbitrary other), each closed by the
//! cron once unused for 10 seconds, and remembering the database it last SELECTed so the next
//! MIGRATE to the same database skips the SELECT.
//!
//! A connection is taken out of the cache while a MIGRATE uses it, so two clients migrating to
//! the same target at once never interleave their requests (the second opens its own).
//!
//! With `tls-cluster yes` the connections go over TLS, as Redis 7.0's `migrateGetSocket`
//! (`connCreateTLS` when `server.tls_cluster`): blocking rustls over the blocking socket.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::LockExt;

/// Redis's `MIGRATE_SOCKET_CACHE_ITEMS`.
pub const CACHE_ITEMS: usize = 64;
/// Redis's `MIGRATE_SOCKET_CACHE_TTL`: idle connections are closed after this.
pub const CACHE_TTL: Duration = Duration::from_secs(10);

/// A MIGRATE connection: plaintext, or TLS over the same kind of socket.
pub enum MigrateStream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl MigrateStream {
    /// The socket under it, for its timeouts.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MigrateStream::Plain(tcp) => tcp,
            MigrateStream::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for MigrateStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            MigrateStream::Plain(tcp) => tcp.read(buf),
            MigrateStream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for MigrateStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            MigrateStream::Plain(tcp) => tcp.write(buf),
            MigrateStream::Tls(tls) => tls.write(buf),
        }
    }

    /// TLS records are sent here: rustls's `write` keeps going past a failed send.
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            MigrateStream::Plain(tcp) => tcp.flush(),
            MigrateStream::Tls(tls) => tls.flush(),
        }
    }
}

pub struct CachedSocket {
    /// Replies are read through the buffer; requests are written to `get_mut()`.
    pub stream: BufReader<MigrateStream>,
    /// The database the target has selected on this connection, when known.
    pub last_dbid: Option<i64>,
    last_use: Instant,
}

impl CachedSocket {
    pub fn new(stream: MigrateStream) -> Self {
        CachedSocket {
            stream: BufReader::new(stream),
            last_dbid: None,
            last_use: Instant::now(),
        }
    }
}

#[derive(Default)]
pub struct MigrateSockets {
    cached: Mutex<HashMap<Vec<u8>, CachedSocket>>,
}

impl MigrateSockets {
    /// The cached connection to `name` (`host:port`), taken out of the cache.
    pub fn take(&self, name: &[u8]) -> Option<CachedSocket> {
        self.cached.lock_or_recover().remove(name)
    }

    /// Puts a connection that is still good back, making room as Redis does.
    pub fn put_back(&self, name: &[u8], mut socket: CachedSocket) {
        socket.last_use = Instant::now();
        let mut cached = self.cached.lock_or_recover();
        if cached.contains_key(name) {
            // Another MIGRATE cached its own meanwhile: keep that one, this one closes.
            return;
        }
        if cached.len() >= CACHE_ITEMS {
            if let Some(victim) = cached.keys().next().cloned() {
                cached.remove(&victim);
            }
        }
        cached.insert(name.to_vec(), socket);
    }

    /// Closes the connections unused for longer than `CACHE_TTL` (the cron's job).
    pub fn close_idle(&self) {
        self.cached
            .lock_or_recover()
            .retain(|_, socket| socket.last_use.elapsed() <= CACHE_TTL);
    }

    pub fn len(&self) -> usize {
        self.cached.lock_or_recover().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
