//! What the firmware needs from the chip: console output, exit status, an instruction counter,
//! stack painting, and the two marker functions an instruction-counting QEMU plugin watches.
//!
//! One implementation per architecture ([`arm`] for the Cortex-M boards, [`riscv`] for the
//! RISC-V one); the rest of the firmware only sees the functions re-exported here.

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub use arm::*;

#[cfg(target_arch = "riscv32")]
mod riscv;
#[cfg(target_arch = "riscv32")]
pub use riscv::*;

use core::sync::atomic::{Ordering, compiler_fence};

/// Written (volatile) by the markers so that they are two distinct functions with side effects:
/// the optimiser can neither merge them into one address nor move the inference across them.
static mut MARKER: u32 = 0;

/// Start of a measured region: `../shared/tools/qemu-insn`'s plugin counts the guest
/// instructions executed from the entry of this function to the entry of [`bench_stop`].
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_start() {
    compiler_fence(Ordering::SeqCst);
    // SAFETY: a word-sized volatile write to a static only the markers touch; single core.
    unsafe { core::ptr::write_volatile(&raw mut MARKER, 1) };
    compiler_fence(Ordering::SeqCst);
}

/// End of a measured region (see [`bench_start`]).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_stop() {
    compiler_fence(Ordering::SeqCst);
    // SAFETY: as in `bench_start`.
    unsafe { core::ptr::write_volatile(&raw mut MARKER, 2) };
    compiler_fence(Ordering::SeqCst);
}

/// Fill value of the unused stack.
const PAINT: u32 = 0x5AA5_C33C;

/// Paints the free stack below the current stack pointer (at most `PAINT_WINDOW` bytes of it)
/// and returns the lowest painted address, to be handed to [`stack_low_water`].
#[inline(never)]
pub fn paint_stack() -> usize {
    let sp = stack_pointer() & !3;
    // Leave 64 bytes under the stack pointer alone: this function's own frame never reaches
    // that far (it calls nothing), and an interrupt landing here may push its frame there.
    let top = sp - 64;
    let floor = stack_floor().max(top.saturating_sub(PAINT_WINDOW));
    let mut p = floor;
    while p < top {
        // SAFETY: [floor, top) is RAM between the end of the static data (or the paint window)
        // and the live stack; nothing lives there, and the writes are word-aligned.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    floor
}

/// The lowest address the stack reached since [`paint_stack`] painted from `floor`.
/// `floor` itself means the stack reached the end of the painted window.
#[inline(never)]
pub fn stack_low_water(floor: usize) -> usize {
    let mut p = floor;
    // SAFETY: reads of RAM that `paint_stack` painted; word-aligned.
    while p < stack_top() && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    p
}

/// Bytes of stack in use at the low-water mark, counted from the top of the stack (so the
/// reset handler's and `main`'s frames are included).
pub fn stack_peak(low_water: usize) -> usize {
    stack_top() - low_water
}
