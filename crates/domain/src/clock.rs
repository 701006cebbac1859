//! Time: instants are UTC; civil dates are dates in Asia/Shanghai.
//!
//! China has kept UTC+8 without daylight saving since 1991, so the civil date of
//! an instant is its date at a fixed +08:00 offset. Civil dates that are facts in
//! their own right (a birth date, a statutory deadline, an appointment day) are
//! stored as dates, never as instants.

use std::sync::Arc;
use std::sync::Mutex;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// Asia/Shanghai's offset from UTC (no DST since 1991).
pub const SHANGHAI_OFFSET: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("+08:00 is a valid offset"),
};

/// An instant, always held in UTC at millisecond precision (what both databases
/// store), so that an instant survives a round trip through storage unchanged.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        let millis = t.nanosecond() / 1_000_000 * 1_000_000;
        Self(t.replace_nanosecond(millis).unwrap_or(t))
    }

    /// From milliseconds since the Unix epoch; `None` when out of range.
    pub fn from_unix_millis(ms: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .ok()
            .map(Self)
    }

    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// The date on a wall calendar in Asia/Shanghai at this instant.
    pub fn civil_date(&self) -> CivilDate {
        CivilDate(self.0.to_offset(SHANGHAI_OFFSET).date())
    }

    pub fn plus(&self, d: Duration) -> Self {
        Self::from_offset_date_time(self.0 + d)
    }

    /// RFC 3339 text in UTC, with millisecond precision.
    pub fn to_rfc3339(&self) -> String {
        let t = self
            .0
            .replace_nanosecond(self.0.millisecond() as u32 * 1_000_000)
            .unwrap_or(self.0);
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.unix_timestamp().to_string())
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A date on the calendar in Asia/Shanghai (birth dates, deadlines, appointment days).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct CivilDate(Date);

impl CivilDate {
    pub fn new(date: Date) -> Self {
        Self(date)
    }

    pub fn date(&self) -> Date {
        self.0
    }
}

impl std::fmt::Display for CivilDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

/// The one source of "now". Production uses [`SystemClock`]; tests use [`FixedClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;

    fn today(&self) -> CivilDate {
        self.now().civil_date()
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_offset_date_time(OffsetDateTime::now_utc())
    }
}

/// A clock that stands still until a test moves it. Clones share the same time.
#[derive(Clone, Debug)]
pub struct FixedClock(Arc<Mutex<OffsetDateTime>>);

impl FixedClock {
    pub fn at(t: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(t.0)))
    }

    pub fn set(&self, t: Timestamp) {
        // `t` is already at millisecond precision.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t.0;
    }

    pub fn advance(&self, d: Duration) {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *guard = Timestamp(*guard).plus(d).0;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(*self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn civil_date_is_the_shanghai_calendar_day() {
        // 16:30 UTC on 31 Dec is already 1 Jan in Shanghai.
        let t = Timestamp::from_offset_date_time(datetime!(2025-12-31 16:30 UTC));
        assert_eq!(t.civil_date().to_string(), "2026-01-01");
        let t = Timestamp::from_offset_date_time(datetime!(2025-12-31 15:59 UTC));
        assert_eq!(t.civil_date().to_string(), "2025-12-31");
    }

    #[test]
    fn instants_are_normalised_to_utc() {
        let t = Timestamp::from_offset_date_time(datetime!(2026-01-01 08:00 +8));
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(Timestamp::from_offset_date_time(
            datetime!(2026-05-20 00:00 UTC),
        ));
        let shared = clock.clone();
        clock.advance(Duration::minutes(5));
        assert_eq!(shared.now().to_rfc3339(), "2026-05-20T00:05:00Z");
    }

    #[test]
    fn instants_keep_millisecond_precision_only() {
        let t = Timestamp::from_offset_date_time(datetime!(2026-01-01 00:00:00.123456789 UTC));
        assert_eq!(t, Timestamp::from_unix_millis(t.unix_millis()).unwrap());
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:00:00.123Z");
    }

    #[test]
    fn millis_round_trip() {
        let t = Timestamp::from_unix_millis(1_764_000_000_123).unwrap();
        assert_eq!(t.unix_millis(), 1_764_000_000_123);
    }
}
