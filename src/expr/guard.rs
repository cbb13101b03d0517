//! Comparisons that treat missing data as unknown.
//!
//! In MiniJinja an undefined value sorts below every other value, so `record.x <= 5` would be
//! true for a record without `x` — a requirement met by missing data. Before an expression is
//! compiled, its ordering comparisons (`<`, `<=`, `>`, `>=`) are rewritten into calls of the
//! helper `__cmp`, which gives undefined when either side is missing (so an `assert` fails and a
//! `when` is false), refuses to order a number against a text, and otherwise compares as
//! MiniJinja does. Equality, `in` and everything else keep their meaning.
//!
//! The rewrite prints the parsed expression back, fully parenthesised; the printed text is what
//! gets compiled, and the author's text is what errors and `explain` show.

use std::fmt::Write as _;

use minijinja::machinery::ast::{self, BinOpKind, CallArg, Expr, UnaryOpKind};
use minijinja::machinery::parse_expr;
use minijinja::value::{Value, ValueKind};
use minijinja::{Error as JinjaError, ErrorKind as JinjaErrorKind};

/// The name of the comparison helper.
pub const HELPER: &str = "__cmp";

/// The expression with its ordering comparisons guarded; `None` when it does not parse (the
/// caller compiles the original and reports its error).
pub fn guard(source: &str) -> Option<String> {
    let expr = parse_expr(source).ok()?;
    let mut out = String::with_capacity(source.len() * 2);
    print(&expr, &mut out);
    Some(out)
}

/// The guarded text of each operand of an expression's top-level `and`s, in order (the whole
/// expression when it is no conjunction): the parts a failed requirement is traced to.
pub fn conjuncts(source: &str) -> Vec<String> {
    fn collect(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::BinOp(b) if matches!(b.op, BinOpKind::ScAnd) => {
                collect(&b.left, out);
                collect(&b.right, out);
            }
            other => {
                let mut text = String::new();
                print(other, &mut text);
                out.push(text);
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(expr) = parse_expr(source) {
        collect(&expr, &mut out);
    }
    out
}

/// What a `matches(text, pattern)` call names as its pattern, when that is known before any
/// record is read: a literal text, or a parameter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PatternArg {
    Literal(String),
    Param(String),
}

/// Hands each expression directly inside `e` (its operands, arguments, items) to `each`.
pub(crate) fn children<'a>(e: &Expr<'a>, each: &mut dyn FnMut(&Expr<'a>)) {
    let args = |list: &[CallArg<'a>], each: &mut dyn FnMut(&Expr<'a>)| {
        for arg in list {
            match arg {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => each(e),
            }
        }
    };
    match e {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            each(&s.expr);
            for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                each(part);
            }
        }
        Expr::UnaryOp(u) => each(&u.expr),
        Expr::BinOp(b) => {
            each(&b.left);
            each(&b.right);
        }
        Expr::Compare(c) => {
            each(&c.expr);
            for step in &c.ops {
                each(&step.expr);
            }
        }
        Expr::IfExpr(i) => {
            each(&i.test_expr);
            each(&i.true_expr);
            if let Some(f) = &i.false_expr {
                each(f);
            }
        }
        Expr::Filter(f) => {
            if let Some(e) = &f.expr {
                each(e);
            }
            args(&f.args, each);
        }
        Expr::Test(t) => {
            each(&t.expr);
            args(&t.args, each);
        }
        Expr::GetAttr(g) => each(&g.expr),
        Expr::GetItem(g) => {
            each(&g.expr);
            each(&g.subscript_expr);
        }
        Expr::Call(c) => {
            each(&c.expr);
            args(&c.args, each);
        }
        Expr::List(l) => l.items.iter().for_each(each),
        Expr::Tuple(t) => t.items.iter().for_each(each),
        Expr::Map(m) => m.keys.iter().chain(&m.values).for_each(each),
    }
}

/// The patterns an expression's `matches` calls name.
pub fn pattern_args(source: &str) -> Vec<PatternArg> {
    fn walk(e: &Expr, out: &mut Vec<PatternArg>) {
        if let Expr::Call(c) = e {
            if matches!(&c.expr, Expr::Var(v) if v.id == "matches") {
                match c.args.get(1) {
                    Some(CallArg::Pos(Expr::Const(k))) => {
                        if let Some(text) = k.value.as_str() {
                            out.push(PatternArg::Literal(text.to_string()));
                        }
                    }
                    Some(CallArg::Pos(Expr::GetAttr(g))) => {
                        if matches!(&g.expr, Expr::Var(v) if v.id == "params") {
                            out.push(PatternArg::Param(g.name.to_string()));
                        }
                    }
                    _ => {}
                }
            }
        }
        children(e, &mut |c| walk(c, out));
    }
    let mut out = Vec::new();
    if let Ok(expr) = parse_expr(source) {
        walk(&expr, &mut out);
    }
    out
}

