//! The ACL rule parser (`ACL SETUSER`, ACL files) on arbitrary rules. Beyond "no panic": a user
//! the rules built is described (`ACL LIST`, what ACL SAVE writes) by rules that build the same
//! user again, so a saved file loads back unchanged; a refused rule leaves the user as it was.
#![no_main]

use cachet::commands::acl::command_index;
use cachet::state::acl::rules::{describe_user, set_user, RuleContext};
use cachet::state::acl::User;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = RuleContext {
        index: command_index(),
        pubsub_all_channels: data.first().is_some_and(|b| b & 1 == 1),
    };
    let rules: Vec<&[u8]> = data.split(|&b| b == b' ').collect();
    let base = User::new(b"fuzz", ctx.pubsub_all_channels);
    let Ok(user) = set_user(base.clone(), &rules, &ctx) else {
        return;
    };
    let described = describe_user(&user, ctx.index);
    let again: Vec<&[u8]> = described.split(|&b| b == b' ').collect();
    let Ok(rebuilt) = set_user(base, &again, &ctx) else {
        // Redis shares this one ambiguity: a key or channel pattern ending in ')' inside a
        // selector ends the selector early when its description is read back (redis-server 7.0:
        // `ACL SETUSER u "(&))"`, then ACL LIST says `(resetchannels &) -@all)`, which SETUSER
        // refuses). Any other description must build the user again.
        assert!(
            described.split(|&b| b == b' ').any(|rule| {
                let start = rule.iter().position(|&b| b != b'(').unwrap_or(rule.len());
                let rule = &rule[start..];
                rule.first().is_some_and(|b| b"~&%".contains(b)) && rule.ends_with(b")")
            }),
            "a description is valid rules: {}",
            String::from_utf8_lossy(&described)
        );
        return;
    };
    assert_eq!(describe_user(&rebuilt, ctx.index), described);
    assert_eq!(rebuilt.passwords, user.passwords);
    assert_eq!(rebuilt.enabled, user.enabled);
    assert_eq!(rebuilt.nopass, user.nopass);
});
