//! Streams and their consumer groups against redis-server 7.0 as the model: proptest builds
//! sequences of XADD (explicit and `ms-*` IDs, NOMKSTREAM, MAXLEN/MINID with `=`/`~` and LIMIT),
//! XDEL, XTRIM, XSETID (ENTRIESADDED, MAXDELETEDID), XGROUP CREATE (MKSTREAM, ENTRIESREAD) /
//! SETID (ENTRIESREAD) / DESTROY / CREATECONSUMER / DELCONSUMER on three groups at once,
//! XREADGROUP (`>` and history, NOACK), XACK, XCLAIM, XAUTOCLAIM, XPENDING and XREAD, sent to
//! cachet and to a `redis-server` child; every reply is compared byte for byte, and after every
//! request XINFO STREAM (length, first/last/max-deleted IDs, entries-added, node counts) and
//! XINFO GROUPS (each group's consumers, pending, last ID, entries-read, lag) too; at the end of a
//! sequence the entries, each group's consumers and pending entries (idle times within
//! `check_idle`'s slack). A failing sequence shrinks to a short one.
//!
//! The runner's seed is fixed so CI runs the same cases every time; `STREAM_MODEL_SEED=<n>`
//! explores others, `STREAM_MODEL_CASES=<n>` runs more (default 200).

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::cell::RefCell;

use differential::Differential;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const GROUPS: u8 = 3;
const CONSUMERS: u8 = 3;

#[derive(Debug, Clone)]
enum Trim {
    MaxLen(u8),
    /// An ID relative to the newest one: `top - back`.
    MinId(u8),
}

#[derive(Debug, Clone)]
struct TrimSpec {
    how: Trim,
    /// None: no operator; Some(true): `~`; Some(false): `=`.
    approx: Option<bool>,
    limit: Option<u8>,
}

/// An ID as the requests name it, resolved at run time against the newest ms used (`top`).
#[derive(Debug, Clone, Copy)]
enum Id {
    /// `top - back` with a sequence number.
    Back(u8, u8),
    Zero,
    Dollar,
}

#[derive(Debug, Clone)]
enum Op {
    /// XADD s: `ms` after the newest (0: the same ms, which fails unless `*` sequences it).
    Add {
        ahead: u8,
        star_seq: bool,
        fields: u8,
        nomkstream: bool,
        trim: Option<TrimSpec>,
    },
    Del(Vec<u8>),
    XTrim(TrimSpec),
    SetId {
        ahead: u8,
        entries_added: Option<u8>,
        max_deleted: Option<u8>,
    },
    Create {
        group: u8,
        id: Id,
        mkstream: bool,
        entries_read: Option<u8>,
    },
    SetGroupId {
        group: u8,
        id: Id,
        entries_read: Option<u8>,
    },
    Destroy(u8),
    CreateConsumer(u8, u8),
    DelConsumer(u8, u8),
    ReadGroup {
        group: u8,
        consumer: u8,
        count: Option<u8>,
        noack: bool,
        history: bool,
    },
    Ack(u8, Vec<u8>),
    Claim {
        group: u8,
        consumer: u8,
        back: Vec<u8>,
        justid: bool,
        force: bool,
        retrycount: Option<u8>,
    },
    AutoClaim {
        group: u8,
        consumer: u8,
        start: u8,
        count: Option<u8>,
        justid: bool,
    },
    Pending {
        group: u8,
        consumer: Option<u8>,
        count: u8,
    },
    Read(u8),
    DelKey,
}

