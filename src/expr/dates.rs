//! Reading the date forms records use, and the arithmetic on them.
//!
//! Accepted forms: `2025-03-05`, `2025/3/5`, `2025.3.5`, `2025年3月5日`, each optionally followed
//! by a time (`T` or a space, `HH:MM[:SS[.fff]]`) and an offset (`Z`, `+08:00`, `+0800`).
//! Local times without an offset are Beijing time (UTC+08:00; Asia/Shanghai has kept that
//! offset all year since 1991), so no time-zone database is needed.

use std::sync::OnceLock;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use regex::Regex;

/// The offset of local times that carry none.
pub fn local_offset() -> Offset {
    Offset::constant(8)
}

/// A date, or a date with a time of day and the offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Date(Date),
    DateTime(DateTime, Offset),
}

impl When {
    /// The calendar date in Beijing time.
    pub fn date(self) -> Date {
        match self {
            When::Date(d) => d,
            When::DateTime(..) => self
                .timestamp()
                .to_zoned(TimeZone::fixed(local_offset()))
                .date(),
        }
    }

    /// The instant; a bare date is its midnight in Beijing time.
    pub fn timestamp(self) -> Timestamp {
        let (dt, offset) = match self {
            When::Date(d) => (d.to_datetime(Time::midnight()), local_offset()),
            When::DateTime(dt, offset) => (dt, offset),
        };
        // A civil datetime at a fixed offset always maps to one instant within range for the
        // years a record can hold; fall back to the Unix epoch never happens for parsed input.
        offset.to_timestamp(dt).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// ISO 8601: `2025-03-05` for a date, `2025-03-05T09:30:00+08:00` for a date-time.
    pub fn to_iso(self) -> String {
        match self {
            When::Date(d) => d.to_string(),
            When::DateTime(dt, offset) => {
                let dt = dt.round(jiff::Unit::Second).unwrap_or(dt);
                format!(
                    "{}{}",
                    dt.strftime("%Y-%m-%dT%H:%M:%S"),
                    format_offset(offset)
                )
            }
        }
    }
}

fn format_offset(offset: Offset) -> String {
    let secs = offset.seconds();
    if secs == 0 {
        return "Z".to_string();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("{sign}{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^\s*(\d{4})(?:-|/|\.|年)(\d{1,2})(?:-|/|\.|月)(\d{1,2})日?(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|z|[+-]\d{2}:?\d{2})?)?\s*$",
        )
        .expect("the date pattern is valid")
    })
}

/// A plain ISO date (`2025-03-05`), the form nearly every record uses, read without the
/// general pattern.
fn iso_date(text: &str) -> Option<Result<When, String>> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i32> {
        b.get(r)?.iter().try_fold(0i32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + i32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    Some(
        Date::new(y as i16, m as i8, d as i8)
            .map(When::Date)
            .map_err(|_| format!("'{text}' is not a valid calendar date")),
    )
}

/// Reads one of the accepted date or date-time forms.
pub fn parse(text: &str) -> Result<When, String> {
    if let Some(read) = iso_date(text) {
        return read;
    }
    let caps = pattern()
        .captures(text)
        .ok_or_else(|| format!("'{text}' is not a date (expected a form such as 2025-03-05)"))?;
    let num = |i: usize| -> i32 { caps.get(i).map_or(0, |m| m.as_str().parse().unwrap_or(0)) };
    let date = Date::new(num(1) as i16, num(2) as i8, num(3) as i8)
        .map_err(|_| format!("'{text}' is not a valid calendar date"))?;
    if caps.get(4).is_none() {
        return Ok(When::Date(date));
    }
    let nanos = caps.get(7).map_or(0, |m| {
        let digits: String = m.as_str()[1..].chars().take(9).collect();
        format!("{digits:0<9}").parse::<i32>().unwrap_or(0)
    });
    let time = Time::new(num(4) as i8, num(5) as i8, num(6) as i8, nanos)
        .map_err(|_| format!("'{text}' is not a valid time of day"))?;
    let offset = match caps.get(8).map(|m| m.as_str()) {
        None => local_offset(),
        Some("Z" | "z") => Offset::UTC,
        Some(off) => {
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let digits: String = off.chars().filter(char::is_ascii_digit).collect();
            let hours: i32 = digits[..2].parse().unwrap_or(0);
            let minutes: i32 = digits[2..].parse().unwrap_or(0);
            Offset::from_seconds(sign * (hours * 3600 + minutes * 60))
                .map_err(|_| format!("'{text}' has an offset out of range"))?
        }
    };
    Ok(When::DateTime(date.to_datetime(time), offset))
}

/// `b - a` in whole days.
pub fn days_between(a: Date, b: Date) -> i64 {
    a.until(b).map_or(0, |span| i64::from(span.get_days()))
}

/// `b - a` in hours, fractional.
pub fn hours_between(a: When, b: When) -> f64 {
    let secs = b.timestamp().as_second() - a.timestamp().as_second();
    secs as f64 / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn reads_every_accepted_form_as_the_same_date() {
        for text in [
            "2025-03-05",
            "2025/3/5",
            "2025.03.05",
            "2025年3月5日",
            " 2025-3-5 ",
        ] {
            assert_eq!(parse(text).unwrap().date(), d(2025, 3, 5), "{text}");
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse("2025-02-30").is_err());
        assert!(parse("2025-13-01").is_err());
        assert!(parse("yesterday").is_err());
        assert!(parse("2025-03-05T25:00").is_err());
    }

    #[test]
    fn date_times_default_to_beijing_time() {
        let w = parse("2025-03-05 09:30").unwrap();
        assert_eq!(w.to_iso(), "2025-03-05T09:30:00+08:00");
        // 20:00 UTC is 04:00 the next day in Beijing.
        assert_eq!(parse("2025-03-05T20:00:00Z").unwrap().date(), d(2025, 3, 6));
    }

    #[test]
    fn hours_between_crosses_offsets() {
        let a = parse("2025-03-05T09:00:00+08:00").unwrap();
        let b = parse("2025-03-05T03:30:00Z").unwrap();
        assert_eq!(hours_between(a, b), 2.5);
        let a = parse("2025-03-05").unwrap();
        let b = parse("2025-03-06 12:00").unwrap();
        assert_eq!(hours_between(a, b), 36.0);
    }

    #[test]
    fn days_between_is_signed() {
        assert_eq!(days_between(d(2024, 2, 27), d(2024, 3, 1)), 3);
        assert_eq!(days_between(d(2025, 1, 10), d(2025, 1, 3)), -7);
        assert_eq!(days_between(d(2024, 12, 31), d(2025, 1, 1)), 1);
    }
}
