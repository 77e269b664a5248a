//! The coherence directives: this daemon's name, whom it follows (peers or a bus), what it keeps
//! for replays. Part of the one configuration (`state::config::directives`).

use crate::state::config::{memory, one, ConfigValues, Directive};

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "node-id",
        default: "",
        mutable: false,
        protected: false,
        help: "This daemon's name in the invalidations it sends its peers: up to 64 of A-Z a-z 0-9 _ -. Empty: a random one, new at every start.",
        get: |c| c.node_id.clone(),
        set: |c, a| {
            let id = one(a)?;
            if !id.is_empty() && !super::wire::valid_node_id(id.as_bytes()) {
                return Err("node-id must be 1 to 64 of A-Z a-z 0-9 _ -".to_string());
            }
            c.node_id = id.to_string();
            Ok(())
        },
    },
    Directive {
        name: "peer",
        default: "",
        mutable: true,
        protected: true,
        help: "Peer daemons (host:port, space separated) whose invalidations this daemon subscribes to when coherence is on (listing peers does not turn it on: the daemon warns at start, and INFO coherence counts them in peers_ignored). Setting it replaces the whole list.",
        get: |c| c.peers.join(" "),
        set: |c, a| {
            c.peers = parse_peers(a)?;
            Ok(())
        },
    },
    Directive {
        name: "coherence",
        default: "off",
        mutable: true,
        protected: false,
        help: "on: publish this daemon's invalidations on __cachet__:invalidations and apply those of every peer; off: neither.",
        get: |c| if c.coherence { "on" } else { "off" }.to_string(),
        set: |c, a| {
            c.coherence = match one(a)?.to_ascii_lowercase().as_str() {
                "on" | "yes" => true,
                "off" | "no" => false,
                _ => return Err("argument must be 'on' or 'off'".to_string()),
            };
            Ok(())
        },
    },
    Directive {
        name: "coherence-bus",
        default: "",
        mutable: true,
        protected: true,
        help: "redis://host:port of a Redis-compatible server used as the pub/sub broker of the fleet instead of a full mesh of peers (peer is then ignored). Empty: mesh.",
        get: |c| {
            if c.coherence_bus.is_empty() {
                String::new()
            } else {
                format!("redis://{}", c.coherence_bus)
            }
        },
        set: |c, a| {
            c.coherence_bus = parse_bus_url(one(a)?)?;
            Ok(())
        },
    },
    Directive {
        name: "coherence-announce",
        default: "",
        mutable: true,
        protected: true,
        help: "host:port the other daemons reach this one at to ask for replays, announced on the bus. Empty: the first bind address and port (127.0.0.1 for a wildcard bind).",
        get: |c| c.coherence_announce.clone(),
        set: |c, a| {
            let addr = one(a)?;
            if !addr.is_empty() {
                parse_peers(&[addr])?;
            }
            c.coherence_announce = addr.to_string();
            Ok(())
        },
    },
    Directive {
        name: "coherence-backlog-size",
        default: "1048576",
        mutable: true,
        protected: false,
        help: "Bytes of recently published invalidations kept for peers that missed them (a lost link, a gap); a peer that misses more drops its local data instead.",
        get: |c| c.coherence_backlog_size.to_string(),
        set: |c, a| {
            c.coherence_backlog_size = memory(a, 1, 1 << 40)?;
            Ok(())
        },
    },
    Directive {
        name: "coherence-secret",
        default: "",
        mutable: true,
        protected: false,
        help: "Shared by the daemons of a fleet. Set: every invalidation message carries an HMAC-SHA256 of its content keyed by it, messages unsigned or badly signed are dropped, and links prove it to the daemons they connect to (which lets them in under requirepass and lets them publish on a cachet used as the bus). Needed on a bus other clients can reach. Empty: messages are not signed.",
        get: |c| String::from_utf8_lossy(&c.coherence_secret).into_owned(),
        set: |c, a| {
            c.coherence_secret = one(a)?.as_bytes().to_vec();
            Ok(())
        },
    },
];

/// Links the configuration names that coherence does not follow, and why: every peer and the bus
/// while coherence is off; the peers when a bus is set (the bus replaces the mesh). INFO reports
/// the count (`peers_ignored`) and the daemon warns at start. Coherence is not turned on for the
/// user: it drops the daemon's data at its first subscription and publishes every write, and
/// `coherence off` is how a daemon leaves its fleet without losing its peer list.
pub fn ignored_links(values: &ConfigValues) -> (usize, Option<&'static str>) {
    let bus = usize::from(!values.coherence_bus.is_empty());
    let peers = values.peers.len();
    if !values.coherence && peers + bus > 0 {
        (
            peers + bus,
            Some("peer or coherence-bus is set but coherence is off: this daemon neither applies its peers' invalidations nor publishes its own (set `coherence on` to join them)"),
        )
    } else if bus > 0 && peers > 0 {
        (
            peers,
            Some("coherence-bus is set, so the peer list is ignored: invalidations go through the bus"),
        )
    } else {
        (0, None)
    }
}

