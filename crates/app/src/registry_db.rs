//! The population registry kept in our own database: [`DatabaseRegistry`]
//! answers real-name checks from it, [`import_csv`] loads it from a file
//! (format: docs/registry-import.md), and [`upsert_records`] writes records
//! made in code (the demo's fictional residents).
//!
//! Each registered person is a data subject with a data key of their own. The
//! whole record is serialised and sealed with that key (context
//! [`RECORD_CONTEXT`]); the only thing stored in the clear is a keyed MAC of
//! the normalised ID number, under the platform secret
//! [`crate::secrets::REGISTRY_MAC_KEY`], which is the lookup key.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shengshi_domain::identity::Sex;
use shengshi_domain::{
    Actor, CivilDate, PersonName, ResidentIdNumber, SecurityEventKind, SubjectId,
};
use shengshi_envelope::{DataKey, EnvelopeError, KeyRef, Sealed};
use shengshi_store::{StoreError, StoredDataKey, StoredRegistryRecord};
use zeroize::Zeroizing;

use crate::door::{self, AccessRequest, DoorError};
use crate::keys::KeyError;
use crate::registry::{
    LifeStatus, MaritalStatus, PopulationRegistry, RegistryAnswer, RegistryError, RegistryQuery,
    RegistryRecord,
};
use crate::secrets::PlatformSecrets;
use crate::security_log::SecurityLogError;
use crate::Services;
use shengshi_domain::access::{Accessor, Purpose};

/// The sealing context of a registry record.
pub const RECORD_CONTEXT: &[u8] = b"registry.record";
/// What opening a registry record reads (it is sealed as one value).
const RECORD_FIELDS: [&str; 7] = [
    "name",
    "sex",
    "birth_date",
    "address",
    "marital_status",
    "life_status",
    "photo",
];

/// The CSV header, exactly (docs/registry-import.md).
pub const CSV_HEADER: [&str; 8] = [
    "id_number",
    "name",
    "sex",
    "birth_date",
    "address",
    "marital_status",
    "life_status",
    "photo",
];

/// Records written per transaction.
pub const BATCH: usize = 500;
/// The largest portrait accepted.
pub const MAX_PHOTO_BYTES: u64 = 1024 * 1024;
/// The longest address accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// At most this many refused lines are listed in one error.
const MAX_LISTED_ERRORS: usize = 20;

type HmacSha256 = Hmac<Sha256>;

/// The MAC under which a resident ID number is stored and looked up in the
/// registry. The number is already normalised (18 characters, upper-case X,
/// legacy 15-digit numbers converted) by [`ResidentIdNumber::parse`].
pub fn id_number_mac(secrets: &PlatformSecrets, id_number: &ResidentIdNumber) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secrets.registry_mac_key())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in [&b"registry.id_number"[..], id_number.as_str().as_bytes()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

// ---------------------------------------------------------------------------
// The sealed form

/// What is sealed: every field of [`RegistryRecord`] but `fictional` (a column).
/// Versioned so that the format can change.
#[derive(Serialize, Deserialize)]
struct SealedRecordV1 {
    v: u8,
    id_number: String,
    name: String,
    sex: String,
    birth_date: String,
    address: String,
    marital_status: String,
    life_status: String,
    /// Base64 (standard alphabet) of the JPEG or PNG bytes.
    photo: Option<String>,
}

fn serialise(record: &RegistryRecord) -> Zeroizing<Vec<u8>> {
    let plain = SealedRecordV1 {
        v: 1,
        id_number: record.id_number.as_str().to_owned(),
        name: record.name.as_str().to_owned(),
        sex: record.sex.code().to_owned(),
        birth_date: record.birth_date.to_string(),
        address: record.address.clone(),
        marital_status: record.marital_status.name().to_owned(),
        life_status: record.life_status.name().to_owned(),
        photo: record
            .photo
            .as_ref()
            .map(|p| base64::engine::general_purpose::STANDARD.encode(p)),
    };
    // Serialising plain strings cannot fail.
    Zeroizing::new(serde_json::to_vec(&plain).unwrap_or_default())
}

fn deserialise(bytes: &[u8], fictional: bool, today: CivilDate) -> Result<RegistryRecord, String> {
    let plain: SealedRecordV1 =
        serde_json::from_slice(bytes).map_err(|e| format!("record: {e}"))?;
    if plain.v != 1 {
        return Err(format!("record format version {}", plain.v));
    }
    let id_number =
        ResidentIdNumber::parse(&plain.id_number, today).map_err(|e| format!("id_number: {e}"))?;
    Ok(RegistryRecord {
        id_number,
        name: PersonName::parse(&plain.name).map_err(|e| format!("name: {e}"))?,
        sex: sex_from_code(&plain.sex).ok_or("sex")?,
        birth_date: parse_date(&plain.birth_date).ok_or("birth_date")?,
        address: plain.address,
        marital_status: MaritalStatus::from_name(&plain.marital_status).ok_or("marital_status")?,
        life_status: LifeStatus::from_name(&plain.life_status).ok_or("life_status")?,
        photo: plain
            .photo
            .map(|p| base64::engine::general_purpose::STANDARD.decode(p))
            .transpose()
            .map_err(|e| format!("photo: {e}"))?,
        fictional,
    })
}

fn sex_from_code(code: &str) -> Option<Sex> {
    match code {
        "male" => Some(Sex::Male),
        "female" => Some(Sex::Female),
        _ => None,
    }
}

fn parse_date(text: &str) -> Option<CivilDate> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).ok().map(CivilDate::new)
}

