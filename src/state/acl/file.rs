//! The ACL file (`aclfile`) and `user` directives: parsed whole before anything is applied, so a
//! file with an error changes nothing (Redis 7.0's `ACLLoadFromFile`, its error texts naming the
//! file and line); written to a temporary file and renamed over the old one (`ACL SAVE`).

use std::io::Write;
use std::path::Path;

use super::rules::{
    apply_user_op, describe_user, has_spaces, merge_selectors, RuleContext, RuleError,
};
use super::{CommandIndex, User};

/// Users from the ACL file's bytes, or Redis's error text (every error found, then the warning
/// that nothing changed). Names, patterns and rules are bytes, UTF-8 or not, as Redis keeps them.
pub fn parse(text: &[u8], filename: &str, ctx: &RuleContext<'_>) -> Result<Vec<User>, Vec<u8>> {
    let lines = text
        .split(|&b| b == b'\n')
        .map(|line| {
            trim(line)
                .split(|&b| b == b' ')
                .filter(|a| !a.is_empty())
                .collect()
        })
        .collect::<Vec<Vec<&[u8]>>>();
    parse_lines(&lines, filename, ctx)
}

/// `parse` of lines already split into arguments: the conf file's `user` directives, whose
/// quoted rules may hold spaces (`user bob on ">a b"`), as Redis's `ACLAppendUserForLoading`
/// takes them; the ACL file splits at every space, as Redis's does.
pub fn parse_lines(
    lines: &[Vec<&[u8]>],
    filename: &str,
    ctx: &RuleContext<'_>,
) -> Result<Vec<User>, Vec<u8>> {
    let mut errors = Vec::new();
    let mut users: Vec<User> = Vec::new();
    for (i, argv) in lines.iter().enumerate() {
        let number = i + 1;
        if argv.is_empty() {
            continue;
        }
        if argv[0] != b"user" || argv.len() < 2 {
            errors.extend_from_slice(
                format!(
                    "{filename}:{number} should start with user keyword followed by the username. "
                )
                .as_bytes(),
            );
            continue;
        }
        let name = argv[1];
        if has_spaces(name) {
            push_all(
                &mut errors,
                &[
                    format!("'{filename}:{number}: username '").as_bytes(),
                    name,
                    b"' contains invalid characters. ",
                ],
            );
            continue;
        }
        if users.iter().any(|u| u.name == name) {
            push_all(
                &mut errors,
                &[
                    b"WARNING: Duplicate user '",
                    name,
                    format!("' found on line {number}. ").as_bytes(),
                ],
            );
            continue;
        }
        let mut user = User::new(name, ctx.pubsub_all_channels);
        let merged = match merge_selectors(&argv[2..]) {
            Ok(merged) => merged,
            Err(_) => {
                errors.extend_from_slice(
                    format!("{filename}:{number}: Unmatched parenthesis in selector definition.")
                        .as_bytes(),
                );
                continue;
            }
        };
        let mut syntax_error = false;
        for rule in &merged {
            match apply_user_op(&mut user, rule, ctx) {
                Ok(()) => {}
                Err(RuleError::UnknownName) => push_all(
                    &mut errors,
                    &[
                        format!("{filename}:{number}: Error in applying operation '").as_bytes(),
                        rule,
                        format!("': {}. ", RuleError::UnknownName.message()).as_bytes(),
                    ],
                ),
                Err(err) if !syntax_error => {
                    errors.extend_from_slice(
                        format!("{filename}:{number}: {}. ", err.message()).as_bytes(),
                    );
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
        errors.extend_from_slice(
            b"WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        Err(errors)
    }
}

/// Redis's `sdstrim(line, " \t\r\n")`.
fn trim(line: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|b| !blank(b)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |e| e + 1);
    &line[start..end]
}

fn push_all(out: &mut Vec<u8>, parts: &[&[u8]]) {
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// The users as ACL LIST shows them, one `user` line each.
pub fn render<'a>(users: impl Iterator<Item = &'a User>, index: &CommandIndex) -> Vec<u8> {
    let mut text = Vec::new();
    for user in users {
        text.extend_from_slice(b"user ");
        text.extend_from_slice(&user.name);
        text.push(b' ');
        text.extend_from_slice(&describe_user(user, index));
        text.push(b'\n');
    }
    text
}

/// Writes `text` to `path` atomically: a reader sees the old file or the new one, never half.
pub fn save(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp-{}", std::process::id()));
    let temp = std::path::PathBuf::from(temp);
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| file.write_all(text).and_then(|_| file.sync_all()))
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
        load_bytes(text.as_bytes()).map_err(|e| String::from_utf8(e).expect("text"))
    }

    fn load_bytes(text: &[u8]) -> Result<Vec<User>, Vec<u8>> {
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
            String::from_utf8(render(users.iter(), &index)).unwrap(),
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
    fn bytes_that_are_not_utf8_load_and_render_unchanged() {
        let text = b"user \xff on ~\xfe* &\x80 +get\nuser b off ~\xc3(\n";
        let users = load_bytes(text).unwrap();
        assert_eq!(&users[0].name[..], b"\xff");
        let index = CommandIndex::new(TABLE.iter());
        assert_eq!(
            render(users.iter(), &index),
            b"user \xff on ~\xfe* resetchannels &\x80 -@all +@read\nuser b off ~\xc3( resetchannels -@all\n"
        );
        assert_eq!(
            load_bytes(b"user \xff on +\xfe\n").unwrap_err(),
            b"users.acl:1: Error in applying operation '+\xfe': Unknown command or category name in ACL. \
              WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
    }

    #[test]
    fn save_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("cachet-acl-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.acl");
        std::fs::write(&path, "old\n").unwrap();
        save(&path, b"user a off\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "user a off\n");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(save(&dir.join("missing/users.acl"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