fn op_name(op: BinOpKind) -> Option<&'static str> {
    Some(match op {
        BinOpKind::Lt => "<",
        BinOpKind::Lte => "<=",
        BinOpKind::Gt => ">",
        BinOpKind::Gte => ">=",
        _ => return None,
    })
}

fn compare_op_name(op: ast::CompareOpKind) -> &'static str {
    match op {
        ast::CompareOpKind::Eq => "==",
        ast::CompareOpKind::Ne => "!=",
        ast::CompareOpKind::Lt => "<",
        ast::CompareOpKind::Lte => "<=",
        ast::CompareOpKind::Gt => ">",
        ast::CompareOpKind::Gte => ">=",
        ast::CompareOpKind::In => "in",
        ast::CompareOpKind::NotIn => "not in",
    }
}

fn binop_text(op: BinOpKind) -> &'static str {
    match op {
        BinOpKind::Eq => "==",
        BinOpKind::Ne => "!=",
        BinOpKind::Lt => "<",
        BinOpKind::Lte => "<=",
        BinOpKind::Gt => ">",
        BinOpKind::Gte => ">=",
        BinOpKind::ScAnd => "and",
        BinOpKind::ScOr => "or",
        BinOpKind::Add => "+",
        BinOpKind::Sub => "-",
        BinOpKind::Mul => "*",
        BinOpKind::Div => "/",
        BinOpKind::FloorDiv => "//",
        BinOpKind::Rem => "%",
        BinOpKind::Pow => "**",
        BinOpKind::Concat => "~",
        BinOpKind::In => "in",
    }
}

fn string_literal(s: &str, out: &mut String) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

fn constant(v: &Value, out: &mut String) {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("none"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            // A whole-number float (`2.0`, `1e3`) stays a float: `n ~ 2.0` and `7 // 2.0` are
            // not what the integer would give.
            if let Some(i) = v
                .is_integer()
                .then(|| i64::try_from(v.clone()).ok())
                .flatten()
            {
                let _ = write!(out, "{i}");
            } else if let Ok(f) = f64::try_from(v.clone()) {
                let _ = write!(out, "{f:?}");
            } else {
                let _ = write!(out, "{v}");
            }
        }
        ValueKind::String => string_literal(v.as_str().unwrap_or_default(), out),
        ValueKind::Seq => {
            out.push('[');
            for (i, item) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                constant(&item, out);
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            for (i, key) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                constant(&key, out);
                out.push_str(": ");
                constant(&v.get_item(&key).unwrap_or_default(), out);
            }
            out.push('}');
        }
        _ => {
            let _ = write!(out, "{v}");
        }
    }
}

fn args(list: &[CallArg], out: &mut String) {
    out.push('(');
    for (i, arg) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match arg {
            CallArg::Pos(e) => print(e, out),
            CallArg::Kwarg(name, e) => {
                out.push_str(name);
                out.push('=');
                print(e, out);
            }
            CallArg::PosSplat(e) => {
                out.push('*');
                print(e, out);
            }
            CallArg::KwargSplat(e) => {
                out.push_str("**");
                print(e, out);
            }
        }
    }
    out.push(')');
}

fn guarded(left: &Expr, op: &str, right: &Expr, out: &mut String) {
    out.push_str(HELPER);
    out.push('(');
    print(left, out);
    out.push_str(", ");
    string_literal(op, out);
    out.push_str(", ");
    print(right, out);
    out.push(')');
}

