//! The shape of this crate, checked on its source: the top-level modules
//! import each other as a tree (no cycle), and background tasks are started
//! only by the jobs list and the composition root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Request-scoped tasks that end with their request, by file and why.
const SPAWNS_ALLOWED: &[(&str, &str)] = &[
    ("lib.rs", "the composition root's signal watcher, awaited by `serve`"),
    ("services/files.rs", "the clamd stream of one upload, fed and awaited by that upload"),
    ("services/testing.rs", "unit tests run the writer's loops for the test's length (no jobs list in a unit test)"),
];

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its text before any test module.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source file");
            // Unit tests may start what they like; this file names what it looks for.
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default().to_string();
            if path.file_name().is_some_and(|n| n != "architecture.rs") {
                out.push((path, code));
            }
        }
    }
    out
}

fn top_module(root: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(root).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?.trim_end_matches(".rs");
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = source();
    let all = files(&root);
    let modules: BTreeSet<String> = all.iter().filter_map(|(f, _)| top_module(&root, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for (file, code) in &all {
        let Some(from) = top_module(&root, file) else { continue };
        for used in code.split("crate::").skip(1) {
            let to: String = used.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if to != from && modules.contains(&to) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// A path from `to` back to `from`, if `from → to` closes a cycle.
fn path_back(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![to.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().cloned().unwrap_or_default();
        if last == from {
            return Some(path);
        }
        if seen.insert(last.clone()) {
            for next in graph.get(&last).into_iter().flatten() {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn top_level_modules_import_each_other_as_a_tree() {
    let graph = import_graph();
    assert!(graph.contains_key("jobs") && graph.contains_key("realtime"), "the graph was read: {graph:?}");
    for (from, tos) in &graph {
        for to in tos {
            if let Some(back) = path_back(&graph, from, to) {
                panic!("a cycle: {from} → {}", back.join(" → "));
            }
        }
    }
}

#[test]
fn only_the_jobs_list_and_the_composition_root_start_tasks() {
    let root = source();
    for (file, code) in files(&root) {
        let name = file.strip_prefix(&root).unwrap_or(&file).to_string_lossy().replace('\\', "/");
        let spawns = code.contains("tokio::spawn") || code.contains("task::spawn(");
        let allowed = name.starts_with("jobs/") || SPAWNS_ALLOWED.iter().any(|(f, _)| *f == name);
        assert!(!spawns || allowed, "{name} starts a task; register it in jobs::start instead");
    }
}
