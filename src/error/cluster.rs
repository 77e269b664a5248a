//! Errors of the cluster protocol (CLUSTER, redirections, CACHE.CLUSTER), as Redis 7.0's
//! `cluster.c` words them; those without a Redis counterpart (emulated mode, the JSON topology,
//! MEET's reachability) are cachet's and say so in their text.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    Disabled,
    CrossSlot,
    Moved {
        slot: u16,
        addr: Box<str>,
    },
    Ask {
        slot: u16,
        addr: Box<str>,
    },
    TryAgain,
    Unbound,
    Down,
    DownReadOnly,
    SelectNotAllowed,
    MoveNotAllowed,
    SwapdbNotAllowed,
    CopyDbNotAllowed,
    InvalidSlot,
    /// COUNTKEYSINSLOT's own wording.
    BadSlot,
    InvalidSlotOrCount,
    SlotBusy(u16),
    SlotRepeated(u16),
    SlotUnassigned(u16),
    UnknownNode(Box<str>),
    /// SETSLOT's wording for an unknown node.
    UnknownNodeSetslot(Box<str>),
    ForgetMyself,
    ForgetMaster,
    SetslotSyntax,
    NotMasterSetslot,
    NotOwner(u16),
    AlreadyOwner(u16),
    TargetIsReplica,
    SlotHasKeys(u16),
    InvalidPort(Box<str>),
    InvalidBusPort(Box<str>),
    InvalidAddress(Box<str>),
    /// MEET could not learn the node's id (cachet asks the node itself: there is no bus).
    Unreachable(Box<str>),
    EpochWithOthers,
    EpochAlreadySet,
    InvalidEpoch(Box<str>),
    ReplicateMyself,
    ReplicateReplica,
    ReplicateWithSlots,
    ReplicateWithKeys,
    ResetWithKeys,
    /// A change asked of `cluster-enabled emulated`, whose one shard is fixed.
    Emulated,
    Save(Box<str>),
    /// CACHE.CLUSTER CONFIG refused the document.
    Config(Box<str>),
    /// A cluster-wide invalidation some nodes did not confirm (their addresses and why).
    NotEverywhere(Box<str>),
}

impl ClusterError {
    pub fn message(&self) -> Cow<'static, str> {
        use ClusterError::*;
        let text = match self {
            Disabled => "ERR This instance has cluster support disabled",
            CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot",
            Moved { slot, addr } => return format!("MOVED {slot} {addr}").into(),
            Ask { slot, addr } => return format!("ASK {slot} {addr}").into(),
            TryAgain => "TRYAGAIN Multiple keys request during rehashing of slot",
            Unbound => "CLUSTERDOWN Hash slot not served",
            Down => "CLUSTERDOWN The cluster is down",
            DownReadOnly => "CLUSTERDOWN The cluster is down and only accepts read commands",
            SelectNotAllowed => "ERR SELECT is not allowed in cluster mode",
            MoveNotAllowed => "ERR MOVE is not allowed in cluster mode",
            SwapdbNotAllowed => "ERR SWAPDB is not allowed in cluster mode",
            CopyDbNotAllowed => "ERR Copying to another database is not allowed in cluster mode",
            InvalidSlot => "ERR Invalid or out of range slot",
            BadSlot => "ERR Invalid slot",
            InvalidSlotOrCount => "ERR Invalid slot or number of keys",
            SlotBusy(slot) => return format!("ERR Slot {slot} is already busy").into(),
            SlotRepeated(slot) => return format!("ERR Slot {slot} specified multiple times").into(),
            SlotUnassigned(slot) => {
                return format!("ERR Slot {slot} is already unassigned").into()
            }
            UnknownNode(id) => return format!("ERR Unknown node {id}").into(),
            UnknownNodeSetslot(id) => return format!("ERR I don't know about node {id}").into(),
            ForgetMyself => "ERR I tried hard but I can't forget myself...",
            ForgetMaster => "ERR Can't forget my master!",
            SetslotSyntax => {
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
            }
            NotMasterSetslot => "ERR Please use SETSLOT only with masters.",
            NotOwner(slot) => return format!("ERR I'm not the owner of hash slot {slot}").into(),
            AlreadyOwner(slot) => {
                return format!("ERR I'm already the owner of hash slot {slot}").into()
            }
            TargetIsReplica => "ERR Target node is not a master",
            SlotHasKeys(slot) => return format!("ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot.").into(),
            InvalidPort(port) => {
                return format!("ERR Invalid TCP base port specified: {port}").into()
            }
            InvalidBusPort(port) => {
                return format!("ERR Invalid TCP bus port specified: {port}").into()
            }
            InvalidAddress(address) => {
                return format!("ERR Invalid node address specified: {address}").into()
            }
            Unreachable(why) => return format!("ERR Can't reach the node to learn its id: {why}").into(),
            EpochWithOthers => "ERR The user can assign a config epoch only when the node does not know any other node.",
            EpochAlreadySet => "ERR Node config epoch is already non-zero",
            InvalidEpoch(epoch) => {
                return format!("ERR Invalid config epoch specified: {epoch}").into()
            }
            ReplicateMyself => "ERR Can't replicate myself",
            ReplicateReplica => "ERR I can only replicate a master, not a replica.",
            ReplicateWithSlots => {
                "ERR To set a master the node must be empty and without assigned slots."
            }
            ReplicateWithKeys => {
                "ERR To set a master the node must be empty and without assigned slots."
            }
            ResetWithKeys => "ERR CLUSTER RESET can't be called with master nodes containing keys",
            Emulated => "ERR The topology of an emulated cluster (cluster-enabled emulated) cannot be changed",
            Save(why) => return format!("ERR error saving the cluster node config: {why}").into(),
            Config(why) => return format!("ERR Invalid cluster configuration: {why}").into(),
            NotEverywhere(nodes) => return format!("ERR the invalidation was applied here but not confirmed by every node of the cluster: {nodes}").into(),
        };
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterError::*;

