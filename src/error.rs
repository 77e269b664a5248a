//! Every error a client can be answered, and the exact Redis 7 string for each: the only place in
//! the crate that knows wire error text. Handlers and the layers below return a `CmdError` (the
//! parser its `ProtocolError`, which the connection wraps in `CmdError::Protocol`);
//! `message`/`message_bytes` turn it into the text, code included (`ERR ...`, `WRONGTYPE ...`),
//! without the leading `-` and the CRLF.
//!
//! One variant per distinct message, named after what went wrong. Messages that quote what the
//! client sent or a value computed elsewhere carry it as a field: client bytes as `Box<[u8]>`,
//! shown here as UTF-8 (lossily; `Raw` alone is sent verbatim), text as `Box<str>`. Boxed slices
//! rather than `Vec`/`String` keep the enum at 48 bytes: every handler returns one in its `Result`.
//!
//! No `From` conversion into `CmdError`: a second impl besides the identity would leave the error
//! type of every `?` inside a closure to be spelt out.

use std::borrow::Cow;

use bytes::Bytes;

use crate::protocol::ProtocolError;

mod cluster;
pub use cluster::ClusterError;

/// The discriminants (test builds only) let the message table test find a variant without a row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    test,
    derive(strum::EnumDiscriminants),
    strum_discriminants(derive(Hash, strum::EnumIter))
)]
pub enum CmdError {
    // Values and keys, shared by every family.
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    Overflow,
    NoSuchKey,
    OutOfMemory,
    DbIndexOutOfRange,
    InvalidDbIndex,
    /// `ERR invalid expire time in '<command>' command`
    InvalidExpire(&'static str),
    /// `getPositiveLongFromObjectOrReply` without a message of its own (ZPOPMIN count, SPOP
    /// count, LPOP count, CACHE.TOPKEYS).
    NotPositive,
    /// HRANDFIELD WITHVALUES/ZRANDMEMBER WITHSCORES with a count whose double would overflow.
    OutOfRange,
    /// HRANDFIELD/SRANDMEMBER/ZRANDMEMBER count of `LONG_MIN` (Redis takes `-LONG_MAX..=LONG_MAX`).
    CountOutOfLongRange,
    NumkeysNotPositive,
    CountNotPositive,
    /// LPOS `COUNT`.
    CountNegative,
    /// LPOS `MAXLEN`.
    MaxlenNegative,
    /// ZINTERCARD/SINTERCARD `LIMIT`.
    LimitNegative,
    /// SINTERCARD's `numkeys` beyond the arguments.
    NumkeysOverArgs,
    /// `ERR at least 1 input key is needed for '<command>' command` (ZUNION and family).
    AtLeastOneInputKey {
        command: Box<str>,
    },
    /// SCAN and its family (HSCAN, SSCAN, ZSCAN, TAG.SCAN).
    InvalidCursor,
    /// COPY of a key onto itself, MOVE into the database the key is in.
    SameObject,

    // Strings and numbers in values.
    /// DECRBY of `LLONG_MIN`.
    DecrementOverflow,
    /// INCRBYFLOAT/HINCRBYFLOAT whose result is not finite.
    IncrementNanOrInfinity,
    /// HINCRBYFLOAT with an increment that is not finite.
    ValueNanOrInfinity,
    HashValueNotInteger,
    HashValueNotFloat,
    /// `proto-max-bulk-len` (APPEND, SETRANGE).
    StringTooLong,
    /// SETRANGE with a negative offset.
    OffsetOutOfRange,
    /// LCS with both LEN and IDX.
    LcsLenWithIdx,
    LcsNotStrings,
    /// LCS whose table would pass `proto-max-bulk-len`.
    LcsTooLarge,

    // Keys: EXPIRE options, OBJECT.
    /// `ERR Unsupported option <option>` (EXPIRE family).
    UnsupportedOption(Box<[u8]>),
    ExpireNxConflict,
    ExpireGtLtConflict,
    /// OBJECT IDLETIME under an LFU policy.
    IdleTimeNotTracked,
    /// OBJECT FREQ under a policy that is not LFU.
    FrequencyNotTracked,

    // Lists.
    /// LSET beyond the list.
    IndexOutOfRange,
    RankZero,

    // Sorted sets.
    WeightNotFloat,
    NotFloatRange,
    NotLexRange,
    NanScore,
    ZaddXxAndNx,
    ZaddGtLtNx,
    ZaddIncrPairs,
    /// ZRANGE LIMIT without BYSCORE or BYLEX.
    LimitWithoutBy,
    WithscoresByLex,

    // SORT.
    /// A weight (the element, or what BY names) that `strtod` does not read whole, is NaN, or
    /// overflows.
    SortScoreNotDouble,

    // Hash field expiration (HEXPIRE and family).
    /// A negative time.
    FieldExpireNegative,
    /// `FIELDS` is not where the command expects it.
    FieldsKeywordMissing,
    /// HEXPIRE and family: `numfields` not a positive integer.
    NumFieldsNotPositive,
    /// HTTL, HPERSIST and family: `numfields` not a positive integer.
    FieldCountNotPositive,
    /// `numfields` differs from the fields that follow.
    NumFieldsMismatch,

    // Blocking commands.
    TimeoutNotFloat,
    TimeoutNegative,
    /// The reply a client blocked on keys gets from `CLIENT UNBLOCK id ERROR`.
    Unblocked,

    // Commands and their containers.
    /// `ERR wrong number of arguments for '<command>' command`
    WrongArity(String),
    /// `ERR unknown subcommand '<sub>'. Try <COMMAND> HELP.`
    UnknownSubcommand {
        command: &'static str,
        sub: Box<[u8]>,
    },
    /// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <COMMAND> HELP.`:
    /// Redis's `addReplySubcommandSyntaxError` (DEBUG, PUBSUB CHANNELS, CLIENT UNBLOCK).
    UnknownSubcommandOrArity {
        command: &'static str,
        sub: Box<[u8]>,
    },
    /// COMMAND GETKEYS of a command or subcommand that does not exist.
    InvalidCommand,
    /// A database index (SELECT, MOVE, COPY ... DB) beyond a C `int`.
    IntOutOfRange,
    /// SSUBSCRIBE inside EXEC (Redis's `CLIENT_DENY_BLOCKING`).
    SsubscribeDenyBlocking,
    /// A command refused before it could run (unauthenticated, subscribed context) that was an
    /// EXEC: the transaction is discarded and the reason given after EXECABORT.
    ExecRejected(Box<CmdError>),
    /// MONITOR run by EXEC (Redis refuses it to a client that expects one reply per command).
    MonitorDenyBlocking,
    /// A command that touches the keyspace, sent by a client in MONITOR mode (Redis flags those
    /// clients as replicas).
    MonitorKeyspace,
    /// SLOWLOG GET with a count that is not an integer or is below -1.
    SlowlogCount,
    /// `ERR No samples available for event '<event>'` (LATENCY GRAPH), the client's bytes.
    LatencyNoSamples(Vec<u8>),
    NoKeyArguments,
    InvalidArgumentCount,
    InvalidArguments,

    // Connection: protocol, authentication, HELLO, client names.
    /// A protocol violation; the connection replies it and closes.
    Protocol(ProtocolError),
    /// Sent on the socket to a connection refused at accept (`maxclients`).
    MaxClients,
    NoAuth,
    /// AUTH/HELLO AUTH with the wrong user or password.
    WrongPass,
    /// AUTH `<password>` without `requirepass`.
    NoPasswordSet,
    HelloNoAuth,
    ProtocolVersionNotInteger,
    UnsupportedProtocol,
    /// `ERR Syntax error in HELLO option '<option>'`
    HelloOption(Box<[u8]>),
    BadClientName,
    /// A subscribed RESP2 connection sent a command other than (un)subscribe, PING, QUIT, RESET.
    NotAllowedWhileSubscribed {
        command: Box<str>,
    },

    // CLIENT LIST/KILL/UNBLOCK.
    /// `ERR Unknown client type '<type>'`
    UnknownClientType(Box<[u8]>),
    InvalidClientId,
    ClientIdNotPositive,
    /// `ERR No such user '<user>'`
    NoSuchUser(Box<[u8]>),
    NoSuchClient,
    UnblockReason,

    // Client tracking.
    RedirectTwice,
    NoSuchRedirectClient,
    PrefixWithoutBcast,
    TagWithoutBcast,
    BcastSwitch,
    OptInOutWithBcast,
    OptInAndOptOut,
    OptInOutSwitch,
    /// A new BCAST prefix overlapping one the client already tracks.
    PrefixOverlapsExisting {
        prefix: Box<[u8]>,
        existing: Box<[u8]>,
    },
    /// Two overlapping prefixes in one CLIENT TRACKING.
    PrefixOverlapsProvided {
        prefix: Box<[u8]>,
        other: Box<[u8]>,
    },
    CachingWithoutOptInOut,
    CachingYesWithoutOptIn,
    CachingNoWithoutOptOut,

    // Transactions.
    NotAllowedInMulti,
    NestedMulti,
    DiscardWithoutMulti,
    ExecWithoutMulti,
    /// EXEC after a command failed to queue.
    ExecAborted,
    /// EXEC refused over `maxmemory` with a queued command that may grow memory.
    ExecAbortedOutOfMemory,
    WatchInMulti,

    // Server: SWAPDB, SHUTDOWN, CONFIG.
    InvalidFirstDbIndex,
    InvalidSecondDbIndex,
    NoShutdownInProgress,
    ShutdownFailed,
    /// SAVE or BGSAVE while a background save runs.
    BgsaveInProgress,
    /// SAVE that failed: Redis answers a bare `-ERR` (the reason is in the log).
    SaveFailed,
    /// A write (or PING) while the last background save failed and `stop-writes-on-bgsave-error`
    /// is on (Redis's `shared.bgsaveerr`).
    Misconf,
    /// A command not flagged `loading` while the snapshot or an RDB file loads at start (Redis's
    /// `shared.loadingerr`).
    Loading,
    /// CONFIG SET of a directive that does not exist (`name` as typed).
    ConfigUnknown {
        name: Box<str>,
    },
    /// CONFIG SET of a directive that is only read at start.
    ConfigImmutable {
        name: Box<str>,
    },
    /// A protected directive (`enable-protected-configs`) set by a client not allowed to.
    ConfigProtected {
        name: Box<str>,
    },
    /// The same directive twice in one CONFIG SET.
    ConfigDuplicate {
        name: Box<str>,
    },
    /// CONFIG SET of a value the directive refuses. `reason` is the directive's own, written by its
    /// parser in `state::config` (as each of Redis's `config.c` setters writes its `err`): it
    /// depends on the directive and its limits, so it is not duplicated here. It carries no code.
    ConfigInvalid {
        name: Box<str>,
        reason: Box<str>,
    },
    /// CONFIG REWRITE without a conf file.
    ConfigNoFile,
    /// CONFIG REWRITE that could not write the file; the I/O error's text.
    ConfigRewrite(Box<str>),

    // cachet's own commands.
    InvalidPriority,
    /// CACHE.SET ... COMPRESS with an unknown level.
    InvalidCompression,
    /// CACHE.DEPEND with the key among its parents.
    DependsOnItself,
    /// CACHE.PEER ADD/REMOVE with an address that is not UTF-8.
    PeerAddressNotText,
    /// CACHE.PEER ADD/REMOVE where `enable-protected-configs` does not allow changing `peer`.
    PeersProtected,
    /// CACHE.PEER CHALLENGE/AUTH on a daemon without `coherence-secret`.
    SecretNotSet,
    PeerAuthWithoutChallenge,
    PeerProofMismatch,
    /// A client PUBLISH/SPUBLISH on a `__cachet__:` channel.
    ReservedChannel,
    /// CACHE.PEER ADD/REMOVE with addresses the `peer` directive refuses; `reason` is its parser's.
    InvalidPeers {
        reason: Box<str>,
    },
    /// CACHE.PEER REPLAY asked of another node.
    ReplayWrongNode {
        node: Box<[u8]>,
        asked: Box<[u8]>,
    },
    /// CACHE.PEER REPLAY of a run that ended (the node restarted).
    ReplayRunOver {
        run: u64,
        current: u64,
    },
    /// CACHE.PEER REPLAY after a sequence the backlog no longer holds.
    ReplayTrimmed {
        first: u64,
        after: u64,
    },
    /// CACHE.PEER REPLAY after a sequence not yet published.
    ReplayAhead {
        after: u64,
        last: u64,
    },
    /// CACHE.IMPORT with a line that cannot be read; the reason names the field.
    ImportLine(Box<str>),
    /// CACHE.IMPORT whose key argument is not the line's `key`.
    ImportKeyMismatch,
    /// CACHE.WARM FROM while a warm-up runs.
    WarmRunning,
    /// CACHE.WARM FROM with a source that is not `host:port`.
    WarmAddress,
    /// CACHE.REGION SET with a region the `region` directive refuses; the parser's reason.
    InvalidRegion(Box<str>),
    /// CACHE.REGION DEL/INFO of a region that is not configured.
    NoSuchRegion,

    /// A complete message that quotes client bytes as they came (not necessarily UTF-8) and as
    /// Redis cuts them: the unknown-command error, built by `CmdError::unknown_command`; nothing
    /// else uses it.
    /// The GEO family's own errors.
    Geo(GeoError),
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
    /// Scripting and functions (EVAL, SCRIPT, FUNCTION, FCALL).
    Script(ScriptError),
    /// The cluster protocol: CLUSTER, redirections, CACHE.CLUSTER.
    Cluster(ClusterError),
    /// RESTORE onto an existing key without REPLACE.
    BusyKey,
    InvalidTtl,
    InvalidIdletime,
    InvalidFreq,
    /// A DUMP payload of a later RDB version, or whose CRC64 does not match.
    DumpPayloadWrong,
    /// A DUMP payload whose value is damaged.
    BadDataFormat,

    // CLIENT PAUSE/KILL/SETINFO, WAIT, WAITAOF, REPLICAOF, MODULE.
    /// CLIENT PAUSE and WAIT timeouts (milliseconds, integers).
    TimeoutNotInteger,
    PauseMode,
    MaxAgeNotInteger,
    MaxAgeNotPositive,
    /// `ERR Unrecognized option '<attribute>'` (CLIENT SETINFO).
    SetinfoOption(Box<[u8]>),
    /// `ERR <attribute> cannot contain spaces, newlines or special characters.`, the attribute as
    /// the client typed it.
    SetinfoValue(Box<[u8]>),
    /// WAITAOF with `numlocal` > 0: cachet never has `appendonly` on.
    WaitaofNoAof,
    InvalidMasterPort,
    /// REPLICAOF/SLAVEOF of a master: cachet has no replication.
    ReplicationUnsupported,
    /// MODULE LOAD/LOADEX/UNLOAD while `enable-module-command` is `no` (its default).
    ModuleCommandNotAllowed,
    /// MODULE LOAD/LOADEX otherwise: cachet loads no modules.
    ModuleLoad,
    /// MODULE UNLOAD otherwise.
    ModuleUnload,
    /// NOVALUES given to SCAN, SSCAN or ZSCAN.
    NovaluesNotHscan,
    /// The stream family's own errors.
    Stream(StreamError),
    /// XGROUP SETID/CREATECONSUMER/DELCONSUMER of a group the stream does not have.
    NoGroup {
        group: Box<[u8]>,
        key: Box<[u8]>,
    },
    /// XREADGROUP or XPENDING on a key without the stream or without the group.
    NoGroupRead {
        key: Box<[u8]>,
        group: Box<[u8]>,
        in_xreadgroup: bool,
    },
    /// XCLAIM with an option it does not know, quoted.
    UnrecognizedClaimOption(Box<[u8]>),
    /// MIGRATE ... KEYS with a key argument that is not empty.
    MigrateKeysWithKey,
    /// MIGRATE could not connect to the target in time (Redis's text, "client" and all).
    MigrateConnect,
    /// MIGRATE's connection failed or timed out while writing the request or reading replies.
    MigrateIo {
        writing: bool,
    },
    /// The target answered MIGRATE's AUTH, SELECT or a RESTORE with this error line.
    MigrateTarget(Box<[u8]>),
    Raw(Vec<u8>),

    // ACL and the safe defaults.
    /// A command the user may not run, named as Redis names it (`config|set`).
    NoPermCommand(Box<str>),
    NoPermKey,
    NoPermChannel,
    /// EXEC of a queued command the user lost the permission for since it was queued: the
    /// reason as Redis words it.
    ExecNoPerm(&'static str),
    /// ACL SETUSER's refused rule, in `state::acl::rules`' words.
    AclRule(Box<[u8]>),
    AclUsernameSpaces,
    AclDeleteDefault,
    AclNoFile,
    /// ACL LOAD's errors, as `state::acl::file` lists them.
    AclLoad(Box<[u8]>),
    AclSave,
    AclUnknownCategory(Box<[u8]>),
    AclGenpassBits,
    AclDryrunNoUser(Box<[u8]>),
    AclDryrunNoCommand(Box<[u8]>),
    DebugNotAllowed,
    /// Written to a non-loopback client of a server in protected mode without a password,
    /// before closing it.
    ProtectedMode,
}

impl CmdError {
    /// `ERR unknown command '<name>', with args beginning with: '<arg>' ...` for the request
    /// `args`. Redis formats with `%.128s` and `'%.*s' `: byte counts, and C strings that end at
    /// a NUL; the bytes are sent as they came.
    pub fn unknown_command(args: &[Bytes]) -> CmdError {
        fn c_str(arg: &[u8], max: usize) -> &[u8] {
            let end = arg
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(arg.len())
                .min(max);
            &arg[..end]
        }
        let name = args.first().map(|a| &a[..]).unwrap_or(b"");
        let mut message = b"ERR unknown command '".to_vec();
        message.extend_from_slice(c_str(name, 128));
        message.extend_from_slice(b"', with args beginning with: ");
        let mut listed = 0;
        for arg in args.iter().skip(1) {
            if listed >= 128 {
                break;
            }
            let shown = c_str(arg, 128 - listed);
            message.push(b'\'');
            message.extend_from_slice(shown);
            message.extend_from_slice(b"' ");
            listed += shown.len() + 3;
        }
        CmdError::Raw(message)
    }

    /// The message as text. For `Raw` and `Protocol`, whose bytes need not be UTF-8, a lossy
    /// copy for logs: the wire form is `message_bytes`.
    pub fn message(&self) -> Cow<'static, str> {
        use CmdError::*;
        let text: &'static str = match self {
            WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value",
            NotInteger => "ERR value is not an integer or out of range",
            NotFloat => "ERR value is not a valid float",
            Syntax => "ERR syntax error",
            Overflow => "ERR increment or decrement would overflow",
            NoSuchKey => "ERR no such key",
            OutOfMemory => "OOM command not allowed when used memory > 'maxmemory'.",
            DbIndexOutOfRange => "ERR DB index is out of range",
            InvalidDbIndex => "ERR invalid DB index",
            NotPositive => "ERR value is out of range, must be positive",
            OutOfRange => "ERR value is out of range",
            CountOutOfLongRange => "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            NumkeysNotPositive => "ERR numkeys should be greater than 0",
            CountNotPositive => "ERR count should be greater than 0",
            CountNegative => "ERR COUNT can't be negative",
            MaxlenNegative => "ERR MAXLEN can't be negative",
            LimitNegative => "ERR LIMIT can't be negative",
            NumkeysOverArgs => "ERR Number of keys can't be greater than number of args",
            InvalidCursor => "ERR invalid cursor",
            SameObject => "ERR source and destination objects are the same",
            DecrementOverflow => "ERR decrement would overflow",
            IncrementNanOrInfinity => "ERR increment would produce NaN or Infinity",
            ValueNanOrInfinity => "ERR value is NaN or Infinity",
            HashValueNotInteger => "ERR hash value is not an integer",
            HashValueNotFloat => "ERR hash value is not a float",
            StringTooLong => "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
            OffsetOutOfRange => "ERR offset is out of range",
            LcsLenWithIdx => "ERR If you want both the length and indexes, please just use IDX.",
            LcsNotStrings => "ERR The specified keys must contain string values",
            LcsTooLarge => "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            ExpireNxConflict => "ERR NX and XX, GT or LT options at the same time are not compatible",
            ExpireGtLtConflict => "ERR GT and LT options at the same time are not compatible",
            IdleTimeNotTracked => "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            FrequencyNotTracked => "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            IndexOutOfRange => "ERR index out of range",
            RankZero => "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
            WeightNotFloat => "ERR weight value is not a float",
            NotFloatRange => "ERR min or max is not a float",
            NotLexRange => "ERR min or max not valid string range item",
            NanScore => "ERR resulting score is not a number (NaN)",
            ZaddXxAndNx => "ERR XX and NX options at the same time are not compatible",
            ZaddGtLtNx => "ERR GT, LT, and/or NX options at the same time are not compatible",
            ZaddIncrPairs => "ERR INCR option supports a single increment-element pair",
            LimitWithoutBy => "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
            WithscoresByLex => "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
            SortScoreNotDouble => "ERR One or more scores can't be converted into double",
            FieldExpireNegative => "ERR invalid expire time, must be >= 0",
            FieldsKeywordMissing => "ERR Mandatory argument FIELDS is missing or not at the right position",
            NumFieldsNotPositive => "ERR Parameter `numFields` should be greater than 0",
            FieldCountNotPositive => "ERR Number of fields must be a positive integer",
            NumFieldsMismatch => "ERR The `numfields` parameter must match the number of arguments",
            TimeoutNotFloat => "ERR timeout is not a float or out of range",
            TimeoutNegative => "ERR timeout is negative",
            Unblocked => "UNBLOCKED client unblocked via CLIENT UNBLOCK",
            InvalidCommand => "ERR Invalid command specified",
            NoKeyArguments => "ERR The command has no key arguments",
            InvalidArgumentCount => "ERR Invalid number of arguments specified for command",
            InvalidArguments => "ERR Invalid arguments specified for command",
            MaxClients => "ERR max number of clients reached",
            NoAuth => "NOAUTH Authentication required.",
            WrongPass => "WRONGPASS invalid username-password pair or user is disabled.",
            NoPasswordSet => "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            HelloNoAuth => "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
            ProtocolVersionNotInteger => "ERR Protocol version is not an integer or out of range",
            UnsupportedProtocol => "NOPROTO unsupported protocol version",
            BadClientName => "ERR Client names cannot contain spaces, newlines or special characters.",
            InvalidClientId => "ERR Invalid client ID",
            ClientIdNotPositive => "ERR client-id should be greater than 0",
            NoSuchClient => "ERR No such client",
            UnblockReason => "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            RedirectTwice => "ERR A client can only redirect to a single other client",
            NoSuchRedirectClient => "ERR The client ID you want redirect to does not exist",
            PrefixWithoutBcast => "ERR PREFIX option requires BCAST mode to be enabled",
            TagWithoutBcast => "ERR TAG option requires BCAST mode to be enabled",
            BcastSwitch => "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            OptInOutWithBcast => "ERR OPTIN and OPTOUT are not compatible with BCAST",
            OptInAndOptOut => "ERR You can't specify both OPTIN mode and OPTOUT mode",
            OptInOutSwitch => "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            CachingWithoutOptInOut => "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            CachingYesWithoutOptIn => "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            CachingNoWithoutOptOut => "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            NotAllowedInMulti => "ERR Command not allowed inside a transaction",
            NestedMulti => "ERR MULTI calls can not be nested",
            DiscardWithoutMulti => "ERR DISCARD without MULTI",
            ExecWithoutMulti => "ERR EXEC without MULTI",
            ExecAborted => "EXECABORT Transaction discarded because of previous errors.",
            WatchInMulti => "ERR WATCH inside MULTI is not allowed",
            InvalidFirstDbIndex => "ERR invalid first DB index",
            InvalidSecondDbIndex => "ERR invalid second DB index",
            NoShutdownInProgress => "ERR No shutdown in progress.",
            ShutdownFailed => "ERR Errors trying to SHUTDOWN. Check logs.",
            BgsaveInProgress => "ERR Background save already in progress",
            SaveFailed => "ERR",
            Loading => "LOADING Redis is loading the dataset in memory",
            Misconf => "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
            ConfigNoFile => "ERR The server is running without a config file",
            InvalidPriority => "ERR invalid priority, must be one of low, normal, high, critical",
            InvalidCompression => "ERR invalid compression level, must be one of none, fast, default, max",
            ImportLine(reason) => return format!("ERR invalid import line: {reason}").into(),
            InvalidRegion(reason) => return format!("ERR invalid region: {reason}").into(),
            NoSuchRegion => "ERR no such region",
            ImportKeyMismatch => "ERR the key argument is not the line's key",
            WarmRunning => "ERR a warm-up is already running (CACHE.WARM STATUS, CACHE.WARM ABORT)",
            WarmAddress => "ERR invalid source address, expected host:port",
            DependsOnItself => "ERR a key cannot depend on itself",
            PeerAddressNotText => "ERR peer address must be host:port",
            PeersProtected => "ERR can't change the peers: 'peer' is a protected config (see enable-protected-configs)",
            SecretNotSet => "ERR coherence-secret is not set on this daemon",
            PeerAuthWithoutChallenge => "ERR CACHE.PEER AUTH must follow CACHE.PEER CHALLENGE",
            PeerProofMismatch => "WRONGPASS the proof does not match this daemon's coherence-secret",
            ReservedChannel => "ERR channels starting with '__cachet__:' are reserved for peer coherence: only the daemon itself (or a peer authenticated with CACHE.PEER AUTH) publishes there",
            // What follows carries arguments.
            InvalidExpire(command) => {
                return format!("ERR invalid expire time in '{command}' command").into()
            }
            AtLeastOneInputKey { command } => {
                return format!("ERR at least 1 input key is needed for '{command}' command").into()
            }
            WrongArity(command) => {
                return format!("ERR wrong number of arguments for '{command}' command").into()
            }
            NotAllowedWhileSubscribed { command } => return format!(
                "ERR Can't execute '{command}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            )
            .into(),
            PrefixOverlapsExisting { prefix, existing } => return format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                lossy(prefix),
                lossy(existing)
            )
            .into(),
            PrefixOverlapsProvided { prefix, other } => return format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                lossy(prefix),
                lossy(other)
            )
            .into(),
            ExecAbortedOutOfMemory => {
                return format!(
                    "EXECABORT Transaction discarded because of: {}",
                    OutOfMemory.message()
                )
                .into()
            }
            ConfigUnknown { name } => {
                return format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
                    .into()
            }
            ConfigImmutable { name } => return config_set_failed(name, "can't set immutable config"),
            ConfigProtected { name } => return config_set_failed(name, "can't set protected config"),
            ConfigDuplicate { name } => return config_set_failed(name, "duplicate parameter"),
            ConfigInvalid { name, reason } => return config_set_failed(name, reason),
            ConfigRewrite(reason) => return format!("ERR Rewriting config file: {reason}").into(),
            InvalidPeers { reason } => return format!("ERR {reason}").into(),
            ReplayWrongNode { node, asked } => {
                return format!("NOREPLAY this is node {}, not {}", lossy(node), lossy(asked))
                    .into()
            }
            ReplayRunOver { run, current } => {
                return format!("NOREPLAY run {run} is over: this is run {current}").into()
            }
            ReplayTrimmed { first, after } => {
                return format!("NOREPLAY the backlog starts at sequence {first}, after {after}")
                    .into()
            }
            ReplayAhead { after, last } => {
                return format!("NOREPLAY sequence {after} is ahead of the last one, {last}").into()
            }
            Geo(err) => return err.message(),
            Cluster(err) => return err.message(),
            Script(err) => return String::from_utf8_lossy(&err.message_bytes()).into_owned().into(),
            Stream(err) => err.message(),
            BitOffset => "ERR bit offset is not an integer or out of range",
            BitValue => "ERR bit is not an integer or out of range",
            BitposBit => "ERR The bit argument must be 1 or 0.",
            BitopNotArity => "ERR BITOP NOT must be called with a single source key.",
            BitfieldType => "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            BitfieldOverflowType => "ERR Invalid OVERFLOW type specified",
            BitfieldReadOnly => "ERR BITFIELD_RO only supports the GET subcommand",
            NotHll => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            CorruptHll => "INVALIDOBJ Corrupted HLL object detected",
            PfdebugNoKey => "ERR The specified key does not exist",
            PfdebugNotSparse => "ERR HLL encoding is not sparse",
            HllSelfTest(what) => return format!("TESTFAILED {what}").into(),
            IntOutOfRange => {
                "ERR value is out of range, value must between -2147483648 and 2147483647"
            }
            SsubscribeDenyBlocking => "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
            BusyKey => "BUSYKEY Target key name already exists.",
            MigrateKeysWithKey => "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
            MigrateConnect => "IOERR error or timeout connecting to the client",
            MigrateIo { writing: true } => "IOERR error or timeout writing to target instance",
            MigrateIo { writing: false } => "IOERR error or timeout reading to target instance",
            InvalidTtl => "ERR Invalid TTL value, must be >= 0",
            InvalidIdletime => "ERR Invalid IDLETIME value, must be >= 0",
            InvalidFreq => "ERR Invalid FREQ value, must be >= 0 and <= 255",
            DumpPayloadWrong => "ERR DUMP payload version or checksum are wrong",
            BadDataFormat => "ERR Bad data format",
            MonitorDenyBlocking => "ERR MONITOR isn't allowed for DENY BLOCKING client",
            MonitorKeyspace => "ERR Replica can't interact with the keyspace",
            SlowlogCount => "ERR count should be greater than or equal to -1",
            TimeoutNotInteger => "ERR timeout is not an integer or out of range",
            PauseMode => "ERR CLIENT PAUSE mode must be WRITE or ALL",
            MaxAgeNotInteger => "ERR maxage is not an integer or out of range",
            MaxAgeNotPositive => "ERR maxage should be greater than 0",
            WaitaofNoAof => "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.",
            InvalidMasterPort => "ERR Invalid master port",
            ReplicationUnsupported => "ERR REPLICAOF is not supported: cachet has no replication and is always a master",
            ModuleCommandNotAllowed => "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            ModuleLoad => "ERR Error loading the extension. Please check the server logs.",
            ModuleUnload => "ERR Error unloading module: no such module with that name",
            NovaluesNotHscan => "ERR NOVALUES option can only be used in HSCAN",
            NoPermCommand(name) => {
                return format!("NOPERM this user has no permissions to run the '{name}' command")
                    .into()
            }
            NoPermKey => "NOPERM this user has no permissions to access one of the keys used as arguments",
            NoPermChannel => "NOPERM this user has no permissions to access one of the channels used as arguments",
            ExecNoPerm(reason) => {
                return format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}").into()
            }
            AclUsernameSpaces => "ERR Usernames can't contain spaces or null characters",
            AclDeleteDefault => "ERR The 'default' user cannot be removed",
            AclNoFile => "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
            AclSave => "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
            AclGenpassBits => "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
            DebugNotAllowed => "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            ProtectedMode => "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.",
            Protocol(_)
            | LatencyNoSamples(_)
            | SetinfoOption(_)
            | SetinfoValue(_)
            | Raw(_)
            | PfdebugUnknown(_)
            | UnsupportedOption(_)
            | UnknownSubcommand { .. }
            | UnknownSubcommandOrArity { .. }
            | NoGroup { .. }
            | NoGroupRead { .. }
            | UnrecognizedClaimOption(_)
            | MigrateTarget(_)
            | HelloOption(_)
            | UnknownClientType(_)
            | NoSuchUser(_)
            | AclUnknownCategory(_)
            | AclDryrunNoUser(_)
            | AclDryrunNoCommand(_)
            | AclRule(_)
            | AclLoad(_)
            | ExecRejected(_) => {
                return String::from_utf8_lossy(&self.message_bytes())
                    .into_owned()
                    .into()
            }
        };
        Cow::Borrowed(text)
    }

    /// The message as sent on the wire, client bytes included verbatim.
    pub fn message_bytes(&self) -> Cow<'static, [u8]> {
        match self {
            CmdError::Raw(bytes) => Cow::Owned(bytes.clone()),
            CmdError::Script(err) => err.message_bytes(),
            CmdError::Protocol(error) => Cow::Owned(protocol_error(*error)),
            CmdError::MigrateTarget(line) => {
                joined("ERR Target instance replied with error: ", line, "")
            }
            CmdError::PfdebugUnknown(sub) => {
                // The reply writer turns the CR and LF left inside into spaces.
                quoting("ERR Unknown PFDEBUG subcommand '", sub, usize::MAX, "'")
            }
            CmdError::LatencyNoSamples(event) => quoting(
                "ERR No samples available for event '",
                event,
                usize::MAX,
                "'",
            ),
            CmdError::UnsupportedOption(option) => {
                quoting("ERR Unsupported option ", option, usize::MAX, "")
            }
            CmdError::UnknownSubcommand { command, sub } => quoting(
                "ERR unknown subcommand '",
                sub,
                128,
                &format!("'. Try {} HELP.", command.to_ascii_uppercase()),
            ),
            CmdError::UnknownSubcommandOrArity { command, sub } => quoting(
                "ERR unknown subcommand or wrong number of arguments for '",
                sub,
                128,
                &format!("'. Try {} HELP.", command.to_ascii_uppercase()),
            ),
            CmdError::HelloOption(option) => quoting(
                "ERR Syntax error in HELLO option '",
                option,
                usize::MAX,
                "'",
            ),
            CmdError::UnknownClientType(name) => {
                quoting("ERR Unknown client type '", name, usize::MAX, "'")
            }
            CmdError::AclRule(text) | CmdError::AclLoad(text) => joined("ERR ", text, ""),
            CmdError::NoSuchUser(name) => quoting("ERR No such user '", name, usize::MAX, "'"),
            CmdError::AclUnknownCategory(name) => quoting("ERR Unknown category '", name, 128, "'"),
            CmdError::AclDryrunNoUser(name) => {
                quoting("ERR User '", name, usize::MAX, "' not found")
            }
            CmdError::AclDryrunNoCommand(name) => {
                quoting("ERR Command '", name, usize::MAX, "' not found")
            }
            CmdError::UnrecognizedClaimOption(option) => {
                quoting("ERR Unrecognized XCLAIM option '", option, usize::MAX, "'")
            }
            CmdError::NoGroup { group, key } => {
                let key = String::from_utf8_lossy(c_string(key)).into_owned();
                quoting(
                    "NOGROUP No such consumer group '",
                    group,
                    usize::MAX,
                    &format!("' for key name '{key}'"),
                )
            }
            CmdError::NoGroupRead {
                key,
                group,
                in_xreadgroup,
            } => {
                let group = String::from_utf8_lossy(c_string(group)).into_owned();
                let tail = if *in_xreadgroup {
                    " in XREADGROUP with GROUP option"
                } else {
                    ""
                };
                quoting(
                    "NOGROUP No such key '",
                    key,
                    usize::MAX,
                    &format!("' or consumer group '{group}'{tail}"),
                )
            }
            CmdError::SetinfoOption(attribute) => {
                quoting("ERR Unrecognized option '", attribute, usize::MAX, "'")
            }
            CmdError::SetinfoValue(attribute) => quoting(
                "ERR ",
                attribute,
                usize::MAX,
                " cannot contain spaces, newlines or special characters.",
            ),
            CmdError::ExecRejected(reason) => {
                // Redis gives the reason without its `ERR` code; other codes (NOAUTH) stay.
                let reason = reason.message_bytes();
                let reason = reason.strip_prefix(b"ERR ").unwrap_or(&reason);
                let mut text = b"EXECABORT Transaction discarded because of: ".to_vec();
                text.extend_from_slice(reason);
                Cow::Owned(text)
            }
            other => match other.message() {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            },
        }
    }
}

