//! "Who accessed my data": a resident reads the access log entries about
//! themselves, and fetches an inclusion proof for any one of them.
//!
//! Reading your own log opens no personal data: entries name the fields that
//! were opened, never their values, so nothing here goes through the door.
//! What a resident sees of a staff member is their department and role; the
//! staff id stays in the entry bytes (handed out only inside a proof, which
//! must carry the exact bytes to verify) for an auditor to follow up.

use shengshi_domain::access::{AccessEntry, Accessor, Purpose};
use shengshi_domain::{Department, Role, SubjectId, Timestamp};
use shengshi_store::{StoreError, StoredAccessEntry};
use shengshi_tlog::Hash;

use crate::Services;

/// The most rows one page may ask for.
pub const MAX_PAGE: u32 = 100;
/// How many store pages one filtered request reads at most before handing
/// back a cursor, so a rare purpose cannot make one request scan the whole log.
const MAX_SCANS: usize = 10;
/// Entries read per store call when exporting or building a proof.
const BATCH: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum AccessViewError {
    /// No entry at this index, or not the caller's: the two look the same.
    #[error("no access entry of yours has this index")]
    NotFound,
    #[error("the access log could not be read: {0}")]
    Store(#[from] StoreError),
    #[error("the access log's stored state is unreadable: {0}")]
    Corrupt(String),
}

fn corrupt(why: impl std::fmt::Display) -> AccessViewError {
    AccessViewError::Corrupt(why.to_string())
}

/// Who opened the data, as the resident is told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessorKind {
    Subject,
    Platform,
    Staff,
    Operator,
    Delegate,
    /// A verifier organisation checking an e-ID code online.
    Verifier,
}

impl AccessorKind {
    /// The stable snake_case name (as in the entry bytes' `type`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Platform => "platform",
            Self::Staff => "staff",
            Self::Operator => "operator",
            Self::Delegate => "delegate",
            Self::Verifier => "verifier",
        }
    }
}

/// One access as the resident sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRow {
    /// The entry's position in the log (the `before` cursor and the proof's index).
    pub leaf_index: u64,
    pub at: Timestamp,
    pub accessor: AccessorKind,
    /// For staff only: their department and role, never who they are.
    pub department: Option<Department>,
    pub role: Option<Role>,
    /// For a verifier organisation: its name as registered when it verified.
    pub organisation: Option<String>,
    pub purpose: Purpose,
    pub reference: Option<String>,
    pub fields: Vec<String>,
    /// The cited legal basis when the access was withheld from the resident
    /// until an embargo ended (shown as "disclosed after an embargo").
    pub disclosed_after_embargo: Option<String>,
}

impl AccessRow {
    /// A staff member opened the record without assigned work: the
    /// resident's view flags it.
    pub fn is_break_glass(&self) -> bool {
        self.purpose == Purpose::BreakGlass
    }
}

/// A page of rows, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPage {
    pub rows: Vec<AccessRow>,
    /// Pass as `before` for the next (older) page; `None` when nothing is older.
    pub next_before: Option<u64>,
}

/// What to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessQuery {
    /// Only entries below this leaf index (the previous page's `next_before`).
    pub before: Option<u64>,
    pub purpose: Option<Purpose>,
    /// Rows wanted, 1 to [`MAX_PAGE`] (clamped).
    pub limit: u32,
}

fn entry_of(stored: &StoredAccessEntry) -> Result<AccessEntry, AccessViewError> {
    AccessEntry::from_bytes(&stored.entry)
        .map_err(|e| corrupt(format!("entry {}: {e}", stored.leaf_index)))
}

