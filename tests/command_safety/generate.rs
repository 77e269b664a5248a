//! What `command_safety` sends: the hostile values, the option words and keys filling the other
//! slots, the seeds (valid invocations, `seeds.txt`), the commands of the table as targets, and the
//! deterministic argument lists of each.

use std::collections::HashSet;

use cachet::commands::{all_commands, CommandSpec};

/// Combinations per command or subcommand; every arity variant gets its share.
pub const COMBOS_PER_COMMAND: usize = if cfg!(debug_assertions) { 700 } else { 3000 };

pub fn combos_per_command() -> usize {
    std::env::var("SAFETY_COMBOS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(COMBOS_PER_COMMAND)
}
const HUGE_BYTES: usize = 1 << 20;

/// Keys of every type and encoding, created before each command (and after every write).
pub const KEYS: &[&str] = &[
    "safety:str",
    "safety:int",
    "safety:raw",
    "safety:hash",
    "safety:hashbig",
    "safety:list",
    "safety:listbig",
    "safety:intset",
    "safety:set",
    "safety:zset",
    "safety:zsetbig",
    "safety:tagged",
    "safety:volatile",
    "safety:missing",
];

/// The encodings the prepared keys must have, so every representation is exercised.
pub const ENCODINGS: &[(&str, &str)] = &[
    ("safety:str", "embstr"),
    ("safety:int", "int"),
    ("safety:raw", "raw"),
    ("safety:hash", "listpack"),
    ("safety:hashbig", "hashtable"),
    ("safety:list", "quicklist"),
    ("safety:listbig", "quicklist"),
    ("safety:intset", "intset"),
    ("safety:set", "hashtable"),
    ("safety:zset", "listpack"),
    ("safety:zsetbig", "skiplist"),
];

/// Option words of Redis's commands and cachet's, in both cases across the run.
#[rustfmt::skip]
pub const WORDS: &[&str] = &[
    "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "NX", "XX", "GT", "LT", "CH", "INCR", "GET", "COUNT",
    "MATCH", "TYPE", "LIMIT", "WITHSCORES", "WITHSCORE", "WITHVALUES", "BY", "BYSCORE", "BYLEX",
    "REV", "STORE", "ASC", "DESC", "ALPHA", "AGGREGATE", "WEIGHTS", "SUM", "MIN", "MAX", "LEFT",
    "RIGHT", "BEFORE", "AFTER", "RANK", "MAXLEN", "IDLETIME", "FREQ", "ABSTTL", "REPLACE", "DB",
    "ID", "ADDR", "LADDR", "SKIPME", "USER", "ON", "OFF", "YES", "NO", "SKIP", "ASYNC", "SYNC",
    "HELP", "LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN", "BCAST", "PREFIX", "REDIRECT", "OPTIN",
    "OPTOUT", "NOLOOP", "TAGS", "PRIORITY", "COST", "KEEPMETA", "FILL", "SAMPLES", "NOW", "FORCE",
    "ABORT", "SAVE", "NOSAVE", "AUTH", "SETNAME", "normal", "critical", "pubsub", "string", "hash",
    "list", "set", "zset", "*", "?", "[", "\\",
];

/// WAIT's and WAITAOF's timeouts (integer milliseconds): short, or refused by Redis.
const WAIT_TIMEOUTS: &[&str] = &[
    "1",
    "10",
    "-1",
    "0.5",
    "abc",
    "",
    "9223372036854775808",
    "1e3",
];

/// Timeouts a blocking command may get: short, or refused by Redis (0, `-0`, hex and large valid
/// values block for good or for hours there too).
pub const TIMEOUTS: &[&str] = &[
    "0.01",
    "-1",
    "-0.5",
    "nan",
    "inf",
    "-inf",
    "+inf",
    "1e400",
    "abc",
    "",
    "9223372036854775808",
    "9223372036854775807",
    " 1",
];

/// CLIENT PAUSE timeouts (milliseconds): short, or refused.
pub const PAUSES: &[&str] = &[
    "0",
    "1",
    "-1",
    "abc",
    "",
    "1.5",
    " 1",
    "9223372036854775808",
];

/// DEBUG SLEEP pauses that round to none (or are refused).
pub const SLEEPS: &[&str] = &[
    "0",
    "0.0001",
    "-1",
    "-0",
    "nan",
    "inf",
    "-inf",
    "1e400",
    "abc",
    "",
    "9223372036854775808",
    "\x00\r\n",
];

/// Every hostile value goes into every slot position of every command at some point.
pub fn hostile() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = [
        "",
        "abc",
        "-1",
        "-100",
        "-0",
        "0",
        "1",
        "3",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "1e400",
        "-1e400",
        "nan",
        "-nan",
        "inf",
        "-inf",
        "+inf",
        "0.5",
        "1.5e3",
        " 1",
        "1 ",
        "0x10",
        "(1",
        "[a",
        "(",
        "[",
        "-",
        "+",
        "*",
        "\r\n",
        "é",
        "EX",
        "COUNT",
        "MATCH",
        "LIMIT",
        "WITHSCORES",
        "BY",
        "STORE",
        "GET",
        "safety:hashbig",
        "safety:listbig",
        "safety:zsetbig",
        "safety:missing",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    values.push(vec![b'x'; HUGE_BYTES]);
    values.push(b"\x00\r\n\x00bin\xff\xfe\r\nEND".to_vec());
    values.push(b"9".repeat(400));
    values
}

/// Values a slot gets when it is not the hostile one: small numbers, words, keys.
fn plausible(rng: &mut fastrand::Rng) -> Vec<u8> {
    const SMALL: &[&str] = &[
        "0", "1", "2", "-1", "10", "1.5", "a", "field", "member", "0.01",
    ];
    let text = match rng.u8(..4) {
        0 => WORDS[rng.usize(..WORDS.len())],
        1 => KEYS[rng.usize(..KEYS.len())],
        _ => SMALL[rng.usize(..SMALL.len())],
    };
    text.as_bytes().to_vec()
}

/// Valid invocations, one per line (words split on spaces): the seeded half of a command's
/// combinations replaces one or two of their arguments with hostile values, drops the last ones
/// or adds one, so a hostile value also reaches the options parsed after valid ones.
const SEEDS: &str = include_str!("seeds.txt");

/// The seeds of one target: those starting with its words.
fn seeds_of(target: &Target) -> Vec<Vec<Vec<u8>>> {
    SEEDS
        .lines()
        .map(|line| {
            line.split(' ')
                .filter(|w| !w.is_empty())
                .map(|w| w.as_bytes().to_vec())
                .collect::<Vec<_>>()
        })
        .filter(|seed| {
            seed.len() >= target.words.len()
                && target.words.iter().zip(seed).all(|(w, a)| is_word(a, w))
                && (target.container
                    || target.words.len() > 1
                    || target.spec.subcommands.is_empty())
        })
        .collect()
}

/// How a command's combination is run and what it must answer.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    /// On the shared connection, one reply.
    Main,
    /// MULTI: followed by DISCARD, two replies.
    Multi,
    /// Inside MULTI ... EXEC: three replies.
    Wrapped,
    /// On a fresh connection, one reply or more (SUBSCRIBE-like: one per channel).
    Subscribe,
    /// On a fresh connection: one reply, after which the connection may close.
    MayClose,
    /// CLIENT REPLY, on a fresh connection, followed by CLIENT REPLY ON: any number of replies.
    ClientReply,
    /// MONITOR, on a fresh connection: one reply, then the connection is a monitor (the lines it
    /// is fed, the sentinel's own after its reply, are not replies; the connection is dropped).
    Monitor,
}

