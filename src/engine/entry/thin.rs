//! The entry's only `unsafe`: an 8-byte table slot. `Block` is a thin owning pointer to a byte
//! buffer that carries its own length (LEB128, in front of the bytes), so the slot needs no
//! length word; `Slot` is one word holding either a `Block` or a `Box<R>`, told apart by the
//! pointer's low bit (a block is allocated 2-byte aligned, `R` is at least 2-byte aligned).
//! `Pair` is two lists in one allocation behind one pointer (an entry's tags and parents).
//! Everything here has a safe API: building, reading, resizing, dropping, switching variant.
#![allow(unsafe_code)]

use std::alloc::{alloc, dealloc, handle_alloc_error, realloc, Layout};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// A block's alignment: its address is even, which leaves the low bit to `Slot`'s tag.
const ALIGN: usize = 2;
/// Longest LEB128 of a `usize` (64 bits, 7 per byte).
pub const MAX_PREFIX: usize = 10;
const RICH: usize = 1;

/// Bytes the LEB128 of `len` takes: 1 below 128, 2 below 16384, ...
pub fn prefix_len(mut len: usize) -> usize {
    let mut bytes = 1;
    while len >= 0x80 {
        len >>= 7;
        bytes += 1;
    }
    bytes
}

/// Bytes a block of `len` bytes asks the allocator for (its length prefix and the bytes).
pub fn alloc_len(len: usize) -> usize {
    prefix_len(len)
        .checked_add(len)
        .expect("block length overflow")
}

fn layout(len: usize) -> Layout {
    Layout::from_size_align(alloc_len(len), ALIGN).expect("block length overflow")
}

/// Writes the LEB128 of `len` into `out` (room for `prefix_len(len)` bytes), returning how many
/// bytes it took.
pub fn encode(mut len: usize, out: &mut [u8]) -> usize {
    let mut at = 0;
    while len >= 0x80 {
        out[at] = (len as u8 & 0x7f) | 0x80;
        len >>= 7;
        at += 1;
    }
    out[at] = len as u8;
    at + 1
}

/// The LEB128 at the start of `bytes`: (value, bytes it took). Panics when it is cut short.
pub fn decode(bytes: &[u8]) -> (usize, usize) {
    let (mut value, mut shift, mut at) = (0usize, 0u32, 0usize);
    loop {
        let byte = bytes[at];
        value |= ((byte & 0x7f) as usize) << shift;
        at += 1;
        if byte < 0x80 {
            return (value, at);
        }
        shift += 7;
    }
}

/// An owned byte buffer behind one pointer: `[len: LEB128][len bytes]` in one allocation.
/// Behaves as a `Box<[u8]>` (deref to the bytes, clone, drop) at half the size.
#[repr(transparent)]
pub struct Block {
    /// Even (allocated with `ALIGN`), to a live allocation of `layout(len)` whose first bytes
    /// are the LEB128 of `len` and whose other bytes are all initialized.
    ptr: NonNull<u8>,
    _owns: PhantomData<Box<[u8]>>,
}

// SAFETY: a `Block` owns its allocation alone, as a `Box<[u8]>` does; `&Block` gives only
// shared reads.
unsafe impl Send for Block {}
// SAFETY: as above: no interior mutability.
unsafe impl Sync for Block {}

impl Block {
    /// Allocates a block of `len` bytes and writes its prefix; the bytes after it are left
    /// uninitialized, for the caller to fill before it makes a `Block` of the pointer.
    fn allocate(len: usize) -> NonNull<u8> {
        let layout = layout(len);
        // SAFETY: the layout's size is at least 1 (the prefix).
        let ptr =
            NonNull::new(unsafe { alloc(layout) }).unwrap_or_else(|| handle_alloc_error(layout));
        Block::write_prefix(ptr, len);
        ptr
    }

    fn write_prefix(ptr: NonNull<u8>, len: usize) {
        let mut prefix = [0u8; MAX_PREFIX];
        let n = encode(len, &mut prefix);
        // SAFETY: `ptr` starts an allocation of `alloc_len(len)` >= n bytes, not aliased
        // (freshly allocated or reallocated by the caller, which owns it).
        unsafe { std::ptr::copy_nonoverlapping(prefix.as_ptr(), ptr.as_ptr(), n) };
    }

