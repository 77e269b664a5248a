//! The `region` directive's grammar, shared by the conf file, `--region` flags, CACHE.REGION SET
//! and CONFIG REWRITE:
//! `region <name> prefix <p> [maxmemory <bytes>] [maxmemory-keys <n>] [policy <p>]
//! [default-ttl <s>] [priority <p>]`. Repeated, one line per region; not a CONFIG GET/SET
//! directive (Redis has none like it), but CONFIG REWRITE writes the regions in force back.

use super::parse_memory;
use crate::engine::region::RegionSpec;
use crate::engine::{Policy, Priority};

/// Longest region name: it appears in INFO field names and metric labels.
const MAX_NAME_BYTES: usize = 64;

/// A region from its words (the name first). The reason of a refusal names the word at fault.
pub fn parse(words: &[&[u8]]) -> Result<RegionSpec, String> {
    let Some((name, options)) = words.split_first() else {
        return Err("a region needs a name and a prefix".into());
    };
    let name = std::str::from_utf8(name)
        .ok()
        .filter(|n| {
            !n.is_empty()
                && n.len() <= MAX_NAME_BYTES
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .ok_or("a region's name is 1-64 letters, digits, '-', '_' or '.'")?;
    let mut spec = RegionSpec::new(name, b"");
    let mut prefix = None;
    let mut pairs = options.chunks(2);
    for pair in &mut pairs {
        let [option, value] = pair else {
            return Err(format!(
                "option '{}' needs a value",
                String::from_utf8_lossy(pair[0])
            ));
        };
        let option = String::from_utf8_lossy(option).to_ascii_lowercase();
        let text = std::str::from_utf8(value).unwrap_or("");
        let number = |what: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("{what} must be a non-negative integer"))
        };
        match option.as_str() {
            "prefix" if !value.is_empty() => prefix = Some(value.to_vec()),
            "prefix" => return Err("the prefix must not be empty".into()),
            "maxmemory" => {
                spec.maxmemory = parse_memory(text)
                    .filter(|_| !text.is_empty())
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or("maxmemory must be a memory amount (bytes, or 100kb, 10mb, 1gb)")?
            }
            "maxmemory-keys" => spec.maxmemory_keys = number("maxmemory-keys")? as usize,
            "policy" => {
                spec.policy = Policy::parse(text).ok_or_else(|| {
                    let names: Vec<&str> = Policy::ALL.iter().map(|p| p.name()).collect();
                    format!(
                        "unknown policy '{}' (one of {})",
                        String::from_utf8_lossy(value),
                        names.join(", ")
                    )
                })?
            }
            "default-ttl" => spec.default_ttl = number("default-ttl")?,
            "priority" => {
                spec.priority = Some(
                    Priority::parse(value)
                        .ok_or("priority must be low, normal, high or critical")?,
                )
            }
            other => return Err(format!("unknown region option '{other}'")),
        }
    }
    spec.prefix = prefix.ok_or("a region needs a prefix (prefix <p>)")?;
    // 2^53 ms is far beyond any date a TTL can reach; keeps now + ttl from overflowing.
    if spec.default_ttl > (1 << 40) {
        return Err("default-ttl is out of range".into());
    }
    Ok(spec)
}

/// The directive's words for a region, as `parse` reads them back (CONFIG REWRITE, LIST).
pub fn words(spec: &RegionSpec) -> Vec<Vec<u8>> {
    let mut words: Vec<Vec<u8>> = vec![
        spec.name.clone().into_bytes(),
        b"prefix".to_vec(),
        spec.prefix.clone(),
    ];
    let mut option = |name: &str, value: String| {
        words.push(name.as_bytes().to_vec());
        words.push(value.into_bytes());
    };
    if spec.maxmemory > 0 {
        option("maxmemory", spec.maxmemory.to_string());
    }
    if spec.maxmemory_keys > 0 {
        option("maxmemory-keys", spec.maxmemory_keys.to_string());
    }
    option("policy", spec.policy.name().to_string());
    if spec.default_ttl > 0 {
        option("default-ttl", spec.default_ttl.to_string());
    }
    if let Some(priority) = spec.priority {
        option("priority", priority.name().to_string());
    }
    words
}

/// A conf file line for the region, its words quoted where they need it.
pub fn line(spec: &RegionSpec) -> String {
    let quoted: Vec<String> = words(spec)
        .iter()
        .map(|w| {
            let text = String::from_utf8_lossy(w);
            if text.is_empty()
                || text.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            {
                format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                text.into_owned()
            }
        })
        .collect();
    format!("region {}", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str) -> Vec<&[u8]> {
        text.split(' ').map(str::as_bytes).collect()
    }

    #[test]
    fn parses_and_reads_back() {
        let spec = parse(&words_of(
            "sessions prefix sess: maxmemory 1mb maxmemory-keys 10 policy ALLKEYS-LRU default-ttl 60 priority low",
        ))
        .unwrap();
        assert_eq!(spec.prefix, b"sess:");
        assert_eq!(spec.maxmemory, 1 << 20);
        assert_eq!(spec.maxmemory_keys, 10);
        assert_eq!(spec.policy, Policy::AllKeysLru);
        assert_eq!(spec.default_ttl, 60);
        assert_eq!(spec.priority, Some(Priority::Low));
        let back: Vec<Vec<u8>> = words(&spec);
        let back: Vec<&[u8]> = back.iter().map(Vec::as_slice).collect();
        assert_eq!(parse(&back).unwrap(), spec);
        assert_eq!(
            line(&spec),
            "region sessions prefix sess: maxmemory 1048576 maxmemory-keys 10 policy allkeys-lru default-ttl 60 priority low"
        );
    }

    #[test]
    fn refuses_bad_input() {
        let err = |text: &str| parse(&words_of(text)).unwrap_err();
        assert!(err("a prefix p: policy lru").contains("unknown policy 'lru'"));
        assert!(err("a maxmemory 10").contains("needs a prefix"));
        assert!(err("a prefix").contains("needs a value"));
        assert!(err("a prefix p: colour red").contains("unknown region option 'colour'"));
        assert!(err("a prefix p: maxmemory 10zb").contains("memory amount"));
        assert!(err("a prefix p: default-ttl -1").contains("non-negative"));
        assert!(err("a prefix p: priority urgent").contains("priority"));
        assert!(err("a:b prefix p:").contains("name"));
    }
}
