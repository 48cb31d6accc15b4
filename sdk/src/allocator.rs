//! The plugin's memory allocator on wasm targets: size classes with free lists, carved from memory it grows
//! itself.
//!
//! A plugin lives for one message (or a few, when the slot reuses instances), allocates many small values while
//! it walks a parsed tree and builds events, and is then thrown away whole. The general-purpose allocator that
//! Rust's std brings on `wasm32-wasip2` (wasi-libc's dlmalloc) spent about half of a mapping's time in the plugin
//! splitting, merging and searching free chunks that are never needed again. Here an allocation takes the first
//! block of its power-of-two size class from a free list, or the next block of fresh memory; freeing pushes the
//! block back onto its list. Blocks are never split or merged, so a block costs at most twice its size, and
//! memory freed in one message is reused by the next when an instance is reused.
//!
//! The first blocks come from a static arena, which the linker places inside the plugin's initial memory. A
//! fresh instance's initial memory is reset in place between messages and stays mapped read-write, while memory
//! grown past it is remapped on every instantiation, and each of its pages then faults on its first write: for a
//! message of a few KiB those faults cost as much as the mapping itself. Only a message that needs more than the
//! arena grows the memory.
//!
//! The target has no threads, so the state needs no lock.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// The smallest block: 16 bytes, which also aligns every block for any type up to 16-byte alignment.
const MIN_SHIFT: u32 = 4;
const MIN_ALIGN: usize = 1 << MIN_SHIFT;
/// Blocks of up to 2 GiB, the largest a 32-bit memory can hold next to anything else.
const CLASSES: usize = 32;
/// A WebAssembly page.
const PAGE: usize = 64 << 10;
/// Memory is grown at least this much at a time (1 MiB), since every `memory.grow` is a call into the host.
const MIN_GROW_PAGES: usize = 16;
/// The static arena: 2 MiB, enough for a 16 KiB ship notice, its parse tree and its events.
const ARENA_BYTES: usize = 2 << 20;

#[repr(align(16))]
struct Arena(#[allow(dead_code, reason = "only its address is used")] [u8; ARENA_BYTES]);

/// Zero-initialized, so it adds no data to the component, only to the initial memory size.
static mut ARENA: Arena = Arena([0; ARENA_BYTES]);

struct State {
    /// The first free block of each class; each free block starts with a pointer to the next one.
    free: [*mut u8; CLASSES],
    /// The unused rest of the memory grown last: `next..end`.
    next: usize,
    end: usize,
}

/// The allocator. See the module documentation.
pub(crate) struct SizeClasses(UnsafeCell<State>);

// SAFETY: wasm32-wasip2 plugins run on one thread; nothing else can reach the state.
unsafe impl Sync for SizeClasses {}

impl SizeClasses {
    pub(crate) const fn new() -> Self {
        Self(UnsafeCell::new(State {
            free: [ptr::null_mut(); CLASSES],
            next: 0,
            end: 0,
        }))
    }
}

/// The class of a block that holds `size` bytes, and that block's size.
fn class(size: usize) -> Option<(usize, usize)> {
    let size = size.max(MIN_ALIGN);
    let shift = (usize::BITS - (size - 1).leading_zeros()) as usize;
    (shift < CLASSES).then_some((shift, 1 << shift))
}

impl State {
    /// `size` bytes of fresh memory at `align`, growing the memory when the rest is too small.
    fn carve(&mut self, size: usize, align: usize) -> *mut u8 {
        if self.end == 0 {
            let arena = (&raw mut ARENA).addr();
            self.next = arena;
            self.end = arena + ARENA_BYTES;
        }
        let mut start = self.next.next_multiple_of(align);
        if start.checked_add(size).is_none_or(|end| end > self.end) {
            let pages = (size + align).div_ceil(PAGE).max(MIN_GROW_PAGES);
            let old = core::arch::wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return ptr::null_mut();
            }
            let base = old * PAGE;
            // The arena, or memory something else (C code's malloc) grew since, lies between: the rest of the
            // current region is left unused.
            if base != self.end {
                self.next = base;
            }
            self.end = base + pages * PAGE;
            start = self.next.next_multiple_of(align);
        }
        self.next = start + size;
        start as *mut u8
    }
}

// SAFETY: every block handed out is `class(max(size, align))`'s block size long, inside memory this allocator
// grew, aligned to at least `align`, and belongs to one owner until it is freed; a freed block goes back to the
// list of the same class, which `dealloc` finds from the same layout.
unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see above), and no reference to the state outlives this call.
        let state = unsafe { &mut *self.0.get() };
        let Some((class, block)) = class(layout.size().max(layout.align())) else {
            return ptr::null_mut();
        };
        if layout.align() > MIN_ALIGN {
            // Rare (SIMD types): fresh memory at that alignment; freed, the block joins its class's list.
            return state.carve(block, layout.align());
        }
        let head = state.free[class];
        if head.is_null() {
            return state.carve(block, MIN_ALIGN);
        }
        // SAFETY: a free block starts with the pointer to the next free block of its class.
        state.free[class] = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.0.get() };
        if let Some((class, _)) = class(layout.size().max(layout.align())) {
            // SAFETY: the block is at least 16 bytes, 16-aligned, and no longer used by its owner.
            unsafe { block.cast::<*mut u8>().write(state.free[class]) };
            state.free[class] = block;
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A block already big enough stays where it is: a growing string or vector often fits its block.
        if layout.align() <= MIN_ALIGN
            && let (Some((old, _)), Some((new, _))) = (class(layout.size()), class(new_size))
            && old == new
        {
            return block;
        }
        // SAFETY: the caller's contract for `realloc` is that of `alloc` plus `dealloc` of the old block.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            moved
        }
    }
}

/// The allocation function the host calls to place arguments (the document, a parse result) in the plugin's
/// memory, and that the plugin's own bindings use for results.
///
/// wit-bindgen and wasi-libc each bring a weak `cabi_realloc`, the one through Rust's allocator and the other
/// through C's `malloc`, and which one the linker keeps depends on link order. With this allocator in place it
/// must be the former, or memory the host placed through `malloc` would later be freed into these free lists;
/// this strong definition settles it.
///
/// # Safety
///
/// Called by the canonical ABI only: `old_ptr` is a block of `old_len` bytes at `align` from an earlier call,
/// or `old_len` is 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    // SAFETY: the canonical ABI passes a power-of-two alignment and, for a reallocation, the block's layout.
    let block = unsafe {
        if old_len == 0 {
            if new_len == 0 {
                return align as *mut u8;
            }
            std::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            std::alloc::realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if block.is_null() {
        std::process::abort();
    }
    block
}
