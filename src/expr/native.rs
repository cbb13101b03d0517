//! A native evaluator for the part of the expression language the shipped guides use.
//!
//! Each expression is compiled once, at load, from its guarded text (see [`super::guard`]) into
//! a tree of [`Node`]s that reads the record as it was parsed: no second copy of the record is
//! built for the template engine, and no bytecode is interpreted. The helpers are the same
//! functions the template engine calls, so dates, periods and calendars are read one way.
//!
//! The evaluator gives up ([`Bail`]) whenever it meets a case it does not model exactly as
//! MiniJinja does: a construct outside the subset, a value of a type it does not handle in
//! that place, any error (so every error message comes from one place), or more work than
//! [`STEPS`] (so MiniJinja's step budget decides runaway evaluations). The caller then
//! evaluates the expression with MiniJinja. A test runs every shipped expression both ways
//! on every fixture record.

use std::cell::Cell;
use std::cmp::Ordering;
use std::rc::Rc;

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, UnaryOpKind};
use minijinja::machinery::parse_expr;
use minijinja::value::{Value as JValue, ValueKind};
use serde_json::Value as Json;

use super::Run;

/// The native evaluator cannot give MiniJinja's answer for this evaluation.
#[derive(Debug)]
pub struct Bail;

type R<T> = Result<T, Bail>;

/// The work (items visited, bytes searched) one native evaluation may do before it leaves the
/// evaluation to MiniJinja and its step budget; far below what that budget allows.
pub const STEPS: u32 = 20_000;

/// A compiled expression.
#[derive(Debug)]
pub struct Program {
    root: Node,
}

/// What a native evaluation reads: the record, the parameters and the submission as parsed,
/// and the run the helpers consult.
pub struct Scope<'a> {
    pub record: &'a Json,
    pub params: &'a Json,
    pub submission: &'a Json,
    pub run: &'a dyn Run,
    /// The values of the shared subexpressions computed so far for this record.
    pub memo: Memo<'a>,
}

/// The values of a record's shared subexpressions, each computed once: an expression is a
/// function of the record, the parameters and the submission alone, so a subexpression that
/// many rules share (`before_period(record.closure.date)`) has one value per record.
pub struct Memo<'a> {
    slots: std::cell::RefCell<Vec<Option<V<'a>>>>,
}

impl Memo<'_> {
    /// A memo with the standard's number of shared subexpressions.
    pub fn new(slots: usize) -> Self {
        Memo {
            slots: std::cell::RefCell::new(vec![None; slots]),
        }
    }
}

/// The subexpressions (helper calls and filters, by their printed text) met while a
/// standard's expressions are compiled, and how often each is met.
#[derive(Debug, Default)]
pub struct Interner {
    ids: std::collections::HashMap<String, u32>,
    counts: Vec<u32>,
}

impl Interner {
    fn intern(&mut self, text: String) -> Option<u32> {
        if let Some(&id) = self.ids.get(&text) {
            if let Some(c) = self.counts.get_mut(id as usize) {
                *c += 1;
            }
            return Some(id);
        }
        let id = u32::try_from(self.counts.len()).ok()?;
        self.ids.insert(text, id);
        self.counts.push(1);
        Some(id)
    }