fn trim_spec() -> impl Strategy<Value = TrimSpec> {
    (
        prop_oneof![
            (0u8..12).prop_map(Trim::MaxLen),
            (0u8..12).prop_map(Trim::MinId)
        ],
        prop::option::of(any::<bool>()),
        prop::option::weighted(0.2, 0u8..12),
    )
        .prop_map(|(how, approx, limit)| TrimSpec { how, approx, limit })
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        4 => (0u8..12, 0u8..2).prop_map(|(b, s)| Id::Back(b, s)),
        1 => Just(Id::Zero),
        1 => Just(Id::Dollar),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let group = 0..GROUPS;
    let consumer = 0..CONSUMERS;
    prop_oneof![
        12 => (0u8..3, prop::bool::weighted(0.2), 1u8..4, prop::bool::weighted(0.05),
               prop::option::weighted(0.2, trim_spec()))
            .prop_map(|(ahead, star_seq, fields, nomkstream, trim)| Op::Add {
                ahead, star_seq, fields, nomkstream, trim
            }),
        2 => prop::collection::vec(0u8..12, 1..3).prop_map(Op::Del),
        2 => trim_spec().prop_map(Op::XTrim),
        1 => (0u8..3, prop::option::weighted(0.4, 0u8..60), prop::option::weighted(0.4, 0u8..12))
            .prop_map(|(ahead, entries_added, max_deleted)| Op::SetId {
                ahead, entries_added, max_deleted
            }),
        3 => (group.clone(), id(), prop::bool::weighted(0.2), prop::option::weighted(0.3, 0u8..40))
            .prop_map(|(group, id, mkstream, entries_read)| Op::Create {
                group, id, mkstream, entries_read
            }),
        1 => (group.clone(), id(), prop::option::weighted(0.4, 0u8..40))
            .prop_map(|(group, id, entries_read)| Op::SetGroupId { group, id, entries_read }),
        1 => group.clone().prop_map(Op::Destroy),
        1 => (group.clone(), consumer.clone()).prop_map(|(g, c)| Op::CreateConsumer(g, c)),
        1 => (group.clone(), consumer.clone()).prop_map(|(g, c)| Op::DelConsumer(g, c)),
        6 => (group.clone(), consumer.clone(), prop::option::of(0u8..5), prop::bool::weighted(0.15),
              prop::bool::weighted(0.2))
            .prop_map(|(group, consumer, count, noack, history)| Op::ReadGroup {
                group, consumer, count, noack, history
            }),
        3 => (group.clone(), prop::collection::vec(0u8..12, 1..4)).prop_map(|(g, ids)| Op::Ack(g, ids)),
        2 => (group.clone(), consumer.clone(), prop::collection::vec(0u8..12, 1..3), any::<bool>(),
              prop::bool::weighted(0.2), prop::option::weighted(0.2, 0u8..5))
            .prop_map(|(group, consumer, back, justid, force, retrycount)| Op::Claim {
                group, consumer, back, justid, force, retrycount
            }),
        2 => (group.clone(), consumer.clone(), 0u8..14, prop::option::of(1u8..5), any::<bool>())
            .prop_map(|(group, consumer, start, count, justid)| Op::AutoClaim {
                group, consumer, start, count, justid
            }),
        1 => (group, prop::option::of(consumer), 0u8..6)
            .prop_map(|(group, consumer, count)| Op::Pending { group, consumer, count }),
        1 => (0u8..12).prop_map(Op::Read),
        1 => prop::bool::weighted(0.3).prop_filter_map("rare", |go| go.then_some(Op::DelKey)),
    ]
}

/// The state a sequence's requests are built from: the newest ms used.
struct Run {
    top: u64,
}

impl Run {
    fn back(&self, back: u8, seq: u8) -> String {
        format!("{}-{seq}", self.top.saturating_sub(back as u64))
    }

    fn id(&self, id: Id) -> String {
        match id {
            Id::Back(b, s) => self.back(b, s),
            Id::Zero => "0".into(),
            Id::Dollar => "$".into(),
        }
    }

    fn trim(&self, spec: &TrimSpec, args: &mut Vec<String>) {
        let (name, value) = match spec.how {
            Trim::MaxLen(n) => ("maxlen", n.to_string()),
            Trim::MinId(back) => ("minid", self.top.saturating_sub(back as u64).to_string()),
        };
        args.push(name.into());
        match spec.approx {
            Some(true) => args.push("~".into()),
            Some(false) => args.push("=".into()),
            None => {}
        }
        args.push(value);
        if let Some(limit) = spec.limit {
            args.push("limit".into());
            args.push(limit.to_string());
        }
    }

