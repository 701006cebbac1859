//! Backend-neutral export and import of a whole installation, as JSON Lines
//! (format documented in docs/export-format.md).
//!
//! The first line is a header, then one record per line, then a trailer with the
//! record count so that a truncated file is refused. Import writes the
//! installation record last: a database whose import was interrupted has data
//! but no installation, and start-up refuses it.
//!
//! One-time code challenges, the daily sending counters, sessions and passkey
//! ceremonies are not exported: they live minutes to a day, and an import into
//! a new database starts them afresh.

use serde::{Deserialize, Serialize};
use shengshi_domain::mandate::{Mandate, MandateAction};
use shengshi_domain::SecurityEvent;
use shengshi_store::StoredDocument;
use shengshi_store::{
    Installation, Store, StoreError, StoredAccessEntry, StoredAccount, StoredAssignment,
    StoredBreakGlass, StoredCard, StoredCheckpoint, StoredCorrection, StoredDataKey, StoredEmbargo,
    StoredIssuerKey, StoredPasskey, StoredPlatformSecret, StoredRegistryRecord, StoredStaff,
    StoredTrustList, StoredVerification, StoredVerifier, StoredVerifierApplication,
    StoredVerifierKey,
};
use std::io::{BufRead, Write};

pub const FORMAT: &str = "shengshi-export";
pub const FORMAT_VERSION: u32 = 1;
const PAGE: u32 = 500;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    /// The schema (highest migration) of the exporting database, for information.
    schema: i64,
    backend: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Installation(Installation),
    SecurityEvent(SecurityEvent),
    DataKey(StoredDataKey),
    PlatformSecret(StoredPlatformSecret),
    Account(StoredAccount),
    /// A mandate (亲友代办), revoked or not.
    Mandate(Mandate),
    /// One action taken under a mandate.
    MandateAction(MandateAction),
    /// A resident's correction request, value and explanation sealed.
    Correction(StoredCorrection),
    /// One person in the population registry (`"record":"registry_record"`).
    #[serde(rename = "registry_record")]
    Registry(StoredRegistryRecord),
    /// A staff account (`"record":"staff"`): password hash and sealed TOTP secret as stored.
    Staff(StoredStaff),
    /// A passkey of a resident or staff member, revoked or not.
    Passkey(StoredPasskey),
    /// An embargo on telling a subject about accesses, whatever its status.
    Embargo(StoredEmbargo),
    /// Who a correction request is assigned to, with the sealed decision note.
    CorrectionAssignment(StoredAssignment),
    /// A break-glass access with its justification and review.
    BreakGlass(StoredBreakGlass),
    /// An e-ID issuer key, its secret wrapped by the key-encryption key.
    EidIssuerKey(StoredIssuerKey),
    /// A trust list as the offline root signed it.
    EidTrustList(StoredTrustList),
    /// An electronic ID card, its attributes sealed with the holder's data key.
    EidCard(StoredCard),
    /// A printable identity document: its status index and field names, never its content.
    EidDocument(StoredDocument),
    /// A verifier organisation (hotel, station, bank…).
    Verifier(StoredVerifier),
    /// A verifier's API key, as a MAC only, revoked or not.
    VerifierKey(StoredVerifierKey),
    /// A code accepted online, and by which verifier (single use).
    EidVerification(StoredVerification),
    /// An organisation's application to verify codes, pending or decided.
    VerifierApplication(StoredVerifierApplication),
    /// One access-log entry, with the exact bytes its leaf hash covers.
    AccessEntry(StoredAccessEntry),
    /// One signed access-log checkpoint (with any witness cosignatures).
    AccessCheckpoint(StoredCheckpoint),
    End {
        records: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the database has no installation to export")]
    NothingToExport,
    #[error("the target database is not empty; import only into a new database")]
    TargetNotEmpty,
    #[error("line {line}: {reason}")]
    BadInput { line: u64, reason: String },
    #[error("the file ends before its trailer: it is truncated")]
    Truncated,
    #[error("the file has no installation record")]
    NoInstallation,
    #[error("cannot read or write the file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, PartialEq, Eq)]
pub struct TransferReport {
    pub records: u64,
}

/// Writes the whole installation to `out`.
pub async fn export(
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<TransferReport, TransferError> {
    let installation = store
        .installation()
        .await?
        .ok_or(TransferError::NothingToExport)?;
    let header = Header {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        schema: store.schema_status().await?.applied,
        backend: store.backend().name().into(),
    };
    write_line(out, &header)?;
    let mut records = 0u64;
    write_line(out, &Record::Installation(installation))?;
    records += 1;

    let mut after_seq = 0;
    loop {
        let page = store.security_events(after_seq, PAGE).await?;
        let Some(last) = page.last() else { break };
        after_seq = last.seq;
        for logged in page {
            write_line(out, &Record::SecurityEvent(logged.event))?;
            records += 1;
        }
    }

    let mut after = None;
    loop {
        let page = store.data_keys(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.subject);
        for key in page {
            write_line(out, &Record::DataKey(key))?;
            records += 1;
        }
    }
    // Accounts after the data keys they reference.
    let mut after = None;
    loop {
        let page = store.accounts(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for account in page {
            write_line(out, &Record::Account(account))?;
            records += 1;
        }
    }
    // Mandates after the accounts they reference, then the actions under them.
    let mut after = None;
    loop {
        let page = store.mandates(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id());
        for mandate in page {
            write_line(out, &Record::Mandate(mandate))?;
            records += 1;
        }
    }
    let mut after = None;
    loop {
        let page = store.mandate_actions(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for action in page {
            write_line(out, &Record::MandateAction(action))?;
            records += 1;
        }
    }
    // Correction requests after the accounts they reference.
    let mut after = None;
    loop {
        let page = store.corrections(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for correction in page {
            write_line(out, &Record::Correction(correction))?;
            records += 1;
        }
    }
    // Registry records after the data keys they reference.
    let mut after = None;
    loop {
        let page = store.registry_records(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for record in page {
            write_line(out, &Record::Registry(record))?;
            records += 1;
        }
    }
    // Staff accounts: their TOTP secrets are sealed with a platform secret, not a data key.
    let mut after = None;
    loop {
        let page = store.staff_page(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for staff in page {
            write_line(out, &Record::Staff(staff))?;
            records += 1;
        }
    }
    // Embargoes after the staff who requested and decided them.
    let mut after = None;
    loop {
        let page = store.embargoes(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for embargo in page {
            write_line(out, &Record::Embargo(embargo))?;
            records += 1;
        }
    }
    // Casework after the corrections, accounts and staff it references.
    let mut after = None;
    loop {
        let page = store.correction_assignments(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.correction);
        for assignment in page {
            write_line(out, &Record::CorrectionAssignment(assignment))?;
            records += 1;
        }
    }
    let mut after = None;
    loop {
        let page = store.break_glass_accesses(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for access in page {
            write_line(out, &Record::BreakGlass(access))?;
            records += 1;
        }
    }
    // e-ID: issuer keys, trust lists, and cards after the accounts they belong to.
    for key in store.issuer_keys().await? {
        write_line(out, &Record::EidIssuerKey(key))?;
        records += 1;
    }
    for list in store.trust_lists().await? {
        write_line(out, &Record::EidTrustList(list))?;
        records += 1;
    }
    let mut after = None;
    loop {
        let page = store.cards(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for card in page {
            write_line(out, &Record::EidCard(card))?;
            records += 1;
        }
    }
    // Printable documents after their cards: their indices must stay taken.
    let mut after = None;
    loop {
        let page = store.documents(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for document in page {
            write_line(out, &Record::EidDocument(document))?;
            records += 1;
        }
    }
    // Verifiers and their keys, then the verifications (after the cards and
    // verifiers they reference).
    for verifier in store.verifiers().await? {
        write_line(out, &Record::Verifier(verifier))?;
        records += 1;
    }
    for key in store.verifier_keys().await? {
        write_line(out, &Record::VerifierKey(key))?;
        records += 1;
    }
    let mut after: Option<String> = None;
    loop {
        let page = store.verifications(after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.cti.clone());
        for verification in page {
            write_line(out, &Record::EidVerification(verification))?;
            records += 1;
        }
    }
    // Applications after the verifiers an approval names.
    let mut after = None;
    loop {
        let page = store.verifier_applications(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for application in page {
            write_line(out, &Record::VerifierApplication(application))?;
            records += 1;
        }
    }
    // Passkeys after the accounts and staff they belong to.
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.passkeys(after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.credential_id.clone());
        for passkey in page {
            write_line(out, &Record::Passkey(passkey))?;
            records += 1;
        }
    }
    // The access log: entries in tree order, then the checkpoints over them.
    let mut from = 0;
    loop {
        let page = store.access_entries(from, PAGE).await?;
        let Some(last) = page.last() else { break };
        from = last.leaf_index + 1;
        for entry in page {
            write_line(out, &Record::AccessEntry(entry))?;
            records += 1;
        }
    }
    let mut after = 0;
    loop {
        let page = store.access_checkpoints(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.tree_size;
        for checkpoint in page {
            write_line(out, &Record::AccessCheckpoint(checkpoint))?;
            records += 1;
        }
    }
    // Few and small (today: the key of the one-time-code MACs).
    for secret in store.platform_secrets().await? {
        write_line(out, &Record::PlatformSecret(secret))?;
        records += 1;
    }
    write_line(out, &Record::End { records })?;
    out.flush()?;
    Ok(TransferReport { records })
}

fn write_line<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), TransferError> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Reads an export into an empty, migrated database.
pub async fn import(
    store: &dyn Store,
    input: &mut dyn BufRead,
) -> Result<TransferReport, TransferError> {
    if !store.is_empty().await? {
        return Err(TransferError::TargetNotEmpty);
    }
    let mut lines = input.lines();
    let mut line_no = 0u64;
    let mut next_line =
        |lines: &mut std::io::Lines<&mut dyn BufRead>| -> Result<Option<String>, TransferError> {
            line_no += 1;
            Ok(lines.next().transpose()?)
        };
    let bad = |line: u64, reason: String| TransferError::BadInput { line, reason };

    let header_text = next_line(&mut lines)?.ok_or(TransferError::Truncated)?;
    let header: Header =
        serde_json::from_str(&header_text).map_err(|e| bad(1, format!("not a header: {e}")))?;
    if header.format != FORMAT {
        return Err(bad(
            1,
            format!("format is {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    if header.version != FORMAT_VERSION {
        return Err(bad(
            1,
            format!(
                "format version {} is not supported (this binary reads {FORMAT_VERSION})",
                header.version
            ),
        ));
    }

    let mut installation = None;
    let mut events = Vec::new();
    let mut keys = Vec::new();
    let mut secrets = Vec::new();
    let mut accounts = Vec::new();
    let mut mandates = Vec::new();
    let mut mandate_actions = Vec::new();
    let mut corrections = Vec::new();
    let mut registry = Vec::new();
    let mut staff = Vec::new();
    let mut passkeys = Vec::new();
    let mut embargoes = Vec::new();
    let mut assignments = Vec::new();
    let mut break_glass = Vec::new();
    let mut issuer_keys = Vec::new();
    let mut trust_lists = Vec::new();
    let mut cards = Vec::new();
    let mut documents = Vec::new();
    let mut verifiers = Vec::new();
    let mut verifier_keys = Vec::new();
    let mut verifications = Vec::new();
    // Few (three a day per address): written at the end, after the verifiers.
    let mut verifier_applications = Vec::new();
    let mut access_entries = Vec::new();
    let mut checkpoints = Vec::new();
    let mut records = 0u64;
    let mut line = 1u64;
    loop {
        let Some(text) = next_line(&mut lines)? else {
            return Err(TransferError::Truncated);
        };
        line += 1;
        let record: Record = serde_json::from_str(&text).map_err(|e| bad(line, e.to_string()))?;
        match record {
            Record::Installation(i) => {
                if installation.replace(i).is_some() {
                    return Err(bad(line, "a second installation record".into()));
                }
            }
            Record::SecurityEvent(e) => events.push(e),
            Record::DataKey(k) => keys.push(k),
            Record::PlatformSecret(secret) => secrets.push(secret),
            Record::Account(account) => accounts.push(account),
            Record::Mandate(m) => mandates.push(m),
            Record::MandateAction(a) => mandate_actions.push(a),
            Record::Correction(c) => corrections.push(c),
            Record::Registry(r) => registry.push(r),
            Record::Staff(member) => staff.push(member),
            Record::Passkey(passkey) => passkeys.push(passkey),
            Record::Embargo(embargo) => embargoes.push(embargo),
            Record::CorrectionAssignment(a) => assignments.push(a),
            Record::BreakGlass(access) => break_glass.push(access),
            Record::EidIssuerKey(key) => issuer_keys.push(key),
            Record::EidTrustList(list) => trust_lists.push(list),
            Record::EidCard(card) => cards.push(card),
            Record::EidDocument(document) => documents.push(document),
            Record::Verifier(v) => verifiers.push(v),
            Record::VerifierKey(k) => verifier_keys.push(k),
            Record::EidVerification(v) => verifications.push(v),
            Record::VerifierApplication(a) => verifier_applications.push(a),
            Record::AccessEntry(entry) => access_entries.push(entry),
            Record::AccessCheckpoint(checkpoint) => checkpoints.push(checkpoint),
            Record::End { records: expected } => {
                if expected != records {
                    return Err(bad(
                        line,
                        format!("trailer says {expected} records, the file has {records}"),
                    ));
                }
                break;
            }
        }
        records += 1;
        if events.len() >= PAGE as usize {
            store.append_security_events(&events).await?;
            events.clear();
        }
        if keys.len() >= PAGE as usize {
            store.insert_data_keys(&keys).await?;
            keys.clear();
        }
        if accounts.len() >= PAGE as usize {
            // An account references its data key: write pending keys first.
            store.insert_data_keys(&keys).await?;
            keys.clear();
            store.insert_accounts(&accounts).await?;
            accounts.clear();
        }
        if mandates.len() >= PAGE as usize || mandate_actions.len() >= PAGE as usize {
            // A mandate references accounts, an action its mandate: write
            // whatever they may reference first.
            store.insert_data_keys(&keys).await?;
            keys.clear();
            store.insert_accounts(&accounts).await?;
            accounts.clear();
            store.insert_mandates(&mandates).await?;
            mandates.clear();
            store.insert_mandate_actions(&mandate_actions).await?;
            mandate_actions.clear();
        }
        if corrections.len() >= PAGE as usize {
            // A correction request references its account.
            store.insert_data_keys(&keys).await?;
            keys.clear();
            store.insert_accounts(&accounts).await?;
            accounts.clear();
            store.insert_corrections(&corrections).await?;
            corrections.clear();
        }
        if staff.len() >= PAGE as usize {
            store.insert_staff_many(&staff).await?;
            staff.clear();
        }
        if passkeys.len() >= PAGE as usize {
            store.insert_passkeys(&passkeys).await?;
            passkeys.clear();
        }
        if embargoes.len() >= PAGE as usize {
            // An embargo references staff: write pending staff first.
            store.insert_staff_many(&staff).await?;
            staff.clear();
            store.insert_embargoes(&embargoes).await?;
            embargoes.clear();
        }
        if assignments.len() >= PAGE as usize || break_glass.len() >= PAGE as usize {
            // Casework references accounts, correction requests and staff.
            store.insert_data_keys(&keys).await?;
            keys.clear();
            store.insert_accounts(&accounts).await?;
            accounts.clear();
            store.insert_corrections(&corrections).await?;
            corrections.clear();
            store.insert_staff_many(&staff).await?;
            staff.clear();
            store.insert_correction_assignments(&assignments).await?;
            assignments.clear();
            store.insert_break_glass_accesses(&break_glass).await?;
            break_glass.clear();
        }
        if cards.len() >= PAGE as usize {
            // A card references its account.
            store.insert_data_keys(&keys).await?;
            keys.clear();
            store.insert_accounts(&accounts).await?;
            accounts.clear();
            store.import_eid(&[], &[], &cards).await?;
            cards.clear();
        }
        if verifications.len() >= PAGE as usize {
            // A verification references its card and its verifier.
            store.insert_data_keys(&keys).await?;
            keys.clear();
            store.insert_accounts(&accounts).await?;
            accounts.clear();
            store.import_eid(&[], &[], &cards).await?;
            cards.clear();
            store
                .import_verifiers(&verifiers, &verifier_keys, &verifications)
                .await?;
            verifiers.clear();
            verifier_keys.clear();
            verifications.clear();
        }
        if access_entries.len() + checkpoints.len() >= PAGE as usize {
            store
                .insert_access_log(&access_entries, &checkpoints)
                .await?;
            access_entries.clear();
            checkpoints.clear();
        }
        if registry.len() >= PAGE as usize {
            // A registry record references its data key: write pending keys first.
            store.insert_data_keys(&keys).await?;
            keys.clear();
            store.upsert_registry_records(&[], &registry).await?;
            registry.clear();
        }
    }
    while let Some(extra) = next_line(&mut lines)? {
        line += 1;
        if !extra.trim().is_empty() {
            return Err(bad(line, "data after the trailer".into()));
        }
    }
    let installation = installation.ok_or(TransferError::NoInstallation)?;
    store.append_security_events(&events).await?;
    store.insert_data_keys(&keys).await?;
    store.insert_accounts(&accounts).await?;
    store.insert_mandates(&mandates).await?;
    store.insert_mandate_actions(&mandate_actions).await?;
    store.insert_corrections(&corrections).await?;
    store.upsert_registry_records(&[], &registry).await?;
    store.insert_staff_many(&staff).await?;
    store.insert_passkeys(&passkeys).await?;
    store.insert_embargoes(&embargoes).await?;
    store.insert_correction_assignments(&assignments).await?;
    store.insert_break_glass_accesses(&break_glass).await?;
    store.import_eid(&issuer_keys, &trust_lists, &cards).await?;
    store.import_documents(&documents).await?;
    store
        .import_verifiers(&verifiers, &verifier_keys, &verifications)
        .await?;
    store
        .insert_verifier_applications(&verifier_applications)
        .await?;
    store
        .insert_access_log(&access_entries, &checkpoints)
        .await?;
    for secret in &secrets {
        store.insert_platform_secret(secret).await?;
    }
    // Last, so that an interrupted import is recognisable (see the module comment).
    store.create_installation(&installation).await?;
    Ok(TransferReport { records })
}