    /// Per interned subexpression, its memo slot when it is met more than once, and the
    /// number of slots.
    pub fn slots(&self) -> (Vec<Option<u32>>, usize) {
        let mut next = 0u32;
        let map = self
            .counts
            .iter()
            .map(|&c| {
                (c > 1).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        (map, next as usize)
    }
}

impl Program {
    /// Compiles an expression's guarded text; `None` when it uses anything outside the subset
    /// (it is then always evaluated by MiniJinja).
    pub fn compile(guarded: &str, shared: &mut Interner) -> Option<Program> {
        let expr = parse_expr(guarded).ok()?;
        Some(Program {
            root: node(&expr, shared)?,
        })
    }

    /// Keeps the memo only for the subexpressions met more than once, in their slots.
    pub fn share(&mut self, slots: &[Option<u32>]) {
        fn walk(n: &mut Node, slots: &[Option<u32>]) {
            if let Node::Memo(id, inner) = n {
                walk(inner, slots);
                match slots.get(*id as usize).copied().flatten() {
                    Some(slot) => *id = slot,
                    None => {
                        let inner = std::mem::replace(&mut **inner, Node::Lit(Lit::None));
                        *n = inner;
                    }
                }
                return;
            }
            n.children_mut().into_iter().for_each(|c| walk(c, slots));
        }
        walk(&mut self.root, slots);
    }

    /// Evaluates the expression; the value is what MiniJinja would give.
    pub fn eval<'a>(&'a self, scope: &'a Scope<'a>) -> R<JValue> {
        let cx = Cx {
            scope,
            steps: Cell::new(0),
        };
        let v = cx.eval(&self.root)?;
        to_jinja(&v)
    }
}

#[derive(Debug, Clone, Copy)]
enum Root {
    Record,
    Params,
    Submission,
}

#[derive(Debug)]
enum Lit {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    List(Vec<Lit>),
    /// A map of constants (`{'low': 1, 'high': 3}`), held as the records' objects are.
    Map(Json),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Rem,
    Concat,
    Eq,
    Ne,
    In,
}

#[derive(Debug, Clone, Copy)]
enum TestName {
    Defined,
    Undefined,
    None,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    InPeriod,
    BeforePeriod,
    AfterPeriod,
}

#[derive(Debug)]
enum Seg {
    Name(Box<str>),
    Index(usize),
}

#[derive(Debug)]
enum Filter {
    Default(Box<Node>),
    Length,
    List,
    /// `first` (false) or `last` (true).
    End(bool),
    Trim,
    Dictsort,
    Sum,
    Unique,
    Int,
    Join(Box<Node>),
    Select {
        invert: bool,
        attr: Option<Vec<Seg>>,
        test: Option<TestName>,
        args: Vec<Node>,
    },
    MapAttr {
        path: Vec<Seg>,
        default: Option<Box<Node>>,
    },
    MinMax {
        max: bool,
        attr: Option<Vec<Seg>>,
    },
    Sort {
        attr: Option<Vec<Seg>>,
    },
}

#[derive(Debug, Clone, Copy)]
enum Helper {
    Cmp,
    Date,
    DaysBetween,
    HoursBetween,
    WorkingDaysBetween,
    AddWorkingDays,
    AddDays,
    Overdue,
    Matches,
    ValidIdNumber,
    ValidCreditCode,
    InPeriod,
    BeforePeriod,
    AfterPeriod,
    PeriodShare,
    MissedDue,
    Unanswered,
}

#[derive(Debug)]
enum Node {
    Lit(Lit),
    Root(Root),
    Attr(Box<Node>, Box<str>),
    Item(Box<Node>, Box<Node>),
    Slice(Box<Node>, Option<Box<Node>>, Option<Box<Node>>),
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Bin(Op, Box<Node>, Box<Node>),
    If(Box<Node>, Box<Node>, Option<Box<Node>>),
    Filter(Filter, Box<Node>),
    Test(TestName, Box<Node>, Vec<Node>),
    Call(Helper, Vec<Node>),
    List(Vec<Node>),
    /// A subexpression other expressions share, by its id (its memo slot once shared).
    Memo(u32, Box<Node>),
}

impl Node {
    fn children_mut(&mut self) -> Vec<&mut Node> {
        let mut out: Vec<&mut Node> = Vec::new();
        match self {
            Node::Lit(_) | Node::Root(_) => {}
            Node::Attr(b, _) | Node::Not(b) | Node::Neg(b) | Node::Memo(_, b) => out.push(b),
            Node::Item(a, b) | Node::And(a, b) | Node::Or(a, b) | Node::Bin(_, a, b) => {
                out.push(a);
                out.push(b);
            }
            Node::Slice(a, b, c) => {
                out.push(a);
                out.extend(b.iter_mut().map(|x| &mut **x));
                out.extend(c.iter_mut().map(|x| &mut **x));
            }
            Node::If(a, b, c) => {
                out.push(a);
                out.push(b);
                out.extend(c.iter_mut().map(|x| &mut **x));
            }
            Node::Filter(f, on) => {
                out.push(on);
                match f {
                    Filter::Default(x) | Filter::Join(x) => out.push(x),
                    Filter::Select { args, .. } => out.extend(args.iter_mut()),
                    Filter::MapAttr {
                        default: Some(d), ..
                    } => out.push(d),
                    _ => {}
                }
            }
            Node::Test(_, on, args) => {
                out.push(on);
                out.extend(args.iter_mut());
            }
            Node::Call(_, args) | Node::List(args) => out.extend(args.iter_mut()),
        }
        out
    }
}

// ---- compiling ----

fn boxed(e: &Expr, sh: &mut Interner) -> Option<Box<Node>> {
    node(e, sh).map(Box::new)
}

fn lit(v: &JValue) -> Option<Lit> {
    Some(match v.kind() {
        ValueKind::None => Lit::None,
        ValueKind::Bool => Lit::Bool(v.is_true()),
        ValueKind::Number if v.is_integer() => Lit::Int(i64::try_from(v.clone()).ok()?),
        ValueKind::Number => Lit::Float(f64::try_from(v.clone()).ok()?),
        ValueKind::String => Lit::Str(v.as_str()?.into()),
        ValueKind::Seq if !v.is_tuple() => {
            Lit::List(v.try_iter().ok()?.map(|i| lit(&i)).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

fn positional<'e, 's>(args: &'e [CallArg<'s>]) -> Option<Vec<&'e Expr<'s>>> {
    args.iter()
        .map(|a| match a {
            CallArg::Pos(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn const_str<'e>(e: &'e Expr) -> Option<&'e str> {
    match e {
        Expr::Const(c) => c.value.as_str(),
        _ => None,
    }
}

fn path(text: &str) -> Vec<Seg> {
    text.split('.')
        .map(|part| match part.parse::<usize>() {
            Ok(i) => Seg::Index(i),
            Err(_) => Seg::Name(part.into()),
        })
        .collect()
}

/// An attribute argument: a text (a dotted path) or a whole number (an index).
fn attr_arg(e: &Expr) -> Option<Vec<Seg>> {
    match e {
        Expr::Const(c) => match c.value.as_str() {
            Some(s) => Some(path(s)),
            None if c.value.is_integer() => {
                Some(path(&i64::try_from(c.value.clone()).ok()?.to_string()))
            }
            None => None,
        },
        _ => None,
    }
}

fn test_name(name: &str) -> Option<TestName> {
    Some(match name {
        "defined" => TestName::Defined,
        "undefined" => TestName::Undefined,
        "none" => TestName::None,
        "eq" | "equalto" | "==" => TestName::Eq,
        "ne" | "!=" => TestName::Ne,
        "lt" | "lessthan" | "<" => TestName::Lt,
        "le" | "<=" => TestName::Le,
        "gt" | "greaterthan" | ">" => TestName::Gt,
        "ge" | ">=" => TestName::Ge,
        "in" => TestName::In,
        "in_period" => TestName::InPeriod,
        "before_period" => TestName::BeforePeriod,
        "after_period" => TestName::AfterPeriod,
        _ => return None,
    })
}

fn helper(name: &str) -> Option<Helper> {
    Some(match name {
        super::guard::HELPER => Helper::Cmp,
        "date" => Helper::Date,
        "days_between" => Helper::DaysBetween,
        "hours_between" => Helper::HoursBetween,
        "working_days_between" => Helper::WorkingDaysBetween,
        "add_working_days" => Helper::AddWorkingDays,
        "add_days" => Helper::AddDays,
        "overdue" => Helper::Overdue,
        "matches" => Helper::Matches,
        "valid_id_number" => Helper::ValidIdNumber,
        "valid_credit_code" => Helper::ValidCreditCode,
        "in_period" => Helper::InPeriod,
        "before_period" => Helper::BeforePeriod,
        "after_period" => Helper::AfterPeriod,
        "period_share" => Helper::PeriodShare,
        "missed_due" => Helper::MissedDue,
        "unanswered" => Helper::Unanswered,
        _ => return None,
    })
}

fn filter(name: &str, args: &[CallArg], sh: &mut Interner) -> Option<Filter> {
    let kwargs: Vec<(&str, &Expr)> = args
        .iter()
        .filter_map(|a| match a {
            CallArg::Kwarg(k, e) => Some((*k, e)),
            _ => None,
        })
        .collect();
    let pos: Vec<&Expr> = args
        .iter()
        .filter_map(|a| match a {
            CallArg::Pos(e) => Some(e),
            _ => None,
        })
        .collect();
    if pos.len() + kwargs.len() != args.len() {
        return None;
    }
    let kw = |k: &str| kwargs.iter().find(|(n, _)| *n == k).map(|(_, e)| *e);
    let only = |allowed: &[&str]| kwargs.iter().all(|(k, _)| allowed.contains(k));
    let plain = || args.is_empty();
    Some(match name {
        "default" if kwargs.is_empty() && pos.len() == 1 => Filter::Default(boxed(pos[0], sh)?),
        "length" | "count" if plain() => Filter::Length,
        "list" if plain() => Filter::List,
        "first" if plain() => Filter::End(false),
        "last" if plain() => Filter::End(true),
        "trim" if plain() => Filter::Trim,
        "dictsort" if plain() => Filter::Dictsort,
        "sum" if plain() => Filter::Sum,
        "unique" if plain() => Filter::Unique,
        "int" if plain() => Filter::Int,
        "join" if kwargs.is_empty() && pos.len() == 1 => Filter::Join(boxed(pos[0], sh)?),
        "select" | "reject" | "selectattr" | "rejectattr" if kwargs.is_empty() => {
            let with_attr = name.ends_with("attr");
            let mut rest = pos.into_iter();
            let attr = if with_attr {
                Some(attr_arg(rest.next()?)?)
            } else {
                None
            };
            let test = match rest.next() {
                Some(t) => Some(test_name(const_str(t)?)?),
                None => None,
            };
            Filter::Select {
                invert: name.starts_with("reject"),
                attr,
                test,
                args: rest.map(|x| node(x, sh)).collect::<Option<_>>()?,
            }
        }
        "map" if pos.is_empty() && only(&["attribute", "default"]) => Filter::MapAttr {
            path: attr_arg(kw("attribute")?)?,
            default: match kw("default") {
                Some(d) => Some(boxed(d, sh)?),
                None => None,
            },
        },
        "min" | "max" if pos.is_empty() && only(&["attribute"]) => Filter::MinMax {
            max: name == "max",
            attr: match kw("attribute") {
                Some(a) => Some(path(const_str(a)?)),
                None => None,
            },
        },
        "sort" if pos.is_empty() && only(&["attribute"]) => Filter::Sort {
            attr: match kw("attribute") {
                // A comma makes a composite key, folded differently: left to MiniJinja.
                Some(a) => Some(path(const_str(a).filter(|s| !s.contains(','))?.trim())),
                None => None,
            },
        },
        _ => return None,
    })
}

fn node(e: &Expr, sh: &mut Interner) -> Option<Node> {
    let n = match e {
        Expr::Var(v) => Node::Root(match v.id {
            "record" => Root::Record,
            "params" => Root::Params,
            "submission" => Root::Submission,
            _ => return None,
        }),
        Expr::Const(c) => Node::Lit(lit(&c.value)?),
        Expr::Slice(s) => {
            if s.step.is_some() {
                return None;
            }
            fn part(p: &Option<Expr>, sh: &mut Interner) -> Option<Option<Box<Node>>> {
                match p {
                    Some(p) => Some(Some(boxed(p, sh)?)),
                    None => Some(None),
                }
            }
            Node::Slice(boxed(&s.expr, sh)?, part(&s.start, sh)?, part(&s.stop, sh)?)
        }
        Expr::UnaryOp(u) => match u.op {
            UnaryOpKind::Not => Node::Not(boxed(&u.expr, sh)?),
            UnaryOpKind::Neg => Node::Neg(boxed(&u.expr, sh)?),
        },
        Expr::BinOp(b) => {
            let (l, r) = (boxed(&b.left, sh)?, boxed(&b.right, sh)?);
            let op = match b.op {
                BinOpKind::ScAnd => return Some(Node::And(l, r)),
                BinOpKind::ScOr => return Some(Node::Or(l, r)),
                BinOpKind::Add => Op::Add,
                BinOpKind::Sub => Op::Sub,
                BinOpKind::Mul => Op::Mul,
                BinOpKind::Div => Op::Div,
                BinOpKind::FloorDiv => Op::FloorDiv,
                BinOpKind::Rem => Op::Rem,
                BinOpKind::Concat => Op::Concat,
                BinOpKind::Eq => Op::Eq,
                BinOpKind::Ne => Op::Ne,
                BinOpKind::In => Op::In,
                // Ordering comparisons were rewritten to `__cmp` by the guard.
                _ => return None,
            };
            Node::Bin(op, l, r)
        }
        Expr::IfExpr(i) => Node::If(
            boxed(&i.test_expr, sh)?,
            boxed(&i.true_expr, sh)?,
            match &i.false_expr {
                Some(f) => Some(boxed(f, sh)?),
                None => None,
            },
        ),
        Expr::Filter(f) => {
            let on = boxed(f.expr.as_ref()?, sh)?;
            Node::Filter(filter(f.name, &f.args, sh)?, on)
        }
        Expr::Test(t) => {
            let args = positional(&t.args)?
                .into_iter()
                .map(|x| node(x, sh))
                .collect::<Option<_>>()?;
            Node::Test(test_name(t.name)?, boxed(&t.expr, sh)?, args)
        }
        Expr::GetAttr(g) => Node::Attr(boxed(&g.expr, sh)?, g.name.into()),
        Expr::GetItem(g) => Node::Item(boxed(&g.expr, sh)?, boxed(&g.subscript_expr, sh)?),
        Expr::Call(c) => {
            let Expr::Var(v) = &c.expr else {
                return None;
            };
            let args = positional(&c.args)?
                .into_iter()
                .map(|x| node(x, sh))
                .collect::<Option<_>>()?;
            Node::Call(helper(v.id)?, args)
        }
        Expr::List(l) => Node::List(l.items.iter().map(|x| node(x, sh)).collect::<Option<_>>()?),
        Expr::Map(m) => {
            // Text keys and plain constant values only.
            let mut map = serde_json::Map::new();
            for (k, v) in m.keys.iter().zip(&m.values) {
                let Expr::Const(v) = v else {
                    return None;
                };
                let v: Json = match v.value.kind() {
                    ValueKind::String => Json::from(v.value.as_str()?),
                    ValueKind::Number if v.value.is_integer() => {
                        Json::from(i64::try_from(v.value.clone()).ok()?)
                    }
                    ValueKind::Bool => Json::from(v.value.is_true()),
                    _ => return None,
                };
                if map.insert(const_str(k)?.to_string(), v).is_some() {
                    return None;
                }
            }
            Node::Lit(Lit::Map(Json::Object(map)))
        }
        _ => return None,
    };
    // Helper calls, filters and field lookups are what costs; the ones other expressions share
    // are computed once a record.
    Some(match e {
        Expr::Call(_) | Expr::Filter(_) | Expr::GetAttr(_) => {
            let mut text = String::new();
            super::guard::print(e, &mut text);
            match sh.intern(text) {
                Some(id) => Node::Memo(id, Box::new(n)),
                None => n,
            }
        }
        _ => n,
    })
}

// ---- values ----

/// A value during a native evaluation; record fields are borrowed, not copied.
#[derive(Clone, Debug)]
enum V<'a> {
    Undef,
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Own(Rc<str>),
    /// An array or object of the record, the parameters or the submission.
    Json(&'a Json),
    List(Rc<Vec<V<'a>>>),
    /// A (key, value) pair of `dictsort`.
    Tuple(Rc<Vec<V<'a>>>),
    /// A slice or a concatenation of lists: the template engine keeps these as lazy iterables,
    /// whose truth, length and printed form can differ from a list's; the native evaluator
    /// only iterates, indexes and slices them.
    Lazy(Rc<Vec<V<'a>>>),
    /// A value a helper gave that is not a plain scalar (a list of items).
    J(JValue),
}

impl<'a> V<'a> {
    fn str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            V::Own(s) => Some(s),
            _ => None,
        }
    }

    fn truthy(&self) -> R<bool> {
        Ok(match self {
            V::Undef | V::None => false,
            V::Bool(b) => *b,
            V::Int(i) => *i != 0,
            V::Float(f) => *f != 0.0,
            V::Str(s) => !s.is_empty(),
            V::Own(s) => !s.is_empty(),
            V::Json(Json::Array(a)) => !a.is_empty(),
            V::Json(Json::Object(o)) => !o.is_empty(),
            V::Json(j) => from_json(j).truthy()?,
            V::List(l) | V::Tuple(l) => !l.is_empty(),
            V::Lazy(_) => return Err(Bail),
            V::J(j) => j.is_true(),
        })
    }

    fn is_number(&self) -> bool {
        matches!(self, V::Int(_) | V::Float(_))
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Float(f) => Some(*f),
            _ => None,
        }
    }
}

fn from_json(j: &Json) -> V<'_> {
    match j {
        Json::Null => V::None,
        Json::Bool(b) => V::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => V::Int(i),
            (None, Some(f)) if !n.is_u64() => V::Float(f),
            _ => V::J(super::to_value(n)),
        },
        Json::String(s) => V::Str(s),
        Json::Array(_) | Json::Object(_) => V::Json(j),
    }
}

fn to_jinja(v: &V<'_>) -> R<JValue> {
    Ok(match v {
        V::Undef => JValue::UNDEFINED,
        V::None => JValue::from(()),
        V::Bool(b) => JValue::from(*b),
        V::Int(i) => JValue::from(*i),
        V::Float(f) => JValue::from(*f),
        V::Str(s) => JValue::from(*s),
        V::Own(s) => JValue::from(&**s),
        V::Json(j) => super::to_value(j),
        V::List(l) => JValue::from(l.iter().map(to_jinja).collect::<R<Vec<_>>>()?),
        V::Tuple(_) | V::Lazy(_) => return Err(Bail),
        V::J(j) => j.clone(),
    })
}

/// A helper's argument: the helpers only iterate a list, so a lazy one is handed over as a
/// list.
fn to_jinja_arg(v: &V<'_>) -> R<JValue> {
    match v {
        V::Lazy(l) => Ok(JValue::from(l.iter().map(to_jinja).collect::<R<Vec<_>>>()?)),
        _ => to_jinja(v),
    }
}

fn from_jinja<'a>(v: JValue) -> V<'a> {
    match v.kind() {
        ValueKind::Undefined => V::Undef,
        ValueKind::None => V::None,
        ValueKind::Bool => V::Bool(v.is_true()),
        ValueKind::Number if v.is_integer() => match i64::try_from(v.clone()) {
            Ok(i) => V::Int(i),
            Err(_) => V::J(v),
        },
        ValueKind::Number => match f64::try_from(v.clone()) {
            Ok(f) => V::Float(f),
            Err(_) => V::J(v),
        },
        ValueKind::String if !v.is_safe() => match v.as_str() {
            Some(s) => V::Own(s.into()),
            None => V::J(v),
        },
        _ => V::J(v),
    }
}

/// A text that reads as a date or date-time.
fn when_of(v: &V<'_>) -> Option<super::dates::When> {
    v.str().and_then(|s| super::dates::parse(s).ok())
}

fn is_scalar(v: &V<'_>) -> bool {
    !matches!(
        v,
        V::Json(_) | V::List(_) | V::Tuple(_) | V::Lazy(_) | V::J(_)
    )
}

/// How many items a sequence or map holds (0 for anything else).
fn size(v: &V<'_>) -> usize {
    match v {
        V::Json(Json::Array(a)) => a.len(),
        V::Json(Json::Object(o)) => o.len(),
        V::List(l) | V::Tuple(l) | V::Lazy(l) => l.len(),
        V::J(j) => j.len().unwrap_or(usize::MAX),
        _ => 0,
    }
}

/// `a == b` as MiniJinja compares; long sequences (whose comparison MiniJinja charges item by
/// item) are left to it.
fn equal(a: &V<'_>, b: &V<'_>) -> R<bool> {
    if size(a).max(size(b)) > 1_000 {
        return Err(Bail);
    }
    Ok(match (a, b) {
        (V::Int(x), V::Int(y)) => x == y,
        (V::Undef, V::Undef) | (V::None, V::None) => true,
        _ => match (a.str(), b.str()) {
            (Some(x), Some(y)) => x == y,
            _ => to_jinja(a)? == to_jinja(b)?,
        },
    })
}

/// MiniJinja's ordering of two values.
fn order(a: &V<'_>, b: &V<'_>) -> R<Ordering> {
    Ok(match (a, b) {
        (V::Int(x), V::Int(y)) => x.cmp(y),
        _ => match (a.str(), b.str()) {
            (Some(x), Some(y)) => x.cmp(y),
            _ => to_jinja(a)?.cmp(&to_jinja(b)?),
        },
    })
}

/// The ordering `min`, `max`, `sort` and `dictsort` use: texts without regard to ASCII case.
fn order_folded(a: &V<'_>, b: &V<'_>) -> R<Ordering> {
    match (a.str(), b.str()) {
        (Some(x), Some(y)) => Ok(x
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(y.bytes().map(|c| c.to_ascii_lowercase()))),
        _ => order(a, b),
    }
}

/// The text of a scalar as MiniJinja prints it.
fn display(v: &V<'_>) -> R<String> {
    Ok(match v {
        V::Str(s) => s.to_string(),
        V::Own(s) => s.to_string(),
        V::Int(i) => i.to_string(),
        V::Undef => String::new(),
        V::None | V::Bool(_) | V::Float(_) => to_jinja(v)?.to_string(),
        _ => return Err(Bail),
    })
}

// ---- evaluating ----

struct Cx<'a> {
    scope: &'a Scope<'a>,
    steps: Cell<u32>,
}

impl<'a> Cx<'a> {
    fn charge(&self, n: usize) -> R<()> {
        let n = u32::try_from(n).map_err(|_| Bail)?;
        let total = self.steps.get().saturating_add(n);
        if total > STEPS {
            return Err(Bail);
        }
        self.steps.set(total);
        Ok(())
    }

    /// Sorting n items: what MiniJinja charges grows as n log n.
    fn charge_sort(&self, n: usize) -> R<()> {
        let log = usize::BITS - n.leading_zeros();
        self.charge(n.saturating_mul(log as usize))
    }

    /// Reading a text: MiniJinja charges by its bytes.
    fn charge_text(&self, v: &V<'a>) -> R<()> {
        match v.str() {
            Some(s) => self.charge(s.len() / 64),
            None => Ok(()),
        }
    }

    /// The items of an iterable value (undefined is empty).
    fn items(&self, v: &V<'a>) -> R<Rc<Vec<V<'a>>>> {
        let out = match v {
            V::Undef => Rc::new(Vec::new()),
            V::List(l) | V::Lazy(l) => l.clone(),
            V::Json(Json::Array(a)) => Rc::new(a.iter().map(from_json).collect()),
            V::J(j) if matches!(j.kind(), ValueKind::Seq | ValueKind::Iterable) => {
                let items: Vec<V<'a>> = j
                    .try_iter()
                    .map_err(|_| Bail)?
                    .map(|item| match item.kind() {
                        // A record's object handed back by a helper stays a template value.
                        ValueKind::Map | ValueKind::Seq => V::J(item),
                        _ => from_jinja(item),
                    })
                    .collect();
                Rc::new(items)
            }
            _ => return Err(Bail),
        };
        self.charge(out.len())?;
        Ok(out)
    }

    fn eval(&self, n: &'a Node) -> R<V<'a>> {
        let s = self.scope;
        Ok(match n {
            Node::Lit(l) => lit_value(l),
            Node::Root(Root::Record) => from_json(s.record),
            Node::Root(Root::Params) => from_json(s.params),
            Node::Root(Root::Submission) => from_json(s.submission),
            Node::Attr(base, name) => attr(self.eval(base)?, name)?,
            Node::Item(base, key) => {
                let (base, key) = (self.eval(base)?, self.eval(key)?);
                item(&base, &key)?
            }
            Node::Slice(base, start, stop) => {
                let base = self.eval(base)?;
                let bound = |b: &'a Option<Box<Node>>| -> R<Option<i64>> {
                    match b {
                        None => Ok(None),
                        Some(b) => match self.eval(b)? {
                            V::None => Ok(None),
                            V::Int(i) => Ok(Some(i)),
                            _ => Err(Bail),
                        },
                    }
                };
                let (start, stop) = (bound(start)?, bound(stop)?);
                slice(&base, start, stop)?
            }
            Node::Not(e) => V::Bool(!self.eval(e)?.truthy()?),
            Node::Neg(e) => match self.eval(e)? {
                V::Int(i) if i != i64::MIN => V::Int(-i),
                V::Float(f) => V::Float(-f),
                _ => return Err(Bail),
            },
            Node::And(l, r) => {
                let l = self.eval(l)?;
                if l.truthy()? {
                    self.eval(r)?
                } else {
                    l
                }
            }
            Node::Or(l, r) => {
                let l = self.eval(l)?;
                if l.truthy()? {
                    l
                } else {
                    self.eval(r)?
                }
            }
            Node::Bin(op, l, r) => {
                let (l, r) = (self.eval(l)?, self.eval(r)?);
                self.binary(*op, &l, &r)?
            }
            Node::If(test, yes, no) => {
                if self.eval(test)?.truthy()? {
                    self.eval(yes)?
                } else {
                    match no {
                        Some(no) => self.eval(no)?,
                        None => V::Undef,
                    }
                }
            }
            Node::Filter(f, on) => {
                let v = self.eval(on)?;
                self.charge_text(&v)?;
                self.filter(f, v)?
            }
            Node::Test(t, on, args) => {
                let v = self.eval(on)?;
                self.charge_text(&v)?;
                let args = args.iter().map(|a| self.eval(a)).collect::<R<Vec<_>>>()?;
                V::Bool(self.test(*t, &v, &args)?)
            }
            Node::Call(h, args) => {
                let args = args.iter().map(|a| self.eval(a)).collect::<R<Vec<_>>>()?;
                for a in &args {
                    self.charge_text(a)?;
                }
                self.call(*h, &args)?
            }
            Node::List(items) => V::List(Rc::new(
                items.iter().map(|i| self.eval(i)).collect::<R<Vec<_>>>()?,
            )),
            Node::Memo(slot, inner) => {
                let memo = &self.scope.memo.slots;
                let known = memo.borrow().get(*slot as usize).cloned().flatten();
                match known {
                    Some(v) => v,
                    None => {
                        let v = self.eval(inner)?;
                        if let Some(cell) = memo.borrow_mut().get_mut(*slot as usize) {
                            *cell = Some(v.clone());
                        }
                        v
                    }
                }
            }
        })
    }

    fn binary(&self, op: Op, l: &V<'a>, r: &V<'a>) -> R<V<'a>> {
        Ok(match op {
            Op::Eq => V::Bool(equal(l, r)?),
            Op::Ne => V::Bool(!equal(l, r)?),
            Op::In => V::Bool(self.contains(r, l)?),
            Op::Concat => {
                let text = V::Own(format!("{}{}", display(l)?, display(r)?).into());
                self.charge_text(&text)?;
                text
            }
            Op::Add if !l.is_number() || !r.is_number() => {
                let seq = |v: &V<'a>| {
                    matches!(v, V::List(_) | V::Lazy(_) | V::Json(Json::Array(_)))
                        || matches!(v, V::J(j) if j.kind() == ValueKind::Seq && !j.is_tuple())
                };
                if !(seq(l) && seq(r)) {
                    return Err(Bail);
                }
                let (a, b) = (self.items(l)?, self.items(r)?);
                V::Lazy(Rc::new(a.iter().chain(b.iter()).cloned().collect()))
            }
            _ => arithmetic(op, l, r)?,
        })
    }

    /// Whether the container holds the value, as MiniJinja's `in`.
    fn contains(&self, container: &V<'a>, value: &V<'a>) -> R<bool> {
        Ok(match container {
            V::Undef => false,
            V::Str(_) | V::Own(_) => {
                let hay = container.str().unwrap_or_default();
                self.charge(hay.len())?;
                match value.str() {
                    Some(needle) => hay.contains(needle),
                    None if is_scalar(value) => hay.contains(&display(value)?),
                    None => return Err(Bail),
                }
            }
            V::Json(Json::Object(o)) => match value.str() {
                Some(k) => o.contains_key(k),
                None => return Err(Bail),
            },
            V::List(_) | V::Lazy(_) | V::Json(Json::Array(_)) => {
                for item in self.items(container)?.iter() {
                    if equal(item, value)? {
                        return Ok(true);
                    }
                }
                false
            }
            _ => return Err(Bail),
        })
    }

    fn test(&self, t: TestName, v: &V<'a>, args: &[V<'a>]) -> R<bool> {
        let other = || args.first().ok_or(Bail);
        let jinja = |v: &V<'a>| to_jinja(v);
        Ok(match t {
            TestName::Defined if args.is_empty() => !matches!(v, V::Undef),
            TestName::Undefined if args.is_empty() => matches!(v, V::Undef),
            TestName::None if args.is_empty() => matches!(v, V::None),
            TestName::Eq if args.len() == 1 => equal(v, other()?)?,
            TestName::Ne if args.len() == 1 => !equal(v, other()?)?,
            TestName::Lt if args.len() == 1 => order(v, other()?)? == Ordering::Less,
            TestName::Le if args.len() == 1 => order(v, other()?)? != Ordering::Greater,
            TestName::Gt if args.len() == 1 => order(v, other()?)? == Ordering::Greater,
            TestName::Ge if args.len() == 1 => order(v, other()?)? != Ordering::Less,
            TestName::In if args.len() == 1 => self.contains(other()?, v)?,
            TestName::InPeriod | TestName::BeforePeriod | TestName::AfterPeriod
                if args.is_empty() =>
            {
                if let Some(placed) = self.placed(t, v) {
                    return Ok(placed);
                }
                let run = self.scope.run;
                match t {
                    TestName::InPeriod => super::in_period_test(run, jinja(v)?),
                    TestName::BeforePeriod => super::before_period_test(run, jinja(v)?),
                    _ => super::after_period_test(run, jinja(v)?),
                }
            }
            _ => return Err(Bail),
        })
    }

    /// Where a date falls against the period (the test, or the helper of the same name), when
    /// the date is a text that reads as one and the run has a period; `None` leaves it to the
    /// helper, which reads the value and raises its errors as the template engine would.
    fn placed(&self, t: TestName, v: &V<'a>) -> Option<bool> {
        let (start, end) = self.scope.run.period().ok()?;
        let d = when_of(v)?.date();
        match t {
            TestName::InPeriod => Some(start <= d && d <= end),
            TestName::BeforePeriod => Some(d < start),
            TestName::AfterPeriod => Some(d > end),
            _ => None,
        }
    }

    /// The date helpers on texts that read as dates, computed as the helpers compute them
    /// without converting their arguments for the template engine; `None` for anything else.
    fn dated(&self, h: Helper, args: &[V<'a>]) -> Option<V<'a>> {
        let placed = |t: TestName| match args {
            [v] => self.placed(t, v).map(V::Bool),
            _ => None,
        };
        match (h, args) {
            (Helper::Date, [v]) => Some(V::Own(when_of(v)?.date().to_string().into())),
            (Helper::DaysBetween, [a, b]) => {
                let (a, b) = (when_of(a)?.date(), when_of(b)?.date());
                Some(V::Int(super::dates::days_between(a, b)))
            }
            (Helper::InPeriod, _) => placed(TestName::InPeriod),
            (Helper::BeforePeriod, _) => placed(TestName::BeforePeriod),
            (Helper::AfterPeriod, _) => placed(TestName::AfterPeriod),
            _ => None,
        }
    }

    fn call(&self, h: Helper, args: &[V<'a>]) -> R<V<'a>> {
        if let Some(v) = self.dated(h, args) {
            return Ok(v);
        }
        let run = self.scope.run;
        let j = |i: usize| args.get(i).ok_or(Bail).and_then(to_jinja_arg);
        let text = |i: usize| match args.get(i) {
            Some(v) => v.str().map(str::to_string).ok_or(Bail),
            None => Err(Bail),
        };
        let arity = |n: usize| if args.len() == n { Ok(()) } else { Err(Bail) };
        let out = match h {
            Helper::Cmp => {
                arity(3)?;
                let (a, b) = (&args[0], &args[2]);
                let op = text(1)?;
                if matches!(a, V::Undef | V::None) || matches!(b, V::Undef | V::None) {
                    return Ok(V::Undef);
                }
                let fast = match (a, b) {
                    (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
                    _ => match (a.str(), b.str()) {
                        (Some(x), Some(y)) => Some(x.cmp(y)),
                        _ => None,
                    },
                };
                match (fast, op.as_str()) {
                    (Some(o), "<") => return Ok(V::Bool(o == Ordering::Less)),
                    (Some(o), "<=") => return Ok(V::Bool(o != Ordering::Greater)),
                    (Some(o), ">") => return Ok(V::Bool(o == Ordering::Greater)),
                    (Some(o), ">=") => return Ok(V::Bool(o != Ordering::Less)),
                    // A lazy iterable is not ordered as a list: `to_jinja` leaves it alone.
                    _ => super::guard::compare(to_jinja(a)?, op, to_jinja(b)?),
                }
            }
            Helper::Date => {
                arity(1)?;
                super::date(j(0)?)
            }
            Helper::DaysBetween => {
                arity(2)?;
                super::days_between(j(0)?, j(1)?)
            }
            Helper::HoursBetween => {
                arity(2)?;
                super::hours_between(j(0)?, j(1)?)
            }
            Helper::WorkingDaysBetween => {
                arity(2)?;
                super::working_days_between(run, j(0)?, j(1)?)
            }
            Helper::AddWorkingDays => {
                arity(2)?;
                super::add_working_days(run, j(0)?, j(1)?)
            }
            Helper::AddDays => {
                arity(2)?;
                super::add_days(j(0)?, j(1)?)
            }
            Helper::Overdue => {
                let rest = (1..args.len()).map(j).collect::<R<Vec<_>>>()?;
                super::overdue_of(run, j(0)?, &rest)
            }
            Helper::Matches => {
                arity(2)?;
                super::matches(run, j(0)?, text(1)?)
            }
            Helper::ValidIdNumber => {
                arity(1)?;
                Ok(super::valid_id_number(j(0)?))
            }
            Helper::ValidCreditCode => {
                arity(1)?;
                Ok(super::valid_credit_code(j(0)?))
            }
            Helper::InPeriod => {
                arity(1)?;
                super::in_period(run, j(0)?)
            }
            Helper::BeforePeriod => {
                arity(1)?;
                super::before_period(run, j(0)?)
            }
            Helper::AfterPeriod => {
                arity(1)?;
                super::after_period(run, j(0)?)
            }
            Helper::PeriodShare => {
                arity(2)?;
                super::period_share(run, j(0)?, j(1)?)
            }
            Helper::MissedDue => {
                arity(3)?;
                super::missed_due(run, j(0)?, j(1)?, j(2)?)
            }
            Helper::Unanswered => {
                arity(4)?;
                super::unanswered(run, j(0)?, text(1)?, j(2)?, j(3)?)
            }
        };
        out.map(from_jinja).map_err(|_| Bail)
    }

    fn filter(&self, f: &'a Filter, v: V<'a>) -> R<V<'a>> {
        Ok(match f {
            Filter::Default(other) => {
                let other = self.eval(other)?;
                if matches!(v, V::Undef) {
                    other
                } else {
                    v
                }
            }
            Filter::Length => {
                let n = match &v {
                    V::Undef => 0,
                    V::Str(_) | V::Own(_) => v.str().unwrap_or_default().chars().count(),
                    V::Json(Json::Array(a)) => a.len(),
                    V::Json(Json::Object(o)) => o.len(),
                    V::List(l) => l.len(),
                    V::J(j) => j.len().ok_or(Bail)?,
                    _ => return Err(Bail),
                };
                V::Int(i64::try_from(n).map_err(|_| Bail)?)
            }
            Filter::List => V::List(self.items(&v)?),
            Filter::End(last) => match &v {
                V::Undef => V::Undef,
                V::Str(_) | V::Own(_) => {
                    let mut chars = v.str().unwrap_or_default().chars();
                    let c = if *last {
                        chars.next_back()
                    } else {
                        chars.next()
                    };
                    c.map_or(V::Undef, |c| V::Own(c.to_string().into()))
                }
                _ => {
                    let items = self.items(&v)?;
                    let item = if *last { items.last() } else { items.first() };
                    item.cloned().unwrap_or(V::Undef)
                }
            },
            Filter::Trim => match v.str() {
                Some(s) => V::Own(s.trim().into()),
                None => return Err(Bail),
            },
            Filter::Dictsort => {
                let V::Json(Json::Object(o)) = v else {
                    return Err(Bail);
                };
                self.charge_sort(o.len())?;
                let mut pairs: Vec<V<'a>> = o
                    .iter()
                    .map(|(k, x)| V::Tuple(Rc::new(vec![V::Str(k), from_json(x)])))
                    .collect();
                // Keys are texts: compared without regard to ASCII case, ties keep their order.
                let key = |p: &V<'a>| match p {
                    V::Tuple(t) => t.first().and_then(V::str).map(str::to_ascii_lowercase),
                    _ => None,
                };
                pairs.sort_by_key(key);
                V::List(Rc::new(pairs))
            }
            Filter::Sum => {
                let mut total = V::Int(0);
                for item in self.items(&v)?.iter() {
                    if !item.is_number() {
                        return Err(Bail);
                    }
                    total = arithmetic(Op::Add, &total, item)?;
                }
                total
            }
            Filter::Unique => {
                // Texts compare lowercased, numbers by value; other items are left to MiniJinja.
                let items = self.items(&v)?;
                let mut out = Vec::new();
                if items.iter().all(|i| i.str().is_some()) {
                    let mut seen = std::collections::HashSet::new();
                    for item in items.iter() {
                        if seen.insert(item.str().unwrap_or_default().to_lowercase()) {
                            out.push(item.clone());
                        }
                    }
                } else if items.iter().all(|i| matches!(i, V::Int(_))) {
                    let mut seen = std::collections::HashSet::new();
                    for item in items.iter() {
                        if let V::Int(n) = item {
                            if seen.insert(*n) {
                                out.push(item.clone());
                            }
                        }
                    }
                } else {
                    return Err(Bail);
                }
                self.charge(out.len().saturating_mul(out.len()) / 64)?;
                V::List(Rc::new(out))
            }
            Filter::Int => match &v {
                V::Int(_) => v,
                V::Bool(b) => V::Int(i64::from(*b)),
                V::Float(f) if f.is_finite() && f.abs() < 9.0e15 => V::Int(f.trunc() as i64),
                _ => match v.str() {
                    Some(s)
                        if (1..=18).contains(&s.trim_start_matches('-').len())
                            && s.trim_start_matches('-')
                                .bytes()
                                .all(|b| b.is_ascii_digit())
                            && s.matches('-').count() <= 1 =>
                    {
                        V::Int(s.parse::<i64>().map_err(|_| Bail)?)
                    }
                    _ => return Err(Bail),
                },
            },
            Filter::Join(sep) => {
                let sep = self.eval(sep)?;
                let sep = sep.str().ok_or(Bail)?;
                if matches!(v, V::Undef) {
                    return Err(Bail);
                }
                let mut out = String::new();
                for (i, item) in self.items(&v)?.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    match item {
                        V::Str(_) | V::Own(_) | V::Int(_) => out.push_str(&display(item)?),
                        _ => return Err(Bail),
                    }
                    self.charge(out.len() / 64)?;
                }
                V::Own(out.into())
            }
            Filter::Select {
                invert,
                attr,
                test,
                args,
            } => {
                let args = args.iter().map(|a| self.eval(a)).collect::<R<Vec<_>>>()?;
                let mut out = Vec::new();
                for item in self.items(&v)?.iter() {
                    let probe = match attr {
                        Some(p) => get_path(item, p)?.ok_or(Bail)?,
                        None => item.clone(),
                    };
                    self.charge_text(&probe)?;
                    let passed = match test {
                        Some(t) => self.test(*t, &probe, &args)?,
                        None => probe.truthy()?,
                    };
                    if passed != *invert {
                        out.push(item.clone());
                    }
                }
                V::List(Rc::new(out))
            }
            Filter::MapAttr { path, default } => {
                let default = match default {
                    Some(d) => self.eval(d)?,
                    None => V::Undef,
                };
                let mut out = Vec::new();
                for item in self.items(&v)?.iter() {
                    out.push(match get_path(item, path)? {
                        Some(V::Undef) => default.clone(),
                        Some(x) => x,
                        None if !matches!(default, V::Undef) => default.clone(),
                        None => return Err(Bail),
                    });
                }
                V::List(Rc::new(out))
            }
            Filter::MinMax { max, attr } => {
                let wanted = if *max {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                let mut best: Option<(V<'a>, V<'a>)> = None;
                for item in self.items(&v)?.iter() {
                    let key = match attr {
                        Some(p) => get_path(item, p)?.unwrap_or(V::Undef),
                        None => item.clone(),
                    };
                    let better = match &best {
                        None => true,
                        Some((k, _)) => order_folded(&key, k)? == wanted,
                    };
                    if better {
                        best = Some((key, item.clone()));
                    }
                }
                best.map_or(V::Undef, |(_, item)| item)
            }
            Filter::Sort { attr } => {
                let items = self.items(&v)?;
                self.charge_sort(items.len())?;
                let mut keyed: Vec<(V<'a>, V<'a>)> = Vec::with_capacity(items.len());
                for item in items.iter() {
                    // A key that cannot be read compares equal to every other in MiniJinja,
                    // which is no order: such a sort is left to it.
                    let key = match attr {
                        Some(p) => get_path(item, p)?.ok_or(Bail)?,
                        None => item.clone(),
                    };
                    keyed.push((key, item.clone()));
                }
                // Only keys of one plain kind are sorted here; the order is then total.
                let kinds = |f: fn(&V<'a>) -> bool| keyed.iter().all(|(k, _)| f(k));
                if !(kinds(|k| k.str().is_some()) || kinds(|k| matches!(k, V::Int(_)))) {
                    return Err(Bail);
                }
                keyed.sort_by(|a, b| order_folded(&a.0, &b.0).unwrap_or(Ordering::Equal));
                V::List(Rc::new(keyed.into_iter().map(|(_, i)| i).collect()))
            }
        })
    }
}

fn lit_value(l: &Lit) -> V<'_> {
    match l {
        Lit::None => V::None,
        Lit::Bool(b) => V::Bool(*b),
        Lit::Int(i) => V::Int(*i),
        Lit::Float(f) => V::Float(*f),
        Lit::Str(s) => V::Str(s),
        Lit::List(items) => V::List(Rc::new(items.iter().map(lit_value).collect())),
        Lit::Map(m) => V::Json(m),
    }
}

/// `base.name`: a field of an object; anything else has no attributes (undefined).
fn attr<'a>(base: V<'a>, name: &str) -> R<V<'a>> {
    Ok(match base {
        V::Json(Json::Object(o)) => o.get(name).map_or(V::Undef, from_json),
        V::J(j) => from_jinja(j.get_attr(name).map_err(|_| Bail)?),
        _ => V::Undef,
    })
}

/// A (possibly negative) index into a sequence of `len` items.
fn index(i: i64, len: usize) -> Option<usize> {
    if i < 0 {
        len.checked_sub(usize::try_from(i.unsigned_abs()).ok()?)
    } else {
        usize::try_from(i).ok()
    }
}

/// `base[key]`.
fn item<'a>(base: &V<'a>, key: &V<'a>) -> R<V<'a>> {
    Ok(match (base, key) {
        (V::Json(Json::Array(a)), V::Int(i)) => index(*i, a.len())
            .and_then(|i| a.get(i))
            .map_or(V::Undef, from_json),
        (V::List(l) | V::Tuple(l) | V::Lazy(l), V::Int(i)) => index(*i, l.len())
            .and_then(|i| l.get(i))
            .cloned()
            .unwrap_or(V::Undef),
        (V::Str(_) | V::Own(_), V::Int(i)) => {
            let s = base.str().unwrap_or_default();
            index(*i, s.chars().count())
                .and_then(|i| s.chars().nth(i))
                .map_or(V::Undef, |c| V::Own(c.to_string().into()))
        }
        (V::Json(Json::Object(o)), _) => match key.str() {
            Some(k) => o.get(k).map_or(V::Undef, from_json),
            None if matches!(key, V::Int(_)) => V::Undef,
            None => return Err(Bail),
        },
        (V::Undef | V::None | V::Bool(_) | V::Int(_) | V::Float(_), V::Int(_)) => V::Undef,
        _ => return Err(Bail),
    })
}

/// A path's value in an item, as MiniJinja's `get_path`: `Ok(None)` where it errs (a step
/// into undefined); a step the evaluator does not model (into a text, a helper's value) is
/// left to MiniJinja.
fn get_path<'a>(item: &V<'a>, path: &[Seg]) -> R<Option<V<'a>>> {
    let mut cur = item.clone();
    for seg in path {
        if matches!(cur, V::Undef) {
            return Ok(None);
        }
        cur = match seg {
            Seg::Name(n) => attr(cur, n)?,
            Seg::Index(i) => match &cur {
                V::Json(Json::Array(a)) => a.get(*i).map_or(V::Undef, from_json),
                V::List(l) | V::Tuple(l) | V::Lazy(l) => l.get(*i).cloned().unwrap_or(V::Undef),
                V::Json(Json::Object(_)) | V::None | V::Bool(_) | V::Int(_) | V::Float(_) => {
                    V::Undef
                }
                _ => return Err(Bail),
            },
        };
    }
    Ok(Some(cur))
}

/// `base[start:stop]`.
fn slice<'a>(base: &V<'a>, start: Option<i64>, stop: Option<i64>) -> R<V<'a>> {
    fn bounds(start: Option<i64>, stop: Option<i64>, len: usize) -> (usize, usize) {
        let len = len as i64;
        let norm = |x: i64| {
            if x < 0 {
                (len + x).max(0)
            } else {
                x
            }
        };
        let s = norm(start.unwrap_or(0));
        let e = stop.map_or(len, norm);
        (s as usize, (e - s).max(0) as usize)
    }
    Ok(match base {
        V::Str(_) | V::Own(_) => {
            let s = base.str().unwrap_or_default();
            let (from, n) = bounds(start, stop, s.chars().count());
            V::Own(s.chars().skip(from).take(n).collect::<String>().into())
        }
        V::Undef | V::None => V::List(Rc::new(Vec::new())),
        V::List(l) | V::Lazy(l) => {
            let (from, n) = bounds(start, stop, l.len());
            V::Lazy(Rc::new(l.iter().skip(from).take(n).cloned().collect()))
        }
        V::Json(Json::Array(a)) => {
            let (from, n) = bounds(start, stop, a.len());
            V::Lazy(Rc::new(
                a.iter().skip(from).take(n).map(from_json).collect(),
            ))
        }
        _ => return Err(Bail),
    })
}

