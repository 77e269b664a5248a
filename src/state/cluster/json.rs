//! `CACHE.CLUSTER CONFIG <json>`: a whole topology in one document, in Dragonfly's
//! `DFLYCLUSTER CONFIG` shape — a list of shards, each with its slot ranges, its master and its
//! replicas:
//! `[{"slot_ranges": [{"start": 0, "end": 5460}], "master": {"id": "<40 hex>", "ip": "127.0.0.1",
//! "port": 7001}, "replicas": [{"id": ..., "ip": ..., "port": ...}]}, ...]`
//! (`cport` is optional, `port + 10000` as Redis's default). Everything is checked before anything
//! is installed: the caller swaps the whole topology or nothing.

use serde_json::Value;

use super::{valid_node_id, Node, Topology, SLOTS};

/// The topology `text` describes, as `myself` sees it, or why it is refused.
pub fn parse_topology(text: &[u8], myself: &str, epoch: u64) -> Result<Topology, String> {
    let document: Value =
        serde_json::from_slice(text).map_err(|e| format!("malformed JSON: {e}"))?;
    let shards = document
        .as_array()
        .ok_or("the configuration must be a JSON array of shards")?;
    let mut nodes: Vec<Node> = Vec::new();
    let mut owners: Vec<Option<usize>> = vec![None; SLOTS];
    for (n, shard) in shards.iter().enumerate() {
        let field = |name: &str| {
            shard
                .get(name)
                .ok_or_else(|| format!("shard {n} has no \"{name}\""))
        };
        let master = node(field("master")?, None, epoch + n as u64 + 1)
            .map_err(|e| format!("shard {n} master: {e}"))?;
        let master_at = nodes.len();
        let master_id = master.id.clone();
        nodes.push(master);
        let replicas = match shard.get("replicas") {
            None => Vec::new(),
            Some(list) => list
                .as_array()
                .ok_or_else(|| format!("shard {n}: \"replicas\" must be an array"))?
                .clone(),
        };
        for replica in &replicas {
            let replica = node(replica, Some(&master_id), 0)
                .map_err(|e| format!("shard {n} replica: {e}"))?;
            nodes.push(replica);
        }
        let ranges = field("slot_ranges")?
            .as_array()
            .ok_or_else(|| format!("shard {n}: \"slot_ranges\" must be an array"))?;
        for range in ranges {
            let bound = |name: &str| -> Result<usize, String> {
                range
                    .get(name)
                    .and_then(Value::as_u64)
                    .filter(|&v| (v as usize) < SLOTS)
                    .map(|v| v as usize)
                    .ok_or_else(|| format!("shard {n}: a slot range needs \"{name}\" in 0..16383"))
            };
            let (start, end) = (bound("start")?, bound("end")?);
            if start > end {
                return Err(format!("shard {n}: slot range {start}-{end} is empty"));
            }
            for (slot, owner) in owners.iter_mut().enumerate().take(end + 1).skip(start) {
                if owner.replace(master_at).is_some() {
                    return Err(format!("slot {slot} is in two ranges"));
                }
            }
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        if nodes[..i].iter().any(|other| other.id == node.id) {
            return Err(format!("node {} is listed twice", node.id));
        }
    }
    let Some(me) = nodes.iter().position(|n| n.id == myself) else {
        return Err(format!("this node ({myself}) is not in the configuration"));
    };
    let mut ordered = Vec::with_capacity(nodes.len());
    ordered.push(nodes[me].clone());
    ordered.extend(
        nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me)
            .map(|(_, n)| n.clone()),
    );
    let mut topology = Topology::alone(ordered[0].clone());
    topology.nodes = ordered;
    for (slot, owner) in owners.iter().enumerate() {
        if let Some(at) = owner {
            let id = &nodes[*at].id;
            let at = topology.index_of(id);
            topology.set_owner(slot as u16, at);
        }
    }
    topology.current_epoch = topology
        .nodes
        .iter()
        .map(|n| n.config_epoch)
        .max()
        .unwrap_or(epoch);
    Ok(topology)
}

fn node(value: &Value, replica_of: Option<&str>, config_epoch: u64) -> Result<Node, String> {
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .ok_or("\"id\" must be a string")?;
    if !valid_node_id(id) {
        return Err(format!("invalid node id '{id}' (40 hex digits)"));
    }
    let ip = value
        .get("ip")
        .and_then(Value::as_str)
        .filter(|ip| !ip.is_empty() && !ip.contains([' ', ',', '@']))
        .ok_or("\"ip\" must be a non-empty address")?;
    let port = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_u64)
            .filter(|&p| (1..=65535).contains(&p))
    };
    let port_value = port("port").ok_or("\"port\" must be in 1..65535")? as u16;
    let cport = match value.get("cport") {
        None => port_value.checked_add(10000).unwrap_or(port_value),
        Some(_) => port("cport").ok_or("\"cport\" must be in 1..65535")? as u16,
    };
    Ok(Node {
        id: id.to_ascii_lowercase(),
        ip: ip.to_string(),
        port: port_value,
        cport,
        replica_of: replica_of.map(str::to_string),
        config_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> String {
        c.to_string().repeat(40)
    }

    fn shard(master: char, port: u16, ranges: &str) -> String {
        format!(
            r#"{{"slot_ranges": [{ranges}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {port}}}, "replicas": []}}"#,
            id(master)
        )
    }

    #[test]
    fn installs_shards_with_myself_first() {
        let text = format!(
            "[{}, {}]",
            shard('a', 7001, r#"{"start": 0, "end": 8191}"#),
            shard('b', 7002, r#"{"start": 8192, "end": 16383}"#)
        );
        let t = parse_topology(text.as_bytes(), &id('b'), 0).unwrap();
        assert_eq!(t.nodes[0].id, id('b'));
        assert_eq!(t.owner(0).unwrap().port, 7001);
        assert_eq!(t.owner(16383).unwrap().port, 7002);
        assert_eq!(t.nodes[0].cport, 17002);
    }

    #[test]
    fn refuses_bad_documents() {
        let a = shard('a', 7001, r#"{"start": 0, "end": 100}"#);
        let overlapping = shard('b', 7002, r#"{"start": 100, "end": 200}"#);
        for (text, why) in [
            ("[".to_string(), "malformed JSON"),
            ("{}".to_string(), "JSON array"),
            (format!("[{a}, {overlapping}]"), "slot 100 is in two ranges"),
            (format!("[{a}, {a}]"), "slot 0 is in two ranges"),
            (
                format!("[{}]", shard('a', 7001, r#"{"start": 5, "end": 1}"#)),
                "empty",
            ),
            (
                format!("[{}]", shard('a', 7001, r#"{"start": 0, "end": 16384}"#)),
                "0..16383",
            ),
            (format!("[{a}]").replace("7001", "0"), "port"),
            (format!("[{a}]").replace(&id('a'), "xyz"), "invalid node id"),
        ] {
            let err = parse_topology(text.as_bytes(), &id('a'), 0).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let err = parse_topology(format!("[{a}]").as_bytes(), &id('z'), 0).unwrap_err();
        assert!(err.contains("is not in the configuration"), "{err}");
    }
}
