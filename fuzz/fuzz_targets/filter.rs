//! `cargo fuzz run filter`: the SCIM filter parser on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provisioning_fuzz::filter(data));
