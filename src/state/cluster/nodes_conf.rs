//! The node table as text: `CLUSTER NODES` lines and the `nodes.conf` file, both in Redis 7.0's
//! format (`clusterGenNodeDescription`):
//! `<id> <ip>:<port>@<cport> <flags> <master|-> <ping-sent> <pong-recv> <config-epoch> <link-state>
//! <slot ranges...>`, this node's slot moves as `[slot->-to]` and `[slot-<-from]`, and the file
//! ends with `vars currentEpoch N lastVoteEpoch M`. See `save` for how the file is written.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use super::{Node, Topology, SLOTS};

/// One line per node. `now_ms`: CLUSTER NODES' pong times (every node is taken as reachable);
/// `None` writes zeros, as for the file.
/// `failed`: nodes the probe takes as down (`fail` flag, link `disconnected`); never saved.
pub fn describe(topology: &Topology, now_ms: Option<u64>, failed: &BTreeSet<String>) -> String {
    let mut text = String::new();
    // One walk of the 16384 slots for all nodes, not one per node.
    let ranges = topology.ranges();
    for (at, node) in topology.nodes.iter().enumerate() {
        let myself = node.id == topology.myself;
        let role = if node.replica_of.is_some() {
            "slave"
        } else {
            "master"
        };
        let down = failed.contains(&node.id);
        let flags = match (myself, down) {
            (true, _) => format!("myself,{role}"),
            (false, true) => format!("{role},fail"),
            (false, false) => role.to_string(),
        };
        let epoch = topology.master_of(node).config_epoch;
        let pong = if myself { 0 } else { now_ms.unwrap_or(0) };
        text.push_str(&format!(
            "{} {}:{}@{} {} {} 0 {} {} {}",
            node.id,
            node.ip,
            node.port,
            node.cport,
            flags,
            node.replica_of.as_deref().unwrap_or("-"),
            pong,
            epoch,
            if down { "disconnected" } else { "connected" },
        ));
        for &(first, last, _) in ranges.iter().filter(|r| r.2 == at) {
            if first == last {
                text.push_str(&format!(" {first}"));
            } else {
                text.push_str(&format!(" {first}-{last}"));
            }
        }
        if myself {
            // In slot order, a slot both migrating and importing shown as migrating: the two
            // maps merged rather than looked up for each of the 16384 slots, which made every
            // SETSLOT of a reshard pay ~32k map lookups for its save.
            let mut moves: Vec<(u16, String)> = topology
                .migrating
                .iter()
                .map(|(slot, to)| (*slot, format!(" [{slot}->-{to}]")))
                .collect();
            moves.extend(
                topology
                    .importing
                    .iter()
                    .filter(|(slot, _)| !topology.migrating.contains_key(slot))
                    .map(|(slot, from)| (*slot, format!(" [{slot}-<-{from}]"))),
            );
            moves.sort_unstable_by_key(|m| m.0);
            for (_, shown) in moves {
                text.push_str(&shown);
            }
        }
        text.push('\n');
    }
    text
}

/// `synced` (CLUSTER SAVECONFIG, the start): written to a temporary name, flushed to disk, then
/// renamed over the old file, so a crash of the machine leaves the old file or the new. A
/// topology change is written over the file in place without fsync, as Redis 7.0's
/// `clusterSaveConfig` does after SETSLOT/ADDSLOTS: `redis-cli --cluster reshard` makes five
/// changes per slot, and an fsync each (5 ms here) made a 1000-slot reshard take 44 s; a rename
/// each still cost ~0.1 ms of ext4's work (writeback of the new file started on rename over an
/// existing one, the old inode freed), a third of a SETSLOT.
pub fn save(path: &Path, topology: &Topology, synced: bool) -> std::io::Result<()> {
    let mut text = describe(topology, None, &BTreeSet::new());
    text.push_str(&format!(
        "vars currentEpoch {} lastVoteEpoch {}\n",
        topology.current_epoch, topology.last_vote_epoch
    ));
    if !synced {
        return overwrite(path, text);
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

/// Redis 7.0's in-place save: the new text padded with newlines to the old file's length, written
/// in one call from the start, then the file cut to the text. A process stopped between the two
/// leaves blank lines at the end, which `parse` skips, never the old file's tail.
fn overwrite(path: &Path, mut text: String) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let length = text.len() as u64;
    let old = file.metadata()?.len();
    if old > length {
        text.extend(std::iter::repeat_n('\n', (old - length) as usize));
    }
    file.write_all(text.as_bytes())?;
    if old > length {
        file.set_len(length)?;
    }
    Ok(())
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("invalid {what} '{text}'"))
}

