//! Side-by-side tables (one per metric: a row per workload, a column per server, best Redis and
//! cachet − best Redis in points, the average over workloads) and the CSV dump.

use std::fmt::Write as _;

use super::resp::Stats;

#[derive(Clone, Copy, PartialEq)]
pub enum Role {
    Redis,
    Cachet,
    /// Computed in-process (see sim.rs): context, never part of "best Redis".
    Reference,
}

/// A table column: a server config or an in-process reference.
pub struct Col {
    pub label: String,
    pub role: Role,
}

pub struct Run {
    pub stats: Stats,
    pub dbsize: Option<i64>,
    pub used_memory: Option<u64>,
    /// used_memory right after FLUSHALL, before the replay: the server's fixed overhead.
    pub used_memory_empty: Option<u64>,
}

pub struct Row {
    pub workload: String,
    pub maxmemory: u64,
    pub requests: usize,
    /// One per column, None where the server failed.
    pub runs: Vec<Option<Run>>,
}

fn cell(v: Option<f64>, width: usize) -> String {
    match v {
        Some(v) => format!("{:>width$.2}", v * 100.0),
        None => format!("{:>width$}", "n/a"),
    }
}

fn delta(v: Option<f64>, width: usize) -> String {
    match v {
        Some(v) => format!("{:>+width$.2}", v * 100.0),
        None => format!("{:>width$}", "n/a"),
    }
}

/// One metric's table. `metric` reads the ratio out of a run.
pub fn table(title: &str, specs: &[Col], rows: &[Row], metric: fn(&Stats) -> f64) -> String {
    let name_w = rows
        .iter()
        .map(|r| r.workload.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let widths: Vec<usize> = specs.iter().map(|s| s.label.len().max(7)).collect();
    let redis: Vec<usize> = (0..specs.len())
        .filter(|&i| specs[i].role == Role::Redis)
        .collect();
    let cachet: Vec<usize> = (0..specs.len())
        .filter(|&i| specs[i].role == Role::Cachet)
        .collect();
    let show_best = !redis.is_empty() && !cachet.is_empty();
    let mut out = String::new();
    let _ = writeln!(out, "\n{title} (%)");
    let mut header = format!("{:<name_w$}", "workload");
    for (s, w) in specs.iter().zip(&widths) {
        let _ = write!(header, "  {:>w$}", s.label);
    }
    let delta_labels: Vec<String> = cachet
        .iter()
        .map(|&i| format!("{} - best", specs[i].label))
        .collect();
    if show_best {
        let _ = write!(header, "  {:>10}", "best Redis");
        for l in &delta_labels {
            let _ = write!(header, "  {:>w$}", l, w = l.len());
        }
    }
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.len()));

    let mut sums = vec![(0.0, 0usize); specs.len()];
    let mut best_sum = (0.0, 0usize);
    let mut delta_sums = vec![(0.0, 0usize); cachet.len()];
    let mut flagged = false;
    let print_row = |out: &mut String, name: &str, values: &[Option<f64>], errors: &[bool]| {
        let mut line = format!("{name:<name_w$}");
        for ((v, w), &e) in values.iter().zip(&widths).zip(errors) {
            if e {
                line += &format!("  {}*", cell(*v, *w - 1));
            } else {
                line += &format!("  {}", cell(*v, *w));
            }
        }
        if show_best {
            let best = redis
                .iter()
                .filter_map(|&i| values[i])
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            line += &format!("  {}", cell(best, 10));
            for (&i, l) in cachet.iter().zip(&delta_labels) {
                let d = match (values[i], best) {
                    (Some(c), Some(b)) => Some(c - b),
                    _ => None,
                };
                line += &format!("  {}", delta(d, l.len()));
            }
        }
        let _ = writeln!(out, "{line}");
    };
    for row in rows {
        let values: Vec<Option<f64>> = row
            .runs
            .iter()
            .map(|r| r.as_ref().map(|r| metric(&r.stats)))
            .collect();
        for (sum, v) in sums.iter_mut().zip(&values) {
            if let Some(v) = v {
                sum.0 += v;
                sum.1 += 1;
            }
        }
        let best = redis
            .iter()
            .filter_map(|&i| values[i])
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        if let Some(b) = best {
            best_sum.0 += b;
            best_sum.1 += 1;
            for (k, &i) in cachet.iter().enumerate() {
                if let Some(c) = values[i] {
                    delta_sums[k].0 += c - b;
                    delta_sums[k].1 += 1;
                }
            }
        }
        let errors: Vec<bool> = row
            .runs
            .iter()
            .map(|r| {
                r.as_ref()
                    .is_some_and(|r| r.stats.get_errors + r.stats.set_errors > 0)
            })
            .collect();
        flagged |= errors.iter().any(|&e| e);
        print_row(&mut out, &row.workload, &values, &errors);
    }
    // The average row averages each column over the workloads it has, and best/delta columns
    // average the per-workload best, not the best of the averages.
    let avg = |s: (f64, usize)| {
        if s.1 == 0 {
            None
        } else {
            Some(s.0 / s.1 as f64)
        }
    };
    let mut line = format!("{:<name_w$}", "average");
    for (s, w) in sums.iter().zip(&widths) {
        line += &format!("  {}", cell(avg(*s), *w));
    }
    if show_best {
        line += &format!("  {}", cell(avg(best_sum), 10));
        for (s, l) in delta_sums.iter().zip(&delta_labels) {
            line += &format!("  {}", delta(avg(*s), l.len()));
        }
    }
    let _ = writeln!(out, "{}\n{line}", "-".repeat(line.len()));
    if flagged {
        let _ = writeln!(
            out,
            "* the server answered errors to some GETs/SETs (see its run line above)"
        );
    }
    out
}

