//! Checkpoints, signed notes and cosignatures made and checked by this crate.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use shengshi_tlog::{
    ed25519_public, generate_ed25519_secret, leaf_hash, root, Checkpoint, CompactRange,
    CosignatureVerifier, Cosigner, NoteSignature, NoteSigner, NoteVerifier, SignedNote, TlogError,
    MAX_SIGNATURES,
};

const LOG: &str = "access.example.gov.cn/log";
const WITNESS: &str = "witness.example.org/w1";

fn secret(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn checkpoint() -> Checkpoint {
    let leaves: Vec<_> = (0u8..10).map(|i| leaf_hash(&[i])).collect();
    Checkpoint {
        origin: LOG.to_owned(),
        size: 10,
        root: root(&leaves),
    }
}

fn signed_checkpoint(signer: &NoteSigner) -> SignedNote {
    let body = checkpoint().body();
    let mut note = SignedNote::new(&body).unwrap();
    note.add_signature_line(&signer.sign(&body)).unwrap();
    note
}

#[test]
fn checkpoint_body_round_trips() {
    let cp = checkpoint();
    let body = cp.body();
    assert!(body.starts_with("access.example.gov.cn/log\n10\n"));
    assert!(body.ends_with("=\n"));
    assert_eq!(Checkpoint::parse(&body).unwrap(), cp);

    let empty = Checkpoint {
        origin: LOG.to_owned(),
        size: 0,
        root: root(&[]),
    };
    assert_eq!(
        empty.body(),
        "access.example.gov.cn/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    );
    assert_eq!(Checkpoint::parse(&empty.body()).unwrap(), empty);
}

#[test]
fn malformed_checkpoints_are_refused_with_specific_errors() {
    let root_b64 = BASE64.encode(checkpoint().root);
    let cases = [
        (
            format!("o\n10\n{root_b64}"),
            TlogError::CheckpointNoFinalNewline,
        ),
        ("o\n10\n".to_owned(), TlogError::CheckpointTooFewLines(2)),
        (
            format!("o\n10\n{root_b64}\nextension\n"),
            TlogError::CheckpointExtensionLines,
        ),
        (
            format!("\n10\n{root_b64}\n"),
            TlogError::CheckpointEmptyOrigin,
        ),
        (
            format!("o\n010\n{root_b64}\n"),
            TlogError::CheckpointBadSize,
        ),
        (format!("o\n-1\n{root_b64}\n"), TlogError::CheckpointBadSize),
        (format!("o\n+1\n{root_b64}\n"), TlogError::CheckpointBadSize),
        (format!("o\n\n{root_b64}\n"), TlogError::CheckpointBadSize),
        (
            format!("o\n1 0\n{root_b64}\n"),
            TlogError::CheckpointBadSize,
        ),
        (
            format!("o\n18446744073709551616\n{root_b64}\n"),
            TlogError::CheckpointBadSize,
        ),
        (
            "o\n10\nnot base64!\n".to_owned(),
            TlogError::CheckpointBadRoot,
        ),
        ("o\n10\nAAAA\n".to_owned(), TlogError::CheckpointBadRoot),
        (
            format!("o\n10\n{}\n", root_b64.trim_end_matches('=')),
            TlogError::CheckpointBadRoot,
        ),
    ];
    for (body, want) in cases {
        assert_eq!(Checkpoint::parse(&body), Err(want), "{body:?}");
    }
    assert_eq!(
        TlogError::CheckpointBadSize.to_string(),
        "checkpoint body line 2 is not a tree size"
    );
    let max = format!("o\n18446744073709551615\n{root_b64}\n");
    assert_eq!(Checkpoint::parse(&max).unwrap().size, u64::MAX);
}

#[test]
fn sign_text_parse_verify_round_trip() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let note = signed_checkpoint(&signer);
    let text = note.to_text();
    assert!(text.contains("\n\n— access.example.gov.cn/log "));
    let parsed = SignedNote::parse(&text).unwrap();
    assert_eq!(parsed, note);
    parsed.verify(&signer.verifier()).unwrap();
    // The verifier survives being published and read back as a vkey.
    let published = NoteVerifier::from_vkey(&signer.verifier().to_vkey()).unwrap();
    assert_eq!(published, signer.verifier());
    parsed.verify(&published).unwrap();
    assert_eq!(Checkpoint::parse(&parsed.body).unwrap(), checkpoint());
}

#[test]
fn a_changed_body_byte_fails() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let text = signed_checkpoint(&signer).to_text();
    // Every byte of the root line, one at a time.
    let root_line = text.find("\n10\n").unwrap() + 4;
    for i in root_line..root_line + 43 {
        let mut bytes = text.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = SignedNote::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert_eq!(
            tampered.verify(&signer.verifier()),
            Err(TlogError::BadSignature {
                name: LOG.to_owned()
            })
        );
    }
}

