//! `LATENCY LATEST|HISTORY|RESET|DOCTOR|GRAPH|HISTOGRAM|HELP` over `state::latency` (the latency
//! monitor's events) and `state::metrics` (the per-command histograms), with Redis's report and
//! ASCII graph (`latency.c`, `sparkline.c`).

use std::fmt::Write;

use bytes::Bytes;

use super::{slot_names, slots_named};
use crate::commands::{reply_help, CommandFlags, CommandSpec, Ctx, SPEC as DEFAULT};
use crate::error::{CmdError, CmdResult};
use crate::state::latency::TimeSeries;
use crate::state::metrics::histogram::Snapshot;
use crate::state::Server;

const ADMIN_FLAGS: CommandFlags = flags!(ADMIN, NOSCRIPT, LOADING, STALE);

const fn admin(
    name: &'static str,
    arity: i32,
    summary: &'static str,
    handler: crate::commands::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags: ADMIN_FLAGS,
        acl_categories: acl!(ADMIN, SLOW, DANGEROUS),
        group: "server",
        summary,
        since: "2.8.13",
        handler: Some(handler),
        ..DEFAULT
    }
}

pub const SPEC: CommandSpec = CommandSpec {
    name: "latency",
    arity: -2,
    acl_categories: acl!(SLOW),
    group: "server",
    summary: "A container for latency diagnostics commands",
    since: "2.8.13",
    complexity: "Depends on subcommand.",
    subcommands: &[
        admin(
            "doctor",
            2,
            "Return a human readable latency analysis report.",
            doctor,
        ),
        admin("graph", 3, "Return a latency graph for the event.", graph),
        CommandSpec {
            since: "7.0.0",
            ..admin(
                "histogram",
                -2,
                "Return the cumulative distribution of latencies of a subset of commands or all.",
                histogram,
            )
        },
        admin(
            "history",
            3,
            "Return timestamp-latency samples for the event.",
            history,
        ),
        admin(
            "latest",
            2,
            "Return the latest latency samples for all events.",
            latest,
        ),
        admin(
            "reset",
            -2,
            "Reset latency data for one or more events.",
            reset,
        ),
        CommandSpec {
            name: "help",
            arity: 2,
            flags: flags!(LOADING, STALE),
            acl_categories: acl!(SLOW),
            group: "server",
            summary: "Show helpful text about the different subcommands.",
            since: "2.8.13",
            handler: Some(help),
            ..DEFAULT
        },
    ],
    ..DEFAULT
};

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn latest(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let events = ctx.server.latency.events();
    ctx.out.array(events.len());
    for (name, series) in &events {
        let latest = series.latest();
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(latest.time as i64);
        ctx.out.int(latest.latency as i64);
        ctx.out.int(series.max as i64);
    }
    Ok(())
}

fn history(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some((_, series)) = ctx.server.latency.event(&args[2]) else {
        ctx.out.array(0);
        return Ok(());
    };
    let samples: Vec<_> = series.samples().collect();
    ctx.out.array(samples.len());
    for sample in samples {
        ctx.out.array(2);
        ctx.out.int(sample.time as i64);
        ctx.out.int(sample.latency as i64);
    }
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let latency = &ctx.server.latency;
    let resets = if args.len() == 2 {
        latency.reset(None)
    } else {
        args[2..]
            .iter()
            .map(|event| latency.reset(Some(event)))
            .sum()
    };
    ctx.out.int(resets as i64);
    Ok(())
}

fn graph(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some((name, series)) = ctx.server.latency.event(&args[2]) else {
        return Err(CmdError::LatencyNoSamples(args[2].to_vec()));
    };
    let text = sparkline_graph(&name, &series, unix_seconds());
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let report = report(ctx.server, unix_seconds());
    ctx.out.verbatim("txt", report.as_bytes());
    Ok(())
}

