//! im2col and col2im on contiguous buffers: the loops behind `Unfold` and `Fold`, one slice copy (or a strided
//! gather) per window row instead of one ndarray slice per row; and the argmax of each window, for max-pooling.

use crate::Float;

/// The geometry of sliding windows over `[N, C, H, W]` images: sizes, kernel, stride and output positions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Windows {
    /// Images, channels, height, width.
    pub image: (usize, usize, usize, usize),
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Stride along rows and columns.
    pub stride: (usize, usize),
    /// Window positions along rows and columns.
    pub out: (usize, usize),
}

impl Windows {
    /// Calls `f(column row start, image row start)` for every run of `OW` column entries: window row `i`, column
    /// `j` of channel `ch` at output row `y`, whose image elements are `ow` apart by the column stride.
    fn each_run(&self, mut f: impl FnMut(usize, usize)) {
        let (n, c, h, w) = self.image;
        let ((kh, kw), (sh, _), (oh, ow)) = (self.kernel, self.stride, self.out);
        let positions = oh * ow;
        for b in 0..n {
            for ch in 0..c {
                let plane = (b * c + ch) * h * w;
                for i in 0..kh {
                    for j in 0..kw {
                        let row = ((b * c + ch) * kh + i) * kw + j;
                        for y in 0..oh {
                            f(row * positions + y * ow, plane + (y * sh + i) * w + j);
                        }
                    }
                }
            }
        }
    }

    /// The column buffer's length, `N·C·kh·kw·OH·OW`.
    pub fn columns_len(&self) -> usize {
        let (n, c, _, _) = self.image;
        n * c * self.kernel.0 * self.kernel.1 * self.out.0 * self.out.1
    }
}

/// The windows of `image` (`[N, C, H, W]`, row-major) as columns `[N, C·kh·kw, OH·OW]`, row-major. Every
/// element is written once, so the buffer is never zeroed first.
pub(crate) fn im2col<T: Copy>(image: &[T], windows: &Windows) -> Vec<T> {
    let len = windows.columns_len();
    let mut cols = Vec::with_capacity(len);
    let (ow, sw) = (windows.out.1, windows.stride.1);
    let target = &mut cols.spare_capacity_mut()[..len];
    windows.each_run(|to, from| {
        let run = &mut target[to..to + ow];
        if sw == 1 {
            run.write_copy_of_slice(&image[from..from + ow]);
        } else {
            for (k, t) in run.iter_mut().enumerate() {
                t.write(image[from + k * sw]);
            }
        }
    });
    // SAFETY: `each_run` visits every run of `OW` entries of every column row once (N·C·kh·kw rows of OH runs),
    // so all `len` elements were written above.
    unsafe { cols.set_len(len) };
    cols
}

/// Adds the columns `cols` back into `image` (zeros to start with, for col2im), overlapping windows summed.
pub(crate) fn col2im<T: Copy + std::ops::AddAssign>(
    cols: &[T],
    image: &mut [T],
    windows: &Windows,
) {
    let (ow, sw) = (windows.out.1, windows.stride.1);
    windows.each_run(|from, to| {
        for (k, &v) in cols[from..from + ow].iter().enumerate() {
            image[to + k * sw] += v;
        }
    });
}