// ---------------------------------------------------------------------------
// Reading

#[derive(Debug, thiserror::Error)]
pub enum RegistryReadError {
    /// The person's data key was destroyed: the record is erased.
    #[error("the registry record was erased")]
    Erased,
    #[error(transparent)]
    Key(KeyError),
    #[error("the registry record does not open: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("the registry record is unreadable: {0}")]
    Corrupt(String),
    #[error("the access could not be logged, so the record stays closed: {0}")]
    NotLogged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DoorError> for RegistryReadError {
    fn from(e: DoorError) -> Self {
        match e {
            DoorError::Key(key) => key.into(),
            DoorError::NotLogged(e) => Self::NotLogged(e.to_string()),
        }
    }
}

impl From<KeyError> for RegistryReadError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Destroyed(_) => Self::Erased,
            other => Self::Key(other),
        }
    }
}

/// The registry's record for a number, opened with the person's data key.
pub async fn lookup(
    services: &Services,
    secrets: &PlatformSecrets,
    id_number: &ResidentIdNumber,
    query: &RegistryQuery,
) -> Result<Option<RegistryRecord>, RegistryReadError> {
    let Some(stored) = services
        .store
        .registry_record(&id_number_mac(secrets, id_number))
        .await?
    else {
        return Ok(None);
    };
    let opened = door::open(
        services,
        AccessRequest {
            subject: stored.subject,
            accessor: query.accessor.clone(),
            purpose: query.purpose,
            reference: query.reference.clone(),
            fields: RECORD_FIELDS.to_vec(),
        },
    )
    .await?;
    let sealed = Sealed::from_bytes(stored.sealed)?;
    let plain = opened.open(&sealed, RECORD_CONTEXT)?;
    let record = deserialise(&plain, stored.fictional, services.clock.today())
        .map_err(RegistryReadError::Corrupt)?;
    // A MAC collision or a row copied from another person: never answer for the wrong one.
    if record.id_number != *id_number {
        return Err(RegistryReadError::Corrupt(
            "the record holds another ID number".into(),
        ));
    }
    Ok(Some(record))
}

/// [`PopulationRegistry`] answered from the registry kept in our database.
#[derive(Clone, Debug)]
pub struct DatabaseRegistry {
    services: Services,
    secrets: Arc<PlatformSecrets>,
}

impl DatabaseRegistry {
    pub fn new(services: Services, secrets: Arc<PlatformSecrets>) -> Self {
        Self { services, secrets }
    }
}

