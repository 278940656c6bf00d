"""Fail on any import cycle in genrekit outside the model registry (``make lint``).

grimp (import-linter's graph) sees every import, function-level ones too: two modules that
import each other inside functions are still a circle. The model registry is the one
allowed: ``models/registry.py`` imports the model modules so that they register, and each
of them imports the registry's decorator.
"""

from __future__ import annotations

import sys

ALLOWED = "genrekit.models."


def cycles(package: str = "genrekit") -> list[tuple[str, str]]:
    import grimp

    g = grimp.build_graph(package)
    found = set()
    for a in g.modules:
        for b in g.find_modules_directly_imported_by(a):
            if g.chain_exists(importer=b, imported=a):
                found.add(tuple(sorted((a, b))))
    return sorted(c for c in found if not all(m.startswith(ALLOWED) for m in c))


def main() -> int:
    bad = cycles()
    for a, b in bad:
        chain = " -> ".join(_chain(a, b))
        print(f"import cycle: {a} <-> {b} ({chain})", file=sys.stderr)
    print(f"import cycles outside the model registry: {len(bad)}")
    return 1 if bad else 0


def _chain(a, b):
    import grimp

    g = grimp.build_graph("genrekit")
    return (g.find_shortest_chain(importer=a, imported=b) or ()) + \
        (g.find_shortest_chain(importer=b, imported=a) or ())[1:]


if __name__ == "__main__":
    sys.exit(main())