/// Keys held and used_memory at the end of each run.
pub fn memory_table(specs: &[Col], rows: &[Row]) -> String {
    let name_w = rows
        .iter()
        .map(|r| r.workload.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::from("\nAt the end: keys held (DBSIZE) / used_memory MiB / bytes per key (used_memory growth over the empty server / keys)\n");
    let mut header = format!("{:<name_w$}  {:>9}", "workload", "maxmem");
    for s in specs {
        let _ = write!(header, "  {:>24}", s.label);
    }
    let _ = writeln!(out, "{header}\n{}", "-".repeat(header.len()));
    for row in rows {
        let mut line = format!(
            "{:<name_w$}  {:>9.2}",
            row.workload,
            row.maxmemory as f64 / 1048576.0
        );
        for run in &row.runs {
            let text = match run {
                Some(Run {
                    dbsize: Some(keys),
                    used_memory: None,
                    ..
                }) => format!("{keys} keys"),
                Some(r) => {
                    let keys = r.dbsize.map_or("?".into(), |k| k.to_string());
                    let mem = r
                        .used_memory
                        .map_or("?".into(), |m| format!("{:.2}", m as f64 / 1048576.0));
                    let per = match (r.dbsize, r.used_memory, r.used_memory_empty) {
                        (Some(k), Some(m), Some(e)) if k > 0 => {
                            format!("{}", m.saturating_sub(e) / k as u64)
                        }
                        _ => "?".into(),
                    };
                    format!("{keys} / {mem} / {per}")
                }
                None => "n/a".into(),
            };
            line += &format!("  {text:>24}");
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

pub fn csv(specs: &[Col], rows: &[Row]) -> String {
    let mut out = String::from(
        "workload,server,maxmemory,requests,measured,hits,object_hit_ratio,byte_hit_ratio,cost_hit_ratio,\
         sets,dbsize,used_memory,used_memory_empty,get_errors,set_errors,wrong_len,seconds\n",
    );
    for row in rows {
        for (spec, run) in specs.iter().zip(&row.runs) {
            let Some(r) = run else { continue };
            let s = &r.stats;
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{:.6},{:.6},{:.6},{},{},{},{},{},{},{},{:.3}",
                row.workload,
                spec.label,
                row.maxmemory,
                row.requests,
                s.measured,
                s.hits,
                s.object(),
                s.byte(),
                s.cost(),
                s.sets,
                r.dbsize.map_or(String::new(), |v| v.to_string()),
                r.used_memory.map_or(String::new(), |v| v.to_string()),
                r.used_memory_empty.map_or(String::new(), |v| v.to_string()),
                s.get_errors,
                s.set_errors,
                s.wrong_len,
                s.seconds
            );
        }
    }
    out
}
