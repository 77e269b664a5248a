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
    /// GETBIT, SETBIT and BITFIELD offsets: not an integer, negative, or past
    /// `proto-max-bulk-len` bytes.
    BitOffset,
    /// SETBIT's value is neither 0 nor 1.
    BitValue,
    /// BITPOS's bit is neither 0 nor 1.
    BitposBit,
    BitopNotArity,
    BitfieldType,
    BitfieldOverflowType,
    BitfieldReadOnly,
    /// A string that is not a HyperLogLog (PFADD, PFCOUNT, PFMERGE, PFDEBUG).
    NotHll,
    /// A HyperLogLog whose sparse registers do not add up (`INVALIDOBJ`).
    CorruptHll,
    /// PFDEBUG on a missing key.
    PfdebugNoKey,
    /// PFDEBUG DECODE of a dense HyperLogLog.
    PfdebugNotSparse,
    /// `ERR Unknown PFDEBUG subcommand '<sub>'`, quoting the client's bytes.
    PfdebugUnknown(Vec<u8>),
    /// PFSELFTEST found the registers or the estimator wrong: `TESTFAILED <what>`.
    HllSelfTest(String),
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
            CmdError::BitOffset => "ERR bit offset is not an integer or out of range".into(),
            CmdError::BitValue => "ERR bit is not an integer or out of range".into(),
            CmdError::BitposBit => "ERR The bit argument must be 1 or 0.".into(),
            CmdError::BitopNotArity => "ERR BITOP NOT must be called with a single source key.".into(),
            CmdError::BitfieldType => "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.".into(),
            CmdError::BitfieldOverflowType => "ERR Invalid OVERFLOW type specified".into(),
            CmdError::BitfieldReadOnly => "ERR BITFIELD_RO only supports the GET subcommand".into(),
            CmdError::NotHll => "WRONGTYPE Key is not a valid HyperLogLog string value.".into(),
            CmdError::CorruptHll => "INVALIDOBJ Corrupted HLL object detected".into(),
            CmdError::PfdebugNoKey => "ERR The specified key does not exist".into(),
            CmdError::PfdebugNotSparse => "ERR HLL encoding is not sparse".into(),
            CmdError::PfdebugUnknown(_) => {
                String::from_utf8_lossy(&self.message_bytes()).into_owned().into()
            }
            CmdError::HllSelfTest(what) => format!("TESTFAILED {what}").into(),
            CmdError::Message(text) => text.clone(),
            CmdError::Raw(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
        }
    }

    /// The message as sent on the wire, client bytes included verbatim.
    pub fn message_bytes(&self) -> Cow<'static, [u8]> {
        match self {
            CmdError::Raw(bytes) => Cow::Owned(bytes.clone()),
            CmdError::PfdebugUnknown(sub) => {
                // `%s` of a C string, and addReplyErrorFormat's newlines made spaces.
                let mut text = b"ERR Unknown PFDEBUG subcommand '".to_vec();
                text.extend(c_string(sub).iter().map(|&b| match b {
                    b'\r' | b'\n' => b' ',
                    b => b,
                }));
                text.push(b'\'');
                Cow::Owned(text)
            }
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

/// The argument as a C function sees it: up to its first NUL byte.
pub fn c_string(arg: &[u8]) -> &[u8] {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    &arg[..end]
}

/// At most `max` characters of `text` (Redis's `%.128s`).
pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

pub type CmdResult = Result<(), CmdError>;
