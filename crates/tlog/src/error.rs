/// Everything that can go wrong in this crate.
///
/// Each variant names one specific failure, so a log operator reading an error
/// knows whether a proof, a checkpoint, a key or a signature is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogError {
    // Merkle trees.
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is beyond the {available} leaves given")]
    SizeBeyondLeaves { size: u64, available: u64 },
    #[error("old tree size {old_size} is above new tree size {new_size}")]
    OldSizeAboveNew { old_size: u64, new_size: u64 },
    #[error(
        "inclusion proof has the wrong number of hashes for index {index} in tree size {size}"
    )]
    InclusionProofLength { index: u64, size: u64 },
    #[error("inclusion proof does not lead to the root")]
    InclusionRootMismatch,
    #[error(
        "consistency proof has the wrong number of hashes for sizes {old_size} and {new_size}"
    )]
    ConsistencyProofLength { old_size: u64, new_size: u64 },
    #[error("consistency proof does not lead to the old root")]
    ConsistencyOldRootMismatch,
    #[error("consistency proof does not lead to the new root")]
    ConsistencyNewRootMismatch,
    #[error("two trees of size {size} have different roots")]
    SameSizeRootsDiffer { size: u64 },
    #[error("the root of the empty tree must be SHA-256 of nothing")]
    EmptyTreeRoot,
    #[error("a compact range of size {size} has {want} subtree hashes, not {got}")]
    CompactRangeShape { size: u64, want: u32, got: usize },
    #[error("the tree already holds the most leaves a 64-bit size can count")]
    TreeFull,

    // Checkpoints.
    #[error("checkpoint body does not end with a newline")]
    CheckpointNoFinalNewline,
    #[error("checkpoint body has {0} lines; it needs origin, tree size and root hash")]
    CheckpointTooFewLines(usize),
    #[error("checkpoint body has extension lines, which this log does not use")]
    CheckpointExtensionLines,
    #[error("checkpoint body line 1 (the origin) is empty")]
    CheckpointEmptyOrigin,
    #[error("checkpoint body line 2 is not a tree size")]
    CheckpointBadSize,
    #[error("checkpoint body line 3 is not a base64 SHA-256 root hash")]
    CheckpointBadRoot,

    // Keys.
    #[error("key name {0:?} is empty or contains a space, a control character or '+'")]
    InvalidKeyName(String),
    #[error("public key is not a valid Ed25519 public key")]
    InvalidPublicKey,
    #[error("verifier key is malformed: {0}")]
    MalformedVkey(&'static str),
    #[error("verifier key has signature type 0x{got:02x}, not 0x{want:02x}")]
    VkeyWrongType { got: u8, want: u8 },
    #[error("verifier key's key ID does not match its name and public key")]
    VkeyKeyIdMismatch,

    // Signed notes.
    #[error("note contains a control character other than newline")]
    NoteControlCharacter,
    #[error("note text does not end with a newline")]
    NoteNoFinalNewline,
    #[error("note has no blank line followed by signature lines")]
    NoteNoSignatures,
    #[error("note has more than {0} signatures")]
    NoteTooManySignatures(usize),
    #[error("malformed signature line: {0}")]
    MalformedSignatureLine(&'static str),
    #[error("signature by key {name} does not verify")]
    BadSignature { name: String },
    #[error("no valid signature by key {name}")]
    NoValidSignature { name: String },

    // Cosignatures.
    #[error("cosignature by witness {name} does not verify")]
    BadCosignature { name: String },
    #[error("no cosignature by witness {name}")]
    NoCosignature { name: String },
}
