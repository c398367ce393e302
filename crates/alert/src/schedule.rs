//! Recurring maintenance windows: a cron expression for when a window starts,
//! how long it lasts, and the fixed UTC offset its times are written in.
//!
//! While a window is active the server mutes the alerts it covers (which
//! alerts is decided elsewhere, with matchers). Cron follows the standard five
//! fields `minute hour day-of-month month day-of-week` with Vixie cron's
//! reading of them, including its day rule: when both day fields are
//! restricted a day matching either is enough; when either begins with `*`
//! both must match.
//!
//! Time is always passed in as unix milliseconds. Civil dates are computed
//! here (Howard Hinnant's days-from-civil algorithm) because a fixed offset
//! is all a window needs: no time-zone database, no daylight-saving gaps.
//! Searches skip whole months, days and hours that cannot match, so
//! [`MaintenanceWindow::active_at`] looks at a handful of candidates even for
//! a week-long window.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest window accepted: one week.
pub const MAX_DURATION_MINUTES: u32 = 7 * 24 * 60;
/// Largest offset accepted either way: 14 hours (UTC+14 and UTC−12 are the
/// extremes in use).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;
/// Longest cron expression accepted, in bytes.
pub const MAX_CRON_LEN: usize = 256;
/// How far [`MaintenanceWindow::next_start_after`] looks ahead. The rarest
/// valid schedules (29 February) recur within 8 years.
const SEARCH_HORIZON_DAYS: i64 = 30 * 366;

const MINUTES_PER_DAY: i64 = 24 * 60;
const MS_PER_MINUTE: i64 = 60_000;

/// Why a schedule was rejected: the field (`cron.minute`, `duration_minutes`,
/// ...) and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> ScheduleError {
    ScheduleError {
        field,
        message: message.into(),
    }
}

/// A parsed five-field cron expression; serializes as its source string.
#[derive(Clone)]
pub struct CronExpr {
    source: String,
    /// Bit n set: value n matches.
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    /// Bit 0 is Sunday.
    days_of_week: u64,
    /// The day fields began with `*` (Vixie's DOM_STAR / DOW_STAR).
    dom_star: bool,
    dow_star: bool,
}

struct FieldSpec {
    field: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ...
    names: &'static [&'static str],
}

