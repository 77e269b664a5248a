//! One client connection: read what the socket has, execute every complete request in the buffer
//! in order, append all replies to one output buffer, and write it at once. Pipelined clients thus
//! cost one read and one write per batch, not per command.
//!
//! `client-output-buffer-limit`, as Redis enforces it while it appends: before each command the
//! output buffer is capped at the hard limit of the client's class, less what is still queued for
//! it by publishers, so a reply that would reach the limit stops being copied (`ReplyBuf::limit`).
//! After the command, an overflowed buffer closes the client: the rest of the batch does not run
//! and none of its replies are sent (Redis frees such a client asynchronously and drops its
//! output). The soft limit (passed continuously for its seconds) is checked after every command
//! and every delivery of published messages.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::futures::Notified;

use crate::commands::{dispatch, held_by_pause, Ctx};
use crate::engine::now_ms;
use crate::protocol::{Limits, Protocol, ReplyBuf, RequestParser};
use crate::state::blocking::{self, Unblocked};
use crate::state::clients::{Action, ClientInfo, ClientState};
use crate::state::pubsub::{OutputLimit, DELIVERY_BATCH_BYTES};
use crate::state::Server;

const READ_CHUNK: usize = 16 * 1024;
/// A current output block larger than this is given back to the allocator after it is written.
const KEEP_OUTPUT_CAPACITY: usize = 1024 * 1024;