/// A message quoting a client's argument as Redis's `addReplyErrorFormat` does: the argument as
/// a C string (up to its first NUL), at most `max` bytes of it, unaltered; CR and LF trimmed off
/// the end of the whole message (those inside become spaces when the reply is written).
fn quoting(before: &str, arg: &[u8], max: usize, after: &str) -> Cow<'static, [u8]> {
    let arg = c_string(arg);
    let mut message = before.as_bytes().to_vec();
    message.extend_from_slice(&arg[..arg.len().min(max)]);
    message.extend_from_slice(after.as_bytes());
    while message.last().is_some_and(|&b| b == b'\r' || b == b'\n') {
        message.pop();
    }
    Cow::Owned(message)
}

/// Redis's `ERR Protocol error: ...`. Redis formats the offending byte of `ExpectedDollar` with
/// `%c`, so it is sent raw (and a CR or LF becomes a space, as in every error reply).
fn protocol_error(error: ProtocolError) -> Vec<u8> {
    let detail = match error {
        ProtocolError::TooBigInline => "too big inline request",
        ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
        ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
        ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
        ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
        ProtocolError::TooBigBulkCount => "too big bulk count string",
        ProtocolError::ExpectedDollar(_) => "expected '$', got '",
        ProtocolError::InvalidBulkLength => "invalid bulk length",
        ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
    };
    let mut out = b"ERR Protocol error: ".to_vec();
    out.extend_from_slice(detail.as_bytes());
    if let ProtocolError::ExpectedDollar(c) = error {
        out.push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        out.push(b'\'');
    }
    out
}

