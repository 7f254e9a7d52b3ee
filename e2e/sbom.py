#!/usr/bin/env python3
"""sbom.py: a CycloneDX 1.5 JSON SBOM of the release binaries, from cargo's own metadata, checked before it is kept.

What goes in, for each binary package named with -p (default: jaas-controller and jaas-artifact-server):
- the packages reached from it by normal dependencies in `cargo metadata --locked --format-version 1
  --filter-platform TARGET` (no dev-dependencies, no build-dependencies, nothing of another platform);
- kept only when cargo's feature resolver really builds them into that binary, as `cargo tree -e normal -p PKG
  --target TARGET` lists them: `cargo metadata` resolves features for the whole workspace at once, so a feature only
  the tests turn on would otherwise bring in crates the binary does not link (they are named in the log);
- per package: name, version, purl (pkg:cargo/NAME@VERSION), license (SPDX; the old `MIT/Apache-2.0` form written
  as `MIT OR Apache-2.0`), source (registry or git URL, this workspace, or a crate carried with a patch under
  third_party/), the SHA-256 of the .crate from
  Cargo.lock, whether it is a proc-macro (compiled and run at build time, not linked), and the dependency edges.

The check, before the file is written (exit 1 and nothing written on any failure): every package `cargo tree -e
normal` lists for each binary is a component; every registry component carries Cargo.lock's checksum; every purl is
well formed and unique; every dependency edge names a component. Reproducible: the same Cargo.lock, packages and
target give the same bytes (timestamp from SOURCE_DATE_EPOCH when set, serial number derived from the inputs).

Usage: python3 e2e/sbom.py [-p PACKAGE]... [--target TRIPLE] [-o FILE]   (FILE `-`: standard output)
Works offline once the crates are downloaded (CARGO_NET_OFFLINE=true, as the Dockerfiles' builder stage runs it).
Python 3.11+ standard library only (tomllib).
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
import urllib.parse
import uuid
from pathlib import Path

DEFAULT_PACKAGES = ["jaas-controller", "jaas-artifact-server"]
DEFAULT_TARGET = "x86_64-unknown-linux-gnu"
PURL = re.compile(r"^pkg:cargo/[A-Za-z0-9_-]+@[A-Za-z0-9.%_~-]+(\?.*)?$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def log(message):
    print(f"sbom: {message}", file=sys.stderr)


def cargo(*args, cwd):
    """Standard output of `cargo ARGS`; exits with cargo's error text when it fails."""
    done = subprocess.run(["cargo", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"sbom: `cargo {' '.join(args)}` failed:\n{done.stderr}")
    return done.stdout


def purl_of(name, version, source):
    """The package URL of a cargo package; a git source is named in the vcs_url qualifier."""
    purl = f"pkg:cargo/{name}@{urllib.parse.quote(version, safe='.-_~')}"
    if source and source.startswith("git+"):
        purl += "?vcs_url=" + urllib.parse.quote(source, safe="")
    return purl


def spdx_expression(license_field):
    """Cargo's license field as an SPDX expression: the deprecated `A/B` form means `A OR B`."""
    return " OR ".join(part.strip() for part in license_field.split("/"))


def lock_checksums(root):
    """(name, version) -> the SHA-256 of the .crate file, for every registry package of Cargo.lock."""
    lock = tomllib.loads((root / "Cargo.lock").read_text())
    return {(p["name"], p["version"]): p["checksum"] for p in lock["package"] if "checksum" in p}


def normal_dependencies(node):
    """Ids of the packages a resolve node depends on normally (not as a dev- or build-dependency)."""
    return [d["pkg"] for d in node["deps"] if any(k["kind"] is None for k in d["dep_kinds"])]


def normal_closure(nodes, root_id):
    """Ids of the packages reached from root_id through normal dependency edges, root_id included."""
    seen, todo = set(), [root_id]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += normal_dependencies(nodes[current])
    return seen


def built_packages(package, target, root):
    """(name, version) of every package cargo builds into `package` for `target`, as `cargo tree` lists them."""
    out = cargo("tree", "--locked", "-e", "normal", "-p", package, "--target", target, "--prefix", "none",
                "--format", "{p}", cwd=root)
    return {(line.split()[0], line.split()[1].removeprefix("v")) for line in out.splitlines() if line.strip()}


def local_source(package):
    """How a package without a registry or git source reaches the build: a workspace member, or a crate carried with
    a change under third_party/ (the published release plus third_party/NAME.patch, docs/fidelity.md)."""
    parts = Path(package["manifest_path"]).parts
    if "third_party" in parts:
        return (f"path: third_party/{package['name']}, crates.io {package['name']} {package['version']} "
                f"plus third_party/{package['name']}.patch")
    return "path: this workspace"


def component(package, checksum, kind):
    """A CycloneDX component for one cargo package."""
    source = package["source"]
    entry = {
        "type": kind,
        "bom-ref": purl_of(package["name"], package["version"], source),
        "name": package["name"],
        "version": package["version"],
        "purl": purl_of(package["name"], package["version"], source),
        "scope": "required",
    }
    if package.get("description"):
        entry["description"] = " ".join(package["description"].split())
    if package.get("license"):
        entry["licenses"] = [{"expression": spdx_expression(package["license"])}]
    elif package.get("license_file"):
        entry["licenses"] = [{"license": {"name": f"see {package['license_file']} in the crate"}}]
    if checksum:
        entry["hashes"] = [{"alg": "SHA-256", "content": checksum}]
    properties = [{"name": "cargo:source", "value": source or local_source(package)}]
    if any("proc-macro" in t["kind"] for t in package["targets"]):
        properties.append({"name": "cargo:proc-macro", "value": "true: runs at build time, not linked"})
    entry["properties"] = properties
    return entry


def select_packages(metadata, roots, target, root):
    """Ids of the packages the SBOM lists (reached in the metadata and built, for any root), and per root the
    (name, version) pairs `cargo tree` lists, for the check."""
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    by_id = {p["id"]: p for p in metadata["packages"]}
    members = {by_id[i]["name"]: i for i in metadata["workspace_members"]}
    selected, built_by_root = set(), {}
    for name in roots:
        if name not in members:
            sys.exit(f"sbom: {name} is not a workspace member (members: {', '.join(sorted(members))})")
        reached = normal_closure(nodes, members[name])
        built = built_packages(name, target, root)
        built_by_root[name] = built
        unused = sorted(f"{by_id[i]['name']}@{by_id[i]['version']}" for i in reached
                        if (by_id[i]["name"], by_id[i]["version"]) not in built)
        if unused:
            log(f"{name}: left out {len(unused)} packages cargo metadata reaches but the feature resolver does "
                f"not build into it: {', '.join(unused)}")
        selected |= {i for i in reached if (by_id[i]["name"], by_id[i]["version"]) in built}
    return selected, built_by_root


def build_bom(metadata, roots, target, root):
    """The CycloneDX document, what `cargo tree` lists per root, and Cargo.lock's checksums."""
    by_id = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    checksums = lock_checksums(root)
    selected, built_by_root = select_packages(metadata, roots, target, root)
    root_ids = {i for i in selected if by_id[i]["name"] in roots and i in metadata["workspace_members"]}
    ref = {i: purl_of(by_id[i]["name"], by_id[i]["version"], by_id[i]["source"]) for i in selected}

    components = []
    for i in selected:
        package = by_id[i]
        checksum = checksums.get((package["name"], package["version"])) if package["source"] else None
        components.append(component(package, checksum, "application" if i in root_ids else "library"))
    components.sort(key=lambda c: (c["name"], c["version"]))
    dependencies = [{"ref": ref[i], "dependsOn": sorted({ref[d] for d in normal_dependencies(nodes[i])
                                                           if d in selected})} for i in selected]
    version = "/".join(sorted({by_id[i]["version"] for i in root_ids}))
    release = {"type": "application", "bom-ref": "jaas-release", "name": "jaas", "version": version,
               "description": "JaaS release binaries: " + ", ".join(sorted(roots))}
    dependencies.append({"ref": "jaas-release", "dependsOn": sorted(ref[i] for i in root_ids)})

    lock_digest = hashlib.sha256((root / "Cargo.lock").read_bytes()).hexdigest()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else datetime.datetime.now(datetime.UTC)
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip() or "unknown"
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                   f"jaas-sbom:{lock_digest}:{target}:{','.join(sorted(roots))}")),
        "version": 1,
        "metadata": {
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "e2e/sbom.py",
                                      "description": "cargo metadata + cargo tree + Cargo.lock, Python stdlib"}]},
            "component": release,
            "properties": [{"name": "cargo:target", "value": target},
                           {"name": "cargo:rustc", "value": rustc},
                           {"name": "cargo:lock-sha256", "value": lock_digest}],
        },
        "components": components,
        "dependencies": sorted(dependencies, key=lambda d: d["ref"]),
    }
    return bom, built_by_root, checksums