    /// The parts one after another, in one exact allocation.
    pub fn from_parts(parts: &[&[u8]]) -> Block {
        let len = parts
            .iter()
            .try_fold(0usize, |sum, part| sum.checked_add(part.len()))
            .expect("block length overflow");
        let ptr = Block::allocate(len);
        let mut at = prefix_len(len);
        for part in parts {
            // SAFETY: the allocation holds `at + len` bytes and the parts add up to `len`, so
            // each copy stays inside it; a part is the caller's memory, not this allocation.
            unsafe {
                std::ptr::copy_nonoverlapping(part.as_ptr(), ptr.as_ptr().add(at), part.len())
            };
            at += part.len();
        }
        Block {
            ptr,
            _owns: PhantomData,
        }
    }

    /// (length, prefix bytes). Every read of the bytes goes through here, so the one-byte
    /// case is inlined (measured: called, it was 5% of the CPU of a SET flood at the limit).
    #[inline(always)]
    fn header(&self) -> (usize, usize) {
        // SAFETY: the allocation starts with its length's LEB128 (the invariant), so its
        // first byte is initialized.
        let first = unsafe { *self.ptr.as_ptr() };
        if first < 0x80 {
            return (first as usize, 1);
        }
        self.long_header()
    }

    #[inline(never)]
    fn long_header(&self) -> (usize, usize) {
        // SAFETY: every byte of the allocation is initialized (the invariant), and a first
        // byte with the high bit set means a length of at least 128, so the allocation holds
        // more than `MAX_PREFIX` bytes.
        decode(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), MAX_PREFIX) })
    }

    /// Bytes this block asked the allocator for (`alloc_len` of its length).
    pub fn alloc_len(&self) -> usize {
        let (len, prefix) = self.header();
        len + prefix
    }

    /// Changes the length to `new_len`, keeping the first bytes and zeroing any new ones; in
    /// place when the allocator can (`realloc`) and the prefix keeps its size.
    pub fn resize(&mut self, new_len: usize) {
        let (old_len, old_prefix) = self.header();
        if new_len == old_len {
            return;
        }
        let new_layout = layout(new_len);
        let new_prefix = prefix_len(new_len);
        let ptr = if new_prefix == old_prefix {
            // SAFETY: `self.ptr` was allocated with `layout(old_len)`, which has the new
            // layout's alignment; the new size is nonzero and was checked by `layout`.
            let raw = unsafe { realloc(self.ptr.as_ptr(), layout(old_len), new_layout.size()) };
            let ptr = NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(new_layout));
            Block::write_prefix(ptr, new_len);
            ptr
        } else {
            let ptr = Block::allocate(new_len);
            // SAFETY: two distinct allocations, each with at least min(old, new) bytes after
            // its prefix; the old one is freed with the layout it was allocated with.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.ptr.as_ptr().add(old_prefix),
                    ptr.as_ptr().add(new_prefix),
                    old_len.min(new_len),
                );
                dealloc(self.ptr.as_ptr(), layout(old_len));
            }
            ptr
        };
        if new_len > old_len {
            // SAFETY: the bytes past the old length are inside the new allocation and not yet
            // initialized; zeroing them makes every byte of the block initialized again.
            unsafe {
                std::ptr::write_bytes(ptr.as_ptr().add(new_prefix + old_len), 0, new_len - old_len)
            };
        }
        self.ptr = ptr;
    }
}

impl std::ops::Deref for Block {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        let (len, prefix) = self.header();
        // SAFETY: `len` initialized bytes follow the prefix, owned by `self` and borrowed
        // shared for as long as `self` is.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(prefix), len) }
    }
}

