//! The SCIM filter language (RFC 7644 §3.4.2.2): syntax tree, a hand-written
//! recursive-descent parser, a serialiser that round-trips through the parser, and an
//! in-memory evaluator (used for PATCH value filters and tests).
//!
//! The parser accepts the whole RFC grammar (Figure 1 of RFC 7644) and two deviations that
//! Microsoft Entra ID relies on:
//! * a comparison on a sub-attribute placed *after* a value path,
//!   `emails[type eq "work"].value eq "x"`, rewritten as
//!   `emails[type eq "work" and value eq "x"]`;
//! * unquoted string values, `userName eq bjensen`.
//!
//! The parser never panics: every failure is a [`FilterError`] with a 0-based character
//! position. Input length and nesting depth are bounded so hostile input cannot exhaust the
//! stack or the CPU.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

use crate::schema::{AttrType, AttributeDef, Mutability, Returned};

/// Longest filter accepted, in bytes. Filters arrive in URLs and request bodies; bounding
/// them bounds parse time and memory.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

/// Deepest nesting of parentheses, `not (...)` and value paths. The parser recurses once
/// per level, so this is what keeps a hostile filter from overflowing the stack.
pub const MAX_DEPTH: usize = 64;

// ---------------------------------------------------------------------------------------
// Syntax tree
// ---------------------------------------------------------------------------------------

/// An attribute path (RFC 7644 §3.10): `[urn ":"] name ["." sub]`.
///
/// Names keep the case they were written in; resolution against the schema is
/// case-insensitive and happens later (RFC 7643 §2.1: attribute names are case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN when the path was URN-qualified, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    /// The attribute name. Empty only for a PATCH path that names a whole extension
    /// (see `crate::patch::PatchPath`); the filter parser never produces an empty name.
    pub name: String,
    /// The sub-attribute, e.g. `givenName` in `name.givenName`.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `[urn:...:]name[.sub]`.
    pub fn parse(s: &str) -> Result<AttrPath, FilterError> {
        parse_attr_path(s, 0)
    }

    /// An unqualified path to an attribute with no sub-attribute.
    pub fn simple(name: &str) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub: None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            f.write_str(urn)?;
            if !self.name.is_empty() {
                f.write_str(":")?;
            }
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The comparison operators of RFC 7644 §3.4.2.2 Table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// The operator as written in a filter (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// The operator for a keyword, compared case-insensitively (RFC 7644 §3.4.2.2:
    /// "Attribute names and attribute operators used in filters are case insensitive").
    pub fn from_keyword(s: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison value: `compValue = false / null / true / number / string` (RFC 7644
/// §3.4.2.2, Figure 1).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Number(Number),
    Bool(bool),
    Null,
}

impl CompValue {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Str(s) => Value::String(s.clone()),
            Self::Number(n) => Value::Number(n.clone()),
            Self::Bool(b) => Value::Bool(*b),
            Self::Null => Value::Null,
        }
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => write_json_string(f, s),
            Self::Number(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Null => f.write_str("null"),
        }
    }
}

/// A parsed filter. Grouping parentheses are not kept: the tree shape carries them, and
/// [`fmt::Display`] puts back exactly the ones needed.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `emails[type eq "work" and value co "@x"]`: `path` is the multi-valued attribute (no
    /// sub), `filter`'s paths are relative to one element.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `and` binds tighter than `or` and both associate to the left (RFC 7644
            // §3.4.2.2 Table 5 and Figure 1), so only a right operand of the same
            // operator, or an `or` under an `and`, needs parentheses to parse back to
            // the same tree.
            Self::And(l, r) => {
                write_operand(f, l, matches!(**l, Self::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, r, matches!(**r, Self::Or(..) | Self::And(..)))
            }
            Self::Or(l, r) => {
                write_operand(f, l, false)?;
                f.write_str(" or ")?;
                write_operand(f, r, matches!(**r, Self::Or(..)))
            }
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::Present(path) => write!(f, "{path} pr"),
            Self::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({operand})")
    } else {
        write!(f, "{operand}")
    }
}

/// Writes `s` as a JSON string literal (RFC 8259 §7), the string syntax SCIM filters use.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// A filter that could not be parsed. `position` is a 0-based character offset into the
/// input, pointing at the offending token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct FilterError {
    pub message: String,
    pub position: usize,
}

