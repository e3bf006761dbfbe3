//! TEMPORARY stand-in workload: proves the toolchain end to end (build, QEMU, semihosting,
//! SysTick instruction counts, stack painting) until the LeNet-5 models land.
#![no_std]
#![no_main]

mod sys;

#[cfg(target_arch = "arm")]
use panic_semihosting as _;

use sys::println;
use tinyconv::{Activation, Conv2d, Direct, Im2col, Reference, Tensor};

static W: [[[[f32; 1]; 5]; 5]; 6] = {
    let mut w = [[[[0.0f32; 1]; 5]; 5]; 6];
    let mut o = 0;
    while o < 6 {
        let mut i = 0;
        while i < 5 {
            let mut j = 0;
            while j < 5 {
                w[o][i][j][0] = ((o * 7 + i * 3 + j) % 11) as f32 / 11.0 - 0.5;
                j += 1;
            }
            i += 1;
        }
        o += 1;
    }
    w
};
static B: [f32; 6] = [0.1, -0.1, 0.2, -0.2, 0.0, 0.05];

fn run<A: tinyconv::Algorithm>(x: &Tensor<f32, 28, 28, 1>) -> f32 {
    let conv: Conv2d<1, 6, 5, 5, 2, 2, 2, 1, 2, 1> =
        Conv2d::new(&W, &B).with_activation(Activation::Relu);
    let mut y: Tensor<f32, 14, 14, 6> = [[[0.0; 6]; 14]; 14];
    let floor = sys::paint_stack();
    let t0 = sys::ticks();
    sys::bench_start();
    conv.forward::<A, 28, 28, 14, 14>(core::hint::black_box(x), &mut y);
    sys::bench_stop();
    let t1 = sys::ticks();
    let low = sys::stack_low_water(floor);
    let sum: f32 = y.iter().flatten().flatten().sum();
    println!(
        "{:>9}: checksum {:.4}, {} instructions, peak stack {} B",
        A::NAME,
        sum,
        sys::ticks_to_instructions(t1 - t0),
        sys::stack_peak(low)
    );
    sum
}

#[sys::entry]
fn main() -> ! {
    sys::init();
    println!("tinyconv firmware stand-in on {}", sys::BOARD);
    let mut x: Tensor<f32, 28, 28, 1> = [[[0.0; 1]; 28]; 28];
    for (r, row) in x.iter_mut().enumerate() {
        for (c, px) in row.iter_mut().enumerate() {
            px[0] = ((r * 28 + c) % 17) as f32 / 16.0;
        }
    }
    let a = run::<Reference>(&x);
    let b = run::<Im2col<256>>(&x);
    let c = run::<Direct>(&x);
    let ok = (a - b).abs() < 1e-2 && (a - c).abs() < 1e-2;
    println!("{}", if ok { "PASS" } else { "FAIL" });
    sys::exit(ok)
}