/// The row the resident is shown; `None` while an embargo still withholds it.
fn row_of(
    stored: &StoredAccessEntry,
    subject: SubjectId,
    now: Timestamp,
) -> Result<Option<AccessRow>, AccessViewError> {
    let entry = entry_of(stored)?;
    // The row is indexed by subject; the signed bytes must agree.
    if entry.subject != subject {
        return Err(corrupt(format!(
            "entry {} is filed under another subject",
            stored.leaf_index
        )));
    }
    if entry.is_embargoed_at(now) {
        return Ok(None);
    }
    let mut organisation = None;
    let (accessor, department, role) = match entry.accessor {
        Accessor::Subject => (AccessorKind::Subject, None, None),
        Accessor::Platform => (AccessorKind::Platform, None, None),
        Accessor::Staff {
            department, role, ..
        } => (AccessorKind::Staff, Some(department), Some(role)),
        Accessor::Operator => (AccessorKind::Operator, None, None),
        Accessor::Delegate { .. } => (AccessorKind::Delegate, None, None),
        Accessor::Verifier { name, .. } => {
            organisation = Some(name);
            (AccessorKind::Verifier, None, None)
        }
    };
    Ok(Some(AccessRow {
        leaf_index: stored.leaf_index,
        at: entry.at,
        accessor,
        department,
        role,
        organisation,
        purpose: entry.purpose,
        reference: entry.reference,
        fields: entry.fields,
        disclosed_after_embargo: entry.embargo.map(|e| e.basis),
    }))
}

/// One page of the subject's entries, newest first. Entries still under an
/// embargo are left out, as if they were not there (like a purpose filter).
///
/// The purpose filter is applied while paging: entries of other purposes are
/// skipped, reading at most a few store pages per call. So a filtered page
/// may hold fewer than `limit` rows (even none) and still have a
/// `next_before`: keep following it until it is `None`.
pub async fn list(
    services: &Services,
    subject: SubjectId,
    query: AccessQuery,
) -> Result<AccessPage, AccessViewError> {
    let limit = query.limit.clamp(1, MAX_PAGE);
    let wanted = limit as usize;
    // One more than a page, so a full page knows whether anything is older.
    let fetch = limit + 1;
    let now = services.clock.now();
    let mut rows = Vec::new();
    let mut cursor = query.before;
    for _ in 0..MAX_SCANS {
        let batch = services
            .store
            .subject_access_entries(subject, cursor, fetch)
            .await?;
        let exhausted = batch.len() < fetch as usize;
        let last = batch.len().saturating_sub(1);
        for (i, stored) in batch.iter().enumerate() {
            cursor = Some(stored.leaf_index);
            let row = row_of(stored, subject, now)?;
            if let Some(row) = row.filter(|r| query.purpose.is_none_or(|p| p == r.purpose)) {
                rows.push(row);
            }
            if rows.len() == wanted {
                let more = !(exhausted && i == last);
                return Ok(AccessPage {
                    rows,
                    next_before: cursor.filter(|_| more),
                });
            }
        }
        if exhausted {
            return Ok(AccessPage {
                rows,
                next_before: None,
            });
        }
    }
    Ok(AccessPage {
        rows,
        next_before: cursor,
    })
}

/// Every entry of the subject the resident may see, newest first (for the
/// export).
pub async fn all(
    services: &Services,
    subject: SubjectId,
) -> Result<Vec<AccessRow>, AccessViewError> {
    let now = services.clock.now();
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let batch = services
            .store
            .subject_access_entries(subject, cursor, BATCH)
            .await?;
        for stored in &batch {
            rows.extend(row_of(stored, subject, now)?);
        }
        match batch.last() {
            Some(last) if batch.len() == BATCH as usize => cursor = Some(last.leaf_index),
            _ => return Ok(rows),
        }
    }
}

/// Everything needed to check, without trusting the platform, that an entry
/// is in the log the platform signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry bytes exactly as hashed into the tree.
    pub entry: Vec<u8>,
    pub leaf_index: u64,
    /// The size of the tree the checkpoint commits to.
    pub tree_size: u64,
    /// The latest checkpoint, a signed note (body, blank line, signatures).
    pub checkpoint: String,
    /// The audit path from the entry's leaf to the checkpoint's root (RFC 9162).
    pub proof: Vec<Hash>,
    /// The platform's checkpoint key, as a vkey.
    pub log_key: String,
}