/// Serves one client over `stream`: a `TcpStream`, or a TLS stream over one (the code is
/// compiled once for each, so plaintext pays nothing for TLS). `user`: the ACL user a client
/// certificate authenticated (`tls-auth-clients-user`). The client leaves the registry here.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    server: &Arc<Server>,
    mut stream: S,
    info: Arc<ClientInfo>,
    user: Option<Arc<crate::state::acl::User>>,
) {
    let mut shutdown = server.shutdown_receiver();
    let mut client = match user {
        Some(user) => ClientState::new(info.clone(), user, true),
        None => {
            // As Redis's createClient: authenticated at once while the default user needs no
            // password.
            let user = server.acl.default_user();
            let authenticated = user.nopass && user.enabled;
            ClientState::new(info.clone(), user, authenticated)
        }
    };
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut out = ReplyBuf::new(Protocol::Resp2);
    let mut parser = RequestParser::new();
    let mut args = Vec::new();
    // The stop signals and the idle timer live for the whole connection: building them anew for
    // every read costs more than the command itself at small pipeline depths.
    let stop = async move {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
    };
    tokio::pin!(stop);
    let killed = info.kill.notified();
    tokio::pin!(killed);
    let idle = tokio::time::sleep(Duration::MAX);
    tokio::pin!(idle);
    // When the output first passed the soft limit of the client's class (0 = it is under).
    let soft_limit_since = AtomicU64::new(0);
    loop {
        // As Redis, subscribers and monitors are never closed for being idle: listening is what they
        // do.
        let timeout = match client.pubsub.is_subscribed() || client.monitor {
            true => 0,
            false => server.config.read().timeout,
        };
        if timeout > 0 {
            idle.as_mut()
                .reset(tokio::time::Instant::now() + Duration::from_secs(timeout));
        }
        if input.capacity() - input.len() < READ_CHUNK / 4 {
            input.reserve(READ_CHUNK);
        }
        let read = tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = &mut killed => break,
            _ = &mut idle, if timeout > 0 => break,
            read = stream.read_buf(&mut input) => read,
            // A subscriber idle in its read still gets what is published.
            Some(message) = client.pubsub.next_message() => {
                client.pubsub.deliver(&message, &mut out);
                client.pubsub.drain_up_to(&mut out, DELIVERY_BATCH_BYTES);
                let limit = output_limit(server, &client);
                if limit.reached(output_used(&client, &out), &soft_limit_since, now_ms) {
                    log_output_limit(&client, &out);
                    break;
                }
                if !write_output(server, &mut stream, &mut out, &mut client, killed.as_mut()).await {
                    break;
                }
                continue;
            }
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                server
                    .stats
                    .net_input_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
                server.stats.reads_processed.fetch_add(1, Ordering::Relaxed);
            }
        }
        info.touch();
        let (limits, query_limit) = {
            let config = server.config.read();
            let limits = Limits {
                max_bulk_len: config.proto_max_bulk_len,
                max_multibulk_len: config.proto_max_multibulk_len,
                unauthenticated: !client.authenticated,
            };
            (limits, config.client_query_buffer_limit)
        };
        let mut subscribed = client.pubsub.is_subscribed();
        let mut output_limit = output_limit(server, &client);
        let mut output_overflow = false;
        let mut ran = 0usize;
        // As Redis, checked as soon as the bytes arrive, before running any of them.
        if input.len() > query_limit {
            tracing::warn!(
                id = client.id,
                "closing client that reached max query buffer length"
            );
            break;
        }
        loop {
            match parser.parse(
                &mut input,
                &Limits {
                    unauthenticated: !client.authenticated,
                    ..limits
                },
                &mut args,
            ) {
                Ok(true) => {
                    // One clock reading per command (read again only after a pause held it).
                    let mut now = now_ms();
                    let held = held_by_pause(server, &client, &args, now);
                    if let Some((parent, spec, writes)) = held {
                        // Earlier replies go out now; this request and those after it wait.
                        if !write_output(
                            server,
                            &mut stream,
                            &mut out,
                            &mut client,
                            killed.as_mut(),
                        )
                        .await
                        {
                            client.close_after_reply = true;
                            break;
                        }
                        // CLIENT LIST shows the held command, as Redis names a postponed one.
                        client.last_command = Some((parent, spec));
                        info.details().last_command = client.last_command;
                        info.postponed.store(true, Ordering::Relaxed);
                        server.pause.enqueue(client.id, writes);
                        let gone = loop {
                            let changed = server.pause.changed.notified();
                            tokio::pin!(changed);
                            changed.as_mut().enable();
                            if server.pause.may_go_on(client.id, now_ms()) {
                                break false;
                            }
                            let left = server.pause.end_ms().saturating_sub(now_ms());
                            tokio::select! {
                                _ = &mut stop => break true,
                                _ = &mut killed => break true,
                                _ = changed => {}
                                _ = tokio::time::sleep(Duration::from_millis(left + 1)) => {}
                                read = stream.read_buf(&mut input) => match read {
                                    Ok(0) | Err(_) => break true,
                                    Ok(_) if input.len() > query_limit => break true,
                                    Ok(_) => {}
                                },
                            }
                        };
                        info.postponed.store(false, Ordering::Relaxed);
                        if gone {
                            server.pause.dequeue(client.id);
                            client.close_after_reply = true;
                            break;
                        }
                        now = now_ms();
                    }
                    // Messages published before this command was read come before its reply.
                    client.pubsub.drain(&mut out);
                    let mark = out.len();
                    if output_limit.hard > 0 {
                        let queued = client.pubsub.pending_bytes() as u64;
                        let room = output_limit.hard.saturating_sub(queued);
                        out.limit(Some(usize::try_from(room).unwrap_or(usize::MAX)));
                    }
                    let mut ctx = Ctx {
                        server,
                        client: &mut client,
                        out: &mut out,
                        now_ms: now,
                    };
                    dispatch(&mut ctx, &args);
                    ran += 1;
                    if held.is_some() {
                        // It has run: the next client in line may go on.
                        server.pause.dequeue(client.id);
                    }
                    client.pubsub.drain_before(&mut out, mark);
                    blocking::serve_ready(server);
                    if out.overflowed() {
                        if client.blocked.take().is_some() {
                            server.blocking.cancel(client.id);
                        }
                        output_overflow = true;
                        break;
                    }
                    out.limit(None);
                    if let Some(blocked) = client.blocked.take() {
                        // Earlier replies go out now; the requests after this one wait for it.
                        if !write_output(
                            server,
                            &mut stream,
                            &mut out,
                            &mut client,
                            killed.as_mut(),
                        )
                        .await
                        {
                            server.blocking.cancel(client.id);
                            client.close_after_reply = true;
                            break;
                        }
                        // CLIENT LIST names the command it is blocked in (BLPOP), not the one before.
                        info.details().last_command = client.last_command;
                        let closed = async {
                            loop {
                                tokio::select! {
                                    _ = &mut stop => return,
                                    _ = &mut killed => return,
                                    read = stream.read_buf(&mut input) => match read {
                                        Ok(0) | Err(_) => return,
                                        Ok(_) if input.len() > query_limit => return,
                                        Ok(_) => {}
                                    },
                                }
                            }
                        };
                        let attempt_micros = blocked.attempt_micros;
                        match blocked.wait(server, closed).await {
                            Unblocked::Reply(answer) => {
                                crate::commands::observe::unblocked(
                                    server,
                                    &client.info,
                                    &args,
                                    answer.served_micros.map(|serve| attempt_micros + serve),
                                    answer.reply.first() == Some(&b'-'),
                                );
                                out.raw(&answer.reply);
                            }
                            Unblocked::Close => {
                                client.close_after_reply = true;
                                break;
                            }
                        }
                    }
                    if let Some(action) = client.action.take() {
                        match action {
                            Action::Sleep(duration) => tokio::time::sleep(duration).await,
                            Action::Shutdown => {
                                server.shutdown();
                                client.close_after_reply = true;
                            }
                            Action::ClusterWide(wide) => {
                                let caller = server.clone();
                                let answer = tokio::task::spawn_blocking(move || {
                                    crate::commands::cluster::invalidate::finish(&caller, &wide)
                                })
                                .await;
                                cluster_wide_reply(server, &mut out, answer);
                            }
                        }
                    }
                    if client.pubsub.is_subscribed() != subscribed {
                        // (P|S)SUBSCRIBE or the last UNSUBSCRIBE changed the client's class.
                        subscribed = !subscribed;
                        output_limit = self::output_limit(server, &client);
                    }
                    if output_limit.reached(output_used(&client, &out), &soft_limit_since, now_ms) {
                        output_overflow = true;
                        break;
                    }
                    if client.close_after_reply {
                        break;
                    }
                }
                Ok(false) => break,
                Err(err) => {
                    let message = crate::error::CmdError::Protocol(err).message_bytes();
                    server.metrics.error_reply(&message);
                    out.error_bytes(&message);
                    client.close_after_reply = true;
                    break;
                }
            }
        }
        args.clear();
        if output_overflow {
            // As Redis, the client is closed without the replies that took it over its limit.
            log_output_limit(&client, &out);
            break;
        }
        publish_details(&client, &input, &out);
        if ran > 1 {
            // A pipelined batch's replies wait until the other clients with input have run
            // theirs, as Redis writes every client's replies in one go before it waits again:
            // the peer is then woken by the first write of the round, not once per client
            // (on loopback each wake-up of a sleeping reader costs the sender an IPI; 7% of
            // the CPU of INCR -P 16 before, see docs/notes.md, "Per CPU: INCR and LPUSH").
            // A lone request (-P 1) is answered at once: the wait would cost it a poll.
            tokio::task::yield_now().await;
        }
        if !write_output(server, &mut stream, &mut out, &mut client, killed.as_mut()).await {
            break;
        }
        if client.close_after_reply || info.killed.load(Ordering::Relaxed) {
            break;
        }
    }
    // A closed connection leaves no watch behind.
    crate::commands::multi::reset_client(server, &mut client);
    server.tracking.disable(client.id);
    if client.monitor {
        server.monitors.remove(client.id);
    }
    // Gone from CLIENT LIST before the peer reads its end of stream: a client that saw its
    // connection close, then lists the clients, never finds it there (as in single-threaded Redis).
    server.clients.unregister(info.id);
    let _ = stream.shutdown().await;
}

