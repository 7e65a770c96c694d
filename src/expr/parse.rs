//! The tokenizer and the recursive-descent parser. Grammar, loosest first:
//!
//! ```text
//! formula := (name '=')? sum
//! sum     := product (('+' | '-') product)*
//! product := unary (('*' | '/') unary)*
//! unary   := '-' unary | power
//! power   := atom ('^' unary)?          right-associative; `-x^2` is `-(x^2)`, `2^-1` is allowed
//! atom    := number | name | name '(' sum (',' sum)* ')' | '(' sum ')'
//! ```

use super::{BinOp, Expr, ExprError, Formula, Kind};

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Symbol(char),
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Number(x) => format!("the number `{x}`"),
            Token::Name(n) => format!("`{n}`"),
            Token::Symbol(c) => format!("`{c}`"),
            Token::End => "the end of the formula".into(),
        }
    }
}

/// Splits `source` into tokens, each with its column.
fn tokens(source: &str) -> Result<Vec<(Token, usize)>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            // An exponent: `1e-3`, `2.5E4`.
            if i < chars.len() && matches!(chars[i], 'e' | 'E') {
                let sign = usize::from(i + 1 < chars.len() && matches!(chars[i + 1], '+' | '-'));
                if chars.get(i + 1 + sign).is_some_and(char::is_ascii_digit) {
                    i += 1 + sign;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let x = text
                .parse::<f64>()
                .map_err(|_| ExprError::new(column, format!("`{text}` is not a number")))?;
            out.push((Token::Number(x), column));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Token::Name(chars[start..i].iter().collect()), column));
        } else if "+-*/^(),=".contains(c) {
            out.push((Token::Symbol(c), column));
            i += 1;
        } else {
            return Err(ExprError::new(
                column,
                format!("unexpected character `{c}`"),
            ));
        }
    }
    out.push((Token::End, chars.len() + 1));
    Ok(out)
}

/// Parses a formula (see the [module documentation](super)).
///
/// ```
/// use backprop::expr::parse;
/// assert_eq!(parse("2^3^2")?.body.to_string(), "(2 ^ (3 ^ 2))");
/// assert_eq!(parse("1 + ").unwrap_err().column, 5);
/// # Ok::<(), backprop::expr::ExprError>(())
/// ```
///
/// # Errors
/// At the column of the first token that does not fit the grammar.
pub fn parse(source: &str) -> Result<Formula, ExprError> {
    let tokens = tokens(source)?;
    if let Some(&(_, column)) = tokens.get(MAX_TOKENS) {
        return Err(ExprError::new(
            column,
            format!("the formula is longer than {MAX_TOKENS} tokens"),
        ));
    }
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let name = match (&p.tokens[0].0, p.tokens.get(1).map(|t| &t.0)) {
        (Token::Name(name), Some(Token::Symbol('='))) => {
            let name = name.clone();
            p.at = 2;
            Some(name)
        }
        _ => None,
    };
    let body = p.sum()?;
    match p.peek() {
        Token::End => Ok(Formula { name, body }),
        Token::Symbol(')') => Err(p.error("this `)` closes no `(`")),
        t => {
            let t = t.describe();
            Err(p.error(format!(
                "expected an operator or the end of the formula but found {t}"
            )))
        }
    }
}

/// The most tokens a formula may have: far more than a slide holds, few enough that the recursive evaluation
/// and drawing of the longest chain stay well within a thread's stack.
pub const MAX_TOKENS: usize = 2_000;

/// The deepest nesting of parentheses, calls, signs and powers.
pub const MAX_DEPTH: usize = 200;

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    /// How many `unary` levels are open: every nesting passes through `unary`.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].0
    }

    fn column(&self) -> usize {
        self.tokens[self.at].1
    }

    fn error(&self, message: impl Into<String>) -> ExprError {
        ExprError::new(self.column(), message)
    }

    /// Consumes the next token if it is `symbol`, returning its column.
    fn eat(&mut self, symbol: char) -> Option<usize> {
        (*self.peek() == Token::Symbol(symbol)).then(|| {
            self.at += 1;
            self.tokens[self.at - 1].1
        })
    }

    /// A left-associative chain of `operand`s joined by the operators in `ops`.
    fn chain(
        &mut self,
        ops: &[(char, BinOp)],
        operand: fn(&mut Self) -> Result<Expr, ExprError>,
    ) -> Result<Expr, ExprError> {
        let mut left = operand(self)?;
        'next: loop {
            for &(symbol, op) in ops {
                if let Some(column) = self.eat(symbol) {
                    let right = operand(self)?;
                    left = Expr {
                        kind: Kind::Binary(op, Box::new(left), Box::new(right)),
                        column,
                    };
                    continue 'next;
                }
            }
            return Ok(left);
        }
    }

    fn sum(&mut self) -> Result<Expr, ExprError> {
        self.chain(&[('+', BinOp::Add), ('-', BinOp::Sub)], Self::product)
    }

    fn product(&mut self) -> Result<Expr, ExprError> {
        self.chain(&[('*', BinOp::Mul), ('/', BinOp::Div)], Self::unary)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(format!("the formula nests deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let expr = match self.eat('-') {
            Some(column) => self.unary().map(|inner| Expr {
                kind: Kind::Neg(Box::new(inner)),
                column,
            }),
            None => self.power(),
        };
        self.depth -= 1;
        expr
    }

    fn power(&mut self) -> Result<Expr, ExprError> {
        let base = self.atom()?;
        match self.eat('^') {
            Some(column) => Ok(Expr {
                kind: Kind::Binary(BinOp::Pow, Box::new(base), Box::new(self.unary()?)),
                column,
            }),
            None => Ok(base),
        }
    }

    fn atom(&mut self) -> Result<Expr, ExprError> {
        let column = self.column();
        let token = self.peek().clone();
        self.at += 1;
        let kind = match token {
            Token::Number(x) => Kind::Number(x),
            Token::Name(name) => match self.eat('(') {
                Some(open) => {
                    let mut args = vec![self.sum()?];
                    while self.eat(',').is_some() {
                        args.push(self.sum()?);
                    }
                    self.close(open)?;
                    Kind::Call(name, args)
                }
                None => Kind::Name(name),
            },
            Token::Symbol('(') => {
                let inner = self.sum()?;
                self.close(column)?;
                return Ok(inner);
            }
            t => {
                self.at -= 1;
                let t = t.describe();
                return Err(self.error(format!("expected a number, a name or `(` but found {t}")));
            }
        };
        Ok(Expr { kind, column })
    }

    /// Expects the `)` matching the `(` opened at `open`.
    fn close(&mut self, open: usize) -> Result<(), ExprError> {
        match self.eat(')') {
            Some(_) => Ok(()),
            None => {
                let t = self.peek().describe();
                Err(self.error(format!(
                    "expected `)` to close the `(` of column {open} but found {t}"
                )))
            }
        }
    }
}
