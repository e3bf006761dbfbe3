//! Fashion-MNIST IO for tinyconv's training and export tools, tests and examples.
//!
//! * A validating IDX reader ([`parse_images`], [`parse_labels`], [`Dataset::from_idx_bytes`]) that
//!   accepts plain or gzip-compressed files (detected by the gzip magic bytes) and returns an
//!   [`Error`] for every malformed input instead of panicking.
//! * Loaders for a directory laid out like the Debian package `dataset-fashion-mnist`
//!   ([`load_dir`] for the 10,000-image test split, [`load_train_dir`] for the 60,000-image
//!   training split; [`DEBIAN_DIR`] is where that package installs them).
//! * [`shipped_subset`]: the first 1,000 test images and labels, committed to the repository as
//!   gzip IDX files under `data/` and compiled in with `include_bytes!`, so it works from any
//!   crate and any working directory, with or without the Debian package.
//! * [`normalize`]: pixels to `f32` in `[0, 1]` (`pixel as f32 / 255.0`), the models' input.

use std::borrow::Cow;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where the Debian package `dataset-fashion-mnist` installs the four gzip IDX files.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Test split images (10,000) inside a dataset directory.
pub const TEST_IMAGES_FILE: &str = "t10k-images-idx3-ubyte.gz";
/// Test split labels (10,000) inside a dataset directory.
pub const TEST_LABELS_FILE: &str = "t10k-labels-idx1-ubyte.gz";
/// Training split images (60,000) inside a dataset directory.
pub const TRAIN_IMAGES_FILE: &str = "train-images-idx3-ubyte.gz";
/// Training split labels (60,000) inside a dataset directory.
pub const TRAIN_LABELS_FILE: &str = "train-labels-idx1-ubyte.gz";
/// File name of the committed subset's images (under the repository's `data/`).
pub const SUBSET_IMAGES_FILE: &str = "t10k-1000-images-idx3-ubyte.gz";
/// File name of the committed subset's labels (under the repository's `data/`).
pub const SUBSET_LABELS_FILE: &str = "t10k-1000-labels-idx1-ubyte.gz";
/// Number of images in [`shipped_subset`]: the first `SUBSET_LEN` of the test split.
pub const SUBSET_LEN: usize = 1000;

/// Image height and width in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image (`28 * 28`).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes; every label is `< NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;
/// IDX magic number of an unsigned-byte rank-3 array (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic number of an unsigned-byte rank-1 array (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Upper bound on a decompressed IDX file (the training images are 47 MB).
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Fashion-MNIST class names, indexed by label.
pub const CLASS_NAMES: [&str; NUM_CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// One 28x28 grayscale image, row-major, one byte per pixel (0 = background).
pub type Image = [u8; IMAGE_PIXELS];

/// Which of the two IDX files an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxKind {
    /// The rank-3 image file (magic `0x00000803`).
    Images,
    /// The rank-1 label file (magic `0x00000801`).
    Labels,
}

impl fmt::Display for IdxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdxKind::Images => "image",
            IdxKind::Labels => "label",
        })
    }
}

