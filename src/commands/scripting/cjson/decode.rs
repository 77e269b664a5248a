//! `cjson.decode`: lua_cjson.c's tokenizer and recursive parser, token for token, so that each
//! error names what lua-cjson names (`T_OBJ_END`, `invalid number`, `unexpected end of string`...)
//! at the same character. Numbers go through `strtod`, which with `decode_invalid_numbers` on
//! (the default) also reads `NaN`, `Infinity`, `+1` and hexadecimal.

use mlua::{Lua, Value};

use super::config::Config;
use super::number::strtod;
use super::{fail, null, stopped, Nesting, Step, Stop};

enum Kind {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    /// `T_ERROR` with what lua-cjson says it found.
    Error(&'static str),
}

struct Token {
    kind: Kind,
    /// Where the token starts (where the error is, for an error).
    index: usize,
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::ObjBegin => "T_OBJ_BEGIN",
            Kind::ObjEnd => "T_OBJ_END",
            Kind::ArrBegin => "T_ARR_BEGIN",
            Kind::ArrEnd => "T_ARR_END",
            Kind::Str(_) => "T_STRING",
            Kind::Number(_) => "T_NUMBER",
            Kind::Boolean(_) => "T_BOOLEAN",
            Kind::Null => "T_NULL",
            Kind::Colon => "T_COLON",
            Kind::Comma => "T_COMMA",
            Kind::End => "T_END",
            Kind::Error(found) => found,
        }
    }
}

pub fn decode(lua: &Lua, text: &[u8], config: &Config) -> mlua::Result<Value> {
    // lua-cjson sees the Lua string as C text: its first NUL ends the document.
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Err(fail("JSON parser does not support UTF-16 or UTF-32"));
    }
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let mut parser = Parser {
        lua,
        text: &text[..end],
        at: 0,
        config,
        nesting: Nesting::new(config.decode_max_depth),
        error: None,
    };
    let token = parser.next_token();
    let Ok(value) = parser.value(token) else {
        return Err(parser.error.unwrap_or_else(stopped));
    };
    let token = parser.next_token();
    if !matches!(token.kind, Kind::End) {
        return Err(unexpected("the end", &token));
    }
    Ok(value)
}

/// `json_throw_parse_error`.
fn unexpected(what: &str, token: &Token) -> mlua::Error {
    fail(format!(
        "Expected {what} but found {} at character {}",
        token.kind.name(),
        token.index + 1
    ))
}

struct Parser<'a> {
    lua: &'a Lua,
    text: &'a [u8],
    at: usize,
    config: &'a Config,
    nesting: Nesting,
    error: Option<mlua::Error>,
}

