"""Recognise audio containers by their first bytes (never by the client's file name)."""

from __future__ import annotations

_ASF = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"


def sniff_audio(head: bytes) -> str | None:
    """The container of a file from its first 16+ bytes, or None when it is not audio."""
    if len(head) < 4:
        return None
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    if head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:  # MPEG audio / ADTS AAC frame sync
        return "mp3" if (head[1] & 0x06) else "aac"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b".snd":
        return "au"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "matroska"
    if head[:8] == _ASF:
        return "asf"
    if head[:4] in (b"caff", b"wvpk", b"MAC "):
        return head[:4].decode("latin-1").strip().lower()
    return None
