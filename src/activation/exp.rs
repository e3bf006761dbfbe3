//! `exp`, the logistic sigmoid and `tanh` in `f32`, eight lanes at a time (`f32x8`) and one at a
//! time (the same polynomials without fused multiply-adds, for targets without vector registers
//! and for single values).
//!
//! **exp**: `e^x = 2^n · e^r` with `n = round(x · log₂e)` and `r = x − n·ln2` (ln 2 split in a
//! 9-bit head, so `n · head` is exact, and a tail), `|r| ≤ ln2/2`; `e^r ≈ 1 + r + r²·P(r)` with
//! `P` of degree 4 (a near-minimax fit: relative error 3·10⁻⁹ before rounding). `2^n` is
//! applied as two exact power-of-two factors `2^⌊n/2⌋ · 2^⌈n/2⌉`, so results down into the
//! subnormal range round once. `x` is clamped to `[−104, 88.72283]` first: below, `e^x` rounds to
//! 0; above, it overflows and the result is `+∞`.
//!
//! **sigmoid**: `σ(x) = 1 / (1 + e^−x)` for `x ≥ 0` and `e^x / (1 + e^x)` for `x < 0`, both from
//! `e = exp(−|x|) ∈ (0, 1]`, so nothing overflows and no difference cancels.
//!
//! **tanh**: `|x| < 0.625`: `x + x³·Q(x²)`, `Q` of degree 4 (relative error 4·10⁻⁹ before
//! rounding); above, `(1 − e) / (1 + e)` with `e = exp(−2|x|) ≤ 0.287`, where `1 − e` loses
//! nothing; the sign is `x`'s.
//!
//! **Error bounds**, against `f64` `exp`/`tanh` rounded to `f32`, measured over every `f32` by
//! `exhaustive_error_bounds` (an ignored test; the unit tests assert the same bounds on every
//! 1021st bit pattern and on every `f32` near the branch and range edges):
//!
//! | function | bound (ulp of the correctly rounded result) |
//! |---|---|
//! | [`exp`], [`exp_f32x8`] | ≤ 2 where the result is normal; ≤ 1 subnormal step below |
//! | [`sigmoid`], [`sigmoid_f32x8`] | ≤ 3 where the result is normal; ≤ 1 subnormal step below |
//! | [`tanh`], [`tanh_f32x8`] | ≤ 3 |
//!
//! All saturate exactly (`σ(x) = 1` for `x ≥ 17`, `0` for `x ≤ −104`; `tanh(x) = ±1` for `|x|
//! ≥ 9.1`; `exp(−∞) = 0`, `exp(+∞) = +∞`), keep the sign of zero where the function does (`tanh`)
//! and return NaN for NaN.

use wide::{f32x8, i32x8};

/// `x` above this: `e^x` overflows `f32` (`ln(f32::MAX) = 88.7228391…`; this is the largest
/// `f32` below it).
const EXP_HI: f32 = f32::from_bits(0x42b1_7217);
/// `x` below this: `e^x < 2^−150` rounds to 0 (and `n ≥ −150` keeps both scale factors normal).
const EXP_LO: f32 = -104.0;
const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// `ln 2 = LN2_HI + LN2_LO`, `LN2_HI` with 9 significant bits (`n · LN2_HI` exact for `|n| ≤
/// 2^15`).
const LN2_HI: f32 = 355.0 / 512.0;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `1.5 · 2^23`: adding and subtracting it rounds to an integer (ties to even) for `|v| < 2^22`.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// `P(r)` for `e^r ≈ 1 + r + r²·P(r)`, lowest degree first.
const EXP_P: [f32; 5] = [
    0.499_999_94,
    0.166_665_21,
    0.041_668_39,
    0.008_368_745,
    0.001_381_454,
];
/// `|x|` below this: `tanh` by its odd polynomial.
const TANH_SMALL: f32 = 0.625;
/// `Q(s)`, `s = x²`, for `tanh(x) ≈ x + x³·Q(s)`, lowest degree first.
const TANH_Q: [f32; 5] = [
    -0.333_332_8,
    0.133_314_42,
    -0.053_739_715,
    0.020_639_088,
    -0.005_704_987,
];