/// Prints a parsed expression back, fully parenthesised, its ordering comparisons guarded.
pub(crate) fn print(e: &Expr, out: &mut String) {
    match e {
        Expr::Var(v) => out.push_str(v.id),
        Expr::Const(c) => constant(&c.value, out),
        Expr::Slice(s) => {
            out.push('(');
            print(&s.expr, out);
            out.push_str(")[");
            for (i, part) in [&s.start, &s.stop, &s.step].into_iter().enumerate() {
                if i > 0 {
                    out.push(':');
                }
                if let Some(p) = part {
                    print(p, out);
                }
            }
            out.push(']');
        }
        Expr::UnaryOp(u) => {
            out.push_str(match u.op {
                UnaryOpKind::Not => "(not ",
                UnaryOpKind::Neg => "(-",
            });
            print(&u.expr, out);
            out.push(')');
        }
        Expr::BinOp(b) => match op_name(b.op) {
            Some(op) => guarded(&b.left, op, &b.right, out),
            None => {
                out.push('(');
                print(&b.left, out);
                out.push(' ');
                out.push_str(binop_text(b.op));
                out.push(' ');
                print(&b.right, out);
                out.push(')');
            }
        },
        Expr::Compare(c) => {
            // a < b < c is (a < b) and (b < c).
            out.push('(');
            let mut left = &c.expr;
            for (i, step) in c.ops.iter().enumerate() {
                if i > 0 {
                    out.push_str(" and ");
                }
                let name = compare_op_name(step.op);
                if matches!(name, "<" | "<=" | ">" | ">=") {
                    guarded(left, name, &step.expr, out);
                } else {
                    out.push('(');
                    print(left, out);
                    out.push(' ');
                    out.push_str(name);
                    out.push(' ');
                    print(&step.expr, out);
                    out.push(')');
                }
                left = &step.expr;
            }
            out.push(')');
        }
        Expr::IfExpr(i) => {
            out.push('(');
            print(&i.true_expr, out);
            out.push_str(" if ");
            print(&i.test_expr, out);
            if let Some(f) = &i.false_expr {
                out.push_str(" else ");
                print(f, out);
            }
            out.push(')');
        }
        Expr::Filter(f) => {
            out.push('(');
            if let Some(e) = &f.expr {
                print(e, out);
            }
            out.push_str(" | ");
            out.push_str(f.name);
            if !f.args.is_empty() {
                args(&f.args, out);
            }
            out.push(')');
        }
        Expr::Test(t) => {
            out.push('(');
            print(&t.expr, out);
            out.push_str(" is ");
            out.push_str(t.name);
            if !t.args.is_empty() {
                args(&t.args, out);
            }
            out.push(')');
        }
        Expr::GetAttr(g) => {
            print(&g.expr, out);
            out.push('.');
            out.push_str(g.name);
        }
        Expr::GetItem(g) => {
            print(&g.expr, out);
            out.push('[');
            print(&g.subscript_expr, out);
            out.push(']');
        }
        Expr::Call(c) => {
            print(&c.expr, out);
            args(&c.args, out);
        }
        Expr::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print(item, out);
            }
            out.push(']');
        }
        Expr::Tuple(t) => {
            out.push('(');
            for item in &t.items {
                print(item, out);
                out.push_str(", ");
            }
            out.push(')');
        }
        Expr::Map(m) => {
            out.push('{');
            for (i, (k, v)) in m.keys.iter().zip(&m.values).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print(k, out);
                out.push_str(": ");
                print(v, out);
            }
            out.push('}');
        }
    }
}

fn missing(v: &Value) -> bool {
    v.is_undefined() || v.is_none()
}

fn orderable(a: &Value, b: &Value) -> bool {
    let numeric = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    (numeric(a) && numeric(b)) || a.kind() == b.kind()
}

/// `__cmp(a, op, b)`: the comparison, undefined when a side is missing, an error when the two
/// sides cannot be ordered against each other (a number and a text).
pub fn compare(a: Value, op: String, b: Value) -> Result<Value, JinjaError> {
    if missing(&a) || missing(&b) {
        return Ok(Value::UNDEFINED);
    }
    if !orderable(&a, &b) {
        return Err(JinjaError::new(
            JinjaErrorKind::InvalidOperation,
            format!("cannot compare {} {a} {op} {} {b}", a.kind(), b.kind()),
        ));
    }
    let result = match op.as_str() {
        "<" => a < b,
        "<=" => a <= b,
        ">" => a > b,
        ">=" => a >= b,
        other => {
            return Err(JinjaError::new(
                JinjaErrorKind::InvalidOperation,
                format!("unknown comparison {other}"),
            ))
        }
    };
    Ok(Value::from(result))
}

#[cfg(test)]
mod tests {