/// Everything that can go wrong reading Fashion-MNIST IDX data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its contents are malformed (the inner error says how).
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },
    /// The data starts with the gzip magic bytes but does not decompress.
    #[error("corrupt gzip stream: {0}")]
    Gzip(#[source] std::io::Error),
    /// The decompressed data exceeds [`MAX_DECOMPRESSED_BYTES`].
    #[error("decompressed data exceeds the {limit}-byte limit")]
    TooLarge { limit: u64 },
    /// Fewer bytes than the IDX header (magic number and dimensions) needs.
    #[error("{kind} file is {found} bytes, shorter than its {needed}-byte IDX header")]
    TruncatedHeader {
        kind: IdxKind,
        needed: usize,
        found: usize,
    },
    /// The magic number is not the one of an unsigned-byte array of the expected rank.
    #[error("{kind} file has IDX magic number {found:#010x}, expected {expected:#010x}")]
    BadMagic {
        kind: IdxKind,
        expected: u32,
        found: u32,
    },
    /// Images are not 28x28.
    #[error("images are {rows}x{cols} pixels, expected 28x28")]
    WrongDims { rows: u32, cols: u32 },
    /// The product of the dimensions does not fit in `usize`.
    #[error("{kind} file dimensions {dims:?} overflow")]
    SizeOverflow { kind: IdxKind, dims: Vec<u32> },
    /// The payload is shorter than the product of the dimensions.
    #[error(
        "{kind} file is truncated: its header promises {expected} payload bytes, found {found}"
    )]
    TruncatedPayload {
        kind: IdxKind,
        expected: usize,
        found: usize,
    },
    /// The payload is longer than the product of the dimensions.
    #[error(
        "{kind} file has trailing bytes: its header promises {expected} payload bytes, found {found}"
    )]
    TrailingBytes {
        kind: IdxKind,
        expected: usize,
        found: usize,
    },
    /// A label is not a valid class index.
    #[error("label {label} at index {index} is out of range (must be < 10)")]
    LabelOutOfRange { index: usize, label: u8 },
    /// The image and label files hold different numbers of items.
    #[error("{images} images but {labels} labels")]
    CountMismatch { images: usize, labels: usize },
}