/// `e^x` for eight lanes (error bound in the module docs).
#[inline(always)]
pub(crate) fn exp_f32x8(x: f32x8) -> f32x8 {
    let xc = x
        .fast_max(f32x8::splat(EXP_LO))
        .fast_min(f32x8::splat(EXP_HI));
    let magic = f32x8::splat(ROUND_MAGIC);
    let nf = xc.mul_add(f32x8::splat(LOG2_E), magic) - magic;
    let r = (-nf).mul_add(f32x8::splat(LN2_HI), xc);
    let r = (-nf).mul_add(f32x8::splat(LN2_LO), r);
    let mut p = f32x8::splat(EXP_P[4]);
    for &c in EXP_P[..4].iter().rev() {
        p = p.mul_add(r, f32x8::splat(c));
    }
    let p = (r * r).mul_add(p, r) + f32x8::ONE;
    // nf is an integer in [−150, 128]: exact conversion; both halves in [−75, 64].
    let n = nf.fast_round_int();
    let n1 = n >> 1;
    let n2 = n - n1;
    let y = p * pow2_f32x8(n1) * pow2_f32x8(n2);
    let y = x
        .simd_gt(f32x8::splat(EXP_HI))
        .select(f32x8::splat(f32::INFINITY), y);
    x.is_nan().select(x, y)
}

/// `2^k` for `k` in the normal exponent range `[−126, 127]`.
#[inline(always)]
fn pow2_f32x8(k: i32x8) -> f32x8 {
    wide::bytemuck::cast((k + i32x8::splat(127)) << 23)
}

/// `σ(x) = 1 / (1 + e^−x)` for eight lanes (error bound in the module docs).
#[inline(always)]
pub(crate) fn sigmoid_f32x8(x: f32x8) -> f32x8 {
    let e = exp_f32x8(-x.abs());
    let num = x.simd_lt(f32x8::ZERO).select(e, f32x8::ONE);
    num / (f32x8::ONE + e)
}

/// `tanh(x)` for eight lanes (error bound in the module docs).
#[inline(always)]
pub(crate) fn tanh_f32x8(x: f32x8) -> f32x8 {
    let a = x.abs();
    let s = a * a;
    let mut q = f32x8::splat(TANH_Q[4]);
    for &c in TANH_Q[..4].iter().rev() {
        q = q.mul_add(s, f32x8::splat(c));
    }
    let small = (a * s).mul_add(q, a);
    let e = exp_f32x8(a * f32x8::splat(-2.0));
    let large = (f32x8::ONE - e) / (f32x8::ONE + e);
    let t = a.simd_lt(f32x8::splat(TANH_SMALL)).select(small, large);
    // t ≥ 0 (or NaN): give it x's sign bit.
    t | (x & f32x8::splat(-0.0))
}

/// `e^x` (error bound in the module docs): the eight-lane version's polynomial on one value, without
/// fused multiply-adds.
///
/// ```
/// use tinyconv::activation::exp;
/// assert_eq!(exp(0.0), 1.0);
/// assert!((exp(1.0) - core::f32::consts::E).abs() <= 4.0 * f32::EPSILON); // 2 ulp of e
/// assert_eq!(exp(-200.0), 0.0);
/// assert_eq!(exp(100.0), f32::INFINITY);
/// assert!(exp(f32::NAN).is_nan());
/// ```
#[inline]
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x > EXP_HI {
        return f32::INFINITY;
    }
    let xc = x.max(EXP_LO);
    let nf = (xc * LOG2_E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = xc - nf * LN2_HI;
    let r = r - nf * LN2_LO;
    let mut p = EXP_P[4];
    for &c in EXP_P[..4].iter().rev() {
        p = p * r + c;
    }
    let p = (r * r) * p + r + 1.0;
    let n = nf as i32;
    let n1 = n >> 1;
    let n2 = n - n1;
    p * pow2(n1) * pow2(n2)
}

/// `2^k` for `k` in the normal exponent range `[−126, 127]`.
#[inline(always)]
fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// The logistic function `σ(x) = 1 / (1 + e^−x)` (error bound in the module docs), without
/// overflow for any `x`.
///
/// ```
/// use tinyconv::activation::sigmoid;
/// assert_eq!(sigmoid(0.0), 0.5);
/// assert_eq!(sigmoid(20.0), 1.0);
/// assert_eq!(sigmoid(-200.0), 0.0);
/// assert!(sigmoid(f32::NAN).is_nan());
/// ```
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let num = if x < 0.0 { e } else { 1.0 };
    num / (1.0 + e)
}

