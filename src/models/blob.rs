//! The byte format of shipped weights, read by `const fn`s so that `include_bytes!` data becomes
//! typed `static` weights at compile time (no parsing at run time), and by the same functions at
//! run time for weights loaded from a buffer. Every read is bounds-checked and every malformed
//! input is an [`Error::Format`], never a panic.
//!
//! Layout (all little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `b"TCNV"` |
//! | 2 | format version, `1` |
//! | 1 | model id (`1` = LeNet-5) |
//! | 1 | variant (`0` = classic, `1` = modern) |
//! | 1 | precision (`0` = f32, `1` = int8) |
//! | 3 | reserved, zero |
//! | 4 | payload length `n` |
//! | n | payload (model-specific, see the model's module) |
//! | 4 | FNV-1a 32-bit hash of the payload |

use crate::error::Error;

/// The magic number at the start of every weight file.
pub const MAGIC: [u8; 4] = *b"TCNV";
/// The format version this crate reads and writes.
pub const VERSION: u16 = 1;
/// Header bytes before the payload.
pub const HEADER_LEN: usize = 16;

/// Element precision of a weight file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit floats.
    F32 = 0,
    /// TFLite-style int8.
    I8 = 1,
}

/// What a header announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Model id (`1` = LeNet-5).
    pub model: u8,
    /// Model variant byte.
    pub variant: u8,
    /// Precision.
    pub precision: Precision,
    /// Payload length in bytes.
    pub payload_len: usize,
}

/// The 16 header bytes for a payload of `payload_len` bytes.
pub const fn header(
    model: u8,
    variant: u8,
    precision: Precision,
    payload_len: u32,
) -> [u8; HEADER_LEN] {
    let v = VERSION.to_le_bytes();
    let n = payload_len.to_le_bytes();
    [
        MAGIC[0],
        MAGIC[1],
        MAGIC[2],
        MAGIC[3],
        v[0],
        v[1],
        model,
        variant,
        precision as u8,
        0,
        0,
        0,
        n[0],
        n[1],
        n[2],
        n[3],
    ]
}

/// FNV-1a, 32 bits, over `bytes[start..end]`.
pub const fn fnv1a(bytes: &[u8], start: usize, end: usize) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = start;
    while i < end {
        h ^= bytes[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h
}

/// Parses and checks the header and the hash; returns the header.
///
/// # Errors
/// [`Error::Format`] for a short buffer, wrong magic or version, unknown precision, nonzero
/// reserved bytes, a payload length that disagrees with the buffer, or a hash mismatch.
pub const fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    if bytes.len() < HEADER_LEN + 4 {
        return Err(Error::Format("shorter than a header"));
    }
    if bytes[0] != MAGIC[0] || bytes[1] != MAGIC[1] || bytes[2] != MAGIC[2] || bytes[3] != MAGIC[3]
    {
        return Err(Error::Format("bad magic (not a tinyconv weight file)"));
    }
    if u16::from_le_bytes([bytes[4], bytes[5]]) != VERSION {
        return Err(Error::Format("unsupported format version"));
    }
    let precision = match bytes[8] {
        0 => Precision::F32,
        1 => Precision::I8,
        _ => return Err(Error::Format("unknown precision")),
    };
    if bytes[9] != 0 || bytes[10] != 0 || bytes[11] != 0 {
        return Err(Error::Format("reserved header bytes are not zero"));
    }
    let payload_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    if bytes.len() - HEADER_LEN - 4 != payload_len {
        return Err(Error::Format("payload length disagrees with the file size"));
    }
    let end = HEADER_LEN + payload_len;
    let stored = u32::from_le_bytes([bytes[end], bytes[end + 1], bytes[end + 2], bytes[end + 3]]);
    if stored != fnv1a(bytes, HEADER_LEN, end) {
        return Err(Error::Format("hash mismatch (corrupted file)"));
    }
    Ok(Header {
        model: bytes[6],
        variant: bytes[7],
        precision,
        payload_len,
    })
}

