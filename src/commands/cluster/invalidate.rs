//! Cluster-wide invalidation: a tag spans slots, so in `cluster-enabled yes` TAG.INVALIDATE and
//! CACHE.INVALIDATE (pattern) on any node apply here, then on every other node of the topology
//! (`CACHE.CLUSTER INVALIDATE TAG|PATTERN ...`, which applies on that node alone), all at once
//! over short connections, authenticated as the coherence links are when `coherence-secret` is
//! set. The reply comes once every node has answered: the keys invalidated cluster-wide. A node
//! that could not be reached or refused makes the reply an error naming it; the others have
//! applied the invalidation all the same.
//!
//! This is a call per node rather than a message on the coherence stream: the reply can then
//! say the invalidation is done everywhere, so a tagged key written anywhere before the command
//! was sent is gone (stale at once, swept later) when the client reads the reply.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;

use super::enabled;
use crate::commands::Ctx;
use crate::engine::labels::LabelKind;
use crate::error::{ClusterError, CmdError, CmdResult};
use crate::state::clients::{Action, ReplyMode};
use crate::state::cluster::{Mode, WideInvalidation};
use crate::state::coherence::auth::{self, Key};
use crate::state::Server;

/// How long a node may take to connect, apply and answer.
const NODE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest reply line read (an integer, or an error).
const MOST_LINE_BYTES: u64 = 4096;

/// What is invalidated: the tags, or one glob pattern.
pub enum What<'a> {
    Tags(&'a [Bytes]),
    Pattern(&'a [u8]),
}

/// Applies `what` on every other node of the topology; `local` is what this node removed.
/// Outside `cluster-enabled yes`, or alone in the topology, that is the answer (`Some`). Else,
/// for a command of its own (not inside EXEC or a script, whose reply must be in place), the
/// calls are left to the connection (`Action::ClusterWide`, `None`): they may wait up to
/// `NODE_TIMEOUT` for a node that does not answer, and must not hold the exec gate meanwhile,
/// which would stall every EXEC and script on this node, and the commands queued behind them.
pub fn everywhere(
    ctx: &mut Ctx<'_>,
    what: What<'_>,
    local: usize,
) -> Result<Option<i64>, CmdError> {
    let cluster = &ctx.server.cluster;
    if cluster.mode != Mode::Yes {
        return Ok(Some(local as i64));
    }
    let topology = cluster.topology();
    let nodes: Vec<String> = topology
        .nodes
        .iter()
        .filter(|n| n.id != topology.myself)
        .map(|n| format!("{}:{}", n.ip, n.port))
        .collect();
    if nodes.is_empty() {
        return Ok(Some(local as i64));
    }
    let mut request: Vec<Bytes> = vec![
        Bytes::from_static(b"CACHE.CLUSTER"),
        Bytes::from_static(b"INVALIDATE"),
    ];
    match &what {
        What::Tags(tags) => {
            request.push(Bytes::from_static(b"TAG"));
            request.extend(tags.iter().cloned());
        }
        What::Pattern(pattern) => {
            request.push(Bytes::from_static(b"PATTERN"));
            request.push(Bytes::copy_from_slice(pattern));
        }
    }
    let wide = WideInvalidation {
        request,
        nodes,
        local: local as i64,
    };
    // A reply turned off or skipped is discarded by dispatch: one written later would escape it.
    if ctx.client.in_exec || ctx.client.reply_mode != ReplyMode::On {
        return crate::commands::off_worker(|| finish(ctx.server, &wide)).map(Some);
    }
    ctx.client.action = Some(Action::ClusterWide(Box::new(wide)));
    Ok(None)
}

/// Sends `wide`'s request to its nodes, all at once (blocking): the keys invalidated
/// cluster-wide, or an error naming the nodes that did not confirm. A node the probe takes as
/// failed is not called: it is named at once rather than waited for.
pub fn finish(server: &Server, wide: &WideInvalidation) -> Result<i64, CmdError> {
    let failed_nodes = server.cluster.health.failed();
    let topology = server.cluster.topology();
    let down = |addr: &str| {
        topology
            .nodes
            .iter()
            .any(|n| failed_nodes.contains(&n.id) && format!("{}:{}", n.ip, n.port) == addr)
    };
    let key = server.coherence.key();
    let request: Vec<&[u8]> = wide.request.iter().map(|a| &a[..]).collect();
    let answers: Vec<(String, Result<i64, String>)> = std::thread::scope(|scope| {
        let calls: Vec<_> = wide
            .nodes
            .iter()
            .map(|addr| {
                let (request, key) = (&request, key.as_ref());
                let down = down(addr);
                scope.spawn(move || {
                    if down {
                        (addr.clone(), Err("taken as failed".to_string()))
                    } else {
                        (addr.clone(), call(addr, key, request))
                    }
                })
            })
            .collect();
        calls
            .into_iter()
            .map(|call| {
                call.join()
                    .unwrap_or_else(|_| (String::new(), Err("panicked".into())))
            })
            .collect()
    });
    let mut total = wide.local;
    let mut failed = Vec::new();
    for (addr, answer) in answers {
        match answer {
            Ok(n) => total += n,
            Err(why) => failed.push(format!("{addr} ({why})")),
        }
    }
    if failed.is_empty() {
        Ok(total)
    } else {
        Err(CmdError::Cluster(ClusterError::NotEverywhere(
            failed.join(", ").into(),
        )))
    }
}

/// `CACHE.CLUSTER INVALIDATE TAG tag [tag ...] | PATTERN pattern`: this node only (what the node
/// that was asked sends the others). Replies how many keys went here.
pub(super) fn cache_cluster_invalidate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let db = ctx.client.db;
    let removed = if args[2].eq_ignore_ascii_case(b"tag") {
        let tags: Vec<&[u8]> = args[3..].iter().map(|t| &t[..]).collect();
        ctx.server
            .keyspace
            .invalidate_labels(db, LabelKind::Tag, &tags)
    } else if args[2].eq_ignore_ascii_case(b"pattern") && args.len() == 4 {
        let keyspace = &ctx.server.keyspace;
        crate::commands::off_worker(|| keyspace.invalidate_pattern(db, &args[3]))
    } else {
        return Err(CmdError::Syntax);
    };
    ctx.out.int(removed as i64);
    Ok(())
}

