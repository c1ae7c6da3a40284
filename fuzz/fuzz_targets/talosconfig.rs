//! Fuzz target: `talos_rollout_fuzz::talosconfig` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| talos_rollout_fuzz::talosconfig(data));
