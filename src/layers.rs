//! The import rule, checked: each module may use only modules of its own
//! layer or the ones before it (see the crate docs), the domain touches no
//! AWS and no HTTP, and the core touches no AWS SDK or HTTP client. A new
//! upward or sideways-into-an-adapter import fails this test in CI.

use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first.
const LAYERS: [&[&str]; 4] = [
    &["change", "notification", "token", "parked", "finding"],
    &[
        "sink",
        "dead_letters",
        "ringcentral",
        "inventory",
        "token_store",
        "registry",
        "observe",
        "xray",
        "alarm",
    ],
    &[
        "publish",
        "http",
        "redrive",
        "reconcile",
        "confirm",
        "guardian",
        "rotate",
    ],
    &["config", "runtime", "main", "bin", "lib", "layers"],
];

/// Crates that are adapters' business, never the domain's or the core's.
const ADAPTER_CRATES: [&str; 7] = [
    "aws_sdk_",
    "aws_config",
    "aws_smithy",
    "ureq",
    "rustls",
    "lambda_runtime",
    "metrics_cloudwatch_embedded",
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module {module} is in no layer: add it to LAYERS in src/layers.rs"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/http/outcome.rs` → `http`; `src/bin/ctl/main.rs` → `bin`.
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// Every `crate::name` the file mentions, including `use crate::{a, b}` groups.
fn crate_paths(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let group = rest.strip_prefix('{').map(|g| &g[..g.find('}').unwrap_or(g.len())]);
        let heads: Vec<&str> = match group {
            Some(group) => group.split(',').map(str::trim).collect(),
            None => vec![rest],
        };
        for head in heads {
            let name: String = head.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && name != "self" {
                names.push(name);
            }
        }
    }
    names
}

#[test]
fn imports_go_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let module = top_module(&src, file);
        if module == "layers" {
            continue; // this checker, whose strings name modules
        }
        let text = std::fs::read_to_string(file).unwrap();
        let layer = layer_of(&module);
        let shown = file.strip_prefix(&src).unwrap().display();
        // A binary is a crate of its own: there `crate::` names the binary's
        // modules (`src/bin/ctl/`), and the library, reached as
        // `cc_number_relay::`, is all below its layer.
        let uses = if module == "bin" {
            Vec::new()
        } else {
            crate_paths(&text)
        };
        for used in uses {
            if used != module && layer_of(&used) > layer {
                violations.push(format!(
                    "{shown}: layer {layer} ({module}) uses crate::{used} (layer {})",
                    layer_of(&used)
                ));
            }
        }
        if layer == 0 || layer == 2 {
            let http = if layer == 0 { &["lambda_http"][..] } else { &[] };
            for adapter in ADAPTER_CRATES.iter().chain(http) {
                // Code only: a comment may name what the module stays away from.
                let mentions = text
                    .lines()
                    .any(|l| l.split("//").next().unwrap_or("").contains(adapter));
                if mentions {
                    violations.push(format!(
                        "{shown}: {module} (layer {layer}) uses the adapter crate {adapter}"
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_must() {
    assert_eq!(
        crate_paths("use crate::sink::Sink;\nuse crate::{change::Change, parked};\nlet x = crate::xray::new();"),
        ["sink", "change", "parked", "xray"]
    );
    assert_eq!(layer_of("http"), 2);
    assert!(layer_of("runtime") > layer_of("http"));
}
