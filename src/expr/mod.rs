//! The expression language of rules: MiniJinja expressions with yardstick's helper functions.
//!
//! One environment serves every standard, so expressions are compiled once, at load, into
//! [`Expression`]s that live as long as the program. Looking into a missing field yields
//! undefined (chainable), every evaluation runs on a fixed step budget ([`STEP_BUDGET`]), and
//! there is no clock: "today" is `submission.period.end`.

pub mod calendar;
pub mod checksum;
pub mod dates;
pub mod guard;
pub mod native;

use std::sync::OnceLock;

use minijinja::value::Value;
use minijinja::{
    Environment, Error as JinjaError, ErrorKind as JinjaErrorKind, State, UndefinedBehavior,
};
use regex::Regex;

pub use calendar::Calendar;

/// The steps one evaluation of an expression or message may take before it is stopped with an
/// error (a guard against runaway loops over large lists).
pub const STEP_BUDGET: u64 = 200_000;

/// The calendar used when the submission names none.
pub const DEFAULT_CALENDAR: &str = "cn-mainland";

/// The shared environment that compiles and evaluates rule expressions.
pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(new_environment)
}

/// A fresh environment with the helpers, the chainable undefined and the step budget; used for
/// expressions and for message templates alike.
pub fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(STEP_BUDGET));
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    add_helpers(&mut env);
    env
}

/// The helper functions, each named once: the list linting and documentation use, and the
/// registration on an environment.
macro_rules! helpers {
    ($($name:literal => $function:path),* $(,)?) => {
        /// The names of the helper functions, for linting and documentation.
        pub const HELPERS: &[&str] = &[$($name),*];

        fn add_helper_functions(env: &mut Environment<'_>) {
            $(env.add_function($name, $function);)*
        }
    };
}

helpers! {
    "date" => date,
    "days_between" => days_between,
    "hours_between" => hours_between,
    "working_days_between" => on_state::working_days_between,
    "add_working_days" => on_state::add_working_days,
    "add_days" => add_days,
    "overdue" => on_state::overdue,
    "matches" => on_state::matches,
    "valid_id_number" => valid_id_number,
    "valid_credit_code" => valid_credit_code,
    "in_period" => on_state::in_period,
    "before_period" => on_state::before_period,
    "after_period" => on_state::after_period,
    "period_share" => on_state::period_share,
    "missed_due" => on_state::missed_due,
    "unanswered" => on_state::unanswered,
}

/// Registers the helper functions and tests on an environment.
pub fn add_helpers(env: &mut Environment<'_>) {
    env.add_function(guard::HELPER, guard::compare);
    add_helper_functions(env);
    env.add_test("in_period", on_state::in_period_test);
    env.add_test("before_period", on_state::before_period_test);
    env.add_test("after_period", on_state::after_period_test);
}

/// An expression compiled for both evaluators: natively when it stays inside the native
/// subset ([`native`]), and by MiniJinja always (the fallback for everything the native
/// evaluator leaves to it).
pub struct Compiled {
    pub(crate) jinja: minijinja::Expression<'static, 'static>,
    native: Option<native::Program>,
    /// The guarded text both were compiled from.
    #[cfg(test)]
    text: Box<str>,
}

impl Compiled {
    /// Pairs a compiled MiniJinja expression with the native program of its guarded text.
    pub fn new(
        jinja: minijinja::Expression<'static, 'static>,
        guarded: &str,
        shared: &mut native::Interner,
    ) -> Compiled {
        Compiled {
            jinja,
            native: native::Program::compile(guarded, shared),
            #[cfg(test)]
            text: guarded.into(),
        }
    }

    #[cfg(test)]
    /// Whether the expression has a native program (it may still leave some evaluations to
    /// MiniJinja).
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    #[cfg(test)]
    /// The guarded text it was compiled from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Gives the subexpressions it shares with others their memo slots (see
    /// [`native::Interner::slots`]).
    pub fn share(&mut self, slots: &[Option<u32>]) {
        if let Some(p) = &mut self.native {
            p.share(slots);
        }
    }

    /// Evaluates the expression: natively when it can, else by MiniJinja in the context
    /// `context` builds (called only then).
    pub fn eval<'a>(
        &'a self,
        scope: &'a native::Scope<'a>,
        context: &dyn Fn() -> Value,
    ) -> Result<Value, JinjaError> {
        if let Some(program) = &self.native {
            if let Ok(v) = program.eval(scope) {
                #[cfg(test)]
                shadow::check(self, context(), &v);
                return Ok(v);
            }
        }
        self.jinja.eval(context())
    }
}

/// In tests, every native result is checked against MiniJinja's on the same record.
#[cfg(test)]
pub(crate) mod shadow {
    use super::Value;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    /// Native evaluations checked.
    pub static CHECKED: AtomicU64 = AtomicU64::new(0);
    /// What differed.
    pub static DIFFERENCES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    pub fn check(e: &super::Compiled, context: Value, native: &Value) {
        CHECKED.fetch_add(1, Ordering::Relaxed);
        let same = match e.jinja.eval(context) {
            Ok(v) => {
                v.kind() == native.kind()
                    && v == *native
                    && v.is_true() == native.is_true()
                    && v.to_string() == native.to_string()
            }
            Err(_) => false,
        };
        if !same {
            let mut text = String::new();
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!("{} gave {native:?} natively", e.text()),
            );
            if let Ok(mut d) = DIFFERENCES.lock() {
                d.push(text);
            }
        }
    }
}

