//! `/metrics`: every family of `table::METRICS`, read at scrape time and encoded by the official
//! Prometheus client (`prometheus-client`) in the Prometheus text format, or OpenMetrics when the
//! scraper asks for it. As redis_exporter does, most figures are read from INFO's text (one pass
//! over the server's state, the same numbers `INFO` shows); the rest from the metrics registry,
//! the slow log and the configuration. Nothing is kept between scrapes.

use std::collections::HashMap;

use bytes::Bytes;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::table::{Kind, LabelFrom, MetricDef, Source, LATENCY_BUCKETS, METRICS};
use crate::commands::observe::slot_names;
use crate::commands::server::info::info_text;
use crate::engine::Priority;
use crate::state::Server;

type Labels = Vec<(String, String)>;

#[derive(Debug)]
enum Value {
    Number(f64),
    Histogram {
        sum: f64,
        count: u64,
        /// (upper bound, samples in this bucket only), as the encoder wants them.
        buckets: Vec<(f64, u64)>,
    },
}

/// One family's samples, gathered for one scrape.
#[derive(Debug)]
struct Rows {
    kind: Kind,
    rows: Vec<(Labels, Value)>,
}

impl EncodeMetric for Rows {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, value) in &self.rows {
            let mut sample = encoder.encode_family(labels)?;
            // Whole numbers print as integers (`1`, not `1.0`), as Go's exporters print them.
            let whole = |v: &f64| (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(*v as i64);
            match (self.kind, value) {
                (Kind::Counter, Value::Number(v)) => match whole(v).filter(|n| *n >= 0) {
                    Some(n) => sample.encode_counter::<NoLabelSet, u64, f64>(&(n as u64), None)?,
                    None => sample.encode_counter::<NoLabelSet, f64, f64>(v, None)?,
                },
                (_, Value::Number(v)) => match whole(v) {
                    Some(n) => sample.encode_gauge(&n)?,
                    None => sample.encode_gauge(v)?,
                },
                (
                    _,
                    Value::Histogram {
                        sum,
                        count,
                        buckets,
                    },
                ) => sample.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?,
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        match self.kind {
            Kind::Gauge => MetricType::Gauge,
            Kind::Counter => MetricType::Counter,
            Kind::Histogram => MetricType::Histogram,
        }
    }
}

/// The scrape in the making: rows per family name.
struct Scrape {
    families: HashMap<&'static str, Vec<(Labels, Value)>>,
}

impl Scrape {
    fn add(&mut self, name: &'static str, labels: Labels, value: f64) {
        self.families
            .entry(name)
            .or_default()
            .push((labels, Value::Number(value)));
    }

    fn add_value(&mut self, name: &'static str, labels: Labels, value: Value) {
        self.families.entry(name).or_default().push((labels, value));
    }
}

fn label(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_string(), value.into())
}

/// INFO's `name:value` lines, and the `a=1,b=2` values of its composite lines.
struct InfoFields<'a> {
    fields: HashMap<&'a str, &'a str>,
    lines: Vec<(&'a str, &'a str)>,
}

impl<'a> InfoFields<'a> {
    fn parse(text: &'a str) -> Self {
        let lines: Vec<(&str, &str)> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once(':'))
            .collect();
        InfoFields {
            fields: lines.iter().copied().collect(),
            lines,
        }
    }

    /// A field as a number: `ok` reads 1 and other words 0, as redis_exporter reads statuses.
    fn number(&self, field: &str) -> Option<f64> {
        let value = self.fields.get(field)?.trim();
        Some(match value.parse::<f64>() {
            Ok(n) => n,
            Err(_) if value == "ok" => 1.0,
            Err(_) => 0.0,
        })
    }

    /// The lines whose name starts with `prefix`, as (rest of the name, `key=value` pairs).
    fn composite(&self, prefix: &str) -> Vec<(&'a str, HashMap<&'a str, &'a str>)> {
        self.lines
            .iter()
            .filter_map(|(name, value)| {
                let rest = name.strip_prefix(prefix)?;
                let pairs = value
                    .split(',')
                    .filter_map(|pair| pair.split_once('='))
                    .collect();
                Some((rest, pairs))
            })
            .collect()
    }
}

fn parse_num(value: Option<&&str>) -> f64 {
    value.and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
}

/// Most tags one scrape may ask figures of (`?tag=`): each costs a look-up in every shard.
pub const MAX_TAGS: usize = 64;

/// What a scrape asks for besides the fixed families: per-tag figures (`?db=&tag=a&tag=b`).
#[derive(Default)]
pub struct Request {
    pub db: usize,
    pub tags: Vec<Vec<u8>>,
}