#[async_trait::async_trait]
impl PopulationRegistry for DatabaseRegistry {
    /// The name is compared before the life status is told, so that knowing
    /// a number alone never reveals whether its holder died or emigrated. An
    /// erased record (its data key destroyed) is not in the registry.
    async fn check(
        &self,
        id_number: &ResidentIdNumber,
        name: &PersonName,
        query: &RegistryQuery,
    ) -> Result<RegistryAnswer, RegistryError> {
        let record = match lookup(&self.services, &self.secrets, id_number, query).await {
            Ok(Some(record)) => record,
            Ok(None) | Err(RegistryReadError::Erased) => return Ok(RegistryAnswer::NotFound),
            Err(e @ (RegistryReadError::Envelope(_) | RegistryReadError::Corrupt(_))) => {
                return Err(RegistryError::Malformed(e.to_string()))
            }
            Err(e) => return Err(RegistryError::Unavailable(e.to_string())),
        };
        if !record.name.matches(name) {
            return Ok(RegistryAnswer::NameMismatch);
        }
        Ok(match record.life_status {
            LifeStatus::Alive => RegistryAnswer::Match(Box::new(record)),
            LifeStatus::Deceased => RegistryAnswer::Deceased,
            LifeStatus::Emigrated => RegistryAnswer::Emigrated,
        })
    }
}

// ---------------------------------------------------------------------------
// Writing

