//! The binary's crates against a RustSec advisory database, read from a
//! folder (a copy of github.com/rustsec/advisory-db): an installation
//! without internet access learns of a vulnerable dependency. A crate is
//! affected when its version is neither patched nor unaffected by an
//! advisory that was not withdrawn.

use semver::{Version, VersionReq};
use serde::Deserialize;
use std::path::Path;

/// `name version` per line: every crate compiled into the `ostrog`
/// binary (written by build.rs from `cargo metadata`).
pub const DEPENDENCIES: &str = include_str!(concat!(env!("OUT_DIR"), "/dependencies.txt"));

/// An advisory that applies to a crate in the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: String,
    pub package: String,
    pub version: String,
    pub title: String,
    /// `unmaintained`, `unsound`, `notice`: not a vulnerability as such.
    pub informational: Option<String>,
    /// The versions that fix it, as the advisory says.
    pub patched: Vec<String>,
}

#[derive(Deserialize)]
struct Front {
    advisory: Meta,
    #[serde(default)]
    versions: Versions,
}

#[derive(Deserialize)]
struct Meta {
    id: String,
    package: String,
    informational: Option<String>,
    withdrawn: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// The advisories in `db` (its `crates/<name>/*.md`) that apply to the
/// crates of `dependencies` (`name version` lines).
pub fn check(db: &Path, dependencies: &str) -> Result<Vec<Hit>, String> {
    let crates = db.join("crates");
    if !crates.is_dir() {
        return Err(format!("{} holds no crates/ folder: not a RustSec advisory database", db.display()));
    }
    let mut hits = vec![];
    for line in dependencies.lines() {
        let Some((name, version)) = line.split_once(' ') else { continue };
        let Ok(parsed) = Version::parse(version) else { continue };
        let Ok(entries) = std::fs::read_dir(crates.join(name)) else { continue };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
            let advisory = parse(&text).map_err(|e| format!("{}: {e}", entry.path().display()))?;
            if let Some(hit) = applies(advisory, name, version, &parsed) {
                hits.push(hit);
            }
        }
    }
    hits.sort_by(|a, b| (&a.package, &a.id).cmp(&(&b.package, &b.id)));
    Ok(hits)
}

/// An advisory file: TOML front matter in a ```toml fence, then Markdown
/// whose first heading is the title.
fn parse(text: &str) -> Result<(Front, String), String> {
    let body = text.strip_prefix("```toml").ok_or("no ```toml front matter")?;
    let (front, rest) = body.split_once("\n```").ok_or("unterminated front matter")?;
    let front: Front = toml::from_str(front).map_err(|e| e.to_string())?;
    let title = rest.lines().find_map(|l| l.strip_prefix("# ")).unwrap_or_default().trim().to_string();
    Ok((front, title))
}

fn applies((front, title): (Front, String), name: &str, version: &str, parsed: &Version) -> Option<Hit> {
    if front.advisory.withdrawn.is_some() || front.advisory.package != name {
        return None;
    }
    let matches = |reqs: &[String]| reqs.iter().any(|r| VersionReq::parse(r).is_ok_and(|req| req.matches(parsed)));
    if matches(&front.versions.patched) || matches(&front.versions.unaffected) {
        return None;
    }
    Some(Hit {
        id: front.advisory.id,
        package: name.to_string(),
        version: version.to_string(),
        title,
        informational: front.advisory.informational,
        patched: front.versions.patched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with(advisories: &[(&str, &str)]) -> std::path::PathBuf {
        let db = std::env::temp_dir().join(format!("ostrog-advisories-{}", uuid::Uuid::new_v4().simple()));
        for (name, text) in advisories {
            let package = text.split("package = \"").nth(1).unwrap().split('"').next().unwrap();
            std::fs::create_dir_all(db.join("crates").join(package)).unwrap();
            std::fs::write(db.join("crates").join(package).join(format!("{name}.md")), text).unwrap();
        }
        std::fs::create_dir_all(db.join("crates")).unwrap();
        db
    }

    fn advisory(id: &str, package: &str, extra: &str, versions: &str) -> String {
        format!(
            "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{package}\"\ndate = \"2026-01-01\"\n{extra}\n\n[versions]\n{versions}\n```\n\n# A flaw in {package}\n\nDetails.\n"
        )
    }

    #[test]
    fn a_crate_is_affected_unless_patched_or_unaffected() {
        let deps = "zip 9.9.0\ntime 0.3.55\nsemver 1.0.28\n";
        let db = db_with(&[
            ("RUSTSEC-2099-0001", &advisory("RUSTSEC-2099-0001", "zip", "", "patched = [\">= 9.9.1\"]")),
            ("RUSTSEC-2099-0002", &advisory("RUSTSEC-2099-0002", "time", "", "patched = [\">= 0.3.0\"]")),
            (
                "RUSTSEC-2099-0003",
                &advisory(
                    "RUSTSEC-2099-0003",
                    "time",
                    "",
                    "patched = [\">= 0.4\"]\nunaffected = [\"< 0.3\", \">= 0.3.50, < 0.4\"]",
                ),
            ),
            (
                "RUSTSEC-2099-0004",
                &advisory("RUSTSEC-2099-0004", "semver", "informational = \"unmaintained\"", "patched = []"),
            ),
            ("RUSTSEC-2099-0005", &advisory("RUSTSEC-2099-0005", "zip", "withdrawn = \"2026-02-01\"", "patched = []")),
            ("RUSTSEC-2099-0006", &advisory("RUSTSEC-2099-0006", "libc", "", "patched = []")),
        ]);
        let hits = check(&db, deps).unwrap();
        let ids: Vec<_> = hits.iter().map(|h| (h.id.as_str(), h.informational.as_deref())).collect();
        assert_eq!(ids, [("RUSTSEC-2099-0004", Some("unmaintained")), ("RUSTSEC-2099-0001", None)]);
        let zip = &hits[1];
        assert_eq!((zip.version.as_str(), zip.title.as_str()), ("9.9.0", "A flaw in zip"));
        assert_eq!(zip.patched, [">= 9.9.1"]);
        std::fs::remove_dir_all(&db).unwrap();
    }

    #[test]
    fn a_folder_that_is_no_database_and_a_broken_file_are_errors() {
        let nowhere = std::env::temp_dir().join("ostrog-no-such-advisory-db");
        assert!(check(&nowhere, "zip 9.9.0").is_err());
        let db = db_with(&[("RUSTSEC-2099-0001", "package = \"zip\"\nnot front matter")]);
        assert!(check(&db, "zip 9.9.0").unwrap_err().contains("RUSTSEC-2099-0001"));
        std::fs::remove_dir_all(&db).unwrap();
    }

    #[test]
    fn the_binary_carries_its_crates() {
        let names: Vec<_> = DEPENDENCIES.lines().filter_map(|l| l.split_once(' ')).map(|(n, _)| n).collect();
        for expected in ["axum", "sqlx", "clamav-client", "x509-cert"] {
            assert!(names.contains(&expected), "{expected} in the list");
        }
        assert!(!names.contains(&"rcgen"), "a crate only the tests use is not in the binary");
        assert!(DEPENDENCIES.lines().all(|l| l.split_once(' ').is_some_and(|(_, v)| Version::parse(v).is_ok())));
    }
}