/// An inclusion proof of the subject's own entry at `leaf_index` in the tree
/// of the latest checkpoint. Someone else's entry is [`AccessViewError::NotFound`],
/// exactly like a missing one.
pub async fn inclusion(
    services: &Services,
    subject: SubjectId,
    leaf_index: u64,
) -> Result<InclusionProof, AccessViewError> {
    let store = &services.store;
    let stored = store
        .access_entries(leaf_index, 1)
        .await?
        .into_iter()
        .next()
        .filter(|e| e.leaf_index == leaf_index && e.subject == subject)
        .ok_or(AccessViewError::NotFound)?;
    // An entry still under embargo does not exist for the resident: its
    // proof would reveal it (and its bytes name the embargo).
    if entry_of(&stored)?.is_embargoed_at(services.clock.now()) {
        return Err(AccessViewError::NotFound);
    }
    // Entries and their checkpoint commit in one transaction, so the latest
    // checkpoint always covers an entry that can be read.
    let checkpoint = store
        .latest_access_checkpoint()
        .await?
        .filter(|c| c.tree_size > leaf_index)
        .ok_or_else(|| corrupt(format!("no checkpoint covers entry {leaf_index}")))?;
    let tree_size = checkpoint.tree_size;

    // O(n): every leaf hash up to the checkpoint is read to build the path.
    // Fine at today's sizes; the tree's stored right edges (or stored interior
    // nodes) would make it O(log n) when the log grows large.
    let capacity = usize::try_from(tree_size).map_err(corrupt)?;
    let mut leaves: Vec<Hash> = Vec::with_capacity(capacity);
    while (leaves.len() as u64) < tree_size {
        let from = leaves.len() as u64;
        let batch = store.access_entries(from, BATCH).await?;
        if batch.is_empty() {
            return Err(corrupt(format!(
                "the checkpoint has {tree_size} leaves but only {from} are stored"
            )));
        }
        for e in batch.into_iter().take(capacity - leaves.len()) {
            if e.leaf_index != leaves.len() as u64 {
                return Err(corrupt(format!("leaf {} is out of order", e.leaf_index)));
            }
            let hash = Hash::try_from(e.leaf_hash.as_slice())
                .map_err(|_| corrupt(format!("leaf {} hash is not 32 bytes", e.leaf_index)))?;
            leaves.push(hash);
        }
    }
    let leaf = shengshi_tlog::leaf_hash(&stored.entry);
    let proof = shengshi_tlog::inclusion_proof(&leaves, leaf_index, tree_size).map_err(corrupt)?;
    // Never hand out a proof that does not check: that would be our bug, and
    // the resident would rightly read it as tampering.
    let root =
        Hash::try_from(checkpoint.root_hash.as_slice()).map_err(|_| corrupt("root hash size"))?;
    shengshi_tlog::verify_inclusion(&leaf, leaf_index, tree_size, &proof, &root)
        .map_err(|e| corrupt(format!("entry {leaf_index} does not prove: {e}")))?;
    Ok(InclusionProof {
        entry: stored.entry,
        leaf_index,
        tree_size,
        checkpoint: checkpoint.note,
        proof,
        log_key: services.access_log.verifier().to_vkey(),
    })
}

/// Published numbers about accesses in a period: no subject, no staff member,
/// no reference, only counts. Entries under an embargo are counted like any
/// other, so the published totals never lag behind the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessStatistics {
    /// Start of the period (inclusive).
    pub from: Timestamp,
    /// End of the period (exclusive).
    pub to: Timestamp,
    pub total: u64,
    /// Of `total`, accesses made under an embargo (ended or not).
    pub embargoed: u64,
    /// Every purpose, in [`Purpose::ALL`] order, with its count (zeros included).
    pub by_purpose: Vec<(Purpose, u64)>,
    /// Staff accesses per department, in [`Department::ALL`] order.
    pub by_department: Vec<(Department, u64)>,
    /// Every kind of accessor with its count.
    pub by_accessor: Vec<(AccessorKind, u64)>,
}

