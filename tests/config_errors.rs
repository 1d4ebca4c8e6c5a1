//! `drpilot check-config FILE` on malformed configs: exit 1, every problem named as
//! `FILE:LINE: [section] key: message` on stderr, and never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn check_config(path: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_drpilot"))
        .arg("check-config")
        .arg(path)
        .output()
        .expect("run drpilot");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

/// Runs check-config on a fixture, expects a clean refusal, and returns stderr.
fn refused(path: &Path) -> String {
    let run = check_config(path);
    assert!(!run.stderr.contains("panicked"), "panic:\n{}", run.stderr);
    assert_ne!(run.code, Some(101), "panic exit code:\n{}", run.stderr);
    assert_eq!(
        run.code,
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    run.stderr
}

/// Asserts one stderr line is an error at `path:line:` containing every fragment.
fn assert_error_at(stderr: &str, path: &Path, line: usize, fragments: &[&str]) {
    let prefix = format!("error: {}:{line}: ", path.display());
    let found = stderr
        .lines()
        .any(|l| l.starts_with(&prefix) && fragments.iter().all(|f| l.contains(f)));
    assert!(
        found,
        "no line starting with {prefix:?} containing {fragments:?} in:\n{stderr}"
    );
}

#[test]
fn bare_line_without_equals() {
    let path = fixture("bare_line.env");
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        7,
        &["[ip#1]", "line has no '='", "key = value"],
    );
}

#[test]
fn indented_continuation_line() {
    let path = fixture("indented_continuation.env");
    let stderr = refused(&path);
    assert_error_at(&stderr, &path, 5, &["[DEFAULT]", "indented continuation"]);
}

#[test]
fn colon_used_as_separator() {
    let path = fixture("colon_separator.env");
    let stderr = refused(&path);
    assert_error_at(&stderr, &path, 6, &["[vg#1]", "':' is not a separator"]);
}

#[test]
fn syntax_error_in_section_header() {
    let path = fixture("bad_section_header.env");
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        5,
        &["[fs#1", "malformed section header", "']'"],
    );
    // The keys under the broken header are not blamed on a missing section.
    assert!(!stderr.contains("before any section"), "{stderr}");
}

#[test]
fn unknown_resource_type() {
    let path = fixture("unknown_resource_type.env");
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        5,
        &["[disk#1]", "unknown resource type 'disk'"],
    );
}

#[test]
fn unknown_type_value() {
    let path = fixture("unknown_type_value.env");
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        6,
        &["[fs#1] type:", "unknown fs type 'ext5'", "ext4"],
    );
}

#[test]
fn missing_required_keyword() {
    let path = fixture("missing_required_keyword.env");
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        7,
        &[
            "[ip#1] ipname:",
            "no value for node d1 (only scoped for n1)",
        ],
    );
    assert_error_at(
        &stderr,
        &path,
        9,
        &["[vg#1] vgname:", "missing required keyword vgname"],
    );
}

#[test]
fn duplicate_rid() {
    let path = fixture("duplicate_rid.env");
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        8,
        &["[vg#1]", "duplicate rid vg#1", "line 5"],
    );
}

#[test]
fn duplicate_key() {
    let path = fixture("duplicate_key.env");
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        8,
        &["[vg#1] vgname@n1:", "duplicate key", "line 6"],
    );
}

#[test]
fn invalid_service_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad name!.env");
    std::fs::copy(fixture("warnings.env"), &path).expect("copy fixture");
    let stderr = refused(&path);
    assert_error_at(&stderr, &path, 0, &["invalid service name 'bad name!'"]);
}

#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.env");
    let stderr = refused(&path);
    assert_error_at(&stderr, &path, 0, &["cannot read"]);
}

