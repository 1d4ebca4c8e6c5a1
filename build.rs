//! Records the git commit drpilot is built from as `DRPILOT_GIT_COMMIT` (`abc1234`, `abc1234-dirty`
//! with uncommitted changes to tracked files, `unknown` outside a git checkout of this package,
//! e.g. a source tarball), for `drpilot --version`. A packager building from a tarball may set
//! `DRPILOT_GIT_COMMIT` in the environment.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=DRPILOT_GIT_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let given = std::env::var("DRPILOT_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty());
    let commit = given.unwrap_or_else(|| commit_of_checkout().unwrap_or_else(|| "unknown".into()));
    println!("cargo:rustc-env=DRPILOT_GIT_COMMIT={commit}");
}

/// The short commit of the checkout this package is the top of, with `-dirty`; `None` when the
/// package is not a git checkout's top (a tarball unpacked inside another repository).
fn commit_of_checkout() -> Option<String> {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = PathBuf::from(git(&manifest, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != manifest.canonicalize().ok()? {
        return None;
    }
    // Rerun when HEAD moves: HEAD itself (a checkout) and the branch it points to (a commit).
    // In a worktree `.git` is a file: ask git where HEAD and the refs live.
    let git_dir = PathBuf::from(git(&manifest, &["rev-parse", "--absolute-git-dir"])?);
    println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
    if let Some(common) = git(&manifest, &["rev-parse", "--git-common-dir"]) {
        let common = manifest.join(common);
        println!(
            "cargo:rerun-if-changed={}",
            common.join("packed-refs").display()
        );
        if let Some(branch) = git(&manifest, &["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", common.join(branch).display());
        }
    }
    // Dirtiness follows the tracked sources (the index is not watched: `git status` may
    // rewrite it, which would rerun this script on every build).
    for watched in ["src", "Cargo.toml", "Cargo.lock", "assets"] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join(watched).display()
        );
    }
    let short = git(&manifest, &["rev-parse", "--short", "HEAD"])?;
    let dirty = git(
        &manifest,
        &[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{short}-dirty")
    } else {
        short
    })
}