/// For every window of `image` (`[N, C, H, W]`, row-major), the position in its `H·W` plane of the window's
/// first largest element, NaN counting as largest (PyTorch's choice), as `[N, C, OH·OW]`, row-major.
pub(crate) fn window_argmax<T: Float>(image: &[T], windows: &Windows) -> Vec<usize> {
    let (n, c, h, w) = windows.image;
    let ((kh, kw), (sh, sw), (oh, ow)) = (windows.kernel, windows.stride, windows.out);
    let mut index = vec![0; n * c * oh * ow];
    if windows.kernel == (2, 2) && windows.stride == (2, 2) {
        argmax_2x2(image, (h, w), (oh, ow), &mut index);
        return index;
    }
    let mut top = vec![T::zero(); ow];
    for (plane, index) in image
        .chunks_exact(h * w)
        .zip(index.chunks_exact_mut(oh * ow))
    {
        for (y, best) in index.chunks_exact_mut(ow).enumerate() {
            // One output row at a time, all its windows moved over their elements together, choosing by
            // selects rather than branches (the comparisons are data-dependent coin flips).
            let corner = y * sh * w;
            for (x, (best, top)) in best.iter_mut().zip(&mut top).enumerate() {
                *best = corner + x * sw;
                *top = plane[*best];
            }
            for i in 0..kh {
                for j in 0..kw {
                    let start = corner + i * w + j;
                    for (x, (best, top)) in best.iter_mut().zip(&mut top).enumerate() {
                        let at = start + x * sw;
                        let v = plane[at];
                        // A larger value, or the window's first NaN, takes over.
                        let wins = (v > *top) | (v.is_nan() & !top.is_nan());
                        // `best = if wins { at } else { best }`, as a mask: LLVM turned the select into a
                        // branch, mispredicted half the time.
                        *best ^= (*best ^ at) & usize::from(wins).wrapping_neg();
                        *top = plane[*best];
                    }
                }
            }
        }
    }
    index
}

/// [`window_argmax`] for 2×2 windows moved by 2, the usual max-pooling, compiled for the widest vector
/// instructions the processor has (the crate is built for baseline x86-64): the comparisons are selects on
/// whole rows of windows, which AVX-512 and AVX2 do on 8 or 4 windows' 64-bit positions at a time where SSE2
/// is left shuffling them two by two.
fn argmax_2x2<T: Float>(
    image: &[T],
    size: (usize, usize),
    out: (usize, usize),
    index: &mut [usize],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor supports AVX-512F, checked just above.
            return unsafe { argmax_2x2_avx512(image, size, out, index) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2, checked just above.
            return unsafe { argmax_2x2_avx2(image, size, out, index) };
        }
    }
    argmax_2x2_rows(image, size, out, index)
}

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
#[target_feature(enable = "avx512f")]
fn argmax_2x2_avx512<T: Float>(
    image: &[T],
    size: (usize, usize),
    out: (usize, usize),
    index: &mut [usize],
) {
    argmax_2x2_rows(image, size, out, index)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn argmax_2x2_avx2<T: Float>(
    image: &[T],
    size: (usize, usize),
    out: (usize, usize),
    index: &mut [usize],
) {
    argmax_2x2_rows(image, size, out, index)
}

/// The 2×2 argmax of every window of every output row: each window's upper pair, then its lower pair, compared
/// within the pair, then the lower winner against the upper one, which keeps the first largest in row-major
/// order. No loop carries a chain from one window to the next, so each vectorises; inlined into the versions
/// above so that it is compiled for their instructions.
#[inline(always)]
fn argmax_2x2_rows<T: Float>(
    image: &[T],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    index: &mut [usize],
) {
    // A larger value, or the window's first NaN, takes over.
    let wins = |v: T, top: T| (v > top) | (v.is_nan() & !top.is_nan());
    for (plane, index) in image
        .chunks_exact(h * w)
        .zip(index.chunks_exact_mut(oh * ow))
    {
        for (y, best) in index.chunks_exact_mut(ow).enumerate() {
            let corner = 2 * y * w;
            let upper = plane[corner..corner + 2 * ow].chunks_exact(2);
            let lower = plane[corner + w..corner + w + 2 * ow].chunks_exact(2);
            for (x, (best, (p, q))) in best.iter_mut().zip(upper.zip(lower)).enumerate() {
                let right = wins(p[1], p[0]);
                let top = if right { p[1] } else { p[0] };
                let right_below = wins(q[1], q[0]);
                let below = if right_below { q[1] } else { q[0] };
                let down = wins(below, top);
                let column = if down {
                    usize::from(right_below)
                } else {
                    usize::from(right)
                };
                *best = corner + 2 * x + column + if down { w } else { 0 };
            }
        }
    }
}
