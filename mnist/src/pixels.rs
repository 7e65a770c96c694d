//! Pixels to floats: `p / 255` for every byte of the chosen image rows, correctly rounded, with the widest
//! vector instructions the processor has.
//!
//! A division per pixel is the slow part of a plain loop, and multiplying by `1/255` alone rounds differently
//! for 126 of the 256 byte values in f32. The vector versions therefore multiply and then correct the quotient
//! with two fused multiply-adds (one for the exact remainder `p - 255·q`, one to add `remainder / 255` back),
//! which gives the correctly rounded `p / 255` for every byte value: not a general theorem about this
//! correction, but checked exhaustively, all 256 values in f32 and f64, by this module's test. So every build
//! and every processor gives the same floats as the division, bit for bit; the portable version (no FMA
//! instructions) keeps the division.
//!
//! The crate is compiled for baseline x86-64 (SSE2), so the loop is compiled with AVX2+FMA and, with the
//! `avx512` feature (on by default), with AVX-512, and picked at run time
//! (`cargo bench -p mnist --bench step -- convert`).

use crate::idx::PIXELS;
use num_traits::Float;

/// Appends `p / 255` for every pixel of each row in `rows` (indices of 784-byte rows of `pixels`) to `out`.
///
/// # Panics
/// If a row reaches past the end of `pixels`.
pub(crate) fn scale_rows<F: Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize> + Clone,
    out: &mut Vec<F>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor supports AVX-512F (which includes FMA), checked just above.
            return unsafe { scale_rows_avx512(pixels, rows, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor supports AVX2 and FMA, checked just above.
            return unsafe { scale_rows_avx2(pixels, rows, out) };
        }
    }
    scale_rows_divided(pixels, rows, out)
}

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
#[target_feature(enable = "avx512f,fma")]
fn scale_rows_avx512<F: Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize> + Clone,
    out: &mut Vec<F>,
) {
    scale_rows_corrected(pixels, rows, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scale_rows_avx2<F: Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize> + Clone,
    out: &mut Vec<F>,
) {
    scale_rows_corrected(pixels, rows, out)
}

/// The multiply and its two-FMA correction, inlined into the vector versions above so that it is compiled for
/// their instructions (`mul_add` is one instruction there, a slow library call without FMA).
#[inline(always)]
fn scale_rows_corrected<F: Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize> + Clone,
    out: &mut Vec<F>,
) {
    let max = <F as From<u8>>::from(u8::MAX);
    let reciprocal = max.recip();
    convert_rows(pixels, rows, out, |p| {
        let quotient = p * reciprocal;
        let remainder = (-quotient).mul_add(max, p);
        remainder.mul_add(reciprocal, quotient)
    })
}

/// A division per pixel: the version for processors without FMA, and the reference the others are tested
/// against.
fn scale_rows_divided<F: Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize> + Clone,
    out: &mut Vec<F>,
) {
    let max = <F as From<u8>>::from(u8::MAX);
    convert_rows(pixels, rows, out, |p| p / max)
}

/// Appends `scale(p)` for every pixel `p` (as a float) of each row in `rows`, prefetching the rows ahead.
#[inline(always)]
fn convert_rows<F: Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize> + Clone,
    out: &mut Vec<F>,
    scale: impl Fn(F) -> F,
) {
    let mut ahead = rows.clone().skip(PREFETCH_AHEAD);
    for i in rows {
        if let Some(next) = ahead.next() {
            prefetch_row(pixels, next);
        }
        let row = &pixels[i * PIXELS..(i + 1) * PIXELS];
        // A plain loop over the spare capacity rather than `Vec::extend`: whether `extend` is inlined into the
        // vector versions is the compiler's choice, and when it was not (after an unrelated change nearby) the
        // conversion ran as baseline code, evaluation 0.65 -> 2.9 s.
        out.reserve(PIXELS);
        for (o, &p) in out.spare_capacity_mut()[..PIXELS].iter_mut().zip(row) {
            o.write(scale(<F as From<u8>>::from(p)));
        }
        // SAFETY: the loop above initialised the PIXELS floats after the old length.
        unsafe { out.set_len(out.len() + PIXELS) };
    }
}

