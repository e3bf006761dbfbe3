//! The chapter's edge detection: a 6×8 image, white with a black band in columns 2..6, convolved
//! with the kernel `[1, −1]` by all three algorithms. Prints the image and the edges.
//!
//! `cargo run --release --example edge_detect`

use tinyconv::conv::PackedFilters;
use tinyconv::error::const_expect;
use tinyconv::{Conv2d, Conv2dF32Kernel, Tensor};

type Edge = Conv2d<'static, 1, 1, 1, 2>;
static K: [[[[f32; 1]; 2]; 1]; 1] = [[[[1.0], [-1.0]]]];
static B: [f32; 1] = [0.0];
/// The kernel packed for each algorithm, at compile time.
static PACKED: [PackedFilters<Conv2dF32Kernel, f32, 1, 1, 2, 1>; 3] = [
    const_expect(Edge::pack(Conv2dF32Kernel::Reference, &K), "pack"),
    const_expect(Edge::pack(Conv2dF32Kernel::Im2col, &K), "pack"),
    const_expect(Edge::pack(Conv2dF32Kernel::Direct, &K), "pack"),
];

fn show<const H: usize, const W: usize>(title: &str, t: &Tensor<f32, H, W, 1>) {
    println!("{title}");
    for row in t {
        let cells: Vec<String> = row.iter().map(|p| format!("{:>3}", p[0])).collect();
        println!("  {}", cells.join(""));
    }
}

fn main() {
    let mut x: Tensor<f32, 6, 8, 1> = [[[1.0]; 8]; 6];
    for row in x.iter_mut() {
        for px in &mut row[2..6] {
            *px = [0.0];
        }
    }
    show("X (6×8):", &x);
    let mut y: [Tensor<f32, 6, 7, 1>; 3] = Default::default();
    for (packed, y) in PACKED.iter().zip(&mut y) {
        let conv = Edge::new(packed, &B);
        let mut scratch = vec![0.0; conv.scratch_len(6, 8)];
        conv.forward(&x, y, &mut scratch)
            .expect("scratch of scratch_len");
    }
    show(
        "Y = corr2d(X, [1, -1]) (6×7): 1 where white turns black, -1 where black turns white",
        &y[0],
    );
    let agree = y[1] == y[0] && y[2] == y[0];
    println!("reference, im2col and direct agree: {agree}");
    if !agree {
        std::process::exit(1);
    }
}