/// A command or subcommand of the table.
pub struct Target {
    pub words: Vec<&'static str>,
    pub spec: &'static CommandSpec,
    /// A container's own check: no subcommand, or one that does not exist.
    pub container: bool,
}

impl Target {
    pub fn name(&self) -> String {
        self.words.join("|")
    }

    pub fn mode(&self) -> Mode {
        match self.name().as_str() {
            "subscribe" | "psubscribe" | "ssubscribe" | "unsubscribe" | "punsubscribe"
            | "sunsubscribe" => Mode::Subscribe,
            "quit" | "client|kill" => Mode::MayClose,
            "client|reply" => Mode::ClientReply,
            "monitor" => Mode::Monitor,
            "multi" => Mode::Multi,
            _ => Mode::Main,
        }
    }

    /// Argument counts (name words included) to try.
    fn arg_counts(&self) -> Vec<usize> {
        let fixed = self.words.len();
        if self.container {
            return vec![1, 2, 3];
        }
        let arity = self.spec.arity;
        let counts: Vec<usize> = if arity < 0 {
            let min = arity.unsigned_abs() as usize;
            (min..=min + 3).collect()
        } else {
            let n = arity as usize;
            vec![n - 1, n, n + 1]
        };
        counts.into_iter().filter(|&n| n >= fixed).collect()
    }
}

