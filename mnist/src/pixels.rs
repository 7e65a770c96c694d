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

    /// Every byte value, through whichever version this processor runs, equals the plain division.
    #[test]
    fn every_byte_value_converts_exactly() {
        let pixels: Vec<u8> = (0..PIXELS).map(|i| (i % 256) as u8).collect();
        let mut f32s = Vec::new();
        scale_rows::<f32>(&pixels, [0, 0].into_iter(), &mut f32s);
        let mut f64s = Vec::new();
        scale_rows::<f64>(&pixels, std::iter::once(0), &mut f64s);
        assert_eq!(f32s.len(), 2 * PIXELS);
        for (i, &p) in pixels.iter().chain(&pixels).enumerate() {
            assert_eq!(
                f32s[i].to_bits(),
                (f32::from(p) / 255.0).to_bits(),
                "f32, byte {p}"
            );
        }
        for (i, &p) in pixels.iter().enumerate() {
            assert_eq!(
                f64s[i].to_bits(),
                (f64::from(p) / 255.0).to_bits(),
                "f64, byte {p}"
            );
        }
        assert_eq!((f32s[255], f32s[0]), (1.0, 0.0));
    }
}