impl Request {
    /// From the raw query string: `tag` (repeated, percent-encoded bytes, `+` a space) and `db`;
    /// other parameters are ignored, as Prometheus may add its own.
    pub fn parse(query: Option<&str>) -> Result<Request, String> {
        let mut request = Request::default();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.replace('+', " ");
            let value: Vec<u8> = percent_encoding::percent_decode_str(&value).collect();
            match name {
                "tag" if request.tags.len() >= MAX_TAGS => {
                    return Err(format!("at most {MAX_TAGS} tags per scrape"))
                }
                "tag" => request.tags.push(value),
                "db" => {
                    request.db = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|db| db.parse().ok())
                        .ok_or("db must be a database number")?
                }
                _ => {}
            }
        }
        Ok(request)
    }
}

/// The registry of one scrape: every family of the table, with what the server reports now.
fn collect(server: &Server, request: &Request) -> Registry {
    let text = info_text(server, &[Bytes::from_static(b"everything")]);
    let info = InfoFields::parse(&text);
    let mut scrape = Scrape {
        families: HashMap::new(),
    };
    let cluster_text = server
        .cluster
        .enabled()
        .then(|| crate::commands::cluster::info_text(server, &server.cluster.topology()));
    let cluster = InfoFields::parse(cluster_text.as_deref().unwrap_or_default());
    for metric in METRICS {
        match metric.source {
            Source::Cluster(field) => {
                if let Some(value) = cluster.number(field) {
                    scrape.add(metric.name, Vec::new(), value);
                }
            }
            Source::Info(field, factor) => {
                if let Some(value) = info.number(field) {
                    scrape.add(metric.name, Vec::new(), value * factor);
                }
            }
            Source::Read(value) => scrape.add(metric.name, Vec::new(), value(server)),
            Source::Lines {
                prefix,
                labels,
                field,
                per,
            } => {
                for (rest, pairs) in info.composite(prefix) {
                    let labels: Option<Labels> = labels
                        .iter()
                        .map(|from| match *from {
                            LabelFrom::Rest(name) => Some(label(name, rest)),
                            LabelFrom::Pair(name, key) => pairs.get(key).map(|v| label(name, *v)),
                        })
                        .collect();
                    if let Some(labels) = labels {
                        scrape.add(metric.name, labels, parse_num(pairs.get(field)) / per);
                    }
                }
            }
            Source::Derived => {}
        }
    }
    server_families(server, &info, &mut scrape);
    command_families(server, &info, &mut scrape);
    cachet_families(server, &info, &mut scrape);
    tag_families(server, request, &mut scrape);

    let mut registry = Registry::default();
    for metric in METRICS {
        let rows = scrape.families.remove(metric.name).unwrap_or_default();
        register(&mut registry, metric, rows);
    }
    registry
}

fn register(registry: &mut Registry, metric: &MetricDef, rows: Vec<(Labels, Value)>) {
    // The encoder appends `_total` to a counter's name.
    let name = match metric.kind {
        Kind::Counter => metric.name.strip_suffix("_total").unwrap_or(metric.name),
        _ => metric.name,
    };
    // The encoder ends the help with a period of its own.
    let help = metric.help.strip_suffix('.').unwrap_or(metric.help);
    registry.register(
        name,
        help,
        Rows {
            kind: metric.kind,
            rows,
        },
    );
}

fn server_families(server: &Server, info: &InfoFields<'_>, scrape: &mut Scrape) {
    let field = |name: &str| info.fields.get(name).copied().unwrap_or("").to_string();
    scrape.add(
        "redis_instance_info",
        vec![
            label("maxmemory_policy", field("maxmemory_policy")),
            label("os", field("os")),
            label("process_id", field("process_id")),
            label("redis_build_id", field("redis_build_id")),
            label("redis_mode", field("redis_mode")),
            label("redis_version", field("redis_version")),
            label("role", field("role")),
            label("run_id", field("run_id")),
            label("tcp_port", field("tcp_port")),
        ],
        1.0,
    );
    let sizes = server.keyspace.db_sizes();
    for (db, (keys, expires)) in sizes.into_iter().enumerate() {
        let db = vec![label("db", format!("db{db}"))];
        scrape.add("redis_db_keys", db.clone(), keys as f64);
        scrape.add("redis_db_keys_expiring", db.clone(), expires as f64);
        scrape.add("redis_db_avg_ttl_seconds", db, 0.0);
    }
}

