"""Outside text made safe to show: the one definition of the characters never shown raw.

A description, reason, actor or file name comes from outside (a model card anyone with
bucket access can upload, an operator's shell). Terminal control characters could
rewrite a terminal; bidirectional controls reorder what a reader sees (an override can
make ``evil.cbm`` read as ``mbc.live``). The CLI (``common/cli/render.py``) and the
dashboard (``common/dashboard/web.py``) both strip them with :func:`clean`.
"""

from __future__ import annotations

import re

#: C0 controls but tab and newline, DEL, C1 controls, and the bidirectional controls: the marks
#: (U+200E/U+200F, U+061C), the embeddings and overrides (U+202A–U+202E) and the isolates
#: (U+2066–U+2069).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` without control or bidirectional-control characters."""
    return CONTROL.sub("", text)
