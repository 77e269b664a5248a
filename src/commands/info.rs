//! placeholder until the family lands.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
