//! RISC-V (riscv32imac, SiFive FE310 layout): semihosting console and exit, `minstret` as the
//! instruction counter, the stack as riscv-rt lays it out.
//!
//! QEMU 7.2 under `-icount shift=N` makes `minstret` read virtual time in nanoseconds, 2^N per
//! instruction (checked against the instruction-counting plugin: 562,583,808 = 64 × 8,790,372
//! for 8,790,358 counted), so the count is divided by 2^6 here. On silicon `minstret` counts
//! instructions: set `MINSTRET_NS_PER_INSN` to 1.

pub use riscv_rt::entry;
pub use riscv_semihosting::hprint as print;
pub use riscv_semihosting::hprintln as println;

/// Name of the board the memory map describes.
pub const BOARD: &str = "sifive_e (riscv32imac)";
/// The QEMU machine name.
pub const BOARD_ID: &str = "sifive_e";

pub(super) const PAINT_WINDOW: usize = 16 * 1024;

/// Nothing to start: `minstret` counts retired instructions by itself.
pub fn init() {}

/// `minstret` units per instruction: 2^6 under QEMU's `-icount shift=6` (see the module doc).
const MINSTRET_NS_PER_INSN: u64 = 1 << 6;

/// `minstret`.
pub fn ticks() -> u64 {
    riscv::register::minstret::read64()
}

/// Instructions in `ticks` units of `minstret`.
pub fn ticks_to_instructions(ticks: u64) -> u64 {
    ticks / MINSTRET_NS_PER_INSN
}

/// Ends the QEMU run with exit status 0 (`ok`) or 1.
pub fn exit(ok: bool) -> ! {
    use riscv_semihosting::debug;
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    riscv_semihosting::hprintln!("{}", info);
    exit(false)
}

/// The current stack pointer.
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer register, nothing else.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp) };
    sp
}

unsafe extern "C" {
    static _stack_start: u32;
    static __estack: u32;
}

/// Lowest address of riscv-rt's stack region.
pub(super) fn stack_floor() -> usize {
    (&raw const __estack) as usize
}

/// Initial stack pointer (riscv-rt's `_stack_start`, the end of RAM).
pub(super) fn stack_top() -> usize {
    (&raw const _stack_start) as usize
}
