use strum::IntoEnumIterator;

use super::*;

/// Every variant and its exact text: a typo in a message, or a message that changes, fails
/// here. Where Redis 7.0 has the message, the row is what redis-server 7.0.15 sends.
#[test]
fn every_message_as_redis_sends_it() {
    use CmdError::*;
    let table: Vec<(CmdError, &[u8])> = vec![
        (WrongType, b"WRONGTYPE Operation against a key holding the wrong kind of value"),
        (NotInteger, b"ERR value is not an integer or out of range"),
        (NotFloat, b"ERR value is not a valid float"),
        (Syntax, b"ERR syntax error"),
        (Overflow, b"ERR increment or decrement would overflow"),
        (NoSuchKey, b"ERR no such key"),
        (OutOfMemory, b"OOM command not allowed when used memory > 'maxmemory'."),
        (DbIndexOutOfRange, b"ERR DB index is out of range"),
        (InvalidDbIndex, b"ERR invalid DB index"),
        (InvalidExpire("set"), b"ERR invalid expire time in 'set' command"),
        (NotPositive, b"ERR value is out of range, must be positive"),
        (OutOfRange, b"ERR value is out of range"),
        (CountOutOfLongRange, b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        (NumkeysNotPositive, b"ERR numkeys should be greater than 0"),
        (CountNotPositive, b"ERR count should be greater than 0"),
        (CountNegative, b"ERR COUNT can't be negative"),
        (MaxlenNegative, b"ERR MAXLEN can't be negative"),
        (LimitNegative, b"ERR LIMIT can't be negative"),
        (NumkeysOverArgs, b"ERR Number of keys can't be greater than number of args"),
        (
            AtLeastOneInputKey { command: "zunion".into() },
            b"ERR at least 1 input key is needed for 'zunion' command",
        ),
        (InvalidCursor, b"ERR invalid cursor"),
        (SameObject, b"ERR source and destination objects are the same"),
        (DecrementOverflow, b"ERR decrement would overflow"),
        (IncrementNanOrInfinity, b"ERR increment would produce NaN or Infinity"),
        (ValueNanOrInfinity, b"ERR value is NaN or Infinity"),
        (HashValueNotInteger, b"ERR hash value is not an integer"),
        (HashValueNotFloat, b"ERR hash value is not a float"),
        (StringTooLong, b"ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
        (OffsetOutOfRange, b"ERR offset is out of range"),
        (LcsLenWithIdx, b"ERR If you want both the length and indexes, please just use IDX."),
        (LcsNotStrings, b"ERR The specified keys must contain string values"),
        (LcsTooLarge, b"ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"),
        (UnsupportedOption(b"foo"[..].into()), b"ERR Unsupported option foo"),
        (ExpireNxConflict, b"ERR NX and XX, GT or LT options at the same time are not compatible"),
        (ExpireGtLtConflict, b"ERR GT and LT options at the same time are not compatible"),
        (IdleTimeNotTracked, b"ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        (FrequencyNotTracked, b"ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        (IndexOutOfRange, b"ERR index out of range"),
        (RankZero, b"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
        (WeightNotFloat, b"ERR weight value is not a float"),
        (NotFloatRange, b"ERR min or max is not a float"),
        (NotLexRange, b"ERR min or max not valid string range item"),
        (NanScore, b"ERR resulting score is not a number (NaN)"),
        (ZaddXxAndNx, b"ERR XX and NX options at the same time are not compatible"),
        (ZaddGtLtNx, b"ERR GT, LT, and/or NX options at the same time are not compatible"),
        (ZaddIncrPairs, b"ERR INCR option supports a single increment-element pair"),
        (LimitWithoutBy, b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        (WithscoresByLex, b"ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        (TimeoutNotFloat, b"ERR timeout is not a float or out of range"),
        (TimeoutNegative, b"ERR timeout is negative"),
        (Unblocked, b"UNBLOCKED client unblocked via CLIENT UNBLOCK"),
        (WrongArity("get".into()), b"ERR wrong number of arguments for 'get' command"),
        (
            UnknownSubcommand { command: "config", sub: b"nope"[..].into() },
            b"ERR unknown subcommand 'nope'. Try CONFIG HELP.",
        ),
        (
            UnknownSubcommand { command: "object", sub: "x".repeat(200).as_bytes().into() },
            format!("ERR unknown subcommand '{}'. Try OBJECT HELP.", "x".repeat(128)).as_bytes().to_vec().leak(),
        ),
        (
            UnknownSubcommandOrArity { command: "debug", sub: b"SLEEP"[..].into() },
            b"ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.",
        ),
        (InvalidCommand, b"ERR Invalid command specified"),
        (NoKeyArguments, b"ERR The command has no key arguments"),
        (InvalidArgumentCount, b"ERR Invalid number of arguments specified for command"),
        (InvalidArguments, b"ERR Invalid arguments specified for command"),
        (Protocol(ProtocolError::TooBigInline), b"ERR Protocol error: too big inline request"),
        (Protocol(ProtocolError::UnbalancedQuotes), b"ERR Protocol error: unbalanced quotes in request"),
        (Protocol(ProtocolError::TooBigMultibulkCount), b"ERR Protocol error: too big mbulk count string"),
        (Protocol(ProtocolError::InvalidMultibulkLength), b"ERR Protocol error: invalid multibulk length"),
        (Protocol(ProtocolError::UnauthenticatedMultibulkLength), b"ERR Protocol error: unauthenticated multibulk length"),
        (Protocol(ProtocolError::TooBigBulkCount), b"ERR Protocol error: too big bulk count string"),
        (Protocol(ProtocolError::ExpectedDollar(b'+')), b"ERR Protocol error: expected '$', got '+'"),
        (Protocol(ProtocolError::ExpectedDollar(b'\r')), b"ERR Protocol error: expected '$', got ' '"),
        (Protocol(ProtocolError::ExpectedDollar(b'\n')), b"ERR Protocol error: expected '$', got ' '"),
        (Protocol(ProtocolError::ExpectedDollar(0xff)), b"ERR Protocol error: expected '$', got '\xff'"),
        (Protocol(ProtocolError::InvalidBulkLength), b"ERR Protocol error: invalid bulk length"),
        (Protocol(ProtocolError::UnauthenticatedBulkLength), b"ERR Protocol error: unauthenticated bulk length"),
        (MaxClients, b"ERR max number of clients reached"),
        (NoAuth, b"NOAUTH Authentication required."),
        (WrongPass, b"WRONGPASS invalid username-password pair or user is disabled."),
        (NoPasswordSet, b"ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"),
        (HelloNoAuth, b"NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"),
        (ProtocolVersionNotInteger, b"ERR Protocol version is not an integer or out of range"),
        (UnsupportedProtocol, b"NOPROTO unsupported protocol version"),
        (HelloOption(b"FOO"[..].into()), b"ERR Syntax error in HELLO option 'FOO'"),
        (BadClientName, b"ERR Client names cannot contain spaces, newlines or special characters."),
        (
            NotAllowedWhileSubscribed { command: "client|id".into() },
            b"ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        ),
        (UnknownClientType(b"foo"[..].into()), b"ERR Unknown client type 'foo'"),
        (InvalidClientId, b"ERR Invalid client ID"),
        (ClientIdNotPositive, b"ERR client-id should be greater than 0"),
        (NoSuchUser(b"nobody"[..].into()), b"ERR No such user 'nobody'"),
        (NoSuchUser(b"\xffa\0b"[..].into()), b"ERR No such user '\xffa'"),
        (UnsupportedOption(b"x\r\n"[..].into()), b"ERR Unsupported option x"),
        (IntOutOfRange, b"ERR value is out of range, value must between -2147483648 and 2147483647"),
        (SsubscribeDenyBlocking, b"ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"),
        (ExecRejected(Box::new(NoAuth)), b"EXECABORT Transaction discarded because of: NOAUTH Authentication required."),
        (NoSuchClient, b"ERR No such client"),
        (UnblockReason, b"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
        (RedirectTwice, b"ERR A client can only redirect to a single other client"),
        (NoSuchRedirectClient, b"ERR The client ID you want redirect to does not exist"),
        (PrefixWithoutBcast, b"ERR PREFIX option requires BCAST mode to be enabled"),
        (TagWithoutBcast, b"ERR TAG option requires BCAST mode to be enabled"),
        (BcastSwitch, b"ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."),
        (OptInOutWithBcast, b"ERR OPTIN and OPTOUT are not compatible with BCAST"),
        (OptInAndOptOut, b"ERR You can't specify both OPTIN mode and OPTOUT mode"),
        (OptInOutSwitch, b"ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."),
        (
            PrefixOverlapsExisting { prefix: b"ab"[..].into(), existing: b"a"[..].into() },
            b"ERR Prefix 'ab' overlaps with an existing prefix 'a'. Prefixes for a single client must not overlap.",
        ),
        (
            PrefixOverlapsProvided { prefix: b"a"[..].into(), other: b"ab"[..].into() },
            b"ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.",
        ),
        (CachingWithoutOptInOut, b"ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"),
        (CachingYesWithoutOptIn, b"ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."),
        (CachingNoWithoutOptOut, b"ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."),
        (NotAllowedInMulti, b"ERR Command not allowed inside a transaction"),
        (NestedMulti, b"ERR MULTI calls can not be nested"),
        (DiscardWithoutMulti, b"ERR DISCARD without MULTI"),
        (ExecWithoutMulti, b"ERR EXEC without MULTI"),
        (ExecAborted, b"EXECABORT Transaction discarded because of previous errors."),
        (ExecAbortedOutOfMemory, b"EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."),
        (WatchInMulti, b"ERR WATCH inside MULTI is not allowed"),
        (InvalidFirstDbIndex, b"ERR invalid first DB index"),
        (InvalidSecondDbIndex, b"ERR invalid second DB index"),
        (NoShutdownInProgress, b"ERR No shutdown in progress."),
        (ShutdownFailed, b"ERR Errors trying to SHUTDOWN. Check logs."),
        (
            ConfigUnknown { name: "foo".into() },
            b"ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            ConfigImmutable { name: "databases".into() },
            b"ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
        ),
        (
            ConfigDuplicate { name: "HZ".into() },
            b"ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter",
        ),
        (
            ConfigInvalid { name: "appendonly".into(), reason: "argument must be 'yes' or 'no'".into() },
            b"ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'",
        ),
        (ConfigNoFile, b"ERR The server is running without a config file"),
        (
            ConfigRewrite("Permission denied".into()),
            b"ERR Rewriting config file: Permission denied",
        ),
        (InvalidPriority, b"ERR invalid priority, must be one of low, normal, high, critical"),
        (DependsOnItself, b"ERR a key cannot depend on itself"),
        (PeerAddressNotText, b"ERR peer address must be host:port"),
        (PeersProtected, b"ERR can't change the peers: 'peer' is a protected config (see enable-protected-configs)"),
        (SecretNotSet, b"ERR coherence-secret is not set on this daemon"),
        (PeerAuthWithoutChallenge, b"ERR CACHE.PEER AUTH must follow CACHE.PEER CHALLENGE"),
        (PeerProofMismatch, b"WRONGPASS the proof does not match this daemon's coherence-secret"),
        (ReservedChannel, b"ERR channels starting with '__cachet__:' are reserved for peer coherence: only the daemon itself (or a peer authenticated with CACHE.PEER AUTH) publishes there"),
        (Geo(GeoError::CountNotPositive), b"ERR COUNT must be > 0"),
        (Stream(StreamError::InvalidId), b"ERR Invalid stream ID specified as stream command argument"),
        (Stream(StreamError::MaxlenAndMinid), b"ERR syntax error, MAXLEN and MINID options at the same time are not compatible"),
        (Stream(StreamError::MaxlenNegative), b"ERR The MAXLEN argument must be >= 0."),
        (Stream(StreamError::LimitNegative), b"ERR The LIMIT argument must be >= 0."),
        (Stream(StreamError::LimitWithoutStrategy), b"ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"),
        (Stream(StreamError::XtrimWithoutStrategy), b"ERR syntax error, XTRIM must be called with a trimming strategy"),
        (Stream(StreamError::LimitWithoutApprox), b"ERR syntax error, LIMIT cannot be used without the special ~ option"),
        (Stream(StreamError::IdZero), b"ERR The ID specified in XADD must be greater than 0-0"),
        (Stream(StreamError::Exhausted), b"ERR The stream has exhausted the last possible ID, unable to add more items"),
        (Stream(StreamError::IdNotGreater), b"ERR The ID specified in XADD is equal or smaller than the target stream top item"),
        (Stream(StreamError::TooLarge), b"ERR Elements are too large to be stored"),
        (Stream(StreamError::InvalidStart), b"ERR invalid start ID for the interval"),
        (Stream(StreamError::InvalidEnd), b"ERR invalid end ID for the interval"),
        (Stream(StreamError::EntriesAddedNegative), b"ERR entries_added must be positive"),
        (Stream(StreamError::SetidBelowMaxDeleted), b"ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"),
        (Stream(StreamError::SetidBelowTop), b"ERR The ID specified in XSETID is smaller than the target stream top item"),
        (Stream(StreamError::SetidEntriesAddedBelowLength), b"ERR The entries_added specified in XSETID is smaller than the target stream length"),
        (Stream(StreamError::Unbalanced), b"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."),
        (Stream(StreamError::GroupInXread), b"ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."),
        (Stream(StreamError::NoackInXread), b"ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."),
        (Stream(StreamError::GtWithoutGroup), b"ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."),
        (Stream(StreamError::BlockOutOfRange), b"ERR timeout is out of range"),
        (Stream(StreamError::EntriesReadNegative), b"ERR value for ENTRIESREAD must be positive or -1"),
        (Stream(StreamError::XgroupNeedsKey), b"ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."),
        (Stream(StreamError::BusyGroup), b"BUSYGROUP Consumer Group name already exists"),
        (Stream(StreamError::MissingGroup), b"ERR Missing GROUP option for XREADGROUP"),
        (Stream(StreamError::DollarInXreadgroup), b"ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."),
        (Stream(StreamError::GroupGone), b"NOGROUP the consumer group this client was blocked on no longer exists"),
        (Stream(StreamError::StreamKeyGone), b"UNBLOCKED the stream key no longer exists"),
        (Stream(StreamError::ClaimMinIdle), b"ERR Invalid min-idle-time argument for XCLAIM"),
        (Stream(StreamError::ClaimIdle), b"ERR Invalid IDLE option argument for XCLAIM"),
        (Stream(StreamError::ClaimTime), b"ERR Invalid TIME option argument for XCLAIM"),
        (Stream(StreamError::ClaimRetryCount), b"ERR Invalid RETRYCOUNT option argument for XCLAIM"),
        (Stream(StreamError::AutoclaimMinIdle), b"ERR Invalid min-idle-time argument for XAUTOCLAIM"),
        (UnrecognizedClaimOption(b"bogus\0x"[..].into()), b"ERR Unrecognized XCLAIM option 'bogus'"),
        (NoGroup { group: b"g\0x"[..].into(), key: b"k"[..].into() }, b"NOGROUP No such consumer group 'g' for key name 'k'"),
        (NoGroupRead { key: b"k"[..].into(), group: b"g"[..].into(), in_xreadgroup: true }, b"NOGROUP No such key 'k' or consumer group 'g' in XREADGROUP with GROUP option"),
        (NoGroupRead { key: b"k"[..].into(), group: b"g"[..].into(), in_xreadgroup: false }, b"NOGROUP No such key 'k' or consumer group 'g'"),
        (BitOffset, b"ERR bit offset is not an integer or out of range"),
        (BitValue, b"ERR bit is not an integer or out of range"),
        (BitposBit, b"ERR The bit argument must be 1 or 0."),
        (BitopNotArity, b"ERR BITOP NOT must be called with a single source key."),
        (BitfieldType, b"ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        (BitfieldOverflowType, b"ERR Invalid OVERFLOW type specified"),
        (BitfieldReadOnly, b"ERR BITFIELD_RO only supports the GET subcommand"),
        (NotHll, b"WRONGTYPE Key is not a valid HyperLogLog string value."),
        (CorruptHll, b"INVALIDOBJ Corrupted HLL object detected"),
        (PfdebugNoKey, b"ERR The specified key does not exist"),
        (PfdebugNotSparse, b"ERR HLL encoding is not sparse"),
        (BusyKey, b"BUSYKEY Target key name already exists."),
        (InvalidTtl, b"ERR Invalid TTL value, must be >= 0"),
        (InvalidIdletime, b"ERR Invalid IDLETIME value, must be >= 0"),
        (InvalidFreq, b"ERR Invalid FREQ value, must be >= 0 and <= 255"),
        (DumpPayloadWrong, b"ERR DUMP payload version or checksum are wrong"),
        (BadDataFormat, b"ERR Bad data format"),
        // CR and LF inside become spaces when the reply is written (`ReplyBuf::error_bytes`).
        (PfdebugUnknown(b"x\r\ny\0z".to_vec()), b"ERR Unknown PFDEBUG subcommand 'x\r\ny'"),
        (HllSelfTest("bad".into()), b"TESTFAILED bad"),
        (Script(ScriptError::NoScript), b"NOSCRIPT No matching script. Please use EVAL."),
        (ConfigProtected { name: "dir".into() }, b"ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"),
        (
            InvalidPeers { reason: "'x' is not a host:port address".into() },
            b"ERR 'x' is not a host:port address",
        ),
        (
            ReplayWrongNode { node: b"n1"[..].into(), asked: b"n2"[..].into() },
            b"NOREPLAY this is node n1, not n2",
        ),
        (ReplayRunOver { run: 5, current: 7 }, b"NOREPLAY run 5 is over: this is run 7"),
        (
            ReplayTrimmed { first: 10, after: 3 },
            b"NOREPLAY the backlog starts at sequence 10, after 3",
        ),
        (ReplayAhead { after: 9, last: 4 }, b"NOREPLAY sequence 9 is ahead of the last one, 4"),
        (MonitorDenyBlocking, b"ERR MONITOR isn't allowed for DENY BLOCKING client"),
        (MonitorKeyspace, b"ERR Replica can't interact with the keyspace"),
        (SlowlogCount, b"ERR count should be greater than or equal to -1"),
        (LatencyNoSamples(b"command".to_vec()), b"ERR No samples available for event 'command'"),
        (Raw(b"ERR unknown command '\xff'"[..].into()), b"ERR unknown command '\xff'"),
        (SortScoreNotDouble, b"ERR One or more scores can't be converted into double"),
        (FieldExpireNegative, b"ERR invalid expire time, must be >= 0"),
        (FieldsKeywordMissing, b"ERR Mandatory argument FIELDS is missing or not at the right position"),
        (NumFieldsNotPositive, b"ERR Parameter `numFields` should be greater than 0"),
        (FieldCountNotPositive, b"ERR Number of fields must be a positive integer"),
        (NumFieldsMismatch, b"ERR The `numfields` parameter must match the number of arguments"),
        (TimeoutNotInteger, b"ERR timeout is not an integer or out of range"),
        (PauseMode, b"ERR CLIENT PAUSE mode must be WRITE or ALL"),
        (MaxAgeNotInteger, b"ERR maxage is not an integer or out of range"),
        (MaxAgeNotPositive, b"ERR maxage should be greater than 0"),
        (SetinfoOption(b"lib-foo"[..].into()), b"ERR Unrecognized option 'lib-foo'"),
        (
            SetinfoValue(b"LIB-NAME"[..].into()),
            b"ERR LIB-NAME cannot contain spaces, newlines or special characters.",
        ),
        (WaitaofNoAof, b"ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."),
        (InvalidMasterPort, b"ERR Invalid master port"),
        (
            ReplicationUnsupported,
            b"ERR REPLICAOF is not supported: cachet has no replication and is always a master",
        ),
        (ModuleCommandNotAllowed, b"ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."),
        (ModuleLoad, b"ERR Error loading the extension. Please check the server logs."),
        (ModuleUnload, b"ERR Error unloading module: no such module with that name"),
        (NovaluesNotHscan, b"ERR NOVALUES option can only be used in HSCAN"),
        (NoPermCommand("config|set".into()), b"NOPERM this user has no permissions to run the 'config|set' command"),
        (NoPermKey, b"NOPERM this user has no permissions to access one of the keys used as arguments"),
        (NoPermChannel, b"NOPERM this user has no permissions to access one of the channels used as arguments"),
        (ExecNoPerm("no permission to touch the specified keys"), b"NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to touch the specified keys"),
        (AclRule(b"Error in ACL SETUSER modifier 'foo': Syntax error"[..].into()), b"ERR Error in ACL SETUSER modifier 'foo': Syntax error"),
        (AclUsernameSpaces, b"ERR Usernames can't contain spaces or null characters"),
        (AclDeleteDefault, b"ERR The 'default' user cannot be removed"),
        (AclNoFile, b"ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."),
        (AclLoad(b"users.acl:2: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"[..].into()), b"ERR users.acl:2: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"),
        (AclSave, b"ERR There was an error trying to save the ACLs. Please check the server logs for more information"),
        (AclUnknownCategory(b"nosuch"[..].into()), b"ERR Unknown category 'nosuch'"),
        (AclGenpassBits, b"ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"),
        (AclDryrunNoUser(b"bob"[..].into()), b"ERR User 'bob' not found"),
        (AclDryrunNoCommand(b"nope"[..].into()), b"ERR Command 'nope' not found"),
        (DebugNotAllowed, b"ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."),
        (ProtectedMode, b"DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."),
        (Cluster(ClusterError::CrossSlot), b"CROSSSLOT Keys in request don't hash to the same slot"),
        (MigrateKeysWithKey, b"ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"),
        (MigrateConnect, b"IOERR error or timeout connecting to the client"),
        (MigrateIo { writing: true }, b"IOERR error or timeout writing to target instance"),
        (MigrateIo { writing: false }, b"IOERR error or timeout reading to target instance"),
        (
            MigrateTarget(b"BUSYKEY Target key name already exists."[..].into()),
            b"ERR Target instance replied with error: BUSYKEY Target key name already exists.",
        ),
        (BgsaveInProgress, b"ERR Background save already in progress"),
        (SaveFailed, b"ERR"),
        (Misconf, b"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."),
        (ImportLine("value must be an array".into()), b"ERR invalid import line: value must be an array"),
        (ImportKeyMismatch, b"ERR the key argument is not the line's key"),
        (WarmRunning, b"ERR a warm-up is already running (CACHE.WARM STATUS, CACHE.WARM ABORT)"),
        (WarmAddress, b"ERR invalid source address, expected host:port"),
        (InvalidCompression, b"ERR invalid compression level, must be one of none, fast, default, max"),
        (InvalidRegion("unknown policy 'lru'".into()), b"ERR invalid region: unknown policy 'lru'"),
        (NoSuchRegion, b"ERR no such region"),
        (Loading, b"LOADING Redis is loading the dataset in memory"),
        (AclRule(b"Error in ACL SETUSER modifier '~\xff': Syntax error"[..].into()), b"ERR Error in ACL SETUSER modifier '~\xff': Syntax error"),
        (DictOff, b"ERR compression dictionaries are off (CONFIG SET compression-dict on)"),
        (DictTooFewSamples(b"doc\xff:"[..].into()), b"ERR not enough samples to train a dictionary for prefix 'doc\xff:' (at least 16 needed); its writes are sampled now"),
        (DictAtLimit(b"doc:"[..].into()), b"ERR prefix 'doc:' already has the 4 dictionaries it may keep"),
        (DictTraining("Src size is incorrect".into()), b"ERR dictionary training failed: Src size is incorrect"),
    ];
    let mut seen: Vec<(&[u8], std::mem::Discriminant<CmdError>)> = Vec::new();
    let mut covered = std::collections::HashSet::new();
    for (error, expected) in &table {
        covered.insert(CmdErrorDiscriminants::from(error));
        assert_eq!(
            &error.message_bytes()[..],
            *expected,
            "{error:?}: {:?}",
            String::from_utf8_lossy(expected)
        );
        assert_eq!(
            error.message(),
            String::from_utf8_lossy(expected),
            "{error:?}"
        );
        // One variant per message: the same text from two variants would be one too many.
        let variant = std::mem::discriminant(error);
        if let Some((_, other)) = seen.iter().find(|(text, _)| text == expected) {
            assert_eq!(
                *other,
                variant,
                "two variants say {:?}",
                String::from_utf8_lossy(expected)
            );
        }
        seen.push((expected, variant));
    }
    let missing: Vec<CmdErrorDiscriminants> = CmdErrorDiscriminants::iter()
        .filter(|variant| !covered.contains(variant))
        .collect();
    assert!(
        missing.is_empty(),
        "variants without a row in the table: {missing:?}"
    );
}

#[test]
fn unknown_command_quotes_c_strings_up_to_128_bytes() {
    let args =
        |list: &[&[u8]]| -> Vec<Bytes> { list.iter().map(|a| Bytes::copy_from_slice(a)).collect() };
    assert_eq!(
        CmdError::unknown_command(&args(&[b"\xff\xfeA", b"x", b"a\0b"])).message_bytes(),
        &b"ERR unknown command '\xff\xfeA', with args beginning with: 'x' 'a' "[..]
    );
    let long = vec![b'y'; 200];
    let message = CmdError::unknown_command(&args(&[&long, &long, b"z"])).message_bytes();
    let mut expected = b"ERR unknown command '".to_vec();
    expected.extend_from_slice(&long[..128]);
    expected.extend_from_slice(b"', with args beginning with: '");
    expected.extend_from_slice(&long[..128]);
    expected.extend_from_slice(b"' ");
    assert_eq!(message, &expected[..]);
}

/// Handlers return `Result<(), CmdError>` on every call: the error stays no larger than it
/// was before the variants with fields.
#[test]
fn stays_small() {
    assert!(std::mem::size_of::<CmdError>() <= 48);
}