/// Arithmetic on two numbers, as MiniJinja does it.
fn arithmetic<'a>(op: Op, l: &V<'a>, r: &V<'a>) -> R<V<'a>> {
    if let (V::Int(a), V::Int(b)) = (l, r) {
        let (a, b) = (*a, *b);
        let floor = |a: i64, b: i64| -> Option<(i64, i64)> {
            let (mut q, mut m) = (a.checked_div(b)?, a.checked_rem(b)?);
            if m != 0 && ((m < 0) != (b < 0)) {
                q -= 1;
                m += b;
            }
            Some((q, m))
        };
        return match op {
            Op::Add => a.checked_add(b).map(V::Int).ok_or(Bail),
            Op::Sub => a.checked_sub(b).map(V::Int).ok_or(Bail),
            Op::Mul => a.checked_mul(b).map(V::Int).ok_or(Bail),
            Op::Div if b != 0 => Ok(V::Float(a as f64 / b as f64)),
            Op::FloorDiv => floor(a, b).map(|(q, _)| V::Int(q)).ok_or(Bail),
            Op::Rem => floor(a, b).map(|(_, m)| V::Int(m)).ok_or(Bail),
            _ => Err(Bail),
        };
    }
    let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
        return Err(Bail);
    };
    Ok(V::Float(match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div if b != 0.0 => a / b,
        _ => return Err(Bail),
    }))
}

