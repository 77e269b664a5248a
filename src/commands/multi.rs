//! Placeholder: this family's commands are built by their own change.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
