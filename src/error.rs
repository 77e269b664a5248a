//! Every error a command can answer, and the exact Redis 7 string for each. Handlers return
//! `CmdError`; only `message` knows the wire text.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    Overflow,
    NoSuchKey,
    OutOfMemory,
    NoAuth,
    DbIndexOutOfRange,
    InvalidDbIndex,
    /// `ERR invalid expire time in '<command>' command`
    InvalidExpire(&'static str),
    /// `ERR wrong number of arguments for '<command>' command`
    WrongArity(String),
    /// `ERR unknown subcommand '<sub>'. Try <COMMAND> HELP.`
    UnknownSubcommand {
        command: String,
        sub: String,
    },
    /// A complete message, code included (`ERR ...`).
    Message(Cow<'static, str>),
    /// A complete message that quotes client bytes as they came (not necessarily UTF-8).
    Raw(Vec<u8>),
}

impl CmdError {
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::OutOfMemory => {
                "OOM command not allowed when used memory > 'maxmemory'.".into()
            }
            CmdError::NoAuth => "NOAUTH Authentication required.".into(),
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            CmdError::InvalidDbIndex => "ERR invalid DB index".into(),
            CmdError::InvalidExpire(command) => {
                format!("ERR invalid expire time in '{command}' command").into()
            }
            CmdError::WrongArity(command) => {
                format!("ERR wrong number of arguments for '{command}' command").into()
            }
            CmdError::UnknownSubcommand { command, sub } => format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                truncate(sub, 128),
                command.to_ascii_uppercase()
            )
            .into(),
            CmdError::Message(text) => text.clone(),
            CmdError::Raw(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
        }
    }

    /// The message as sent on the wire, client bytes included verbatim.
    pub fn message_bytes(&self) -> Cow<'static, [u8]> {
        match self {
            CmdError::Raw(bytes) => Cow::Owned(bytes.clone()),
            other => match other.message() {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            },
        }
    }

    pub fn msg(text: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Message(text.into())
    }
}

/// At most `max` characters of `text` (Redis's `%.128s`).
pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

pub type CmdResult = Result<(), CmdError>;