const MINUTE: FieldSpec = FieldSpec {
    field: "cron.minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    field: "cron.hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    field: "cron.day_of_month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    field: "cron.month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
/// 0 to 7: both 0 and 7 are Sunday.
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    field: "cron.day_of_week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl CronExpr {
    /// Parses five fields or one of `@hourly`, `@daily` (`@midnight`),
    /// `@weekly`, `@monthly`, `@yearly` (`@annually`).
    pub fn parse(source: &str) -> Result<CronExpr, ScheduleError> {
        let text = source.trim();
        if text.len() > MAX_CRON_LEN {
            return Err(err(
                "cron",
                format!(
                    "is {} bytes long, at most {MAX_CRON_LEN} are allowed",
                    text.len()
                ),
            ));
        }
        let expanded = if let Some(name) = text.strip_prefix('@') {
            match name.to_ascii_lowercase().as_str() {
                "hourly" => "0 * * * *",
                "daily" | "midnight" => "0 0 * * *",
                "weekly" => "0 0 * * 0",
                "monthly" => "0 0 1 * *",
                "yearly" | "annually" => "0 0 1 1 *",
                _ => {
                    return Err(err(
                        "cron",
                        format!(
                            "unknown macro `{text}`; use @hourly, @daily, @weekly, @monthly or @yearly"
                        ),
                    ));
                }
            }
        } else {
            text
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(
                "cron",
                format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                    fields.len()
                ),
            ));
        }
        let minutes = parse_field(fields[0], &MINUTE)?;
        let hours = parse_field(fields[1], &HOUR)?;
        let days_of_month = parse_field(fields[2], &DAY_OF_MONTH)?;
        let months = parse_field(fields[3], &MONTH)?;
        let mut days_of_week = parse_field(fields[4], &DAY_OF_WEEK)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let expr = CronExpr {
            source: text.to_owned(),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_star: fields[2].starts_with('*'),
            dow_star: fields[4].starts_with('*'),
        };
        if !expr.can_match_a_day() {
            return Err(err(
                "cron.day_of_month",
                "never matches in the selected months (like 30 February)",
            ));
        }
        Ok(expr)
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the expression matches a civil date and time.
    pub fn matches(&self, year: i64, month: u32, day: u32, hour: u32, minute: u32) -> bool {
        (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && has(self.months, month)
            && has(self.hours, hour)
            && has(self.minutes, minute)
            && self.day_matches(day, weekday(days_from_civil(year, month, day)))
    }

    /// Vixie cron: OR when both day fields are restricted, AND otherwise.
    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = has(self.days_of_month, day);
        let dow = has(self.days_of_week, weekday);
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// False for a day-of-month that no selected month has (`0 0 30 2 *`).
    /// Only the AND case with an unrestricted weekday can be empty: every
    /// weekday occurs in every month, and `*/n` always includes the 1st.
    fn can_match_a_day(&self) -> bool {
        if self.dom_star || !self.dow_star {
            return true;
        }
        (1..=12u32)
            .filter(|&m| has(self.months, m))
            .any(|m| lowest_at_or_above(self.days_of_month, 1).is_some_and(|d| d <= max_days(m)))
    }

    /// The latest matching local minute (minutes since the epoch, local time)
    /// in `lower..=at`, and how many candidates were looked at.
    fn latest_match(&self, at: i64, lower: i64) -> (Option<i64>, u32) {
        let mut steps = 0;
        let mut day = at.div_euclid(MINUTES_PER_DAY);
        let of_day = at.rem_euclid(MINUTES_PER_DAY) as u32;
        let (mut hour, mut minute) = (of_day / 60, of_day % 60);
        let lower_day = lower.div_euclid(MINUTES_PER_DAY);
        while day >= lower_day {
            steps += 1;
            let (year, month, dom) = civil_from_days(day);
            if !has(self.months, month) {
                // To the last day of the previous month.
                day = days_from_civil(year, month, 1) - 1;
                (hour, minute) = (23, 59);
                continue;
            }
            if !self.day_matches(dom, weekday(day)) {
                day -= 1;
                (hour, minute) = (23, 59);
                continue;
            }
            let Some(h) = highest_at_or_below(self.hours, hour) else {
                day -= 1;
                (hour, minute) = (23, 59);
                continue;
            };
            let top = if h == hour { minute } else { 59 };
            match highest_at_or_below(self.minutes, top) {
                Some(m) => {
                    let t = day * MINUTES_PER_DAY + i64::from(h * 60 + m);
                    return ((t >= lower).then_some(t), steps);
                }
                None if h == 0 => {
                    day -= 1;
                    (hour, minute) = (23, 59);
                }
                None => (hour, minute) = (h - 1, 59),
            }
        }
        (None, steps)
    }

    /// The earliest matching local minute in `from..=upper`, and how many
    /// candidates were looked at.
    fn earliest_match(&self, from: i64, upper: i64) -> (Option<i64>, u32) {
        let mut steps = 0;
        let mut day = from.div_euclid(MINUTES_PER_DAY);
        let of_day = from.rem_euclid(MINUTES_PER_DAY) as u32;
        let (mut hour, mut minute) = (of_day / 60, of_day % 60);
        let upper_day = upper.div_euclid(MINUTES_PER_DAY);
        while day <= upper_day {
            steps += 1;
            let (year, month, dom) = civil_from_days(day);
            if !has(self.months, month) {
                // To the first day of the next month.
                day = days_from_civil(year, month, 1) + i64::from(days_in_month(year, month));
                (hour, minute) = (0, 0);
                continue;
            }
            if !self.day_matches(dom, weekday(day)) {
                day += 1;
                (hour, minute) = (0, 0);
                continue;
            }
            let Some(h) = lowest_at_or_above(self.hours, hour) else {
                day += 1;
                (hour, minute) = (0, 0);
                continue;
            };
            let bottom = if h == hour { minute } else { 0 };
            match lowest_at_or_above(self.minutes, bottom) {
                Some(m) => {
                    let t = day * MINUTES_PER_DAY + i64::from(h * 60 + m);
                    return ((t <= upper).then_some(t), steps);
                }
                None if h == 23 => {
                    day += 1;
                    (hour, minute) = (0, 0);
                }
                None => (hour, minute) = (h + 1, 0),
            }
        }
        (None, steps)
    }
}

fn parse_field(text: &str, spec: &FieldSpec) -> Result<u64, ScheduleError> {
    let mut set = 0u64;
    for item in text.split(',') {
        set |= parse_item(item, spec)?;
    }
    Ok(set)
}