/// The name under which an evaluation's [`Notes`] sit in its context.
pub const NOTES: &str = "__notes";

/// What helpers noticed during a run that the report should say once: the years a working-day
/// count reached that the holiday calendar does not cover (counted Monday to Friday there).
#[derive(Debug, Default)]
pub struct Notes {
    uncovered: std::sync::Mutex<std::collections::BTreeSet<i16>>,
}

impl minijinja::value::Object for Notes {}

impl Notes {
    /// The years counted Monday to Friday, sorted.
    pub fn uncovered_years(&self) -> Vec<i16> {
        self.uncovered
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
}

impl Notes {
    /// Notes years found uncovered elsewhere (a shard of the same run).
    pub fn note_years(&self, years: impl IntoIterator<Item = i16>) {
        if let Ok(mut set) = self.uncovered.lock() {
            set.extend(years);
        }
    }
}

fn note_uncovered(run: &dyn Run, years: Vec<i16>) {
    run.note(years);
}

fn note_in_state(state: &State, years: Vec<i16>) {
    if years.is_empty() {
        return;
    }
    if let Some(v) = state.lookup(NOTES) {
        if let Some(notes) = v.downcast_object_ref::<Notes>() {
            if let Ok(mut set) = notes.uncovered.lock() {
                set.extend(years);
            }
        }
    }
}

fn invalid(msg: impl Into<String>) -> JinjaError {
    JinjaError::new(JinjaErrorKind::InvalidOperation, msg.into())
}

fn is_missing(v: &Value) -> bool {
    v.is_undefined() || v.is_none()
}

/// The error a helper raises when a value it needs is missing. The engine reads it as "the
/// data is not there": a failed `assert`, a false `when` or `where`, never an `error`.
fn missing(what: &str) -> JinjaError {
    JinjaError::new(
        JinjaErrorKind::UndefinedError,
        format!("{what}: a date it needs is missing"),
    )
}

/// Whether an evaluation error means missing data rather than a broken expression or value.
pub fn is_missing_data(err: &JinjaError) -> bool {
    err.kind() == JinjaErrorKind::UndefinedError
}

/// Reads a value as a date or date-time; missing values raise [`missing`].
fn when(v: &Value, what: &str) -> Result<dates::When, JinjaError> {
    if is_missing(v) {
        return Err(missing(what));
    }
    match v.as_str() {
        Some(s) => dates::parse(s).map_err(|e| invalid(format!("{what}: {e}"))),
        None => Err(invalid(format!(
            "{what}: expected a date, got {} {v}",
            v.kind()
        ))),
    }
}

fn calendar_of(run: &dyn Run) -> Result<&'static Calendar, JinjaError> {
    run.calendar()
}

fn calendar_in_state(state: &State) -> Result<&'static Calendar, JinjaError> {
    let name = state
        .lookup("submission")
        .and_then(|s| s.get_attr("calendar").ok())
        .filter(|v| !is_missing(v))
        .map(|v| v.to_string())
        .unwrap_or_else(|| DEFAULT_CALENDAR.to_string());
    Calendar::builtin(&name).ok_or_else(|| {
        invalid(format!(
            "unknown holiday calendar '{name}' (shipped: {})",
            Calendar::builtin_ids().join(", ")
        ))
    })
}

/// `date(x)`: any accepted date form to an ISO date (`2025-03-05`).
fn date(x: Value) -> Result<Value, JinjaError> {
    Ok(Value::from(when(&x, "date")?.date().to_string()))
}

/// `days_between(a, b)`: `b - a` in whole days.
fn days_between(a: Value, b: Value) -> Result<Value, JinjaError> {
    let (a, b) = (when(&a, "days_between")?, when(&b, "days_between")?);
    Ok(Value::from(dates::days_between(a.date(), b.date())))
}

/// `hours_between(a, b)`: `b - a` in hours (fractional).
fn hours_between(a: Value, b: Value) -> Result<Value, JinjaError> {
    let (a, b) = (when(&a, "hours_between")?, when(&b, "hours_between")?);
    Ok(Value::from(dates::hours_between(a, b)))
}

/// `working_days_between(a, b)`: working days after `a` up to and including `b`.
pub(crate) fn working_days_between(
    state: &dyn Run,
    a: Value,
    b: Value,
) -> Result<Value, JinjaError> {
    let (a, b) = (
        when(&a, "working_days_between")?,
        when(&b, "working_days_between")?,
    );
    let cal = calendar_of(state)?;
    note_uncovered(state, cal.uncovered_years(a.date(), b.date()));
    cal.working_days_between(a.date(), b.date())
        .map(Value::from)
        .map_err(invalid)
}