pub fn targets() -> Vec<Target> {
    let mut out = Vec::new();
    for spec in all_commands() {
        if spec.subcommands.is_empty() {
            out.push(Target {
                words: vec![spec.name],
                spec,
                container: false,
            });
            continue;
        }
        out.push(Target {
            words: vec![spec.name],
            spec,
            container: true,
        });
        for sub in spec.subcommands {
            out.push(Target {
                words: vec![spec.name, sub.name],
                spec: sub,
                container: false,
            });
        }
    }
    out
}

/// FNV-1a: a stable seed per command.
fn seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

fn is_word(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// The argument lists for one target: seeded mutations (when it has seeds) interleaved with lists
/// built from its arity alone.
pub fn combos(
    target: &Target,
    hostile: &[Vec<u8>],
    directives: &HashSet<String>,
) -> Vec<Vec<Vec<u8>>> {
    let mut rng = fastrand::Rng::with_seed(seed(&target.name()));
    let mut turn = rng.usize(..hostile.len());
    let seeds = if target.container {
        Vec::new()
    } else {
        seeds_of(target)
    };
    let budget = combos_per_command();
    let by_arity = if seeds.is_empty() { budget } else { budget / 2 };
    let seeded = seeded_combos(
        target,
        &seeds,
        budget - by_arity,
        hostile,
        &mut rng,
        &mut turn,
    );
    let built = arity_combos(target, by_arity, hostile, &mut rng, &mut turn);
    let mut out = option_ends(target, &seeds);
    let (mut a, mut b) = (seeded.into_iter(), built.into_iter());
    loop {
        match (a.next(), b.next()) {
            (None, None) => break,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
    out.into_iter()
        .enumerate()
        .filter_map(|(i, args)| fix_up(target, args, i, directives))
        .collect()
}

/// An option as the last argument is where an `args[i + 1]` reads past the end: each seed cut
/// after every argument, and each seed followed by every option word (alone, and with one value).
fn option_ends(target: &Target, seeds: &[Vec<Vec<u8>>]) -> Vec<Vec<Vec<u8>>> {
    let fixed = target.words.len();
    let mut out = Vec::new();
    for seed in seeds {
        out.extend((fixed..seed.len()).map(|end| seed[..end].to_vec()));
        for word in WORDS {
            let mut args = seed.clone();
            args.push(word.as_bytes().to_vec());
            out.push(args.clone());
            args.push(b"1".to_vec());
            out.push(args);
        }
    }
    out
}

/// Each seed as it is, then with one or two arguments replaced, the last ones dropped, or one more.
fn seeded_combos(
    target: &Target,
    seeds: &[Vec<Vec<u8>>],
    count: usize,
    hostile: &[Vec<u8>],
    rng: &mut fastrand::Rng,
    turn: &mut usize,
) -> Vec<Vec<Vec<u8>>> {
    let fixed = target.words.len();
    let mut out = Vec::new();
    for i in 0..count {
        let seed = &seeds[i % seeds.len()];
        let mut args = seed.clone();
        if i < seeds.len() {
            // As it is.
        } else if seed.len() > fixed && i % 8 != 7 {
            let slot = rng.usize(fixed..seed.len());
            args[slot] = hostile[*turn % hostile.len()].clone();
            *turn += 1;
            if i % 3 == 0 {
                args[rng.usize(fixed..seed.len())] = hostile[rng.usize(..hostile.len())].clone();
            }
        } else if seed.len() > fixed && i % 16 == 7 {
            args.truncate(rng.usize(fixed..seed.len()));
        } else {
            args.push(hostile[rng.usize(..hostile.len())].clone());
        }
        out.push(args);
    }
    out
}

/// For each argument count, lists of keys (in key positions) and plausible values with one hostile
/// value walking through the slots (two in every fourth list).
fn arity_combos(
    target: &Target,
    count: usize,
    hostile: &[Vec<u8>],
    rng: &mut fastrand::Rng,
    turn: &mut usize,
) -> Vec<Vec<Vec<u8>>> {
    let counts = target.arg_counts();
    let per_count = (count / counts.len().max(1)).max(1);
    let fixed = target.words.len();
    let mut out = Vec::new();
    for argc in counts {
        let slots = argc - fixed;
        let key_slots: HashSet<usize> = target.spec.key_positions(argc).into_iter().collect();
        let variants = if slots == 0 { 1 } else { per_count };
        for i in 0..variants {
            let mut args: Vec<Vec<u8>> =
                target.words.iter().map(|w| w.as_bytes().to_vec()).collect();
            for at in fixed..argc {
                let value = if key_slots.contains(&at) && !target.container {
                    KEYS[rng.usize(..KEYS.len())].as_bytes().to_vec()
                } else {
                    plausible(rng)
                };
                args.push(value);
            }
            if slots > 0 {
                let slot = fixed + (i / hostile.len() + rng.usize(..slots)) % slots;
                args[slot] = hostile[*turn % hostile.len()].clone();
                *turn += 1;
                if i % 4 == 3 {
                    args[fixed + rng.usize(..slots)] = hostile[rng.usize(..hostile.len())].clone();
                }
            }
            out.push(args);
        }
    }
    out
}

/// What must not run as generated: a blocking command gets a short or invalid timeout; DEBUG SLEEP
/// is left to `debug_sleep`; CONFIG SET of a real directive to the config test; a container's
/// subcommand slot never names a real subcommand (that is the subcommand's own target).
fn fix_up(
    target: &Target,
    mut args: Vec<Vec<u8>>,
    i: usize,
    directives: &HashSet<String>,
) -> Option<Vec<Vec<u8>>> {
    let name = target.name();
    if target
        .spec
        .has_flag(cachet::commands::CommandFlags::BLOCKING)
        && args.len() > 1
    {
        let slot = match name.as_str() {
            "blmpop" | "bzmpop" => 1,
            _ => args.len() - 1,
        };
        args[slot] = TIMEOUTS[i % TIMEOUTS.len()].as_bytes().to_vec();
    }
    // WAIT and WAITAOF block for their timeout (milliseconds, last) when they ask for replicas.
    if matches!(name.as_str(), "wait" | "waitaof") && args.len() > 1 {
        let last = args.len() - 1;
        args[last] = WAIT_TIMEOUTS[i % WAIT_TIMEOUTS.len()].as_bytes().to_vec();
    }
    if name == "debug" && args.get(1).is_some_and(|a| is_word(a, "sleep")) {
        return None;
    }
    // A long CLIENT PAUSE would hold every other combination.
    if name == "client|pause" && args.len() > 2 {
        args[2] = PAUSES[i % PAUSES.len()].as_bytes().to_vec();
    }
    // CLIENT KILL MAXAGE of a few seconds would kill the shared connection.
    if name == "client|kill" {
        for at in 2..args.len().saturating_sub(1) {
            let small_age = std::str::from_utf8(&args[at + 1])
                .ok()
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|age| (1..1_000_000_000).contains(&age));
            if is_word(&args[at], "maxage") && small_age {
                args[at + 1] = b"1000000000".to_vec();
            }
        }
    }
    let directive = |a: &Vec<u8>| directives.contains(&String::from_utf8_lossy(a).to_lowercase());
    if name == "config|set" && args.iter().skip(2).step_by(2).any(directive) {
        return None;
    }
    if target.container {
        if let Some(sub) = args.get(1) {
            if target.spec.subcommands.iter().any(|s| is_word(sub, s.name)) {
                args[1] = b"nosuchsub".to_vec();
            }
        }
    }
    Some(args)
}
