//! The crates compiled into the `ostrog` binary, with their versions, for
//! `ostrog doctor --advisories` (an installation checks its own
//! dependencies offline). Taken from `cargo tree`, which resolves features
//! as the build does: the graph from the `ostrog` package along normal
//! dependencies, without proc-macros (they run at compile time only) and
//! without build, dev or test crates, for the platform being built.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest.with_file_name("Cargo.lock").display());
    println!("cargo:rerun-if-changed=build.rs");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::env::var("TARGET").unwrap();
    let output = Command::new(cargo)
        .args(["tree", "-p", "ostrog", "-e", "normal,no-proc-macro", "--prefix", "none", "-f", "{p}"])
        // Not `--offline`: building another package of the workspace first
        // (`cargo test -p ostrog-server` on a new machine) has not fetched
        // the binary's own crates, such as clap, which the tree must read.
        .args(["--locked", "--target", &target, "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("cargo tree");
    assert!(output.status.success(), "cargo tree: {}", String::from_utf8_lossy(&output.stderr));
    // `name vX.Y.Z`, `(*)` after a repeat; the workspace's own crates carry their path.
    let list: BTreeSet<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_end_matches(" (*)"))
        .filter(|l| !l.contains(" ("))
        .filter_map(|l| l.split_once(" v").map(|(name, version)| format!("{name} {version}\n")))
        .collect();
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("dependencies.txt");
    std::fs::write(out, list.into_iter().collect::<String>()).unwrap();
}
