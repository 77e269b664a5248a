//! The coherence directives: this daemon's name, whom it follows (peers or a bus), what it keeps
//! for replays. Part of the one configuration (`state::config::directives`).

use crate::state::config::{boolean, memory, one, yes_no, ConfigValues, Directive};

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
        help: "redis://host:port of a Redis-compatible server used as the pub/sub broker of the fleet instead of a full mesh of peers (peer is then ignored); rediss:// for TLS (tls-ca-cert-file must trust it); user:password@ or :password@ before the host to AUTH first (percent-encoded). Empty: mesh. A change reconnects the link.",
        get: |c| bus_url(c),
        set: |c, a| {
            let bus = parse_bus_url(one(a)?)?;
            c.coherence_bus = bus.addr;
            c.coherence_bus_tls = bus.tls;
            c.coherence_bus_login = bus.login;
            Ok(())
        },
    },
    Directive {
        name: "peer-tls",
        default: "no",
        mutable: true,
        protected: false,
        help: "yes: links to peers (and the replays asked of the daemons announced on a bus) go over TLS, to the peers' tls-port, trusting tls-ca-cert-file/dir and presenting tls-client-cert-file (or tls-cert-file). A change reconnects every link.",
        get: |c| yes_no(c.peer_tls),
        set: |c, a| {
            c.peer_tls = boolean(a)?;
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

/// A `coherence-bus` URL, read.
#[derive(Debug, PartialEq)]
pub struct BusUrl {
    /// `host:port`; empty: no bus.
    pub addr: String,
    pub tls: bool,
    /// (user, password) to AUTH with; an empty user is `AUTH password`.
    pub login: Option<(String, String)>,
}

/// `redis[s]://[[user]:password@]host:port[/]` or `host:port`; empty stays empty (no bus).
pub fn parse_bus_url(text: &str) -> Result<BusUrl, String> {
    let (tls, rest) = match text.strip_prefix("rediss://") {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix("redis://").unwrap_or(text)),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (login, addr) = match rest.rsplit_once('@') {
        Some((userinfo, addr)) => {
            let (user, password) = userinfo
                .split_once(':')
                .ok_or("coherence-bus credentials must be user:password@ or :password@")?;
            let decode = |part: &str| {
                percent_encoding::percent_decode_str(part)
                    .decode_utf8()
                    .map(|text| text.into_owned())
                    .map_err(|_| "coherence-bus credentials must be UTF-8".to_string())
            };
            (Some((decode(user)?, decode(password)?)), addr)
        }
        None => (None, rest),
    };
    if addr.is_empty() {
        if tls || login.is_some() {
            return Err("coherence-bus needs host:port".into());
        }
        return Ok(BusUrl {
            addr: String::new(),
            tls: false,
            login: None,
        });
    }
    if addr.contains(['/', '?']) {
        return Err(
            "coherence-bus must be redis[s]://[user:password@]host:port (no database or options)"
                .to_string(),
        );
    }
    parse_peers(&[addr])?;
    Ok(BusUrl {
        addr: addr.to_string(),
        tls,
        login,
    })
}

/// The `coherence-bus` URL as CONFIG GET and REWRITE show it.
fn bus_url(c: &ConfigValues) -> String {
    if c.coherence_bus.is_empty() {
        return String::new();
    }
    const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let scheme = if c.coherence_bus_tls {
        "rediss"
    } else {
        "redis"
    };
    let login = match &c.coherence_bus_login {
        Some((user, password)) => format!(
            "{}:{}@",
            percent_encoding::utf8_percent_encode(user, USERINFO),
            percent_encoding::utf8_percent_encode(password, USERINFO)
        ),
        None => String::new(),
    };
    format!("{scheme}://{login}{}", c.coherence_bus)
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
        let addr = |text: &str| parse_bus_url(text).map(|bus| bus.addr);
        assert_eq!(
            addr("redis://127.0.0.1:6379").as_deref(),
            Ok("127.0.0.1:6379")
        );
        assert_eq!(addr("redis://h:1/").as_deref(), Ok("h:1"));
        assert_eq!(addr("h:1").as_deref(), Ok("h:1"));
        assert_eq!(addr("").as_deref(), Ok(""));
        assert!(parse_bus_url("redis://h:1/2").is_err());
        assert!(parse_bus_url("redis://h").is_err());
        assert!(parse_bus_url("redis://pw@h:1").is_err());
        assert!(parse_bus_url("rediss://").is_err());
        let bus = parse_bus_url("rediss://user:p%40ss@h:1").unwrap();
        assert!(bus.tls);
        assert_eq!(bus.login, Some(("user".into(), "p@ss".into())));
        let bus = parse_bus_url("redis://:pw@h:1").unwrap();
        assert_eq!(bus.login, Some((String::new(), "pw".into())));
        assert!(!bus.tls);
        let mut values = ConfigValues::default();
        apply_conf_text(&mut values, "coherence-bus rediss://u:p%40s@h:1/\n").unwrap();
        assert_eq!(super::bus_url(&values), "rediss://u:p%40s@h:1");
    }

    #[test]
    fn announce_defaults_to_a_reachable_address() {
        let wildcard: std::net::SocketAddr = "0.0.0.0:7000".parse().unwrap();
        assert_eq!(default_announce(wildcard), "127.0.0.1:7000");
        let bound: std::net::SocketAddr = "10.0.0.5:7000".parse().unwrap();
        assert_eq!(default_announce(bound), "10.0.0.5:7000");
    }
}