impl Error {
    /// The malformation itself, looking through [`Error::InFile`] wrappers.
    pub fn root(&self) -> &Error {
        match self {
            Error::InFile { source, .. } => source.root(),
            other => other,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A labelled set of Fashion-MNIST images; `images.len() == labels.len()` and every label is
/// `< 10` when built through this crate's constructors and loaders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub images: Vec<Image>,
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Builds a dataset, checking that the counts match and that every label is `< 10`.
    pub fn new(images: Vec<Image>, labels: Vec<u8>) -> Result<Self> {
        if images.len() != labels.len() {
            return Err(Error::CountMismatch {
                images: images.len(),
                labels: labels.len(),
            });
        }
        check_labels(&labels)?;
        Ok(Self { images, labels })
    }

    /// Parses an image IDX file and a label IDX file (each plain or gzip) held in memory.
    pub fn from_idx_bytes(images: &[u8], labels: &[u8]) -> Result<Self> {
        Self::new(parse_images(images)?, parse_labels(labels)?)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The first `n` images and labels (all of them if there are fewer).
    pub fn first(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            images: self.images[..n].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Image `i` normalized to `[0, 1]` (see [`normalize`]). Panics if `i >= len()`.
    pub fn image_f32(&self, i: usize) -> [f32; IMAGE_PIXELS] {
        normalize(&self.images[i])
    }

    /// All images normalized to `[0, 1]`, concatenated: `len() * 784` values, image-major,
    /// each image row-major (an `N x 1 x 28 x 28` NCHW tensor).
    pub fn images_f32(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.len() * IMAGE_PIXELS];
        for (img, dst) in self.images.iter().zip(out.chunks_exact_mut(IMAGE_PIXELS)) {
            normalize_into(img, dst);
        }
        out
    }

    /// Writes the dataset as two gzip IDX files (the format [`load_files`] reads).
    pub fn write_gz_idx(&self, images_path: &Path, labels_path: &Path) -> std::io::Result<()> {
        std::fs::write(images_path, gzip(&encode_images(&self.images)))?;
        std::fs::write(labels_path, gzip(&encode_labels(&self.labels)))
    }
}

/// Normalized model input: `pixel as f32 / 255.0`, so values lie in `[0, 1]`.
pub fn normalize(image: &Image) -> [f32; IMAGE_PIXELS] {
    let mut out = [0.0; IMAGE_PIXELS];
    normalize_into(image, &mut out);
    out
}

/// [`normalize`] into a caller-provided buffer. Panics if `out.len() != 784`.
pub fn normalize_into(image: &Image, out: &mut [f32]) {
    assert_eq!(
        out.len(),
        IMAGE_PIXELS,
        "output buffer must hold 784 values"
    );
    for (o, &p) in out.iter_mut().zip(image.iter()) {
        *o = f32::from(p) / 255.0;
    }
}

/// Whether the data starts with the gzip magic bytes `1f 8b`. IDX files start with `00 00`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The bytes themselves if plain, or their decompression if they start with the gzip magic.
pub fn maybe_decompress(bytes: &[u8]) -> Result<Cow<'_, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(Error::Gzip)?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(Error::TooLarge {
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    Ok(Cow::Owned(out))
}

/// Checks the header of an unsigned-byte IDX array of rank `R` and returns its dimensions,
/// the product of the dimensions, and the payload.
fn parse_header<const R: usize>(
    kind: IdxKind,
    magic: u32,
    data: &[u8],
) -> Result<([u32; R], usize, &[u8])> {
    let header_len = 4 + 4 * R;
    let truncated = || Error::TruncatedHeader {
        kind,
        needed: header_len,
        found: data.len(),
    };
    let word = |i: usize| -> Option<u32> {
        let b = data.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let found = word(0).ok_or_else(truncated)?;
    if found != magic {
        return Err(Error::BadMagic {
            kind,
            expected: magic,
            found,
        });
    }
    let mut dims = [0u32; R];
    for (i, d) in dims.iter_mut().enumerate() {
        *d = word(1 + i).ok_or_else(truncated)?;
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize))
        .ok_or_else(|| Error::SizeOverflow {
            kind,
            dims: dims.to_vec(),
        })?;
    Ok((dims, expected, &data[header_len..]))
}

fn check_payload_len(kind: IdxKind, expected: usize, payload: &[u8]) -> Result<()> {
    let found = payload.len();
    match found.cmp(&expected) {
        std::cmp::Ordering::Less => Err(Error::TruncatedPayload {
            kind,
            expected,
            found,
        }),
        std::cmp::Ordering::Greater => Err(Error::TrailingBytes {
            kind,
            expected,
            found,
        }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

fn check_labels(labels: &[u8]) -> Result<()> {
    match labels.iter().position(|&l| usize::from(l) >= NUM_CLASSES) {
        Some(index) => Err(Error::LabelOutOfRange {
            index,
            label: labels[index],
        }),
        None => Ok(()),
    }
}

/// Parses an image IDX file (plain or gzip): magic `0x00000803`, dimensions `N x 28 x 28`,
/// exactly `N * 784` payload bytes.
pub fn parse_images(bytes: &[u8]) -> Result<Vec<Image>> {
    let data = maybe_decompress(bytes)?;
    let kind = IdxKind::Images;
    let ([_, rows, cols], expected, payload) = parse_header::<3>(kind, IMAGES_MAGIC, &data)?;
    if rows as usize != IMAGE_SIDE || cols as usize != IMAGE_SIDE {
        return Err(Error::WrongDims { rows, cols });
    }
    check_payload_len(kind, expected, payload)?;
    Ok(payload
        .chunks_exact(IMAGE_PIXELS)
        .map(|c| {
            let mut img = [0u8; IMAGE_PIXELS];
            img.copy_from_slice(c);
            img
        })
        .collect())
}

/// Parses a label IDX file (plain or gzip): magic `0x00000801`, dimension `N`, exactly `N`
/// payload bytes, each `< 10`.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    let data = maybe_decompress(bytes)?;
    let kind = IdxKind::Labels;
    let (_, expected, payload) = parse_header::<1>(kind, LABELS_MAGIC, &data)?;
    check_payload_len(kind, expected, payload)?;
    check_labels(payload)?;
    Ok(payload.to_vec())
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn in_file<T>(path: &Path, r: Result<T>) -> Result<T> {
    r.map_err(|e| Error::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Loads and validates an image IDX file and a label IDX file (each plain or gzip).
pub fn load_files(images_path: &Path, labels_path: &Path) -> Result<Dataset> {
    let images = in_file(images_path, parse_images(&read_file(images_path)?))?;
    let labels = in_file(labels_path, parse_labels(&read_file(labels_path)?))?;
    Dataset::new(images, labels)
}

/// Loads the 10,000-image test split (`t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`)
/// from `dir`, e.g. [`DEBIAN_DIR`].
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Dataset> {
    let dir = dir.as_ref();
    load_files(&dir.join(TEST_IMAGES_FILE), &dir.join(TEST_LABELS_FILE))
}

/// Loads the 60,000-image training split (`train-images-idx3-ubyte.gz`,
/// `train-labels-idx1-ubyte.gz`) from `dir`, e.g. [`DEBIAN_DIR`].
pub fn load_train_dir(dir: impl AsRef<Path>) -> Result<Dataset> {
    let dir = dir.as_ref();
    load_files(&dir.join(TRAIN_IMAGES_FILE), &dir.join(TRAIN_LABELS_FILE))
}

/// Whether the Debian package's test split is installed at [`DEBIAN_DIR`].
pub fn debian_test_split_present() -> bool {
    let dir = Path::new(DEBIAN_DIR);
    dir.join(TEST_IMAGES_FILE).is_file() && dir.join(TEST_LABELS_FILE).is_file()
}

/// The committed subset's gzip image IDX file.
pub const SUBSET_IMAGES_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/t10k-1000-images-idx3-ubyte.gz"
));
/// The committed subset's gzip label IDX file.
pub const SUBSET_LABELS_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/t10k-1000-labels-idx1-ubyte.gz"
));

/// The first 1,000 images and labels of the Fashion-MNIST test split, compiled into the crate
/// from `data/t10k-1000-{images-idx3,labels-idx1}-ubyte.gz` and parsed by the same validating
/// reader as every other file. Needs no file system access.
///
/// Panics only if the committed files are malformed, which this crate's tests rule out.
pub fn shipped_subset() -> Dataset {
    Dataset::from_idx_bytes(SUBSET_IMAGES_GZ, SUBSET_LABELS_GZ)
        .expect("the committed Fashion-MNIST subset under data/ is valid")
}

/// Serializes images as an unsigned-byte rank-3 IDX file (`N x 28 x 28`).
///
/// Panics if there are more than `u32::MAX` images.
pub fn encode_images(images: &[Image]) -> Vec<u8> {
    let n = u32::try_from(images.len()).expect("at most u32::MAX images");
    let mut out = Vec::with_capacity(16 + images.len() * IMAGE_PIXELS);
    for word in [IMAGES_MAGIC, n, IMAGE_SIDE as u32, IMAGE_SIDE as u32] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    for img in images {
        out.extend_from_slice(img);
    }
    out
}

/// Serializes labels as an unsigned-byte rank-1 IDX file.
///
/// Panics if there are more than `u32::MAX` labels.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let n = u32::try_from(labels.len()).expect("at most u32::MAX labels");
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Gzip-compresses bytes (best compression, modification time 0, so the output is
/// reproducible).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(seed: u8) -> Image {
        let mut img = [0u8; IMAGE_PIXELS];
        for (i, p) in img.iter_mut().enumerate() {
            *p = (i as u8).wrapping_mul(31).wrapping_add(seed);
        }
        img
    }

    fn sample() -> (Vec<Image>, Vec<u8>) {
        (vec![image(0), image(1), image(2)], vec![0, 9, 4])
    }

    fn header(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn round_trip_plain_and_gzip() {
        let (images, labels) = sample();
        let (img_idx, lbl_idx) = (encode_images(&images), encode_labels(&labels));
        let plain = Dataset::from_idx_bytes(&img_idx, &lbl_idx).unwrap();
        let gz = Dataset::from_idx_bytes(&gzip(&img_idx), &gzip(&lbl_idx)).unwrap();
        assert_eq!(plain.images, images);
        assert_eq!(plain.labels, labels);
        assert_eq!(plain, gz);
        assert_eq!(plain.len(), 3);
        assert_eq!(plain.first(2).labels, vec![0, 9]);
    }

    #[test]
    fn empty_files_are_valid() {
        let ds = Dataset::from_idx_bytes(&encode_images(&[]), &encode_labels(&[])).unwrap();
        assert!(ds.is_empty());
    }

    #[test]
    fn bad_magic() {
        let (images, labels) = sample();
        let mut img = encode_images(&images);
        img[3] = 0x01; // a label file's magic on an image file
        assert!(matches!(
            parse_images(&img),
            Err(Error::BadMagic {
                kind: IdxKind::Images,
                expected: 0x803,
                found: 0x801
            })
        ));
        let mut lbl = encode_labels(&labels);
        lbl[2] = 0x0d; // f32 data type
        assert!(matches!(
            parse_labels(&lbl),
            Err(Error::BadMagic {
                kind: IdxKind::Labels,
                expected: 0x801,
                found: 0x0d01
            })
        ));
        // A rank-2 u8 array is not an image file either.
        let rank2 = header(&[0x802, 1, 784]);
        assert!(matches!(
            parse_images(&rank2),
            Err(Error::BadMagic { found: 0x802, .. })
        ));
    }

    #[test]
    fn truncated_header() {
        assert!(matches!(
            parse_images(&[]),
            Err(Error::TruncatedHeader {
                kind: IdxKind::Images,
                needed: 16,
                found: 0
            })
        ));
        let img = encode_images(&sample().0);
        assert!(matches!(
            parse_images(&img[..10]),
            Err(Error::TruncatedHeader {
                needed: 16,
                found: 10,
                ..
            })
        ));
        assert!(matches!(
            parse_labels(&encode_labels(&[1])[..6]),
            Err(Error::TruncatedHeader {
                kind: IdxKind::Labels,
                needed: 8,
                found: 6
            })
        ));
    }

    #[test]
    fn truncated_payload() {
        let img = encode_images(&sample().0);
        assert!(matches!(
            parse_images(&img[..img.len() - 1]),
            Err(Error::TruncatedPayload {
                kind: IdxKind::Images,
                expected: 2352,
                found: 2351
            })
        ));
        let lbl = encode_labels(&sample().1);
        assert!(matches!(
            parse_labels(&lbl[..lbl.len() - 2]),
            Err(Error::TruncatedPayload {
                kind: IdxKind::Labels,
                expected: 3,
                found: 1
            })
        ));
        // A header that claims a huge count is rejected before anything is allocated.
        let huge = header(&[IMAGES_MAGIC, u32::MAX, 28, 28]);
        assert!(matches!(
            parse_images(&huge),
            Err(Error::TruncatedPayload { found: 0, .. }) | Err(Error::SizeOverflow { .. })
        ));
    }

    #[test]
    fn truncated_gzip_is_a_gzip_error() {
        let gz = gzip(&encode_images(&sample().0));
        let err = parse_images(&gz[..gz.len() / 2]).unwrap_err();
        assert!(matches!(err, Error::Gzip(_)), "{err:?}");
        let mut corrupt = gz.clone();
        corrupt[12] ^= 0xff;
        corrupt[20] ^= 0xff;
        assert!(matches!(parse_images(&corrupt), Err(Error::Gzip(_))));
    }

    #[test]
    fn trailing_bytes() {
        let mut img = encode_images(&sample().0);
        img.push(0);
        assert!(matches!(
            parse_images(&img),
            Err(Error::TrailingBytes {
                kind: IdxKind::Images,
                expected: 2352,
                found: 2353
            })
        ));
        let mut lbl = encode_labels(&sample().1);
        lbl.extend_from_slice(&[1, 2]);
        assert!(matches!(
            parse_labels(&gzip(&lbl)),
            Err(Error::TrailingBytes {
                kind: IdxKind::Labels,
                expected: 3,
                found: 5
            })
        ));
    }

    #[test]
    fn wrong_dims() {
        let mut bytes = header(&[IMAGES_MAGIC, 1, 32, 32]);
        bytes.extend(std::iter::repeat_n(0u8, 32 * 32));
        assert!(matches!(
            parse_images(&bytes),
            Err(Error::WrongDims { rows: 32, cols: 32 })
        ));
        // Same payload size as one 28x28 image, transposed-looking dims.
        let mut bytes = header(&[IMAGES_MAGIC, 1, 14, 56]);
        bytes.extend(std::iter::repeat_n(0u8, IMAGE_PIXELS));
        assert!(matches!(
            parse_images(&bytes),
            Err(Error::WrongDims { rows: 14, cols: 56 })
        ));
    }

    #[test]
    fn label_out_of_range() {
        let lbl = encode_labels(&[3, 9, 10, 255]);
        assert!(matches!(
            parse_labels(&lbl),
            Err(Error::LabelOutOfRange {
                index: 2,
                label: 10
            })
        ));
        assert!(matches!(
            Dataset::new(vec![image(0)], vec![200]),
            Err(Error::LabelOutOfRange {
                index: 0,
                label: 200
            })
        ));
    }

    #[test]
    fn count_mismatch() {
        let (images, labels) = sample();
        assert!(matches!(
            Dataset::from_idx_bytes(&encode_images(&images), &encode_labels(&labels[..2])),
            Err(Error::CountMismatch {
                images: 3,
                labels: 2
            })
        ));
    }

    #[test]
    fn load_files_reports_path() {
        let dir = std::env::temp_dir().join(format!("tinyconv-data-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (images, labels) = sample();
        std::fs::write(dir.join(TEST_IMAGES_FILE), gzip(&encode_images(&images))).unwrap();
        std::fs::write(dir.join(TEST_LABELS_FILE), encode_labels(&[1, 2, 11])).unwrap();
        let err = load_dir(&dir).unwrap_err();
        assert!(matches!(
            err.root(),
            Error::LabelOutOfRange {
                index: 2,
                label: 11
            }
        ));
        let msg = err.to_string();
        assert!(msg.contains(TEST_LABELS_FILE), "{msg}");
        assert!(msg.contains("label 11 at index 2"), "{msg}");

        std::fs::write(dir.join(TEST_LABELS_FILE), encode_labels(&labels)).unwrap();
        let ds = load_dir(&dir).unwrap();
        assert_eq!(ds.images, images);

        let missing = load_train_dir(&dir).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
        assert!(missing.to_string().contains(TRAIN_IMAGES_FILE));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_display() {
        let e = Error::BadMagic {
            kind: IdxKind::Images,
            expected: IMAGES_MAGIC,
            found: 0xdead_beef,
        };
        assert_eq!(
            e.to_string(),
            "image file has IDX magic number 0xdeadbeef, expected 0x00000803"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.source().is_none());
    }

    #[test]
    fn normalization() {
        let mut img = [0u8; IMAGE_PIXELS];
        img[1] = 255;
        img[2] = 51;
        let f = normalize(&img);
        assert_eq!(f[0], 0.0);
        assert_eq!(f[1], 1.0);
        assert_eq!(f[2], 0.2);
        let ds = Dataset::new(vec![img, image(7)], vec![1, 2]).unwrap();
        let all = ds.images_f32();
        assert_eq!(all.len(), 2 * IMAGE_PIXELS);
        assert_eq!(&all[..IMAGE_PIXELS], &f[..]);
        assert_eq!(&all[IMAGE_PIXELS..], &ds.image_f32(1)[..]);
        assert!(all.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn class_names() {
        assert_eq!(CLASS_NAMES[0], "T-shirt/top");
        assert_eq!(CLASS_NAMES[9], "Ankle boot");
    }
}