/// The reply of a cluster-wide invalidation, once the other nodes have answered.
fn cluster_wide_reply(
    server: &Server,
    out: &mut ReplyBuf,
    answer: Result<Result<i64, crate::error::CmdError>, tokio::task::JoinError>,
) {
    match answer {
        Ok(Ok(total)) => out.int(total),
        Ok(Err(err)) => {
            let message = err.message_bytes();
            crate::commands::observe::error_reply(server, &message);
            out.error_bytes(&message);
        }
        Err(_) => {
            let message = b"ERR the cluster-wide invalidation did not finish";
            crate::commands::observe::error_reply(server, message);
            out.error_bytes(message);
        }
    }
}

/// Writes the output buffer; false when the connection must close: a write error, or a kill
/// (an output limit reached by a publisher) while the client does not read.
async fn write_output<S: AsyncWrite + Unpin>(
    server: &Server,
    stream: &mut S,
    out: &mut ReplyBuf,
    client: &mut ClientState,
    killed: Pin<&mut Notified<'_>>,
) -> bool {
    if out.is_empty() {
        return true;
    }
    client.pubsub.writing(out.len());
    let written = tokio::select! {
        biased;
        _ = killed => false,
        written = write_blocks(stream, out) => written.is_ok(),
    };
    if !written {
        return false;
    }
    client.pubsub.written();
    server
        .stats
        .net_output_bytes
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    server
        .stats
        .writes_processed
        .fetch_add(1, Ordering::Relaxed);
    out.clear(KEEP_OUTPUT_CAPACITY);
    true
}

