"""Text from clients and users made safe to show: control characters escaped.

A path, a user agent or a name may carry terminal escape sequences (ESC, the C1
CSI `\\x9b`), DEL, or bidirectional overrides (U+202E) that reorder what an admin
reads. Whatever shows such text to a person (`tempclock` tables and messages, the
desktop's log views) passes it through `printable`; JSON output through
`json_printable`, which keeps it valid JSON with the same meaning.
"""

from __future__ import annotations

import re
import unicodedata

# Control, format (bidi overrides, zero-width), surrogate and unassigned characters, and
# the line and paragraph separators: none has a glyph of its own, each can fool a reader.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
_BEYOND_ASCII_TEXT = re.compile(r"[^\x20-\x7e]")


def _unsafe(char: str, keep: str) -> bool:
    return char not in keep and unicodedata.category(char) in _UNSAFE_CATEGORIES


def _python_escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control or formatting character written as an escape (`\\x1b`,
    `\\u202e`); newlines kept when `keep_newlines` (a whole multi-line message)."""
    keep = "\n" if keep_newlines else ""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return _python_escape(ord(char)) if _unsafe(char, keep) else char

    return _BEYOND_ASCII_TEXT.sub(escape, text)


def json_printable(document: str) -> str:
    """A JSON document with every such character written as a `\\uXXXX` escape: the same
    JSON, safe for a terminal."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if not _unsafe(char, "\n"):  # a raw newline is only ever whitespace between tokens
            return char
        encoded = char.encode("utf-16-be", "surrogatepass")
        return "".join(f"\\u{int.from_bytes(encoded[i:i + 2]):04x}"
                       for i in range(0, len(encoded), 2))

    return _BEYOND_ASCII_TEXT.sub(escape, document)
