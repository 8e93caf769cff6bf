"""Text files as Chinese back offices write them: UTF-8 (with or without BOM), UTF-16 with a
BOM (Excel's "Unicode text"), or GB18030 (a superset of GBK and GB2312, what Excel and Notepad
on Chinese Windows write). Every reader of a user's file (CSV import, YAML definitions and
calendars, TOML settings) decodes through :func:`decode_text`, and wraps its refusal in the
error class of its own kind of file.
"""

from __future__ import annotations

import codecs

EXPECTED = "UTF-8 (with or without BOM) or GB18030/GBK"


class UnknownEncoding(ValueError):
    """The bytes are not text in any encoding we read."""

    def __init__(self) -> None:
        super().__init__(f"is not text in {EXPECTED}; save it in one of those encodings")


def decode_text(data: bytes) -> str:
    """The text of a file's bytes; raises :class:`UnknownEncoding` when none of ours fits."""
    if data.startswith(codecs.BOM_UTF8):
        candidates: tuple[tuple[bytes, str], ...] = ((data[len(codecs.BOM_UTF8):], "utf-8"),)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ((data, "utf-16"),)
    else:
        candidates = ((data, "utf-8"), (data, "gb18030"))
    for raw, encoding in candidates:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnknownEncoding()