/// Redis's `CONFIG SET failed (possibly related to argument '<name>') - <reason>`.
fn config_set_failed(name: &str, reason: &str) -> Cow<'static, str> {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}").into()
}

/// Client bytes quoted in a message, shown as UTF-8.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Errors of the scripting family (EVAL, SCRIPT, FUNCTION, FCALL), as Redis 7.0's `eval.c`,
/// `script.c` and `functions.c` word them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    NumkeysNegative,
    NumkeysTooMany,
    NoScript,
    /// `BUSY`: another client's script passed `busy-reply-threshold`; `eval` for an EVAL script,
    /// false for a function (whose message names FUNCTION KILL).
    Busy {
        eval: bool,
    },
    NotBusy,
    Unkillable,
    /// `ERR Error compiling script (new function): <Lua's message>`.
    Compile(Box<[u8]>),
    InvalidShebang,
    InvalidEngine,
    UnexpectedEngine(Box<[u8]>),
    UnexpectedFlag(Box<[u8]>),
    UnknownShebangOption(Box<[u8]>),
    /// A script with a shebang and without `allow-oom` (or `no-writes`) while over `maxmemory`.
    OomFlagNotSet,
    /// EVAL_RO, EVALSHA_RO or FCALL_RO of a script that may write (has a shebang, no `no-writes`).
    WriteFlagOnReadonly,
    /// What a script that failed answers: the text is made from the Lua error (its `err` field,
    /// and ` script: <name>, on <source>:<line>.`), code included.
    Failed(Box<[u8]>),
    /// An error object that is not a table: `ERR Error running script <name>, <text>`.
    Running {
        name: Box<str>,
        text: Box<[u8]>,
    },
    ScriptFlushOption,
    FunctionFlushOption,
    DebugOption,
    /// SCRIPT DEBUG YES|SYNC: the Lua debugger is not implemented.
    DebuggerUnsupported,
    LibraryNotFound,
    FunctionNotFound,
    BadNumberOfKeys,
    LibraryNameMissing,
    UnknownListArgument(Box<[u8]>),
    UnknownLoadOption(Box<[u8]>),
    CodeMissing,
    RestorePolicy,
    DumpPayload,
    /// A library's code could not be loaded (FUNCTION LOAD/RESTORE): Redis's text, without code.
    Load(Box<[u8]>),
    /// FUNCTION LOAD of a library name that exists, without REPLACE.
    LibraryExists(Box<[u8]>),
    /// FUNCTION RESTORE of a library (APPEND) or function that exists.
    RestoreLibraryExists(Box<[u8]>),
    RestoreFunctionExists(Box<[u8]>),
}

