//! `shengshi eid …`: the offline e-ID commands. None needs a database or a
//! configuration: a desk verifies with two files, and the trust root signs the
//! trust list on a machine that never sees the platform.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use shengshi_eid::{
    open_signed_trust_list, open_status_list, sign_trust_list, verify_document,
    verify_presentation, Algorithm, DocumentVerifyError, PresentationMode, PublicKey, Purpose,
    SoftwareKey, StatusListToken, TrustList, VerifiedDocument, VerifiedPresentation, VerifyError,
    VerifyPolicy,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// `eid verify` exit status: the code is valid.
pub const EXIT_VALID: i32 = 0;
/// The code is refused (any failure but an unknown status).
pub const EXIT_REFUSED: i32 = 1;
/// Everything verified but the status could not be established (never valid).
pub const EXIT_STATUS_UNKNOWN: i32 = 2;
/// Nothing could be verified: the trust list, trust root or input is unusable.
pub const EXIT_CANNOT_VERIFY: i32 = 3;

#[derive(Subcommand, Debug)]
pub enum EidCommand {
    /// Verify a presentation code offline (`SS1:` issuer-signed or `SS2:`
    /// holder-bound), or a printable identity document (MOSIP Claim 169: any
    /// other text), and print the result as JSON. Exit status: 0 valid,
    /// 1 refused, 2 status unknown, 3 cannot verify.
    Verify(VerifyArgs),
    /// The offline trust-root key that signs the trust list.
    TrustRoot {
        #[command(subcommand)]
        command: TrustRootCommand,
    },
    /// The trust list (issuer keys as a JWK Set) and its signature.
    TrustList {
        #[command(subcommand)]
        command: TrustListCommand,
    },
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The code's text (`SS1:…`, `SS2:…` or a Claim 169 document's base45),
    /// or `-` to read it from standard input.
    #[arg(value_name = "QRTEXT")]
    pub text: String,
    /// The signed trust list (COSE_Sign1, as published).
    #[arg(long, value_name = "FILE")]
    pub trust_list: PathBuf,
    /// The trust root's public key file (`ed25519:<hex>`).
    #[arg(long, value_name = "PUBKEYFILE")]
    pub trust_root: PathBuf,
    /// The status list token (CWT). Without it the result is status_unknown.
    #[arg(long, value_name = "FILE")]
    pub status_list: Option<PathBuf>,
    /// Refuse codes for any other purpose (hotel_checkin, travel_security, age_over_18, identity_full).
    #[arg(long, value_name = "PURPOSE", value_parser = parse_purpose)]
    pub purpose: Option<Purpose>,
    /// Verify as of this time (unix seconds) instead of the system clock.
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
    /// The oldest status list that counts, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    pub max_status_age: i64,
    /// Allowed difference between clocks, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub max_clock_skew: i64,
}

#[derive(Subcommand, Debug)]
pub enum TrustRootCommand {
    /// Create a trust-root key file (0600, refuses to overwrite) and print its public key.
    Init {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the public key (the `--trust-root` file format) of a trust-root key file.
    Public {
        #[arg(long, value_name = "FILE")]
        root_key: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrustListCommand {
    /// Sign the exact bytes of a trust list JSON with the trust root, after checking it.
    Sign {
        #[arg(long, value_name = "FILE")]
        root_key: PathBuf,
        /// The unsigned JWK Set JSON (docs/eid-format.md).
        #[arg(long = "in", value_name = "UNSIGNED.json")]
        input: PathBuf,
        #[arg(long, value_name = "SIGNED.cose")]
        out: PathBuf,
    },
}

fn parse_purpose(s: &str) -> std::result::Result<Purpose, String> {
    Purpose::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Purpose::ALL.iter().map(|p| p.name()).collect();
        format!("one of {}", names.join(", "))
    })
}

pub fn run(command: EidCommand) -> Result<()> {
    match command {
        EidCommand::Verify(args) => {
            let (output, exit) = verify(&args);
            let mut stdout = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut stdout, &output)?;
            writeln!(stdout)?;
            stdout.flush()?;
            if exit != EXIT_VALID {
                std::process::exit(exit);
            }
            Ok(())
        }
        EidCommand::TrustRoot {
            command: TrustRootCommand::Init { out },
        } => {
            let key = create_root_key(&out)?;
            println!("{}", key.public_key().to_text());
            eprintln!(
                "created trust-root key {} at {}: keep it offline; publish the public key above",
                key.public_key().key_id(),
                out.display()
            );
            Ok(())
        }
        EidCommand::TrustRoot {
            command: TrustRootCommand::Public { root_key },
        } => {
            println!("{}", load_secret_key(&root_key)?.public_key().to_text());
            Ok(())
        }
        EidCommand::TrustList {
            command:
                TrustListCommand::Sign {
                    root_key,
                    input,
                    out,
                },
        } => {
            let root = load_secret_key(&root_key)?;
            let json = std::fs::read(&input)
                .with_context(|| format!("cannot read {}", input.display()))?;
            let text = std::str::from_utf8(&json)
                .map_err(|_| anyhow!("{} is not UTF-8", input.display()))?;
            let list = TrustList::from_jwks_json(text)
                .with_context(|| format!("{} is not a valid trust list", input.display()))?;
            let now = unix_now()?;
            if list.expires_at <= now {
                bail!(
                    "the trust list's exp ({}) has passed: set a later exp",
                    list.expires_at
                );
            }
            let signed = sign_trust_list(&json, &root)?;
            // Check what we wrote opens with the root's public key.
            open_signed_trust_list(&signed, &root.public_key(), list.issued_at.max(now))
                .context("the signed trust list does not open")?;
            std::fs::write(&out, &signed)
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!(
                "signed trust list for {} ({} keys, valid until {}) with trust root {} into {}",
                list.issuer,
                list.keys.len(),
                list.expires_at,
                root.public_key().key_id(),
                out.display()
            );
            Ok(())
        }
    }
}