#[derive(Debug, thiserror::Error)]
pub enum RegistryImportError {
    /// The file was refused as a whole; nothing was written. Each entry reads
    /// `line N: <rule>`.
    #[error("{}", list_errors(.0))]
    Invalid(Vec<String>),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// A photo that passed validation could not be read when it was written
    /// (changed or removed meanwhile). Earlier batches are written; importing
    /// the file again finishes the job.
    #[error("line {line}: the photo could not be read any more: {reason}; earlier batches were written, import the file again")]
    PhotoChanged { line: usize, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Door(#[from] DoorError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The records were written, but revoking a deceased person's e-ID card
    /// failed; importing the file again finishes the job.
    #[error("the records were written, but an electronic ID card could not be revoked: {0}; import the file again")]
    Eid(String),
    #[error(transparent)]
    Log(#[from] SecurityLogError),
}

fn list_errors(errors: &[String]) -> String {
    let mut text = errors
        .iter()
        .take(MAX_LISTED_ERRORS)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if errors.len() > MAX_LISTED_ERRORS {
        text.push_str(&format!(
            "; and {} more lines",
            errors.len() - MAX_LISTED_ERRORS
        ));
    }
    text.push_str(" (nothing was imported)");
    text
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub records: u64,
    /// People new to the registry (each got a data key).
    pub created: u64,
    /// People already registered, whose record was replaced.
    pub updated: u64,
}

/// Writes records in batches of [`BATCH`], one transaction each: a person
/// already registered (same ID number) keeps their subject and data key and
/// gets the new record; a new person gets a new subject and data key, in the
/// same transaction as their record. Callers validate first: duplicates
/// within `records` are refused here too.
pub async fn upsert_records(
    services: &Services,
    secrets: &PlatformSecrets,
    records: &[RegistryRecord],
) -> Result<ImportReport, RegistryImportError> {
    let mut seen = HashMap::new();
    let mut errors = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(first) = seen.insert(r.id_number, i) {
            errors.push(format!(
                "record {}: the same ID number as record {}",
                i + 1,
                first + 1
            ));
        }
    }
    if !errors.is_empty() {
        return Err(RegistryImportError::Invalid(errors));
    }
    let mut report = ImportReport::default();
    let lookups = registry_has_records(services).await?;
    for batch in records.chunks(BATCH) {
        write_batch(services, secrets, batch, lookups, &mut report).await?;
    }
    // The registry reports a death: the person's electronic ID card is
    // revoked (a running server's status list shows it within a minute). A
    // registry that was empty has no one with an account yet.
    let deceased = records
        .iter()
        .filter(|r| lookups && r.life_status == LifeStatus::Deceased);
    for record in deceased {
        crate::eid::revoke_for_death(services, None, secrets, &record.id_number)
            .await
            .map_err(|e| RegistryImportError::Eid(e.to_string()))?;
    }
    Ok(report)
}

/// Whether people may already be registered. An empty registry needs no
/// lookups: everyone is new (a concurrent import that registers someone first
/// makes the batch fail whole with a conflict, see `upsert_registry_records`).
async fn registry_has_records(services: &Services) -> Result<bool, RegistryImportError> {
    Ok(services.store.count_registry_records().await?.total > 0)
}

async fn write_batch(
    services: &Services,
    secrets: &PlatformSecrets,
    batch: &[RegistryRecord],
    lookups: bool,
    report: &mut ImportReport,
) -> Result<(), RegistryImportError> {
    let now = services.clock.now();
    let mut new_keys = Vec::new();
    let mut stored = Vec::with_capacity(batch.len());
    for record in batch {
        let mac = id_number_mac(secrets, &record.id_number);
        let existing = if lookups {
            services.store.registry_record(&mac).await?
        } else {
            None
        };
        let (id, subject, sealed) = match existing {
            // Replacing a record re-seals it with the person's key: through
            // the door, so the resident sees that the registry was rewritten.
            Some(existing) => {
                let opened = door::open(
                    services,
                    AccessRequest {
                        subject: existing.subject,
                        accessor: Accessor::Operator,
                        purpose: Purpose::RegistryMaintenance,
                        reference: None,
                        fields: RECORD_FIELDS.to_vec(),
                    },
                )
                .await?;
                let sealed = opened.seal(&serialise(record), RECORD_CONTEXT);
                (existing.id, existing.subject, sealed)
            }
            None => {
                let subject = SubjectId::new();
                let key_id = uuid::Uuid::now_v7();
                let key =
                    DataKey::generate(KeyRef(*key_id.as_bytes()), services.envelope_algorithm);
                new_keys.push(StoredDataKey {
                    subject,
                    key_id,
                    algorithm: key.algorithm().name().to_owned(),
                    kek_id: services.kek.id().to_owned(),
                    wrapped_key: Some(key.wrap(services.kek.as_ref()).await?),
                    created_at: now,
                    destroyed_at: None,
                });
                let sealed = key.seal(&serialise(record), RECORD_CONTEXT);
                (uuid::Uuid::now_v7(), subject, sealed)
            }
        };
        stored.push(StoredRegistryRecord {
            id,
            subject,
            id_number_mac: mac,
            sealed: sealed.into_bytes(),
            fictional: record.fictional,
            updated_at: now,
        });
    }
    services
        .store
        .upsert_registry_records(&new_keys, &stored)
        .await?;
    let created = new_keys.len() as u64;
    report.records += batch.len() as u64;
    report.created += created;
    report.updated += batch.len() as u64 - created;
    let events = new_keys
        .iter()
        .map(|k| SecurityEventKind::DataKeyCreated {
            subject: k.subject,
            algorithm: k.algorithm.clone(),
        })
        .collect();
    services
        .security_log
        .record_all(Actor::System, events)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// CSV import

/// A validated row whose photo is still on disk.
struct ValidRow {
    line: usize,
    record: RegistryRecord,
    photo: Option<PathBuf>,
}

/// Imports a registry CSV (docs/registry-import.md). Every row is validated
/// before anything is written: one bad row refuses the whole file with
/// `line N: <rule>` and writes nothing. Then the records are written in
/// batches (see [`upsert_records`]); people already registered are updated.
///
/// Photo paths are resolved against `photo_dir` (the CSV's directory); with
/// `None`, a row that names a photo is refused. Imported records are real
/// (`fictional` false).
pub async fn import_csv<R: std::io::Read>(
    services: &Services,
    secrets: &PlatformSecrets,
    mut reader: R,
    photo_dir: Option<&Path>,
) -> Result<ImportReport, RegistryImportError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            return Err(RegistryImportError::Invalid(vec![format!(
                "line {line}: the file is not UTF-8"
            )]));
        }
    };
    let rows = validate(text, photo_dir, services.clock.today())?;

    let mut report = ImportReport::default();
    let lookups = registry_has_records(services).await?;
    for batch in rows.chunks(BATCH) {
        let mut records = Vec::with_capacity(batch.len());
        for row in batch {
            let mut record = row.record.clone();
            if let Some(path) = &row.photo {
                record.photo =
                    Some(
                        read_photo(path).map_err(|reason| RegistryImportError::PhotoChanged {
                            line: row.line,
                            reason,
                        })?,
                    );
            }
            records.push(record);
        }
        write_batch(services, secrets, &records, lookups, &mut report).await?;
    }
    services
        .security_log
        .record(
            shengshi_domain::Actor::Operator,
            shengshi_domain::SecurityEventKind::RegistryImported {
                records: report.records,
                created: report.created,
                updated: report.updated,
            },
        )
        .await?;
    Ok(report)
}