#[test]
fn a_signature_by_another_key_fails() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let impostor = NoteSigner::new(LOG, &secret(2)).unwrap();
    let note = signed_checkpoint(&impostor);
    let err = note.verify(&signer.verifier()).unwrap_err();
    assert_eq!(
        err,
        TlogError::NoValidSignature {
            name: LOG.to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        "no valid signature by key access.example.gov.cn/log"
    );
    // Same key, other name: a different key, so also not a signature by it.
    let renamed = NoteSigner::new("other.example/log", &secret(1)).unwrap();
    assert!(signed_checkpoint(&renamed)
        .verify(&signer.verifier())
        .is_err());
}

#[test]
fn a_truncated_signature_fails() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let mut note = signed_checkpoint(&signer);
    note.signatures[0].signature.truncate(63);
    assert_eq!(
        note.verify(&signer.verifier()),
        Err(TlogError::BadSignature {
            name: LOG.to_owned()
        })
    );
    // Cut in the text: the line no longer parses, or no longer verifies.
    let text = signed_checkpoint(&signer).to_text();
    let cut = format!("{}\n", &text[..text.len() - 6]);
    match SignedNote::parse(&cut) {
        Ok(note) => assert!(note.verify(&signer.verifier()).is_err()),
        Err(TlogError::MalformedSignatureLine(_)) => {}
        Err(other) => panic!("unexpected error {other}"),
    }
    // Nothing but a key ID.
    let line = format!("— {LOG} {}", BASE64.encode(signer.key_id()));
    assert!(matches!(
        NoteSignature::parse_line(&line),
        Err(TlogError::MalformedSignatureLine(_))
    ));
}

#[test]
fn unknown_key_signature_lines_are_ignored() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let other = NoteSigner::new("monitor.example/m", &secret(3)).unwrap();
    let same_name = NoteSigner::new(LOG, &secret(4)).unwrap();
    let body = checkpoint().body();

    let mut note = SignedNote::new(&body).unwrap();
    // Lines by unknown keys, even a garbage one and one sharing our name,
    // before and after the real signature.
    note.add_signature_line(&other.sign("something else entirely\n"))
        .unwrap();
    note.add_signature_line(&format!("— unknown.example/k {}", BASE64.encode([9u8; 20])))
        .unwrap();
    note.add_signature_line(&same_name.sign(&body)).unwrap();
    note.add_signature_line(&format!("{}\n", signer.sign(&body)))
        .unwrap();
    note.add_signature_line(&Cosigner::new(WITNESS, &secret(5)).unwrap().cosign(&body, 1))
        .unwrap();

    let parsed = SignedNote::parse(&note.to_text()).unwrap();
    assert_eq!(parsed.signatures.len(), 5);
    parsed.verify(&signer.verifier()).unwrap();
    parsed.verify(&same_name.verifier()).unwrap();
    assert!(parsed.verify(&other.verifier()).is_err());
}

#[test]
fn a_bad_signature_claiming_a_known_key_rejects_the_note() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let mut note = signed_checkpoint(&signer);
    let mut forged = note.signatures[0].clone();
    forged.signature[0] ^= 1;
    note.signatures.insert(0, forged);
    assert_eq!(
        note.verify(&signer.verifier()),
        Err(TlogError::BadSignature {
            name: LOG.to_owned()
        })
    );
}

