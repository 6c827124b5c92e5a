#!/usr/bin/env python3
"""Count mutual dependencies between top-level modules of server/src from `crate::` paths."""
import os, re, sys, itertools
root = sys.argv[1] if len(sys.argv) > 1 else 'server/src'
edges = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p = os.path.join(d, f)
        rel = os.path.relpath(p, root)
        top = rel.split(os.sep)[0].removesuffix('.rs')
        if top in ('main', 'lib', 'bin'): continue
        src = open(p).read()
        # expand `use crate::{a::..., b}` groups
        deps = set(re.findall(r'crate::([a-z_]+)', src))
        for m in re.finditer(r'use crate::\{', src):
            i = m.end(); depth = 1; j = i
            while depth:
                if src[j] == '{': depth += 1
                elif src[j] == '}': depth -= 1
                j += 1
            body = src[i:j-1]
            # top-level names in the group
            level = 0; tok = ''
            for ch in body:
                if ch == '{': level += 1
                elif ch == '}': level -= 1
                if level == 0 and ch == ',':
                    deps.add(re.match(r'\s*([a-z_]+)', tok).group(1) if re.match(r'\s*([a-z_]+)', tok) else ''); tok = ''
                else: tok += ch
            if re.match(r'\s*([a-z_]+)', tok): deps.add(re.match(r'\s*([a-z_]+)', tok).group(1))
        deps.discard(top); deps.discard('')
        edges.setdefault(top, set()).update(deps)
pairs = [(a, b) for a, b in itertools.combinations(sorted(edges), 2) if b in edges[a] and a in edges.get(b, ())]
for a, b in pairs: print(f'{a} <-> {b}')
print(len(pairs), 'mutual pairs')