/// Every rule, on every row; all refusals are collected.
fn validate(
    text: &str,
    photo_dir: Option<&Path>,
    today: CivilDate,
) -> Result<Vec<ValidRow>, RegistryImportError> {
    let records = parse_csv(text).map_err(|e| RegistryImportError::Invalid(vec![e]))?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(RegistryImportError::Invalid(vec![
            "line 1: the file is empty; it needs the header row".into(),
        ]));
    };
    if header.iter().map(|h| h.trim()).ne(CSV_HEADER) {
        return Err(RegistryImportError::Invalid(vec![format!(
            "line 1: the header must be exactly {}",
            CSV_HEADER.join(",")
        )]));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<ResidentIdNumber, usize> = HashMap::new();
    for (line, fields) in records {
        match validate_row(&fields, photo_dir, today) {
            Ok((record, photo)) => {
                if let Some(first) = seen.insert(record.id_number, line) {
                    errors.push(format!("line {line}: the same ID number as line {first}"));
                    continue;
                }
                rows.push(ValidRow {
                    line,
                    record,
                    photo,
                });
            }
            Err(rule) => errors.push(format!("line {line}: {rule}")),
        }
    }
    if !errors.is_empty() {
        return Err(RegistryImportError::Invalid(errors));
    }
    Ok(rows)
}

fn validate_row(
    fields: &[String],
    photo_dir: Option<&Path>,
    today: CivilDate,
) -> Result<(RegistryRecord, Option<PathBuf>), String> {
    let [id_number, name, sex, birth_date, address, marital_status, life_status, photo] = fields
    else {
        return Err(format!(
            "expected {} fields, found {}",
            CSV_HEADER.len(),
            fields.len()
        ));
    };
    // Error messages never repeat the value: it is personal data.
    let id_number =
        ResidentIdNumber::parse(id_number, today).map_err(|e| format!("id_number: {e}"))?;
    let name = PersonName::parse(name).map_err(|e| format!("name: {e}"))?;
    let sex = sex_from_code(sex.trim()).ok_or("sex must be male or female")?;
    if sex != id_number.sex() {
        return Err(format!(
            "sex is {} but the ID number's sequence number says {}",
            sex.code(),
            id_number.sex().code()
        ));
    }
    let birth_date = parse_date(birth_date.trim()).ok_or("birth_date must be a date YYYY-MM-DD")?;
    if birth_date != id_number.birth_date() {
        return Err("birth_date does not agree with the birth date in the ID number".into());
    }
    let address = address.trim();
    if address.is_empty() {
        return Err("address is empty".into());
    }
    if address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(format!(
            "address is longer than {MAX_ADDRESS_CHARS} characters"
        ));
    }
    if address.chars().any(char::is_control) {
        return Err("address contains a control character".into());
    }
    let marital_status = MaritalStatus::from_name(marital_status.trim())
        .ok_or("marital_status must be unmarried, married, divorced or widowed")?;
    let life_status = LifeStatus::from_name(life_status.trim())
        .ok_or("life_status must be alive, deceased or emigrated")?;
    let photo = match photo.trim() {
        "" => None,
        relative => {
            let path = photo_path(relative, photo_dir)?;
            read_photo(&path).map_err(|reason| format!("photo: {reason}"))?;
            Some(path)
        }
    };
    Ok((
        RegistryRecord {
            id_number,
            name,
            sex,
            birth_date,
            address: address.to_owned(),
            marital_status,
            life_status,
            photo: None,
            fictional: false,
        },
        photo,
    ))
}

/// A photo path must stay inside the CSV's directory.
fn photo_path(relative: &str, photo_dir: Option<&Path>) -> Result<PathBuf, String> {
    let Some(dir) = photo_dir else {
        return Err(
            "photo: a photo path needs the CSV file's directory; import from a file".into(),
        );
    };
    let path = Path::new(relative);
    if !path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(
            "photo must be a path relative to the CSV file, without `..` or a leading `/`".into(),
        );
    }
    Ok(dir.join(path))
}

