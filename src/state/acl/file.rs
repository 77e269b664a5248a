//! The ACL file (`aclfile`) and `user` directives: parsed whole before anything is applied, so a
//! file with an error changes nothing (Redis 7.0's `ACLLoadFromFile`, its error texts naming the
//! file and line); written to a temporary file and renamed over the old one (`ACL SAVE`).

use std::io::Write;
use std::path::Path;

use super::rules::{
    apply_user_op, describe_user, has_spaces, merge_selectors, RuleContext, RuleError,
};
use super::{CommandIndex, User};

/// Users from the ACL file's text, or Redis's error text (every error found, then the warning
/// that nothing changed).
pub fn parse(text: &str, filename: &str, ctx: &RuleContext<'_>) -> Result<Vec<User>, String> {
    let mut errors = String::new();
    let mut users: Vec<User> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let number = i + 1;
        let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&str> = line.split(' ').filter(|a| !a.is_empty()).collect();
        if argv.is_empty() {
            continue;
        }
        if argv[0] != "user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{filename}:{number} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = argv[1];
        if has_spaces(name.as_bytes()) {
            errors.push_str(&format!(
                "'{filename}:{number}: username '{name}' contains invalid characters. "
            ));
            continue;
        }
        if users.iter().any(|u| u.name == name.as_bytes()) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{name}' found on line {number}. "
            ));
            continue;
        }
        let mut user = User::new(name.as_bytes(), ctx.pubsub_all_channels);
        let rules: Vec<&[u8]> = argv[2..].iter().map(|a| a.as_bytes()).collect();
        let merged = match merge_selectors(&rules) {
            Ok(merged) => merged,
            Err(_) => {
                errors.push_str(&format!(
                    "{filename}:{number}: Unmatched parenthesis in selector definition."
                ));
                continue;
            }
        };
        let mut syntax_error = false;
        for rule in &merged {
            match apply_user_op(&mut user, rule, ctx) {
                Ok(()) => {}
                Err(RuleError::UnknownName) => errors.push_str(&format!(
                    "{filename}:{number}: Error in applying operation '{}': {}. ",
                    String::from_utf8_lossy(rule),
                    RuleError::UnknownName.message()
                )),
                Err(err) if !syntax_error => {
                    errors.push_str(&format!("{filename}:{number}: {}. ", err.message()));
                    syntax_error = true;
                }
                Err(_) => {}
            }
        }
        users.push(user);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        Err(errors)
    }
}

/// The users as ACL LIST shows them, one `user` line each.
pub fn render<'a>(users: impl Iterator<Item = &'a User>, index: &CommandIndex) -> String {
    let mut text = String::new();
    for user in users {
        text.push_str("user ");
        text.push_str(&String::from_utf8_lossy(&user.name));
        text.push(' ');
        text.push_str(&describe_user(user, index));
        text.push('\n');
    }
    text
}

/// Writes `text` to `path` atomically: a reader sees the old file or the new one, never half.
pub fn save(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp-{}", std::process::id()));
    let temp = std::path::PathBuf::from(temp);
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())
                .and_then(|_| file.sync_all())
        })
        .and_then(|_| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::command::{CommandSpec, SPEC};

    static TABLE: &[CommandSpec] = &[CommandSpec {
        name: "get",
        acl_categories: acl!(READ, STRING, FAST),
        ..SPEC
    }];

    fn load(text: &str) -> Result<Vec<User>, String> {
        let index = CommandIndex::new(TABLE.iter());
        let ctx = RuleContext {
            index: &index,
            pubsub_all_channels: false,
        };
        parse(text, "users.acl", &ctx)
    }

    #[test]
    fn a_good_file() {
        let users = load("user a on >pw +get ~k*\n\n  user b off (+get ~x)  \r\n").unwrap();
        assert_eq!(users.len(), 2);
        assert!(users[0].enabled && users[0].password_ok(b"pw"));
        assert_eq!(users[1].selectors.len(), 1);
        let index = CommandIndex::new(TABLE.iter());
        assert_eq!(
            render(users.iter(), &index),
            format!(
                "user a on #{} ~k* resetchannels -@all +@read\nuser b off resetchannels -@all (~x resetchannels -@all +@read)\n",
                super::super::hash_password(b"pw")
            )
        );
    }

    #[test]
    fn errors_name_the_line_and_nothing_is_applied() {
        let error =
            load("user a on +get\nfoo bar\nuser b +nosuch\nuser c %X~k\nuser a on\n").unwrap_err();
        assert_eq!(
            error,
            "users.acl:2 should start with user keyword followed by the username. \
             users.acl:3: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             users.acl:4: Syntax error. \
             WARNING: Duplicate user 'a' found on line 5. \
             WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
        assert!(load("user a (+get\n")
            .unwrap_err()
            .contains(":1: Unmatched parenthesis"));
    }

    #[test]
    fn save_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("cachet-acl-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.acl");
        std::fs::write(&path, "old\n").unwrap();
        save(&path, "user a off\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "user a off\n");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(save(&dir.join("missing/users.acl"), "x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
