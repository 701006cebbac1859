//! `shengshi eid …` run as the real binary: a fresh trust root signs a trust
//! list, and `eid verify` checks codes minted with the library against it.

use shengshi_eid::*;
use std::path::Path;
use std::process::{Command, Output};

fn shengshi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shengshi"))
        .args(args)
        .env_remove("SHENGSHI_CONFIG")
        .output()
        .expect("run shengshi")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

const ISSUER: &str = "https://id.shengshi.example.gov.cn";
const STATUS_URI: &str = "https://id.shengshi.example.gov.cn/eid/status/1";

fn attributes() -> Attributes {
    Attributes {
        name: "欧阳娜娜".into(),
        id_number: "11010519491231002X".into(),
        sex: Sex::Female,
        birth_date: "1949-12-31".into(),
        address: "北京市朝阳区某某路1号".into(),
        portrait_digest: None,
        age_over_18: true,
    }
}

fn mint(
    key: &SoftwareKey,
    now: i64,
    purpose: Purpose,
    category: VerifierCategory,
    index: u32,
) -> String {
    mint_presentation(
        &PresentationRequest {
            issuer: ISSUER,
            issued_at: now,
            lifetime_seconds: 60,
            cti: [7; 16],
            purpose,
            category,
            attributes: &attributes(),
            status: StatusRef {
                index,
                uri: STATUS_URI.into(),
            },
        },
        key,
    )
    .unwrap()
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

#[test]
fn trust_root_trust_list_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    // A fresh trust root: key file 0600, public key on stdout.
    let root_key = path(dir.path(), "root.key");
    let out = shengshi(&["eid", "trust-root", "init", "--out", &root_key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root_pub = String::from_utf8(out.stdout).unwrap();
    let root = PublicKey::from_text(&root_pub).unwrap();
    assert_eq!(root.algorithm(), Algorithm::Ed25519);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&root_key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(dir.path().join("root.pub"), &root_pub).unwrap();
    let again = shengshi(&["eid", "trust-root", "init", "--out", &root_key]);
    assert!(
        !again.status.success(),
        "an existing key file is never overwritten"
    );

    // The trust list: checked, then signed.
    let issuer = SoftwareKey::from_seed(Algorithm::Ed25519, &[0x21; 32]).unwrap();
    let list = TrustList {
        issuer: ISSUER.into(),
        issued_at: now - 60,
        expires_at: now + 86_400,
        keys: vec![TrustedKey {
            public_key: issuer.public_key(),
            not_before: now - 3600,
            not_after: now + 3600,
        }],
    };
    std::fs::write(dir.path().join("list.json"), list.to_jwks_json()).unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"iss":"x","iat":1,"exp":2,"keys":[{"kty":"OKP"}]}"#,
    )
    .unwrap();
    let signed = path(dir.path(), "list.cose");
    let bad = shengshi(&[
        "eid",
        "trust-list",
        "sign",
        "--root-key",
        &root_key,
        "--in",
        &path(dir.path(), "bad.json"),
        "--out",
        &signed,
    ]);
    assert!(!bad.status.success());
    assert!(
        !dir.path().join("list.cose").exists(),
        "nothing is signed when the JSON is not a trust list"
    );
    let out = shengshi(&[
        "eid",
        "trust-list",
        "sign",
        "--root-key",
        &root_key,
        "--in",
        &path(dir.path(), "list.json"),
        "--out",
        &signed,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        open_signed_trust_list(&std::fs::read(&signed).unwrap(), &root, now).unwrap(),
        list
    );

    // A status list with card 2 revoked.
    let mut statuses = StatusList::new(64);
    statuses.set(2, CardStatus::Revoked);
    let token = StatusListToken {
        uri: STATUS_URI.into(),
        issued_at: now - 10,
        expires_at: now + 3600,
        ttl: 300,
        list: statuses,
    };
    std::fs::write(
        dir.path().join("status.cwt"),
        sign_status_list(&token, &issuer).unwrap(),
    )
    .unwrap();

    let now_text = now.to_string();
    let verify = |code: &str, extra: &[&str]| {
        let root_pub = path(dir.path(), "root.pub");
        let mut args = vec![
            "eid",
            "verify",
            code,
            "--trust-list",
            &signed,
            "--trust-root",
            &root_pub,
            "--now",
            &now_text,
        ];
        args.extend_from_slice(extra);
        shengshi(&args)
    };
    let status_list = path(dir.path(), "status.cwt");
    let with_status = ["--status-list", status_list.as_str()];

    let valid = mint(
        &issuer,
        now,
        Purpose::HotelCheckin,
        VerifierCategory::Hotel,
        1,
    );
    let out = verify(&valid, &with_status);
    let body = json(&out);
    assert_eq!(out.status.code(), Some(0), "{body}");
    assert_eq!(body["valid"], true);
    assert_eq!(body["code"], "valid");
    assert_eq!(body["presentation"]["purpose"], "hotel_checkin");
    assert_eq!(body["presentation"]["disclosed"]["name"], "欧阳娜娜");
    assert!(body["presentation"]["disclosed"].get("address").is_none());
    assert!(body["presentation"]["disclosed"]
        .get("portrait_digest")
        .is_none());

    let revoked = mint(
        &issuer,
        now,
        Purpose::HotelCheckin,
        VerifierCategory::Hotel,
        2,
    );
    let out = verify(&revoked, &with_status);
    let body = json(&out);
    assert_eq!(out.status.code(), Some(1), "{body}");
    assert_eq!(body["valid"], false);
    assert_eq!(body["code"], "revoked");

    // Without a status list: never valid, its own exit status.
    let out = verify(&valid, &[]);
    let body = json(&out);
    assert_eq!(out.status.code(), Some(2), "{body}");
    assert_eq!(body["code"], "status_unknown");
    assert_eq!(body["presentation"]["purpose"], "hotel_checkin");

    // The desk expects another purpose.
    let mut args = with_status.to_vec();
    args.extend_from_slice(&["--purpose", "travel_security"]);
    let out = verify(&valid, &args);
    let body = json(&out);
    assert_eq!(out.status.code(), Some(1), "{body}");
    assert_eq!(body["code"], "purpose_mismatch");

    // The code from standard input; a code under another root cannot be verified.
    let mut child = Command::new(env!("CARGO_BIN_EXE_shengshi"))
        .args([
            "eid",
            "verify",
            "-",
            "--trust-list",
            &signed,
            "--trust-root",
            &path(dir.path(), "root.pub"),
            "--now",
            &now_text,
            "--status-list",
            &status_list,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{valid}").unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(0));
    let other_root = SoftwareKey::from_seed(Algorithm::Ed25519, &[0x99; 32]).unwrap();
    std::fs::write(
        dir.path().join("other.pub"),
        other_root.public_key().to_text(),
    )
    .unwrap();
    let out = shengshi(&[
        "eid",
        "verify",
        &valid,
        "--trust-list",
        &signed,
        "--trust-root",
        &path(dir.path(), "other.pub"),
        "--now",
        &now_text,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["code"], "cannot_verify");

    // A printable identity document (Claim 169, no prefix) verifies through
    // the same command, with everything it discloses; index 2 is revoked.
    let document = |index: u32| {
        let identity = Identity {
            full_name: Some("欧阳娜娜".into()),
            date_of_birth: Some("19491231".into()),
            ..Identity::default()
        };
        mint_document(
            &DocumentRequest {
                issuer: ISSUER,
                issued_at: now - 60,
                expires_at: now + 30 * 86_400,
                identity: &identity,
                status: StatusRef {
                    index,
                    uri: STATUS_URI.into(),
                },
            },
            &issuer,
        )
        .unwrap()
    };
    let out = verify(&document(5), &with_status);
    let body = json(&out);
    assert_eq!(out.status.code(), Some(0), "{body}");
    assert_eq!(body["mode"], "claim169");
    assert_eq!(body["document"]["disclosed"]["full_name"], "欧阳娜娜");
    assert_eq!(body["document"]["disclosed"]["date_of_birth"], "19491231");
    assert!(body["document"]["disclosed"].get("id").is_none());
    let out = verify(&document(2), &with_status);
    let body = json(&out);
    assert_eq!(out.status.code(), Some(1), "{body}");
    assert_eq!(body["code"], "revoked");
    assert_eq!(body["document"]["disclosed"]["full_name"], "欧阳娜娜");
    let out = verify(&document(5), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["code"], "status_unknown");
    let out = verify("NOT A DOCUMENT", &with_status);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["mode"], "claim169");
}

#[test]
fn the_checked_in_corpus_verifies_through_the_cli() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eid/tests/corpus");
    let now = std::fs::read_to_string(corpus.join("now.txt")).unwrap();
    let arg = |name: &str| corpus.join(name).to_str().unwrap().to_owned();
    for (case, exit) in [
        ("valid.sm2", 0),
        ("suspended", 1),
        ("non_canonical_signature.p256_high_s", 1),
        ("status_unknown.stale_list", 2),
    ] {
        let code = std::fs::read_to_string(corpus.join(format!("{case}.txt"))).unwrap();
        let status = if case.contains("stale") {
            arg("status-list-stale.cose")
        } else {
            arg("status-list.cose")
        };
        let out = shengshi(&[
            "eid",
            "verify",
            &code,
            "--trust-list",
            &arg("trust-list.cose"),
            "--trust-root",
            &arg("trust-root.pub"),
            "--status-list",
            &status,
            "--now",
            now.trim(),
        ]);
        let body = json(&out);
        assert_eq!(out.status.code(), Some(exit), "{case}: {body}");
        let expected = case.split('.').next().unwrap();
        assert_eq!(body["code"], expected, "{case}");
    }
}

/// Holder-bound codes (SS2) through the binary: the checked-in vector and
/// refusals from the SS2 corpus, with the same JSON shape plus `mode` and the
/// device counter.
#[test]
fn holder_bound_codes_verify_through_the_cli() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eid/tests/corpus");
    let now = std::fs::read_to_string(corpus.join("now.txt")).unwrap();
    let arg = |name: &str| corpus.join(name).to_str().unwrap().to_owned();
    let run = |case: &str, extra: &[&str]| {
        let code = std::fs::read_to_string(corpus.join(format!("ss2/{case}.txt"))).unwrap();
        let (trust_list, trust_root, status) = (
            arg("trust-list.cose"),
            arg("trust-root.pub"),
            arg("status-list.cose"),
        );
        let mut args = vec![
            "eid",
            "verify",
            &code,
            "--trust-list",
            &trust_list,
            "--trust-root",
            &trust_root,
            "--status-list",
            &status,
            "--now",
            now.trim(),
        ];
        args.extend_from_slice(extra);
        let out = shengshi(&args);
        (out.status.code(), json(&out))
    };
    let (exit, body) = run("valid.hotel_checkin", &["--purpose", "hotel_checkin"]);
    assert_eq!(exit, Some(0), "{body}");
    assert_eq!(body["valid"], true);
    assert_eq!(body["mode"], "holder");
    let p = &body["presentation"];
    assert_eq!(p["mode"], "holder");
    assert_eq!(p["purpose"], "hotel_checkin");
    assert_eq!(p["category"], "hotel");
    assert_eq!(p["holder"]["counter"], 17);
    assert_eq!(p["disclosed"]["id_number"], "65010219900307123X");
    assert!(p["disclosed"].get("address").is_none());
    assert_eq!(p["status"]["index"], 42);
    for (case, exit) in [
        ("expired.presentation_older_than_60_s", 1),
        ("device_signature_invalid.wrong_device_key", 1),
        ("digest_mismatch.item_from_another_credential", 1),
        ("credential_expired", 1),
        ("revoked", 1),
    ] {
        let (got, body) = run(case, &[]);
        assert_eq!(got, Some(exit), "{case}: {body}");
        assert_eq!(body["code"], case.split('.').next().unwrap(), "{case}");
        assert_eq!(body["mode"], "holder");
    }
    // An SS1 code says so too.
    let code = std::fs::read_to_string(corpus.join("valid.ed25519.txt")).unwrap();
    let out = shengshi(&[
        "eid",
        "verify",
        &code,
        "--trust-list",
        &arg("trust-list.cose"),
        "--trust-root",
        &arg("trust-root.pub"),
        "--status-list",
        &arg("status-list.cose"),
        "--now",
        now.trim(),
    ]);
    let body = json(&out);
    assert_eq!(body["mode"], "issuer");
    assert_eq!(body["presentation"]["mode"], "issuer");
    assert!(body["presentation"]["holder"].is_null());
}
