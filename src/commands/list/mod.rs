//! List commands (Redis's `t_list.c`): the family's command table, pushes, pops and moves. The
//! commands that address elements by index or value are in `index.rs`; the blocking forms in
//! `blocking.rs` share the pop and move cores below.
//!
//! As in Redis, write commands look keys up without counting keyspace hits (`peek`/`modify`),
//! read commands with `read`. Every change emits Redis's notices in Redis's order (the command's
//! event, then `del` when the list was emptied and so deleted), with the shard still locked.

pub mod blocking;
pub mod index;

use crate::commands::{AclCategories, CommandFlags};
use bytes::Bytes;

use super::{args, CommandSpec, Ctx, SPEC};
use crate::engine::notice::class;
use crate::engine::types::{Collection, ListValue};
use crate::engine::Entry;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;
use crate::state::blocking::Serve;
use crate::state::Server;

const READ_FAST: CommandFlags = flags!(READONLY, FAST);
const READ: CommandFlags = flags!(READONLY);
const WRITE_FAST: CommandFlags = flags!(WRITE, DENYOOM, FAST);
const WRITE_NO_OOM_FAST: CommandFlags = flags!(WRITE, FAST);
const WRITE: CommandFlags = flags!(WRITE, DENYOOM);
const WRITE_NO_OOM: CommandFlags = flags!(WRITE);
const ACL_READ_FAST: AclCategories = acl!(READ, LIST, FAST);
const ACL_READ_SLOW: AclCategories = acl!(READ, LIST, SLOW);
const ACL_WRITE_FAST: AclCategories = acl!(WRITE, LIST, FAST);
const ACL_WRITE_SLOW: AclCategories = acl!(WRITE, LIST, SLOW);
const ACL_BLOCKING: AclCategories = acl!(WRITE, LIST, SLOW, BLOCKING);