    /// The request for `op` (and moves `top` for XADD and XSETID).
    fn request(&mut self, op: &Op) -> Vec<String> {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let g = |n: u8| format!("g{n}");
        let c = |n: u8| format!("c{n}");
        match op {
            Op::Add {
                ahead,
                star_seq,
                fields,
                nomkstream,
                trim,
            } => {
                let mut args = s(&["xadd", "s"]);
                if *nomkstream {
                    args.push("nomkstream".into());
                }
                if let Some(spec) = trim {
                    self.trim(spec, &mut args);
                }
                self.top += *ahead as u64;
                args.push(if *star_seq {
                    format!("{}-*", self.top)
                } else {
                    format!("{}-0", self.top)
                });
                for f in 0..*fields {
                    args.push(["f", "g", "h"][f as usize].into());
                    args.push(format!("v{}", self.top % 7));
                }
                args
            }
            Op::Del(backs) => {
                let mut args = s(&["xdel", "s"]);
                args.extend(backs.iter().map(|&b| self.back(b, 0)));
                args
            }
            Op::XTrim(spec) => {
                let mut args = s(&["xtrim", "s"]);
                self.trim(spec, &mut args);
                args
            }
            Op::SetId {
                ahead,
                entries_added,
                max_deleted,
            } => {
                let mut args = s(&["xsetid", "s"]);
                args.push(format!("{}-0", self.top + *ahead as u64));
                if let Some(n) = entries_added {
                    args.extend(s(&["entriesadded", &n.to_string()]));
                }
                if let Some(back) = max_deleted {
                    args.extend(s(&["maxdeletedid", &self.back(*back, 0)]));
                }
                // A refused XSETID leaves the stream as it was; ms beyond every later XADD's
                // only make those fail alike on both servers.
                self.top += *ahead as u64;
                args
            }
            Op::Create {
                group,
                id,
                mkstream,
                entries_read,
            } => {
                let mut args = s(&["xgroup", "create", "s", &g(*group), &self.id(*id)]);
                if *mkstream {
                    args.push("mkstream".into());
                }
                if let Some(n) = entries_read {
                    args.extend(s(&["entriesread", &n.to_string()]));
                }
                args
            }
            Op::SetGroupId {
                group,
                id,
                entries_read,
            } => {
                let mut args = s(&["xgroup", "setid", "s", &g(*group), &self.id(*id)]);
                if let Some(n) = entries_read {
                    args.extend(s(&["entriesread", &n.to_string()]));
                }
                args
            }
            Op::Destroy(group) => s(&["xgroup", "destroy", "s", &g(*group)]),
            Op::CreateConsumer(group, consumer) => {
                s(&["xgroup", "createconsumer", "s", &g(*group), &c(*consumer)])
            }
            Op::DelConsumer(group, consumer) => {
                s(&["xgroup", "delconsumer", "s", &g(*group), &c(*consumer)])
            }
            Op::ReadGroup {
                group,
                consumer,
                count,
                noack,
                history,
            } => {
                let mut args = s(&["xreadgroup", "group", &g(*group), &c(*consumer)]);
                if let Some(n) = count {
                    args.extend(s(&["count", &n.to_string()]));
                }
                if *noack {
                    args.push("noack".into());
                }
                args.extend(s(&["streams", "s", if *history { "0" } else { ">" }]));
                args
            }
            Op::Ack(group, backs) => {
                let mut args = s(&["xack", "s", &g(*group)]);
                args.extend(backs.iter().map(|&b| self.back(b, 0)));
                args
            }
            Op::Claim {
                group,
                consumer,
                back,
                justid,
                force,
                retrycount,
            } => {
                let mut args = s(&["xclaim", "s", &g(*group), &c(*consumer), "0"]);
                args.extend(back.iter().map(|&b| self.back(b, 0)));
                if let Some(n) = retrycount {
                    args.extend(s(&["retrycount", &n.to_string()]));
                }
                if *force {
                    args.push("force".into());
                }
                if *justid {
                    args.push("justid".into());
                }
                args
            }
            Op::AutoClaim {
                group,
                consumer,
                start,
                count,
                justid,
            } => {
                let mut args = s(&["xautoclaim", "s", &g(*group), &c(*consumer), "0"]);
                args.push(self.back(*start, 0));
                if let Some(n) = count {
                    args.extend(s(&["count", &n.to_string()]));
                }
                if *justid {
                    args.push("justid".into());
                }
                args
            }
            Op::Pending {
                group,
                consumer,
                count,
            } => {
                let mut args = s(&["xpending", "s", &g(*group)]);
                if *count > 0 {
                    args.extend(s(&["idle", "0", "-", "+", &count.to_string()]));
                    if let Some(consumer) = consumer {
                        args.push(c(*consumer));
                    }
                }
                args
            }
            Op::Read(back) => s(&["xread", "count", "3", "streams", "s", &self.back(*back, 0)]),
            Op::DelKey => s(&["del", "s"]),
        }
    }
}

fn check(d: &mut Differential, args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Pending entries carry delivery times: XPENDING's and XAUTOCLAIM's replies hold none, but
    // XPENDING's extended form holds idle times.
    if args[0] == "xpending" {
        d.check_idle(&args);
    } else {
        d.check_str(&args);
    }
}

fn run_sequence(d: &mut Differential, node_entries: u8, ops: &[Op]) {
    d.check_str(&["flushall"]);
    let entries = node_entries.to_string();
    d.check_str(&["config", "set", "stream-node-max-entries", &entries]);
    let mut run = Run { top: 1 };
    for op in ops {
        check(d, &run.request(op));
        d.check_str(&["xinfo", "stream", "s"]);
        d.check_str(&["xinfo", "groups", "s"]);
    }
    d.check_str(&["xrange", "s", "-", "+"]);
    for group in 0..GROUPS {
        let g = format!("g{group}");
        d.check_idle(&["xinfo", "consumers", "s", &g]);
        d.check_idle(&["xpending", "s", &g, "-", "+", "1000"]);
    }
}

#[test]
fn streams_and_groups_follow_redis() {
    let cases: u32 = std::env::var("STREAM_MODEL_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let rng = match std::env::var("STREAM_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
        }
        None => TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    };
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let d = RefCell::new(Differential::start());
    let strategy = (2u8..8, prop::collection::vec(op(), 1..60));
    let result = runner.run(&strategy, |(node_entries, ops)| {
        run_sequence(&mut d.borrow_mut(), node_entries, &ops);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    assert!(d.borrow().compared > cases as usize * 3);
}
