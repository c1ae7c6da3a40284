//! Workspace automation: `cargo xtask codegen [--check]`, `cargo xtask bench`, `cargo xtask ci`.

fn main() {
    eprintln!("usage: cargo xtask <codegen [--check] | bench | ci>");
    std::process::exit(2);
}
