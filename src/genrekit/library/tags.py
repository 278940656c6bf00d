"""Read and write one tag field (default ``genre``) with mutagen, per container.

mp3: ID3 ``TCON`` (other fields: ``TXXX:<field>``); ogg/opus/flac: Vorbis comment
``<FIELD>``; m4a/mp4: ``©gen`` (others: ``----:com.apple.iTunes:<field>``). Writes go to a
temporary copy in the same folder, are fsynced and moved over the original with
``os.replace``: a crash leaves the old file or the new one, never a half-written one. Only
the tag block changes; the audio data is untouched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import GenrekitError

TAGGABLE = {".mp3": "id3", ".ogg": "vorbis", ".oga": "vorbis", ".opus": "vorbis",
            ".flac": "vorbis", ".m4a": "mp4", ".mp4": "mp4", ".m4b": "mp4"}


class TagError(GenrekitError):
    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


def tag_kind(path) -> str:
    kind = TAGGABLE.get(Path(path).suffix.lower())
    if kind is None:
        raise TagError(path, f"unsupported format for tagging ({Path(path).suffix or 'none'})")
    return kind


def _open(path):
    import mutagen

    try:
        f = mutagen.File(str(path))
    except Exception as exc:
        raise TagError(path, f"unreadable tags ({str(exc)[:120]})") from None
    if f is None:
        raise TagError(path, "not a taggable audio file")
    return f


def _key(kind: str, field: str) -> str:
    if kind == "id3":
        return "TCON" if field == "genre" else f"TXXX:{field}"
    if kind == "mp4":
        return "\xa9gen" if field == "genre" else f"----:com.apple.iTunes:{field}"
    return field.upper()


def read_tag(path, field: str = "genre") -> list[str]:
    """The field's values (empty list when unset)."""
    kind = tag_kind(path)
    f = _open(path)
    tags = f.tags
    if tags is None:
        return []
    key = _key(kind, field)
    if kind == "id3":
        frame = tags.get(key)
        return [str(v) for v in frame.text] if frame is not None else []
    if kind == "mp4":
        vals = tags.get(key, [])
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in vals]
    return list(tags.get(key, []))


def write_tag(path, values: list[str], field: str = "genre") -> None:
    """Set the field to ``values`` (an empty list removes it), atomically.

    The file keeps what it is: through a symbolic link the link's target is written and the
    link stays; the new copy keeps the owner, group and mode; a file with several hard links
    is rewritten in place (after the tagged copy is complete and synced), so every name
    still shows the same file."""
    kind = tag_kind(path)
    path = Path(os.path.realpath(path))  # a link stays a link: write its target
    st = os.stat(path)
    tmp = path.with_name(f".{path.name}.genrekit-tmp")
    shutil.copy2(path, tmp)
    try:
        f = _open(tmp)
        if f.tags is None:
            f.add_tags()
        key = _key(kind, field)
        if kind == "id3":
            from mutagen.id3 import TCON, TXXX

            f.tags.delall(key)
            if values:
                f.tags.add(TCON(encoding=3, text=values) if key == "TCON" else
                           TXXX(encoding=3, desc=field, text=values))
        elif kind == "mp4":
            if values:
                f.tags[key] = ([str(v) for v in values] if key == "\xa9gen" else
                               [str(v).encode("utf-8") for v in values])
            else:
                f.tags.pop(key, None)
        else:
            _set_vorbis(f.tags, key, [str(v) for v in values])
        f.save()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if st.st_nlink > 1:  # hard links: same inode, new bytes
            _copy_into(tmp, path)
            tmp.unlink()
            return
        if hasattr(os, "chown"):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)  # root tagging another user's file
            except PermissionError:
                pass  # not allowed to give it away: the owner is then this user
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _set_vorbis(tags, key: str, values: list[str]) -> None:
    """Replace a Vorbis comment field where it stands (mutagen's ``tags[key] = ...`` moves
    it to the end): the other fields keep their order and the key its spelling, so writing
    the old values back (undo) gives back the very same comment block."""
    pairs = list(tags)
    hits = [i for i, (k, _) in enumerate(pairs) if k.lower() == key.lower()]
    spelled = pairs[hits[0]][0] if hits else key
    at = hits[0] if hits else len(pairs)
    rest = [kv for kv in pairs if kv[0].lower() != key.lower()]
    before = sum(1 for k, _ in pairs[:at] if k.lower() != key.lower())
    del tags[:]
    tags.extend(rest[:before] + [(spelled, v) for v in values] + rest[before:])


def _copy_into(src: Path, dst: Path) -> None:
    """Overwrite ``dst``'s bytes with ``src``'s in place (keeps its inode and links)."""
    with open(src, "rb") as fi, open(dst, "r+b") as fo:
        shutil.copyfileobj(fi, fo, 1 << 20)
        fo.truncate()
        fo.flush()
        os.fsync(fo.fileno())