fn command_families(server: &Server, info: &InfoFields<'_>, scrape: &mut Scrape) {
    let names = slot_names();
    let totals = server.metrics.command_totals(names.len());
    for (name, percentiles) in info.composite("latency_percentiles_usec_") {
        for (quantile, value) in &percentiles {
            let quantile = quantile.strip_prefix('p').unwrap_or(quantile);
            scrape.add(
                "redis_latency_percentiles_usec",
                vec![label("cmd", name), label("quantile", quantile)],
                value.parse().unwrap_or(0.0),
            );
        }
        if let Some(slot) = names.iter().position(|n| n == name) {
            let cmd = vec![label("cmd", name)];
            let total = &totals[slot];
            scrape.add(
                "redis_latency_percentiles_usec_sum",
                cmd.clone(),
                total.micros as f64,
            );
            let count = server.metrics.histogram(slot).map_or(0, |h| h.total);
            scrape.add("redis_latency_percentiles_usec_count", cmd, count as f64);
        }
    }
    // The per-command histogram, from the same HdrHistogram counts LATENCY HISTOGRAM reads.
    for (slot, name) in names.iter().enumerate() {
        let Some(histogram) = server.metrics.histogram(slot) else {
            continue;
        };
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .map(|bound| {
                let cumulative = histogram.count_at_most((bound * 1e9) as u64);
                let in_bucket = cumulative.saturating_sub(below);
                below = below.max(cumulative);
                (*bound, in_bucket)
            })
            .collect();
        // OpenMetrics requires the +Inf bucket, which its encoder does not add.
        buckets.push((f64::INFINITY, histogram.total.saturating_sub(below)));
        scrape.add_value(
            "cachet_command_duration_seconds",
            vec![label("cmd", name.as_str())],
            Value::Histogram {
                sum: totals[slot].micros as f64 / 1e6,
                count: histogram.total,
                buckets,
            },
        );
    }
}

fn cachet_families(server: &Server, info: &InfoFields<'_>, scrape: &mut Scrape) {
    let evictions = &server.keyspace.evictions;
    let load = |counter: &std::sync::atomic::AtomicU64| {
        counter.load(std::sync::atomic::Ordering::Relaxed) as f64
    };
    for priority in Priority::ALL {
        let labels = vec![label("priority", priority.name())];
        scrape.add(
            "cachet_evicted_keys_by_priority_total",
            labels.clone(),
            load(&evictions.evicted_by_priority[priority as usize]),
        );
        scrape.add(
            "cachet_evicted_bytes_by_priority_total",
            labels.clone(),
            load(&evictions.evicted_bytes_by_priority[priority as usize]),
        );
        let keys = info
            .number(&format!("keys_{}", priority.name()))
            .unwrap_or(0.0);
        scrape.add("cachet_keys_by_priority", labels, keys);
    }
    // The rest of the per-peer figures are `Lines` rows of the table; this one is a state.
    for (_, peer) in info.composite("peer") {
        let (Some(addr), Some(kind)) = (peer.get("addr"), peer.get("kind")) else {
            continue;
        };
        let up = peer.get("state").is_some_and(|state| *state == "up");
        scrape.add(
            "cachet_coherence_peer_up",
            vec![label("peer", *addr), label("kind", *kind)],
            f64::from(u8::from(up)),
        );
    }
}

fn tag_families(server: &Server, request: &Request, scrape: &mut Scrape) {
    if request.tags.is_empty() || request.db >= server.keyspace.databases() {
        return;
    }
    let names: Vec<&[u8]> = request.tags.iter().map(Vec::as_slice).collect();
    for (name, stats) in server.keyspace.tag_stats(request.db, Some(&names)) {
        let labels = vec![
            label("db", format!("db{}", request.db)),
            label("tag", String::from_utf8_lossy(&name)),
        ];
        scrape.add("cachet_tag_keys", labels.clone(), stats.keys as f64);
        scrape.add("cachet_tag_bytes", labels.clone(), stats.bytes as f64);
        scrape.add("cachet_tag_hits_total", labels, stats.hits as f64);
    }
}

/// The exposition: OpenMetrics when `openmetrics`, else the Prometheus text format 0.0.4.
pub fn render(server: &Server, request: &Request, openmetrics: bool) -> (String, &'static str) {
    let registry = collect(server, request);
    let mut body = String::new();
    // Writing into a String cannot fail, and our encoders only write.
    let _ = if openmetrics {
        prometheus_client::encoding::text::encode(&mut body, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut body, &registry)
    };
    let content_type = if openmetrics {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE
    };
    (body, content_type)
}
