//! Numbers as people write them: `3.3`, not `3.3000000000000003`.

use crate::Float;

/// Formats `x` rounded to 10 significant digits, without trailing zeros (`220`, `2.2`, `1.5e-12`).
///
/// Rounding hides the last-bit artefacts of binary floating point (`1.1 * 3.0 = 3.3000000000000003`), which is
/// what a reader of a printed gradient or a graph drawing wants.
///
/// ```
/// use autograd::format_number;
/// assert_eq!(format_number(1.1f64 * 3.0), "3.3");
/// assert_eq!(format_number(220.0f32), "220");
/// assert_eq!(format_number(-0.000012345f64), "-1.2345e-5");
/// ```
pub fn format_number<T: Float>(x: T) -> String {
    let x = x.to_f64();
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..=15).contains(&magnitude) {
        let s = format!("{x:.9e}");
        let (mantissa, exponent) = s
            .split_once('e')
            .expect("scientific notation has an exponent");
        return format!("{}e{exponent}", trim_zeros(mantissa));
    }
    let decimals = (9 - magnitude).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}