    /// Every expression of every shipped standard, as it is printed back before compiling: a
    /// change in the template engine's parser (whose machinery API is pinned to one release)
    /// shows here as a changed snapshot, not as a silently different evaluation.
    #[test]
    fn every_shipped_expression_reprints_as_before() {
        use crate::standard::{Registry, Standard, Target};
        let registry = Registry::builtin();
        let mut out = String::new();
        for id in registry.ids() {
            let standard = Standard::load(&registry, &id).unwrap();
            let mut line = |item: &str, what: &str, source: &str| {
                let printed = super::guard(source).unwrap_or_else(|| "(does not parse)".into());
                out.push_str(&format!("{id} {item} {what}: {printed}\n"));
            };
            for rule in &standard.rules {
                if let Some(when) = &rule.def.when {
                    line(&rule.def.id, "when", when);
                }
                line(&rule.def.id, "assert", &rule.def.assert);
            }
            for ind in &standard.indicators {
                if let Some(w) = &ind.def.where_ {
                    line(&ind.def.id, "where", w);
                }
                if let Some(v) = &ind.def.value {
                    line(&ind.def.id, "value", v);
                }
                if let Target::Expr(t) = &ind.def.target {
                    line(&ind.def.id, "target", t);
                }
            }
        }
        assert!(
            out.lines().count() > 500,
            "{} expressions",
            out.lines().count()
        );
        insta::assert_snapshot!(out);
    }
    use super::*;
    use minijinja::context;

    fn both(src: &str, record: serde_json::Value) -> (Value, Value) {
        let env = crate::expr::environment();
        let ctx = context! { record => crate::expr::to_value(&record), params => context! { limit => 7, risks => vec!["a", "b"] } };
        let plain = env
            .compile_expression(src)
            .unwrap()
            .eval(ctx.clone())
            .unwrap();
        let text = guard(src).unwrap();
        let guarded = env
            .compile_expression_owned(text.clone())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .eval(ctx)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        (plain, guarded)
    }

    #[test]
    fn the_rewrite_keeps_the_meaning_of_expressions_over_present_data() {
        let r = serde_json::json!({"x": 3, "y": "2025-03-01", "s": [{"n": "a"}, {"n": ""}], "m": {"a": "high", "b": "low"}, "t": "it's \"q\"\n"});
        for src in [
            "record.x <= params.limit",
            "(record.x + 1) * 2 > 7 and not record.x >= 4",
            "1 < record.x < 5",
            "1 < record.x <= 2",
            "record.x == 3 and record.x != 4 and 'a' in params.risks and 'z' not in params.risks",
            "record.y >= '2025-01-01'",
            "record.s | rejectattr('n') | list | length == 1",
            "record.m | dictsort | selectattr(1, 'eq', 'high') | map(attribute=0) | list",
            "params.risks | reject('in', record.m) | list | length == 0",
            "record.x if record.x > 2 else -record.x",
            "record.t ~ 'x' ~ record.x",
            "[1, 2.5, none, true, {'k': 'v'}][1] <= 2.5",
            "record.s[0].n == 'a' and record.s[1:] | length == 1",
            "range(10) | select('odd') | list | length >= 5",
            "record.x // 2 + record.x % 2 + 2 ** 3 - 10 / 4",
            "days_between('2025-01-01', record.y) <= 59 and (record.x > 1) is true",
            "{'a': 1}.a < 2",
            "(record.x, 2)[0] < 4",
        ] {
            let (plain, guarded) = both(src, r.clone());
            assert_eq!(plain, guarded, "{src}\n→ {}", guard(src).unwrap());
        }
    }

    #[test]
    fn a_comparison_with_missing_data_is_unknown_and_fails() {
        let (plain, guarded) = both("record.x <= params.limit", serde_json::json!({}));
        assert!(plain.is_true(), "MiniJinja alone passes missing data");
        assert!(guarded.is_undefined());
        let (_, guarded) = both(
            "record.a.b > 1 or record.z is not defined",
            serde_json::json!({}),
        );
        assert!(guarded.is_true());
        let (_, guarded) = both("record.x < 5", serde_json::json!({"x": null}));
        assert!(!guarded.is_true());
    }

    #[test]
    fn ordering_a_number_against_a_text_is_an_error() {
        let env = crate::expr::environment();
        let e = env
            .compile_expression_owned(guard("record.x < 5").unwrap())
            .unwrap();
        let err = e
            .eval(context! { record => context! { x => "4" } })
            .unwrap_err();
        assert!(err.to_string().contains("cannot compare"), "{err}");
    }
}