fn parse_item(item: &str, spec: &FieldSpec) -> Result<u64, ScheduleError> {
    if item.is_empty() {
        return Err(err(spec.field, "empty item in a list"));
    }
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    // The conventional span; day-of-week's extra 7 is only another Sunday.
    let span = if spec.max == 7 {
        7
    } else {
        spec.max - spec.min + 1
    };
    let step = match step {
        None => 1,
        Some(s) => match s.parse::<u32>() {
            Ok(0) => {
                return Err(err(
                    spec.field,
                    format!("step in `{item}` must be at least 1"),
                ));
            }
            Ok(n) if n > span => {
                return Err(err(
                    spec.field,
                    format!("step {n} in `{item}` is larger than the field's range of {span}"),
                ));
            }
            Ok(n) => n,
            Err(_) => {
                return Err(err(
                    spec.field,
                    format!("step in `{item}` must be a whole number"),
                ));
            }
        },
    };
    let (low, high) = if range == "*" {
        (spec.min, if spec.max == 7 { 6 } else { spec.max })
    } else if let Some((a, b)) = range.split_once('-') {
        let (low, high) = (parse_value(a, spec)?, parse_value(b, spec)?);
        if low > high {
            return Err(err(
                spec.field,
                format!("range `{range}` goes backwards; write it from low to high"),
            ));
        }
        (low, high)
    } else {
        let value = parse_value(range, spec)?;
        // `5/15` is `5-max/15`, as in Vixie cron.
        let high = if item.contains('/') { spec.max } else { value };
        (value, high)
    };
    let mut set = 0u64;
    let mut v = low;
    while v <= high {
        set |= 1 << v;
        v += step;
    }
    Ok(set)
}

fn parse_value(text: &str, spec: &FieldSpec) -> Result<u32, ScheduleError> {
    if text.is_empty() {
        return Err(err(spec.field, "missing number in a range"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
            _ => Err(err(
                spec.field,
                format!("{text} is out of range {}-{}", spec.min, spec.max),
            )),
        };
    }
    let lower = text.to_ascii_lowercase();
    if let Some(i) = spec.names.iter().position(|n| *n == lower) {
        return Ok(spec.min + i as u32);
    }
    Err(err(
        spec.field,
        if spec.names.is_empty() {
            format!("`{text}` is not a number")
        } else {
            format!(
                "`{text}` is neither a number nor one of {}",
                spec.names.join(", ")
            )
        },
    ))
}

fn has(set: u64, v: u32) -> bool {
    v < 64 && set & (1 << v) != 0
}

fn highest_at_or_below(set: u64, v: u32) -> Option<u32> {
    let masked = set & (u64::MAX >> (63 - v.min(63)));
    (masked != 0).then(|| 63 - masked.leading_zeros())
}

fn lowest_at_or_above(set: u64, v: u32) -> Option<u32> {
    if v > 63 {
        return None;
    }
    let masked = set & (u64::MAX << v);
    (masked != 0).then(|| masked.trailing_zeros())
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronExpr").field(&self.source).finish()
    }
}

/// Equal when written the same way.
impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for CronExpr {}