fn unix_now() -> Result<i64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(i64::try_from(since.as_secs())?)
}

/// A trust-root key file: one line `<alg>-secret:<hex>` (`ed25519-secret:…`).
fn create_root_key(path: &Path) -> Result<SoftwareKey> {
    use rand::RngCore;
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut seed[..]);
    let key = SoftwareKey::from_seed(Algorithm::Ed25519, &seed)?;
    let line = zeroize::Zeroizing::new(format!(
        "{}-secret:{}\n",
        Algorithm::Ed25519.short_name(),
        hex::encode(&key.secret_bytes()[..])
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(line.as_bytes())?;
    file.sync_all()?;
    Ok(key)
}

fn load_secret_key(path: &Path) -> Result<SoftwareKey> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let (alg, hex_part) = text.trim().split_once("-secret:").ok_or_else(|| {
        anyhow!(
            "{} is not a key file (`ed25519-secret:<hex>`)",
            path.display()
        )
    })?;
    let algorithm = Algorithm::from_name(alg)
        .ok_or_else(|| anyhow!("{}: unknown algorithm {alg}", path.display()))?;
    let bytes = zeroize::Zeroizing::new(
        hex::decode(hex_part).map_err(|_| anyhow!("{}: the key is not hex", path.display()))?,
    );
    Ok(SoftwareKey::from_secret_bytes(algorithm, &bytes)?)
}

fn cannot_verify(message: String) -> (Value, i32) {
    (
        json!({"valid": false, "code": "cannot_verify", "message": message, "presentation": null}),
        EXIT_CANNOT_VERIFY,
    )
}

/// The JSON answer and the exit status.
pub fn verify(args: &VerifyArgs) -> (Value, i32) {
    let now = match args.now.map(Ok).unwrap_or_else(unix_now) {
        Ok(now) => now,
        Err(e) => return cannot_verify(format!("{e:#}")),
    };
    let text = if args.text == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            return cannot_verify(format!("cannot read standard input: {e}"));
        }
        s.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        args.text.clone()
    };
    let root = match std::fs::read_to_string(&args.trust_root)
        .map_err(|e| format!("cannot read {}: {e}", args.trust_root.display()))
        .and_then(|t| {
            PublicKey::from_text(&t).map_err(|e| format!("{}: {e}", args.trust_root.display()))
        }) {
        Ok(root) => root,
        Err(e) => return cannot_verify(e),
    };
    let trust = match std::fs::read(&args.trust_list)
        .map_err(|e| format!("cannot read {}: {e}", args.trust_list.display()))
        .and_then(|bytes| {
            open_signed_trust_list(&bytes, &root, now)
                .map_err(|e| format!("the trust list {}: {e}", args.trust_list.display()))
        }) {
        Ok(trust) => trust,
        Err(e) => return cannot_verify(e),
    };
    // A status list that cannot be read or opened leaves the status unknown.
    let mut status_list_error = None;
    let status: Option<StatusListToken> = match &args.status_list {
        None => None,
        Some(path) => match std::fs::read(path) {
            Err(e) => {
                status_list_error = Some(
                    json!({"code": "unreadable", "message": format!("cannot read {}: {e}", path.display())}),
                );
                None
            }
            Ok(bytes) => match open_status_list(&bytes, &trust, now) {
                Ok(token) => Some(token),
                Err(e) => {
                    status_list_error = Some(json!({"code": e.code(), "message": e.to_string()}));
                    None
                }
            },
        },
    };
    let policy = VerifyPolicy {
        expected_purpose: args.purpose,
        max_clock_skew_seconds: args.max_clock_skew,
        max_status_age_seconds: args.max_status_age,
    };
    if mode_of(&text).is_none() {
        let (mut output, exit) = verify_claim169(&text, &trust, status.as_ref(), now, &policy);
        if let Some(error) = status_list_error {
            output["status_list_error"] = error;
        }
        output["checked_at"] = json!(now);
        return (output, exit);
    }
    let result = verify_presentation(&text, &trust, status.as_ref(), now, &policy);
    let (mut output, exit) = match &result {
        Ok(p) => (
            json!({"valid": true, "code": "valid", "message": "the presentation is valid", "presentation": presentation_json(p)}),
            EXIT_VALID,
        ),
        Err(e) => {
            let exit = if matches!(e, VerifyError::StatusUnknown { .. }) {
                EXIT_STATUS_UNKNOWN
            } else {
                EXIT_REFUSED
            };
            (
                json!({
                    "valid": false,
                    "code": e.code(),
                    "message": e.to_string(),
                    "presentation": e.presentation().map(presentation_json),
                }),
                exit,
            )
        }
    };
    if let Some(error) = status_list_error {
        output["status_list_error"] = error;
    }
    output["mode"] = json!(mode_of(&text));
    output["checked_at"] = json!(now);
    (output, exit)
}