/// How many rows ahead of the one converting [`prefetch_row`] asks for.
const PREFETCH_AHEAD: usize = 4;

/// Asks the processor to start loading row `i` of `pixels` into the cache (if there is such a row), so that
/// the next rows of a random mini-batch are on their way while this one converts: the rows are scattered over a
/// 47 MB array, and waiting for each one's first cache lines was most of the conversion's time.
#[inline(always)]
fn prefetch_row(pixels: &[u8], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(row) = pixels.get(i * PIXELS..(i + 1) * PIXELS) {
        for line in row.chunks(64) {
            // SAFETY: prefetching is only a hint (SSE, part of baseline x86-64); the address is inside `row`.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    line.as_ptr().cast(),
                )
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (pixels, i);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `convert` on rows holding every byte value (row 0 twice, for f32) and checks each float against the
    /// plain division, bit for bit.
    fn check_exact(name: &str, convert: impl Fn(&[u8], &mut Vec<f32>, &mut Vec<f64>)) {
        let pixels: Vec<u8> = (0..PIXELS).map(|i| (i % 256) as u8).collect();
        let (mut f32s, mut f64s) = (Vec::new(), Vec::new());
        convert(&pixels, &mut f32s, &mut f64s);
        assert_eq!((f32s.len(), f64s.len()), (2 * PIXELS, PIXELS), "{name}");
        for (i, &p) in pixels.iter().chain(&pixels).enumerate() {
            let expected = f32::from(p) / 255.0;
            assert_eq!(
                f32s[i].to_bits(),
                expected.to_bits(),
                "{name}, f32, byte {p}"
            );
        }
        for (i, &p) in pixels.iter().enumerate() {
            let expected = f64::from(p) / 255.0;
            assert_eq!(
                f64s[i].to_bits(),
                expected.to_bits(),
                "{name}, f64, byte {p}"
            );
        }
        assert_eq!((f32s[255], f32s[0]), (1.0, 0.0), "{name}");
    }

    #[test]
    fn every_version_converts_every_byte_value_exactly() {
        check_exact("dispatched", |pixels, f32s, f64s| {
            scale_rows(pixels, [0, 0].into_iter(), f32s);
            scale_rows(pixels, std::iter::once(0), f64s);
        });
        check_exact("divided", |pixels, f32s, f64s| {
            scale_rows_divided(pixels, [0, 0].into_iter(), f32s);
            scale_rows_divided(pixels, std::iter::once(0), f64s);
        });
        // The correction itself, whatever the processor: `mul_add` is exact (a library call without FMA).
        check_exact("corrected", |pixels, f32s, f64s| {
            scale_rows_corrected(pixels, [0, 0].into_iter(), f32s);
            scale_rows_corrected(pixels, std::iter::once(0), f64s);
        });
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                check_exact("avx2", |pixels, f32s, f64s| {
                    // SAFETY: the processor supports AVX2 and FMA, checked just above.
                    unsafe {
                        scale_rows_avx2(pixels, [0, 0].into_iter(), f32s);
                        scale_rows_avx2(pixels, std::iter::once(0), f64s);
                    }
                });
            }
            #[cfg(feature = "avx512")]
            if std::arch::is_x86_feature_detected!("avx512f") {
                check_exact("avx512", |pixels, f32s, f64s| {
                    // SAFETY: the processor supports AVX-512F, checked just above.
                    unsafe {
                        scale_rows_avx512(pixels, [0, 0].into_iter(), f32s);
                        scale_rows_avx512(pixels, std::iter::once(0), f64s);
                    }
                });
            }
        }
    }

    /// The reason for the correction: the multiply alone is not the division.
    #[test]
    fn multiplying_by_the_reciprocal_alone_rounds_differently() {
        let differing = (0..=255u8)
            .filter(|&p| f32::from(p) * (1.0 / 255.0) != f32::from(p) / 255.0)
            .count();
        assert_eq!(differing, 126);
    }
}