impl Parser<'_> {
    #[inline(never)]
    fn lift<T>(&mut self, result: mlua::Result<T>) -> Step<T> {
        result.map_err(|e| {
            self.error = Some(e);
            Stop
        })
    }

    fn token(&self, kind: Kind, index: usize) -> Token {
        Token { kind, index }
    }

    fn error(&self, found: &'static str) -> Token {
        Token {
            kind: Kind::Error(found),
            index: self.at,
        }
    }

    /// `json_next_token`.
    fn next_token(&mut self) -> Token {
        while matches!(self.text.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
        let start = self.at;
        let Some(&c) = self.text.get(start) else {
            return self.token(Kind::End, start);
        };
        let single = match c {
            b'{' => Some(Kind::ObjBegin),
            b'}' => Some(Kind::ObjEnd),
            b'[' => Some(Kind::ArrBegin),
            b']' => Some(Kind::ArrEnd),
            b',' => Some(Kind::Comma),
            b':' => Some(Kind::Colon),
            _ => None,
        };
        if let Some(kind) = single {
            self.at += 1;
            return self.token(kind, start);
        }
        let rest = &self.text[start..];
        match c {
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.config.decode_invalid && invalid_number(rest) {
                    return self.error("invalid number");
                }
                self.number_token()
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                for (word, kind) in [
                    (&b"true"[..], Kind::Boolean(true)),
                    (b"false", Kind::Boolean(false)),
                    (b"null", Kind::Null),
                ] {
                    if rest.starts_with(word) {
                        self.at += word.len();
                        return self.token(kind, start);
                    }
                }
                // Only what strict JSON refuses (infinities, NaN, a leading `+`) reaches strtod
                // here, so that other bad words are "invalid token" rather than a number error.
                if self.config.decode_invalid && invalid_number(rest) {
                    return self.number_token();
                }
                self.error("invalid token")
            }
            _ => self.error("invalid token"),
        }
    }

    /// `json_next_number_token`.
    fn number_token(&mut self) -> Token {
        let start = self.at;
        match strtod(&self.text[start..]) {
            Some((n, used)) => {
                self.at += used;
                self.token(Kind::Number(n), start)
            }
            None => self.error("invalid number"),
        }
    }

    /// `json_next_string_token`: errors point at the byte where the string went wrong.
    fn string_token(&mut self) -> Token {
        let start = self.at;
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.text.get(self.at) else {
                return self.error("unexpected end of string");
            };
            match c {
                b'"' => break,
                b'\\' => {
                    let escaped = match self.text.get(self.at + 1) {
                        Some(b'"') => b'"',
                        Some(b'\\') => b'\\',
                        Some(b'/') => b'/',
                        Some(b'b') => 0x08,
                        Some(b't') => b'\t',
                        Some(b'n') => b'\n',
                        Some(b'f') => 0x0c,
                        Some(b'r') => b'\r',
                        Some(b'u') => match self.unicode_escape(&mut out) {
                            Some(()) => continue,
                            None => return self.error("invalid unicode escape code"),
                        },
                        _ => return self.error("invalid escape code"),
                    };
                    out.push(escaped);
                    self.at += 2;
                }
                _ => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
        self.at += 1;
        self.token(Kind::Str(out), start)
    }

    /// `json_append_unicode_escape`: `\uXXXX`, or a surrogate pair of them, as UTF-8.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let hex4 = |at: usize| {
            let digits = self.text.get(at..at + 4)?;
            digits
                .iter()
                .try_fold(0u32, |code, d| Some(code << 4 | (*d as char).to_digit(16)?))
        };
        let mut code = hex4(self.at + 2)?;
        let mut len = 6;
        if code & 0xF800 == 0xD800 {
            if code & 0x400 != 0 || self.text.get(self.at + 6..self.at + 8) != Some(b"\\u") {
                return None;
            }
            let low = hex4(self.at + 8)?;
            if low & 0xFC00 != 0xDC00 {
                return None;
            }
            code = (((code & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let ch = char::from_u32(code)?;
        out.extend_from_slice(ch.encode_utf8(&mut [0u8; 4]).as_bytes());
        self.at += len;
        Some(())
    }

    /// `json_process_value`.
    fn value(&mut self, token: Token) -> Step<Value> {
        match token.kind {
            Kind::ObjBegin => self.container(true),
            Kind::ArrBegin => self.container(false),
            _ => {
                let value = self.scalar(token);
                self.lift(value)
            }
        }
    }

    #[inline(never)]
    fn scalar(&mut self, token: Token) -> mlua::Result<Value> {
        Ok(match token.kind {
            Kind::Str(bytes) => Value::String(self.lua.create_string(&bytes)?),
            Kind::Number(n) => Value::Number(n),
            Kind::Boolean(b) => Value::Boolean(b),
            Kind::Null => null(),
            _ => return Err(unexpected("value", &token)),
        })
    }

    /// `json_parse_object_context` and `json_parse_array_context`.
    fn container(&mut self, object: bool) -> Step<Value> {
        self.descend()?;
        let table = self.new_table()?;
        let mut token = self.next_token();
        // Only the first token may close it: `[1,]` expects a value, `{"a":1,}` a key.
        if !token.closes(object) {
            let mut index = 1;
            loop {
                let (key, first) = if object {
                    self.key(token)?
                } else {
                    (Value::Integer(index), token)
                };
                let value = self.value(first)?;
                self.set(&table, key, value)?;
                index += 1;
                match self.after_value(object)? {
                    Some(next) => token = next,
                    None => break,
                }
            }
        }
        self.nesting.ascend();
        Ok(Value::Table(table))
    }

    #[inline(never)]
    fn new_table(&mut self) -> Step<mlua::Table> {
        let table = self.lua.create_table();
        self.lift(table)
    }

    #[inline(never)]
    fn set(&mut self, table: &mlua::Table, key: Value, value: Value) -> Step<()> {
        self.lift(table.raw_set(key, value))
    }

    /// `json_decode_descend`.
    #[inline(never)]
    fn descend(&mut self) -> Step<()> {
        if let Err(depth) = self.nesting.descend() {
            let text = format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.at
            );
            return self.lift(Err(fail(text)));
        }
        Ok(())
    }

    /// An object's key and colon: the key, and the token of its value.
    #[inline(never)]
    fn key(&mut self, token: Token) -> Step<(Value, Token)> {
        let key = self.key_colon(token);
        self.lift(key)
    }

    fn key_colon(&mut self, token: Token) -> mlua::Result<(Value, Token)> {
        let key = match &token.kind {
            Kind::Str(key) => self.lua.create_string(key)?,
            _ => return Err(unexpected("object key string", &token)),
        };
        let colon = self.next_token();
        if !matches!(colon.kind, Kind::Colon) {
            return Err(unexpected("colon", &colon));
        }
        Ok((Value::String(key), self.next_token()))
    }

    /// After a value: the token after a comma, or `None` at the end of the container.
    #[inline(never)]
    fn after_value(&mut self, object: bool) -> Step<Option<Token>> {
        let token = self.next_token();
        let expected = match token.kind {
            _ if token.closes(object) => return Ok(None),
            Kind::Comma => return Ok(Some(self.next_token())),
            _ if object => "comma or object end",
            _ => "comma or array end",
        };
        self.lift(Err(unexpected(expected, &token)))
    }
}

impl Token {
    fn closes(&self, object: bool) -> bool {
        matches!(
            (&self.kind, object),
            (Kind::ObjEnd, true) | (Kind::ArrEnd, false)
        )
    }
}

/// `json_is_invalid_number`: what strtod reads but strict JSON refuses: a leading `+`, `0x`,
/// leading zeros, infinities and NaN.
fn invalid_number(text: &[u8]) -> bool {
    if text.first() == Some(&b'+') {
        return true;
    }
    let p = if text.first() == Some(&b'-') {
        &text[1..]
    } else {
        text
    };
    match p.first().copied().unwrap_or(0) {
        b'0' => {
            let next = p.get(1).copied().unwrap_or(0);
            next | 0x20 == b'x' || next.is_ascii_digit()
        }
        c if c <= b'9' => false,
        _ => {
            let word = |w: &[u8]| p.len() >= 3 && p[..3].eq_ignore_ascii_case(w);
            word(b"inf") || word(b"nan")
        }
    }
}
