//! Collection values (hash, list, set, sorted set, stream), and the string layouts bit and HyperLogLog
//! commands read and write in place (`bitmap`, `hll`). A collection lives behind the entry's `extra`
//! pointer, so a plain string pays nothing for the possibility. Every type keeps a running count
//! of the bytes it holds, because the shard re-reads an entry's memory after each write: that
//! read must be O(1) whatever the collection's size.

pub mod bitmap;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::StreamValue;
pub use zset::ZSetValue;

#[derive(Debug, Clone)]
pub enum Collection {
    /// Inline: a hash value is two words, and hashes are the common case of many small
    /// collections, where a box more per key costs 16 bytes of the ~300 each takes.
    Hash(HashValue),
    List(Box<ListValue>),
    Set(Box<SetValue>),
    ZSet(Box<ZSetValue>),
    Stream(Box<StreamValue>),
}

impl Collection {
    pub fn type_name(&self) -> &'static str {
        match self {
            Collection::Hash(_) => "hash",
            Collection::List(_) => "list",
            Collection::Set(_) => "set",
            Collection::ZSet(_) => "zset",
            Collection::Stream(_) => "stream",
        }
    }

    /// Redis's encoding name for `OBJECT ENCODING` (`listpack`, `hashtable`, `quicklist`,
    /// `intset`, `skiplist`).
    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::Hash(v) => v.encoding(),
            Collection::List(v) => v.encoding(),
            Collection::Set(v) => v.encoding(),
            Collection::ZSet(v) => v.encoding(),
            Collection::Stream(_) => "stream",
        }
    }

    /// Elements (fields, members, items).
    pub fn len(&self) -> usize {
        match self {
            Collection::Hash(v) => v.len(),
            Collection::List(v) => v.len(),
            Collection::Set(v) => v.len(),
            Collection::ZSet(v) => v.len(),
            Collection::Stream(v) => v.len() as usize,
        }
    }

    /// Emptied by its last removal, so deleted as Redis deletes it. A stream never is: Redis keeps
    /// a stream with no entries (its last ID and groups live on).
    pub fn is_empty(&self) -> bool {
        !matches!(self, Collection::Stream(_)) && self.len() == 0
    }

    /// Bytes held, including the box; O(1).
    pub fn memory(&self) -> usize {
        use crate::engine::memory::alloc_size;
        match self {
            Collection::Hash(v) => v.memory(),
            Collection::List(v) => alloc_size(std::mem::size_of::<ListValue>()) + v.memory(),
            Collection::Set(v) => alloc_size(std::mem::size_of::<SetValue>()) + v.memory(),
            Collection::ZSet(v) => alloc_size(std::mem::size_of::<ZSetValue>()) + v.memory(),
            Collection::Stream(v) => alloc_size(std::mem::size_of::<StreamValue>()) + v.memory(),
        }
    }
}
