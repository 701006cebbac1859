//! C2SP tlog-checkpoint bodies: what the log signs and witnesses cosign.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::{Hash, TlogError};

/// A log's commitment to its tree at one size.
///
/// The body is `<origin>\n<size>\n<base64 root>\n`. This log writes no
/// extension lines, and refuses to parse them, so that `parse(body).body()`
/// always gives back the bytes that were signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The log's identity, e.g. `access.example.gov.cn/log`; also the key name
    /// the log signs with.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint note body, ending in a newline.
    ///
    /// The origin must be a single non-empty line for the body to parse again.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a checkpoint body (the note text, without signatures).
    pub fn parse(body: &str) -> Result<Self, TlogError> {
        let text = body
            .strip_suffix('\n')
            .ok_or(TlogError::CheckpointNoFinalNewline)?;
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, size, root, rest @ ..] = lines.as_slice() else {
            return Err(TlogError::CheckpointTooFewLines(lines.len()));
        };
        if !rest.is_empty() {
            return Err(TlogError::CheckpointExtensionLines);
        }
        if origin.is_empty() {
            return Err(TlogError::CheckpointEmptyOrigin);
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
        })
    }
}

/// ASCII decimal with no sign and no leading zeroes, as the spec requires, so
/// that one tree size has exactly one body.
fn parse_size(line: &str) -> Result<u64, TlogError> {
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(TlogError::CheckpointBadSize);
    }
    line.parse().map_err(|_| TlogError::CheckpointBadSize)
}

fn parse_root(line: &str) -> Result<Hash, TlogError> {
    BASE64
        .decode(line)
        .ok()
        .and_then(|bytes| Hash::try_from(bytes).ok())
        .ok_or(TlogError::CheckpointBadRoot)
}
