//! RFC 9162 §2 Merkle tree hashing and proofs.
//!
//! Leaves are passed around as leaf hashes ([`leaf_hash`] of the entry), so the
//! storage layer can keep 32 bytes per entry and never re-read entry bodies to
//! build proofs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::TlogError;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a leaf entry, `SHA-256(0x00 || data)`.
///
/// The 0x00 prefix keeps a leaf from ever being mistaken for an interior node.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node, `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The Merkle Tree Hash (RFC 9162 §2.1.1) over leaf hashes.
///
/// The empty tree's root is [`EMPTY_ROOT`]; a single leaf's root is its leaf
/// hash.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [only] => *only,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The largest power of two strictly below `n`, for `n >= 2` (RFC 9162's `k`).
fn split_point(n: usize) -> usize {
    let bits = usize::BITS - n.saturating_sub(1).leading_zeros();
    1 << bits.saturating_sub(1)
}

/// `leaves[..size]`, or an error when the caller asks for more than it gave.
fn prefix(leaves: &[Hash], size: u64) -> Result<&[Hash], TlogError> {
    let available = leaves.len() as u64;
    let too_big = TlogError::SizeBeyondLeaves { size, available };
    let size = usize::try_from(size).map_err(|_| too_big.clone())?;
    leaves.get(..size).ok_or(too_big)
}

/// The inclusion proof `PATH(index, D[0:size])` (RFC 9162 §2.1.3.1) for the
/// leaf at `index` in the tree made of the first `size` of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Result<Vec<Hash>, TlogError> {
    let tree = prefix(leaves, size)?;
    if index >= size {
        return Err(TlogError::IndexOutOfRange { index, size });
    }
    // index < size <= leaves.len(), so it fits a usize.
    let index = usize::try_from(index).map_err(|_| TlogError::IndexOutOfRange { index, size })?;
    let mut proof = Vec::new();
    path(index, tree, &mut proof);
    Ok(proof)
}

fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    if d.len() <= 1 {
        return;
    }
    let k = split_point(d.len());
    let (left, right) = d.split_at(k);
    if m < k {
        path(m, left, out);
        out.push(root(right));
    } else {
        path(m - k, right, out);
        out.push(root(left));
    }
}

/// Checks that `proof` shows `leaf` at `index` in the tree of `size` leaves
/// whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), TlogError> {
    if index >= size {
        return Err(TlogError::IndexOutOfRange { index, size });
    }
    let wrong_length = TlogError::InclusionProofLength { index, size };
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(TlogError::InclusionRootMismatch);
    }
    Ok(())
}

/// The consistency proof `PROOF(old_size, D[0:new_size])` (RFC 9162 §2.1.4.1)
/// between the trees made of the first `old_size` and `new_size` of `leaves`.
///
/// The proof is empty when `old_size` is 0 or equal to `new_size`: every tree
/// extends the empty tree, and a tree is consistent with itself.
pub fn consistency_proof(
    leaves: &[Hash],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, TlogError> {
    let tree = prefix(leaves, new_size)?;
    if old_size > new_size {
        return Err(TlogError::OldSizeAboveNew { old_size, new_size });
    }
    // old_size <= new_size <= leaves.len(), so it fits a usize.
    let m =
        usize::try_from(old_size).map_err(|_| TlogError::OldSizeAboveNew { old_size, new_size })?;
    let mut proof = Vec::new();
    if m > 0 {
        subproof(m, tree, true, &mut proof);
    }
    Ok(proof)
}

/// `SUBPROOF(m, D[n], b)`; `complete` is RFC 9162's `b`, true while the
/// subtree being proven is the old tree's root itself.
fn subproof(m: usize, d: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == 0 || m >= n {
        if !complete {
            out.push(root(d));
        }
        return;
    }
    let k = split_point(n);
    let (left, right) = d.split_at(k);
    if m <= k {
        subproof(m, left, complete, out);
        out.push(root(right));
    } else {
        subproof(m - k, right, false, out);
        out.push(root(left));
    }
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the
/// tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots; an old size of 0 needs an
/// empty proof and [`EMPTY_ROOT`] as the old root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), TlogError> {
    let wrong_length = TlogError::ConsistencyProofLength { old_size, new_size };
    if old_size > new_size {
        return Err(TlogError::OldSizeAboveNew { old_size, new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(wrong_length);
        }
        if old_root != new_root {
            return Err(TlogError::SameSizeRootsDiffer { size: old_size });
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(wrong_length);
        }
        if *old_root != EMPTY_ROOT {
            return Err(TlogError::EmptyTreeRoot);
        }
        return Ok(());
    }

    // 0 < old_size < new_size. When the old tree is a perfect subtree its root
    // is the proof's implicit first element.
    let (first, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(wrong_length),
        }
    };
    if proof.is_empty() {
        return Err(wrong_length);
    }

    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = first;
    let mut s_r = first;
    for c in rest {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    if f_r != *old_root {
        return Err(TlogError::ConsistencyOldRootMismatch);
    }
    if s_r != *new_root {
        return Err(TlogError::ConsistencyNewRootMismatch);
    }
    Ok(())
}

/// The right edge of a tree: enough to append leaves and compute the root
/// without the leaves.
///
/// It holds the roots of the perfect subtrees the tree decomposes into, one
/// per set bit of `size`, largest (leftmost) first. The sequencer keeps this
/// instead of re-reading the whole log to learn the next root.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "RawCompactRange")]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

/// The unchecked wire form, so deserialising goes through
/// [`CompactRange::from_parts`] and a corrupt stored range is refused.
#[derive(Deserialize)]
struct RawCompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl TryFrom<RawCompactRange> for CompactRange {
    type Error = TlogError;

    fn try_from(raw: RawCompactRange) -> Result<Self, Self::Error> {
        CompactRange::from_parts(raw.size, raw.hashes)
    }
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A range over the leaves given, for start-up or tests.
    pub fn from_leaves(leaves: &[Hash]) -> Result<Self, TlogError> {
        let mut range = Self::new();
        for leaf in leaves {
            range.try_append(*leaf)?;
        }
        Ok(range)
    }

    /// Rebuilds a range from its stored parts, checking that there is one
    /// subtree hash per set bit of `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, TlogError> {
        let want = size.count_ones();
        if hashes.len() != want as usize {
            return Err(TlogError::CompactRangeShape {
                size,
                want,
                got: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree hashes, left to right.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends a leaf hash.
    ///
    /// A range that already counts `u64::MAX` leaves (reachable only through
    /// [`CompactRange::from_parts`]) is left unchanged; use
    /// [`CompactRange::try_append`] where that must be reported.
    pub fn append(&mut self, leaf: Hash) {
        // The only error is TreeFull, which the doc comment above covers.
        let _ = self.try_append(leaf);
    }

    /// Appends a leaf hash, refusing when the size would overflow.
    pub fn try_append(&mut self, leaf: Hash) -> Result<(), TlogError> {
        let new_size = self.size.checked_add(1).ok_or(TlogError::TreeFull)?;
        // Each trailing one bit of the old size is a perfect subtree of the
        // same height as the node being carried; merge them like binary carry.
        let mut node = leaf;
        let mut carry = self.size;
        while carry & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            node = node_hash(&left, &node);
            carry >>= 1;
        }
        self.hashes.push(node);
        self.size = new_size;
        Ok(())
    }

    /// The Merkle Tree Hash of the tree, equal to [`root`] over its leaves.
    pub fn root(&self) -> Hash {
        let mut from_right = self.hashes.iter().rev();
        match from_right.next() {
            None => EMPTY_ROOT,
            Some(last) => from_right.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}