impl ScriptError {
    pub fn message_bytes(&self) -> Cow<'static, [u8]> {
        use ScriptError::*;
        let text: &'static str = match self {
            NumkeysNegative => "ERR Number of keys can't be negative",
            NumkeysTooMany => "ERR Number of keys can't be greater than number of args",
            NoScript => "NOSCRIPT No matching script. Please use EVAL.",
            Busy { eval: true } => {
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            }
            Busy { eval: false } => {
                "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
            }
            NotBusy => "NOTBUSY No scripts in execution right now.",
            Unkillable => "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            Compile(lua) => return joined("ERR Error compiling script (new function): ", lua, ""),
            InvalidShebang => "ERR Invalid script shebang",
            InvalidEngine => "ERR Invalid engine in script shebang",
            UnexpectedEngine(engine) => {
                return joined("ERR Unexpected engine in script shebang: ", engine, "")
            }
            UnexpectedFlag(flag) => return joined("ERR Unexpected flag in script shebang: ", flag, ""),
            UnknownShebangOption(option) => {
                return joined("ERR Unknown lua shebang option: ", option, "")
            }
            OomFlagNotSet => "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
            WriteFlagOnReadonly => "ERR Can not execute a script with write flag using *_ro command.",
            Failed(text) => return Cow::Owned(text.to_vec()),
            Running { name, text } => {
                let mut shown = &text[..];
                shown = &shown[..shown.len().min(100)];
                return joined(&format!("ERR Error running script {name}, "), shown, "")
            }
            ScriptFlushOption => "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
            FunctionFlushOption => "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
            DebugOption => "ERR Use SCRIPT DEBUG YES/SYNC/NO",
            DebuggerUnsupported => "ERR SCRIPT DEBUG YES/SYNC is not supported: cachet has no Lua debugger",
            LibraryNotFound => "ERR Library not found",
            FunctionNotFound => "ERR Function not found",
            BadNumberOfKeys => "ERR Bad number of keys provided",
            LibraryNameMissing => "ERR library name argument was not given",
            // Both format the argument with `%s` (it ends at a NUL); only LOAD's formatter also
            // trims a trailing CR/LF (LIST's is built with sdscatfmt).
            UnknownListArgument(arg) => return joined("ERR Unknown argument ", c_string(arg), ""),
            UnknownLoadOption(arg) => {
                return quoting("ERR Unknown option given: ", arg, usize::MAX, "")
            }
            CodeMissing => "ERR Function code is missing",
            RestorePolicy => "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            DumpPayload => "ERR DUMP payload version or checksum are wrong",
            Load(text) => return joined("ERR ", text, ""),
            LibraryExists(name) => return joined("ERR Library '", name, "' already exists"),
            RestoreLibraryExists(name) => return joined("ERR Library ", name, " already exists"),
            RestoreFunctionExists(name) => return joined("ERR Function ", name, " already exists"),
        };
        Cow::Borrowed(text.as_bytes())
    }
}