def check_bom(bom, built_by_root, checksums):
    """Everything wrong with the SBOM (an empty list when it is sound)."""
    problems = []
    refs = [c["bom-ref"] for c in bom["components"]]
    if len(refs) != len(set(refs)):
        problems.append("two components share a bom-ref")
    present = {(c["name"], c["version"]) for c in bom["components"]}
    for name, built in sorted(built_by_root.items()):
        missing = sorted(f"{n}@{v}" for n, v in built - present)
        if missing:
            problems.append(f"{name}: `cargo tree -e normal` lists packages the SBOM lacks: {', '.join(missing)}")
    for c in bom["components"]:
        label = f"{c['name']}@{c['version']}"
        if not PURL.match(c["purl"]):
            problems.append(f"{label}: malformed purl {c['purl']}")
        if not c.get("licenses"):
            problems.append(f"{label}: no license")
        source = next(p["value"] for p in c["properties"] if p["name"] == "cargo:source")
        if source.startswith("registry+"):
            hashes = [h["content"] for h in c.get("hashes", []) if h["alg"] == "SHA-256"]
            expected = checksums.get((c["name"], c["version"]))
            if not hashes or not SHA256.match(hashes[0]) or hashes[0] != expected:
                problems.append(f"{label}: SHA-256 {hashes} is not Cargo.lock's checksum {expected}")
    known = set(refs) | {bom["metadata"]["component"]["bom-ref"]}
    dangling = sorted({ref for d in bom["dependencies"] for ref in [d["ref"], *d["dependsOn"]]} - known)
    if dangling:
        problems.append(f"dependency edges name what is no component: {', '.join(dangling)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-p", "--package", action="append", dest="packages",
                        help="a binary package of the workspace (repeatable; default: both release binaries)")
    parser.add_argument("--target", default=DEFAULT_TARGET, help=f"target triple (default {DEFAULT_TARGET})")
    parser.add_argument("-o", "--output", help="where to write (default: <target dir>/release/jaas.cdx.json)")
    args = parser.parse_args()
    roots = args.packages or DEFAULT_PACKAGES
    root = Path(__file__).resolve().parent.parent

    metadata = json.loads(cargo("metadata", "--locked", "--format-version", "1", "--filter-platform", args.target,
                                cwd=root))
    bom, built_by_root, checksums = build_bom(metadata, roots, args.target, root)
    problems = check_bom(bom, built_by_root, checksums)
    if problems:
        sys.exit("sbom: the SBOM is not sound, nothing written:\n  " + "\n  ".join(problems))

    text = json.dumps(bom, indent=2, sort_keys=False) + "\n"
    output = args.output or str(Path(metadata["target_directory"]) / "release" / "jaas.cdx.json")
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text)
    registry = sum(1 for c in bom["components"] if "hashes" in c)
    carried = sum(1 for c in bom["components"] for p in c["properties"]
                  if p["name"] == "cargo:source" and p["value"].startswith("path: third_party/"))
    macros = sum(1 for c in bom["components"] if any(p["name"] == "cargo:proc-macro" for p in c["properties"]))
    per_root = ", ".join(f"{name} {len(built)}" for name, built in sorted(built_by_root.items()))
    log(f"{len(bom['components'])} components ({registry} from crates.io with Cargo.lock's SHA-256, "
        f"{carried} carried with a patch under third_party/, {len(bom['components']) - registry - carried} of this "
        f"workspace, {macros} proc-macros) for {args.target}; "
        f"cargo tree -e normal packages per binary: {per_root}, all present; written to {output}")


if __name__ == "__main__":
    main()
