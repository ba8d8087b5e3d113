"""make sbom: a CycloneDX 1.5 SBOM (JSON) of what runs in each Lambda function.

    target/sbom/cc-number-relay.cdx.json            the relay (RelayFunction)
    target/sbom/cc-number-relay-guardian.cdx.json   the guardian (GuardianFunction)
    target/sbom/cc-number-relay-confirm.cdx.json    the confirmer (ConfirmFunction)
    target/sbom/cc-number-directory.cdx.json        the example subscriber (DirectoryFunction)

cargo-cyclonedx (pinned in dev/sbom.sh) describes each binary for the
functions' target (aarch64-unknown-linux-gnu), with each package's default
features, normal dependencies only: no dev-dependencies, no build-dependencies
(build scripts and their helpers such as cc and cmake run on the build machine,
not in the function). Proc macros (serde_derive...) are normal dependencies and
stay, as in `cargo tree -e normal`.

Two corrections, both checked against cargo's own resolution:
- cargo-cyclonedx 0.5.9 lists optional dependencies that no enabled feature
  turns on (CycloneDX/cyclonedx-rust-cargo#766): ring through rustls-webpki,
  jiff and schemars through serde_with, and so on. Every component that
  `cargo tree -e normal --target aarch64-unknown-linux-gnu -p <package>` does
  not show is removed, with its edges; the run fails if the tree has a crate
  the SBOM lacks.
- It writes <binary>_bin.cdx.json beside each package's Cargo.toml (there is no
  output directory option); the files are moved to target/sbom/ at once, and
  removed from the source tree whatever happens.

A binary's SBOM is its package's: cargo resolves dependencies per package, so
the relay's and the guardian's list the same crates (cc-number-relay-ctl, the
operator CLI, is the package's third binary and is not a function: no SBOM).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "aarch64-unknown-linux-gnu"
OUT = ROOT / "target" / "sbom"
# (package, its directory, the binary a function runs)
FUNCTIONS = [
    ("cc-number-relay", ROOT, "cc-number-relay"),
    ("cc-number-relay", ROOT, "cc-number-relay-guardian"),
    ("cc-number-relay", ROOT, "cc-number-relay-confirm"),
    ("cc-number-directory", ROOT / "examples" / "number-directory", "cc-number-directory"),
]
# Every bin target of the workspace, so every file cargo-cyclonedx writes is known.
WRITTEN = [
    ROOT / "cc-number-relay_bin.cdx.json",
    ROOT / "cc-number-relay-guardian_bin.cdx.json",
    ROOT / "cc-number-relay-confirm_bin.cdx.json",
    ROOT / "cc-number-relay-ctl_bin.cdx.json",
    ROOT / "examples" / "number-directory" / "cc-number-directory_bin.cdx.json",
]


def run(*args: str) -> str:
    return subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout


def cargo_tree(package: str) -> set[tuple[str, str]]:
    """(name, version) of every crate in `package`'s normal dependency tree for TARGET, itself included."""
    lines = run(
        "cargo", "tree", "--locked", "-p", package, "--target", TARGET, "-e", "normal",
        "--prefix", "none", "--format", "{p}",
    ).splitlines()
    crates = set()
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("v"):
            crates.add((parts[0], parts[1][1:]))
    return crates


def prune(bom: dict, keep: set[tuple[str, str]]) -> list[str]:
    """Removes the components not in `keep`, and their edges; returns what it removed."""
    removed = {c["bom-ref"]: f'{c["name"]}@{c["version"]}' for c in bom["components"] if (c["name"], c["version"]) not in keep}
    bom["components"] = [c for c in bom["components"] if c["bom-ref"] not in removed]
    bom["dependencies"] = [
        {**d, "dependsOn": [r for r in d.get("dependsOn", []) if r not in removed]}
        for d in bom["dependencies"]
        if d["ref"] not in removed
    ]
    return sorted(removed.values())


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*.cdx.json"):
        stale.unlink()
    try:
        subprocess.run(
            ["cargo", "cyclonedx", "--manifest-path", str(ROOT / "Cargo.toml"), "--describe", "binaries",
             "--format", "json", "--spec-version", "1.5", "--target", TARGET, "--no-build-deps", "-q"],
            cwd=ROOT, check=True,
        )
        raw = {path.name: json.loads(path.read_text()) for path in WRITTEN if path.exists()}
    finally:
        for path in WRITTEN:
            path.unlink(missing_ok=True)

    trees: dict[str, set[tuple[str, str]]] = {}
    for package, _, binary in FUNCTIONS:
        bom = raw.get(f"{binary}_bin.cdx.json")
        if bom is None:
            sys.exit(f"sbom: cargo cyclonedx wrote no SBOM for {binary} ({sorted(raw)})")
        root = bom["metadata"]["component"]
        if root["name"] != binary:
            sys.exit(f"sbom: {binary}'s SBOM describes {root['name']}")
        tree = trees.setdefault(package, cargo_tree(package))
        listed = len(bom["components"])
        removed = prune(bom, tree)
        have = {(c["name"], c["version"]) for c in bom["components"]}
        missing = sorted(f"{n}@{v}" for n, v in tree - have if n != package)
        if missing:
            sys.exit(f"sbom: {binary}: cargo tree has crates the SBOM lacks: {missing}")
        out = OUT / f"{binary}.cdx.json"
        out.write_text(json.dumps(bom, indent=2) + "\n")
        print(
            f"{out.relative_to(ROOT)}: {len(bom['components'])} components "
            f"({listed} listed by cargo-cyclonedx, {len(removed)} optional ones no feature enables removed"
            + (f": {', '.join(removed)}" if removed else "") + ")"
        )


if __name__ == "__main__":
    os.environ.setdefault("CARGO_TERM_COLOR", "never")
    main()
