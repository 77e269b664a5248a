//! Set commands (Redis 7.0's `t_set.c`): the family's table and the single-key commands; SMOVE and
//! the multi-key algebra (SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD) live in
//! `set/ops.rs`. Replies, errors, argument checks and their order follow Redis 7.0 exactly,
//! including which checks come before the key lookup (a bad SPOP count is reported even for a
//! missing key, SSCAN options are not even parsed for one).
//!
//! Every change announces itself with Redis's keyspace event while the key's shard is still
//! locked, so WATCH and tracking see the write and its notice as one step.

mod ops;

use crate::commands::{AclCategories, CommandFlags};
use bytes::Bytes;

use super::keys::{parse_cursor, parse_scan_options, ScanOf, ScanOptions};
use super::{args, CommandSpec, Ctx, SPEC};
use crate::engine::glob::glob_match;
use crate::engine::notice::class;
use crate::engine::types::set::Member;
use crate::engine::types::{Collection, SetValue};
use crate::engine::Entry;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;

const READ_FAST: CommandFlags = flags!(READONLY, FAST);
const READ_SLOW: CommandFlags = flags!(READONLY);
const WRITE_GROW_FAST: CommandFlags = flags!(WRITE, DENYOOM, FAST);
const WRITE_GROW: CommandFlags = flags!(WRITE, DENYOOM);
const WRITE_FAST: CommandFlags = flags!(WRITE, FAST);
const ACL_READ_FAST: AclCategories = acl!(READ, SET, FAST);
const ACL_READ_SLOW: AclCategories = acl!(READ, SET, SLOW);
const ACL_WRITE_FAST: AclCategories = acl!(WRITE, SET, FAST);
const ACL_WRITE_SLOW: AclCategories = acl!(WRITE, SET, SLOW);