#[test]
fn malformed_notes_are_refused() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let body = checkpoint().body();
    let line = signer.sign(&body);

    assert_eq!(SignedNote::parse(&body), Err(TlogError::NoteNoSignatures));
    assert_eq!(
        SignedNote::parse(&format!("{body}\n")),
        Err(TlogError::NoteNoSignatures)
    );
    assert!(matches!(
        SignedNote::parse(&format!("{body}\n{line}")),
        Err(TlogError::MalformedSignatureLine(_))
    ));
    assert_eq!(
        SignedNote::parse(&format!("{body}\r\n{line}\n")),
        Err(TlogError::NoteControlCharacter)
    );
    assert_eq!(
        SignedNote::parse(&format!("a\tb\n{body}\n{line}\n")),
        Err(TlogError::NoteControlCharacter)
    );
    let dashes = line.replacen("—", "--", 1);
    assert!(matches!(
        SignedNote::parse(&format!("{body}\n{dashes}\n")),
        Err(TlogError::MalformedSignatureLine(_))
    ));
    assert!(matches!(
        SignedNote::parse(&format!("{body}\n{line}\n\n")),
        Err(TlogError::NoteNoSignatures)
    ));
    assert!(matches!(
        SignedNote::parse(&format!("{body}\n— {LOG}\n")),
        Err(TlogError::MalformedSignatureLine(_))
    ));
    assert!(matches!(
        SignedNote::parse(&format!("{body}\n— a+b AAAAAAA=\n")),
        Err(TlogError::InvalidKeyName(_))
    ));

    let many = format!("{body}\n{}", format!("{line}\n").repeat(MAX_SIGNATURES + 1));
    assert_eq!(
        SignedNote::parse(&many),
        Err(TlogError::NoteTooManySignatures(MAX_SIGNATURES))
    );
    let enough = format!("{body}\n{}", format!("{line}\n").repeat(MAX_SIGNATURES));
    SignedNote::parse(&enough)
        .unwrap()
        .verify(&signer.verifier())
        .unwrap();

    assert_eq!(
        SignedNote::new("no newline"),
        Err(TlogError::NoteNoFinalNewline)
    );
}

#[test]
fn a_note_text_may_contain_blank_lines() {
    let signer = NoteSigner::new(LOG, &secret(1)).unwrap();
    let body = "first\n\nafter a blank line\n";
    let text = format!("{body}\n{}\n", signer.sign(body));
    let note = SignedNote::parse(&text).unwrap();
    assert_eq!(note.body, body);
    note.verify(&signer.verifier()).unwrap();
}

#[test]
fn key_names_are_checked() {
    for bad in ["", "a b", "a+b", "a\tb", "a\u{3000}b", "a\nb"] {
        assert_eq!(
            NoteSigner::new(bad, &secret(1)).unwrap_err(),
            TlogError::InvalidKeyName(bad.to_owned())
        );
        assert!(Cosigner::new(bad, &secret(1)).is_err());
        assert!(NoteVerifier::new(bad, &ed25519_public(&secret(1))).is_err());
    }
}

#[test]
fn cosignature_verify_returns_the_time() {
    let log = NoteSigner::new(LOG, &secret(1)).unwrap();
    let witness = Cosigner::new(WITNESS, &secret(7)).unwrap();
    let mut note = signed_checkpoint(&log);
    let time = 1_764_000_000;
    note.add_signature_line(&witness.cosign(&note.body, time))
        .unwrap();

    let parsed = SignedNote::parse(&note.to_text()).unwrap();
    let verifier = CosignatureVerifier::from_vkey(&witness.verifier().to_vkey()).unwrap();
    assert_eq!(verifier.verify(&parsed), Ok(time));
    parsed.verify(&log.verifier()).unwrap();
    // The payload after the key ID is the big-endian time and a signature.
    let line = &parsed.signatures[1];
    assert_eq!(line.signature.len(), 72);
    assert_eq!(line.signature[..8], time.to_be_bytes());
    assert!(verifier.to_vkey().starts_with("witness.example.org/w1+"));
    assert_eq!(
        BASE64
            .decode(verifier.to_vkey().rsplit('+').next().unwrap())
            .unwrap()[0],
        0x04
    );
}

