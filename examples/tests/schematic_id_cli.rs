//! The `schematic-id` tool: the ID alone on stdout, `--canonical` text, stdin or a file, and
//! exit status 2 with a message on stderr (and nothing on stdout) for invalid input.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const EMPTY_ID: &str = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

/// The built `schematic-id` binary, next to this test in `target/<profile>/examples/`.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join("schematic-id");
    assert!(
        path.exists(),
        "{} not built; run cargo test -p examples",
        path.display()
    );
    path
}

/// Runs `schematic-id ARGS` with `stdin` piped in.
fn schematic_id(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> &str {
    std::str::from_utf8(&output.stdout).unwrap()
}

fn stderr(output: &Output) -> &str {
    std::str::from_utf8(&output.stderr).unwrap()
}

#[test]
fn prints_the_id_alone_for_stdin() {
    let output = schematic_id(&[], b"customization: {}\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("{EMPTY_ID}\n"));
}

#[test]
fn reads_a_file_and_prints_canonical_text() {
    let path = std::env::temp_dir().join(format!("schematic-id-cli-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"customization": {"systemExtensions": {"officialExtensions": ["siderolabs/tailscale"]}, "extraKernelArgs": ["net.ifnames=0"]}}"#,
    )
    .unwrap();
    let file = path.to_str().unwrap();

    let id = schematic_id(&[file], b"");
    assert_eq!(
        stdout(&id),
        "104c23dfe7c5bfeff6a4cc7e166d8b3bba0f371760592c7677c90c822bb1d109\n"
    );

    let canonical = schematic_id(&[file, "--canonical"], b"");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(canonical.status.code(), Some(0));
    assert_eq!(
        stdout(&canonical),
        "customization:\n    extraKernelArgs:\n        - net.ifnames=0\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/tailscale\n"
    );
}

#[test]
fn invalid_input_exits_2_with_the_line_and_field() {
    let output = schematic_id(&[], b"customization:\n  extraKernelArgs: [a]\n  bogus: 1\n");
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let message = stderr(&output);
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("unknown field `bogus`"), "{message}");
}

#[test]
fn unreadable_input_exits_2() {
    let missing = schematic_id(&["/nonexistent/schematic.yaml"], b"");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read"),
        "{}",
        stderr(&missing)
    );

    let binary = schematic_id(&[], b"\xff\xfe");
    assert_eq!(binary.status.code(), Some(2));
    assert!(stdout(&binary).is_empty());
}

#[test]
fn server_dependent_quoting_is_a_warning_on_stderr_only() {
    let output = schematic_id(&[], b"customization: {extraKernelArgs: [yes]}");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim().len(), 64);
    assert!(stderr(&output).contains("warning"), "{}", stderr(&output));
}

/// An endless stdin stops at the size bound: exit 2 at once, memory bounded.
#[cfg(unix)]
#[test]
fn an_endless_stdin_is_refused_quickly() {
    let started = std::time::Instant::now();
    let output = Command::new(binary())
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("larger than"),
        "{}",
        stderr(&output)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// Short extension names hash as written but build nothing: warned about, as
/// create-schematic refuses them.
#[test]
fn a_short_extension_name_is_warned_about() {
    let output = schematic_id(
        &["--json"],
        b"customization: {systemExtensions: {officialExtensions: [tailscale]}}",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("siderolabs/tailscale"),
        "{}",
        stderr(&output)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["warnings"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
}