const SET: CommandSpec = CommandSpec {
    group: "set",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const TOTAL_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "sadd", arity: -3, flags: WRITE_GROW_FAST, acl_categories: ACL_WRITE_FAST, summary: "Add one or more members to a set", complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", handler: Some(sadd), ..SET },
    CommandSpec { name: "srem", arity: -3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Remove one or more members from a set", complexity: "O(N) where N is the number of members to be removed.", handler: Some(srem), ..SET },
    CommandSpec { name: "sismember", arity: 3, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Determine if a given value is a member of a set", handler: Some(sismember), ..SET },
    CommandSpec { name: "smismember", arity: -3, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Returns the membership associated with the given elements for a set", since: "6.2.0", complexity: "O(N) where N is the number of elements being checked for membership", handler: Some(smismember), ..SET },
    CommandSpec { name: "smembers", arity: 2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Get all the members in a set", complexity: "O(N) where N is the set cardinality.", handler: Some(smembers), ..SET },
    CommandSpec { name: "scard", arity: 2, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Get the number of members in a set", handler: Some(scard), ..SET },
    CommandSpec { name: "spop", arity: -2, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Remove and return one or multiple random members from a set", complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", handler: Some(spop), ..SET },
    CommandSpec { name: "srandmember", arity: -2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Get one or multiple random members from a set", complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", handler: Some(srandmember), ..SET },
    CommandSpec { name: "smove", arity: 4, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, last_key: 2, summary: "Move a member from one set to another", handler: Some(ops::smove), ..SET },
    CommandSpec { name: "sinter", arity: -2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, last_key: -1, summary: "Intersect multiple sets", complexity: INTER_COMPLEXITY, handler: Some(ops::sinter), ..SET },
    CommandSpec { name: "sintercard", arity: -3, flags: flags!(READONLY, MOVABLEKEYS), acl_categories: ACL_READ_SLOW, first_key: 0, last_key: 0, key_step: 0, summary: "Intersect multiple sets and return the cardinality of the result", since: "7.0.0", complexity: INTER_COMPLEXITY, movable_keys: Some(super::numkeys_keys::<1, false>), handler: Some(ops::sintercard), ..SET },
    CommandSpec { name: "sinterstore", arity: -3, flags: WRITE_GROW, acl_categories: ACL_WRITE_SLOW, last_key: -1, summary: "Intersect multiple sets and store the resulting set in a key", complexity: INTER_COMPLEXITY, handler: Some(ops::sinterstore), ..SET },
    CommandSpec { name: "sunion", arity: -2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, last_key: -1, summary: "Add multiple sets", complexity: TOTAL_COMPLEXITY, handler: Some(ops::sunion), ..SET },
    CommandSpec { name: "sunionstore", arity: -3, flags: WRITE_GROW, acl_categories: ACL_WRITE_SLOW, last_key: -1, summary: "Add multiple sets and store the resulting set in a key", complexity: TOTAL_COMPLEXITY, handler: Some(ops::sunionstore), ..SET },
    CommandSpec { name: "sdiff", arity: -2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, last_key: -1, summary: "Subtract multiple sets", complexity: TOTAL_COMPLEXITY, handler: Some(ops::sdiff), ..SET },
    CommandSpec { name: "sdiffstore", arity: -3, flags: WRITE_GROW, acl_categories: ACL_WRITE_SLOW, last_key: -1, summary: "Subtract multiple sets and store the resulting set in a key", complexity: TOTAL_COMPLEXITY, handler: Some(ops::sdiffstore), ..SET },
    CommandSpec { name: "sscan", arity: -3, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Incrementally iterate Set elements", since: "2.8.0", complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", handler: Some(sscan), ..SET },
];

/// SPOP with a count pops one member at a time while the members left outnumber the popped
/// ones this many times; otherwise it picks the members to keep instead (Redis's
/// `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn max_intset_entries(ctx: &Ctx<'_>) -> usize {
    ctx.server.config.read().set_max_intset_entries
}

fn reply_member(out: &mut ReplyBuf, member: Member<'_>) {
    match member {
        Member::Int(n) => out.bulk_int(n),
        Member::Bytes(bytes) => out.bulk(bytes),
    }
}

fn new_set_entry(key: &[u8], set: SetValue) -> Entry {
    Entry::new_collection(key, Collection::Set(Box::new(set)), 0)
}

/// The set of a looked-up entry: `None` for a missing key, WRONGTYPE for another type.
fn as_set(entry: Option<&Entry>) -> Result<Option<&SetValue>, CmdError> {
    entry
        .map(|entry| entry.set().ok_or(CmdError::WrongType))
        .transpose()
}

fn sadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let max = max_intset_entries(ctx);
    let (key, members) = (&args[1], &args[2..]);
    let added = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let added = match view.modify(hash, key, |entry| {
                let set = entry.set_mut().ok_or(CmdError::WrongType)?;
                Ok(members.iter().filter(|m| set.add(m, max)).count())
            }) {
                Some(result) => result?,
                None => {
                    let mut set = SetValue::default();
                    let added = members.iter().filter(|m| set.add(m, max)).count();
                    view.insert_absent(hash, new_set_entry(key, set));
                    added
                }
            };
            if added > 0 {
                view.notify(key, class::SET, "sadd");
            }
            Ok::<_, CmdError>(added)
        })?;
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, members) = (&args[1], &args[2..]);
    let removed = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let Some(result) = view.modify(hash, key, |entry| {
                let set = entry.set_mut().ok_or(CmdError::WrongType)?;
                let removed = members.iter().filter(|m| set.remove(m)).count();
                Ok((removed, set.is_empty()))
            }) else {
                return Ok(0);
            };
            let (removed, emptied) = result?;
            if removed > 0 {
                view.notify(key, class::SET, "srem");
                if emptied {
                    view.notify(key, class::GENERIC, "del");
                }
            }
            Ok::<_, CmdError>(removed)
        })?;
    ctx.out.int(removed as i64);
    Ok(())
}

/// Runs `f` on the set at `key` looked up for reading (a keyspace hit or miss): `None` when the
/// key is missing, WRONGTYPE when it holds another type.
fn read_set<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&SetValue>, &mut ReplyBuf) -> Result<R, CmdError>,
) -> Result<R, CmdError> {
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            f(as_set(view.read(hash, key))?, out)
        })
}

fn sismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let member = &args[2];
    read_set(ctx, &args[1], |set, out| {
        out.int(set.is_some_and(|s| s.contains(member)) as i64);
        Ok(())
    })
}

fn smismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let members = &args[2..];
    read_set(ctx, &args[1], |set, out| {
        out.array(members.len());
        for member in members {
            out.int(set.is_some_and(|s| s.contains(member)) as i64);
        }
        Ok(())
    })
}

fn scard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_set(ctx, &args[1], |set, out| {
        out.int(set.map_or(0, SetValue::len) as i64);
        Ok(())
    })
}

