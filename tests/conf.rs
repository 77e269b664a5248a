//! The sample conf file documents every directive with its default, and loads cleanly.

use cachet::state::config::{apply_conf_text, directives};
use cachet::ConfigValues;

const SAMPLE: &str = include_str!("../conf/cachet.conf");

#[test]
fn sample_lists_every_directive_with_its_default() {
    for directive in directives() {
        let default = if directive.default.is_empty() || directive.default.contains(' ') {
            format!("\"{}\"", directive.default)
        } else {
            directive.default.to_string()
        };
        let line = format!("{} {}", directive.name, default);
        let present = SAMPLE
            .lines()
            .any(|l| l.trim_start_matches('#').trim() == line);
        assert!(
            present,
            "conf/cachet.conf has no line `{line}` (commented or not)"
        );
    }
}

#[test]
fn sample_loads_to_the_defaults() {
    let mut values = ConfigValues::default();
    apply_conf_text(&mut values, SAMPLE).expect("sample conf parses");
    let defaults = ConfigValues::default();
    for directive in directives() {
        assert_eq!(
            (directive.get)(&values),
            (directive.get)(&defaults),
            "{} differs from its default",
            directive.name
        );
    }
}
