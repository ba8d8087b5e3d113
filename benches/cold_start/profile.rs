//! A peer built as its own crate (perf/hello, perf/peer-subscriber) is a
//! fair comparison only with the root's `[profile.release]`: shared by the
//! cold-start and the directory benchmarks.

use std::path::Path;

/// The `[profile.release]` lines of a manifest, comments and order aside.
fn release_profile(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .skip_while(|l| l != "[profile.release]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    Ok(lines)
}

/// Fails unless `peer_manifest` (relative to `root`) has `root`'s Cargo.toml's release profile.
pub fn check_same_release_profile(root: &Path, peer_manifest: &str) -> Result<(), String> {
    let ours = release_profile(&root.join("Cargo.toml"))?;
    let peer = release_profile(&root.join(peer_manifest))?;
    if ours.is_empty() || ours != peer {
        return Err(format!(
            "{peer_manifest}'s [profile.release] {peer:?} differs from Cargo.toml's {ours:?}: copy it over"
        ));
    }
    Ok(())
}