/// Reads a portrait: a PNG or JPEG file of at most [`MAX_PHOTO_BYTES`].
fn read_photo(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file ({e})"))?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    if meta.len() > MAX_PHOTO_BYTES {
        return Err(format!("larger than {MAX_PHOTO_BYTES} bytes"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file ({e})"))?;
    if bytes.len() as u64 > MAX_PHOTO_BYTES {
        return Err(format!("larger than {MAX_PHOTO_BYTES} bytes"));
    }
    let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if !png && !jpeg {
        return Err("not a PNG or JPEG image".into());
    }
    Ok(bytes)
}

/// RFC 4180 CSV: fields separated by commas, records by LF or CRLF; a field in
/// double quotes may hold commas, line breaks and doubled quotes (`""`).
/// Returns each record with the line it starts on (from 1). Blank lines are
/// skipped; a UTF-8 byte-order mark is ignored.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted_field = false;
        loop {
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') if field.is_empty() && !quoted_field => {
                    quoted_field = true;
                    loop {
                        match chars.next() {
                            None => {
                                return Err(format!(
                                    "line {start}: a quoted field is not closed"
                                ))
                            }
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => {
                                if c == '\n' {
                                    line += 1;
                                }
                                field.push(c);
                            }
                        }
                    }
                    match chars.peek() {
                        None | Some(',') | Some('\n') | Some('\r') => {}
                        Some(_) => {
                            return Err(format!(
                                "line {line}: a quoted field must end at a comma or at the end of the line"
                            ))
                        }
                    }
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') => {
                    return Err(format!(
                        "line {line}: a double quote inside an unquoted field; quote the whole field and double the quote"
                    ))
                }
                Some(c) => {
                    if quoted_field {
                        return Err(format!(
                            "line {line}: a quoted field must end at a comma or at the end of the line"
                        ));
                    }
                    field.push(c);
                }
            }
        }
        let blank = fields.len() == 1 && fields[0].trim().is_empty();
        if !blank {
            records.push((start, fields));
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<String>)> {
        parse_csv(text).unwrap()
    }

    #[test]
    fn csv_quoted_fields_hold_commas_quotes_and_line_breaks() {
        let parsed = fields("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n\nlast,\n");
        assert_eq!(
            parsed,
            vec![
                (1, vec!["a".to_string(), "b".into()]),
                (2, vec!["x, y".into(), "say \"hi\"".into()]),
                (3, vec!["two\nlines".into(), "z".into()]),
                (6, vec!["last".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn csv_refuses_broken_quotes() {
        assert_eq!(
            parse_csv("a,\"open\nb\n").unwrap_err(),
            "line 1: a quoted field is not closed"
        );
        assert!(parse_csv("a,\"x\"y\n").unwrap_err().starts_with("line 1: "));
        assert!(parse_csv("a\nb\"c\n").unwrap_err().starts_with("line 2: "));
    }

    #[test]
    fn csv_without_final_newline_and_with_bom() {
        assert_eq!(
            fields("\u{FEFF}h1,h2\nv1,v2"),
            vec![
                (1, vec!["h1".to_string(), "h2".into()]),
                (2, vec!["v1".into(), "v2".into()])
            ]
        );
    }

    #[test]
    fn photo_paths_stay_inside_the_directory() {
        let dir = Path::new("/tmp/x");
        assert!(photo_path("photos/a.png", Some(dir)).is_ok());
        assert!(photo_path("../a.png", Some(dir)).is_err());
        assert!(photo_path("/etc/passwd", Some(dir)).is_err());
        assert!(photo_path("a.png", None).is_err());
    }

    #[test]
    fn sealed_form_round_trips() {
        let today = CivilDate::new(time::macros::date!(2026 - 01 - 01));
        let record = RegistryRecord {
            id_number: ResidentIdNumber::parse("440106199001010013", today).unwrap(),
            name: PersonName::parse("张三").unwrap(),
            sex: Sex::Male,
            birth_date: CivilDate::new(time::macros::date!(1990 - 01 - 01)),
            address: "广东省汕头市".into(),
            marital_status: MaritalStatus::Married,
            life_status: LifeStatus::Deceased,
            photo: Some(vec![1, 2, 3]),
            fictional: true,
        };
        let bytes = serialise(&record);
        assert_eq!(deserialise(&bytes, true, today).unwrap(), record);
    }
}