/// `peer` values: host:port addresses, in one or several arguments, deduplicated in order.
pub fn parse_peers(args: &[&str]) -> Result<Vec<String>, String> {
    let mut peers: Vec<String> = Vec::new();
    for addr in args.iter().flat_map(|a| a.split_whitespace()) {
        let valid = addr.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !valid {
            return Err(format!("'{addr}' is not a host:port address"));
        }
        if !peers.iter().any(|p| p == addr) {
            peers.push(addr.to_string());
        }
    }
    Ok(peers)
}

/// `redis://host:port[/]` or `host:port` → `host:port`; empty stays empty (no bus).
pub fn parse_bus_url(text: &str) -> Result<String, String> {
    let rest = text.strip_prefix("redis://").unwrap_or(text);
    let addr = rest.strip_suffix('/').unwrap_or(rest);
    if addr.is_empty() {
        return Ok(String::new());
    }
    if addr.contains(['@', '/', '?']) {
        return Err(
            "coherence-bus must be redis://host:port (no credentials, database or options)"
                .to_string(),
        );
    }
    parse_peers(&[addr])?;
    Ok(addr.to_string())
}

/// Where peers reach this daemon when nothing is configured: its listening address, with the
/// loopback address in place of a wildcard.
pub fn default_announce(local: std::net::SocketAddr) -> String {
    let ip = if local.ip().is_unspecified() {
        if local.is_ipv6() {
            std::net::Ipv6Addr::LOCALHOST.into()
        } else {
            std::net::Ipv4Addr::LOCALHOST.into()
        }
    } else {
        local.ip()
    };
    std::net::SocketAddr::new(ip, local.port()).to_string()
}

#[cfg(test)]
mod tests {
    use super::{default_announce, parse_bus_url};
    use crate::state::config::{apply_conf_text, Config, ConfigValues};

    #[test]
    fn peer_lines_add_up_and_config_set_replaces() {
        let mut values = ConfigValues::default();
        apply_conf_text(&mut values, "peer a:1\npeer b:2 a:1\ncoherence on\n").unwrap();
        assert_eq!(values.peers, vec!["a:1", "b:2"]);
        assert!(values.coherence);
        let config = Config::new(values, None);
        config.set(&[("peer", vec!["c:3"])], true).unwrap();
        assert_eq!(config.read().peers, vec!["c:3"]);
        assert!(config.set(&[("peer", vec!["c"])], true).is_err());
        assert!(config.set(&[("peer", vec!["c:0"])], true).is_err());
        assert!(config.set(&[("coherence", vec!["maybe"])], true).is_err());
    }

    #[test]
    fn links_configured_but_not_followed() {
        use super::ignored_links;
        let mut values = ConfigValues::default();
        assert_eq!(ignored_links(&values), (0, None));
        apply_conf_text(&mut values, "peer a:1 b:2\n").unwrap();
        assert_eq!(ignored_links(&values).0, 2);
        assert!(ignored_links(&values)
            .1
            .unwrap()
            .contains("coherence is off"));
        apply_conf_text(&mut values, "coherence-bus redis://h:3\n").unwrap();
        assert_eq!(ignored_links(&values).0, 3);
        apply_conf_text(&mut values, "coherence on\n").unwrap();
        assert_eq!(ignored_links(&values).0, 2);
        assert!(ignored_links(&values)
            .1
            .unwrap()
            .contains("peer list is ignored"));
        apply_conf_text(&mut values, "coherence-bus \"\"\n").unwrap();
        assert_eq!(ignored_links(&values), (0, None));
    }

    #[test]
    fn bus_urls() {
        assert_eq!(
            parse_bus_url("redis://127.0.0.1:6379").as_deref(),
            Ok("127.0.0.1:6379")
        );
        assert_eq!(parse_bus_url("redis://h:1/").as_deref(), Ok("h:1"));
        assert_eq!(parse_bus_url("h:1").as_deref(), Ok("h:1"));
        assert_eq!(parse_bus_url("").as_deref(), Ok(""));
        assert!(parse_bus_url("redis://:pw@h:1").is_err());
        assert!(parse_bus_url("redis://h:1/2").is_err());
        assert!(parse_bus_url("redis://h").is_err());
    }

    #[test]
    fn announce_defaults_to_a_reachable_address() {
        let wildcard: std::net::SocketAddr = "0.0.0.0:7000".parse().unwrap();
        assert_eq!(default_announce(wildcard), "127.0.0.1:7000");
        let bound: std::net::SocketAddr = "10.0.0.5:7000".parse().unwrap();
        assert_eq!(default_announce(bound), "10.0.0.5:7000");
    }
}
