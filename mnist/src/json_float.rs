//! Losses in JSON: a finite `f64` is written as a JSON number (exactly: it reads back bit for bit), and the
//! values JSON has no number for as the strings `"NaN"`, `"inf"` and `"-inf"`. A run whose loss diverged
//! therefore saves and loads like any other.
//!
//! Use with `#[serde(with = "crate::json_float::vec")]` on a `Vec<f64>`, or [`Loss`] for one value.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serialize, Serializer};

/// One `f64` that serializes as described in the module docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loss(pub f64);

impl Serialize for Loss {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() {
            serializer.serialize_f64(x)
        } else if x.is_nan() {
            serializer.serialize_str("NaN")
        } else if x > 0.0 {
            serializer.serialize_str("inf")
        } else {
            serializer.serialize_str("-inf")
        }
    }
}

impl<'de> serde::Deserialize<'de> for Loss {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LossVisitor).map(Loss)
    }
}

struct LossVisitor;

impl Visitor<'_> for LossVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a number, "NaN", "inf" or "-inf""#)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

/// `#[serde(with = …)]` for a `Vec<f64>` of losses.
pub mod vec {
    use serde::de::{SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserializer, Serializer};

    use super::Loss;

    /// Writes every value as [`Loss`] does.
    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for &x in values {
            seq.serialize_element(&Loss(x))?;
        }
        seq.end()
    }

    /// Reads a sequence of values as [`Loss`] does.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        struct Losses;
        impl<'de> Visitor<'de> for Losses {
            type Value = Vec<f64>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of losses")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<f64>, A::Error> {
                // Grown as elements arrive, never reserved from a size the input claims.
                let mut out = Vec::new();
                while let Some(Loss(x)) = seq.next_element()? {
                    out.push(x);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(Losses)
    }
}