#[test]
fn warnings_do_not_fail_the_check() {
    let path = fixture("warnings.env");
    let run = check_config(&path);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    let shown = path.display();
    assert!(
        run.stderr.contains(&format!(
            "warning: {shown}:9: [fs#1] mnt_opts: unknown keyword, did you mean mnt_opt?"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "warning: {shown}:14: [vg#1] vgname@n3: scope @n3 names a node in neither nodes nor drpnodes"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
}

/// Writes `text` as `svc.env` in a fresh directory.
fn temp_config(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("svc.env");
    std::fs::write(&path, bytes).expect("write config");
    (dir, path)
}

#[test]
fn diagnostics_strip_control_characters_from_config_values() {
    let (_dir, path) = temp_config(
        b"[DEFAULT]\nnodes = n1\n[fs#1]\ntype = ext5\x1b]0;PWNED\x07\ndev = /d\nmnt = /m\n[app#1\x1b[2J]\nstart = x\nmnt_opts\x1b[31m = y\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_drpilot"))
        .arg("check-config")
        .arg(&path)
        .output()
        .expect("run drpilot");
    assert_eq!(out.status.code(), Some(1));
    let has_control = |b: &[u8]| b.iter().any(|b| matches!(b, 0x1b | 0x07));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !has_control(&out.stderr) && !has_control(&out.stdout),
        "{stderr:?}"
    );
    assert_error_at(
        &stderr,
        &path,
        4,
        &["[fs#1] type:", "unknown fs type 'ext5"],
    );
    assert_error_at(&stderr, &path, 7, &["malformed section header"]);
}

#[test]
fn a_command_value_with_an_unterminated_quote_is_refused() {
    let (_dir, path) = temp_config(
        b"[DEFAULT]\nnodes = n1\ndrpnodes = d1\ndrp_app_check = test -s 'data\n[app#1]\nstart = /bin/sh -c \"echo\nstop@d1 = /bin/sh -c \"echo 'ok'\"\ncheck = /bin/sh -c 'it'\"'\"'s fine'\n[container#1]\ntype = docker\nrun_image = img\nrun_args = -e 'A=b\n",
    );
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        4,
        &["[DEFAULT] drp_app_check:", "missing closing quote"],
    );
    assert_error_at(
        &stderr,
        &path,
        6,
        &["[app#1] start:", "missing closing quote"],
    );
    assert_error_at(
        &stderr,
        &path,
        12,
        &["[container#1] run_args:", "missing closing quote"],
    );
    let lines = stderr.lines().filter(|l| l.starts_with("error:")).count();
    assert_eq!(lines, 3, "balanced quotes are fine:\n{stderr}");
}

#[test]
fn a_nul_byte_in_the_file_is_refused() {
    let (_dir, path) =
        temp_config(b"[DEFAULT]\nnodes = n1\n# a comment\0\n[app#1]\nstart = /bin/true\0 x\n");
    let stderr = refused(&path);
    assert_error_at(&stderr, &path, 3, &["NUL"]);
    assert_error_at(&stderr, &path, 5, &["NUL"]);
}

#[test]
fn ordering_declarations_and_the_arp_window_are_checked_where_they_are_written() {
    let (_dir, path) = temp_config(
        b"[DEFAULT]\nnodes = n1\nparallel_groups = ip | fs\n[ip#1]\nipname = a\nipdev = eth0\narp_probe_window = 99\n[vg#1]\nvgname = vg\n[fs#1]\ntype = ext4\ndev = /dev/x\nmnt = /m\n[app#1]\nstart = /bin/true\nsubset = w\n[subset#web:w]\nparallel = true\n[subset#app:w]\nparallel = maybe\n",
    );
    let stderr = refused(&path);
    assert_error_at(
        &stderr,
        &path,
        3,
        &["[DEFAULT] parallel_groups:", "group disk sits between"],
    );
    assert_error_at(
        &stderr,
        &path,
        7,
        &[
            "[ip#1] arp_probe_window:",
            "not a number of seconds from 0 to 30",
        ],
    );
    assert_error_at(
        &stderr,
        &path,
        17,
        &["[subset#web:w]", "unknown group 'web'"],
    );
    assert_error_at(
        &stderr,
        &path,
        20,
        &["[subset#app:w] parallel:", "'maybe' is not true or false"],
    );
}

#[test]
fn declared_lanes_and_subsets_pass_the_check() {
    let (_dir, path) = temp_config(
        b"[DEFAULT]\nnodes = n1\nparallel_groups = ip | disk fs\n[ip#1]\nipname = a\nipdev = eth0\narp_probe_window = 1\n[vg#1]\nvgname = vg\n[fs#1]\ntype = ext4\ndev = /dev/x\nmnt = /m\n[app#1]\nstart = /bin/true\nsubset = w\n[app#2]\nstart = /bin/true\nsubset = w\n[subset#app:w]\nparallel = true\n",
    );
    let out = check_config(&path);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}