fn joined(before: &str, middle: &[u8], after: &str) -> Cow<'static, [u8]> {
    let mut text = before.as_bytes().to_vec();
    text.extend_from_slice(middle);
    text.extend_from_slice(after.as_bytes());
    Cow::Owned(text)
}

/// The texts scripts see as Lua errors (raised inside the script, or returned by `redis.pcall`):
/// Redis's wording, without the `ERR ` code the error table adds. They reach the wire as part of
/// a script's failure (`ScriptError::Failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LuaText {
    NoArguments,
    BadArgument,
    UnknownCommand,
    WrongArity,
    NotAllowed,
    WriteInReadOnly,
    OutOfMemory,
    Killed,
    ReadonlyTable,
    NonexistentGlobal,
    WrongArgs,
    WrongArgsOrType,
    SetReplArgs,
    SetReplFlags,
    LogArgs,
    LogLevelType,
    LogLevel,
    SetrespArgs,
    SetrespVersion,
    AclCheckInvalid,
    /// `redis.call` of a command, key or channel the running user may not use.
    AclDeniedCommand,
    AclDeniedKey,
    AclDeniedChannel,
    RegisterArgs,
    RegisterOutsideLoad,
    CallAtLoad,
    /// FUNCTION LOAD stopped a library's code that ran past its limit.
    LoadTimeout,
}