impl FromStr for CronExpr {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl Serialize for CronExpr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        CronExpr::parse(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for CronExpr {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(MAX_CRON_LEN))
            .description(Some(
                "Cron: minute hour day-of-month month day-of-week, or @hourly, @daily, \
                 @weekly, @monthly, @yearly.",
            ))
            .examples(["0 2 * * sun"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for CronExpr {}

/// A recurring window: it starts whenever `cron` matches, in the local time
/// given by `utc_offset_minutes`, and lasts `duration_minutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowFields")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceWindow {
    pub cron: CronExpr,
    /// 1 to [`MAX_DURATION_MINUTES`].
    pub duration_minutes: u32,
    /// The window's local time as a fixed offset east of UTC, e.g. 60 for
    /// UTC+1; ±[`MAX_UTC_OFFSET_MINUTES`].
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFields {
    cron: CronExpr,
    duration_minutes: u32,
    #[serde(default)]
    utc_offset_minutes: i32,
}

impl TryFrom<WindowFields> for MaintenanceWindow {
    type Error = ScheduleError;
    fn try_from(f: WindowFields) -> Result<Self, Self::Error> {
        MaintenanceWindow::new(f.cron, f.duration_minutes, f.utc_offset_minutes)
    }
}

impl MaintenanceWindow {
    /// A checked window.
    pub fn new(
        cron: CronExpr,
        duration_minutes: u32,
        utc_offset_minutes: i32,
    ) -> Result<MaintenanceWindow, ScheduleError> {
        let window = MaintenanceWindow {
            cron,
            duration_minutes,
            utc_offset_minutes,
        };
        window.validate()?;
        Ok(window)
    }

    /// Checks the duration and offset (the cron was checked when parsed).
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if !(1..=MAX_DURATION_MINUTES).contains(&self.duration_minutes) {
            return Err(err(
                "duration_minutes",
                format!(
                    "must be between 1 and {MAX_DURATION_MINUTES} (one week), got {}",
                    self.duration_minutes
                ),
            ));
        }
        if !(-MAX_UTC_OFFSET_MINUTES..=MAX_UTC_OFFSET_MINUTES).contains(&self.utc_offset_minutes) {
            return Err(err(
                "utc_offset_minutes",
                format!(
                    "must be between -{MAX_UTC_OFFSET_MINUTES} and {MAX_UTC_OFFSET_MINUTES}, got {}",
                    self.utc_offset_minutes
                ),
            ));
        }
        Ok(())
    }

    /// Whether a window that started at some `s <= t_ms` is still running
    /// at `t_ms` (`t_ms < s + duration`).
    pub fn active_at(&self, t_ms: i64) -> bool {
        self.window_at(t_ms).is_some()
    }

    /// The start and end (unix ms, end exclusive) of the latest-started
    /// occurrence running at `t_ms`. With overlapping occurrences a later
    /// one may extend past this end.
    pub fn window_at(&self, t_ms: i64) -> Option<(i64, i64)> {
        self.latest_start(t_ms).0
    }

    fn latest_start(&self, t_ms: i64) -> (Option<(i64, i64)>, u32) {
        // The fields are public: keep an unchecked duration from turning
        // into a long scan.
        let duration = i64::from(self.duration_minutes.min(MAX_DURATION_MINUTES));
        if duration == 0 {
            return (None, 0);
        }
        let offset = i64::from(self.utc_offset_minutes);
        let local = t_ms.div_euclid(MS_PER_MINUTE) + offset;
        // Starts are whole minutes; s <= t < s + d  <=>  local - d < s <= local.
        let (start, steps) = self.cron.latest_match(local, local - duration + 1);
        let window = start.and_then(|s| {
            let start_ms = (s - offset).checked_mul(MS_PER_MINUTE)?;
            Some((start_ms, start_ms.saturating_add(duration * MS_PER_MINUTE)))
        });
        (window, steps)
    }

    /// The first start strictly after `t_ms`, in unix ms; `None` if there is
    /// none in the next 30 years.
    pub fn next_start_after(&self, t_ms: i64) -> Option<i64> {
        let offset = i64::from(self.utc_offset_minutes);
        let from = t_ms.div_euclid(MS_PER_MINUTE).checked_add(1 + offset)?;
        let upper = from.checked_add(SEARCH_HORIZON_DAYS * MINUTES_PER_DAY)?;
        let start = self.cron.earliest_match(from, upper).0?;
        (start - offset).checked_mul(MS_PER_MINUTE)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(crate) fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if !is_leap_year(year) => 28,
        _ => max_days(month),
    }
}

/// Days in `month` in a leap year.
fn max_days(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 0 is Sunday; 1970-01-01 was a Thursday.
fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(text: &str) -> CronExpr {
        CronExpr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn bits(set: u64) -> Vec<u32> {
        (0..64).filter(|&v| has(set, v)).collect()
    }

    fn error(text: &str) -> ScheduleError {
        CronExpr::parse(text).unwrap_err()
    }

    /// Unix ms of a UTC civil time.
    fn ms(y: i64, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        (days_from_civil(y, mo, d) * MINUTES_PER_DAY + i64::from(h * 60 + mi)) * MS_PER_MINUTE
    }

    fn window(text: &str, duration: u32, offset: i32) -> MaintenanceWindow {
        MaintenanceWindow::new(cron(text), duration, offset).unwrap()
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(1, 1, 1)), (1, 1, 1));
        // Every day from 1600 to 2500 round-trips and follows the previous one.
        let mut prev = civil_from_days(days_from_civil(1600, 1, 1) - 1);
        for days in days_from_civil(1600, 1, 1)..days_from_civil(2500, 1, 1) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!(d >= 1 && d <= days_in_month(y, m));
            let next_of_prev = if prev.2 < days_in_month(prev.0, prev.1) {
                (prev.0, prev.1, prev.2 + 1)
            } else if prev.1 < 12 {
                (prev.0, prev.1 + 1, 1)
            } else {
                (prev.0 + 1, 1, 1)
            };
            assert_eq!((y, m, d), next_of_prev);
            prev = (y, m, d);
        }
    }

    #[test]
    fn leap_years_and_weekdays() {
        assert!(is_leap_year(2000) && is_leap_year(2024) && is_leap_year(1600));
        assert!(!is_leap_year(1900) && !is_leap_year(2100) && !is_leap_year(2023));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        assert_eq!(weekday(days_from_civil(2024, 1, 1)), 1, "a Monday");
        assert_eq!(weekday(days_from_civil(1969, 12, 28)), 0, "a Sunday");
    }

    #[test]
    fn parses_fields() {
        let c = cron("*/15 9-17 1,15 jan-mar,DEC mon-fri");
        assert_eq!(bits(c.minutes), vec![0, 15, 30, 45]);
        assert_eq!(bits(c.hours), (9..=17).collect::<Vec<_>>());
        assert_eq!(bits(c.days_of_month), vec![1, 15]);
        assert_eq!(bits(c.months), vec![1, 2, 3, 12]);
        assert_eq!(bits(c.days_of_week), vec![1, 2, 3, 4, 5]);
        assert!(!c.dom_star && !c.dow_star);

        let c = cron("10-50/10 0 * * *");
        assert_eq!(bits(c.minutes), vec![10, 20, 30, 40, 50]);
        assert!(c.dom_star && c.dow_star);
        assert_eq!(bits(c.days_of_month).len(), 31);
        assert_eq!(bits(c.days_of_week).len(), 7);

        let c = cron("5/20 */6 */10 */4 *");
        assert_eq!(bits(c.minutes), vec![5, 25, 45]);
        assert_eq!(bits(c.hours), vec![0, 6, 12, 18]);
        assert_eq!(bits(c.days_of_month), vec![1, 11, 21, 31]);
        assert_eq!(bits(c.months), vec![1, 5, 9]);
    }

    #[test]
    fn sunday_is_0_and_7() {
        assert_eq!(bits(cron("0 0 * * 7").days_of_week), vec![0]);
        assert_eq!(bits(cron("0 0 * * 0").days_of_week), vec![0]);
        assert_eq!(bits(cron("0 0 * * SUN").days_of_week), vec![0]);
        assert_eq!(bits(cron("0 0 * * 5-7").days_of_week), vec![0, 5, 6]);
        assert_eq!(bits(cron("0 0 * * sat,Sun").days_of_week), vec![0, 6]);
    }

    #[test]
    fn macros() {
        let same = |a: &str, b: &str| {
            let (a, b) = (cron(a), cron(b));
            assert_eq!(
                (
                    a.minutes,
                    a.hours,
                    a.days_of_month,
                    a.months,
                    a.days_of_week
                ),
                (
                    b.minutes,
                    b.hours,
                    b.days_of_month,
                    b.months,
                    b.days_of_week
                )
            );
            assert_eq!((a.dom_star, a.dow_star), (b.dom_star, b.dow_star));
        };
        same("@hourly", "0 * * * *");
        same("@daily", "0 0 * * *");
        same("@DAILY", "0 0 * * *");
        same("@midnight", "0 0 * * *");
        same("@weekly", "0 0 * * 0");
        same("@monthly", "0 0 1 * *");
        same("@yearly", "0 0 1 1 *");
        assert_eq!(cron(" @daily ").as_str(), "@daily");
        let e = error("@reboot");
        assert_eq!(e.field, "cron");
        assert!(e.message.contains("unknown macro"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("* * * *", "cron", "expected 5 fields"),
            ("* * * * * *", "cron", "got 6"),
            ("", "cron", "got 0"),
            ("60 * * * *", "cron.minute", "60 is out of range 0-59"),
            ("* 24 * * *", "cron.hour", "24 is out of range 0-23"),
            ("* * 0 * *", "cron.day_of_month", "0 is out of range 1-31"),
            ("* * 32 * *", "cron.day_of_month", "32 is out of range 1-31"),
            ("* * * 13 *", "cron.month", "13 is out of range 1-12"),
            ("* * * 0 *", "cron.month", "0 is out of range 1-12"),
            ("* * * * 8", "cron.day_of_week", "8 is out of range 0-7"),
            ("*/0 * * * *", "cron.minute", "at least 1"),
            ("*/61 * * * *", "cron.minute", "larger than"),
            ("*/x * * * *", "cron.minute", "whole number"),
            ("5-1 * * * *", "cron.minute", "goes backwards"),
            ("1,,2 * * * *", "cron.minute", "empty item"),
            ("1- * * * *", "cron.minute", "missing number"),
            ("x * * * *", "cron.minute", "not a number"),
            (
                "* * * janu *",
                "cron.month",
                "neither a number nor one of jan",
            ),
            ("* * * * fri-mon", "cron.day_of_week", "goes backwards"),
            ("* * * * -1", "cron.day_of_week", "missing number"),
            ("0 0 30 2 *", "cron.day_of_month", "never matches"),
            ("0 0 31 4,6 *", "cron.day_of_month", "never matches"),
        ];
        for (text, field, message) in cases {
            let e = error(text);
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.message.contains(message), "{text}: {e}");
        }
        assert_eq!(
            error("61 * * * *").to_string(),
            "cron.minute: 61 is out of range 0-59"
        );
        // Possible, if rarely.
        assert!(CronExpr::parse("0 0 29 2 *").is_ok());
        assert!(CronExpr::parse("0 0 31 4,5 *").is_ok());
        // Day-of-week can rescue an impossible day-of-month (Vixie OR).
        assert!(CronExpr::parse("0 0 30 2 mon").is_ok());
        let long = format!("0 0 * * {}", "1,".repeat(200));
        assert_eq!(error(&long).field, "cron");
    }

    #[test]
    fn vixie_day_rule() {
        // Both restricted: either day field is enough.
        let c = cron("0 0 1 * mon");
        assert!(c.matches(2024, 1, 1, 0, 0), "the 1st (a Monday)");
        assert!(c.matches(2024, 2, 1, 0, 0), "the 1st (a Thursday)");
        assert!(c.matches(2024, 2, 5, 0, 0), "a Monday");
        assert!(!c.matches(2024, 2, 6, 0, 0));
        // A field starting with `*` is unrestricted: both must match.
        let c = cron("0 0 */2 * mon");
        assert!(c.matches(2024, 2, 5, 0, 0), "odd day, Monday");
        assert!(!c.matches(2024, 2, 12, 0, 0), "even day, Monday");
        assert!(!c.matches(2024, 2, 7, 0, 0), "odd day, Wednesday");
        let c = cron("0 0 * * mon");
        assert!(c.matches(2024, 2, 12, 0, 0) && !c.matches(2024, 2, 13, 0, 0));
        let c = cron("0 0 13 * *");
        assert!(c.matches(2024, 2, 13, 0, 0) && !c.matches(2024, 2, 12, 0, 0));
    }

    #[test]
    fn matches_rejects_impossible_dates() {
        let c = cron("* * * * *");
        assert!(c.matches(2024, 2, 29, 23, 59));
        assert!(!c.matches(2023, 2, 29, 0, 0));
        assert!(!c.matches(2024, 13, 1, 0, 0));
        assert!(!c.matches(2024, 1, 0, 0, 0));
        assert!(!c.matches(2024, 1, 1, 24, 0));
        assert!(!c.matches(2024, 1, 1, 0, 60));
    }

    #[test]
    fn window_is_active_from_start_to_end_exclusive() {
        let w = window("0 2 * * sun", 120, 0);
        // 2024-03-03 is a Sunday.
        assert!(!w.active_at(ms(2024, 3, 3, 1, 59)));
        assert!(w.active_at(ms(2024, 3, 3, 2, 0)));
        assert!(w.active_at(ms(2024, 3, 3, 3, 59) + 59_999));
        assert!(!w.active_at(ms(2024, 3, 3, 4, 0)));
        assert!(!w.active_at(ms(2024, 3, 4, 2, 30)), "a Monday");
        assert_eq!(
            w.window_at(ms(2024, 3, 3, 3, 0)),
            Some((ms(2024, 3, 3, 2, 0), ms(2024, 3, 3, 4, 0)))
        );
        assert_eq!(w.window_at(ms(2024, 3, 3, 4, 0)), None);
    }

    #[test]
    fn window_spanning_midnight_month_and_year() {
        let w = window("30 23 31 12 *", 90, 0);
        assert!(w.active_at(ms(2024, 12, 31, 23, 45)));
        assert!(w.active_at(ms(2025, 1, 1, 0, 59)));
        assert!(!w.active_at(ms(2025, 1, 1, 1, 0)));
        assert!(!w.active_at(ms(2024, 12, 31, 23, 29)));
        assert_eq!(
            w.next_start_after(ms(2025, 1, 1, 0, 0)),
            Some(ms(2025, 12, 31, 23, 30))
        );

        let w = window("0 22 28-31 * *", 6 * 60, 0);
        assert!(w.active_at(ms(2024, 3, 1, 3, 0)), "from 29 February 22:00");
        assert!(w.active_at(ms(2023, 3, 1, 3, 0)), "from 28 February 22:00");
        assert!(!w.active_at(ms(2024, 3, 2, 3, 0)));
    }

    #[test]
    fn leap_day_schedule() {
        let w = window("0 0 29 2 *", 60, 0);
        assert_eq!(
            w.next_start_after(ms(2024, 3, 1, 0, 0)),
            Some(ms(2028, 2, 29, 0, 0))
        );
        assert_eq!(
            w.next_start_after(ms(2096, 3, 1, 0, 0)),
            Some(ms(2104, 2, 29, 0, 0))
        );
        assert!(w.active_at(ms(2028, 2, 29, 0, 30)));
        assert!(!w.active_at(ms(2027, 3, 1, 0, 30)));
    }

    #[test]
    fn next_start_is_strictly_after() {
        let w = window("*/15 * * * *", 5, 0);
        let t = ms(2024, 5, 1, 10, 15);
        assert_eq!(w.next_start_after(t - 1), Some(t));
        assert_eq!(w.next_start_after(t), Some(ms(2024, 5, 1, 10, 30)));
        assert_eq!(w.next_start_after(t + 30_000), Some(ms(2024, 5, 1, 10, 30)));
        let w = window("@monthly", 60, 0);
        assert_eq!(
            w.next_start_after(ms(2024, 12, 1, 0, 0)),
            Some(ms(2025, 1, 1, 0, 0))
        );
        let w = window("0 9 * feb fri", 60, 0);
        assert_eq!(
            w.next_start_after(ms(2024, 3, 1, 0, 0)),
            Some(ms(2025, 2, 7, 9, 0))
        );
    }

    #[test]
    fn utc_offset_is_local_time() {
        // 02:00 at UTC+2 is 00:00 UTC.
        let w = window("0 2 * * *", 60, 120);
        assert!(w.active_at(ms(2024, 6, 1, 0, 30)));
        assert!(!w.active_at(ms(2024, 6, 1, 2, 30)));
        assert_eq!(
            w.next_start_after(ms(2024, 6, 1, 0, 0)),
            Some(ms(2024, 6, 2, 0, 0))
        );
        // Monday 01:00 at UTC-5:30 is Monday 06:30 UTC.
        let w = window("0 1 * * mon", 30, -330);
        assert!(w.active_at(ms(2024, 6, 3, 6, 45)));
        assert!(!w.active_at(ms(2024, 6, 3, 1, 15)));
        // Sunday 23:00 at UTC+14 is Sunday 09:00 UTC; the local day decides.
        let w = window("0 23 * * sun", 60, 14 * 60);
        assert!(w.active_at(ms(2024, 6, 2, 9, 30)));
        assert_eq!(
            w.next_start_after(ms(2024, 6, 2, 10, 0)),
            Some(ms(2024, 6, 9, 9, 0))
        );
    }

    #[test]
    fn times_before_1970() {
        let w = window("0 12 * * *", 60, 0);
        assert!(w.active_at(ms(1969, 7, 20, 12, 30)));
        assert_eq!(
            w.next_start_after(ms(1969, 12, 31, 13, 0)),
            Some(ms(1970, 1, 1, 12, 0))
        );
    }

    /// Brute force: every minute, checked with `matches`.
    fn naive_matches(w: &MaintenanceWindow, local_minute: i64) -> bool {
        let (y, m, d) = civil_from_days(local_minute.div_euclid(MINUTES_PER_DAY));
        let of_day = local_minute.rem_euclid(MINUTES_PER_DAY) as u32;
        w.cron.matches(y, m, d, of_day / 60, of_day % 60)
    }

    fn naive_active(w: &MaintenanceWindow, t_ms: i64) -> bool {
        let local = t_ms.div_euclid(MS_PER_MINUTE) + i64::from(w.utc_offset_minutes);
        (0..i64::from(w.duration_minutes)).any(|back| naive_matches(w, local - back))
    }

    fn naive_next(w: &MaintenanceWindow, t_ms: i64, limit_minutes: i64) -> Option<i64> {
        let offset = i64::from(w.utc_offset_minutes);
        let from = t_ms.div_euclid(MS_PER_MINUTE) + 1 + offset;
        (from..from + limit_minutes)
            .find(|&m| naive_matches(w, m))
            .map(|m| (m - offset) * MS_PER_MINUTE)
    }

    #[test]
    fn skipping_search_agrees_with_brute_force() {
        let windows = [
            window("*/7 */5 * * *", 3, 0),
            window("0,30 9-17 * * mon-fri", 45, 60),
            window("15 3 1,15 * sun", 200, -300),
            window("59 23 28-31 * *", 2, 0),
            window("0 0 */3 feb,mar *", 1500, 330),
            window("45 22 * * 6", 600, -720),
        ];
        // Start late on 2024-02-26 so the run crosses the leap day and a month.
        let start = ms(2024, 2, 26, 21, 7) + 13_000;
        for w in &windows {
            for i in 0..(5 * 24 * 12) {
                let t = start + i * 5 * MS_PER_MINUTE + (i % 7) * 1_000;
                assert_eq!(w.active_at(t), naive_active(w, t), "{w:?} at {t}");
                if i % 6 != 0 {
                    continue;
                }
                assert_eq!(
                    w.next_start_after(t),
                    naive_next(w, t, 40 * MINUTES_PER_DAY),
                    "{w:?} after {t}"
                );
            }
        }
    }

    #[test]
    fn active_at_looks_at_few_candidates() {
        // A week-long window whose start is a week back, behind days and
        // hours that do not match: a minute-by-minute scan would take 10080.
        let w = window("0 0 * * mon", MAX_DURATION_MINUTES, 0);
        let t = ms(2024, 6, 9, 23, 59); // a Sunday
        let (found, steps) = w.latest_start(t);
        assert_eq!(found.map(|f| f.0), Some(ms(2024, 6, 3, 0, 0)));
        assert!(steps <= 10, "{steps} steps");

        // Nothing matches within the week: still only days and months are visited.
        let w = window("0 0 1 jan *", MAX_DURATION_MINUTES, 0);
        let (found, steps) = w.latest_start(ms(2024, 6, 9, 12, 0));
        assert_eq!(found, None);
        assert!(steps <= 3, "{steps} steps");

        let w = window("*/5 8-9 * * *", MAX_DURATION_MINUTES, 0);
        let (found, steps) = w.latest_start(ms(2024, 6, 9, 7, 0));
        assert_eq!(found.map(|f| f.0), Some(ms(2024, 6, 8, 9, 55)));
        assert!(steps <= 3, "{steps} steps");
    }

    #[test]
    fn unchecked_fields_stay_safe() {
        let mut w = window("* * * * *", 10, 0);
        w.duration_minutes = 0;
        assert!(!w.active_at(ms(2024, 1, 1, 0, 0)));
        w.duration_minutes = u32::MAX;
        assert!(w.active_at(ms(2024, 1, 1, 0, 0)));
        // Extreme times neither overflow nor panic.
        assert_eq!(w.next_start_after(i64::MAX), None);
        assert!(w.active_at(i64::MAX));
        let far_past = i64::MIN / 2;
        let day_ms = MINUTES_PER_DAY * MS_PER_MINUTE;
        let next_midnight = (far_past.div_euclid(day_ms) + 1) * day_ms;
        assert_eq!(
            window("0 0 * * *", 10, 0).next_start_after(far_past),
            Some(next_midnight)
        );
    }

    #[test]
    fn validate_names_the_field() {
        let c = cron("@daily");
        let e = MaintenanceWindow::new(c.clone(), 0, 0).unwrap_err();
        assert_eq!(e.field, "duration_minutes");
        let e = MaintenanceWindow::new(c.clone(), MAX_DURATION_MINUTES + 1, 0).unwrap_err();
        assert_eq!(e.field, "duration_minutes");
        assert!(MaintenanceWindow::new(c.clone(), MAX_DURATION_MINUTES, 0).is_ok());
        let e = MaintenanceWindow::new(c.clone(), 60, 841).unwrap_err();
        assert_eq!(e.field, "utc_offset_minutes");
        let e = MaintenanceWindow::new(c.clone(), 60, -841).unwrap_err();
        assert_eq!(e.field, "utc_offset_minutes");
        assert!(MaintenanceWindow::new(c, 60, -840).is_ok());
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let w = window("0 2 * * sun", 120, 60);
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"cron": "0 2 * * sun", "duration_minutes": 120, "utc_offset_minutes": 60})
        );
        let back: MaintenanceWindow = serde_json::from_value(json).unwrap();
        assert_eq!(back, w);

        let default_offset: MaintenanceWindow =
            serde_json::from_str(r#"{"cron": "@daily", "duration_minutes": 30}"#).unwrap();
        assert_eq!(default_offset.utc_offset_minutes, 0);

        let bad_cron = serde_json::from_str::<MaintenanceWindow>(
            r#"{"cron": "0 25 * * *", "duration_minutes": 30}"#,
        )
        .unwrap_err();
        assert!(
            bad_cron
                .to_string()
                .contains("cron.hour: 25 is out of range"),
            "{bad_cron}"
        );
        let bad_duration = serde_json::from_str::<MaintenanceWindow>(
            r#"{"cron": "@daily", "duration_minutes": 0}"#,
        )
        .unwrap_err();
        assert!(
            bad_duration.to_string().contains("duration_minutes"),
            "{bad_duration}"
        );
        let unknown = serde_json::from_str::<MaintenanceWindow>(
            r#"{"cron": "@daily", "duration_minutes": 5, "tz": "UTC"}"#,
        );
        assert!(unknown.is_err());

        let c: CronExpr = serde_json::from_str(r#""*/5 * * * *""#).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), r#""*/5 * * * *""#);
        assert_eq!(c.to_string(), "*/5 * * * *");
        assert_eq!(format!("{c:?}"), r#"CronExpr("*/5 * * * *")"#);
        assert_eq!("@hourly".parse::<CronExpr>().unwrap(), cron("@hourly"));
    }
}