/// A bounds-checked cursor over a payload, usable in `const fn`.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at `start`.
    pub const fn new(bytes: &'a [u8], start: usize) -> Self {
        Cursor { bytes, pos: start }
    }

    /// Current position.
    pub const fn pos(&self) -> usize {
        self.pos
    }

    /// Reads `N` bytes.
    ///
    /// # Errors
    /// [`Error::Format`] if fewer than `N` bytes remain.
    pub const fn take<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        if self.bytes.len() < N || self.pos > self.bytes.len() - N {
            return Err(Error::Format("unexpected end of data"));
        }
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = self.bytes[self.pos + i];
            i += 1;
        }
        self.pos += N;
        Ok(out)
    }

    /// Reads a finite little-endian f32.
    ///
    /// # Errors
    /// [`Error::Format`] at the end of data or for NaN/infinity.
    pub const fn f32(&mut self) -> Result<f32, Error> {
        let v = match self.take::<4>() {
            Ok(b) => f32::from_le_bytes(b),
            Err(e) => return Err(e),
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(Error::Format("non-finite value"))
        }
    }

    /// Reads a little-endian i32.
    ///
    /// # Errors
    /// [`Error::Format`] at the end of data.
    pub const fn i32(&mut self) -> Result<i32, Error> {
        match self.take::<4>() {
            Ok(b) => Ok(i32::from_le_bytes(b)),
            Err(e) => Err(e),
        }
    }

    /// Reads an i8.
    ///
    /// # Errors
    /// [`Error::Format`] at the end of data.
    pub const fn i8(&mut self) -> Result<i8, Error> {
        match self.take::<1>() {
            Ok(b) => Ok(b[0] as i8),
            Err(e) => Err(e),
        }
    }

    /// Fills `out` with finite f32s.
    ///
    /// # Errors
    /// As [`f32`](Self::f32).
    pub const fn f32s(&mut self, out: &mut [f32]) -> Result<(), Error> {
        let mut i = 0;
        while i < out.len() {
            out[i] = match self.f32() {
                Ok(v) => v,
                Err(e) => return Err(e),
            };
            i += 1;
        }
        Ok(())
    }

    /// Fills `out` with i32s.
    ///
    /// # Errors
    /// As [`i32`](Self::i32).
    pub const fn i32s(&mut self, out: &mut [i32]) -> Result<(), Error> {
        let mut i = 0;
        while i < out.len() {
            out[i] = match self.i32() {
                Ok(v) => v,
                Err(e) => return Err(e),
            };
            i += 1;
        }
        Ok(())
    }

    /// Fills `out` with i8s.
    ///
    /// # Errors
    /// As [`i8`](Self::i8).
    pub const fn i8s(&mut self, out: &mut [i8]) -> Result<(), Error> {
        let mut i = 0;
        while i < out.len() {
            out[i] = match self.i8() {
                Ok(v) => v,
                Err(e) => return Err(e),
            };
            i += 1;
        }
        Ok(())
    }

    /// Succeeds only if every byte up to `end` was read.
    ///
    /// # Errors
    /// [`Error::Format`] for trailing bytes.
    pub const fn finish(&self, end: usize) -> Result<(), Error> {
        if self.pos == end {
            Ok(())
        } else {
            Err(Error::Format("trailing bytes in payload"))
        }
    }
}

/// Propagates an error in `const fn` (where `?` is unavailable).
macro_rules! const_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}
pub(crate) use const_try;

/// A bounds-checked writer filling a caller's buffer (the encoder side of [`Cursor`]).
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer that leaves room for the header at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            pos: HEADER_LEN,
        }
    }

    /// Appends raw bytes.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the buffer is too small.
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Error> {
        let end = self.pos + b.len();
        if end > self.buf.len() {
            return Err(Error::LengthMismatch {
                what: "output buffer",
                expected: end,
                actual: self.buf.len(),
            });
        }
        self.buf[self.pos..end].copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    /// Appends little-endian f32s.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes).
    pub fn f32s(&mut self, xs: &[f32]) -> Result<(), Error> {
        xs.iter().try_for_each(|x| self.bytes(&x.to_le_bytes()))
    }

    /// Appends little-endian i32s.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes).
    pub fn i32s(&mut self, xs: &[i32]) -> Result<(), Error> {
        xs.iter().try_for_each(|x| self.bytes(&x.to_le_bytes()))
    }

    /// Appends i8s.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes).
    pub fn i8s(&mut self, xs: &[i8]) -> Result<(), Error> {
        xs.iter().try_for_each(|&x| self.bytes(&[x as u8]))
    }

    /// Writes the header and the trailing hash; returns the file length.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes).
    pub fn finish(mut self, model: u8, variant: u8, precision: Precision) -> Result<usize, Error> {
        let payload_len = self.pos - HEADER_LEN;
        let hash = fnv1a(self.buf, HEADER_LEN, self.pos);
        self.bytes(&hash.to_le_bytes())?;
        let len = u32::try_from(payload_len).map_err(|_| Error::Format("payload too large"))?;
        self.buf[..HEADER_LEN].copy_from_slice(&header(model, variant, precision, len));
        Ok(self.pos)
    }
}