const LIST: CommandSpec = CommandSpec {
    group: "list",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const MPOP_COMPLEXITY: &str =
    "O(N+M) where N is the number of provided keys and M is the number of elements returned.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "lpush", arity: -3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Prepend one or multiple elements to a list", complexity: PUSH_COMPLEXITY, handler: Some(lpush), ..LIST },
    CommandSpec { name: "rpush", arity: -3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Append one or multiple elements to a list", complexity: PUSH_COMPLEXITY, handler: Some(rpush), ..LIST },
    CommandSpec { name: "lpushx", arity: -3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Prepend an element to a list, only if the list exists", since: "2.2.0", complexity: PUSH_COMPLEXITY, handler: Some(lpushx), ..LIST },
    CommandSpec { name: "rpushx", arity: -3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Append an element to a list, only if the list exists", since: "2.2.0", complexity: PUSH_COMPLEXITY, handler: Some(rpushx), ..LIST },
    CommandSpec { name: "lpop", arity: -2, flags: WRITE_NO_OOM_FAST, acl_categories: ACL_WRITE_FAST, summary: "Remove and get the first elements in a list", complexity: "O(N) where N is the number of elements returned", handler: Some(lpop), ..LIST },
    CommandSpec { name: "rpop", arity: -2, flags: WRITE_NO_OOM_FAST, acl_categories: ACL_WRITE_FAST, summary: "Remove and get the last elements in a list", complexity: "O(N) where N is the number of elements returned", handler: Some(rpop), ..LIST },
    CommandSpec { name: "llen", arity: 2, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Get the length of a list", handler: Some(index::llen), ..LIST },
    CommandSpec { name: "lrange", arity: 4, flags: READ, acl_categories: ACL_READ_SLOW, summary: "Get a range of elements from a list", complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", handler: Some(index::lrange), ..LIST },
    CommandSpec { name: "lindex", arity: 3, flags: READ, acl_categories: ACL_READ_SLOW, summary: "Get an element from a list by its index", complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", handler: Some(index::lindex), ..LIST },
    CommandSpec { name: "lset", arity: 4, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Set the value of an element in a list by its index", complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", handler: Some(index::lset), ..LIST },
    CommandSpec { name: "linsert", arity: 5, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Insert an element before or after another element in a list", since: "2.2.0", complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", handler: Some(index::linsert), ..LIST },
    CommandSpec { name: "lrem", arity: 4, flags: WRITE_NO_OOM, acl_categories: ACL_WRITE_SLOW, summary: "Remove elements from a list", complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.", handler: Some(index::lrem), ..LIST },
    CommandSpec { name: "ltrim", arity: 4, flags: WRITE_NO_OOM, acl_categories: ACL_WRITE_SLOW, summary: "Trim a list to the specified range", complexity: "O(N) where N is the number of elements to be removed by the operation.", handler: Some(index::ltrim), ..LIST },
    CommandSpec { name: "lpos", arity: -3, flags: READ, acl_categories: ACL_READ_SLOW, summary: "Return the index of matching elements on a list", since: "6.0.6", complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", handler: Some(index::lpos), ..LIST },
    CommandSpec { name: "lmove", arity: 5, flags: WRITE, acl_categories: ACL_WRITE_SLOW, last_key: 2, summary: "Pop an element from a list, push it to another list and return it", since: "6.2.0", handler: Some(lmove), ..LIST },
    CommandSpec { name: "rpoplpush", arity: 3, flags: WRITE, acl_categories: ACL_WRITE_SLOW, last_key: 2, summary: "Remove the last element in a list, prepend it to another list and return it", since: "1.2.0", handler: Some(rpoplpush), ..LIST },
    CommandSpec { name: "lmpop", arity: -4, flags: flags!(WRITE, MOVABLEKEYS), acl_categories: ACL_WRITE_SLOW, first_key: 0, last_key: 0, key_step: 0, summary: "Pop elements from a list", since: "7.0.0", complexity: MPOP_COMPLEXITY, movable_keys: Some(super::numkeys_keys::<1, false>), handler: Some(lmpop), ..LIST },
    CommandSpec { name: "blpop", arity: -3, flags: flags!(WRITE, NOSCRIPT, BLOCKING), acl_categories: ACL_BLOCKING, last_key: -2, summary: "Remove and get the first element in a list, or block until one is available", since: "2.0.0", complexity: "O(N) where N is the number of provided keys.", handler: Some(blocking::blpop), ..LIST },
    CommandSpec { name: "brpop", arity: -3, flags: flags!(WRITE, NOSCRIPT, BLOCKING), acl_categories: ACL_BLOCKING, last_key: -2, summary: "Remove and get the last element in a list, or block until one is available", since: "2.0.0", complexity: "O(N) where N is the number of provided keys.", handler: Some(blocking::brpop), ..LIST },
    CommandSpec { name: "blmove", arity: 6, flags: flags!(WRITE, DENYOOM, NOSCRIPT, BLOCKING), acl_categories: ACL_BLOCKING, last_key: 2, summary: "Pop an element from a list, push it to another list and return it; or block until one is available", since: "6.2.0", handler: Some(blocking::blmove), ..LIST },
    CommandSpec { name: "brpoplpush", arity: 4, flags: flags!(WRITE, DENYOOM, NOSCRIPT, BLOCKING), acl_categories: ACL_BLOCKING, last_key: 2, summary: "Pop an element from a list, push it to another list and return it; or block until one is available", since: "2.2.0", handler: Some(blocking::brpoplpush), ..LIST },
    CommandSpec { name: "blmpop", arity: -5, flags: flags!(WRITE, BLOCKING, MOVABLEKEYS), acl_categories: ACL_BLOCKING, first_key: 0, last_key: 0, key_step: 0, summary: "Pop elements from a list, or block until one is available", since: "7.0.0", complexity: MPOP_COMPLEXITY, movable_keys: Some(super::numkeys_keys::<2, false>), handler: Some(blocking::blmpop), ..LIST },
];

/// The `list-max-listpack-size` in force.
pub fn fill(server: &Server) -> i64 {
    server.config.read().list_max_listpack_size
}

/// Emits a list notice for `key` of `db` (usable while `ctx.out` is borrowed).
pub fn note(server: &Server, db: usize, class: u16, event: &'static str, key: &[u8]) {
    server.keyspace.notices.key(db, key, class, event);
}

fn push_event(front: bool) -> &'static str {
    if front {
        "lpush"
    } else {
        "rpush"
    }
}

fn pop_event(front: bool) -> &'static str {
    if front {
        "lpop"
    } else {
        "rpop"
    }
}

/// `left`/`right` as Redis's `getListPositionFromObjectOrReply`: true for the head.
pub fn parse_side(arg: &Bytes) -> Result<bool, CmdError> {
    if args::is(arg, "left") {
        Ok(true)
    } else if args::is(arg, "right") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn new_list_entry(key: &[u8], list: ListValue) -> Entry {
    Entry::new_collection(key, Collection::List(Box::new(list)), 0)
}

fn push_into(list: &mut ListValue, elements: &[Bytes], front: bool) {
    for element in elements {
        if front {
            list.push_front(element);
        } else {
            list.push_back(element);
        }
    }
}

fn push_generic(ctx: &mut Ctx<'_>, args: &[Bytes], front: bool, only_existing: bool) -> CmdResult {
    let (key, elements) = (&args[1], &args[2..]);
    let (server, db) = (ctx.server, ctx.client.db);
    let len = server
        .keyspace
        .with_key(db, key, ctx.now_ms, |view, hash| {
            let existing = view.modify(hash, key, |entry| {
                let list = entry.list_mut().ok_or(CmdError::WrongType)?;
                push_into(list, elements, front);
                Ok(list.len())
            });
            let len = match existing {
                Some(result) => result?,
                None if only_existing => return Ok(0),
                None => {
                    let mut list = ListValue::new();
                    push_into(&mut list, elements, front);
                    let len = list.len();
                    view.insert_absent(hash, new_list_entry(key, list));
                    len
                }
            };
            note(server, db, class::LIST, push_event(front), key);
            Ok::<_, CmdError>(len)
        })?;
    ctx.out.int(len as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, false)
}

fn rpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, false)
}

fn lpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, true)
}

fn rpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, true)
}