/// Counts the accesses logged in `[from, to)`.
///
/// O(n) in the log's size: every entry is read. Fine at today's sizes; a
/// per-day counter table would make it cheap when the log grows large.
pub async fn statistics(
    services: &Services,
    from: Timestamp,
    to: Timestamp,
) -> Result<AccessStatistics, AccessViewError> {
    const ACCESSORS: [AccessorKind; 6] = [
        AccessorKind::Subject,
        AccessorKind::Platform,
        AccessorKind::Staff,
        AccessorKind::Operator,
        AccessorKind::Delegate,
        AccessorKind::Verifier,
    ];
    let mut stats = AccessStatistics {
        from,
        to,
        total: 0,
        embargoed: 0,
        by_purpose: Purpose::ALL.iter().map(|p| (*p, 0)).collect(),
        by_department: Department::ALL.iter().map(|d| (*d, 0)).collect(),
        by_accessor: ACCESSORS.iter().map(|a| (*a, 0)).collect(),
    };
    fn bump<K: PartialEq>(counts: &mut [(K, u64)], key: K) {
        if let Some((_, n)) = counts.iter_mut().find(|(k, _)| *k == key) {
            *n += 1;
        }
    }
    let mut next = 0;
    loop {
        let batch = services.store.access_entries(next, BATCH).await?;
        for stored in &batch {
            next = stored.leaf_index + 1;
            if stored.at < from || stored.at >= to {
                continue;
            }
            let entry = entry_of(stored)?;
            stats.total += 1;
            if entry.embargo.is_some() {
                stats.embargoed += 1;
            }
            bump(&mut stats.by_purpose, entry.purpose);
            let kind = match entry.accessor {
                Accessor::Subject => AccessorKind::Subject,
                Accessor::Platform => AccessorKind::Platform,
                Accessor::Staff { department, .. } => {
                    bump(&mut stats.by_department, department);
                    AccessorKind::Staff
                }
                Accessor::Operator => AccessorKind::Operator,
                Accessor::Delegate { .. } => AccessorKind::Delegate,
                Accessor::Verifier { .. } => AccessorKind::Verifier,
            };
            bump(&mut stats.by_accessor, kind);
        }
        if batch.len() < BATCH as usize {
            return Ok(stats);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shengshi_domain::{EventId, StaffId};

    fn stored(subject: SubjectId, accessor: Accessor) -> StoredAccessEntry {
        let entry = AccessEntry {
            id: EventId::new(),
            at: Timestamp::from_unix_millis(1_700_000_000_000).unwrap(),
            subject,
            accessor,
            purpose: Purpose::CounterCheck,
            reference: Some("visit-1".into()),
            fields: vec!["name".into()],
            embargo: None,
        };
        let bytes = entry.to_bytes();
        StoredAccessEntry {
            leaf_index: 4,
            subject,
            at: entry.at,
            leaf_hash: shengshi_tlog::leaf_hash(&bytes).to_vec(),
            entry: bytes,
        }
    }

    #[test]
    fn staff_are_shown_by_department_and_role_only() {
        let subject = SubjectId::new();
        let staff = Accessor::Staff {
            staff: StaffId::new(),
            department: Department::PublicSecurity,
            role: Role::Clerk,
        };
        let row = row_of(
            &stored(subject, staff),
            subject,
            Timestamp::from_unix_millis(1_800_000_000_000).unwrap(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(row.accessor, AccessorKind::Staff);
        assert_eq!(row.department, Some(Department::PublicSecurity));
        assert_eq!(row.role, Some(Role::Clerk));
        assert_eq!(row.leaf_index, 4);
        assert_eq!(row.reference.as_deref(), Some("visit-1"));
    }

    #[test]
    fn a_verifier_is_shown_by_its_name() {
        let subject = SubjectId::new();
        let verifier = Accessor::Verifier {
            organisation: uuid::Uuid::now_v7(),
            name: "西湖大酒店".into(),
        };
        let row = row_of(
            &stored(subject, verifier),
            subject,
            Timestamp::from_unix_millis(1_800_000_000_000).unwrap(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(row.accessor, AccessorKind::Verifier);
        assert_eq!(row.organisation.as_deref(), Some("西湖大酒店"));
        assert_eq!((row.department, row.role), (None, None));
    }

    #[test]
    fn an_entry_about_someone_else_is_refused() {
        let entry = stored(SubjectId::new(), Accessor::Platform);
        assert!(matches!(
            row_of(
                &entry,
                SubjectId::new(),
                Timestamp::from_unix_millis(1_800_000_000_000).unwrap()
            ),
            Err(AccessViewError::Corrupt(_))
        ));
    }
}