/// A printable identity document (Claim 169): it has no purpose, so
/// `--purpose` does not apply; everything in it is disclosed.
fn verify_claim169(
    text: &str,
    trust: &TrustList,
    status: Option<&StatusListToken>,
    now: i64,
    policy: &VerifyPolicy,
) -> (Value, i32) {
    let (output, exit) = match verify_document(text, trust, status, now, policy) {
        Ok(d) => (
            json!({"valid": true, "code": "valid", "message": "the document is valid", "document": document_json(&d)}),
            EXIT_VALID,
        ),
        Err(e) => (
            json!({
                "valid": false,
                "code": e.code(),
                "message": e.to_string(),
                "document": e.document().map(document_json),
            }),
            if matches!(e, DocumentVerifyError::StatusUnknown { .. }) {
                EXIT_STATUS_UNKNOWN
            } else {
                EXIT_REFUSED
            },
        ),
    };
    let mut output = output;
    output["mode"] = json!("claim169");
    output["presentation"] = Value::Null;
    (output, exit)
}

fn document_json(d: &VerifiedDocument) -> Value {
    let i = &d.identity;
    let mut disclosed = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            disclosed.insert(k.into(), v);
        }
    };
    put("id", i.id.as_ref().map(|v| json!(v)));
    put("version", i.version.as_ref().map(|v| json!(v)));
    put("language", i.language.as_ref().map(|v| json!(v)));
    put("full_name", i.full_name.as_ref().map(|v| json!(v)));
    put("date_of_birth", i.date_of_birth.as_ref().map(|v| json!(v)));
    put("gender", i.gender.map(|v| json!(v.name())));
    put("address", i.address.as_ref().map(|v| json!(v)));
    put("nationality", i.nationality.as_ref().map(|v| json!(v)));
    put("photo_bytes", i.photo.as_ref().map(|v| json!(v.len())));
    put("photo_format", i.photo_format.map(|v| json!(v.name())));
    json!({
        "issuer": d.issuer,
        "kid": d.kid.map(|k| k.to_base64url()),
        "algorithm": d.algorithm.name(),
        "issued_at": d.issued_at,
        "not_before": d.not_before,
        "expires_at": d.expires_at,
        "disclosed": disclosed,
        "status": d.status.as_ref().map(|s| json!({"index": s.index, "uri": s.uri})),
    })
}

/// "issuer" (`SS1:`), "holder" (`SS2:`), or null for any other text.
fn mode_of(text: &str) -> Option<&'static str> {
    if text.starts_with(shengshi_eid::PREFIX) {
        Some(PresentationMode::Issuer.name())
    } else if text.starts_with(shengshi_eid::HOLDER_PREFIX) {
        Some(PresentationMode::Holder.name())
    } else {
        None
    }
}

fn presentation_json(p: &VerifiedPresentation) -> Value {
    let d = &p.disclosed;
    let mut disclosed = Map::new();
    if let Some(v) = &d.name {
        disclosed.insert("name".into(), json!(v));
    }
    if let Some(v) = &d.id_number {
        disclosed.insert("id_number".into(), json!(v));
    }
    if let Some(v) = d.sex {
        disclosed.insert("sex".into(), json!(v.name()));
    }
    if let Some(v) = &d.birth_date {
        disclosed.insert("birth_date".into(), json!(v));
    }
    if let Some(v) = &d.address {
        disclosed.insert("address".into(), json!(v));
    }
    if let Some(v) = &d.portrait_digest {
        disclosed.insert("portrait_digest".into(), json!(hex::encode(v)));
    }
    if let Some(v) = d.age_over_18 {
        disclosed.insert("age_over_18".into(), json!(v));
    }
    json!({
        "issuer": p.issuer,
        "kid": p.kid.to_base64url(),
        "algorithm": p.algorithm.name(),
        "issued_at": p.issued_at,
        "expires_at": p.expires_at,
        "cti": hex::encode(p.cti),
        "purpose": p.purpose.name(),
        "category": p.category.name(),
        "disclosed": disclosed,
        "status": {"index": p.status.index, "uri": p.status.uri},
        "mode": p.mode.name(),
        "holder": p.holder.as_ref().map(|h| json!({
            "counter": h.counter,
            "credential_issued_at": h.credential_issued_at,
            "credential_expires_at": h.credential_expires_at,
            "credential_cti": hex::encode(h.credential_cti),
            "device_kid": h.device_key_id.to_base64url(),
        })),
    })
}
