//! Cortex-M: semihosting console and exit, SysTick as an instruction counter under
//! `qemu-system-arm -icount shift=6`, the stack as cortex-m-rt lays it out.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::exception;

pub use cortex_m_rt::entry;
pub use cortex_m_semihosting::hprint as print;
pub use cortex_m_semihosting::hprintln as println;

/// Name of the board the memory map and clock below describe.
#[cfg(board = "mps2-an386")]
pub const BOARD: &str = "mps2-an386 (Cortex-M4F)";
#[cfg(board = "microbit")]
pub const BOARD: &str = "microbit (Cortex-M0)";
/// The QEMU machine name.
#[cfg(board = "mps2-an386")]
pub const BOARD_ID: &str = "mps2-an386";
#[cfg(board = "microbit")]
pub const BOARD_ID: &str = "microbit";

/// Core clock QEMU gives SysTick's core clock source.
#[cfg(board = "mps2-an386")]
const CPU_HZ: u64 = 25_000_000;
#[cfg(board = "microbit")]
const CPU_HZ: u64 = 16_000_000;

/// Painting the whole 4 MiB of the MPS2's RAM before every inference would take longer than
/// the inference; a window far above any model's stack is enough.
#[cfg(board = "mps2-an386")]
pub(super) const PAINT_WINDOW: usize = 256 * 1024;
#[cfg(board = "microbit")]
pub(super) const PAINT_WINDOW: usize = 16 * 1024;

/// `-icount shift=N` of the runner: every instruction advances virtual time by 2^N ns.
const ICOUNT_SHIFT: u32 = 6;

const RELOAD: u32 = 0x00FF_FFFF;
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    // Only this handler writes WRAPS (load/store: ARMv6-M has no atomic read-modify-write).
    WRAPS.store(WRAPS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Starts SysTick from the core clock, wrapping every 2^24 ticks with an interrupt that
/// extends it to 64 bits.
pub fn init() {
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        exit(false)
    };
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(RELOAD);
    cp.SYST.clear_current();
    cp.SYST.enable_interrupt();
    cp.SYST.enable_counter();
}

/// SysTick ticks since [`init`].
pub fn ticks() -> u64 {
    loop {
        let w = WRAPS.load(Ordering::Relaxed);
        let cvr = SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == w {
            return u64::from(w) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - cvr);
        }
    }
}

/// Instructions executed in `ticks` SysTick ticks under `-icount shift=6`:
/// ticks = instructions · 2^shift ns · f_cpu.
pub fn ticks_to_instructions(ticks: u64) -> u64 {
    let ns_per_insn = 1u64 << ICOUNT_SHIFT;
    (ticks * 1_000_000_000 + (ns_per_insn * CPU_HZ) / 2) / (ns_per_insn * CPU_HZ)
}

/// Ends the QEMU run with exit status 0 (`ok`) or 1.
pub fn exit(ok: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

/// The current stack pointer.
pub fn stack_pointer() -> usize {
    cortex_m::register::msp::read() as usize
}

unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

/// Lowest address the stack may grow to: the end of `.bss` (cortex-m-rt's `_stack_end`).
pub(super) fn stack_floor() -> usize {
    (&raw const _stack_end) as usize
}

/// Initial stack pointer (cortex-m-rt's `_stack_start`, the end of RAM).
pub(super) fn stack_top() -> usize {
    (&raw const _stack_start) as usize
}
