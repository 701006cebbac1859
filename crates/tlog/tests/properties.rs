//! Property tests: proofs verify for every tree shape, and stop verifying as
//! soon as anything they commit to changes.

use proptest::prelude::*;
use proptest::sample::Index;
use shengshi_tlog::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root, verify_consistency,
    verify_inclusion, CompactRange, Hash, TlogError, EMPTY_ROOT,
};

fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// A straightforward MTH, written from RFC 9162 §2.1.1 independently of the
/// crate's, so the crate is not only checked against itself.
fn reference_root(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&reference_root(&d[..k]), &reference_root(&d[k..]))
        }
    }
}

fn flip_bit(proof: &[Hash], which: usize, bit: u8) -> Vec<Hash> {
    let mut proof = proof.to_vec();
    let i = which % proof.len();
    proof[i][(bit / 8) as usize % 32] ^= 1 << (bit % 8);
    proof
}

fn arb_leaves() -> impl Strategy<Value = Vec<Hash>> {
    prop::collection::vec(any::<[u8; 32]>(), 0..=300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn compact_range_root_equals_root_at_every_size(leaves in arb_leaves()) {
        let mut range = CompactRange::new();
        prop_assert_eq!(range.root(), root(&[]));
        for (i, leaf) in leaves.iter().enumerate() {
            range.append(*leaf);
            let prefix = &leaves[..=i];
            prop_assert_eq!(range.root(), root(prefix), "size {}", i + 1);
            prop_assert_eq!(range.hashes().len() as u32, range.size().count_ones());
        }
        prop_assert_eq!(root(&leaves), reference_root(&leaves));
        // Rebuilt from its stored parts, the range carries on identically.
        let restored = CompactRange::from_parts(range.size(), range.hashes().to_vec()).unwrap();
        prop_assert_eq!(&restored, &range);
        prop_assert_eq!(CompactRange::from_leaves(&leaves).unwrap(), range);
    }

    #[test]
    fn inclusion_proofs_verify_and_reject_tampering(
        leaves in arb_leaves(),
        which in any::<usize>(),
        bit in any::<u8>(),
        other in any::<Index>(),
    ) {
        let size = leaves.len() as u64;
        let tree_root = root(&leaves);
        for index in 0..size {
            let leaf = &leaves[index as usize];
            let proof = inclusion_proof(&leaves, index, size).unwrap();
            verify_inclusion(leaf, index, size, &proof, &tree_root).unwrap();

            if !proof.is_empty() {
                let flipped = flip_bit(&proof, which, bit);
                prop_assert!(verify_inclusion(leaf, index, size, &flipped, &tree_root).is_err());
            }
            let mut wrong_root = tree_root;
            wrong_root[(bit % 32) as usize] ^= 1;
            prop_assert_eq!(
                verify_inclusion(leaf, index, size, &proof, &wrong_root),
                Err(TlogError::InclusionRootMismatch)
            );
            // Any other index.
            if size > 1 {
                let offset = 1 + other.index(size as usize - 1) as u64;
                let wrong_index = (index + offset) % size;
                prop_assert!(verify_inclusion(leaf, wrong_index, size, &proof, &tree_root).is_err());
            }
            // Any other size, against that size's root: the proof is about
            // this tree only.
            let wrong_size = 1 + other.index(300) as u64;
            if wrong_size != size && index < wrong_size && wrong_size <= size {
                let wrong_root = root(&leaves[..wrong_size as usize]);
                prop_assert!(verify_inclusion(leaf, index, wrong_size, &proof, &wrong_root).is_err());
            }
            // Against this root, a size the proof is too short or long for.
            prop_assert!(verify_inclusion(leaf, index, size.saturating_mul(2) + 2, &proof, &tree_root).is_err());
            let mut longer = proof.clone();
            longer.push(tree_root);
            prop_assert!(verify_inclusion(leaf, index, size, &longer, &tree_root).is_err());
            if !proof.is_empty() {
                prop_assert!(verify_inclusion(leaf, index, size, &proof[1..], &tree_root).is_err());
            }
            prop_assert!(verify_inclusion(leaf, size + index, size, &proof, &tree_root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_reject_tampering(
        leaves in arb_leaves(),
        new_pick in any::<Index>(),
        old_pick in any::<Index>(),
        which in any::<usize>(),
        bit in any::<u8>(),
    ) {
        let new_size = new_pick.index(leaves.len() + 1);
        let old_size = old_pick.index(new_size + 1);
        let (old_root, new_root) = (root(&leaves[..old_size]), root(&leaves[..new_size]));
        let (old, new) = (old_size as u64, new_size as u64);
        let proof = consistency_proof(&leaves, old, new).unwrap();
        verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();

        // A different old root fails, whatever the sizes.
        let mut other_old = old_root;
        other_old[(bit % 32) as usize] ^= 1;
        prop_assert!(verify_consistency(old, new, &other_old, &new_root, &proof).is_err());
        if old > 0 && old < new {
            let mut other_new = new_root;
            other_new[(bit % 32) as usize] ^= 1;
            prop_assert!(verify_consistency(old, new, &old_root, &other_new, &proof).is_err());
            let flipped = flip_bit(&proof, which, bit);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &flipped).is_err());
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof[1..]).is_err());
            let mut longer = proof.clone();
            longer.push(new_root);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &longer).is_err());
            // The root of a different old size fails too.
            let shorter_root = root(&leaves[..old_size - 1]);
            prop_assert!(verify_consistency(old, new, &shorter_root, &new_root, &proof).is_err());
        }
    }
}

/// Every pair of sizes up to 64, exhaustively, on top of the sampled cases.
#[test]
fn every_consistency_and_inclusion_proof_up_to_64_verifies() {
    let all = leaves(64);
    let roots: Vec<Hash> = (0..=64).map(|n| reference_root(&all[..n])).collect();
    for new in 0..=64u64 {
        for old in 0..=new {
            let proof = consistency_proof(&all, old, new).unwrap();
            verify_consistency(old, new, &roots[old as usize], &roots[new as usize], &proof)
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
        }
        for index in 0..new {
            let proof = inclusion_proof(&all, index, new).unwrap();
            verify_inclusion(
                &all[index as usize],
                index,
                new,
                &proof,
                &roots[new as usize],
            )
            .unwrap_or_else(|e| panic!("{index} in {new}: {e}"));
        }
    }
}
