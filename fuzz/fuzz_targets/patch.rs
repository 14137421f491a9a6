//! `cargo fuzz run patch`: PATCH request parsing and the PATCH engine on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provisioning_fuzz::patch(data));
