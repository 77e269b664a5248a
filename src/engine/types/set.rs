//! Placeholder: the set value is built by its own change.

#[derive(Debug, Clone, Default)]
pub struct SetValue {}

impl SetValue {
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held besides the struct itself; kept as a running count so this is O(1).
    pub fn memory(&self) -> usize {
        0
    }
}
