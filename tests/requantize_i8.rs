//! Requantization for every shift in [-31, 30], derived by hand from TFLite's definitions and
//! checked both on `multiply_by_quantized_multiplier*` and end to end through the three int8
//! convolutions (one output channel per shift, so the vector output stage of `im2col` sees
//! every shift). The quant module's own tests cover the other hand cases (ties, i32::MIN,
//! multipliers near 2^31) and an i128 model.

mod common;

use common::int8::check_conv2d_i8;
use tinyconv::Conv2dGeometry;
use tinyconv::quant::{
    LayerParamsI8, QuantizedMultiplier, Rounding, multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_single_rounding,
};

/// `x · M` with `M = 2^30 · 2^(s − 31) = 2^(s − 1)` (multiplier `2^30`, shift `s`), by hand:
///
/// Double rounding, `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^max(s,0),
/// 2^30), max(−s, 0))`; SRDHM by `2^30` halves, rounding ties toward +∞:
/// - `s ≥ 1`: `x · 2^s` then halved exactly: `x · 2^(s − 1)` — except `±3 · 2^30`, which do
///   not fit `i32`: `3 · 2^30` saturates to `2^31 − 1`, halved `2^30 − 0.5` → `2^30`;
///   `−3 · 2^30` saturates to `−2^31`, halved exactly `−2^30` (TFLite's `int` multiply would
///   wrap here).
/// - `s ≤ 0`: SRDHM gives `3/2 → 2` and `−3/2 → −1`; then divide by `2^−s`, ties away from
///   zero: `2 → 2, 1, 1 (0.5), 0 …` and `−1 → −1, −1 (−0.5), 0 …` for `s = 0, −1, −2, −3 …`.
///   (For `x = 3, s = −2` the exact `0.375` rounds to 0: double rounding is one off.)
///
/// Single rounding, `(x · 2^30 + 2^(30 − s)) >> (31 − s)` = `floor(x · 2^(s − 1) + 0.5)`:
/// - `s ≥ 1`: `x · 2^(s − 1)` (no intermediate left shift, so no saturation at `s = 30`).
/// - `s = 0, −1, −2, ≤ −3`: `3 → 2, 1, 0, 0`; `−3 → −1, −1, 0, 0`.
fn by_hand(x: i32, s: i32, rounding: Rounding) -> i32 {
    match (rounding, x, s) {
        (Rounding::Double, 3, 30) => 1 << 30,
        (Rounding::Double, -3, 30) => -(1 << 30),
        (_, _, 1..) => x << (s - 1),
        (Rounding::Double, 3, 0) => 2,
        (Rounding::Double, 3, -1 | -2) => 1,
        (Rounding::Double, -3, 0 | -1) => -1,
        (Rounding::Single, 3, 0) => 2,
        (Rounding::Single, 3, -1) => 1,
        (Rounding::Single, -3, 0 | -1) => -1,
        _ => 0,
    }
}

#[test]
fn every_shift_by_hand() {
    for s in QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT {
        let m = QuantizedMultiplier::new(1 << 30, s).unwrap();
        for x in [3, -3] {
            assert_eq!(
                multiply_by_quantized_multiplier(x, m),
                by_hand(x, s, Rounding::Double),
                "double, x {x}, shift {s}"
            );
            assert_eq!(
                multiply_by_quantized_multiplier_single_rounding(x, m),
                by_hand(x, s, Rounding::Single),
                "single, x {x}, shift {s}"
            );
        }
    }
}

#[test]
fn every_shift_through_the_convolutions() {
    // One 1×1 filter per shift, weight 1; the input value minus its zero point is ±3, so the
    // accumulator of every channel is ±3 and channel o requantizes it with shift o − 31.
    let shifts: Vec<i32> =
        (QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT).collect();
    let m: Vec<QuantizedMultiplier> = shifts
        .iter()
        .map(|&s| QuantizedMultiplier::new(1 << 30, s).unwrap())
        .collect();
    let g = Conv2dGeometry::new([1, 2, 1], shifts.len(), [1, 1]);
    let w = vec![1i8; shifts.len()];
    for rounding in [Rounding::Double, Rounding::Single] {
        // Pixels: 3 − 0 = 3 and −3 − 0 = −3; output zero point −4.
        let p = LayerParamsI8::new(0, -4, &m, None).with_rounding(rounding);
        let y = check_conv2d_i8(&g, &[3, -3], &w, &p);
        for (px, x) in [3, -3].into_iter().enumerate() {
            for (o, &s) in shifts.iter().enumerate() {
                let want = (by_hand(x, s, rounding) - 4).clamp(-128, 127);
                assert_eq!(
                    i32::from(y[px * shifts.len() + o]),
                    want,
                    "{rounding:?}, x {x}, shift {s}"
                );
            }
        }
    }
}