#[test]
fn cosignature_fails_on_a_changed_body_or_time() {
    let witness = Cosigner::new(WITNESS, &secret(7)).unwrap();
    let verifier = witness.verifier();
    let body = checkpoint().body();
    let mut note = SignedNote::new(&body).unwrap();
    note.add_signature_line(&witness.cosign(&body, 1000))
        .unwrap();
    assert_eq!(verifier.verify(&note), Ok(1000));

    let mut other_body = note.clone();
    other_body.body = Checkpoint {
        size: 11,
        ..checkpoint()
    }
    .body();
    let bad = Err(TlogError::BadCosignature {
        name: WITNESS.to_owned(),
    });
    assert_eq!(verifier.verify(&other_body), bad);

    let mut other_time = note.clone();
    other_time.signatures[0].signature[7] ^= 1;
    assert_eq!(verifier.verify(&other_time), bad);

    let mut truncated = note.clone();
    truncated.signatures[0].signature.truncate(71);
    assert_eq!(verifier.verify(&truncated), bad);

    // Another witness's key, or none at all.
    let stranger = Cosigner::new(WITNESS, &secret(8)).unwrap().verifier();
    assert_eq!(
        stranger.verify(&note),
        Err(TlogError::NoCosignature {
            name: WITNESS.to_owned()
        })
    );
}

#[test]
fn note_signatures_and_cosignatures_are_not_interchangeable() {
    // One Ed25519 key used both ways gets two key IDs, so neither kind of
    // signature can be passed off as the other.
    let key = secret(9);
    let as_log = NoteSigner::new(WITNESS, &key).unwrap();
    let as_witness = Cosigner::new(WITNESS, &key).unwrap();
    assert_ne!(as_log.key_id(), as_witness.key_id());

    let body = checkpoint().body();
    let mut note = SignedNote::new(&body).unwrap();
    note.add_signature_line(&as_witness.cosign(&body, 5))
        .unwrap();
    assert!(note.verify(&as_log.verifier()).is_err());

    let mut note = SignedNote::new(&body).unwrap();
    note.add_signature_line(&as_log.sign(&body)).unwrap();
    assert!(as_witness.verifier().verify(&note).is_err());
}

#[test]
fn keys_and_secrets() {
    let a = generate_ed25519_secret();
    let b = generate_ed25519_secret();
    assert_ne!(a, b);
    let signer = NoteSigner::new(LOG, &a).unwrap();
    assert_eq!(signer.verifier().public_key(), ed25519_public(&a));
    assert_eq!(
        NoteVerifier::new(LOG, &ed25519_public(&a)).unwrap(),
        signer.verifier()
    );
    // RFC 8032 §7.1 test 1: the public key of that secret.
    let rfc_secret: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
    assert_eq!(
        hex::encode(ed25519_public(&rfc_secret)),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    // Debug output must not leak the secret.
    let debug = format!("{signer:?} {:?}", Cosigner::new(WITNESS, &a).unwrap());
    assert!(!debug.contains(&hex::encode(a)));
    assert!(!debug.contains(&format!("{:?}", a)));
    // Not every 32 bytes are a public key.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    not_a_point[31] = 0x80;
    let results = (0u8..=255)
        .map(|i| {
            not_a_point[1] = i;
            NoteVerifier::new(LOG, &not_a_point)
        })
        .collect::<Vec<_>>();
    assert!(results.contains(&Err(TlogError::InvalidPublicKey)));
}

#[test]
fn compact_range_parts_are_checked() {
    let leaves: Vec<_> = (0u8..13).map(|i| leaf_hash(&[i])).collect();
    let range = CompactRange::from_leaves(&leaves).unwrap();
    assert_eq!(range.hashes().len(), 3); // 13 = 8 + 4 + 1
    assert_eq!(
        CompactRange::from_parts(13, range.hashes()[..2].to_vec()),
        Err(TlogError::CompactRangeShape {
            size: 13,
            want: 3,
            got: 2
        })
    );
    assert_eq!(
        CompactRange::from_parts(0, Vec::new()).unwrap(),
        CompactRange::new()
    );

    // Stored as JSON and read back; a corrupted record is refused, not
    // silently accepted.
    let json = serde_json::to_string(&range).unwrap();
    let back: CompactRange = serde_json::from_str(&json).unwrap();
    assert_eq!(back, range);
    // 15 leaves need four subtree hashes, not three.
    let corrupt = json.replacen("\"size\":13", "\"size\":15", 1);
    assert_ne!(corrupt, json);
    assert!(serde_json::from_str::<CompactRange>(&corrupt).is_err());

    let mut full = CompactRange::from_parts(u64::MAX, vec![[0; 32]; 64]).unwrap();
    assert_eq!(full.try_append([1; 32]), Err(TlogError::TreeFull));
    full.append([1; 32]);
    assert_eq!(full.size(), u64::MAX);
}