impl LuaText {
    pub fn text(self) -> &'static str {
        use LuaText::*;
        match self {
            NoArguments => "Please specify at least one argument for this redis lib call",
            BadArgument => "Lua redis lib command arguments must be strings or integers",
            UnknownCommand => "Unknown Redis command called from script",
            WrongArity => "Wrong number of args calling Redis command from script",
            NotAllowed => "This Redis command is not allowed from script",
            WriteInReadOnly => "Write commands are not allowed from read-only scripts.",
            OutOfMemory => "-OOM command not allowed when used memory > 'maxmemory'.",
            Killed => "Script killed by user with SCRIPT KILL...",
            ReadonlyTable => "Attempt to modify a readonly table",
            NonexistentGlobal => "Script attempted to access nonexistent global variable",
            WrongArgs => "wrong number of arguments",
            WrongArgsOrType => "wrong number or type of arguments",
            SetReplArgs => "redis.set_repl() requires two arguments.",
            SetReplFlags => {
                "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
            }
            LogArgs => "redis.log() requires two arguments or more.",
            LogLevelType => "First argument must be a number (log level).",
            LogLevel => "Invalid debug level.",
            SetrespArgs => "redis.setresp() requires one argument.",
            SetrespVersion => "RESP version must be 2 or 3.",
            AclCheckInvalid => "Invalid command passed to redis.acl_check_cmd()",
            AclDeniedCommand => "The user executing the script can't run this command or subcommand",
            AclDeniedKey => "The user executing the script can't access at least one of the keys mentioned in the command arguments",
            AclDeniedChannel => "The user executing the script can't publish to the channel mentioned in the command",
            RegisterArgs => "wrong number of arguments to redis.register_function",
            RegisterOutsideLoad => {
                "redis.register_function can only be called on FUNCTION LOAD command"
            }
            CallAtLoad => "attempt to call field 'call' (a nil value)",
            LoadTimeout => "FUNCTION LOAD timeout",
        }
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

/// Errors of the stream commands (Redis's `t_stream.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// An ID argument Redis's `streamGenericParseIDOrReply` refuses.
    InvalidId,
    MaxlenAndMinid,
    MaxlenNegative,
    LimitNegative,
    LimitWithoutStrategy,
    XtrimWithoutStrategy,
    LimitWithoutApprox,
    /// XADD of the explicit ID 0-0.
    IdZero,
    /// XADD to a stream whose last ID is the largest there is.
    Exhausted,
    IdNotGreater,
    /// More than 1 GiB of fields and values in one entry, or `<ms>-*` past the last sequence.
    TooLarge,
    /// XRANGE's exclusive start past the largest ID.
    InvalidStart,
    /// XRANGE's exclusive end before 0-0.
    InvalidEnd,
    EntriesAddedNegative,
    SetidBelowMaxDeleted,
    SetidBelowTop,
    SetidEntriesAddedBelowLength,
    /// XREAD's STREAMS followed by an odd number of arguments.
    Unbalanced,
    GroupInXread,
    NoackInXread,
    /// XREAD with the `>` ID.
    GtWithoutGroup,
    /// BLOCK's deadline past the largest time.
    BlockOutOfRange,
    EntriesReadNegative,
    /// XGROUP on a missing key (without MKSTREAM).
    XgroupNeedsKey,
    BusyGroup,
    MissingGroup,
    DollarInXreadgroup,
    /// A blocked XREADGROUP whose group was destroyed.
    GroupGone,
    /// A blocked XREADGROUP whose key was deleted or given another type.
    StreamKeyGone,
    ClaimMinIdle,
    ClaimIdle,
    ClaimTime,
    ClaimRetryCount,
    AutoclaimMinIdle,
}