/// `add_working_days(d, n)`: the first date `n` working days after `d`.
pub(crate) fn add_working_days(state: &dyn Run, d: Value, n: Value) -> Result<Value, JinjaError> {
    let d = when(&d, "add_working_days")?;
    if is_missing(&n) {
        return Err(missing("add_working_days"));
    }
    let n = i64::try_from(n.clone()).map_err(|_| {
        invalid(format!(
            "add_working_days: {n} is not a whole number of days"
        ))
    })?;
    let cal = calendar_of(state)?;
    let end = cal.add_working_days(d.date(), n).map_err(invalid)?;
    note_uncovered(state, cal.uncovered_years(d.date(), end));
    Ok(Value::from(end.to_string()))
}

/// `add_days(d, n)`: the date `n` calendar days after `d` (before it when `n` is negative), as
/// `YYYY-MM-DD`: `in_period(add_days(risk.date, params.crisis_plan_days))` asks whether a
/// deadline fell inside the period.
fn add_days(d: Value, n: Value) -> Result<Value, JinjaError> {
    let d = when(&d, "add_days")?;
    if is_missing(&n) {
        return Err(missing("add_days"));
    }
    let n = i64::try_from(n.clone())
        .ok()
        .filter(|n| n.abs() <= 1_000_000)
        .ok_or_else(|| invalid(format!("add_days: {n} is not a whole number of days")))?;
    let end = d
        .date()
        .checked_add(jiff::Span::new().days(n))
        .map_err(|e| invalid(format!("add_days: {e}")))?;
    Ok(Value::from(end.to_string()))
}

/// `overdue(items, start, end, limit[, unit])`: the items of a list whose `end` is missing (once
/// the deadline has come by the end of the period) or more than `limit` after their `start`; `unit` is `"days"` (the default), `"working_days"`
/// (on the submission's calendar) or `"hours"`. A session written up late, an incident
/// reported late.
pub(crate) fn overdue(
    state: &dyn Run,
    items: Value,
    args: minijinja::value::Rest<Value>,
) -> Result<Value, JinjaError> {
    overdue_of(state, items, &args)
}

/// `overdue` over its arguments after the items.
pub(crate) fn overdue_of(
    state: &dyn Run,
    items: Value,
    args: &[Value],
) -> Result<Value, JinjaError> {
    let usage = || invalid("overdue takes (items, start field, end field, limit[, unit])");
    let (start, end, limit, unit) = match args {
        [s, e, l] => (s, e, l.clone(), None),
        [s, e, l, u] => (
            s,
            e,
            l.clone(),
            Some(u.as_str().ok_or_else(usage)?.to_string()),
        ),
        _ => return Err(usage()),
    };
    let (start, end) = (
        start.as_str().ok_or_else(usage)?,
        end.as_str().ok_or_else(usage)?,
    );
    if is_missing(&items) {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let limit = f64::try_from(limit.clone())
        .ok()
        .filter(|l| l.is_finite() && !limit.is_undefined() && !limit.is_none())
        .ok_or_else(|| invalid(format!("overdue: the limit {limit} is not a number")))?;
    let unit = unit.unwrap_or_else(|| "days".to_string());
    let mut late = Vec::new();
    for item in items.try_iter()? {
        let a = item.get_attr(start)?;
        let b = item.get_attr(end)?;
        let (a, b) = match (when(&a, "overdue"), when(&b, "overdue")) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) if !is_missing_data(&e) => return Err(e),
            (Ok(a), _) if !due_by_period_end(state, a, limit, &unit)? => {
                // No end yet, and the deadline falls after the period: not yet late.
                continue;
            }
            _ => {
                late.push(item);
                continue;
            }
        };
        let elapsed = match unit.as_str() {
            "days" => dates::days_between(a.date(), b.date()) as f64,
            "hours" => dates::hours_between(a, b),
            "working_days" => {
                let cal = calendar_of(state)?;
                note_uncovered(state, cal.uncovered_years(a.date(), b.date()));
                cal.working_days_between(a.date(), b.date())
                    .map_err(invalid)? as f64
            }
            other => {
                return Err(invalid(format!(
                    "overdue: unit '{other}' is not days, working_days or hours"
                )))
            }
        };
        // An end before its start (a report dated before the incident) is not on time either.
        if elapsed > limit || elapsed < 0.0 {
            late.push(item);
        }
    }
    Ok(Value::from(late))
}

/// Whether a deadline `limit` (in `unit`) after `a` has come by the end of the period ("today"),
/// a deadline on the period's last day included; with no period, it has.
pub(crate) fn due_by_period_end(
    state: &dyn Run,
    a: dates::When,
    limit: f64,
    unit: &str,
) -> Result<bool, JinjaError> {
    let Ok((_, end)) = period_of(state) else {
        return Ok(true);
    };
    let elapsed = match unit {
        "hours" => {
            let close = dates::When::DateTime(
                end.to_datetime(jiff::civil::Time::midnight()),
                dates::local_offset(),
            );
            dates::hours_between(a, close) + 24.0
        }
        "working_days" => {
            let cal = calendar_of(state)?;
            note_uncovered(state, cal.uncovered_years(a.date(), end));
            cal.working_days_between(a.date(), end).map_err(invalid)? as f64
        }
        _ => dates::days_between(a.date(), end) as f64,
    };
    Ok(elapsed >= limit)
}

/// The submission period, from the `submission` in scope.
fn period_of(run: &dyn Run) -> Result<(jiff::civil::Date, jiff::civil::Date), JinjaError> {
    run.period()
}

