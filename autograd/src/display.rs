//! Numbers as people write them: `3.3`, not `3.3000000000000003`.

use crate::Float;

/// Formats `x` rounded to 10 significant digits for `f64` and 7 for `f32` (as many as an `f32` holds), without
/// trailing zeros (`220`, `2.2`, `1.5e-12`). Numbers from 1e-4 up to 1e16 are written out in positional notation,
/// so a whole number of more digits than that prints in full, as the exact value it holds
/// (`123456789f32` prints `123456792`).
///
/// Rounding hides the last-bit artefacts of binary floating point (`1.1 * 3.0 = 3.3000000000000003`), which is
/// what a reader of a printed gradient or a graph drawing wants.
///
/// ```
/// use autograd::format_number;
/// assert_eq!(format_number(1.1f64 * 3.0), "3.3");
/// assert_eq!(format_number(0.1f32), "0.1"); // not 0.1000000015, the f32's exact value to 10 digits
/// assert_eq!(format_number(220.0f32), "220");
/// assert_eq!(format_number(-0.000012345f64), "-1.2345e-5");
/// ```
pub fn format_number<T: Float>(x: T) -> String {
    // 7 for f32 (epsilon 1.2e-7), 10 for f64 (whose 16 would show the artefacts).
    let digits = (-T::epsilon().to_f64().log10().floor() as i32).min(10);
    let x = x.to_f64();
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..=15).contains(&magnitude) {
        let s = format!("{x:.*e}", (digits - 1) as usize);
        let (mantissa, exponent) = s
            .split_once('e')
            .expect("scientific notation has an exponent");
        return format!("{}e{exponent}", trim_zeros(mantissa));
    }
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn f32_values_print_with_the_digits_an_f32_has() {
        assert_eq!(format_number(1.1f32 * 3.0), "3.3");
        assert_eq!(format_number(1.234_567_8_f32), "1.234568");
        assert_eq!(format_number(0.1f32 + 0.2), "0.3");
        assert_eq!(format_number(1.5e-12f32), "1.5e-12");
        // Whole numbers below 1e16 print in full, as the exact value they hold.
        assert_eq!(format_number(123_456_789_f32), "123456792");
    }

    #[test]
    fn f64_values_print_with_ten_digits() {
        assert_eq!(format_number(0.1f64 + 0.2), "0.3");
        assert_eq!(format_number(1.234_567_890_12_f64), "1.23456789");
        assert_eq!(format_number(1.234_567_891_6_f64), "1.234567892");
        assert_eq!(format_number(2e20f64), "2e20");
    }
}