impl StreamError {
    pub fn message(self) -> &'static str {
        use StreamError::*;
        match self {
            InvalidId => "ERR Invalid stream ID specified as stream command argument",
            MaxlenAndMinid => {
                "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
            }
            MaxlenNegative => "ERR The MAXLEN argument must be >= 0.",
            LimitNegative => "ERR The LIMIT argument must be >= 0.",
            LimitWithoutStrategy => {
                "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
            }
            XtrimWithoutStrategy => {
                "ERR syntax error, XTRIM must be called with a trimming strategy"
            }
            LimitWithoutApprox => {
                "ERR syntax error, LIMIT cannot be used without the special ~ option"
            }
            IdZero => "ERR The ID specified in XADD must be greater than 0-0",
            Exhausted => {
                "ERR The stream has exhausted the last possible ID, unable to add more items"
            }
            IdNotGreater => {
                "ERR The ID specified in XADD is equal or smaller than the target stream top item"
            }
            TooLarge => "ERR Elements are too large to be stored",
            InvalidStart => "ERR invalid start ID for the interval",
            InvalidEnd => "ERR invalid end ID for the interval",
            EntriesAddedNegative => "ERR entries_added must be positive",
            SetidBelowMaxDeleted => {
                "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
            }
            SetidBelowTop => {
                "ERR The ID specified in XSETID is smaller than the target stream top item"
            }
            SetidEntriesAddedBelowLength => {
                "ERR The entries_added specified in XSETID is smaller than the target stream length"
            }
            Unbalanced => "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
            GroupInXread => "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
            NoackInXread => "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
            GtWithoutGroup => "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            BlockOutOfRange => "ERR timeout is out of range",
            EntriesReadNegative => "ERR value for ENTRIESREAD must be positive or -1",
            XgroupNeedsKey => "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            BusyGroup => "BUSYGROUP Consumer Group name already exists",
            MissingGroup => "ERR Missing GROUP option for XREADGROUP",
            DollarInXreadgroup => "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
            GroupGone => "NOGROUP the consumer group this client was blocked on no longer exists",
            StreamKeyGone => "UNBLOCKED the stream key no longer exists",
            ClaimMinIdle => "ERR Invalid min-idle-time argument for XCLAIM",
            ClaimIdle => "ERR Invalid IDLE option argument for XCLAIM",
            ClaimTime => "ERR Invalid TIME option argument for XCLAIM",
            ClaimRetryCount => "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            AutoclaimMinIdle => "ERR Invalid min-idle-time argument for XAUTOCLAIM",
        }
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

#[cfg(test)]
mod tests;
