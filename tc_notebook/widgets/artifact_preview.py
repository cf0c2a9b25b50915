"""What an artifact's inline preview shows: the start of a text, log or
JSON artifact (JSON pretty-printed), or an image, under a heading."""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from .. import theme
from .artifact_fetch import Head
from .artifact_names import artifact_kind, human_size, image_format

TEXT_PREVIEW_BYTES = 64 * 1024
IMAGE_PREVIEW_BYTES = 2 * 1024 * 1024


@dataclass
class Preview:
    """A heading (HTML), the widget under it if any, and the text or image
    bytes shown (None when there is nothing to show)."""

    heading: str
    body: widgets.Widget | None = None
    shown: str | bytes | None = None


async def make_preview(
    entry: dict[str, Any], read_head: Callable[[int], Awaitable[Head]]
) -> Preview:
    """The preview of a listed artifact; `read_head(limit)` reads its start."""
    name, content_type = entry["name"], entry["contentType"]
    kind = artifact_kind(name, content_type, entry["storageType"])
    fmt = image_format(content_type)
    title = f"<b>{html.escape(name)}</b>"
    if kind == "image" and fmt:
        length = entry.get("size")
        if length is not None and length > IMAGE_PREVIEW_BYTES:
            return Preview(f"{title}: {human_size(length)} is too large to preview")
        head = await read_head(IMAGE_PREVIEW_BYTES)
        if head.more:
            return Preview(f"{title}: larger than {human_size(IMAGE_PREVIEW_BYTES)}")
        image = widgets.Image(value=head.data, format=fmt, layout=widgets.Layout(max_width="100%"))
        return Preview(title, image, head.data)
    if kind not in ("text", "log", "json"):
        return Preview(f"{title}: no preview for {html.escape(content_type or kind)}")
    head = await read_head(TEXT_PREVIEW_BYTES)
    text = head.data.decode("utf-8", "replace")
    if kind == "json" and not head.more and not head.streaming:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    note = ""
    if head.more:
        note = f" (first {human_size(TEXT_PREVIEW_BYTES)})"
    elif head.streaming:
        note = " (still being written)"
    body = widgets.HTML(
        "<pre style='max-height:24em;overflow:auto;margin:0;font-size:12px;"
        f"background:{theme.PANEL};color:{theme.TEXT};padding:4px'>{html.escape(text)}</pre>"
    )
    return Preview(title + html.escape(note), body, text)