impl std::ops::DerefMut for Block {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        let (len, prefix) = self.header();
        // SAFETY: as `deref`, borrowed exclusively through `&mut self`; the prefix is outside
        // the slice, so the caller cannot corrupt the length.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(prefix), len) }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let (len, _) = self.header();
        // SAFETY: allocated with `layout(len)` (the length never changes without the
        // allocation following it, in `resize`), and freed once, here.
        unsafe { dealloc(self.ptr.as_ptr(), layout(len)) };
    }
}

impl Clone for Block {
    fn clone(&self) -> Block {
        Block::from_parts(&[self])
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Two lists of `T` back to back in one allocation behind one pointer: their lengths as two
/// `u32`s, then the first list's items, then the second's. An entry's tags and parents: one
/// 16-byte allocation for a key with one tag, where a box of two `Box<[T]>` took three
/// allocations (32 + 8 bytes and the list's own class).
pub struct Pair<T> {
    /// To a live allocation of `Pair::layout(first + second)` starting with the two lengths
    /// (`[u32; 2]`) and holding that many initialized items at `Pair::layout`'s offset.
    ptr: NonNull<[u32; 2]>,
    _owns: PhantomData<Box<[T]>>,
}

// SAFETY: a `Pair` owns its items alone, as a `Box<[T]>` does.
unsafe impl<T: Send> Send for Pair<T> {}
// SAFETY: as above; `&Pair` gives only `&[T]`.
unsafe impl<T: Sync> Sync for Pair<T> {}

impl<T> Pair<T> {
    /// (the allocation's layout, where the items start) for `len` items in all.
    fn layout(len: usize) -> (Layout, usize) {
        let items = Layout::array::<T>(len).expect("pair length overflow");
        let (layout, offset) = Layout::new::<[u32; 2]>()
            .extend(items)
            .expect("pair length overflow");
        (layout.pad_to_align(), offset)
    }

    /// Moves the items of both vectors into one exact allocation.
    pub fn new(mut first: Vec<T>, mut second: Vec<T>) -> Pair<T> {
        let lens = [first.len(), second.len()]
            .map(|len| u32::try_from(len).expect("pair length overflow"));
        let (layout, offset) = Pair::<T>::layout(first.len() + second.len());
        // SAFETY: the layout's size is at least 8 (the lengths).
        let raw = unsafe { alloc(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(layout));
        // SAFETY: the allocation holds the lengths at its start and room for both lists'
        // items at `offset`; the items are moved (copied, then the vectors forget them by
        // `set_len(0)` before they free their buffers), so each has one owner.
        unsafe {
            ptr.cast::<[u32; 2]>().as_ptr().write(lens);
            let items = ptr.as_ptr().add(offset).cast::<T>();
            std::ptr::copy_nonoverlapping(first.as_ptr(), items, first.len());
            std::ptr::copy_nonoverlapping(second.as_ptr(), items.add(first.len()), second.len());
            first.set_len(0);
            second.set_len(0);
        }
        Pair {
            ptr: ptr.cast(),
            _owns: PhantomData,
        }
    }

    #[inline]
    fn lens(&self) -> (usize, usize) {
        // SAFETY: the allocation starts with the two lengths (the invariant).
        let [first, second] = unsafe { *self.ptr.as_ptr() };
        (first as usize, second as usize)
    }

    fn items(&self) -> *mut T {
        // Where `layout` puts the items, whatever their number: past the lengths, at `T`'s
        // alignment.
        let offset = std::mem::size_of::<[u32; 2]>().next_multiple_of(std::mem::align_of::<T>());
        // SAFETY: the items start `offset` bytes into the allocation (the invariant).
        unsafe { self.ptr.as_ptr().cast::<u8>().add(offset).cast() }
    }

    fn all(&self) -> &[T] {
        let (first, second) = self.lens();
        // SAFETY: `first + second` initialized items at `items`, borrowed shared with `self`.
        unsafe { std::slice::from_raw_parts(self.items(), first + second) }
    }

    pub fn first(&self) -> &[T] {
        &self.all()[..self.lens().0]
    }

    pub fn second(&self) -> &[T] {
        &self.all()[self.lens().0..]
    }

    /// Both lists, mutably (their items can change, not their lengths).
    pub fn split_mut(&mut self) -> (&mut [T], &mut [T]) {
        let (first, second) = self.lens();
        // SAFETY: as `all`, borrowed exclusively through `&mut self`; the lengths are outside
        // the slice.
        let all = unsafe { std::slice::from_raw_parts_mut(self.items(), first + second) };
        all.split_at_mut(first)
    }

    /// The two lists moved back out, the allocation freed.
    pub fn into_vecs(self) -> (Vec<T>, Vec<T>) {
        let pair = ManuallyDrop::new(self);
        let (first, second) = pair.lens();
        let items = pair.items();
        let mut out = (Vec::with_capacity(first), Vec::with_capacity(second));
        // SAFETY: each item is read out exactly once into a vector that owns it from then on;
        // the pair is not dropped (ManuallyDrop), so only the allocation is freed, with the
        // layout it was made with.
        unsafe {
            std::ptr::copy_nonoverlapping(items, out.0.as_mut_ptr(), first);
            out.0.set_len(first);
            std::ptr::copy_nonoverlapping(items.add(first), out.1.as_mut_ptr(), second);
            out.1.set_len(second);
            dealloc(
                pair.ptr.as_ptr().cast(),
                Pair::<T>::layout(first + second).0,
            );
        }
        out
    }

    /// Bytes this pair asked the allocator for.
    pub fn alloc_len(&self) -> usize {
        let (first, second) = self.lens();
        Pair::<T>::layout(first + second).0.size()
    }
}

impl<T> Drop for Pair<T> {
    fn drop(&mut self) {
        let (first, second) = self.lens();
        // SAFETY: the items are initialized and dropped once, here; then the allocation is
        // freed with the layout it was made with.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.items(),
                first + second,
            ));
            dealloc(
                self.ptr.as_ptr().cast(),
                Pair::<T>::layout(first + second).0,
            );
        }
    }
}