fn smembers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_set(ctx, &args[1], |set, out| {
        let Some(set) = set else {
            out.set(0);
            return Ok(());
        };
        out.set(set.len());
        for member in set.iter() {
            reply_member(out, member);
        }
        Ok(())
    })
}

fn spop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => spop_one(ctx, &args[1]),
        3 => spop_count(ctx, &args[1], &args[2]),
        _ => Err(CmdError::Syntax),
    }
}

fn spop_one(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let Some(result) = view.modify(hash, key, |entry| {
                let set = entry.set_mut().ok_or(CmdError::WrongType)?;
                Ok((set.pop_random(), set.is_empty()))
            }) else {
                out.null();
                return Ok(());
            };
            let (popped, emptied) = result?;
            match popped {
                Some(member) => out.bulk(&member),
                None => out.null(),
            }
            view.notify(key, class::SET, "spop");
            if emptied {
                view.notify(key, class::GENERIC, "del");
            }
            Ok(())
        })
}

fn spop_count(ctx: &mut Ctx<'_>, key: &[u8], count: &[u8]) -> CmdResult {
    let count = args::int(count)
        .ok()
        .filter(|n| *n >= 0)
        .ok_or(CmdError::NotPositive)?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let max = max_intset_entries(ctx);
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let Some(result) = view.modify(hash, key, |entry| {
                let set = entry.set_mut().ok_or(CmdError::WrongType)?;
                if count == 0 {
                    out.set(0);
                    return Ok(None);
                }
                let size = set.len();
                if count >= size {
                    // The whole set: taking it leaves the key empty, so `modify` deletes it.
                    let all = std::mem::take(set);
                    out.set(all.len());
                    for member in all.iter() {
                        reply_member(out, member);
                    }
                    return Ok(Some(true));
                }
                let remaining = size - count;
                if remaining.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > count {
                    out.set(count);
                    for _ in 0..count {
                        match set.pop_random() {
                            Some(member) => out.bulk(&member),
                            None => out.null(),
                        }
                    }
                } else {
                    let popped = set.keep_random(remaining, max);
                    out.set(popped.len());
                    for member in popped {
                        out.bulk(&member);
                    }
                }
                Ok(Some(false))
            }) else {
                out.set(0);
                return Ok(());
            };
            if let Some(emptied) = result? {
                view.notify(key, class::SET, "spop");
                if emptied {
                    view.notify(key, class::GENERIC, "del");
                }
            }
            Ok(())
        })
}

fn srandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => read_set(ctx, &args[1], |set, out| {
            match set.and_then(SetValue::random) {
                Some(member) => reply_member(out, member),
                None => out.null(),
            }
            Ok(())
        }),
        3 => {
            let count = args::int(&args[2])?;
            if count == i64::MIN {
                return Err(CmdError::CountOutOfLongRange);
            }
            read_set(ctx, &args[1], |set, out| {
                let Some(set) = set.filter(|_| count != 0) else {
                    out.array(0);
                    return Ok(());
                };
                let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
                if count < 0 {
                    // With repetitions: `wanted` independent draws, however many that is.
                    out.array(wanted);
                    for _ in 0..wanted {
                        match set.random() {
                            Some(member) => reply_member(out, member),
                            None => out.null(),
                        }
                    }
                } else {
                    let picked = set.random_distinct(wanted);
                    out.array(picked.len());
                    for member in picked {
                        reply_member(out, member);
                    }
                }
                Ok(())
            })
        }
        _ => Err(CmdError::Syntax),
    }
}

fn sscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2]).ok_or(CmdError::InvalidCursor)?;
    read_set(ctx, &args[1], |set, out| {
        let Some(set) = set else {
            // Redis answers a missing key before it looks at the options.
            out.array(2);
            out.bulk(b"0");
            out.array(0);
            return Ok(());
        };
        let ScanOptions { count, pattern, .. } = parse_scan_options(args, 3, ScanOf::Other)?;
        let mut found: Vec<Member<'_>> = Vec::new();
        let next = set.scan(cursor, count, |member| {
            let wanted = pattern.is_none_or(|p| glob_match(p, &member.to_bytes(), false));
            if wanted {
                found.push(member);
            }
        });
        out.array(2);
        out.bulk(itoa::Buffer::new().format(next).as_bytes());
        out.array(found.len());
        for member in found {
            reply_member(out, member);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_unique_and_lower_case() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| !b.is_ascii_uppercase())));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
    }
}
