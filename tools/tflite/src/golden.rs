//! Golden inputs and outputs recorded from TensorFlow Lite Micro (`scripts/make_models.py`,
//! `scripts/check_tflm.py --fresh`).
//!
//! Format (little endian): `b"TCG1"`, `u8` element type (1 = int8, 2 = f32), three zero bytes,
//! `u32` cases, `u32` input length, `u32` output length, then for each case the input followed by
//! TFLM's output, flattened NHWC.

use std::fmt;

/// Element type of a golden file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoldenType {
    /// int8 tensors.
    I8,
    /// f32 tensors.
    F32,
}

/// The cases of a golden file, each `(input, output)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Golden {
    /// An int8 model's cases.
    I8(Vec<(Vec<i8>, Vec<i8>)>),
    /// An f32 model's cases.
    F32(Vec<(Vec<f32>, Vec<f32>)>),
}

/// Why a golden file was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldenError(pub String);

impl fmt::Display for GoldenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "golden file: {}", self.0)
    }
}

impl std::error::Error for GoldenError {}

const HEADER: usize = 20;

impl Golden {
    /// Parses a golden file, checking its header and that its length is exactly what the header
    /// announces.
    pub fn parse(bytes: &[u8]) -> Result<Golden, GoldenError> {
        let err = |m: &str| GoldenError(m.to_string());
        if bytes.len() < HEADER || &bytes[..4] != b"TCG1" {
            return Err(err("missing the TCG1 header"));
        }
        let ty = match bytes[4] {
            1 => GoldenType::I8,
            2 => GoldenType::F32,
            other => return Err(GoldenError(format!("unknown element type {other}"))),
        };
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
        };
        let (cases, n_in, n_out) = (word(8), word(12), word(16));
        let size = match ty {
            GoldenType::I8 => 1,
            GoldenType::F32 => 4,
        };
        let expected = n_in
            .checked_add(n_out)
            .and_then(|n| n.checked_mul(size))
            .and_then(|n| n.checked_mul(cases))
            .and_then(|n| n.checked_add(HEADER))
            .ok_or_else(|| err("sizes overflow"))?;
        if bytes.len() != expected {
            return Err(GoldenError(format!(
                "{} bytes, the header announces {expected}",
                bytes.len()
            )));
        }
        let body = &bytes[HEADER..];
        Ok(match ty {
            GoldenType::I8 => {
                let values: Vec<i8> = body.iter().map(|&b| b as i8).collect();
                Golden::I8(
                    values
                        .chunks_exact(n_in + n_out)
                        .map(|c| (c[..n_in].to_vec(), c[n_in..].to_vec()))
                        .collect(),
                )
            }
            GoldenType::F32 => {
                let values: Vec<f32> = body
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                Golden::F32(
                    values
                        .chunks_exact(n_in + n_out)
                        .map(|c| (c[..n_in].to_vec(), c[n_in..].to_vec()))
                        .collect(),
                )
            }
        })
    }

    /// Number of cases.
    pub fn len(&self) -> usize {
        match self {
            Golden::I8(c) => c.len(),
            Golden::F32(c) => c.len(),
        }
    }

    /// Whether there are no cases.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element type.
    pub fn element_type(&self) -> GoldenType {
        match self {
            Golden::I8(_) => GoldenType::I8,
            Golden::F32(_) => GoldenType::F32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(ty: u8, cases: u32, n_in: u32, n_out: u32, body: &[u8]) -> Vec<u8> {
        let mut v = b"TCG1".to_vec();
        v.extend([ty, 0, 0, 0]);
        for w in [cases, n_in, n_out] {
            v.extend(w.to_le_bytes());
        }
        v.extend(body);
        v
    }

    #[test]
    fn parses_int8_and_f32() {
        let g = Golden::parse(&file(1, 2, 2, 1, &[1, 2, 3, 0xff, 0xfe, 0xfd])).unwrap();
        assert_eq!(
            g,
            Golden::I8(vec![(vec![1, 2], vec![3]), (vec![-1, -2], vec![-3])])
        );
        let mut body = Vec::new();
        for x in [1.5f32, -2.0] {
            body.extend(x.to_le_bytes());
        }
        let g = Golden::parse(&file(2, 1, 1, 1, &body)).unwrap();
        assert_eq!(g, Golden::F32(vec![(vec![1.5], vec![-2.0])]));
    }

    #[test]
    fn rejects_bad_files() {
        assert!(Golden::parse(b"TCG").is_err());
        assert!(Golden::parse(&file(3, 0, 0, 0, &[])).is_err());
        assert!(Golden::parse(&file(1, 1, 2, 1, &[1, 2])).is_err());
        assert!(Golden::parse(&file(1, 1, 2, 1, &[1, 2, 3, 4])).is_err());
        assert!(Golden::parse(&file(2, u32::MAX, u32::MAX, u32::MAX, &[])).is_err());
    }
}
