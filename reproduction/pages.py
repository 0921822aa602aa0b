"""Blocks of the documentation pages that commands rewrite: the markdown between
``<!-- name -->`` and ``<!-- /name -->``, so no number in them is typed by hand.

Examples:
    >>> import pathlib, tempfile
    >>> page = pathlib.Path(tempfile.mkdtemp()) / "p.md"
    >>> _ = page.write_text("x\\n<!-- t -->\\nold\\n<!-- /t -->\\n")
    >>> update_page(page, {"t": "new"}); page_blocks(page, ["t"])
    {'t': 'new'}
"""
from __future__ import annotations

import re
from pathlib import Path


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- {name} -->\n)(.*?)(\n<!-- /{name} -->)", re.S)


def page_blocks(path, names) -> dict:
    """block name -> the markdown between its markers in the markdown page at ``path``, for ``names``."""
    text = Path(path).read_text()
    found = {name: _pattern(name).search(text) for name in names}
    missing = [name for name, m in found.items() if m is None]
    if missing:
        raise ValueError(f"{path} lacks the blocks {missing} (<!-- name --> ... <!-- /name -->)")
    return {name: m.group(2) for name, m in found.items()}


def update_page(path, blocks: dict) -> None:
    """Replace each block between its markers in the markdown page at ``path``."""
    path = Path(path)
    text = path.read_text()
    page_blocks(path, list(blocks))
    for name, table in blocks.items():
        text = _pattern(name).sub(lambda m: m.group(1) + table + m.group(3), text)
    path.write_text(text)

