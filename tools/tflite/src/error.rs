//! Why a model was rejected.

use std::fmt;

/// Why a `.tflite` model could not be imported. Every message names what was wrong and where
/// (operator index and name, tensor index and name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a readable TFLite flatbuffer (truncated, bad offsets, wrong identifier).
    Flatbuffer(String),
    /// The flatbuffer reads, but the model is inconsistent (an index out of range, a shape that
    /// does not follow from its operator, a buffer of the wrong size...).
    Malformed(String),
    /// An operator tinyconv does not implement.
    UnsupportedOp {
        /// Index of the operator in the subgraph's execution order.
        operator: usize,
        /// TFLite's name of the operator (`CUSTOM:name` for custom ones).
        op: String,
    },
    /// An operator the parser understands but tinyconv has no kernel for yet (the generator
    /// cannot emit it).
    MissingKernel {
        /// Index of the operator in execution order.
        operator: usize,
        /// TFLite's name of the operator.
        op: String,
        /// The kernel that is missing.
        what: String,
    },
    /// Reading or writing a file (the build-script API).
    Io(String),
    /// A feature tinyconv does not implement: an option, a tensor type, a quantization scheme,
    /// dynamic shapes, several subgraphs...
    Unsupported(String),
}

impl Error {
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::Malformed(message.into())
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Error::Unsupported(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Flatbuffer(m) => write!(f, "not a readable TFLite flatbuffer: {m}"),
            Error::Malformed(m) => write!(f, "malformed model: {m}"),
            Error::UnsupportedOp { operator, op } => {
                write!(f, "operator {operator}: {op} is not supported by tinyconv")
            }
            Error::MissingKernel { operator, op, what } => {
                write!(
                    f,
                    "operator {operator} ({op}): tinyconv has no {what} kernel yet"
                )
            }
            Error::Io(m) => write!(f, "{m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<planus::Error> for Error {
    fn from(e: planus::Error) -> Self {
        Error::Flatbuffer(e.to_string())
    }
}
