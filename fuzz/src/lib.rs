//! The fuzzed functions, shared by the cargo-fuzz targets (`fuzz_targets/`) and by the
//! stable-toolchain tests below, which replay the corpus (`corpus/<target>/`) and a
//! deterministic stream of mutations of it.
//!
//! Besides "never panics", each target checks properties that must hold for every input:
//! a parsed filter prints as text that parses back to the same tree; a PATCH that applies is
//! deterministic and its result re-validates without panicking.

use domain::filter::{matches, parse_filter, parse_value_path};
use domain::membership::split_group_ops;
use domain::patch::{apply_all, parse_patch_request};
use domain::resource::normalize;
use domain::schema::{GROUP, ResourceKind, USER};
use serde_json::{Map, Value, json};

fn sample_user() -> Map<String, Value> {
    let v = json!({
        "userName": "bjensen@example.com",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"},
        "displayName": "Babs",
        "title": "Tour Guide",
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
        "addresses": [{"streetAddress": "100 Universal City Plaza", "type": "work"}],
        "roles": [{"value": "admin"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915"}},
        "urn:example:custom:1.0": {"tshirt": "M"}
    });
    v.as_object().cloned().unwrap_or_default()
}

fn sample_group() -> Map<String, Value> {
    let v = json!({"displayName": "Tour Guides", "externalId": "g-1"});
    v.as_object().cloned().unwrap_or_default()
}

/// The filter parser, its printer and the in-memory evaluator.
pub fn filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = parse_filter(text) {
        let printed = f.to_string();
        assert_eq!(parse_filter(&printed).as_ref(), Ok(&f), "round trip of {text:?} via {printed:?}");
        let user = Value::Object(sample_user());
        let _ = matches(&f, &user, USER.attributes);
        let _ = matches(&f, &Value::Object(sample_group()), GROUP.attributes);
    }
    let _ = parse_value_path(text);
}

/// PATCH parsing and the engine. The first byte picks the resource type; the rest is the
/// request body.
pub fn patch(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Ok(ops) = parse_patch_request(&body) else {
        return;
    };
    let (kind, doc) = if selector % 2 == 0 {
        (ResourceKind::User, sample_user())
    } else {
        (ResourceKind::Group, sample_group())
    };
    let ops = if kind == ResourceKind::Group {
        match split_group_ops(&ops) {
            Ok((attribute_ops, _changes)) => attribute_ops,
            Err(_) => return,
        }
    } else {
        ops
    };
    let first = apply_all(&doc, &ops, kind);
    let second = apply_all(&doc, &ops, kind);
    assert_eq!(first, second, "PATCH is deterministic");
    if let Ok(patched) = first {
        let _ = normalize(kind, &Value::Object(patched));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// A small deterministic xorshift PRNG: the mutation stream is the same on every run.
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
            usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
        }
    }

    const SPLICE: &[&[u8]] = &[
        b" and ", b" or ", b"not (", b")", b"(", b"[", b"]", b"\"", b"\\", b"\\u00", b" eq ", b" pr", b"null", b"true",
        b"{", b"}", b"[]", b":", b",", b"\"op\"", b"\"path\"", b"\"value\"", b"members[value eq \"x\"]", b".value",
        b"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:", b"\xff", b"\xc3\xa9", b"0", b"-1e999",
    ];

    fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
        let mut out = seed.to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(out.len() + 1);
            match rng.below(4) {
                0 if !out.is_empty() => {
                    let i = rng.below(out.len());
                    out[i] = u8::try_from(rng.below(256)).unwrap_or(0);
                }
                1 if !out.is_empty() => {
                    let end = (at + 1 + rng.below(8)).min(out.len());
                    out.drain(at.min(end)..end);
                }
                2 => out.truncate(at),
                _ => {
                    let piece = SPLICE[rng.below(SPLICE.len())];
                    out.splice(at..at, piece.iter().copied());
                }
            }
        }
        out
    }

    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        let seeds: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
        assert!(seeds.len() >= 5, "corpus/{target} has seeds");
        seeds
    }

    fn replay(target: &str, run: fn(&[u8]), rounds: usize) {
        let seeds = corpus(target);
        for s in &seeds {
            run(s);
        }
        let mut rng = XorShift(0x0DDB_1A5E_5BAD_5EED);
        for _ in 0..rounds {
            let seed = &seeds[rng.below(seeds.len())];
            run(&mutate(&mut rng, seed));
        }
    }

    #[test]
    fn filter_corpus_and_mutations() {
        replay("filter", super::filter, 20_000);
    }

    #[test]
    fn patch_corpus_and_mutations() {
        replay("patch", super::patch, 20_000);
    }
}
