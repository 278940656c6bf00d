"""A user's genre vocabulary: the names written into their files for the model's labels.

- ``genre_map``: a YAML mapping ``label: Name`` (several labels may map to one name, e.g.
  ``hiphop: Hip-Hop``; a label mapped to null is never written);
- ``canonical``: a genre tree in beets lastgenre's ``genres-tree.yaml`` shape (nested
  lists: ``- rock: [- hard rock, - metal: [- heavy metal]]``), as lastgenre uses it: a
  name found in the tree becomes its nearest ancestor-or-self that the whitelist allows;
  without a whitelist, its top-level ancestor (or itself with ``prefer_specific``); the
  tree's spelling is used;
- ``whitelist``: a text file of allowed names (one a line, ``#`` comments): a name not in
  it is not written;
- ``title_case``: ``hip-hop`` -> ``Hip-Hop``.

Names are matched ignoring case, spaces and punctuation (``hiphop`` = ``Hip-Hop`` =
``hip hop``). Every malformed file is a ``ConfigError`` naming the file and the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError


def norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


@dataclass
class Vocabulary:
    mapping: dict[str, str | None] = field(default_factory=dict)  # norm(label) -> name
    chains: dict[str, list[str]] = field(default_factory=dict)  # norm(name) -> self..root
    spelling: dict[str, str] = field(default_factory=dict)  # norm(name) -> tree's spelling
    whitelist: dict[str, str] | None = None  # norm(name) -> spelling
    prefer_specific: bool = False
    title_case: bool = False

    @classmethod
    def load(cls, *, genre_map=None, canonical=None, whitelist=None,
             prefer_specific: bool = False, title_case: bool = False) -> Vocabulary:
        v = cls(prefer_specific=prefer_specific, title_case=title_case)
        if genre_map:
            data = _yaml(genre_map, "genre map")
            if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
                raise ConfigError(f"{genre_map}: a genre map is a YAML mapping of label: Name")
            for k, val in data.items():
                if val is not None and not isinstance(val, str):
                    raise ConfigError(f"{genre_map}: {k!r} maps to {val!r}, not a name")
                v.mapping[norm(k)] = val
        if canonical:
            tree = _yaml(canonical, "genre tree")
            if not isinstance(tree, list):
                raise ConfigError(f"{canonical}: a genre tree is a YAML list (lastgenre's "
                                  "genres-tree.yaml shape)")
            _walk(tree, [], v, canonical)
        if whitelist:
            try:
                lines = Path(whitelist).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{whitelist}: cannot read the whitelist ({exc})") from None
            names = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
            v.whitelist = {norm(n): n for n in names}
        return v

    def name(self, label: str) -> str | None:
        """The name written for ``label``, or None when it must not be written."""
        key = norm(label)
        if key in self.mapping:
            mapped = self.mapping[key]
            if mapped is None:
                return None
            label, key = mapped, norm(mapped)
        if key in self.chains:
            chain = self.chains[key]
            if self.whitelist is not None:  # the nearest allowed ancestor-or-self
                label = next((g for g in chain if norm(g) in self.whitelist), chain[0])
            else:
                label = chain[0] if self.prefer_specific else chain[-1]
            key = norm(label)
        if self.whitelist is not None:
            if key not in self.whitelist:
                return None
            label = self.whitelist[key]
        return _title(label) if self.title_case else label

    def names(self, labels) -> list[str]:
        """Each label's name, in order, without repeats or unwritable ones."""
        out: list[str] = []
        for lbl in labels:
            n = self.name(lbl)
            if n is not None and norm(n) not in {norm(o) for o in out}:
                out.append(n)
        return out


def _walk(node, ancestors: list[str], v: Vocabulary, src) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, ancestors, v, src)
    elif isinstance(node, dict):
        for k, children in node.items():
            if not isinstance(k, str):
                raise ConfigError(f"{src}: genre tree keys are names, got {k!r}")
            _add(k, ancestors, v, src)
            _walk(children, [k, *ancestors], v, src)
    elif isinstance(node, str):
        _add(node, ancestors, v, src)
    elif node is not None:
        raise ConfigError(f"{src}: unexpected {type(node).__name__} {node!r} in the genre tree")


def _add(name: str, ancestors: list[str], v: Vocabulary, src) -> None:
    if norm(name) in {norm(a) for a in ancestors}:
        raise ConfigError(f"{src}: {name!r} is its own ancestor in the genre tree "
                          f"({' > '.join([*reversed(ancestors), name])}); a tree has no cycles")
    v.spelling.setdefault(norm(name), name)
    v.chains.setdefault(norm(name), [name, *ancestors])


def _yaml(path, what: str):
    from ..userfiles import load_yaml

    return load_yaml(path, what=what)  # aliases under a budget, bounded depth, one line


def _title(name: str) -> str:
    return re.sub(r"[A-Za-z]+", lambda m: m.group(0)[0].upper() + m.group(0)[1:].lower(), name)