/// How a pop replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopReply {
    /// One element as a bulk (LPOP without count).
    One,
    /// Up to `n` elements as an array (LPOP with count).
    Many(usize),
    /// `[key, element]` (BLPOP).
    KeyAndOne,
    /// `[key, [elements]]`, up to `n` (LMPOP, BLMPOP).
    KeyAndMany(usize),
}

/// Pops from `key` and replies as `reply` says. `NotReady` without a reply when the key is
/// missing (or, impossibly, an empty list), `WrongType` for another type. Notices: the pop event,
/// then `del` if the list was emptied.
pub fn pop_core(
    server: &Server,
    db: usize,
    now_ms: u64,
    key: &[u8],
    front: bool,
    reply: PopReply,
    out: &mut ReplyBuf,
) -> Result<Serve, CmdError> {
    server.keyspace.with_key(db, key, now_ms, |view, hash| {
        let popped = view.modify(hash, key, |entry| {
            let list = entry.list_mut().ok_or(CmdError::WrongType)?;
            if list.is_empty() {
                return Ok(None);
            }
            let count = match reply {
                PopReply::One | PopReply::KeyAndOne => 1,
                PopReply::Many(n) | PopReply::KeyAndMany(n) => n.min(list.len()),
            };
            match reply {
                PopReply::One => {}
                PopReply::Many(_) => out.array(count),
                PopReply::KeyAndOne => {
                    out.array(2);
                    out.bulk(key);
                }
                PopReply::KeyAndMany(_) => {
                    out.array(2);
                    out.bulk(key);
                    out.array(count);
                }
            }
            for _ in 0..count {
                let element = if front {
                    list.pop_front()
                } else {
                    list.pop_back()
                };
                if let Some(element) = element {
                    out.bulk(&element);
                }
            }
            Ok(Some(list.len()))
        });
        match popped {
            None => Ok(Serve::NotReady),
            Some(Err(CmdError::WrongType)) => Ok(Serve::WrongType),
            Some(result) => match result? {
                None => Ok(Serve::NotReady),
                Some(left) => {
                    note(server, db, class::LIST, pop_event(front), key);
                    if left == 0 {
                        note(server, db, class::GENERIC, "del", key);
                    }
                    Ok(Serve::Served)
                }
            },
        }
    })
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &[Bytes], front: bool) -> CmdResult {
    let key = &args[1];
    let count = match args.get(2) {
        None => None,
        Some(_) if args.len() > 3 => return Err(CmdError::WrongArity(pop_event(front).into())),
        Some(arg) => Some(positive(arg, CmdError::NotPositive)?),
    };
    let (server, db, now) = (ctx.server, ctx.client.db, ctx.now_ms);
    if count == Some(0) {
        // Redis answers the type and existence checks, then the empty array, without popping.
        let state = server.keyspace.with_key(db, key, now, |view, hash| {
            view.peek(hash, key).map(|entry| entry.list().is_some())
        });
        match state {
            None => ctx.out.null_array(),
            Some(false) => return Err(CmdError::WrongType),
            Some(true) => ctx.out.array(0),
        }
        return Ok(());
    }
    let reply = match count {
        None => PopReply::One,
        Some(n) => PopReply::Many(n),
    };
    if !served(pop_core(server, db, now, key, front, reply, ctx.out))? {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// A non-negative integer, with Redis's custom message for anything else (not a number
/// included): `error`.
pub fn positive(arg: &[u8], error: CmdError) -> Result<usize, CmdError> {
    match crate::protocol::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(error),
    }
}

/// A serve attempt as a non-blocking command sees it: WRONGTYPE is an error.
fn served(result: Result<Serve, CmdError>) -> Result<bool, CmdError> {
    match result? {
        Serve::Served => Ok(true),
        Serve::NotReady => Ok(false),
        Serve::WrongType => Err(CmdError::WrongType),
    }
}

fn lpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, true)
}