/// Reads a `nodes.conf`: the node lines (exactly one flagged `myself`) and the `vars` line.
pub fn parse(text: &str) -> Result<super::Topology, String> {
    struct Line {
        node: Node,
        myself: bool,
        ranges: Vec<(u16, u16)>,
        moves: Vec<(u16, bool, String)>,
    }
    let mut lines: Vec<Line> = Vec::new();
    let (mut current_epoch, mut last_vote_epoch) = (0, 0);
    for (n, raw) in text.lines().enumerate() {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        let bad = |why: String| format!("line {}: {why}", n + 1);
        match fields.first() {
            None => continue,
            Some(&"vars") => {
                for pair in fields[1..].chunks(2) {
                    match pair {
                        ["currentEpoch", v] => current_epoch = number(v, "epoch").map_err(bad)?,
                        ["lastVoteEpoch", v] => {
                            last_vote_epoch = number(v, "epoch").map_err(bad)?
                        }
                        _ => {}
                    }
                }
                continue;
            }
            Some(_) => {}
        }
        if fields.len() < 8 {
            return Err(bad("a node line has at least 8 fields".into()));
        }
        let id = fields[0];
        if !super::valid_node_id(id) {
            return Err(bad(format!("invalid node id '{id}'")));
        }
        let address = fields[1].split(',').next().unwrap_or_default();
        let (host, cport) = address
            .split_once('@')
            .ok_or_else(|| bad(format!("invalid address '{address}'")))?;
        let (ip, port) = host
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("invalid address '{address}'")))?;
        let flags: Vec<&str> = fields[2].split(',').collect();
        let replica_of = match fields[3] {
            "-" => None,
            master if super::valid_node_id(master) => Some(master.to_string()),
            master => return Err(bad(format!("invalid master id '{master}'"))),
        };
        let mut line = Line {
            node: Node {
                id: id.to_string(),
                ip: ip.to_string(),
                port: number(port, "port").map_err(bad)?,
                cport: number(cport, "bus port").map_err(bad)?,
                replica_of,
                config_epoch: number(fields[6], "epoch").map_err(bad)?,
            },
            myself: flags.contains(&"myself"),
            ranges: Vec::new(),
            moves: Vec::new(),
        };
        for slot in &fields[8..] {
            let slot_number = |s: &str| -> Result<u16, String> {
                match s.parse::<u16>() {
                    Ok(v) if (v as usize) < SLOTS => Ok(v),
                    _ => Err(bad(format!("invalid slot '{s}'"))),
                }
            };
            if let Some(inner) = slot.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                let (at, migrating, other) = if let Some((at, to)) = inner.split_once("->-") {
                    (at, true, to)
                } else if let Some((at, from)) = inner.split_once("-<-") {
                    (at, false, from)
                } else {
                    return Err(bad(format!("invalid slot move '{slot}'")));
                };
                line.moves
                    .push((slot_number(at)?, migrating, other.to_string()));
            } else if let Some((first, last)) = slot.split_once('-') {
                let (first, last) = (slot_number(first)?, slot_number(last)?);
                if first > last {
                    return Err(bad(format!("invalid slot range '{slot}'")));
                }
                line.ranges.push((first, last));
            } else {
                let at = slot_number(slot)?;
                line.ranges.push((at, at));
            }
        }
        lines.push(line);
    }
    let mut mine = lines.iter().filter(|l| l.myself);
    let me = match (mine.next(), mine.next()) {
        (Some(me), None) => me.node.clone(),
        (None, _) => return Err("no node is flagged myself".into()),
        (Some(_), Some(_)) => return Err("more than one node is flagged myself".into()),
    };
    let mut topology = Topology::alone(me);
    for line in &lines {
        if !line.myself {
            if topology.index_of(&line.node.id).is_some() {
                return Err(format!("node {} is listed twice", line.node.id));
            }
            topology.nodes.push(line.node.clone());
        }
    }
    for line in &lines {
        let at = topology.index_of(&line.node.id);
        for &(first, last) in &line.ranges {
            for slot in first..=last {
                if topology.owner(slot).is_some() {
                    return Err(format!("slot {slot} has two owners"));
                }
                topology.set_owner(slot, at);
            }
        }
        for (slot, migrating, other) in &line.moves {
            if topology.index_of(other).is_none() {
                return Err(format!("slot {slot} moves to or from unknown node {other}"));
            }
            let moves = if *migrating {
                &mut topology.migrating
            } else {
                &mut topology.importing
            };
            moves.insert(*slot, other.clone());
        }
    }
    for node in &topology.nodes {
        if let Some(master) = &node.replica_of {
            if topology.index_of(master).is_none() {
                return Err(format!("node {} replicates unknown node {master}", node.id));
            }
        }
    }
    topology.current_epoch = current_epoch;
    topology.last_vote_epoch = last_vote_epoch;
    Ok(topology)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `nodes.conf` as redis-server 7.0.15 wrote it, read and written back unchanged.
    #[test]
    fn reads_and_writes_redis_files() {
        let text = "\
12dfcd4b39ea495e71c57f93ecac4e50f01f10aa 127.0.0.1:17001@27001 myself,master - 0 0 1 connected 0-5460 [5460->-bc7da013a3a591a0c81533b36c3e8beda68a0530]
bc7da013a3a591a0c81533b36c3e8beda68a0530 127.0.0.1:17002@27002 master - 0 0 2 connected 5461-10922
fa24fcf701d53ad81febf3b2be80eeea0d8d07df 127.0.0.1:17003@27003 master - 0 0 3 connected 10923-16383
vars currentEpoch 3 lastVoteEpoch 0
";
        let topology = parse(text).unwrap();
        assert_eq!(topology.assigned(), SLOTS);
        assert_eq!(topology.size(), 3);
        let mut again = describe(&topology, None, &BTreeSet::new());
        again.push_str("vars currentEpoch 3 lastVoteEpoch 0\n");
        assert_eq!(again, text);
    }

    #[test]
    fn refuses_broken_files() {
        let me = "12dfcd4b39ea495e71c57f93ecac4e50f01f10aa 127.0.0.1:1@2 myself,master - 0 0 1 connected";
        assert!(parse(&format!("{me} 0-16384\n")).is_err());
        assert!(parse(&format!("{me} 5-1\n")).is_err());
        assert!(parse(&format!("{me} 0-5 3\n")).is_err());
        assert!(parse(&format!(
            "{me} [3->-bc7da013a3a591a0c81533b36c3e8beda68a0530]\n"
        ))
        .is_err());
        assert!(parse("").is_err());
        assert!(parse(&format!("{me}\n{me}\n")).is_err());
        assert!(parse("zz 127.0.0.1:1@2 myself,master - 0 0 1 connected\n").is_err());
        assert!(parse(&format!("{me} 0-16383\n")).is_ok());
    }

    /// Slot moves in slot order whichever map holds them, a slot in both shown as migrating
    /// (Redis's `clusterGenNodeDescription`).
    #[test]
    fn moves_in_slot_order() {
        let me = "12dfcd4b39ea495e71c57f93ecac4e50f01f10aa 127.0.0.1:1@2 myself,master - 0 0 1 connected";
        let other = "bc7da013a3a591a0c81533b36c3e8beda68a0530";
        let mut topology = parse(&format!(
            "{me} 0-99\n{other} 127.0.0.1:3@4 master - 0 0 2 connected\n"
        ))
        .unwrap();
        topology.migrating.insert(50, other.into());
        topology.migrating.insert(7, other.into());
        topology.importing.insert(200, other.into());
        topology.importing.insert(7, other.into());
        topology.importing.insert(120, other.into());
        let text = describe(&topology, None, &BTreeSet::new());
        let first = text.lines().next().unwrap();
        assert!(first.ends_with(&format!(
            " 0-99 [7->-{other}] [50->-{other}] [120-<-{other}] [200-<-{other}]"
        )));
    }

    /// A change written over a longer file leaves exactly the new text, and the synced save
    /// leaves no temporary file behind.
    #[test]
    fn overwrite_shrinks_the_file() {
        let dir = std::env::temp_dir().join(format!("cachet-nodes-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nodes.conf");
        let me = "12dfcd4b39ea495e71c57f93ecac4e50f01f10aa 127.0.0.1:1@2 myself,master - 0 0 1 connected";
        let mut topology = parse(&format!("{me} 0 2 4 6 8 10 12\n")).unwrap();
        save(&path, &topology, true).unwrap();
        let long = std::fs::read_to_string(&path).unwrap();
        topology = parse(&format!("{me} 0-12\n")).unwrap();
        save(&path, &topology, false).unwrap();
        let short = std::fs::read_to_string(&path).unwrap();
        assert!(short.len() < long.len());
        assert_eq!(
            short,
            format!("{me} 0-12\nvars currentEpoch 0 lastVoteEpoch 0\n")
        );
        assert_eq!(parse(&short).unwrap().ranges(), vec![(0, 12, 0)]);
        assert!(!dir.join("nodes.conf.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
