//! Building `.safetensors` files byte by byte, as writers other than ours may lay them out, for the tests of
//! saved parameters.

use nn::Params;

/// A `.safetensors` file with this header text and data (the header unpadded).
pub fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The message of loading `bytes` (named `bad.safetensors`) as f64 parameters, which must fail.
pub fn refusal(bytes: &[u8]) -> String {
    Params::<f64>::from_safetensors_bytes(bytes, "bad.safetensors")
        .expect_err("loading should fail")
        .to_string()
}