fn period_in_state(state: &State) -> Result<(jiff::civil::Date, jiff::civil::Date), JinjaError> {
    let period = state
        .lookup("submission")
        .and_then(|s| s.get_attr("period").ok())
        .filter(|v| !is_missing(v))
        // With no period (single record files, a manifest without one) nothing can be placed
        // in it: unknown, like missing data, so a `when` leaves the record out.
        .ok_or_else(|| {
            JinjaError::new(
                JinjaErrorKind::UndefinedError,
                "the submission gives no period to place the date in",
            )
        })?;
    let read = |which: &str| -> Result<jiff::civil::Date, JinjaError> {
        let v = period.get_attr(which)?;
        when(&v, "the period").map(|w| w.date())
    };
    Ok((read("start")?, read("end")?))
}

/// `in_period(d)`: the date falls within the period, both ends included; missing is unknown.
pub(crate) fn in_period(state: &dyn Run, d: Value) -> Result<Value, JinjaError> {
    let (start, end) = period_of(state)?;
    let d = when(&d, "in_period")?.date();
    Ok(Value::from(start <= d && d <= end))
}

/// `before_period(d)`: the date falls before the period starts.
pub(crate) fn before_period(state: &dyn Run, d: Value) -> Result<Value, JinjaError> {
    let (start, _) = period_of(state)?;
    Ok(Value::from(when(&d, "before_period")?.date() < start))
}

/// `after_period(d)`: the date falls after the period ends.
pub(crate) fn after_period(state: &dyn Run, d: Value) -> Result<Value, JinjaError> {
    let (_, end) = period_of(state)?;
    Ok(Value::from(when(&d, "after_period")?.date() > end))
}

/// The test forms (`selectattr('date', 'in_period')`): a missing or unreadable date is not in
/// (or before, or after) the period.
pub(crate) fn in_period_test(state: &dyn Run, d: Value) -> bool {
    in_period(state, d).is_ok_and(|v| v.is_true())
}

pub(crate) fn before_period_test(state: &dyn Run, d: Value) -> bool {
    before_period(state, d).is_ok_and(|v| v.is_true())
}

pub(crate) fn after_period_test(state: &dyn Run, d: Value) -> bool {
    after_period(state, d).is_ok_and(|v| v.is_true())
}

/// `period_share(start, end)`: the share of the period's days that fall between `start` and
/// `end` (a missing start is the period's start, a missing end its end), for pro-rating.
pub(crate) fn period_share(state: &dyn Run, start: Value, end: Value) -> Result<Value, JinjaError> {
    let (ps, pe) = period_of(state)?;
    let read = |v: &Value, default| -> Result<jiff::civil::Date, JinjaError> {
        if is_missing(v) {
            Ok(default)
        } else {
            when(v, "period_share").map(|w| w.date())
        }
    };
    let (s, e) = (read(&start, ps)?.max(ps), read(&end, pe)?.min(pe));
    let total = dates::days_between(ps, pe) + 1;
    let covered = (dates::days_between(s, e) + 1).max(0);
    Ok(Value::from(covered as f64 / total as f64))
}