impl FilterError {
    fn new(message: impl Into<String>, position: usize) -> FilterError {
        FilterError {
            message: message.into(),
            position,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Attribute paths
// ---------------------------------------------------------------------------------------

fn starts_with_urn(s: &str) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA` (RFC 7643 §2.1),
/// plus `$ref`, which RFC 7643 itself uses as a sub-attribute name.
fn is_attr_name(s: &str) -> bool {
    if s.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses an attribute path that starts at character `at` of the input (for positions).
fn parse_attr_path(s: &str, at: usize) -> Result<AttrPath, FilterError> {
    if s.is_empty() {
        return Err(FilterError::new("expected an attribute name", at));
    }
    let invalid = |pos: usize| FilterError::new(format!("'{s}' is not a valid attribute path"), pos);
    // RFC 7644 §3.10: `attrPath = [URI ":"] ATTRNAME *1subAttr`. The URN itself contains
    // colons (and dots, as in "2.0"), so it is everything up to the last ':'; attribute
    // names contain neither.
    let (urn, rest, rest_at) = if starts_with_urn(s) {
        let Some(colon) = s.rfind(':') else {
            return Err(invalid(at));
        };
        let urn = s.get(..colon).unwrap_or_default();
        let rest = s.get(colon + 1..).unwrap_or_default();
        if urn.len() <= 4 || !urn.chars().all(|c| c.is_ascii_graphic()) {
            return Err(FilterError::new(format!("'{urn}' is not a valid schema URN"), at));
        }
        let rest_at = at + urn.chars().count() + 1;
        if rest.is_empty() {
            return Err(FilterError::new(
                format!("expected an attribute name after the schema URN '{urn}'"),
                rest_at,
            ));
        }
        (Some(urn.to_string()), rest, rest_at)
    } else {
        (None, s, at)
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    if !is_attr_name(name) {
        return Err(invalid(rest_at));
    }
    if let Some(sub) = sub
        && !is_attr_name(sub)
    {
        return Err(invalid(rest_at + name.chars().count() + 1));
    }
    Ok(AttrPath {
        urn,
        name: name.to_string(),
        sub: sub.map(str::to_string),
    })
}

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    /// Any other run of characters: attribute paths, operators, keywords, numbers and
    /// Entra's unquoted values. What a word means depends on where it appears.
    Word(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn ends_word(c: char) -> bool {
    is_space(c) || matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let tok = match c {
            c if is_space(c) => {
                i += 1;
                continue;
            }
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '"' => {
                let (s, next) = lex_string(&chars, i)?;
                toks.push(Token {
                    tok: Tok::Str(s),
                    pos: i,
                });
                i = next;
                continue;
            }
            _ => {
                let start = i;
                while chars.get(i).is_some_and(|&c| !ends_word(c)) {
                    i += 1;
                }
                let word: String = chars.get(start..i).unwrap_or_default().iter().collect();
                toks.push(Token {
                    tok: Tok::Word(word),
                    pos: start,
                });
                continue;
            }
        };
        toks.push(Token { tok, pos: i });
        i += 1;
    }
    Ok(toks)
}

/// Reads a JSON string literal (RFC 8259 §7) starting at the opening quote; returns the
/// decoded text and the index after the closing quote. Raw control characters are
/// tolerated (JSON forbids them) since they do no harm here and some clients send tabs.
fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), FilterError> {
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(FilterError::new("unterminated string", start));
        };
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(FilterError::new("unterminated string", start));
                };
                let decoded = match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let (ch, next) = lex_unicode_escape(chars, i)?;
                        out.push(ch);
                        i = next;
                        continue;
                    }
                    other => {
                        return Err(FilterError::new(format!("invalid escape '\\{other}' in string"), i));
                    }
                };
                out.push(decoded);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
}

fn hex4(chars: &[char], at: usize) -> Option<u32> {
    let mut v = 0u32;
    for k in 0..4 {
        v = v * 16 + chars.get(at + k)?.to_digit(16)?;
    }
    Some(v)
}

/// Decodes `\uXXXX` at `i` (the backslash), including a UTF-16 surrogate pair, which is how
/// JSON escapes characters outside the Basic Multilingual Plane (RFC 8259 §7).
fn lex_unicode_escape(chars: &[char], i: usize) -> Result<(char, usize), FilterError> {
    let bad = || FilterError::new("invalid \\u escape in string", i);
    let hi = hex4(chars, i + 2).ok_or_else(bad)?;
    let mut next = i + 6;
    let code = if (0xD800..0xDC00).contains(&hi) {
        if chars.get(next) != Some(&'\\') || chars.get(next + 1) != Some(&'u') {
            return Err(bad());
        }
        let lo = hex4(chars, next + 2).ok_or_else(bad)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return Err(bad());
        }
        next += 6;
        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
    } else {
        hi
    };
    // A lone low surrogate is not a character: `from_u32` rejects it.
    char::from_u32(code).map(|c| (c, next)).ok_or_else(bad)
}

/// Whether `w` is a JSON number (RFC 8259 §6):
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(w: &str) -> bool {
    let b = w.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Converts a JSON number: integers exactly when they fit in 64 bits, everything else as
/// the nearest `f64`. Rust's `str::parse` rounds correctly, so the printed form of the
/// result (shortest round-trip digits) parses back to the same value, which `Display`
/// relies on. `None` when the number overflows `f64`.
fn parse_number(w: &str) -> Option<Number> {
    if let Ok(i) = w.parse::<i64>() {
        return Some(Number::from(i));
    }
    if let Ok(u) = w.parse::<u64>() {
        return Some(Number::from(u));
    }
    w.parse::<f64>().ok().and_then(Number::from_f64)
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Str(s) => {
            let short: String = s.chars().take(40).collect();
            format!("the string \"{short}\"")
        }
        Tok::Word(w) => {
            let short: String = w.chars().take(40).collect();
            format!("'{short}'")
        }
    }
}

fn is_keyword(tok: &Tok, kw: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

fn is_logical(tok: &Tok) -> bool {
    matches!(tok, Tok::Word(w) if is_logical_word(w))
}

fn is_logical_word(w: &str) -> bool {
    w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or")
}

/// Whether a word is an attribute operator (`pr` or a comparison).
fn is_operator_word(w: &str) -> bool {
    w.eq_ignore_ascii_case("pr") || CompareOp::from_keyword(w).is_some()
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    /// Character length of the input: the position reported for "unexpected end".
    end: usize,
}

impl Parser {
    fn new(input: &str) -> Result<Parser, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError::new(
                format!("filter is too long (more than {MAX_FILTER_LEN} bytes)"),
                0,
            ));
        }
        let toks = lex(input)?;
        if toks.is_empty() {
            return Err(FilterError::new("empty filter", 0));
        }
        Ok(Parser {
            toks,
            i: 0,
            depth: 0,
            end: input.chars().count(),
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn peek_tok(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.i + ahead).map(|t| &t.tok)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.i).cloned();
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    fn pos(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(
                format!("filter is nested too deeply (more than {MAX_DEPTH} levels)"),
                pos,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Fails unless every token was consumed.
    fn finish(&self) -> Result<(), FilterError> {
        match self.peek() {
            None => Ok(()),
            Some(t) if t.tok == Tok::RParen => Err(FilterError::new("unbalanced parenthesis", t.pos)),
            Some(t) => Err(FilterError::new(
                format!("unexpected {} after the end of the filter", describe(&t.tok)),
                t.pos,
            )),
        }
    }

    /// `FILTER` with `or` at the lowest precedence (RFC 7644 §3.4.2.2 Table 5).
    /// `in_value` is true inside `attr[...]`, where value paths may not nest.
    fn parse_or(&mut self, in_value: bool) -> Result<Filter, FilterError> {
        let mut left = self.parse_and(in_value)?;
        while self.peek().is_some_and(|t| is_keyword(&t.tok, "or")) {
            self.bump();
            self.expect_operand("or")?;
            let right = self.parse_and(in_value)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self, in_value: bool) -> Result<Filter, FilterError> {
        let mut left = self.parse_unary(in_value)?;
        while self.peek().is_some_and(|t| is_keyword(&t.tok, "and")) {
            self.bump();
            self.expect_operand("and")?;
            let right = self.parse_unary(in_value)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn expect_operand(&self, after: &str) -> Result<(), FilterError> {
        match self.peek_tok(0) {
            None | Some(Tok::RParen | Tok::RBracket) => Err(FilterError::new(
                format!("expected a filter after '{after}'"),
                self.pos(),
            )),
            _ => Ok(()),
        }
    }

    /// `"(" FILTER ")"`, `not "(" FILTER ")"` or an attribute expression.
    fn parse_unary(&mut self, in_value: bool) -> Result<Filter, FilterError> {
        let Some(t) = self.peek().cloned() else {
            return Err(FilterError::new("expected a filter", self.end));
        };
        match &t.tok {
            Tok::LParen => {
                self.bump();
                self.parse_group(in_value, t.pos)
            }
            // RFC 7644 Figure 1 only allows `not` in front of a parenthesised filter, so
            // a `not` followed by anything else is an attribute that happens to be named
            // "not" (a valid ATTRNAME).
            Tok::Word(w) if w.eq_ignore_ascii_case("not") && self.peek_tok(1) == Some(&Tok::LParen) => {
                self.bump();
                let open = self.pos();
                self.bump();
                Ok(Filter::Not(Box::new(self.parse_group(in_value, open)?)))
            }
            // `not userName pr`: `not` is only an attribute name when an operator or a
            // value path follows, so anything else is a `not` missing its parentheses.
            Tok::Word(w)
                if w.eq_ignore_ascii_case("not")
                    && matches!(self.peek_tok(1), Some(Tok::Word(next)) if !is_operator_word(next)) =>
            {
                Err(FilterError::new(
                    "'not' must be followed by a parenthesised filter",
                    t.pos,
                ))
            }
            Tok::Word(_) => self.parse_attr_expr(in_value),
            Tok::RParen => Err(FilterError::new("unbalanced parenthesis", t.pos)),
            Tok::Str(_) => Err(FilterError::new("expected an attribute name, found a string", t.pos)),
            Tok::LBracket | Tok::RBracket => Err(FilterError::new(format!("unexpected {}", describe(&t.tok)), t.pos)),
        }
    }

    /// The rest of a parenthesised group whose '(' (at `open`) was just consumed.
    fn parse_group(&mut self, in_value: bool, open: usize) -> Result<Filter, FilterError> {
        self.enter(open)?;
        if self.peek_tok(0) == Some(&Tok::RParen) {
            return Err(FilterError::new("empty parentheses", open));
        }
        let inner = self.parse_or(in_value)?;
        match self.bump() {
            Some(Token { tok: Tok::RParen, .. }) => {}
            None => {
                return Err(FilterError::new("unbalanced parenthesis: missing ')'", open));
            }
            Some(t) => {
                return Err(FilterError::new(
                    format!("expected 'and', 'or' or ')' but found {}", describe(&t.tok)),
                    t.pos,
                ));
            }
        }
        self.leave();
        Ok(inner)
    }

    /// `attrPath "pr"`, `attrPath compareOp compValue` or `attrPath "[" valFilter "]"`.
    fn parse_attr_expr(&mut self, in_value: bool) -> Result<Filter, FilterError> {
        let Some(Token {
            tok: Tok::Word(word),
            pos,
        }) = self.bump()
        else {
            return Err(FilterError::new("expected an attribute name", self.pos()));
        };
        let path = parse_attr_path(&word, pos)?;
        if self.peek_tok(0) != Some(&Tok::LBracket) {
            return self.parse_operation(path);
        }
        let open = self.pos();
        if in_value {
            // RFC 7644 Figure 1: valFilter is attrExp / logExp / not(valFilter); it has
            // no valuePath alternative.
            return Err(FilterError::new("nested value paths are not allowed", open));
        }
        let filter = self.parse_bracket(&path, open)?;
        // Entra ID sends `emails[type eq "work"].value eq "x"`: not RFC grammar, but it
        // means the same as `emails[type eq "work" and value eq "x"]`.
        if let Some(Token { tok: Tok::Word(w), pos }) = self.peek().cloned()
            && let Some(sub) = w.strip_prefix('.')
        {
            if !is_attr_name(sub) {
                return Err(FilterError::new(
                    format!("'{sub}' is not a valid attribute name"),
                    pos + 1,
                ));
            }
            self.bump();
            let cmp = self.parse_operation(AttrPath::simple(sub))?;
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(Filter::And(Box::new(filter), Box::new(cmp))),
            });
        }
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(filter),
        })
    }

    /// `"[" valFilter "]"` after `path`; `open` is the position of '['.
    fn parse_bracket(&mut self, path: &AttrPath, open: usize) -> Result<Filter, FilterError> {
        if path.sub.is_some() {
            return Err(FilterError::new(
                format!("a value path needs a multi-valued attribute, not the sub-attribute '{path}'"),
                open,
            ));
        }
        self.bump();
        self.enter(open)?;
        if self.peek_tok(0) == Some(&Tok::RBracket) {
            return Err(FilterError::new("empty value filter", open));
        }
        let inner = self.parse_or(true)?;
        match self.bump() {
            Some(Token { tok: Tok::RBracket, .. }) => {}
            None => return Err(FilterError::new("unbalanced bracket: missing ']'", open)),
            Some(t) if t.tok == Tok::RParen => {
                return Err(FilterError::new("unbalanced parenthesis", t.pos));
            }
            Some(t) => {
                return Err(FilterError::new(
                    format!("expected 'and', 'or' or ']' but found {}", describe(&t.tok)),
                    t.pos,
                ));
            }
        }
        self.leave();
        Ok(inner)
    }

    /// The operator (and value) after an attribute path.
    fn parse_operation(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let Some(Token {
            tok: Tok::Word(op_word),
            pos,
        }) = self.peek().cloned()
        else {
            return Err(FilterError::new(
                format!("expected an operator after '{path}'"),
                self.pos(),
            ));
        };
        self.bump();
        if op_word.eq_ignore_ascii_case("pr") {
            // `attrPath SP "pr"`: anything but a logical operator or a closing
            // bracket after it is an attempt to give `pr` a value.
            return match self.peek() {
                Some(t) if matches!(t.tok, Tok::Str(_)) || (matches!(t.tok, Tok::Word(_)) && !is_logical(&t.tok)) => {
                    Err(FilterError::new("'pr' takes no value", t.pos))
                }
                _ => Ok(Filter::Present(path)),
            };
        }
        let Some(op) = CompareOp::from_keyword(&op_word) else {
            return Err(FilterError::new(format!("unknown operator '{op_word}'"), pos));
        };
        let value = self.parse_value(op)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `compValue = false / null / true / number / string`, plus Entra's unquoted strings.
    fn parse_value(&mut self, op: CompareOp) -> Result<CompValue, FilterError> {
        let missing = |pos| FilterError::new(format!("expected a value after '{op}'"), pos);
        let Some(t) = self.peek().cloned() else {
            return Err(missing(self.end));
        };
        let value = match t.tok {
            Tok::Str(s) => CompValue::Str(s),
            Tok::Word(w) if is_logical_word(&w) => return Err(missing(t.pos)),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Tok::Word(w) if is_json_number(&w) => match parse_number(&w) {
                Some(n) => CompValue::Number(n),
                None => {
                    return Err(FilterError::new(format!("number '{w}' is out of range"), t.pos));
                }
            },
            Tok::Word(w) => {
                // Entra ID sometimes omits the quotes. Accept a bare word only where a
                // value has to end anyway, so a typo such as `userName eq john smith`
                // still fails instead of silently meaning something else.
                match self.peek_tok(1) {
                    None | Some(Tok::RParen | Tok::RBracket) => CompValue::Str(w),
                    Some(next) if is_logical(next) => CompValue::Str(w),
                    Some(next) => {
                        return Err(FilterError::new(
                            format!(
                                "unquoted value '{w}' must be followed by 'and', 'or', ')', ']' or the end of the filter, not {}",
                                describe(next)
                            ),
                            t.pos,
                        ));
                    }
                }
            }
            _ => return Err(missing(t.pos)),
        };
        self.bump();
        Ok(value)
    }
}

/// Parses a filter (RFC 7644 §3.4.2.2).
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut p = Parser::new(input)?;
    let filter = p.parse_or(false)?;
    p.finish()?;
    Ok(filter)
}

/// Parses a PATCH path (RFC 7644 §3.5.2, `PATH = attrPath / valuePath [subAttr]`):
/// returns the attribute, the value filter (if any) and the sub-attribute written after
/// the value filter (`emails[type eq "work"].value` -> `Some("value")`). Without a value
/// filter a sub-attribute stays inside the [`AttrPath`].
pub fn parse_value_path(input: &str) -> Result<(AttrPath, Option<Filter>, Option<String>), FilterError> {
    let mut p = Parser::new(input)?;
    let Some(Token {
        tok: Tok::Word(word),
        pos,
    }) = p.bump()
    else {
        return Err(FilterError::new("expected an attribute name", 0));
    };
    let attr = parse_attr_path(&word, pos)?;
    if p.peek_tok(0) != Some(&Tok::LBracket) {
        p.finish()?;
        return Ok((attr, None, None));
    }
    let open = p.pos();
    let filter = p.parse_bracket(&attr, open)?;
    let mut sub = None;
    if let Some(Token { tok: Tok::Word(w), pos }) = p.peek().cloned() {
        let Some(name) = w.strip_prefix('.').filter(|n| is_attr_name(n)) else {
            return Err(FilterError::new(
                format!("expected '.' and a sub-attribute name after ']', found '{w}'"),
                pos,
            ));
        };
        sub = Some(name.to_string());
        p.bump();
    }
    p.finish()?;
    Ok((attr, Some(filter), sub))
}

// ---------------------------------------------------------------------------------------
// Common attributes
// ---------------------------------------------------------------------------------------

const fn common(name: &'static str, ty: AttrType, case_exact: bool, mutability: Mutability) -> AttributeDef {
    AttributeDef {
        name,
        ty,
        multi_valued: false,
        case_exact,
        required: false,
        mutability,
        returned: Returned::Default,
        unique: false,
        description: "",
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
    }
}

const META_SUB: &[AttributeDef] = &[
    common("resourceType", AttrType::String, true, Mutability::ReadOnly),
    common("created", AttrType::DateTime, false, Mutability::ReadOnly),
    common("lastModified", AttrType::DateTime, false, Mutability::ReadOnly),
    common("location", AttrType::Reference, true, Mutability::ReadOnly),
    common("version", AttrType::String, true, Mutability::ReadOnly),
];

/// The common attributes of every resource (RFC 7643 §3.1), which the schema table does
/// not list per resource type: `id`, `externalId`, `meta`, `schemas`.
const COMMON_ATTRIBUTES: &[AttributeDef] = &[
    common("id", AttrType::String, true, Mutability::ReadOnly),
    common("externalId", AttrType::String, true, Mutability::ReadWrite),
    AttributeDef {
        sub_attributes: META_SUB,
        ..common("meta", AttrType::Complex, false, Mutability::ReadOnly)
    },
    AttributeDef {
        multi_valued: true,
        ..common("schemas", AttrType::Reference, false, Mutability::ReadOnly)
    },
];

/// The common attribute (RFC 7643 §3.1) with this name, compared case-insensitively.
pub(crate) fn common_attribute(name: &str) -> Option<&'static AttributeDef> {
    COMMON_ATTRIBUTES.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The value under `key`, trying the exact key first and then any key that differs only
/// in case (attribute names are case-insensitive, RFC 7643 §2.1).
pub(crate) fn get_ci<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map.get(key)
        .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

// ---------------------------------------------------------------------------------------
// Evaluator
// ---------------------------------------------------------------------------------------

/// Whether a JSON element (a complex attribute value such as one email object, or a whole
/// resource) matches the filter.
///
/// `attrs` are the attribute definitions at that level (e.g. `schema::USER.attributes` for
/// a whole User, or the `emails` sub-attributes for one email), used for case-insensitive
/// name lookup, `caseExact` and the data type. The common attributes `id`, `externalId`,
/// `meta` and `schemas` are always known. An attribute not in `attrs` never matches
/// (`pr` is false, comparisons are false except `ne`, which is true). An EMPTY `attrs`
/// means "no schema" (e.g. a custom extension): names are then looked up
/// case-insensitively in the JSON itself and strings compare case-insensitively.
///
/// URN-qualified paths look inside the extension object stored under that URN key (with
/// that extension's schema when it is one of `schema::ALL`); a core schema URN addresses
/// the element itself.
pub fn matches(filter: &Filter, element: &Value, attrs: &[AttributeDef]) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, element, attrs) && matches(b, element, attrs),
        Filter::Or(a, b) => matches(a, element, attrs) || matches(b, element, attrs),
        Filter::Not(inner) => !matches(inner, element, attrs),
        // RFC 7644 §3.4.2.2 `pr`: "If the attribute has a non-empty value, or if it
        // contains a non-empty node for complex attributes, there is a match."
        Filter::Present(path) => resolve(path, element, attrs).iter().any(|(v, _)| is_present(v)),
        Filter::Compare { path, op, value } => {
            let found = resolve(path, element, attrs);
            if found.is_empty() {
                // An unassigned attribute equals nothing, so it is "not equal" to anything.
                return *op == CompareOp::Ne;
            }
            // RFC 7644 §3.4.2.2: a multi-valued attribute matches when any value matches.
            found.iter().any(|(v, def)| compare(v, *def, *op, value))
        }
        Filter::ValuePath { path, filter } => {
            let Some((v, def)) = locate(path, element, attrs) else {
                return false;
            };
            let sub_attrs: &[AttributeDef] = def.map_or(&[][..], |d| d.sub_attributes);
            elements(v).any(|e| matches(filter, e, sub_attrs))
        }
    }
}

/// The value itself, or each value of an array (multi-valued attributes).
fn elements(v: &Value) -> std::slice::Iter<'_, Value> {
    match v {
        Value::Array(items) => items.iter(),
        other => std::slice::from_ref(other).iter(),
    }
}

fn find_def<'a>(attrs: &'a [AttributeDef], name: &str) -> Option<&'a AttributeDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The object and attribute definitions a path's URN points at.
fn scope<'v, 'a>(
    path: &AttrPath,
    element: &'v Value,
    attrs: &'a [AttributeDef],
) -> Option<(&'v Value, &'a [AttributeDef])> {
    let Some(urn) = &path.urn else {
        return Some((element, attrs));
    };
    if let Some(ext) = element.as_object().and_then(|m| get_ci(m, urn)) {
        let ext_attrs: &'static [AttributeDef] = crate::schema::ALL
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
            .map_or(&[][..], |s| s.attributes);
        return Some((ext, ext_attrs));
    }
    // Core attributes are stored at the top level (RFC 7644 §3.10: a core attribute may
    // be written fully qualified).
    let core = [crate::schema::USER_SCHEMA, crate::schema::GROUP_SCHEMA];
    core.iter()
        .any(|c| c.eq_ignore_ascii_case(urn))
        .then_some((element, attrs))
}

/// The attribute a path names (ignoring its sub-attribute) and its definition.
fn locate<'v, 'a>(
    path: &AttrPath,
    element: &'v Value,
    attrs: &'a [AttributeDef],
) -> Option<(&'v Value, Option<&'a AttributeDef>)> {
    let (scope, attrs) = scope(path, element, attrs)?;
    let def = if attrs.is_empty() {
        None
    } else {
        Some(find_def(attrs, &path.name).or_else(|| common_attribute(&path.name))?)
    };
    let key = def.map_or(path.name.as_str(), |d| d.name);
    let v = get_ci(scope.as_object()?, key)?;
    Some((v, def))
}

/// Every leaf value a path reaches, multi-valued attributes flattened, with the leaf's
/// definition.
fn resolve<'v, 'a>(
    path: &AttrPath,
    element: &'v Value,
    attrs: &'a [AttributeDef],
) -> Vec<(&'v Value, Option<&'a AttributeDef>)> {
    let mut out = Vec::new();
    if !element.is_object() {
        // A primitive value inside a multi-valued attribute is addressed as `value`
        // (RFC 7644 §3.5.2: `[value eq "..."]` on simple multi-valued attributes).
        if path.urn.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value") {
            out.push((element, find_def(attrs, "value")));
        }
        return out;
    }
    let Some((v, def)) = locate(path, element, attrs) else {
        return out;
    };
    let Some(sub) = &path.sub else {
        out.extend(elements(v).map(|e| (e, def)));
        return out;
    };
    let sub_def: Option<&'a AttributeDef> = match def {
        Some(d) => match d.sub_attribute(sub) {
            Some(sd) => Some(sd),
            None => return out,
        },
        None => None,
    };
    let key = sub_def.map_or(sub.as_str(), |d| d.name);
    for e in elements(v) {
        if let Some(x) = e.as_object().and_then(|o| get_ci(o, key)) {
            out.extend(elements(x).map(|y| (y, sub_def)));
        }
    }
    out
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn apply_ordering(op: CompareOp, ord: Option<Ordering>) -> bool {
    match (op, ord) {
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Ne, Some(o)) => o != Ordering::Equal,
        (CompareOp::Ne, None) => true,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        _ => false,
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn parse_datetime(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s).ok()
}

/// One comparison of RFC 7644 §3.4.2.2 Table 3 between a stored value and a literal.
fn compare(v: &Value, def: Option<&AttributeDef>, op: CompareOp, lit: &CompValue) -> bool {
    // A complex value compared without a sub-attribute is compared through its `value`
    // sub-attribute (RFC 7643 §2.4: `value` is the significant value), so that
    // `emails co "@example.com"` works.
    let (v, def) = match v {
        Value::Object(o) => match get_ci(o, "value") {
            Some(x) => (x, def.and_then(|d| d.sub_attribute("value"))),
            None => return op == CompareOp::Ne,
        },
        _ => (v, def),
    };
    match (lit, v) {
        (CompValue::Null, _) => match op {
            CompareOp::Eq => v.is_null(),
            CompareOp::Ne => !v.is_null(),
            _ => false,
        },
        // Booleans only support equality (RFC 7644 §3.4.2.2: gt/ge/lt/le on a Boolean
        // attribute is an error; here it simply does not match).
        (CompValue::Bool(b), Value::Bool(x)) => match op {
            CompareOp::Eq => x == b,
            CompareOp::Ne => x != b,
            _ => false,
        },
        (CompValue::Number(n), Value::Number(x)) => match op {
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
            _ => apply_ordering(op, compare_numbers(x, n)),
        },
        (CompValue::Str(s), Value::String(x)) => compare_strings(x, s, def, op),
        // Values of different types are never equal.
        _ => op == CompareOp::Ne,
    }
}

fn compare_strings(stored: &str, lit: &str, def: Option<&AttributeDef>, op: CompareOp) -> bool {
    let is_datetime = def.is_some_and(|d| d.ty == AttrType::DateTime);
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    // RFC 7644 §3.4.2.2: "If the attribute type is dateTime, the comparison is a
    // chronological comparison" for ordering, and equal instants written with different
    // offsets are equal. Ordering falls back to the lexicographic rule when either side is
    // not an RFC 3339 timestamp.
    if (ordering || is_datetime && matches!(op, CompareOp::Eq | CompareOp::Ne))
        && let (Some(a), Some(b)) = (parse_datetime(stored), parse_datetime(lit))
    {
        return apply_ordering(op, Some(a.cmp(&b)));
    }
    // RFC 7644 §3.4.2.2: string comparisons honour caseExact; caseExact false means a
    // case-insensitive comparison.
    let case_exact = def.is_some_and(|d| d.case_exact);
    let (a, b): (Cow<'_, str>, Cow<'_, str>) = if case_exact {
        (Cow::Borrowed(stored), Cow::Borrowed(lit))
    } else {
        (Cow::Owned(stored.to_lowercase()), Cow::Owned(lit.to_lowercase()))
    };
    match op {
        CompareOp::Co => a.contains(b.as_ref()),
        CompareOp::Sw => a.starts_with(b.as_ref()),
        CompareOp::Ew => a.ends_with(b.as_ref()),
        _ => apply_ordering(op, Some(a.cmp(&b))),
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, USER};
    use serde_json::json;

    fn p(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }
    fn str_cmp(path: &str, op: CompareOp, v: &str) -> Filter {
        Filter::Compare {
            path: p(path),
            op,
            value: CompValue::Str(v.into()),
        }
    }
    fn cmp(path: &str, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare {
            path: p(path),
            op,
            value,
        }
    }
    fn pr(path: &str) -> Filter {
        Filter::Present(p(path))
    }
    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }
    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }
    fn not(a: Filter) -> Filter {
        Filter::Not(Box::new(a))
    }
    fn vp(path: &str, f: Filter) -> Filter {
        Filter::ValuePath {
            path: p(path),
            filter: Box::new(f),
        }
    }
    fn num(s: &str) -> CompValue {
        CompValue::Number(parse_number(s).unwrap())
    }

    use CompareOp::*;

    /// (input, urn, name, sub, message)
    type PathCase = (
        &'static str,
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
        &'static str,
    );

    #[test]
    fn attr_paths_parse_into_urn_name_and_sub() {
        let ent = ENTERPRISE_USER_SCHEMA;
        let cases: Vec<PathCase> = vec![
            ("userName", None, "userName", None, "simple name"),
            ("name.givenName", None, "name", Some("givenName"), "sub-attribute"),
            (
                "meta.lastModified",
                None,
                "meta",
                Some("lastModified"),
                "meta sub-attribute",
            ),
            ("members.$ref", None, "members", Some("$ref"), "$ref sub-attribute"),
            ("x509Certificates", None, "x509Certificates", None, "digits in name"),
            ("a-b_c", None, "a-b_c", None, "dash and underscore"),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                Some(ent),
                "employeeNumber",
                None,
                "URN-qualified",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                Some(ent),
                "manager",
                Some("value"),
                "URN-qualified with sub",
            ),
            (
                "URN:ietf:params:scim:schemas:core:2.0:User:userName",
                Some("URN:ietf:params:scim:schemas:core:2.0:User"),
                "userName",
                None,
                "upper-case URN prefix",
            ),
            ("USERNAME", None, "USERNAME", None, "case is kept"),
        ];
        for (input, urn, name, sub, msg) in cases {
            let got = AttrPath::parse(input).unwrap_or_else(|e| panic!("{msg}: {input}: {e}"));
            assert_eq!(got.urn.as_deref(), urn, "{msg}");
            assert_eq!(got.name, name, "{msg}");
            assert_eq!(got.sub.as_deref(), sub, "{msg}");
            assert_eq!(got.to_string(), input, "{msg}: display writes it back");
        }
        for bad in ["", "1abc", "a.b.c", "a@b", "urn:", "urn:x:", "name.", ".name", "a b"] {
            assert!(AttrPath::parse(bad).is_err(), "'{bad}' must be rejected");
        }
    }

    #[test]
    fn every_operator_parses() {
        let cases = [
            ("userName eq \"bjensen\"", str_cmp("userName", Eq, "bjensen"), "eq"),
            ("userName ne \"bjensen\"", str_cmp("userName", Ne, "bjensen"), "ne"),
            (
                "name.familyName co \"O'Malley\"",
                str_cmp("name.familyName", Co, "O'Malley"),
                "co",
            ),
            ("userName sw \"J\"", str_cmp("userName", Sw, "J"), "sw"),
            (
                "emails ew \"@example.com\"",
                str_cmp("emails", Ew, "@example.com"),
                "ew",
            ),
            ("title pr", pr("title"), "pr"),
            (
                "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
                str_cmp("meta.lastModified", Gt, "2011-05-13T04:42:34Z"),
                "gt",
            ),
            (
                "meta.lastModified ge \"2011-05-13T04:42:34Z\"",
                str_cmp("meta.lastModified", Ge, "2011-05-13T04:42:34Z"),
                "ge",
            ),
            (
                "meta.lastModified lt \"2011-05-13T04:42:34Z\"",
                str_cmp("meta.lastModified", Lt, "2011-05-13T04:42:34Z"),
                "lt",
            ),
            (
                "meta.lastModified le \"2011-05-13T04:42:34Z\"",
                str_cmp("meta.lastModified", Le, "2011-05-13T04:42:34Z"),
                "le",
            ),
        ];
        for (input, want, msg) in cases {
            assert_eq!(parse_filter(input), Ok(want), "{msg}: {input}");
        }
    }

    #[test]
    fn grammar_structure() {
        let a = || str_cmp("a", Eq, "1");
        let b = || str_cmp("b", Eq, "2");
        let c = || str_cmp("c", Eq, "3");
        let cases = [
            (
                "a eq \"1\" and b eq \"2\" or c eq \"3\"",
                or(and(a(), b()), c()),
                "and binds tighter (left)",
            ),
            (
                "a eq \"1\" or b eq \"2\" and c eq \"3\"",
                or(a(), and(b(), c())),
                "and binds tighter (right)",
            ),
            (
                "a eq \"1\" or b eq \"2\" or c eq \"3\"",
                or(or(a(), b()), c()),
                "or is left-associative",
            ),
            (
                "a eq \"1\" and b eq \"2\" and c eq \"3\"",
                and(and(a(), b()), c()),
                "and is left-associative",
            ),
            (
                "(a eq \"1\" or b eq \"2\") and c eq \"3\"",
                and(or(a(), b()), c()),
                "parentheses override precedence",
            ),
            (
                "a eq \"1\" and (b eq \"2\" or c eq \"3\")",
                and(a(), or(b(), c())),
                "parentheses on the right",
            ),
            ("((a eq \"1\"))", a(), "redundant parentheses"),
            ("not (a eq \"1\")", not(a()), "not"),
            ("NOT(a eq \"1\")", not(a()), "not without a space, upper case"),
            (
                "not (a eq \"1\") and b eq \"2\"",
                and(not(a()), b()),
                "not binds to its group",
            ),
            (
                "a eq \"1\" and not (b eq \"2\" or c eq \"3\")",
                and(a(), not(or(b(), c()))),
                "not on the right",
            ),
            (
                "emails[type eq \"work\" and value co \"@example.com\"]",
                vp(
                    "emails",
                    and(str_cmp("type", Eq, "work"), str_cmp("value", Co, "@example.com")),
                ),
                "value path",
            ),
            (
                "userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]",
                and(
                    str_cmp("userType", Eq, "Employee"),
                    vp(
                        "emails",
                        and(str_cmp("type", Eq, "work"), str_cmp("value", Co, "@example.com")),
                    ),
                ),
                "value path inside a logical expression",
            ),
            (
                "emails[not (type eq \"home\")]",
                vp("emails", not(str_cmp("type", Eq, "home"))),
                "not inside a value path",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
                str_cmp(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                    Eq,
                    "701984",
                ),
                "URN-qualified path",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"26118915-6090-4610-87e4-49d8ca9f808d\"",
                str_cmp(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                    Eq,
                    "26118915-6090-4610-87e4-49d8ca9f808d",
                ),
                "URN-qualified path with sub-attribute",
            ),
            (
                "name.givenName sw \"B\"",
                str_cmp("name.givenName", Sw, "B"),
                "sub-attribute",
            ),
            (
                "userName EQ \"x\" AND title PR",
                and(str_cmp("userName", Eq, "x"), pr("title")),
                "operators are case-insensitive",
            ),
            (
                "userName Eq \"x\" oR title pR",
                or(str_cmp("userName", Eq, "x"), pr("title")),
                "mixed case operators",
            ),
            (
                "  userName \t eq   \"x\"  ",
                str_cmp("userName", Eq, "x"),
                "spaces and tabs between tokens",
            ),
        ];
        for (input, want, msg) in cases {
            assert_eq!(parse_filter(input), Ok(want), "{msg}: {input}");
        }
    }

    #[test]
    fn values_strings_numbers_booleans_null() {
        let cases = [
            (r#"a eq "x\"y""#, CompValue::Str("x\"y".into()), "escaped quote"),
            (r#"a eq "x\\y""#, CompValue::Str("x\\y".into()), "escaped backslash"),
            (r#"a eq "caf\u00e9""#, CompValue::Str("café".into()), "unicode escape"),
            (r#"a eq "\ud83d\ude00""#, CompValue::Str("😀".into()), "surrogate pair"),
            (
                r#"a eq "tab\tnl\n\/""#,
                CompValue::Str("tab\tnl\n/".into()),
                "control escapes",
            ),
            (
                r#"a eq "é and ) ] ( [""#,
                CompValue::Str("é and ) ] ( [".into()),
                "delimiters inside a string",
            ),
            (r#"a eq """#, CompValue::Str(String::new()), "empty string"),
            ("a eq 42", num("42"), "integer"),
            ("a eq -7", num("-7"), "negative integer"),
            ("a eq 3.25", num("3.25"), "decimal"),
            ("a eq 1e3", num("1e3"), "exponent"),
            ("a eq -2.5E-3", num("-2.5E-3"), "negative exponent"),
            ("a eq true", CompValue::Bool(true), "true"),
            ("a eq FALSE", CompValue::Bool(false), "false, any case"),
            ("a eq null", CompValue::Null, "null"),
            ("a eq Null", CompValue::Null, "null, any case"),
        ];
        for (input, want, msg) in cases {
            assert_eq!(parse_filter(input), Ok(cmp("a", Eq, want)), "{msg}: {input}");
        }
    }

    #[test]
    fn entra_quirks_are_accepted() {
        let cases = [
            (
                "emails[type eq \"work\"].value eq \"x@y\"",
                vp("emails", and(str_cmp("type", Eq, "work"), str_cmp("value", Eq, "x@y"))),
                "sub-attribute comparison after a value path",
            ),
            (
                "emails[type eq \"work\"].value pr",
                vp("emails", and(str_cmp("type", Eq, "work"), pr("value"))),
                "pr after a value path",
            ),
            (
                "emails[type eq \"work\" or type eq \"home\"].value eq \"x\"",
                vp(
                    "emails",
                    and(
                        or(str_cmp("type", Eq, "work"), str_cmp("type", Eq, "home")),
                        str_cmp("value", Eq, "x"),
                    ),
                ),
                "or inside the brackets stays grouped",
            ),
            (
                "userName eq bjensen",
                str_cmp("userName", Eq, "bjensen"),
                "unquoted value at the end",
            ),
            (
                "userName eq bjensen@example.com and active eq true",
                and(
                    str_cmp("userName", Eq, "bjensen@example.com"),
                    cmp("active", Eq, CompValue::Bool(true)),
                ),
                "unquoted value before and",
            ),
            (
                "(userName eq bjensen)",
                str_cmp("userName", Eq, "bjensen"),
                "unquoted value before )",
            ),
            (
                "emails[value eq a@b.c]",
                vp("emails", str_cmp("value", Eq, "a@b.c")),
                "unquoted value before ]",
            ),
            (
                "externalId eq 00123",
                str_cmp("externalId", Eq, "00123"),
                "not a JSON number: a word",
            ),
            (
                "userName eq pr",
                str_cmp("userName", Eq, "pr"),
                "an operator name as a value",
            ),
        ];
        for (input, want, msg) in cases {
            assert_eq!(parse_filter(input), Ok(want), "{msg}: {input}");
        }
    }

    #[test]
    fn attributes_named_like_keywords() {
        let cases = [
            ("not pr", pr("not"), "attribute named not"),
            ("and eq 1", cmp("and", Eq, num("1")), "attribute named and"),
            ("a pr and or pr", and(pr("a"), pr("or")), "attribute named or after and"),
            (
                "not[value pr]",
                vp("not", pr("value")),
                "value path on an attribute named not",
            ),
        ];
        for (input, want, msg) in cases {
            assert_eq!(parse_filter(input), Ok(want), "{msg}: {input}");
        }
    }

    #[test]
    fn display_round_trips() {
        let filters = [
            "userName eq \"bjensen\"",
            "name.familyName co \"O'Malley\"",
            "userName sw \"J\"",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
            "title pr",
            "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
            "meta.lastModified ge \"2011-05-13T04:42:34Z\"",
            "meta.lastModified lt \"2011-05-13T04:42:34Z\"",
            "meta.lastModified le \"2011-05-13T04:42:34Z\"",
            "title pr and userType eq \"Employee\"",
            "title pr or userType eq \"Intern\"",
            "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
            "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
            "userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")",
            "userType eq \"Employee\" and (emails.type eq \"work\")",
            "userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]",
            "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]",
            "a eq 1 and (b eq 2 and c eq 3)",
            "a eq 1 or (b eq 2 or c eq 3)",
            "(a eq 1 or b eq 2) and (c eq 3 or d eq 4)",
            "not (not (a pr))",
            "a eq true or b eq false or c eq null",
            "a eq -1.5e10",
            "a eq 18446744073709551615",
            "a eq 123456789012345678901234567890",
            "a eq \"quote\\\" backslash\\\\ tab\\t ctrl\\u0001 é 😀\"",
            "emails[type eq \"work\"].value eq \"x@y\"",
            "userName eq bjensen and x eq y",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"x\"",
            "members[value eq \"2819c223\" or not (display sw \"A\")]",
            "USERNAME EQ \"X\" AND NOT (TITLE PR)",
            "x.$ref eq \"https://example.com/Users/1\"",
        ];
        for input in filters {
            let f = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let text = f.to_string();
            assert_eq!(parse_filter(&text), Ok(f.clone()), "round trip of {input} via {text}");
            // Printing is stable once normalised.
            assert_eq!(
                parse_filter(&text).unwrap().to_string(),
                text,
                "stable display for {input}"
            );
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let deep = format!("{}a pr{}", "(".repeat(70), ")".repeat(70));
        let deep_not = format!("{}a pr{}", "not (".repeat(65), ")".repeat(65));
        let long = format!("userName eq \"{}\"", "x".repeat(9 * 1024));
        let cases: Vec<(&str, &str, &str)> = vec![
            ("", "empty filter", "empty"),
            ("   \t ", "empty filter", "only whitespace"),
            ("userName eq", "expected a value after 'eq'", "missing value"),
            ("userName xx \"a\"", "unknown operator 'xx'", "unknown operator"),
            ("(userName eq \"a\"", "unbalanced parenthesis", "missing )"),
            ("userName eq \"a\")", "unbalanced parenthesis", "extra )"),
            ("userName eq \"a\" and", "expected a filter after 'and'", "dangling and"),
            ("userName eq \"a\" or", "expected a filter after 'or'", "dangling or"),
            ("RANDOMUSER@EXAMPLE.COM", "is not a valid attribute path", "bare word"),
            ("userName", "expected an operator after 'userName'", "bare attribute"),
            ("emails[type eq \"work\"", "missing ']'", "missing ]"),
            (
                "emails[type eq \"work\" and value[x pr]]",
                "nested value paths are not allowed",
                "nested value path",
            ),
            ("userName pr \"x\"", "'pr' takes no value", "pr with a string"),
            ("userName pr x", "'pr' takes no value", "pr with a word"),
            ("userName eq \"abc", "unterminated string", "unterminated string"),
            (
                "userName eq \"abc\\",
                "unterminated string",
                "unterminated after backslash",
            ),
            ("userName eq \"a\\qb\"", "invalid escape", "bad escape"),
            ("userName eq \"\\ud800\"", "invalid \\u escape", "lone surrogate"),
            ("userName eq \"\\u12\"", "invalid \\u escape", "short unicode escape"),
            (deep.as_str(), "nested too deeply", "70 nested parentheses"),
            (deep_not.as_str(), "nested too deeply", "65 nested nots"),
            (long.as_str(), "filter is too long", "9 KiB filter"),
            (
                "userName eq \"a\" \"b\"",
                "unexpected the string \"b\"",
                "trailing garbage",
            ),
            (
                "userName eq \"a\" title pr",
                "unexpected 'title'",
                "missing logical operator",
            ),
            (
                "userName eq john smith",
                "unquoted value 'john'",
                "unquoted value with a space",
            ),
            ("userName eq and", "expected a value after 'eq'", "keyword as value"),
            ("userName eq 1e999", "out of range", "number overflow"),
            ("()", "empty parentheses", "empty group"),
            ("emails[]", "empty value filter", "empty brackets"),
            ("\"userName\" eq \"a\"", "found a string", "quoted attribute"),
            (
                "name.givenName[value pr]",
                "value path needs a multi-valued attribute",
                "value path on a sub-attribute",
            ),
            (
                "not userName pr",
                "'not' must be followed by a parenthesised filter",
                "not without parentheses",
            ),
            (
                "emails[type eq \"work\"].1x eq \"a\"",
                "not a valid attribute name",
                "bad sub after value path",
            ),
            (
                "userName eq \"a\" and )",
                "expected a filter after 'and'",
                "and before )",
            ),
            ("[a pr]", "unexpected '['", "leading bracket"),
            ("a.b.c pr", "not a valid attribute path", "two dots"),
        ];
        for (input, needle, msg) in cases {
            match parse_filter(input) {
                Ok(f) => panic!("{msg}: '{input}' parsed as {f:?}"),
                Err(e) => assert!(
                    e.message.contains(needle),
                    "{msg}: '{}' does not contain '{needle}'",
                    e.message
                ),
            }
        }
    }

    #[test]
    fn error_positions_are_character_offsets() {
        let cases = [
            ("userName xx \"a\"", 9, "operator"),
            ("(userName eq \"a\"", 0, "unclosed group points at '('"),
            ("userName eq \"a\")", 15, "extra ')'"),
            ("é eq \"a\"", 0, "invalid path at start"),
            ("\"é\" eq 1 zz", 0, "string where a path was expected"),
            ("a eq \"é\" zz", 9, "offsets count characters, not bytes"),
            ("a eq", 4, "end of input"),
        ];
        for (input, pos, msg) in cases {
            assert_eq!(parse_filter(input).map_err(|e| e.position), Err(pos), "{msg}: {input}");
        }
        // 64 levels are allowed.
        let ok = format!("{}a pr{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(parse_filter(&ok), Ok(pr("a")), "64 levels are within the limit");
        assert_eq!(
            parse_filter("userName eq").unwrap_err().to_string(),
            "expected a value after 'eq' (at character 11)",
            "Display carries the position"
        );
    }

    #[test]
    fn patch_value_paths() {
        let (attr, filter, sub) = parse_value_path("emails[type eq \"work\"].value").unwrap();
        assert_eq!(
            (attr, filter, sub),
            (p("emails"), Some(str_cmp("type", Eq, "work")), Some("value".into())),
            "filter and sub"
        );
        let (attr, filter, sub) = parse_value_path("members[value eq \"x\"]").unwrap();
        assert_eq!(
            (attr, filter, sub),
            (p("members"), Some(str_cmp("value", Eq, "x")), None),
            "filter only"
        );
        let (attr, filter, sub) = parse_value_path("name.givenName").unwrap();
        assert_eq!(
            (attr, filter, sub),
            (p("name.givenName"), None, None),
            "dotted path keeps the sub inside AttrPath"
        );
        for bad in [
            "",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"].",
            "emails[type eq \"work\"] x",
            "name givenName",
            "a[b[c pr]]",
            "emails[type eq \"work\"].value eq \"x\"",
        ] {
            assert!(parse_value_path(bad).is_err(), "PATCH path '{bad}' must be rejected");
        }
    }

    fn user() -> Value {
        json!({
            "userName": "BJensen",
            "externalId": "AbC",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": ""},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [],
            "meta": {"created": "2011-08-01T18:29:49.793Z", "lastModified": "2011-08-01T20:29:49+02:00"},
            "roles": [],
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "manager": {"value": "m1"}}
        })
    }

    #[test]
    fn matches_follows_rfc_semantics() {
        let u = user();
        let cases: Vec<(&str, bool, &str)> = vec![
            (
                "userName eq \"bjensen\"",
                true,
                "caseExact false compares case-insensitively",
            ),
            ("USERNAME eq \"BJENSEN\"", true, "attribute names are case-insensitive"),
            ("externalId eq \"abc\"", false, "externalId is caseExact"),
            ("externalId eq \"AbC\"", true, "caseExact exact match"),
            ("userName co \"jen\"", true, "co"),
            ("userName sw \"bj\"", true, "sw"),
            ("userName ew \"SEN\"", true, "ew"),
            ("userName sw \"jen\"", false, "sw mismatch"),
            ("userName ne \"x\"", true, "ne"),
            ("userName gt \"a\"", true, "gt on strings is lexicographic"),
            ("userName lt \"a\"", false, "lt on strings"),
            ("userName ge \"bjensen\"", true, "ge equal"),
            ("userName le \"BJENSEN\"", true, "le equal, case-insensitive"),
            ("meta.created gt \"2011-08-01T00:00:00Z\"", true, "gt on dates"),
            ("meta.created lt \"2011-08-01T00:00:00Z\"", false, "lt on dates"),
            (
                "meta.lastModified eq \"2011-08-01T18:29:49Z\"",
                true,
                "equal instants with different offsets",
            ),
            (
                "meta.lastModified lt \"2011-08-01T18:29:50Z\"",
                true,
                "chronological, not lexicographic",
            ),
            ("meta.created pr", true, "common attribute meta"),
            ("title pr", false, "absent attribute is not present"),
            ("name.middleName pr", false, "empty string is not present"),
            ("phoneNumbers pr", false, "empty array is not present"),
            ("emails pr", true, "non-empty array is present"),
            ("name pr", true, "complex with values is present"),
            ("active eq true", true, "boolean eq"),
            ("active ne true", false, "boolean ne"),
            ("active gt true", false, "booleans only support eq/ne"),
            ("active eq \"true\"", false, "string never equals a boolean"),
            (
                "emails.value ew \"jensen.org\"",
                true,
                "multi-valued: any value matches",
            ),
            ("emails.type eq \"other\"", false, "multi-valued: none matches"),
            (
                "emails co \"babs\"",
                true,
                "complex multi-valued compared through value",
            ),
            ("emails[type eq \"work\" and primary eq true]", true, "value path"),
            (
                "emails[type eq \"home\" and primary eq true]",
                false,
                "value path conditions on the same element",
            ),
            (
                "emails[type eq \"work\"].value sw \"bjensen\"",
                true,
                "Entra value path form",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
                true,
                "extension attribute",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"M1\"",
                true,
                "extension sub-attribute",
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"bjensen\"",
                true,
                "qualified core attribute",
            ),
            ("urn:example:custom:2.0:User:x pr", false, "unknown extension"),
            ("nosuch eq \"x\"", false, "unknown attribute never matches"),
            ("nosuch pr", false, "unknown attribute is never present"),
            ("nosuch ne \"x\"", true, "ne on an unknown attribute"),
            ("not (userName eq \"x\")", true, "not"),
            ("userName eq \"x\" or active eq true", true, "or"),
            ("userName eq \"x\" and active eq true", false, "and"),
            ("userName eq null", false, "null compare on present value"),
            ("title eq null", false, "missing compared to null"),
        ];
        for (input, want, msg) in cases {
            let f = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(matches(&f, &u, USER.attributes), want, "{msg}: {input}");
        }
    }

    #[test]
    fn matches_on_elements_and_numbers() {
        let email_attrs = USER.attribute("emails").unwrap().sub_attributes;
        let email = json!({"value": "X@Example.com", "type": "Work"});
        let f = parse_filter("type eq \"work\" and value ew \"example.COM\"").unwrap();
        assert!(
            matches(&f, &email, email_attrs),
            "element-level match with sub-attribute definitions"
        );

        let primitive = json!("Hello");
        assert!(
            matches(&parse_filter("value eq \"hello\"").unwrap(), &primitive, &[]),
            "a primitive is its own value"
        );
        assert!(
            !matches(&parse_filter("type eq \"hello\"").unwrap(), &primitive, &[]),
            "a primitive has no other sub-attribute"
        );

        let doc = json!({"n": 10, "f": 2.5, "big": 18446744073709551615u64, "s": "x", "list": [1, 5, 9]});
        let cases = [
            ("n gt 9", true, "integer gt"),
            ("n ge 10", true, "integer ge"),
            ("n lt 10", false, "integer lt"),
            ("f le 2.5", true, "float le"),
            ("f gt 2", true, "float vs integer"),
            ("big gt 1", true, "u64"),
            ("n co 1", false, "co on numbers"),
            ("list eq 5", true, "multi-valued numbers: any"),
            ("list gt 9", false, "multi-valued numbers: none"),
            ("S EQ \"X\"", true, "schema-less: case-insensitive names and values"),
            ("n eq \"10\"", false, "a string is not a number"),
        ];
        for (input, want, msg) in cases {
            let f = parse_filter(input).unwrap();
            assert_eq!(matches(&f, &doc, &[]), want, "{msg}: {input}");
        }
    }

    /// A small deterministic xorshift PRNG, so the fuzz test needs no extra crate.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const FUZZ_TOKENS: &[&str] = &[
        "userName",
        "emails",
        "name.givenName",
        "value",
        "type",
        "not",
        "and",
        "or",
        "pr",
        "eq",
        "ne",
        "co",
        "sw",
        "ew",
        "gt",
        "ge",
        "lt",
        "le",
        "EQ",
        "And",
        "(",
        ")",
        "[",
        "]",
        "\"a\"",
        "\"x\\\"y\"",
        "\"\\u00e9\"",
        "\"",
        "\\",
        "1",
        "-2.5e3",
        "1e999",
        "true",
        "false",
        "null",
        "bare",
        ".value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "@",
        "é",
        "$ref",
        "members.$ref",
        "00",
        "-",
        "a.b.c",
        "\t",
        "NOT(",
        "].",
    ];

    /// A random filter that follows the grammar (including the Entra forms), so the
    /// round-trip property is exercised on many valid inputs, not only on lucky soup.
    fn gen_filter(rng: &mut XorShift, depth: usize, in_value: bool, out: &mut String) {
        const PATHS: &[&str] = &[
            "userName",
            "Title",
            "name.givenName",
            "x-y_z",
            "and",
            "not",
            "meta.lastModified",
            "members.$ref",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ];
        const OPS: &[&str] = &["eq", "NE", "co", "Sw", "ew", "gt", "ge", "lt", "le"];
        const VALUES: &[&str] = &[
            "\"a\"",
            "\"\"",
            "\"q\\\"\\\\\\u00e9\\ud83d\\ude00\\n\"",
            "0",
            "-1.5e-3",
            "123456789012345678901",
            "TRUE",
            "false",
            "null",
            "bareWord",
            "x@y.com",
        ];
        let pick = |rng: &mut XorShift, xs: &[&'static str]| xs[rng.below(xs.len())];
        let choice = if depth >= 4 { rng.below(2) } else { rng.below(8) };
        match choice {
            0 => {
                out.push_str(pick(rng, PATHS));
                out.push_str(" pr");
            }
            1 => {
                out.push_str(pick(rng, PATHS));
                out.push(' ');
                out.push_str(pick(rng, OPS));
                out.push(' ');
                out.push_str(pick(rng, VALUES));
            }
            2 | 3 => {
                gen_filter(rng, depth + 1, in_value, out);
                out.push_str(if rng.below(2) == 0 { " and " } else { " OR " });
                gen_filter(rng, depth + 1, in_value, out);
            }
            4 => {
                out.push('(');
                gen_filter(rng, depth + 1, in_value, out);
                out.push(')');
            }
            5 => {
                out.push_str("not (");
                gen_filter(rng, depth + 1, in_value, out);
                out.push(')');
            }
            _ if in_value => gen_filter(rng, depth + 1, in_value, out),
            _ => {
                out.push_str("emails[");
                gen_filter(rng, depth + 1, true, out);
                out.push(']');
                if rng.below(3) == 0 {
                    out.push_str(".value eq \"w\"");
                }
            }
        }
    }

    #[test]
    fn fuzz_never_panics_and_round_trips() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for round in 0..5_000 {
            let mut s = String::new();
            if round % 2 == 0 {
                // Token soup.
                for _ in 0..1 + rng.below(12) {
                    s.push_str(FUZZ_TOKENS[rng.below(FUZZ_TOKENS.len())]);
                    if rng.below(4) != 0 {
                        s.push(' ');
                    }
                }
            } else {
                // A valid filter, sometimes damaged by inserting a random token.
                gen_filter(&mut rng, 0, false, &mut s);
                if rng.below(3) == 0 {
                    let mut at = rng.below(s.len() + 1);
                    while !s.is_char_boundary(at) {
                        at -= 1;
                    }
                    s.insert_str(at, FUZZ_TOKENS[rng.below(FUZZ_TOKENS.len())]);
                }
            }
            if let Ok(f) = parse_filter(&s) {
                parsed += 1;
                let text = f.to_string();
                assert_eq!(parse_filter(&text), Ok(f), "round trip of '{s}' via '{text}'");
            }
            let _ = parse_value_path(&s);
        }
        assert!(
            parsed > 1_000,
            "the generator should produce many valid filters (got {parsed})"
        );
    }
}