fn call(addr: &str, key: Option<&Key>, request: &[&[u8]]) -> Result<i64, String> {
    let addr: SocketAddr = addr.parse().map_err(|_| format!("bad address {addr}"))?;
    let stream = TcpStream::connect_timeout(&addr, NODE_TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(NODE_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(NODE_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = stream;
    if let Some(key) = key {
        handshake(&mut reader, &mut writer, key)?;
    }
    writer
        .write_all(&encode(request))
        .map_err(|e| e.to_string())?;
    let line = read_line(&mut reader)?;
    match line.strip_prefix(b":") {
        Some(n) => std::str::from_utf8(n)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| "not an integer reply".to_string()),
        None => Err(String::from_utf8_lossy(line.strip_prefix(b"-").unwrap_or(&line)).into_owned()),
    }
}

/// The coherence links' handshake (`net::coherence::call`), blocking: both sides prove the
/// secret.
fn handshake(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    key: &Key,
) -> Result<(), String> {
    writer
        .write_all(&encode(&[b"CACHE.PEER", b"CHALLENGE"]))
        .map_err(|e| e.to_string())?;
    let challenge = read_bulk(reader)?;
    let nonce = auth::nonce();
    let proof = auth::client_proof(key, &challenge, nonce.as_bytes());
    writer
        .write_all(&encode(&[b"CACHE.PEER", b"AUTH", nonce.as_bytes(), &proof]))
        .map_err(|e| e.to_string())?;
    let theirs = read_bulk(reader)?;
    if auth::verify_server_proof(key, &challenge, nonce.as_bytes(), &theirs) {
        Ok(())
    } else {
        Err("the node's proof does not match this node's coherence-secret".into())
    }
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(MOST_LINE_BYTES)
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?;
    if !line.ends_with(b"\r\n") {
        return Err("connection closed".into());
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn read_bulk(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let line = read_line(reader)?;
    let Some(len) = line.strip_prefix(b"$") else {
        return Err(String::from_utf8_lossy(line.strip_prefix(b"-").unwrap_or(&line)).into_owned());
    };
    let len: usize = std::str::from_utf8(len)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n as u64 <= MOST_LINE_BYTES)
        .ok_or("a bad bulk length")?;
    let mut body = vec![0; len + 2];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    body.truncate(len);
    Ok(body)
}
