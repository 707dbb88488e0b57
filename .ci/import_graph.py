#!/usr/bin/env python3
"""The crate's import graph at the level where items are defined, and its cycles.

Every `use crate::…` / `use super::…` (braces flattened), every inline `crate::…`/`super::…` path
and every relative path into a child module (`check::run`) is resolved to the module that
*defines* the item (following `pub use` re-exports); a `mod.rs` re-exporting its own children's
items adds no edge for that. Unit-test modules are left out. Prints the layer edges and any cycle
(a strongly connected component of more than one module); exits 1 when there is one.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    if rel == ["main"]:
        return ("main",)
    return tuple(rel)


files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            files[module_of(p)] = open(p, encoding="utf-8").read()


def strip(text):
    # A unit-test module (`#[cfg(test)] mod tests { use super::*; … }`) is the file's own child.
    cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod\s+\w+\s*\{", text, re.M)
    if cut:
        text = text[: cut.start()]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def flatten(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.strip()
    m = re.match(r"^(.*?)::\{(.*)\}$", tree, re.S)
    if not m:
        return [re.sub(r"\s+as\s+\w+$", "", tree.strip())]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        if ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for part in parts:
        if part.strip():
            for f in flatten(part):
                out.append(prefix if f == "self" else prefix + "::" + f)
    return out


def absolute(mod, path):
    segs = path.split("::")
    if segs[0] == "crate":
        return list(segs[1:])
    if segs[0] in ("super", "self"):
        base = list(mod)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
        return base + segs
    # a child module or a re-exported name of this module, or an external crate
    if tuple(list(mod) + [segs[0]]) in files:
        return list(mod) + segs
    return None


defs = {}
reexports = {}
uses = {}
for mod, text in files.items():
    t = strip(text)
    defs[mod] = set(
        re.findall(
            r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:struct|enum|fn|const|static|type|trait|mod|macro_rules!)\s+([A-Za-z_]\w*)",
            t,
            re.M,
        )
    )
    paths = []
    for m in re.finditer(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", t, re.M):
        for p in flatten(m.group(2)):
            if m.group(1):
                name = p.split("::")[-1]
                reexports.setdefault(mod, {})[name] = p
                # A façade re-exporting its own child's item does not depend on it.
                target = absolute(mod, p)
                if target and tuple(target[: len(mod) + 1]) in files and len(target) > len(mod):
                    continue
            paths.append(p)
    body = re.sub(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", "", t, flags=re.M)
    paths += re.findall(r"\b(?:crate|super)(?:::[A-Za-z_]\w*)+", body)
    # Relative paths into a child module (`check::run(...)` in cli/mod.rs).
    for m in re.finditer(r"(?<![:\w])([a-z_]\w*)((?:::[A-Za-z_]\w*)+)", body):
        if tuple(list(mod) + [m.group(1)]) in files:
            paths.append(m.group(1) + m.group(2))
    uses[mod] = paths


def resolve(segs, depth=0):
    """The module that defines the item `segs` names (a module itself resolves to itself)."""
    if segs is None or depth > 20:
        return None
    for i in range(len(segs), -1, -1):
        m = tuple(segs[:i])
        if m in files:
            rest = segs[i:]
            if not rest:
                return m
            name = rest[0]
            if name in defs[m]:
                return m
            target = reexports.get(m, {}).get(name)
            if target:
                return resolve(absolute(m, target), depth + 1) or m
            return m
    return None


edges = {m: set() for m in files}
for mod, paths in uses.items():
    for p in paths:
        target = resolve(absolute(mod, p))
        if target is not None and target != mod and target != ():
            edges[mod].add(target)

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def connect(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            connect(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        sccs.append(comp)


sys.setrecursionlimit(10000)
for v in list(edges):
    if v not in index:
        connect(v)

name = lambda m: "::".join(m) or "crate"
layer_edges = {}
for a, bs in edges.items():
    for b in bs:
        la, lb = a[0] if a else "crate", b[0] if b else "crate"
        if la != lb:
            layer_edges.setdefault(la, set()).add(lb)
print("modules:", len(files), " edges:", sum(len(b) for b in edges.values()))
print("layer edges:")
for la in sorted(layer_edges):
    print(f"  {la} -> {', '.join(sorted(layer_edges[la]))}")
cycles = [c for c in sccs if len(c) > 1]
if "--show" in sys.argv:
    for a in sorted(edges, key=name):
        print(f"  {name(a)} -> {', '.join(sorted(map(name, edges[a])))}")
if not cycles:
    print("cycles: none")
    sys.exit(0)
for c in cycles:
    print("cycle:", " <-> ".join(sorted(map(name, c))))
sys.exit(1)