/// Writes the output's blocks: one `write` for the usual single block, else `writev` calls of up
/// to `MAX_IOV` blocks, so a batch stays one system call however its output was split.
async fn write_blocks<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &ReplyBuf,
) -> std::io::Result<()> {
    const MAX_IOV: usize = 64;
    let mut rest = out.blocks();
    let Some(first) = rest.next() else {
        return Ok(());
    };
    let Some(second) = rest.next() else {
        return stream.write_all(first).await;
    };
    let blocks: Vec<&[u8]> = [first, second].into_iter().chain(rest).collect();
    let (mut index, mut offset) = (0, 0);
    while index < blocks.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(IoSlice::new(&blocks[index][offset..]))
            .chain(blocks[index + 1..].iter().map(|block| IoSlice::new(block)))
            .take(MAX_IOV)
            .collect();
        let mut written = stream.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let left = blocks[index].len() - offset;
            if written >= left {
                written -= left;
                index += 1;
                offset = 0;
            } else {
                offset += written;
                written = 0;
            }
        }
    }
    Ok(())
}

/// Redis logs "Client <CLIENT LIST line> scheduled to be closed ASAP for overcoming of output
/// buffer limits."; the client's id, address and output size say which and why.
fn log_output_limit(client: &ClientState, out: &ReplyBuf) {
    tracing::warn!(
        id = client.id,
        addr = %client.info.addr,
        omem = output_used(client, out),
        overflowed = out.overflowed(),
        "client scheduled to be closed ASAP for overcoming of output buffer limits"
    );
}

/// The `client-output-buffer-limit` class that applies now: pub/sub while subscribed, else normal.
fn output_limit(server: &Server, client: &ClientState) -> OutputLimit {
    let class = if client.pubsub.is_subscribed() { 2 } else { 0 };
    server.config.read().client_output_buffer_limit[class]
}

/// Bytes waiting for the client: its replies and the messages still queued for it.
fn output_used(client: &ClientState, out: &ReplyBuf) -> u64 {
    (out.len() + client.pubsub.pending_bytes()) as u64
}

fn publish_details(client: &ClientState, input: &BytesMut, out: &ReplyBuf) {
    let mut details = client.info.details();
    details.last_command = client.last_command;
    details.query_buffer = input.len();
    details.query_buffer_free = input.capacity() - input.len();
    details.output_bytes = out.len();
    details.output_capacity = out.capacity();
}