/// `tanh(x)` (error bound in the module docs).
///
/// ```
/// use tinyconv::activation::tanh;
/// assert_eq!(tanh(0.0), 0.0);
/// assert_eq!(tanh(-20.0), -1.0);
/// assert!((tanh(0.5) - 0.462_117_16).abs() <= 2.0 * f32::EPSILON);
/// ```
#[inline]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let t = if a < TANH_SMALL {
        let s = a * a;
        let mut q = TANH_Q[4];
        for &c in TANH_Q[..4].iter().rev() {
            q = q * s + c;
        }
        a + (a * s) * q
    } else {
        let e = exp(-2.0 * a);
        (1.0 - e) / (1.0 + e)
    };
    t.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place of the `f32` nearest to `want` (subnormal steps below
    /// `f32::MIN_POSITIVE`); infinite if exactly one side is infinite or NaN.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        if w.is_nan() || got.is_nan() {
            return if w.is_nan() && got.is_nan() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        if w.is_infinite() || got.is_infinite() {
            return if got == w { 0.0 } else { f64::INFINITY };
        }
        // ulp(w) = 2^(e − 150) for biased exponent e ≥ 1, 2^−149 for subnormals and zero.
        let e = ((w.to_bits() >> 23) & 0xff).max(1);
        let ulp = f64::from_bits(u64::from(e + 1023 - 150) << 52);
        (got as f64 - want).abs() / ulp
    }

    /// Largest error of `f` (scalar) and `fv` (eight lanes) against `reference` over `xs`,
    /// split by whether the correctly rounded result is normal:
    /// `[scalar normal, scalar subnormal, f32x8 normal, f32x8 subnormal]`, each `(ulps, at x)`.
    fn worst_error(
        xs: impl Iterator<Item = f32>,
        f: fn(f32) -> f32,
        fv: fn(f32x8) -> f32x8,
        reference: fn(f64) -> f64,
    ) -> [(f64, f32); 4] {
        let mut worst = [(0.0f64, 0.0f32); 4];
        let mut check = |lanes: &[f32; 8], n: usize| {
            let v = fv(f32x8::new(*lanes)).to_array();
            for (&x, &y) in lanes.iter().zip(&v).take(n) {
                let want = reference(x as f64);
                let sub = usize::from((want as f32).abs() < f32::MIN_POSITIVE);
                for (k, got) in [(sub, f(x)), (2 + sub, y)] {
                    let e = ulps(got, want);
                    if e > worst[k].0 {
                        worst[k] = (e, x);
                    }
                }
            }
        };
        let mut lanes = [0.0f32; 8];
        let mut filled = 0;
        for x in xs {
            lanes[filled] = x;
            filled += 1;
            if filled == 8 {
                check(&lanes, 8);
                filled = 0;
            }
        }
        check(&lanes, filled);
        worst
    }

    /// Every `step`-th bit pattern (both signs, NaNs and infinities included).
    fn every(step: usize) -> impl Iterator<Item = f32> {
        (0..=u32::MAX).step_by(step).map(f32::from_bits)
    }

    /// Every `f32` within `2^16` bit patterns of each of `xs` and of their negations: the
    /// branch and range edges, which a strided sweep crosses only once.
    fn around(xs: &[f32]) -> impl Iterator<Item = f32> + '_ {
        xs.iter().flat_map(|&x| {
            [x, -x].into_iter().flat_map(|y| {
                let b = y.to_bits();
                (b.saturating_sub(1 << 16)..=b.saturating_add(1 << 16)).map(f32::from_bits)
            })
        })
    }

    fn sigmoid_ref(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The bounds of the module docs: (normal, subnormal) ulps.
    const EXP_BOUND: (f64, f64) = (2.0, 1.0);
    const SIGMOID_BOUND: (f64, f64) = (3.0, 1.0);
    const TANH_BOUND: (f64, f64) = (3.0, 1.0);

    fn assert_within(name: &str, worst: [(f64, f32); 4], (normal, sub): (f64, f64)) {
        println!(
            "{name}: worst (ulps, x) [scalar normal, scalar subnormal, f32x8 normal, f32x8 subnormal] = {worst:?}"
        );
        for (k, (e, x)) in worst.into_iter().enumerate() {
            let bound = if k % 2 == 0 { normal } else { sub };
            let path = if k < 2 { "scalar" } else { "f32x8" };
            assert!(
                e <= bound,
                "{name} ({path}): {e:.3} ulp at x = {x:e} ({:#010x}), bound {bound}",
                x.to_bits()
            );
        }
    }

    /// Where exp's result leaves the normal range (ln 2^−126), its clamps and the ln 2/2 edge
    /// of the polynomial.
    const EXP_EDGES: [f32; 5] = [-87.336_55, EXP_LO, EXP_HI, 0.346_573_6, 1.0];
    /// tanh's switch from the polynomial to exp; sigmoid's e^−|x| turning subnormal; saturation.
    const SIGMOID_EDGES: [f32; 4] = [87.336_55, 16.635_532, 0.0, 1.0];
    const TANH_EDGES: [f32; 4] = [TANH_SMALL, 8.664_34, 0.0, 2e-4];

    #[test]
    fn exp_within_bound() {
        let w = worst_error(
            every(1021).chain(around(&EXP_EDGES)),
            exp,
            exp_f32x8,
            f64::exp,
        );
        assert_within("exp", w, EXP_BOUND);
    }

    #[test]
    fn sigmoid_within_bound() {
        let xs = every(1021).chain(around(&SIGMOID_EDGES));
        let w = worst_error(xs, sigmoid, sigmoid_f32x8, sigmoid_ref);
        assert_within("sigmoid", w, SIGMOID_BOUND);
    }

    #[test]
    fn tanh_within_bound() {
        let w = worst_error(
            every(1021).chain(around(&TANH_EDGES)),
            tanh,
            tanh_f32x8,
            f64::tanh,
        );
        assert_within("tanh", w, TANH_BOUND);
    }

    /// Every f32 (minutes per function in release mode):
    /// `cargo test --release -p tinyconv --lib exhaustive_error_bounds -- --ignored --nocapture`.
    #[test]
    #[ignore = "4.3 billion inputs per function; run by hand"]
    fn exhaustive_error_bounds() {
        for (name, f, fv, reference, bound) in [
            (
                "exp",
                exp as fn(f32) -> f32,
                exp_f32x8 as fn(f32x8) -> f32x8,
                f64::exp as fn(f64) -> f64,
                EXP_BOUND,
            ),
            (
                "sigmoid",
                sigmoid,
                sigmoid_f32x8,
                sigmoid_ref,
                SIGMOID_BOUND,
            ),
            ("tanh", tanh, tanh_f32x8, f64::tanh, TANH_BOUND),
        ] {
            let w = worst_error(every(1), f, fv, reference);
            println!("{name}: {w:?}");
            assert_within(name, w, bound);
        }
    }

    /// Values at the edges: saturation, overflow, zeros of both signs, NaN, infinities, and a
    /// pattern with every lane different.
    #[test]
    fn special_values_in_every_lane() {
        let v = |x: f32| f32x8::splat(x);
        let lane0 = |y: f32x8| y.to_array()[0];
        for (x, e, s, t) in [
            (0.0f32, 1.0f32, 0.5f32, 0.0f32),
            (f32::INFINITY, f32::INFINITY, 1.0, 1.0),
            (f32::NEG_INFINITY, 0.0, 0.0, -1.0),
            (100.0, f32::INFINITY, 1.0, 1.0),
            (-110.0, 0.0, 0.0, -1.0),
            (17.0, 17f64.exp() as f32, 1.0, 1.0),
        ] {
            for (got, want, name) in [
                (exp(x), e, "exp"),
                (lane0(exp_f32x8(v(x))), e, "exp_f32x8"),
                (sigmoid(x), s, "sigmoid"),
                (lane0(sigmoid_f32x8(v(x))), s, "sigmoid_f32x8"),
                (tanh(x), t, "tanh"),
                (lane0(tanh_f32x8(v(x))), t, "tanh_f32x8"),
            ] {
                // exp(17) is not exact: within 2 ulp.
                let tol = 2.0 * want.abs() * f32::EPSILON;
                assert!(
                    got == want || (got - want).abs() <= tol,
                    "{name}({x}) = {got}, want {want}"
                );
            }
        }
        assert!(tanh(-0.0).is_sign_negative() && lane0(tanh_f32x8(v(-0.0))).is_sign_negative());
        assert!(tanh(0.0).is_sign_positive() && lane0(tanh_f32x8(v(0.0))).is_sign_positive());
        assert_eq!(exp(88.722_84), f32::INFINITY);
        assert_eq!(lane0(exp_f32x8(v(88.722_84))), f32::INFINITY);
        assert!(exp(EXP_HI).is_finite() && lane0(exp_f32x8(v(EXP_HI))).is_finite());
        let nans = [f32::NAN, -f32::NAN];
        for x in nans {
            assert!(exp(x).is_nan() && sigmoid(x).is_nan() && tanh(x).is_nan());
            assert!(lane0(exp_f32x8(v(x))).is_nan());
            assert!(lane0(sigmoid_f32x8(v(x))).is_nan());
            assert!(lane0(tanh_f32x8(v(x))).is_nan());
        }
        // Mixed lanes: each lane is computed on its own (no lane leaks into another).
        let xs = [f32::NAN, -3.0, 0.0, 100.0, -110.0, 0.3, -0.7, 12.0];
        let (ev, sv, tv) = (
            exp_f32x8(f32x8::new(xs)).to_array(),
            sigmoid_f32x8(f32x8::new(xs)).to_array(),
            tanh_f32x8(f32x8::new(xs)).to_array(),
        );
        for (i, &x) in xs.iter().enumerate() {
            for (got, want) in [
                (ev[i], lane0(exp_f32x8(v(x)))),
                (sv[i], lane0(sigmoid_f32x8(v(x)))),
                (tv[i], lane0(tanh_f32x8(v(x)))),
            ] {
                assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()));
            }
        }
    }
}
