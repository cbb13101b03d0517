//! Holiday calendars for working-day arithmetic, shipped as data under `calendars/`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use jiff::civil::{Date, Weekday};
use serde::Deserialize;

use crate::embedded;
use crate::error::{Error, ErrorKind, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    id: String,
    #[allow(dead_code)]
    title: crate::text::Text,
    years: BTreeMap<i16, YearFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    off: Vec<String>,
    workdays: Vec<String>,
}

/// A holiday calendar: which years it covers, the days off and the make-up working days.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub id: String,
    years: BTreeSet<i16>,
    off: HashSet<Date>,
    workdays: HashSet<Date>,
}

impl Calendar {
    /// Reads a calendar from its YAML text.
    pub fn parse(source: &str, file: &str) -> Result<Calendar> {
        let raw: CalendarFile = serde_saphyr::from_str(source).map_err(|e| {
            let loc = e.location();
            Error::new(ErrorKind::InvalidInput, e.to_string())
                .with_file(file)
                .with_position(loc.map_or(0, |l| l.line()), loc.map_or(0, |l| l.column()))
        })?;
        let bad = |d: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("'{d}' is not a date or a start/end range"),
            )
            .with_file(file)
        };
        let mut cal = Calendar {
            id: raw.id,
            years: raw.years.keys().copied().collect(),
            off: HashSet::new(),
            workdays: HashSet::new(),
        };
        for year in raw.years.values() {
            for entry in &year.off {
                let (start, end) = match entry.split_once('/') {
                    Some((a, b)) => (a, b),
                    None => (entry.as_str(), entry.as_str()),
                };
                let start: Date = start.trim().parse().map_err(|_| bad(entry))?;
                let end: Date = end.trim().parse().map_err(|_| bad(entry))?;
                let mut d = start;
                while d <= end {
                    cal.off.insert(d);
                    d = d.tomorrow().map_err(|_| bad(entry))?;
                }
            }
            for entry in &year.workdays {
                cal.workdays
                    .insert(entry.trim().parse().map_err(|_| bad(entry))?);
            }
        }
        Ok(cal)
    }

    /// The shipped calendar with this id.
    pub fn builtin(id: &str) -> Option<&'static Calendar> {
        static ALL: OnceLock<HashMap<String, Calendar>> = OnceLock::new();
        ALL.get_or_init(|| {
            embedded::under("calendars/")
                .filter_map(|(path, bytes)| {
                    let text = std::str::from_utf8(bytes).ok()?;
                    // The shipped calendars are tested to parse; see the tests below.
                    Calendar::parse(text, path).ok()
                })
                .map(|c| (c.id.clone(), c))
                .collect()
        })
        .get(id)
    }

    /// The ids of the shipped calendars.
    pub fn builtin_ids() -> Vec<String> {
        embedded::under("calendars/")
            .filter_map(|(p, _)| {
                p.strip_prefix("calendars/")?
                    .strip_suffix(".yaml")
                    .map(str::to_string)
            })
            .collect()
    }

    /// Whether the calendar lists the holidays of this year.
    pub fn covers(&self, year: i16) -> bool {
        self.years.contains(&year)
    }

    /// The years from `a` to `b` (either order) that the calendar does not cover: working days
    /// there are counted Monday to Friday, and the report says so.
    pub fn uncovered_years(&self, a: Date, b: Date) -> Vec<i16> {
        let (from, to) = if a <= b { (a, b) } else { (b, a) };
        (from.year()..=to.year())
            .filter(|y| !self.covers(*y))
            .collect()
    }

    /// Whether `d` is a working day: the calendar's days off and make-up days in the years it
    /// covers, Monday to Friday in the others.
    pub fn is_working_day(&self, d: Date) -> Result<bool, String> {
        if self.covers(d.year()) {
            if self.workdays.contains(&d) {
                return Ok(true);
            }
            if self.off.contains(&d) {
                return Ok(false);
            }
        }
        Ok(!matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday))
    }

    /// The working days after `a` up to and including `b`; negative when `b` is before `a`.
    pub fn working_days_between(&self, a: Date, b: Date) -> Result<i64, String> {
        let (from, to, sign) = if b >= a { (a, b, 1) } else { (b, a, -1) };
        let mut count = 0;
        let mut d = from;
        while d < to {
            d = d.tomorrow().map_err(|e| e.to_string())?;
            if self.is_working_day(d)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }

    /// The first date `d` with `working_days_between(a, d) == n` (for negative `n`, the latest
    /// such date before `a`).
    pub fn add_working_days(&self, a: Date, n: i64) -> Result<Date, String> {
        let mut d = a;
        let mut left = n.abs();
        if n >= 0 {
            while left > 0 {
                d = d.tomorrow().map_err(|e| e.to_string())?;
                if self.is_working_day(d)? {
                    left -= 1;
                }
            }
        } else {
            while left > 0 {
                if self.is_working_day(d)? {
                    left -= 1;
                }
                d = d.yesterday().map_err(|e| e.to_string())?;
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn() -> &'static Calendar {
        Calendar::builtin("cn-mainland").expect("the shipped calendar parses")
    }

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn every_shipped_calendar_parses() {
        for (path, bytes) in embedded::under("calendars/") {
            Calendar::parse(std::str::from_utf8(bytes).unwrap(), path).unwrap();
        }
        assert_eq!(Calendar::builtin_ids(), vec!["cn-mainland".to_string()]);
    }

    #[test]
    fn qingming_2024_and_its_sunday_make_up_day() {
        // 4/4–6 off, Sunday 4/7 worked: Tue 2, Wed 3, Sun 7, Mon 8, Tue 9.
        assert_eq!(cn().add_working_days(d(2024, 4, 1), 5), Ok(d(2024, 4, 9)));
        assert_eq!(
            cn().working_days_between(d(2024, 4, 1), d(2024, 4, 9)),
            Ok(5)
        );
        assert_eq!(cn().is_working_day(d(2024, 4, 7)), Ok(true));
        assert_eq!(cn().is_working_day(d(2024, 4, 5)), Ok(false));
    }

    #[test]
    fn working_days_between_is_signed_and_excludes_the_start() {
        assert_eq!(
            cn().working_days_between(d(2025, 3, 3), d(2025, 3, 3)),
            Ok(0)
        );
        assert_eq!(
            cn().working_days_between(d(2025, 3, 3), d(2025, 3, 4)),
            Ok(1)
        );
        assert_eq!(
            cn().working_days_between(d(2025, 3, 4), d(2025, 3, 3)),
            Ok(-1)
        );
        // Spring Festival 2025: 1/28–2/4 off, Sunday 1/26 and Saturday 2/8 worked.
        assert_eq!(
            cn().working_days_between(d(2025, 1, 24), d(2025, 2, 8)),
            Ok(6)
        );
    }

    #[test]
    fn add_working_days_inverts_working_days_between() {
        let start = d(2025, 9, 26);
        for n in [-7, -1, 0, 1, 3, 10, 40] {
            let end = cn().add_working_days(start, n).unwrap();
            assert_eq!(cn().working_days_between(start, end), Ok(n), "n = {n}");
        }
        assert_eq!(cn().add_working_days(d(2024, 9, 30), 1), Ok(d(2024, 10, 8)));
    }

    #[test]
    fn a_year_outside_the_calendar_counts_monday_to_friday_and_is_named() {
        // 2027-01-01 is a Friday: counted as a working day, with the year named.
        assert_eq!(
            cn().working_days_between(d(2026, 12, 30), d(2027, 1, 4)),
            Ok(3)
        );
        assert_eq!(
            cn().uncovered_years(d(2026, 12, 30), d(2027, 1, 4)),
            vec![2027]
        );
        assert_eq!(cn().is_working_day(d(2023, 6, 1)), Ok(true));
        assert_eq!(cn().is_working_day(d(2019, 1, 5)), Ok(false));
        assert!(cn()
            .uncovered_years(d(2025, 1, 1), d(2025, 12, 31))
            .is_empty());
    }
}