/// What the helpers know about the run when the native evaluator calls them, worked out once:
/// the same period, calendar, patterns and notes the template engine's context holds.
pub struct Facts {
    period: Result<(jiff::civil::Date, jiff::civil::Date), (bool, String)>,
    calendar: Result<&'static super::Calendar, String>,
    notes: std::sync::Arc<super::Notes>,
    patterns: std::sync::Arc<super::Patterns>,
}

impl Facts {
    /// Reads the period and the calendar from the submission as the context gives it.
    pub fn new(
        submission: &Json,
        notes: std::sync::Arc<super::Notes>,
        patterns: std::sync::Arc<super::Patterns>,
    ) -> Facts {
        let period = match submission.get("period").filter(|p| !p.is_null()) {
            None => Err((
                true,
                "the submission gives no period to place the date in".to_string(),
            )),
            Some(p) => {
                let read = |which: &str| -> Result<jiff::civil::Date, (bool, String)> {
                    let v = p.get(which).map_or(JValue::UNDEFINED, super::to_value);
                    super::when(&v, "the period")
                        .map(|w| w.date())
                        .map_err(|e| {
                            (
                                super::is_missing_data(&e),
                                e.detail().unwrap_or_default().to_string(),
                            )
                        })
                };
                read("start").and_then(|s| Ok((s, read("end")?)))
            }
        };
        let name = match submission.get("calendar") {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Null) | None => super::DEFAULT_CALENDAR.to_string(),
            Some(other) => other.to_string(),
        };
        let calendar = super::Calendar::builtin(&name).ok_or_else(|| {
            format!(
                "unknown holiday calendar '{name}' (shipped: {})",
                super::Calendar::builtin_ids().join(", ")
            )
        });
        Facts {
            period,
            calendar,
            notes,
            patterns,
        }
    }
}