/// The dates of a list, read; missing entries are left out, unreadable ones are an error.
fn date_list(items: &Value, what: &str) -> Result<Vec<jiff::civil::Date>, JinjaError> {
    let mut out = Vec::new();
    if is_missing(items) {
        return Ok(out);
    }
    for item in items.try_iter()? {
        if is_missing(&item) {
            continue;
        }
        out.push(when(&item, what)?.date());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn whole_days(n: &Value, what: &str) -> Result<i64, JinjaError> {
    if is_missing(n) {
        return Err(missing(what));
    }
    i64::try_from(n.clone())
        .ok()
        .filter(|d| *d >= 0)
        .ok_or_else(|| invalid(format!("{what}: {n} is not a whole number of days")))
}

/// `missed_due(dates, every_days, until)`: for a duty that recurs every `every_days` after each
/// event (same-day events count once), the due dates inside the period, and not after `until`
/// when it is given, by which no further event had come. While the duty stays undone, it falls
/// due again every `every_days` days, so a file whose last event was years ago is judged on the
/// due dates that fall inside this period.
pub(crate) fn missed_due(
    state: &dyn Run,
    dates: Value,
    every: Value,
    until: Value,
) -> Result<Value, JinjaError> {
    let (start, end) = period_of(state)?;
    let every = whole_days(&every, "missed_due")?;
    if every == 0 {
        return Err(invalid("missed_due: the interval must be at least one day"));
    }
    let events = date_list(&dates, "missed_due")?;
    let last_day = if is_missing(&until) {
        end
    } else {
        when(&until, "missed_due")?.date().min(end)
    };
    let mut missed = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let next = events.get(i + 1).copied();
        // The first due date after this event that can fall inside the period.
        let behind = dates::days_between(*event, start);
        let mut k = if behind > every { behind / every } else { 1 };
        loop {
            let Ok(due) = event.checked_add(jiff::Span::new().days(every.saturating_mul(k))) else {
                break;
            };
            if due > last_day || next.is_some_and(|n| n <= due) {
                break;
            }
            if start <= due {
                missed.push(Value::from(due.to_string()));
            }
            k += 1;
        }
    }
    Ok(Value::from(missed))
}

/// `unanswered(items, field, answers, within_days)`: the items whose date in `field` has no date
/// among `answers` on the same day or up to `within_days` days later, once that deadline has come
/// by the end of the period. An item with no date is unanswered.
pub(crate) fn unanswered(
    state: &dyn Run,
    items: Value,
    field: String,
    answers: Value,
    within: Value,
) -> Result<Value, JinjaError> {
    let within = whole_days(&within, "unanswered")?;
    let answers = date_list(&answers, "unanswered")?;
    let mut out = Vec::new();
    if is_missing(&items) {
        return Ok(Value::from(out));
    }
    for item in items.try_iter()? {
        let at = item.get_attr(&field)?;
        let answered = match when(&at, "unanswered") {
            Ok(at) => {
                let at = at.date();
                answers.iter().any(|a| {
                    let d = dates::days_between(at, *a);
                    (0..=within).contains(&d)
                }) || !due_by_period_end(state, dates::When::Date(at), within as f64, "days")?
            }
            Err(e) if is_missing_data(&e) => false,
            Err(e) => return Err(e),
        };
        if !answered {
            out.push(item);
        }
    }
    Ok(Value::from(out))
}

/// The name under which a run's compiled [`Patterns`] sit in its contexts.
pub const PATTERNS: &str = "__patterns";

/// The regular expressions a run's `matches` calls name (literal texts and parameters),
/// compiled once before any record is read; a bad one keeps its error for the calls that use it.
#[derive(Debug, Default)]
pub struct Patterns {
    compiled: std::collections::BTreeMap<String, Result<Regex, String>>,
}

impl minijinja::value::Object for Patterns {}

impl Patterns {
    /// Compiles the patterns that the expressions' `matches` calls name, with the run's
    /// parameters.
    pub fn compile<'a>(
        sources: impl IntoIterator<Item = &'a str>,
        params: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Patterns {
        let mut compiled = std::collections::BTreeMap::new();
        for source in sources {
            for arg in guard::pattern_args(source) {
                let text = match arg {
                    guard::PatternArg::Literal(t) => t,
                    guard::PatternArg::Param(name) => {
                        match params.get(&name).and_then(serde_json::Value::as_str) {
                            Some(t) => t.to_string(),
                            None => continue,
                        }
                    }
                };
                compiled
                    .entry(text)
                    .or_insert_with_key(|t| compile_pattern(t));
            }
        }
        Patterns { compiled }
    }
}

fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("matches: bad regular expression: {e}"))
}

/// `matches(text, regex)`: whether the regular expression matches somewhere in the text. The
/// run's patterns were compiled before it began; one computed from a record is compiled here.
pub(crate) fn matches(run: &dyn Run, text: Value, pattern: String) -> Result<Value, JinjaError> {
    if is_missing(&text) {
        return Ok(Value::from(false));
    }
    let text = text
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| text.to_string());
    run.is_match(&pattern, &text).map(Value::from)
}

impl Patterns {
    /// Whether the pattern matches somewhere in the text; a pattern the run did not compile
    /// before it began (one computed from a record) is compiled here.
    pub fn is_match(&self, pattern: &str, text: &str) -> Result<bool, JinjaError> {
        match self.compiled.get(pattern) {
            Some(Ok(re)) => Ok(re.is_match(text)),
            Some(Err(e)) => Err(invalid(e.clone())),
            None => Ok(compile_pattern(pattern).map_err(invalid)?.is_match(text)),
        }
    }
}

/// What the helpers need to know about the run they serve: the period, the holiday calendar,
/// the compiled patterns, and where to note the years the calendar does not cover. The
/// template engine's state gives it from the context; the native evaluator from its plan.
pub trait Run {
    /// The submission period; missing data when the submission gives none.
    fn period(&self) -> Result<(jiff::civil::Date, jiff::civil::Date), JinjaError>;
    /// The submission's holiday calendar.
    fn calendar(&self) -> Result<&'static Calendar, JinjaError>;
    /// Notes years a working-day count reached that the calendar does not cover.
    fn note(&self, years: Vec<i16>);
    /// Whether a `matches` pattern matches the text.
    fn is_match(&self, pattern: &str, text: &str) -> Result<bool, JinjaError>;
}

impl Run for State<'_, '_> {
    fn period(&self) -> Result<(jiff::civil::Date, jiff::civil::Date), JinjaError> {
        period_in_state(self)
    }

    fn calendar(&self) -> Result<&'static Calendar, JinjaError> {
        calendar_in_state(self)
    }

    fn note(&self, years: Vec<i16>) {
        note_in_state(self, years);
    }

    fn is_match(&self, pattern: &str, text: &str) -> Result<bool, JinjaError> {
        let run = self.lookup(PATTERNS);
        match run
            .as_ref()
            .and_then(|v| v.downcast_object_ref::<Patterns>())
        {
            Some(p) => p.is_match(pattern, text),
            None => Ok(compile_pattern(pattern).map_err(invalid)?.is_match(text)),
        }
    }
}

/// The helpers that read the run, as the template engine calls them.
mod on_state {
    use super::{Run, State, Value};
    use minijinja::value::Rest;
    use minijinja::Error;

