//! Which fields of a record a message template reads: a walk over the template's syntax tree
//! that names the top-level fields behind every `record.field…` chain, and gives up (the whole
//! record) on anything it cannot follow. A finding's message is then rendered from only those
//! fields, masked and converted, instead of the whole record.

use std::collections::BTreeSet;

use minijinja::machinery::ast::{Expr, Stmt};

use crate::expr::guard::children;

/// The name the record has in a message's context.
const RECORD: &str = "record";

/// The top-level fields of `record` a template's text reads; `None` when it may read the whole
/// record: `record` used other than through an attribute (`{{ record }}`, `record | tojson`,
/// `record[key]`, `record is defined`), a method called on it (`record.items()`), a name
/// `record` bound in the template, or a statement that pulls in or defines other templates
/// (include, import, extends, macro, call, block, do). A text that does not parse gives `None`.
pub fn record_keys(source: &str) -> Option<BTreeSet<String>> {
    let ast = minijinja::machinery::parse(source, "message", Default::default()).ok()?;
    let mut reads = Reads::default();
    reads.stmt(&ast);
    (!reads.whole).then_some(reads.keys)
}

#[derive(Default)]
struct Reads {
    keys: BTreeSet<String>,
    whole: bool,
}

impl Reads {
    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                self.target(&f.target);
                self.expr(&f.iter);
                self.opt(f.filter_expr.as_ref());
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(c) => {
                self.expr(&c.expr);
                self.stmts(&c.true_body);
                self.stmts(&c.false_body);
            }
            Stmt::WithBlock(w) => {
                for (target, e) in &w.assignments {
                    self.target(target);
                    self.expr(e);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(s) => {
                self.target(&s.target);
                self.expr(&s.expr);
            }
            Stmt::SetBlock(s) => {
                self.target(&s.target);
                self.opt(s.filter.as_ref());
                self.stmts(&s.body);
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled);
                self.stmts(&a.body);
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter);
                self.stmts(&f.body);
            }
            Stmt::Continue(_) | Stmt::Break(_) => {}
            // Other templates, macros, blocks, `do`: not followed.
            _ => self.whole = true,
        }
    }

    /// A name bound by the template: binding `record` hides the record from what follows.
    fn target(&mut self, e: &Expr) {
        match e {
            Expr::Var(v) if v.id == RECORD => self.whole = true,
            Expr::List(l) => l.items.iter().for_each(|i| self.target(i)),
            Expr::Tuple(t) => t.items.iter().for_each(|i| self.target(i)),
            _ => {}
        }
    }

    fn opt(&mut self, e: Option<&Expr>) {
        if let Some(e) = e {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &Expr) {
        if let Some(key) = record_field(e) {
            self.keys.insert(key.to_string());
            return;
        }
        match e {
            Expr::Var(v) if v.id == RECORD => self.whole = true,
            // A method of the record itself (`record.items()`) reads all of it.
            Expr::Call(c) => {
                if let Expr::GetAttr(g) = &c.expr {
                    if matches!(&g.expr, Expr::Var(v) if v.id == RECORD) {
                        self.whole = true;
                    }
                }
            }
            _ => {}
        }
        children(e, &mut |c| self.expr(c));
    }
}

/// The top-level field a chain of attributes ending in `record` reads (`record.intake.date`:
/// `intake`).
fn record_field<'a>(e: &'a Expr<'a>) -> Option<&'a str> {
    let mut at = e;
    let mut nearest = None;
    while let Expr::GetAttr(g) = at {
        nearest = Some(g.name);
        at = &g.expr;
    }
    match at {
        Expr::Var(v) if v.id == RECORD => nearest,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::record_keys;

    fn keys(list: &[&str]) -> Option<std::collections::BTreeSet<String>> {
        Some(list.iter().map(|k| k.to_string()).collect())
    }

    /// Attribute chains name their top-level field, wherever they stand (in a slice, a filter's
    /// argument, a loop, a `set`).
    #[test]
    fn attribute_chains_name_their_top_level_field() {
        assert_eq!(
            record_keys(
                "{% set m = ([record.correction.start, record.intake.date] | select | max)[:8] %}\
                 {% for s in record.sessions if s.date > record.closure.date %}{{ s.date }}{% endfor %}\
                 {{ params.days }} {{ submission.period.start }}"
            ),
            keys(&["closure", "correction", "intake", "sessions"])
        );
        assert_eq!(record_keys("{{ params.days }} days"), keys(&[]));
        assert_eq!(record_keys("{{ record.a.b | default('x') }}"), keys(&["a"]));
    }

    /// Anything the walk cannot follow keeps the whole record.
    #[test]
    fn a_message_that_may_read_the_whole_record_gets_it() {
        for text in [
            "{{ record }}",
            "{{ record | tojson }}",
            "{{ record[params.field] }}",
            "{{ record['a'] }}",
            "{% if record is defined %}x{% endif %}",
            "{{ record.items() | length }}",
            "{% set record = other %}{{ record.a }}",
            "{% for record in list %}{{ record.a }}{% endfor %}",
            "{% include 'other' %}",
            "{% macro m(x) %}{{ record.a }}{% endmacro %}{{ m(1) }}",
            "{% do record.update(x) %}",
            "{{ unclosed",
        ] {
            assert_eq!(record_keys(text), None, "{text}");
        }
    }
}
