"""Safe YAML for user files: PyYAML's safe loader (the C one when built) behind a check of
the event stream, so that no file can cost more than its limits before it is built.

- Aliases (``*name``) are expanded only under a node budget: every alias counts the nodes of
  what it names, so the "billion laughs" (a 1 KB file whose aliases expand to billions of
  nodes) is refused after reading its events, in milliseconds, with nothing built.
- An alias to a node still open (a structure that contains itself) is a cycle: refused.
- Nesting deeper than ``max_depth`` is refused (a 10,000-level tree would otherwise hit
  Python's recursion limit in whoever walks it).
- Files over ``max_bytes`` are not read. Text must be UTF-8 (a BOM is fine).

Every refusal is a :class:`~genrekit.errors.ConfigError` of one line naming the file.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000


def _loader():
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def check_events(text: str, source, *, max_depth: int = MAX_DEPTH,
                 max_nodes: int = MAX_NODES) -> None:
    """Raise ``ConfigError`` if ``text`` nests deeper than ``max_depth``, expands (aliases
    followed) to more than ``max_nodes`` nodes, or has an alias to a node that contains it."""
    import yaml

    sizes: dict[str, int] = {}  # anchor -> expanded node count
    stack: list[list] = []  # open collections: [anchor, expanded nodes inside]
    total = 0

    def add(n: int) -> None:
        nonlocal total
        total += n
        if stack:
            stack[-1][1] += n
        if total > max_nodes:
            raise ConfigError(f"{source}: expands to more than {max_nodes:,} nodes (YAML "
                              "aliases repeated into each other?); refused")

    try:
        for ev in yaml.parse(text, Loader=_loader()):
            if isinstance(ev, yaml.AliasEvent):
                if any(a == ev.anchor for a, _ in stack):
                    raise ConfigError(f"{source}: line {ev.start_mark.line + 1}: alias "
                                      f"*{ev.anchor} refers to a node that contains it (a "
                                      "cycle); refused")
                add(sizes.get(ev.anchor, 1))
            elif isinstance(ev, yaml.ScalarEvent):
                if ev.anchor:
                    sizes[ev.anchor] = 1
                add(1)
            elif isinstance(ev, yaml.CollectionStartEvent):
                stack.append([ev.anchor, 0])
                if len(stack) > max_depth:
                    raise ConfigError(f"{source}: line {ev.start_mark.line + 1}: nested more "
                                      f"than {max_depth} levels deep; refused")
            elif isinstance(ev, yaml.CollectionEndEvent):
                anchor, inside = stack.pop()
                if anchor:
                    sizes[anchor] = inside + 1
                add(1)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not a readable YAML file ({_first_line(exc)})") from None


def load_yaml_text(text: str, source="<text>", *, max_depth: int = MAX_DEPTH,
                   max_nodes: int = MAX_NODES):
    """The data of YAML ``text`` (checked as :func:`check_events` says)."""
    import yaml

    check_events(text, source, max_depth=max_depth, max_nodes=max_nodes)
    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not a readable YAML file ({_first_line(exc)})") from None
    except RecursionError:  # cannot happen under max_depth; never a traceback if it does
        raise ConfigError(f"{source}: nested too deeply; refused") from None


def load_yaml(path, *, what: str = "YAML file", max_bytes: int = MAX_BYTES,
              max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES):
    """The data of the YAML file ``path``; ``what`` names it in errors ("genre map")."""
    from ..fileio import not_a_regular_file

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"{path}: no such file ({what} not found)")
    if why := not_a_regular_file(path):
        raise ConfigError(f"{path}: {why} ({what})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ConfigError(f"{path}: {size:,} bytes, over the {max_bytes:,} a {what} may "
                              "have; refused")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save "
                          f"the {what} as UTF-8") from None
    return load_yaml_text(text, path, max_depth=max_depth, max_nodes=max_nodes)


def _first_line(exc) -> str:
    """``line N: problem`` of a PyYAML error, on one line."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}: {problem}"
    s = str(exc).strip().splitlines()
    return s[0] if s else type(exc).__name__