/// `LATENCY HISTOGRAM [command ...]`: a map of command name to `calls` and `histogram_usec`
/// (Redis's `fillCommandCDF`); every command that has samples when none is named. A name that is
/// not a command, or a command without samples, is left out.
fn histogram(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let slots: Vec<usize> = if args.len() == 2 {
        (0..slot_names().len()).collect()
    } else {
        args[2..]
            .iter()
            .flat_map(|name| slots_named(name))
            .collect()
    };
    let metrics = &ctx.server.metrics;
    let found: Vec<(usize, Snapshot)> = slots
        .into_iter()
        .filter_map(|slot| metrics.histogram(slot).map(|h| (slot, h)))
        .collect();
    ctx.out.map(found.len());
    for (slot, snapshot) in found {
        ctx.out.bulk(slot_names()[slot].as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(snapshot.total as i64);
        ctx.out.bulk(b"histogram_usec");
        let buckets = snapshot.log_buckets();
        ctx.out.map(buckets.len());
        for (micros, cumulative) in buckets {
            ctx.out.int(micros as i64);
            ctx.out.int(cumulative as i64);
        }
    }
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

/// Redis's `latencyCommandGenSparkeline`: a title, a rule, then the samples as a filled
/// sparkline of 4 rows and 80 columns, each labelled with how long ago it was.
pub fn sparkline_graph(event: &str, series: &TimeSeries, now: u64) -> String {
    const COLUMNS: usize = 80;
    const ROWS: usize = 4;
    let samples: Vec<(f64, String)> = series
        .samples()
        .map(|sample| {
            let elapsed = now.saturating_sub(sample.time);
            let label = match elapsed {
                0..=59 => format!("{elapsed}s"),
                60..=3599 => format!("{}m", elapsed / 60),
                3600..=86399 => format!("{}h", elapsed / 3600),
                _ => format!("{}d", elapsed / 86400),
            };
            (sample.latency as f64, label)
        })
        .collect();
    let low = series.samples().map(|s| s.latency).min().unwrap_or(0);
    let high = series.samples().map(|s| s.latency).max().unwrap_or(0);
    let mut out = format!(
        "{event} - high {high} ms, low {low} ms (all time high {} ms)\n",
        series.max
    );
    out.push_str(&"-".repeat(COLUMNS));
    out.push('\n');
    // The sequence's range, as `sparklineSequenceAddSample` keeps it.
    let (mut min, mut max) = (0.0f64, 0.0f64);
    for (index, (value, _)) in samples.iter().enumerate() {
        if index == 0 {
            (min, max) = (*value, *value);
        } else if *value < min {
            min = *value;
        } else if *value > max {
            max = *value;
        }
    }
    for (chunk_index, chunk) in samples.chunks(COLUMNS).enumerate() {
        if chunk_index > 0 {
            out.push('\n');
        }
        render_range(&mut out, chunk, min, max, ROWS);
    }
    out
}

/// Redis's `sparklineRenderRange` with `SPARKLINE_FILL`: `_o#` over `rows` rows, `|` below the
/// top, then a blank line and the labels written downwards.
fn render_range(out: &mut String, samples: &[(f64, String)], min: f64, max: f64, rows: usize) {
    const CHARSET: &[u8] = b"_o#";
    const LABEL_MARGIN_TOP: usize = 1;
    let charset_len = CHARSET.len() as i64;
    let steps = charset_len * rows as i64;
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let mut row = 0usize;
    loop {
        let mut chars = vec![b' '; samples.len()];
        let mut again = false;
        for (j, (value, label)) in samples.iter().enumerate() {
            let relval = value - min;
            let step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
            let step = step.clamp(0, steps - 1);
            if row < rows {
                let charidx = step - ((rows - row - 1) as i64 * charset_len);
                again = true;
                if (0..charset_len).contains(&charidx) {
                    chars[j] = CHARSET[charidx as usize];
                } else if charidx >= charset_len {
                    chars[j] = b'|';
                }
            } else {
                if row - rows < LABEL_MARGIN_TOP {
                    again = true;
                    break;
                }
                let label_char = row - rows - LABEL_MARGIN_TOP;
                if let Some(&c) = label.as_bytes().get(label_char) {
                    again = true;
                    chars[j] = c;
                }
            }
        }
        if !again {
            break;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&chars));
        out.push('\n');
    }
}

/// Redis's `createLatencyReport` for the events cachet records (`command`, `fast-command`,
/// `expire-cycle`, `eviction-cycle`) and the huge-pages check; the advice about fork, AOF and
/// disks never applies to a server that neither forks nor persists.
pub fn report(server: &Server, now: u64) -> String {
    let events = server.latency.events();
    let threshold = server.latency.threshold();
    if events.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string();
    }
    let (slowlog_threshold, hz) = {
        let config = server.config.read();
        (config.slowlog_log_slower_than, config.hz)
    };
    let mut report = String::new();
    let mut advices = 0;
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut hz_advice, mut large_objects, mut mass_eviction) =
        (false, false, false, false);
    for (number, (event, series)) in events.iter().enumerate() {
        if number == 0 {
            report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let analysis = series.analyze(now);
        let _ = write!(
            report,
            "{}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            number + 1,
            analysis.samples,
            analysis.avg,
            analysis.mad,
            analysis.period as f64 / analysis.samples.max(1) as f64,
            series.max
        );
        match event.to_ascii_lowercase().as_str() {
            "command" => {
                if slowlog_threshold < 0 {
                    slowlog_enabled = true;
                    advices += 1;
                } else if (slowlog_threshold / 1000) as u64 > threshold {
                    slowlog_tuning = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                hz_advice = true;
                large_objects = true;
                advices += 2;
            }
            "eviction-cycle" => {
                mass_eviction = true;
                advices += 1;
            }
            _ => {}
        }
        report.push('\n');
    }
    let huge_pages = crate::os::anon_huge_pages_bytes() > 0;
    if huge_pages {
        advices += 1;
    }
    if events.is_empty() && advices == 0 {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return report;
    }
    if advices == 0 {
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return report;
    }
    report.push_str("\nI have a few advices for you:\n\n");
    if slowlog_enabled {
        let _ = writeln!(report, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.", threshold * 1000);
    }
    if slowlog_tuning {
        let _ = writeln!(report, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.", threshold * 1000);
    }
    if slowlog_inspect {
        report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if scheduler {
        report.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if hz_advice && hz < 100 {
        report.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if large_objects {
        report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    if mass_eviction {
        report.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
    }
    if huge_pages {
        report.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::latency::LatencyMonitor;

    #[test]
    fn graph_as_redis_draws_it() {
        let monitor = LatencyMonitor::default();
        monitor.add_sample("command", 10, 100);
        monitor.add_sample("command", 40, 130);
        let (name, series) = monitor.event(b"command").unwrap();
        // What redis-server 7.0 draws for samples 10 ms 30 s ago and 40 ms now.
        let expected = "command - high 40 ms, low 10 ms (all time high 40 ms)\n".to_string()
            + &"-".repeat(80)
            + "\n #\n |\n |\n_|\n  \n30\n0s\ns \n";
        assert_eq!(sparkline_graph(&name, &series, 130), expected);
    }
}