    /// Where Redis 7.0 has the message, the text is what redis-server 7.0.15 sends.
    #[test]
    fn messages_as_redis_sends_them() {
        let addr = || "127.0.0.1:7001".into();
        for (error, text) in [
            (Disabled, "ERR This instance has cluster support disabled"),
            (CrossSlot, "CROSSSLOT Keys in request don't hash to the same slot"),
            (Moved { slot: 12182, addr: addr() }, "MOVED 12182 127.0.0.1:7001"),
            (Ask { slot: 1, addr: addr() }, "ASK 1 127.0.0.1:7001"),
            (TryAgain, "TRYAGAIN Multiple keys request during rehashing of slot"),
            (Unbound, "CLUSTERDOWN Hash slot not served"),
            (Down, "CLUSTERDOWN The cluster is down"),
            (SelectNotAllowed, "ERR SELECT is not allowed in cluster mode"),
            (InvalidSlot, "ERR Invalid or out of range slot"),
            (BadSlot, "ERR Invalid slot"),
            (InvalidSlotOrCount, "ERR Invalid slot or number of keys"),
            (SlotBusy(1), "ERR Slot 1 is already busy"),
            (UnknownNode("nope".into()), "ERR Unknown node nope"),
            (UnknownNodeSetslot("nope".into()), "ERR I don't know about node nope"),
            (ForgetMyself, "ERR I tried hard but I can't forget myself..."),
            (SetslotSyntax, "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"),
            (InvalidPort("abc".into()), "ERR Invalid TCP base port specified: abc"),
            (MoveNotAllowed, "ERR MOVE is not allowed in cluster mode"),
            (SwapdbNotAllowed, "ERR SWAPDB is not allowed in cluster mode"),
            (CopyDbNotAllowed, "ERR Copying to another database is not allowed in cluster mode"),
            (NotEverywhere("127.0.0.1:7002 (refused)".into()), "ERR the invalidation was applied here but not confirmed by every node of the cluster: 127.0.0.1:7002 (refused)"),
            (EpochWithOthers, "ERR The user can assign a config epoch only when the node does not know any other node."),
        ] {
            assert_eq!(error.message(), text);
        }
    }
}
