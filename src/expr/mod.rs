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

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use minijinja::value::Value;
use minijinja::{
    Environment, Error as JinjaError, ErrorKind as JinjaErrorKind, State, UndefinedBehavior,
};
use regex::Regex;

pub use calendar::Calendar;
pub use minijinja::Expression;

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

/// Registers the helper functions on an environment.
pub fn add_helpers(env: &mut Environment<'_>) {
    env.add_function(guard::HELPER, guard::compare);
    env.add_function("date", date);
    env.add_function("days_between", days_between);
    env.add_function("hours_between", hours_between);
    env.add_function("working_days_between", working_days_between);
    env.add_function("add_working_days", add_working_days);
    env.add_function("overdue", overdue);
    env.add_function("matches", matches);
    env.add_function("valid_id_number", valid_id_number);
    env.add_function("valid_credit_code", valid_credit_code);
}

/// The names of the helper functions, for linting and documentation.
pub const HELPERS: &[&str] = &[
    "date",
    "days_between",
    "hours_between",
    "working_days_between",
    "add_working_days",
    "overdue",
    "matches",
    "valid_id_number",
    "valid_credit_code",
];

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

fn calendar_of(state: &State) -> Result<&'static Calendar, JinjaError> {
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
fn working_days_between(state: &State, a: Value, b: Value) -> Result<Value, JinjaError> {
    let (a, b) = (
        when(&a, "working_days_between")?,
        when(&b, "working_days_between")?,
    );
    calendar_of(state)?
        .working_days_between(a.date(), b.date())
        .map(Value::from)
        .map_err(invalid)
}

/// `add_working_days(d, n)`: the first date `n` working days after `d`.
fn add_working_days(state: &State, d: Value, n: Value) -> Result<Value, JinjaError> {
    let d = when(&d, "add_working_days")?;
    if is_missing(&n) {
        return Err(missing("add_working_days"));
    }
    let n = i64::try_from(n.clone()).map_err(|_| {
        invalid(format!(
            "add_working_days: {n} is not a whole number of days"
        ))
    })?;
    calendar_of(state)?
        .add_working_days(d.date(), n)
        .map(|d| Value::from(d.to_string()))
        .map_err(invalid)
}

/// `overdue(items, start, end, limit[, unit])`: the items of a list whose `end` is missing or
/// more than `limit` after their `start`; `unit` is `"days"` (the default), `"working_days"`
/// (on the submission's calendar) or `"hours"`. A session written up late, an incident
/// reported late.
fn overdue(
    state: &State,
    items: Value,
    args: minijinja::value::Rest<Value>,
) -> Result<Value, JinjaError> {
    let usage = || invalid("overdue takes (items, start field, end field, limit[, unit])");
    let (start, end, limit, unit) = match args.as_slice() {
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
            _ => {
                late.push(item);
                continue;
            }
        };
        let elapsed = match unit.as_str() {
            "days" => dates::days_between(a.date(), b.date()) as f64,
            "hours" => dates::hours_between(a, b),
            "working_days" => calendar_of(state)?
                .working_days_between(a.date(), b.date())
                .map_err(invalid)? as f64,
            other => {
                return Err(invalid(format!(
                    "overdue: unit '{other}' is not days, working_days or hours"
                )))
            }
        };
        if elapsed > limit {
            late.push(item);
        }
    }
    Ok(Value::from(late))
}

/// `matches(text, regex)`: whether the regular expression matches somewhere in the text.
fn matches(text: Value, pattern: String) -> Result<Value, JinjaError> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
    }
    if is_missing(&text) {
        return Ok(Value::from(false));
    }
    let text = text
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| text.to_string());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(&pattern) {
            let re = Regex::new(&pattern)
                .map_err(|e| invalid(format!("matches: bad regular expression: {e}")))?;
            cache.insert(pattern.clone(), re);
        }
        Ok(Value::from(
            cache.get(&pattern).is_some_and(|re| re.is_match(&text)),
        ))
    })
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

    #[test]
    fn unreadable_dates_and_uncovered_years_raise() {
        let err = eval(
            "days_between('2025-02-30', '2025-03-01')",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not a valid calendar date"),
            "{err}"
        );
        let err = eval("add_working_days('2027-01-04', 3)", serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("covers 2024–2026"), "{err}");
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
