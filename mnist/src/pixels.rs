//! Pixels to floats: `p / 255` for every byte of the chosen image rows, with the widest vector
//! instructions the processor has.
//!
//! The division is kept (multiplying by `1/255` rounds differently for 126 of the 256 byte values in f32),
//! so every build and every processor gives bit-identical floats; only the width of the vectors changes.
//! The crate is compiled for baseline x86-64 (SSE2), so the same loop is also compiled with AVX2 and with
//! AVX-512 enabled and picked at run time; on this project's machine (AVX-512) that halves the cost of a
//! converted mini-batch (`cargo bench -p mnist --bench step -- convert`).

use crate::idx::PIXELS;

/// Appends `p / 255` for every pixel of each row in `rows` (indices of 784-byte rows of `pixels`) to `out`.
///
/// # Panics
/// If a row reaches past the end of `pixels`.
pub(crate) fn scale_rows<F: num_traits::Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize>,
    out: &mut Vec<F>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor supports AVX-512F, checked just above.
            return unsafe { scale_rows_avx512(pixels, rows, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2, checked just above.
            return unsafe { scale_rows_avx2(pixels, rows, out) };
        }
    }
    scale_rows_portable(pixels, rows, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn scale_rows_avx512<F: num_traits::Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize>,
    out: &mut Vec<F>,
) {
    scale_rows_portable(pixels, rows, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scale_rows_avx2<F: num_traits::Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize>,
    out: &mut Vec<F>,
) {
    scale_rows_portable(pixels, rows, out)
}

/// The loop itself, inlined into each of the versions above so that it is compiled for their instructions.
#[inline(always)]
fn scale_rows_portable<F: num_traits::Float + From<u8>>(
    pixels: &[u8],
    rows: impl Iterator<Item = usize>,
    out: &mut Vec<F>,
) {
    let max = <F as From<u8>>::from(u8::MAX);
    for i in rows {
        let row = &pixels[i * PIXELS..(i + 1) * PIXELS];
        out.extend(row.iter().map(|&p| <F as From<u8>>::from(p) / max));
    }
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
        check_exact("portable", |pixels, f32s, f64s| {
            scale_rows_portable(pixels, [0, 0].into_iter(), f32s);
            scale_rows_portable(pixels, std::iter::once(0), f64s);
        });
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                check_exact("avx2", |pixels, f32s, f64s| {
                    // SAFETY: the processor supports AVX2, checked just above.
                    unsafe {
                        scale_rows_avx2(pixels, [0, 0].into_iter(), f32s);
                        scale_rows_avx2(pixels, std::iter::once(0), f64s);
                    }
                });
            }
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
}