impl<T: Clone> Clone for Pair<T> {
    fn clone(&self) -> Pair<T> {
        Pair::new(self.first().to_vec(), self.second().to_vec())
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Pair<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pair")
            .field(&self.first())
            .field(&self.second())
            .finish()
    }
}

/// What a `Slot` holds, owned.
pub enum Owned<R> {
    Plain(Block),
    Rich(Box<R>),
}

/// What a `Slot` holds, borrowed.
pub enum Ref<'a, R> {
    Plain(&'a Block),
    Rich(&'a R),
}

/// What a `Slot` holds, borrowed mutably. A `Block` stored through `Plain` keeps the slot plain.
pub enum Mut<'a, R> {
    Plain(&'a mut Block),
    Rich(&'a mut R),
}

/// One word: a `Block` (low bit clear) or a `Box<R>` (its address with the low bit set).
#[repr(transparent)]
pub struct Slot<R> {
    /// With the low bit clear, a valid `Block`'s pointer (the same bits, so `&mut Slot` can be
    /// handed out as `&mut Block`); with it set, a `Box<R>`'s pointer plus one.
    ptr: NonNull<u8>,
    _owns: PhantomData<Owned<R>>,
}

// SAFETY: a slot owns what it points to alone, as `Owned<R>` would.
unsafe impl<R: Send> Send for Slot<R> {}
// SAFETY: as above; shared access gives only `&Block` or `&R`.
unsafe impl<R: Sync> Sync for Slot<R> {}

impl<R> Slot<R> {
    /// `R`'s address must leave the tag bit free.
    const ALIGNED: () = assert!(std::mem::align_of::<R>() >= 2);

    pub fn new(owned: Owned<R>) -> Slot<R> {
        let () = Self::ALIGNED;
        let ptr = match owned {
            Owned::Plain(block) => ManuallyDrop::new(block).ptr,
            Owned::Rich(rich) => {
                let raw = Box::into_raw(rich) as *mut u8;
                // SAFETY: a box's pointer is non-null and aligned to >= 2, so adding the tag
                // neither wraps to null nor collides with a set bit.
                unsafe { NonNull::new_unchecked(raw.map_addr(|a| a | RICH)) }
            }
        };
        Slot {
            ptr,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn is_rich(&self) -> bool {
        self.ptr.as_ptr().addr() & RICH != 0
    }

    #[inline]
    fn rich_ptr(&self) -> *mut R {
        self.ptr.as_ptr().map_addr(|a| a & !RICH) as *mut R
    }

    #[inline]
    pub fn get(&self) -> Ref<'_, R> {
        if self.is_rich() {
            // SAFETY: tagged, so the untagged pointer is a live `Box<R>` this slot owns.
            Ref::Rich(unsafe { &*self.rich_ptr() })
        } else {
            // SAFETY: untagged, so the word is a valid `Block`; both types are transparent
            // over one `NonNull<u8>`.
            Ref::Plain(unsafe { &*(self as *const Slot<R> as *const Block) })
        }
    }

    #[inline]
    pub fn get_mut(&mut self) -> Mut<'_, R> {
        if self.is_rich() {
            // SAFETY: as in `get`, borrowed exclusively through `&mut self`.
            Mut::Rich(unsafe { &mut *self.rich_ptr() })
        } else {
            // SAFETY: as in `get`. Whatever `Block` the caller stores through it is even,
            // so the slot stays a valid plain slot, and the old block is dropped by the
            // assignment as any `&mut` target's is.
            Mut::Plain(unsafe { &mut *(self as *mut Slot<R> as *mut Block) })
        }
    }

    pub fn into_owned(self) -> Owned<R> {
        let slot = ManuallyDrop::new(self);
        if slot.is_rich() {
            // SAFETY: the tagged pointer came from `Box::into_raw`; the slot is not dropped
            // (ManuallyDrop), so the box has one owner again.
            Owned::Rich(unsafe { Box::from_raw(slot.rich_ptr()) })
        } else {
            Owned::Plain(Block {
                ptr: slot.ptr,
                _owns: PhantomData,
            })
        }
    }

    /// Replaces the contents with what `f` makes of them (a plain block boxed into a rich
    /// value, or taken back out of it), without a placeholder allocation.
    pub fn update(&mut self, f: impl FnOnce(Owned<R>) -> Owned<R>) {
        struct AbortOnUnwind;
        impl Drop for AbortOnUnwind {
            fn drop(&mut self) {
                std::process::abort();
            }
        }
        // SAFETY: the slot is read out and written back before anything else can see it; were
        // `f` to panic, the guard aborts, so the moved-out value is never dropped twice.
        unsafe {
            let owned = std::ptr::read(self).into_owned();
            let guard = AbortOnUnwind;
            let made = f(owned);
            std::mem::forget(guard);
            std::ptr::write(self, Slot::new(made));
        }
    }

    /// The address of the block or of the box: unique among live slots.
    #[inline]
    pub fn address(&self) -> usize {
        self.ptr.as_ptr().addr() & !RICH
    }
}

impl<R> Drop for Slot<R> {
    fn drop(&mut self) {
        // SAFETY: the slot is being dropped, so reading it out leaves nothing to use it again.
        drop(unsafe { std::ptr::read(self) }.into_owned());
    }
}

impl<R: std::fmt::Debug> std::fmt::Debug for Slot<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Ref::Plain(block) => f.debug_tuple("Plain").field(block).finish(),
            Ref::Rich(rich) => f.debug_tuple("Rich").field(rich).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// Lengths at each prefix size's edges, and zero.
    const LENGTHS: [usize; 9] = [
        0,
        1,
        127,
        128,
        16383,
        16384,
        100_000,
        (1 << 21) - 1,
        1 << 21,
    ];

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn slot_is_one_word_and_block_one_pointer() {
        assert_eq!(std::mem::size_of::<Slot<u64>>(), 8);
        assert_eq!(std::mem::size_of::<Block>(), 8);
        assert_eq!(std::mem::size_of::<Option<Block>>(), 8);
    }

    #[test]
    fn prefix_sizes_up_to_the_largest_length() {
        assert_eq!(
            [0, 127, 128, 16383, 16384, (1 << 21) - 1, 1 << 21].map(prefix_len),
            [1, 1, 2, 2, 3, 3, 4]
        );
        assert_eq!(prefix_len(isize::MAX as usize), 9);
        assert_eq!(prefix_len(usize::MAX), MAX_PREFIX);
        let mut out = [0u8; MAX_PREFIX];
        assert_eq!(encode(usize::MAX, &mut out), MAX_PREFIX);
        assert_eq!(out[MAX_PREFIX - 1], 1);
        assert_eq!(alloc_len(122), 123);
        assert_eq!(alloc_len(128), 130);
    }

    #[test]
    #[should_panic(expected = "block length overflow")]
    fn a_length_past_the_address_space_panics_before_allocating() {
        Block::from_parts(&[]).resize(usize::MAX);
    }

    #[test]
    fn builds_and_reads_every_prefix_size() {
        for len in LENGTHS {
            let bytes = pattern(len);
            let (a, b) = bytes.split_at(len / 3);
            let block = Block::from_parts(&[a, &[], b]);
            assert_eq!(&block[..], &bytes[..], "len {len}");
            assert_eq!(block.alloc_len(), alloc_len(len));
            assert_eq!(block.ptr.as_ptr().addr() % ALIGN, 0);
            let copy = block.clone();
            drop(block);
            assert_eq!(&copy[..], &bytes[..]);
        }
        assert!(Block::from_parts(&[]).is_empty());
    }

    #[test]
    fn resizes_within_and_across_prefix_sizes_keeping_bytes_and_zeroing_new_ones() {
        for from in LENGTHS {
            for to in LENGTHS {
                let bytes = pattern(from);
                let mut block = Block::from_parts(&[&bytes]);
                block.resize(to);
                assert_eq!(block.len(), to, "{from} -> {to}");
                assert_eq!(block.alloc_len(), alloc_len(to));
                let kept = from.min(to);
                assert_eq!(&block[..kept], &bytes[..kept], "{from} -> {to}");
                assert!(block[kept..].iter().all(|&b| b == 0), "{from} -> {to}");
                block.resize(from);
                block[..kept].copy_from_slice(&bytes[..kept]);
                block[kept..].copy_from_slice(&bytes[kept..]);
                assert_eq!(&block[..], &bytes[..]);
            }
        }
    }

    #[test]
    fn writes_through_deref_mut_stay_in_the_bytes() {
        let mut block = Block::from_parts(&[&[0u8; 200]]);
        block.fill(0xff);
        assert_eq!((block.len(), block.alloc_len()), (200, 202));
        assert!(block.iter().all(|&b| b == 0xff));
    }

    #[test]
    fn pair_holds_two_lists_in_one_exact_allocation_and_gives_them_back() {
        let token = Rc::new(());
        let item = |n| Counted(token.clone(), n);
        let mut pair = Pair::new(vec![item(1), item(2)], vec![item(3)]);
        let ones = |list: &[Counted]| list.iter().map(|c| c.1).collect::<Vec<_>>();
        assert_eq!(
            (ones(pair.first()), ones(pair.second())),
            (vec![1, 2], vec![3])
        );
        // Two `u32` lengths, then three 16-byte items.
        assert_eq!(pair.alloc_len(), 8 + 3 * 16);
        assert_eq!(Pair::new(vec![0u64], Vec::new()).alloc_len(), 16);
        assert_eq!(Pair::<u64>::new(Vec::new(), Vec::new()).alloc_len(), 8);
        assert_eq!(std::mem::size_of::<Option<Pair<u64>>>(), 8);
        let (a, b) = pair.split_mut();
        a[1].1 = 20;
        b[0].1 = 30;
        assert_eq!(ones(pair.second()), vec![30]);
        let copy = pair.clone();
        assert_eq!(Rc::strong_count(&token), 7);
        drop(pair);
        assert_eq!(Rc::strong_count(&token), 4);
        let (first, second) = copy.into_vecs();
        assert_eq!((ones(&first), ones(&second)), (vec![1, 20], vec![30]));
        assert_eq!(Rc::strong_count(&token), 4);
        drop((first, second));
        assert_eq!(Rc::strong_count(&token), 1);
        let empty = Pair::<Counted>::new(Vec::new(), vec![item(5)]);
        assert!(empty.first().is_empty() && empty.second().len() == 1);
        // Items of other alignments start where the layout put them.
        let wide = Pair::new(vec![1u128], vec![2, 3]);
        assert_eq!((wide.first(), wide.second()), (&[1][..], &[2, 3][..]));
        assert_eq!(wide.alloc_len(), Pair::<u128>::layout(3).0.size());
        let (items, offset) = (wide.items() as usize, Pair::<u128>::layout(3).1);
        assert_eq!(items - wide.ptr.as_ptr() as usize, offset);
        let bytes = Pair::new(b"ab".to_vec(), b"c".to_vec());
        assert_eq!(
            (bytes.first(), bytes.second(), bytes.alloc_len()),
            (&b"ab"[..], &b"c"[..], 12)
        );
    }

    #[derive(Debug, Clone)]
    /// Holds a reference for its owner's lifetime, so the count tells whether it was dropped.
    struct Counted(#[allow(dead_code)] Rc<()>, u64);

    #[test]
    fn slot_holds_either_variant_and_drops_what_it_holds() {
        let token = Rc::new(());
        let block = Block::from_parts(&[b"plain"]);
        let block_at = block.ptr.as_ptr().addr();
        let mut plain = Slot::<Counted>::new(Owned::Plain(block));
        assert_eq!(plain.address(), block_at);
        assert!(matches!(plain.get(), Ref::Plain(b) if &b[..] == b"plain"));
        let rich = Box::new(Counted(token.clone(), 7));
        let rich_at = &*rich as *const Counted as usize;
        let mut rich = Slot::new(Owned::Rich(rich));
        assert_eq!(rich.address(), rich_at);
        assert!(matches!(rich.get(), Ref::Rich(Counted(_, 7))));
        assert_eq!(Rc::strong_count(&token), 2);

        // A block stored through the mutable borrow replaces (and frees) the old one.
        if let Mut::Plain(b) = plain.get_mut() {
            *b = Block::from_parts(&[&b"other".repeat(40)]);
        }
        assert!(matches!(plain.get(), Ref::Plain(b) if b.len() == 200 && b.starts_with(b"other")));
        if let Mut::Rich(r) = rich.get_mut() {
            r.1 = 8;
        }
        assert!(matches!(rich.get(), Ref::Rich(Counted(_, 8))));
        drop(rich);
        assert_eq!(Rc::strong_count(&token), 1);
        drop(plain);
    }

    #[test]
    fn update_switches_variant_both_ways_and_into_owned_gives_it_back() {
        let token = Rc::new(());
        let mut slot = Slot::<(Block, Counted)>::new(Owned::Plain(Block::from_parts(&[b"k"])));
        slot.update(|owned| match owned {
            Owned::Plain(block) => Owned::Rich(Box::new((block, Counted(token.clone(), 1)))),
            rich => rich,
        });
        assert!(matches!(slot.get(), Ref::Rich((b, Counted(_, 1))) if &b[..] == b"k"));
        assert_eq!(Rc::strong_count(&token), 2);
        slot.update(|owned| match owned {
            Owned::Rich(rich) => Owned::Plain(rich.0),
            plain => plain,
        });
        assert_eq!(Rc::strong_count(&token), 1);
        assert!(matches!(slot.get(), Ref::Plain(b) if &b[..] == b"k"));
        match slot.into_owned() {
            Owned::Plain(block) => assert_eq!(&block[..], b"k"),
            Owned::Rich(_) => panic!("plain expected"),
        }
        let slot = Slot::new(Owned::Rich(Box::new((
            Block::from_parts(&[]),
            Counted(token.clone(), 2),
        ))));
        let Owned::Rich(rich) = slot.into_owned() else {
            panic!("rich expected")
        };
        assert_eq!((rich.1 .1, Rc::strong_count(&token)), (2, 2));
    }
}