fn rpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, false)
}

/// Moves one element from `src` to `dst` and replies with it (LMOVE's core, also BLMOVE's).
/// `NotReady` without a reply when `src` is missing or empty, `WrongType` when `src` holds
/// another type, the WRONGTYPE error when `dst` does. Notices as Redis: the push on `dst`, the pop on `src`, then `del` on `src`.
#[allow(clippy::too_many_arguments)]
pub fn move_core(
    server: &Server,
    db: usize,
    now_ms: u64,
    src: &[u8],
    dst: &[u8],
    from_front: bool,
    to_front: bool,
    out: &mut ReplyBuf,
) -> Result<Serve, CmdError> {
    let mut locked = server.keyspace.lock_keys([src, dst]);
    let Some((mut view, hash)) = locked.view(db, src, now_ms) else {
        return Ok(Serve::NotReady);
    };
    match view.peek(hash, src) {
        None => return Ok(Serve::NotReady),
        Some(entry) => match entry.list() {
            None => return Ok(Serve::WrongType),
            Some(list) if list.is_empty() => return Ok(Serve::NotReady),
            Some(_) => {}
        },
    }
    let take = |list: &mut ListValue| {
        if from_front {
            list.pop_front()
        } else {
            list.pop_back()
        }
    };
    let put = |list: &mut ListValue, element: &[u8]| {
        if to_front {
            list.push_front(element);
        } else {
            list.push_back(element);
        }
    };
    let src_left;
    let element;
    if src == dst {
        let moved = view.modify(hash, src, |entry| {
            let list = entry.list_mut()?;
            let element = take(list)?;
            put(list, &element);
            Some(element)
        });
        element = moved.flatten();
        src_left = 1;
    } else {
        let Some((mut dst_view, dst_hash)) = locked.view(db, dst, now_ms) else {
            return Ok(Serve::NotReady);
        };
        if dst_view
            .peek(dst_hash, dst)
            .is_some_and(|e| e.list().is_none())
        {
            return Err(CmdError::WrongType);
        }
        let Some((mut view, hash)) = locked.view(db, src, now_ms) else {
            return Ok(Serve::NotReady);
        };
        let popped = view
            .modify(hash, src, |entry| {
                let list = entry.list_mut()?;
                let element = take(list)?;
                Some((element, list.len()))
            })
            .flatten();
        let Some((popped, left)) = popped else {
            return Ok(Serve::NotReady);
        };
        src_left = left;
        let Some((mut dst_view, dst_hash)) = locked.view(db, dst, now_ms) else {
            return Ok(Serve::NotReady);
        };
        let pushed = dst_view.modify(dst_hash, dst, |entry| {
            if let Some(list) = entry.list_mut() {
                put(list, &popped);
            }
        });
        if pushed.is_none() {
            let mut list = ListValue::new();
            put(&mut list, &popped);
            dst_view.insert_absent(dst_hash, new_list_entry(dst, list));
        }
        element = Some(popped);
    }
    let Some(element) = element else {
        return Ok(Serve::NotReady);
    };
    note(server, db, class::LIST, push_event(to_front), dst);
    note(server, db, class::LIST, pop_event(from_front), src);
    if src_left == 0 {
        note(server, db, class::GENERIC, "del", src);
    }
    drop(locked);
    out.bulk(&element);
    Ok(Serve::Served)
}

fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let from_front = parse_side(&args[3])?;
    let to_front = parse_side(&args[4])?;
    move_generic(ctx, &args[1], &args[2], from_front, to_front)
}

fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    move_generic(ctx, &args[1], &args[2], false, true)
}

pub fn move_generic(
    ctx: &mut Ctx<'_>,
    src: &[u8],
    dst: &[u8],
    from_front: bool,
    to_front: bool,
) -> CmdResult {
    let (server, db, now) = (ctx.server, ctx.client.db, ctx.now_ms);
    if !served(move_core(
        server, db, now, src, dst, from_front, to_front, ctx.out,
    ))? {
        ctx.out.null();
    }
    Ok(())
}

/// LMPOP/BLMPOP arguments after the command name (and BLMPOP's timeout): `numkeys key... side
/// [COUNT n]`, parsed as Redis's `lmpopGenericCommand`.
pub struct MpopArgs<'a> {
    pub keys: &'a [Bytes],
    pub front: bool,
    pub count: usize,
}

pub fn parse_mpop(args: &[Bytes]) -> Result<MpopArgs<'_>, CmdError> {
    let numkeys = match crate::protocol::parse_i64(&args[0]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::NumkeysNotPositive),
    };
    let side_at = numkeys.saturating_add(1);
    if side_at >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let side_at = side_at as usize;
    let front = parse_side(&args[side_at])?;
    let mut count = None;
    let mut i = side_at + 1;
    while i < args.len() {
        if count.is_none() && args::is(&args[i], "count") && i + 1 < args.len() {
            count = match crate::protocol::parse_i64(&args[i + 1]) {
                Some(n) if n >= 1 => Some(n as usize),
                _ => return Err(CmdError::CountNotPositive),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs {
        keys: &args[1..side_at],
        front,
        count: count.unwrap_or(1),
    })
}

fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let parsed = parse_mpop(&args[1..])?;
    let (server, db, now) = (ctx.server, ctx.client.db, ctx.now_ms);
    for key in parsed.keys {
        let reply = PopReply::KeyAndMany(parsed.count);
        if served(pop_core(server, db, now, key, parsed.front, reply, ctx.out))? {
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}
