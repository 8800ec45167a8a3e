//! The crate's modules form layers without cycles: a top-level module may import from a
//! layer below it (or, within its layer, from a module listed before it), never from
//! above. Unit tests (`#[cfg(test)] mod … { … }` blocks) are exempt.

use std::collections::BTreeMap;
use std::path::Path;

/// The top-level modules, bottom up, in the order `src/lib.rs` documents them.
const LAYERS: &[&[&str]] = &[
    &["units", "seeds", "dist", "arrivals", "engine", "theory"],
    &["scenario"],
    &["model"],
    &["finance", "metrics"],
    &["results", "montecarlo", "sweep", "compare", "verify"],
    &["output", "report"],
    &["cli"],
];

/// The text without its `#[cfg(test)] mod NAME { … }` blocks (braces matched), so
/// non-test code after a test module is still scanned.
fn without_test_modules(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        code.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{') else {
            rest = "";
            break;
        };
        // An attribute on a single item (`#[cfg(test)] use …;`) ends at its `;`.
        if let Some(semicolon) = after.find(';').filter(|&semicolon| semicolon < open) {
            rest = &after[semicolon + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (i, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    code.push_str(rest);
    code
}

/// The text without `//` comments (doc comments included: a doc link is not an import).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::NAME` a file's non-test code mentions, in `use` lists too.
fn crate_references(text: &str) -> Vec<String> {
    let code = without_test_modules(&without_comments(text));
    let mut names = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c}`: the first segment of each item at depth 0.
            let mut depth = 0;
            let mut item_start = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        names.push(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
        }
    }
    names
}

fn rank_of(module: &str) -> Option<(usize, usize)> {
    LAYERS.iter().enumerate().find_map(|(layer, modules)| {
        modules
            .iter()
            .position(|m| *m == module)
            .map(|position| (layer, position))
    })
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut violations = BTreeMap::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let own = rank_of(&module)
            .unwrap_or_else(|| panic!("src/{module}: a top-level module missing from LAYERS"));
        let text = std::fs::read_to_string(file).unwrap();
        for name in crate_references(&text) {
            checked += 1;
            if name == module {
                continue;
            }
            let Some(target) = rank_of(&name) else {
                continue;
            };
            if target >= own {
                violations
                    .entry(format!("{} imports crate::{name}", relative.display()))
                    .or_insert(());
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} references found: is the scan broken?"
    );
    assert!(
        violations.is_empty(),
        "imports from a layer above (or a later module of the same layer):\n{}",
        violations.keys().cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The scan itself: grouped imports, nested groups and paths in expressions.
#[test]
fn references_are_found_in_every_form() {
    let text = "use crate::{model::x, scenario::{a, b}, units};\nlet t = crate::engine::run();\n\
                /// See [`crate::report`].\n#[cfg(test)]\nuse crate::output;\n\
                #[cfg(test)]\nmod tests { fn f() { use crate::cli; } }\nuse crate::dist;";
    // Comments, a test-only item and a test module are skipped, the code after them is not.
    assert_eq!(
        crate_references(text),
        ["model", "scenario", "units", "engine", "dist"]
    );
}

/// `LAYERS` lists exactly the modules `src/lib.rs` declares.
#[test]
fn every_declared_module_has_a_layer() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mut declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    declared.sort_unstable();
    let mut listed: Vec<&str> = LAYERS.iter().flat_map(|l| l.iter().copied()).collect();
    listed.sort_unstable();
    assert_eq!(declared, listed);
}
