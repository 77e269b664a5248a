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
    /// The GEO family's own errors.
    Geo(GeoError),
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
            CmdError::Geo(err) => err.message(),
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

/// Errors of the GEO commands (Redis's `geo.c`).
#[derive(Debug, Clone, PartialEq)]
pub enum GeoError {
    /// A longitude or latitude outside the Web Mercator limits, printed as C's `%f`.
    InvalidPair {
        lon: f64,
        lat: f64,
    },
    UnsupportedUnit,
    RadiusNotNumeric,
    WidthNotNumeric,
    HeightNotNumeric,
    NegativeRadius,
    NegativeBox,
    CountNotPositive,
    /// FROMMEMBER or GEORADIUSBYMEMBER's member is not in the set.
    MemberNotFound,
    /// WITHDIST, WITHHASH or WITHCOORD with a store: GEOSEARCHSTORE's wording when `search`.
    StoreWithReplyOptions {
        search: bool,
    },
    /// GEOSEARCH without FROMMEMBER or FROMLONLAT; the command's name as the client spelt it.
    CenterMissing(String),
    /// GEOSEARCH without BYRADIUS or BYBOX; the command's name as the client spelt it.
    ShapeMissing(String),
    AnyWithoutCount,
}

// The coordinates of `InvalidPair` are never NaN: the parser refuses NaN before the range check.
impl Eq for GeoError {}

impl GeoError {
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            GeoError::InvalidPair { lon, lat } => {
                format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}").into()
            }
            GeoError::UnsupportedUnit => {
                "ERR unsupported unit provided. please use M, KM, FT, MI".into()
            }
            GeoError::RadiusNotNumeric => "ERR need numeric radius".into(),
            GeoError::WidthNotNumeric => "ERR need numeric width".into(),
            GeoError::HeightNotNumeric => "ERR need numeric height".into(),
            GeoError::NegativeRadius => "ERR radius cannot be negative".into(),
            GeoError::NegativeBox => "ERR height or width cannot be negative".into(),
            GeoError::CountNotPositive => "ERR COUNT must be > 0".into(),
            GeoError::MemberNotFound => "ERR could not decode requested zset member".into(),
            GeoError::StoreWithReplyOptions { search } => format!(
                "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                if *search {
                    "GEOSEARCHSTORE"
                } else {
                    "STORE option in GEORADIUS"
                }
            )
            .into(),
            GeoError::CenterMissing(command) => format!(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {command}"
            )
            .into(),
            GeoError::ShapeMissing(command) => {
                format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {command}")
                    .into()
            }
            GeoError::AnyWithoutCount => "ERR the ANY argument requires COUNT argument".into(),
        }
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