    macro_rules! on_state {
        ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
            $(pub(super) fn $name(state: &State, $($arg: $ty),*) -> $ret {
                super::$name(state as &dyn Run, $($arg),*)
            })*
        };
    }

    on_state! {
        working_days_between(a: Value, b: Value) -> Result<Value, Error>;
        add_working_days(d: Value, n: Value) -> Result<Value, Error>;
        overdue(items: Value, args: Rest<Value>) -> Result<Value, Error>;
        matches(text: Value, pattern: String) -> Result<Value, Error>;
        in_period(d: Value) -> Result<Value, Error>;
        before_period(d: Value) -> Result<Value, Error>;
        after_period(d: Value) -> Result<Value, Error>;
        period_share(start: Value, end: Value) -> Result<Value, Error>;
        missed_due(dates: Value, every: Value, until: Value) -> Result<Value, Error>;
        unanswered(items: Value, field: String, answers: Value, within: Value) -> Result<Value, Error>;
        in_period_test(d: Value) -> bool;
        before_period_test(d: Value) -> bool;
        after_period_test(d: Value) -> bool;
    }
}

fn as_code(x: &Value) -> Option<String> {
    if is_missing(x) {
        None
    } else {
        Some(
            x.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| x.to_string()),
        )
    }
}

/// `valid_id_number(x)`: the GB 11643 check character is right.
fn valid_id_number(x: Value) -> Value {
    Value::from(as_code(&x).is_some_and(|s| checksum::valid_id_number(&s)))
}

/// `valid_credit_code(x)`: the GB 32100 check character is right.
fn valid_credit_code(x: Value) -> Value {
    Value::from(as_code(&x).is_some_and(|s| checksum::valid_credit_code(&s)))
}

/// Any serialisable value as an expression value.
pub fn to_value<T: serde::Serialize>(x: &T) -> Value {
    Value::from(minijinja::value::Serde(x))
}