impl Run for Facts {
    fn period(&self) -> Result<(jiff::civil::Date, jiff::civil::Date), minijinja::Error> {
        self.period.clone().map_err(|(missing, why)| {
            let kind = if missing {
                minijinja::ErrorKind::UndefinedError
            } else {
                minijinja::ErrorKind::InvalidOperation
            };
            minijinja::Error::new(kind, why)
        })
    }

    fn calendar(&self) -> Result<&'static super::Calendar, minijinja::Error> {
        self.calendar.clone().map_err(super::invalid)
    }

    fn note(&self, years: Vec<i16>) {
        if !years.is_empty() {
            self.notes.note_years(years);
        }
    }

    fn is_match(&self, pattern: &str, text: &str) -> Result<bool, minijinja::Error> {
        self.patterns.is_match(pattern, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    /// Evaluates a (guarded) expression both ways on a record: the native value, when the
    /// native evaluator gives one, must be MiniJinja's.
    fn both(expr: &str, record: Json) -> (Option<JValue>, Result<JValue, minijinja::Error>) {
        let guarded = super::super::guard::guard(expr).expect("parses");
        let mut shared = Interner::default();
        let program = Program::compile(&guarded, &mut shared);
        let params = serde_json::json!({"days": 7, "roles": ["sw", "lead"], "pattern": "^YT"});
        let submission = serde_json::json!({
            "period": {"start": "2025-01-01", "end": "2025-12-31"},
            "calendar": "cn-mainland",
        });
        let notes = std::sync::Arc::new(super::super::Notes::default());
        let patterns = std::sync::Arc::new(super::super::Patterns::compile(
            [guarded.as_str()],
            &[("pattern".to_string(), serde_json::json!("^YT"))]
                .into_iter()
                .collect(),
        ));
        let facts = Facts::new(&submission, notes.clone(), patterns.clone());
        let scope = Scope {
            record: &record,
            params: &params,
            submission: &submission,
            run: &facts,
            memo: Memo::new(shared.slots().1),
        };
        let native = program.as_ref().and_then(|p| p.eval(&scope).ok());
        let jinja = super::super::environment()
            .compile_expression(&guarded)
            .unwrap()
            .eval(context! {
                record => super::super::to_value(&record),
                params => super::super::to_value(&params),
                submission => super::super::to_value(&submission),
                __notes => JValue::from_dyn_object(notes),
                __patterns => JValue::from_dyn_object(patterns),
            });
        (native, jinja)
    }

    fn same(expr: &str, record: Json) -> bool {
        let (native, jinja) = both(expr, record);
        let Some(native) = native else {
            return false;
        };
        let jinja = jinja.unwrap_or_else(|e| {
            panic!("{expr}: MiniJinja failed ({e}) where the native evaluator gave {native:?}")
        });
        assert_eq!(native.kind(), jinja.kind(), "{expr}");
        assert_eq!(native, jinja, "{expr}");
        assert_eq!(native.to_string(), jinja.to_string(), "{expr}");
        true
    }

    #[test]
    fn each_construct_gives_minijinjas_value_or_leaves_it_to_minijinja() {
        let r = serde_json::json!({
            "id": "YT-2025-001", "n": 3, "x": 2.5, "flag": true, "none": null, "big": 18446744073709551615u64,
            "name": "  Ab Cd  ", "birth": "1990-02-28", "code": "0508",
            "intake": {"date": "2025-03-01"}, "closure": {"date": "2025-12-30", "reason": "goals_met"},
            "sessions": [
                {"date": "2025-03-05", "recorded": "2025-03-06", "mode": "group", "n": 2},
                {"date": "2024-12-30", "recorded": "2025-01-09", "mode": "Face", "n": 1},
                {"date": "2025-07-01", "mode": "face", "n": 2},
            ],
            "tags": ["b", "A", "a", "c"], "nums": [3, 1, 2, 1], "empty": [],
            "items": {"fall": "high", "Choking": "low", "scald": "high"},
            "mixed": [1, "1", null],
            "lst": [[1, 2], "xy", null, 3],
            "pairs": [[3], null, [1]],
            "many": (0..16_000).rev().collect::<Vec<i64>>(),
            "text": "x".repeat(2_000_000),
        });
        let native = [
            "record.intake.date is defined and in_period(record.intake.date)",
            "record.nothing.deeper is defined",
            "record.none is none",
            "record.n + 1", "record.n - 5", "record.n * record.x", "record.n / 2", "record.n // 2",
            "-record.n // 2", "-record.n % 2", "record.n % -2", "record.x + record.n",
            "record.id ~ '-' ~ record.n ~ record.x ~ record.flag ~ record.none ~ record.nothing",
            "record.id[0]", "record.id[-1]", "record.id[:2]", "record.id[3:]", "record.id[-3:]",
            "record.birth[:4] | int", "(record.birth[:4] | int) + 18", "record.code | int",
            "record.tags[1]", "record.tags[-1]", "record.tags[9]", "record.tags[1:] | list",
            "(record.tags[1:])[0]", "([record.n] + record.nums) | list", "record.n in ([1] + record.nums)",
            "record.nothing[:2]", "(record.tags | last)", "(record.empty | last)", "(record.empty | first)",
            "record.id | first", "record.id | last", "record.tags | first", "(record.name[:0]) | last",
            "record.name | trim", "record.name | length", "record.tags | length", "record.nothing | length",
            "record.nothing | default([]) | length", "record.none | default(1)",
            "record.tags | unique | list", "record.nums | unique | list", "record.tags | sort | join(',')",
            "record.nums | sort | list", "record.nums | min", "record.nums | max", "record.tags | max",
            "record.nums | sum", "record.sessions | map(attribute='n') | sum",
            "record.sessions | sort(attribute='date') | map(attribute='date') | join(' / ')",
            "record.sessions | min(attribute='date')", "record.sessions | max(attribute='mode')",
            "record.sessions | selectattr('date', 'in_period') | list | length",
            "record.sessions | rejectattr('recorded', 'defined') | list | length",
            "record.sessions | selectattr('mode', 'eq', 'group') | list | length",
            "record.sessions | selectattr('mode', 'in', ['group', 'face']) | list | length",
            "record.sessions | selectattr('date', 'ge', '2025-03-01') | map(attribute='date') | list",
            "record.sessions | map(attribute='recorded', default='-') | list",
            "record.sessions | map(attribute='date') | select('lt', '2025-06-01') | list",
            "record.items | dictsort | selectattr(1, 'eq', 'high') | map(attribute=0) | list",
            "{'low': 1, 'high': 3}[record.items.fall]", "'fall' in record.items",
            "'YT' in record.id", "record.n in record.nums", "'x' in record.nothing",
            "record.closure.reason in ['goals_met', 'referred']", "record.n == 3.0", "record.flag == 1",
            "record.n < 4", "record.id > 'YT'", "record.nothing <= 3",
            "days_between(record.intake.date, record.closure.date)",
            "working_days_between(record.intake.date, record.closure.date)",
            "add_days(record.intake.date, params.days)", "add_working_days(record.intake.date, 3)",
            "overdue(record.sessions, 'date', 'recorded', 3) | length",
            "missed_due([record.intake.date] + (record.sessions | map(attribute='date') | list), 90, none) | length",
            "matches(record.id, params.pattern)", "matches(record.id, '^ZZ')",
            "period_share(record.intake.date, record.closure.date)",
            "record.mixed | select | list | length", "[record.n, record.x] | max",
            "(record.n if record.flag else record.x) + 1", "record.nothing if false",
            "record.flag and record.n", "record.none or record.id",
            "record.n ~ 2.0", "record.many[:5] | list | length",
        ];
        let mut left = Vec::new();
        for e in native {
            if !same(e, r.clone()) {
                left.push(e);
            }
        }
        // What the native evaluator leaves to MiniJinja here: mixed kinds, errors, big numbers.
        for e in [
            "record.tags[1:]",
            "record.tags[5:] and 1",
            "([1] + record.nums) | length",
            "record.mixed | sort | list",
            "record.big + 1",
            "record.id + 1",
            "record.n / 0",
            "record.tags | sort(attribute='x, y')",
            "days_between(record.nothing, record.intake.date)",
            "record.id | upper",
            "record.nums | unique(attribute='x')",
            // A lazy slice is not ordered against a list.
            "record.tags[1:] < record.tags",
            "([1] + record.nums) < [5]",
            "7 // 2.0",
            // Paths into texts and keys that cannot be read.
            "record.tags | map(attribute='0', default='x') | list",
            "record.tags | sort(attribute='0') | join(',')",
            "record.lst | min(attribute='0')",
            "record.pairs | sort(attribute='0') | list",
            // Work MiniJinja charges more for than the native evaluator models.
            "(record.many | sort)[0]",
            "record.text | length",
            "(record.text ~ 'y')[-1]",
        ] {
            let (native, _) = both(e, r.clone());
            assert!(native.is_none(), "{e} gave {native:?} natively");
        }
        assert!(left.is_empty(), "left to MiniJinja: {left:?}");
    }
}
