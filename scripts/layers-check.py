#!/usr/bin/python3
"""Checks gpuctl's layering from the #include lines of src/ and include/gpuctl/.

Two rules, as the README's "Layout" section states them:
- a library is included only on its floor: curl in src/http, libxml2 in
  src/ec2, libssh2 in src/ssh, OpenSSL in src/sigv4, src/creds, src/ssh and
  src/util (everyone else uses gpuctl/digest.h), jansson in src/out,
  src/creds and src/state;
- a module includes only its own headers and those of lower floors (plus the
  few same-floor pairs listed in LATERAL); nothing includes src/cmd's headers
  but src/cmd and src/main.c.

Usage: scripts/layers-check.py [ROOT]   (ROOT: the checkout, default: cwd)
Prints one line per violation (FILE:LINE: what, why) and exits 1 when there
is any, 0 otherwise.
"""
import re
import sys
from pathlib import Path

# module -> floor; a module may include modules of lower floors.
FLOORS = {
    "util": 1,
    "sigv4": 2, "http": 2, "state": 2, "out": 2, "gpu": 2, "ssh": 2,
    "creds": 2,
    "ec2": 3,
    "svc": 4,
    "cmd": 5,
    "main": 6,
}

# Same-floor includes that are allowed: (from, to).
LATERAL = {("creds", "http")}

# Header (include/gpuctl/NAME.h) -> module, for the names that are not a
# module's own name or NAME_something.h of it.
HEADER_MODULE = {
    "util": "util", "err": "util", "log": "util", "digest": "util",
    "banned": "util",
    "nvsmi": "gpu",
    "options": "cmd",
}

# Library include prefix -> the modules that may include it.
LIBRARIES = [
    ("curl/", "curl", {"http"}),
    ("libxml/", "libxml2", {"ec2"}),
    ("libssh2", "libssh2", {"ssh"}),
    ("openssl/", "OpenSSL", {"sigv4", "creds", "ssh", "util"}),
    ("jansson", "jansson", {"out", "creds", "state"}),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def header_module(name):
    """include/gpuctl/NAME.h -> module, or None when it names no module."""
    base = name[:-2] if name.endswith(".h") else name
    if base in HEADER_MODULE:
        return HEADER_MODULE[base]
    if base in FLOORS:
        return base
    prefix = base.split("_", 1)[0]
    return prefix if prefix in FLOORS else None


def file_module(root, path):
    rel = path.relative_to(root)
    parts = rel.parts
    if parts[0] == "include":
        return header_module(parts[-1])
    if parts == ("src", "main.c"):
        return "main"
    if len(parts) >= 3 and parts[0] == "src":
        return parts[1]
    return None


def check(root):
    problems = []
    files = sorted(list(root.glob("src/**/*.[ch]")) +
                   list(root.glob("include/gpuctl/*.h")))
    for path in files:
        mod = file_module(root, path)
        rel = path.relative_to(root)
        if mod is None or mod not in FLOORS:
            problems.append(f"{rel}: not in any module of the layering "
                            f"(add its folder to scripts/layers-check.py)")
            continue
        for lineno, line in enumerate(path.read_text(errors="replace")
                                      .splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(2)
            for prefix, lib, allowed in LIBRARIES:
                if m.group(1) == "<" and inc.startswith(prefix):
                    if mod not in allowed:
                        where = ", ".join(f"src/{a}" for a in sorted(allowed))
                        problems.append(
                            f"{rel}:{lineno}: includes <{inc}>: {lib} "
                            f"belongs to {where} only")
            target = None
            if inc.startswith("gpuctl/"):
                target = header_module(inc[len("gpuctl/"):])
                if target is None:
                    problems.append(f"{rel}:{lineno}: includes \"{inc}\", "
                                    f"which names no module")
                    continue
            elif m.group(1) == '"' and "/" in inc:
                # "ec2/ec2_int.h"-style: a folder of src/
                target = inc.split("/", 1)[0]
                if target not in FLOORS:
                    continue
            if target is None or target == mod:
                continue
            if FLOORS[target] > FLOORS[mod]:
                problems.append(
                    f"{rel}:{lineno}: includes \"{inc}\": {mod} (floor "
                    f"{FLOORS[mod]}) may not include {target} (floor "
                    f"{FLOORS[target]}), a higher floor")
            elif (FLOORS[target] == FLOORS[mod] and
                  (mod, target) not in LATERAL):
                problems.append(
                    f"{rel}:{lineno}: includes \"{inc}\": {mod} and {target} "
                    f"share floor {FLOORS[mod]} and {mod} may not use {target}")
    return problems


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = check(root)
    for p in problems:
        print(f"layers-check: {p}")
    if problems:
        print(f"layers-check: {len(problems)} violation(s)", file=sys.stderr)
        return 1
    print("layers-check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