/// The record fields (dotted, without the `record.` prefix) and parameters an expression names.
pub fn referenced(names: impl IntoIterator<Item = String>) -> (Vec<String>, Vec<String>) {
    let mut fields = Vec::new();
    let mut params = Vec::new();
    for name in names {
        if let Some(rest) = name.strip_prefix("record.") {
            fields.push(rest.to_string());
        } else if let Some(rest) = name.strip_prefix("params.") {
            params.push(rest.split('.').next().unwrap_or(rest).to_string());
        }
    }
    fields.sort();
    params.sort();
    (fields, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn eval(expr: &str, record: serde_json::Value) -> Result<Value, JinjaError> {
        let e = environment().compile_expression(expr)?;
        e.eval(context! {
            record => to_value(&record),
            params => context!{ days => 7 },
            submission => context!{ calendar => "cn-mainland", period => context!{ end => "2025-12-31" } },
        })
    }

    #[test]
    fn patterns_named_by_literals_and_parameters_are_compiled_before_the_run() {
        let params: std::collections::BTreeMap<String, serde_json::Value> = [
            ("good".to_string(), serde_json::json!("\\d{18}")),
            ("bad".to_string(), serde_json::json!("(")),
        ]
        .into_iter()
        .collect();
        let patterns = Patterns::compile(
            [
                "matches(record.a, '^x') and not matches(record.b, params.good)",
                "matches(record.c, params.bad)",
            ],
            &params,
        );
        let mut keys: Vec<&String> = patterns.compiled.keys().collect();
        keys.sort();
        assert_eq!(keys, ["(", "\\d{18}", "^x"]);
        let run = |e: &str| {
            environment().compile_expression(e).unwrap().eval(context! {
                record => to_value(&serde_json::json!({"a": "xy", "b": "440308193604130231", "c": "z"})),
                params => to_value(&params),
                __patterns => Value::from_object(Patterns::compile([e], &params)),
            })
        };
        assert!(run("matches(record.a, '^x')").unwrap().is_true());
        assert!(run("matches(record.b, params.good)").unwrap().is_true());
        let err = run("matches(record.c, params.bad)").unwrap_err();
        assert!(err.to_string().contains("bad regular expression"), "{err}");
        // A pattern computed from the record is compiled when it is met.
        assert!(run("matches(record.a, record.a[:1])").unwrap().is_true());
    }

    #[test]
    fn missing_fields_are_undefined_and_never_abort() {
        let v = eval("record.assessment.date", serde_json::json!({})).unwrap();
        assert!(v.is_undefined());
        let err = eval(
            "days_between(record.intake.date, record.assessment.date) <= params.days",
            serde_json::json!({"intake": {"date": "2025-01-01"}}),
        )
        .unwrap_err();
        assert!(is_missing_data(&err), "{err}");
        let v = eval("record.assessment is not defined or days_between(record.intake.date, record.assessment.date) <= params.days", serde_json::json!({"intake": {"date": "2025-01-01"}})).unwrap();
        assert!(v.is_true());
        let v = eval("record.assessment is defined", serde_json::json!({})).unwrap();
        assert!(!v.is_true());
    }

    #[test]
    fn helpers_compute_on_record_values() {
        let r = serde_json::json!({"a": "2025/3/1", "b": "2025年3月8日", "t1": "2025-03-01 09:00", "t2": "2025-03-02T10:30:00+08:00"});
        assert_eq!(
            eval("days_between(record.a, record.b)", r.clone()).unwrap(),
            Value::from(7)
        );
        assert_eq!(
            eval("date(record.b)", r.clone()).unwrap(),
            Value::from("2025-03-08")
        );
        assert_eq!(
            eval("hours_between(record.t1, record.t2)", r.clone()).unwrap(),
            Value::from(25.5)
        );
        assert_eq!(
            eval("add_working_days('2024-04-01', 5)", r.clone()).unwrap(),
            Value::from("2024-04-09")
        );
        assert_eq!(
            eval("add_days(record.b, 30)", r.clone()).unwrap(),
            Value::from("2025-04-07")
        );
        assert_eq!(
            eval("add_days('2024-03-01', -1)", r.clone()).unwrap(),
            Value::from("2024-02-29")
        );
        assert!(is_missing_data(
            &eval("add_days(record.nothing, 3)", r.clone()).unwrap_err()
        ));
        assert!(eval("add_days(record.a, 'x')", r.clone()).is_err());
        assert_eq!(
            eval(
                "working_days_between('2024-04-01', '2024-04-09')",
                r.clone()
            )
            .unwrap(),
            Value::from(5)
        );
        assert!(eval(
            "matches('YT-2025-017', '^YT-\\\\d{4}-\\\\d{3}$')",
            r.clone()
        )
        .unwrap()
        .is_true());
        assert!(eval("valid_id_number('11010519491231002X')", r.clone())
            .unwrap()
            .is_true());
        assert!(!eval("valid_credit_code('91350100M000100Y44')", r)
            .unwrap()
            .is_true());
    }

    #[test]
    fn overdue_lists_items_late_or_undated() {
        let r = serde_json::json!({"s": [
            {"date": "2025-03-01", "recorded": "2025-03-02"},
            {"date": "2025-03-01", "recorded": "2025-03-09"},
            {"date": "2025-03-01"}
        ]});
        assert_eq!(
            eval(
                "overdue(record.s, 'date', 'recorded', 3) | length",
                r.clone()
            )
            .unwrap(),
            Value::from(2)
        );
        assert_eq!(
            eval(
                "overdue(record.none, 'date', 'recorded', 3) | length",
                r.clone()
            )
            .unwrap(),
            Value::from(0)
        );
        assert!(eval("overdue(record.s, 'date', 'recorded', 'x')", r.clone()).is_err());
        let t = serde_json::json!({"i": [
            {"at": "2025-03-01T08:00:00+08:00", "rep": "2025-03-02T09:00:00+08:00"},
            {"at": "2025-03-01T08:00:00+08:00", "rep": "2025-03-01T20:00:00+08:00"}
        ]});
        assert_eq!(
            eval(
                "overdue(record.i, 'at', 'rep', 24, 'hours') | length",
                t.clone()
            )
            .unwrap(),
            Value::from(1)
        );
        let w = serde_json::json!({"i": [{"at": "2025-02-28", "rep": "2025-03-03"}]});
        assert_eq!(
            eval(
                "overdue(record.i, 'at', 'rep', 0, 'working_days') | length",
                w.clone()
            )
            .unwrap(),
            Value::from(1)
        );
        assert_eq!(
            eval(
                "overdue(record.i, 'at', 'rep', 1, 'working_days') | length",
                w
            )
            .unwrap(),
            Value::from(0)
        );
        assert!(eval("overdue(record.i, 'at', 'rep', 1, 'weeks')", t).is_err());
    }

    fn eval_in(expr: &str, record: serde_json::Value) -> (Result<Value, JinjaError>, Vec<i16>) {
        let notes = std::sync::Arc::new(Notes::default());
        let e = environment().compile_expression(expr).unwrap();
        let out = e.eval(context! {
            record => to_value(&record),
            submission => context!{ calendar => "cn-mainland", period => context!{ start => "2025-01-01", end => "2025-12-31" } },
            __notes => Value::from_dyn_object(notes.clone()),
        });
        (out, notes.uncovered_years())
    }

    #[test]
    fn period_helpers_place_dates_and_treat_missing_as_unknown() {
        let r = serde_json::json!({"a": "2024-12-31", "b": "2025-06-01", "c": "2026-01-01T08:00:00+08:00",
            "list": [{"d": "2024-05-01"}, {"d": "2025-05-01"}, {}]});
        let t = |e: &str| eval_in(e, r.clone()).0.unwrap().is_true();
        assert!(t("before_period(record.a)") && !t("in_period(record.a)"));
        assert!(t("in_period(record.b)") && !t("after_period(record.b)"));
        assert!(t("after_period(record.c)"));
        assert!(t(
            "record.list | selectattr('d', 'in_period') | list | length == 1"
        ));
        assert!(t("record.b is in_period"));
        let err = eval_in("in_period(record.none)", r.clone()).0.unwrap_err();
        assert!(is_missing_data(&err), "{err}");
    }

    #[test]
    fn period_share_prorates_a_stay_inside_the_period() {
        let r = serde_json::json!({"s": "2025-07-01", "e": "2026-03-01", "old": "2019-01-01"});
        let v = |e: &str| f64::try_from(eval_in(e, r.clone()).0.unwrap()).unwrap();
        assert!((v("period_share(record.s, record.none)") - 184.0 / 365.0).abs() < 1e-12);
        assert_eq!(v("period_share(record.old, record.e)"), 1.0);
        assert_eq!(v("period_share(record.none, record.none)"), 1.0);
        assert_eq!(v("period_share(record.e, record.none)"), 0.0);
    }

    #[test]
    fn missed_due_judges_only_due_dates_inside_the_period() {
        let r = serde_json::json!({});
        let list = |e: &str| -> Vec<String> {
            eval_in(e, r.clone())
                .0
                .unwrap()
                .try_iter()
                .unwrap()
                .map(|v| v.to_string())
                .collect()
        };
        // Admitted 2019, last re-assessed 2024-10-01, then nothing: the due dates in 2025
        // (2025-03-30, then every 180 days while it stays undone) were missed; nothing before
        // 2025 is judged.
        assert_eq!(
            list("missed_due(['2019-01-10', '2019-03-01', '2024-10-01'], 180, none)"),
            vec!["2025-03-30", "2025-09-26"]
        );
        // Last assessed in 2019: only the due dates that fall in 2025 count.
        assert_eq!(
            list("missed_due(['2019-01-10'], 180, none)"),
            vec!["2025-06-07", "2025-12-04"]
        );
        // Two re-assessments on one day count once; one in time keeps the next due date.
        assert_eq!(
            list("missed_due(['2025-01-05', '2025-01-05', '2025-06-30'], 180, none)"),
            vec!["2025-12-27"]
        );
        assert!(list("missed_due(['2025-01-05', '2025-06-30'], 180, '2025-09-01')").is_empty());
    }

    #[test]
    fn unanswered_lists_items_without_an_answer_in_time() {
        let r = serde_json::json!({"inc": [{"at": "2025-03-01"}, {"at": "2025-05-01"}, {}],
            "re": ["2025-03-04", "2025-05-20"]});
        let (v, _) = eval_in("unanswered(record.inc, 'at', record.re, 7) | length", r);
        assert_eq!(v.unwrap(), Value::from(2));
    }

    #[test]
    fn working_days_outside_the_calendar_count_monday_to_friday_and_are_noted() {
        let (v, years) = eval_in(
            "working_days_between('2019-03-01', '2019-03-08')",
            serde_json::json!({}),
        );
        assert_eq!(v.unwrap(), Value::from(5));
        assert_eq!(years, vec![2019]);
        let (_, years) = eval_in(
            "working_days_between('2025-03-01', '2025-03-08')",
            serde_json::json!({}),
        );
        assert!(years.is_empty());
    }

    #[test]
    fn a_deadline_after_the_period_is_not_yet_late() {
        let r = serde_json::json!({
            "s": [{"date": "2025-12-30"}, {"date": "2025-12-20"}],
            "i": [{"at": "2025-12-31T20:00:00+08:00"}, {"at": "2025-12-30T20:00:00+08:00"}],
            "c": [{"d": "2025-12-29"}, {"d": "2025-12-01"}],
        });
        let n = |e: &str| eval_in(e, r.clone()).0.unwrap();
        // A note due 2026-01-02 is not late on 2025-12-31; one due 12-23 is.
        assert_eq!(
            n("overdue(record.s, 'date', 'recorded', 3) | length"),
            Value::from(1)
        );
        // A report due 2026-01-01 20:00 is not late yet; one due 12-31 20:00 is.
        assert_eq!(
            n("overdue(record.i, 'at', 'reported', 24, 'hours') | length"),
            Value::from(1)
        );
        assert_eq!(
            n("unanswered(record.c, 'd', [], 7) | length"),
            Value::from(1)
        );
    }

    #[test]
    fn overdue_counts_an_end_before_its_start() {
        let r = serde_json::json!({"i": [{"at": "2025-03-02T08:00:00+08:00", "rep": "2025-03-01T20:00:00+08:00"}]});
        let (v, _) = eval_in("overdue(record.i, 'at', 'rep', 24, 'hours') | length", r);
        assert_eq!(v.unwrap(), Value::from(1));
    }

    #[test]
    fn unreadable_dates_raise() {
        let err = eval(
            "days_between('2025-02-30', '2025-03-01')",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not a valid calendar date"),
            "{err}"
        );
        assert!(eval("matches('x', '(')", serde_json::json!({})).is_err());
    }

    #[test]
    fn runaway_evaluation_exhausts_the_step_budget() {
        let err = eval(
            "range(100000) | map('string') | join | length",
            serde_json::json!({}),
        );
        let err = match err {
            Err(e) => e,
            Ok(_) => eval("range(100000) | map('string') | map('length') | sum + (range(100000) | map('string') | map('length') | sum)", serde_json::json!({})).unwrap_err(),
        };
        assert_eq!(err.kind(), JinjaErrorKind::OutOfFuel);
    }

    #[test]
    fn referenced_splits_record_fields_and_parameters() {
        let e = environment()
            .compile_expression("record.intake.date and days_between(record.intake.date, record.assessment.date) <= params.assessment_days")
            .unwrap();
        let (fields, params) = referenced(e.undeclared_variables(true));
        assert_eq!(fields, vec!["assessment.date", "intake.date"]);
        assert_eq!(params, vec!["assessment_days"]);
    }
}
