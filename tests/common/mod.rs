//! Starts the real server in-process on an ephemeral loopback port and always stops it: the
//! server runs on its own runtime thread, and dropping `TestServer` signals shutdown and joins it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use cachet::ConfigValues;

pub struct TestServer {
    pub addr: SocketAddr,
    /// The admin port, when started with `start_admin`.
    pub admin: Option<SocketAddr>,
    /// The TLS listener, when started with `start_tls`.
    pub tls: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// The server's own `dir` when the test did not choose one, removed when it stops.
    scratch: Option<std::path::PathBuf>,
}

/// A fresh directory for one test's files (a snapshot, certificates, a config), so that no server
/// loads another's file; removed when the guard is dropped, even when the test fails.
pub fn scratch_dir() -> TempDir {
    TempDir(fresh_scratch_path())
}

fn fresh_scratch_path() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cachet-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    dir
}

/// A directory of a test's own (config files, a cluster's nodes), removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("cachet-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    /// Starts a server whose configuration `configure` adjusts from the defaults.
    pub fn start_with(configure: impl FnOnce(&mut ConfigValues)) -> TestServer {
        TestServer::start_from(None, configure)
    }

    /// Starts a server configured from the conf file at `path`, as `cachet path` would be;
    /// `CONFIG REWRITE` writes to that file.
    pub fn start_with_file(path: &std::path::Path) -> TestServer {
        let text = std::fs::read(path).expect("read conf file");
        TestServer::start_from(Some(path.to_path_buf()), |values| {
            let scratch = values.dir.clone();
            cachet::state::config::apply_conf_bytes(values, &text).expect("valid conf file");
            // The sample file's `dir ./` would be the tests' working directory, shared by all.
            if matches!(values.dir.as_str(), "." | "./") {
                values.dir = scratch;
            }
        })
    }

    /// Starts a server with its admin port on `127.0.0.1:0` (`admin` says where), once it
    /// accepts clients: the admin port answers from the start, `/ready` and `/v1` with a 503 while
    /// the dataset loads.
    pub fn start_admin(configure: impl FnOnce(&mut ConfigValues)) -> TestServer {
        let server = TestServer::start_full(None, true, false, configure);
        assert!(server.alive(), "the server did not start");
        server
    }

    /// `start_admin` without waiting for the load to end.
    pub fn start_admin_loading(configure: impl FnOnce(&mut ConfigValues)) -> TestServer {
        TestServer::start_loading(None, true, false, configure)
    }

    /// `start_with` without waiting for the load to end: clients get `-LOADING` meanwhile.
    pub fn start_with_loading(configure: impl FnOnce(&mut ConfigValues)) -> TestServer {
        TestServer::start_loading(None, false, false, configure)
    }

    /// Starts a server with a TLS listener on `127.0.0.1:0` besides the plaintext one (`tls` says
    /// where; `tls-port` is set to it before `configure` runs, which names the certificates).
    /// `configure` may set `port` to anything but 0 to keep the plaintext listener; 0 removes it.
    pub fn start_tls(configure: impl FnOnce(&mut ConfigValues)) -> TestServer {
        TestServer::start_full(None, false, true, configure)
    }

    fn start_from(
        file: Option<std::path::PathBuf>,
        configure: impl FnOnce(&mut ConfigValues),
    ) -> TestServer {
        TestServer::start_full(file, false, false, configure)
    }

    /// Starts the server and waits for its dataset to load: as Redis's, it accepts clients at once
    /// and answers `-LOADING` until then, which no test that does not ask for it expects.
    fn start_full(
        file: Option<std::path::PathBuf>,
        with_admin: bool,
        with_tls: bool,
        configure: impl FnOnce(&mut ConfigValues),
    ) -> TestServer {
        let mut password = Vec::new();
        let server = TestServer::start_loading(file, with_admin, with_tls, |values| {
            configure(values);
            password = values.requirepass.clone();
        });
        server.wait_loaded(&password);
        server
    }

    /// Polls INFO until `loading:0`, or until the server closes or refuses the connection (a
    /// start that failed: the test's own connection then says so).
    fn wait_loaded(&self, requirepass: &[u8]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            let Ok(stream) = TcpStream::connect(self.addr) else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut raw = RawClient { stream };
            // With `requirepass`, INFO answers NOAUTH until AUTH (which runs while loading).
            if !requirepass.is_empty() && raw.call(&[b"AUTH", requirepass]).is_empty() {
                return;
            }
            if raw.stream.write_all(b"INFO persistence\r\n").is_err() {
                return;
            }
            let reply = raw.read_reply();
            let loading = b"loading:1\r\n";
            if !reply.windows(loading.len()).any(|w| w == loading) {
                // The server unregisters a client before closing its socket: once this
                // connection reads its end, it is gone from CLIENT LIST and INFO's count, and
                // tests that count clients count only their own.
                // A server that failed to start has closed it already: nothing to wait for.
                if raw.stream.write_all(b"QUIT\r\n").is_ok() {
                    let _ = raw.stream.read_to_end(&mut Vec::new());
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the dataset did not load within 120 s");
    }

    fn start_loading(
        file: Option<std::path::PathBuf>,
        with_admin: bool,
        with_tls: bool,
        configure: impl FnOnce(&mut ConfigValues),
    ) -> TestServer {
        // No snapshot schedule (tests save when they mean to) and a directory of its own.
        let scratch = fresh_scratch_path();
        let mut values = ConfigValues {
            port: 0,
            shards: 4,
            save: String::new(),
            save_points: Vec::new(),
            dir: scratch.to_string_lossy().into_owned(),
            // Tests use DEBUG (SLEEP, RELOAD, OBJECT...); Redis 7 refuses it by default.
            enable_debug_command: cachet::state::config::ProtectedAction::Yes,
            ..ConfigValues::default()
        };
        let tls_listener =
            with_tls.then(|| std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let tls = tls_listener
            .as_ref()
            .map(|l| l.local_addr().expect("local addr"));
        if let Some(tls) = tls {
            values.tls_port = tls.port();
            // Any non-zero value: the plaintext listener is bound here, on port 0.
            values.port = 6379;
        }
        configure(&mut values);
        let plain = !with_tls || values.port != 0;
        // A test that chose its own `dir` leaves the scratch one unused: it goes at once.
        let scratch = if values.dir == scratch.to_string_lossy() {
            Some(scratch)
        } else {
            let _ = std::fs::remove_dir(&scratch);
            None
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let admin_listener = with_admin.then(|| {
            runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .expect("bind 127.0.0.1:0")
        });
        let admin = admin_listener
            .as_ref()
            .map(|l| l.local_addr().expect("local addr"));
        let tls_listener = tls_listener.map(|l| {
            l.set_nonblocking(true).expect("nonblocking");
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(l).expect("tokio listener")
        });
        let listeners = cachet::net::Listeners {
            plain: if plain { vec![listener] } else { Vec::new() },
            tls: tls_listener.into_iter().collect(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            // A server that cannot start (a bad --import-rdb) closes its listener: the test's
            // connection fails and says so.
            let _ = runtime.block_on(cachet::net::serve(
                listeners,
                admin_listener,
                values,
                file,
                async move {
                    let _ = stopped.await;
                },
            ));
        });
        TestServer {
            addr,
            admin,
            tls,
            stop: Some(stop),
            thread: Some(thread),
            scratch,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A `redis` crate connection (RESP2).
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("client")
            .get_connection()
            .expect("connect")
    }

    /// A plain socket, for sending raw protocol bytes.
    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.addr)
    }

    /// Whether the server still answers PING on a fresh connection.
    pub fn alive(&self) -> bool {
        let mut raw = self.raw();
        raw.send(b"PING\r\n");
        raw.read_reply() == b"+PONG\r\n"
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub struct RawClient {
    pub stream: TcpStream,
}

impl RawClient {
    /// A plain socket to any server (cachet or a redis-server), reads timing out after 5 s.
    pub fn connect(addr: impl std::net::ToSocketAddrs) -> RawClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        RawClient { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one complete RESP reply (any nesting), returning its raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        loop {
            if let Some(len) = complete_reply_len(&buf) {
                buf.truncate(len);
                return buf;
            }
            let mut chunk = [0u8; 1];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return buf,
                Ok(_) => buf.push(chunk[0]),
            }
        }
    }

    /// Sends a request built from `args` as a multibulk and returns the raw reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.send(&req);
        self.read_reply()
    }

    /// True when the server closed the connection (a read returns end of stream).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0))
    }
}

/// Length of the first complete RESP value in `buf`, if it is complete.
pub fn complete_reply_len(buf: &[u8]) -> Option<usize> {
    fn line_end(buf: &[u8], from: usize) -> Option<usize> {
        buf.get(from..)?
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p)
    }
    fn value(buf: &[u8], at: usize) -> Option<usize> {
        let kind = *buf.get(at)?;
        let end = line_end(buf, at)?;
        if matches!(kind, b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(') {
            // Simple strings and errors may quote any bytes.
            return Some(end + 2);
        }
        let header = std::str::from_utf8(&buf[at + 1..end]).ok()?;
        match kind {
            b'$' | b'=' | b'!' => {
                let n: i64 = header.parse().ok()?;
                if n < 0 {
                    return Some(end + 2);
                }
                let stop = end + 2 + n as usize + 2;
                (buf.len() >= stop).then_some(stop)
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n: i64 = header.parse().ok()?;
                let items = if kind == b'%' || kind == b'|' {
                    n * 2
                } else {
                    n
                };
                let mut pos = end + 2;
                for _ in 0..items.max(0) {
                    pos = value(buf, pos)?;
                }
                Some(pos)
            }
            _ => None,
        }
    }
    value(buf, 0)
}

/// A request for `call`: a list of arguments, or one string split at spaces (`"SET k v"`).
pub trait Request {
    fn args(&self) -> Vec<&[u8]>;
}

impl Request for &str {
    fn args(&self) -> Vec<&[u8]> {
        self.split(' ').map(str::as_bytes).collect()
    }
}

impl Request for &&str {
    fn args(&self) -> Vec<&[u8]> {
        self.split(' ').map(str::as_bytes).collect()
    }
}

impl Request for &String {
    fn args(&self) -> Vec<&[u8]> {
        self.split(' ').map(str::as_bytes).collect()
    }
}

impl Request for &[&str] {
    fn args(&self) -> Vec<&[u8]> {
        self.iter().map(|a| a.as_bytes()).collect()
    }
}

impl<const N: usize> Request for &[&str; N] {
    fn args(&self) -> Vec<&[u8]> {
        self.iter().map(|a| a.as_bytes()).collect()
    }
}

impl Request for &&[&str] {
    fn args(&self) -> Vec<&[u8]> {
        self.iter().map(|a| a.as_bytes()).collect()
    }
}

impl Request for &Vec<&str> {
    fn args(&self) -> Vec<&[u8]> {
        self.iter().map(|a| a.as_bytes()).collect()
    }
}

/// Sends one request on a raw connection and returns the raw reply.
pub fn call(raw: &mut RawClient, request: impl Request) -> Vec<u8> {
    raw.call(&request.args())
}

/// A bulk string reply's bytes.
pub fn bulk(data: impl AsRef<[u8]>) -> Vec<u8> {
    let data = data.as_ref();
    let mut out = format!("${}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// An integer reply's bytes.
pub fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

/// One field of `INFO section`, as text.
pub fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> String {
    let text: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}:\n{text}"))
        .trim()
        .to_string()
}

/// One numeric field of `INFO section`.
pub fn info_u64(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    info_field(con, section, field)
        .parse()
        .unwrap_or_else(|_| panic!("{field} in INFO {section} is not a number"))
}

pub fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .expect("CONFIG SET");
}

/// Replaces whatever is at `path` with a FIFO: a daemon whose snapshot it is blocks in open(),
/// then in the load, for as long as the test holds back the bytes (`feed_fifo`). Declare an
/// `Unblock` for it after the server, so that it is dropped first.
pub fn snapshot_fifo(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Opens the FIFO for writing (waiting for the daemon to open it for reading): the snapshot's
/// bytes are written to what this returns, and the load ends when it is dropped.
pub fn feed_fifo(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open the FIFO for writing")
}

/// Opens the FIFO for writing without waiting, and closes it: a daemon blocked in open() on it
/// is released (and reads end of file), so a failed test still stops its server; with no reader,
/// nothing happens.
pub struct Unblock(pub std::path::PathBuf);

impl Drop for Unblock {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0);
    }
}

/// A `python3` that can import `module`: the first python3 on PATH, else the system's
/// (`/usr/bin/python3`, where Debian's packages such as python3-redis install, which a pyenv
/// shim earlier on PATH does not see). Panics naming the package when neither has it: a test
/// of a real client library must fail, not skip, when the library is missing.
pub fn python_with(module: &str) -> std::process::Command {
    let python = ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| {
            std::process::Command::new(python)
                .args(["-c", &format!("import {module}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| {
            panic!("no python3 can import {module} (.ci/run installs the Debian package)")
        });
    std::process::Command::new(python)
}
