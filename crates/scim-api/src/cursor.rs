//! RFC 9865 cursors: opaque tokens that carry a keyset position (the last sort key and id
//! seen), which page they lead to, a fingerprint of the query they belong to and when they
//! were issued. The token is the hex of a small JSON object followed by a 64-bit check value,
//! so a truncated, altered or foreign token is refused (`invalidCursor`) instead of silently
//! paging from somewhere else. It is an integrity check, not a secret: the position only ever
//! names rows of the caller's own tenant, which the query re-checks.

use chrono::{DateTime, Utc};
use domain::ports::{CursorPos, CursorRequest, SortValue};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{ScimError, ScimType};

/// How long a cursor stays valid (`cursorTimeout`, seconds).
pub const CURSOR_TIMEOUT_SECS: i64 = 3600;

/// Longest cursor accepted, in characters.
const MAX_LEN: usize = 4096;

const CHECK_SALT: &[u8] = b"scim-cursor-v1\0";

/// FNV-1a, 64 bits.
pub fn fnv64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}

fn invalid(detail: &str) -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidCursor,
        format!("the cursor is not valid: {detail}; start again with an empty cursor"),
    )
}

/// Encodes a position; `forward` for a `nextCursor`, else a `previousCursor`.
pub fn encode(fingerprint: u64, forward: bool, pos: &CursorPos, now: DateTime<Utc>) -> String {
    let key = match &pos.key {
        None => Value::Null,
        Some(SortValue::Text(s)) => json!({"s": s}),
        Some(SortValue::Time(t)) => json!({"t": t.to_rfc3339()}),
        Some(SortValue::Bool(b)) => json!({"b": b}),
    };
    let payload = json!({
        "v": 1,
        "f": format!("{fingerprint:016x}"),
        "d": if forward { "n" } else { "p" },
        "k": key,
        "i": pos.id.to_string(),
        "a": now.timestamp(),
    })
    .to_string();
    let check = fnv64(&[CHECK_SALT, payload.as_bytes()]);
    format!("{}{check:016x}", hex(payload.as_bytes()))
}

/// Decodes a cursor for the query with this fingerprint. An empty cursor asks for the first
/// page.
pub fn decode(token: &str, fingerprint: u64, now: DateTime<Utc>) -> Result<CursorRequest, ScimError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(CursorRequest::First);
    }
    if token.len() > MAX_LEN || token.len() < 18 || !token.is_ascii() {
        return Err(invalid("it is not a token this service issued"));
    }
    let (body, check) = token.split_at(token.len() - 16);
    let payload = unhex(body).ok_or_else(|| invalid("it is not a token this service issued"))?;
    let check = u64::from_str_radix(check, 16).map_err(|_| invalid("it is not a token this service issued"))?;
    if fnv64(&[CHECK_SALT, &payload]) != check {
        return Err(invalid("it was altered or truncated"));
    }
    let v: Value = serde_json::from_slice(&payload).map_err(|_| invalid("it is not a token this service issued"))?;
    if v["v"] != 1 {
        return Err(invalid("unknown cursor version"));
    }
    if v["f"].as_str() != Some(format!("{fingerprint:016x}").as_str()) {
        return Err(invalid(
            "it was issued for another query (the filter, sortBy and sortOrder must stay the same while paging)",
        ));
    }
    let issued = v["a"].as_i64().ok_or_else(|| invalid("no issue time"))?;
    if now.timestamp().saturating_sub(issued) > CURSOR_TIMEOUT_SECS {
        return Err(ScimError::bad_request(
            ScimType::ExpiredCursor,
            format!(
                "the cursor expired (cursors are valid for {CURSOR_TIMEOUT_SECS} seconds); start again with an empty cursor"
            ),
        ));
    }
    let id = v["i"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| invalid("no position"))?;
    let key = match &v["k"] {
        Value::Null => None,
        k => Some(if let Some(s) = k["s"].as_str() {
            SortValue::Text(s.to_owned())
        } else if let Some(t) = k["t"].as_str() {
            SortValue::Time(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|_| invalid("bad sort key"))?
                    .with_timezone(&Utc),
            )
        } else if let Some(b) = k["b"].as_bool() {
            SortValue::Bool(b)
        } else {
            return Err(invalid("bad sort key"));
        }),
    };
    let pos = CursorPos { key, id };
    match v["d"].as_str() {
        Some("n") => Ok(CursorRequest::After(pos)),
        Some("p") => Ok(CursorRequest::Before(pos)),
        _ => Err(invalid("no direction")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering_foreign_queries_and_age() {
        let now = Utc::now();
        let pos = CursorPos {
            key: Some(SortValue::Text("bjensen".into())),
            id: Uuid::now_v7(),
        };
        let token = encode(42, true, &pos, now);
        assert_eq!(decode(&token, 42, now).unwrap(), CursorRequest::After(pos.clone()));
        let back = encode(42, false, &pos, now);
        assert_eq!(decode(&back, 42, now).unwrap(), CursorRequest::Before(pos.clone()));
        assert_eq!(decode("", 42, now).unwrap(), CursorRequest::First);
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.678Z")
            .unwrap()
            .with_timezone(&Utc);
        for key in [None, Some(SortValue::Time(t)), Some(SortValue::Bool(false))] {
            let p = CursorPos { key, id: pos.id };
            assert_eq!(
                decode(&encode(1, true, &p, now), 1, now).unwrap(),
                CursorRequest::After(p)
            );
        }
        let err = |s: &str, fp: u64, at: DateTime<Utc>| decode(s, fp, at).unwrap_err().scim_type;
        // One changed digit anywhere.
        for i in [0, token.len() / 2, token.len() - 1] {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let altered = String::from_utf8(bytes).unwrap();
            assert_eq!(err(&altered, 42, now), Some(ScimType::InvalidCursor), "altered at {i}");
        }
        for junk in [
            "x",
            "zz",
            "not a cursor at all!!",
            &token[..token.len() - 2],
            "é".repeat(20).as_str(),
        ] {
            assert_eq!(err(junk, 42, now), Some(ScimType::InvalidCursor), "{junk}");
        }
        assert_eq!(err(&token, 43, now), Some(ScimType::InvalidCursor), "another query");
        let later = now + chrono::Duration::seconds(CURSOR_TIMEOUT_SECS + 1);
        assert_eq!(err(&token, 42, later), Some(ScimType::ExpiredCursor));
    }
}
