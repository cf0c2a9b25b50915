"""What an artifact's name and content type say about it: its place in the
list, whether it is public, its icon, its size in words, and whether it has
an inline preview. Plain functions, no widgets and no requests."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from ..terms import BACKING_LOG, LIVE_LOG

ICONS = {
    "log": "📜",
    "json": "🧾",
    "image": "🖼️",
    "archive": "📦",
    "text": "📄",
    "generic": "📎",
    "error": "⚠️",
}
ARCHIVE_TYPES = {
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/x-gtar",
    "application/x-bzip2",
    "application/x-xz",
    "application/zstd",
    "application/x-zstd",
    "application/x-7z-compressed",
    "application/java-archive",
    "application/vnd.android.package-archive",
}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".jar", ".apk")
TEXT_TYPES = {
    "application/javascript",
    "application/x-javascript",
    "application/xml",
    "application/x-sh",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
}
IMAGE_FORMATS = {"png", "jpeg", "gif", "webp", "svg+xml", "bmp"}


def sort_key(name: str) -> tuple[int, str]:
    """The Taskcluster UI's order: live.log, live_backing.log, public/*, the rest."""
    if name == LIVE_LOG:
        group = 0
    elif name == BACKING_LOG:
        group = 1
    elif name.startswith("public/"):
        group = 2
    else:
        group = 3
    return group, name


def is_public(name: str) -> bool:
    """Whether anyone may read the artifact (no signature needed)."""
    return name.startswith("public/")


def basename(name: str) -> str:
    """The last part of an artifact name: what a download is saved as."""
    last = name.rpartition("/")[2]
    return last if last not in ("", ".") else PurePosixPath(name).name


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def artifact_kind(name: str, content_type: str | None, storage_type: str = "s3") -> str:
    """log, json, image, archive, text, generic or error: what the icon shows."""
    if storage_type == "error":
        return "error"
    mime, base = _mime(content_type), basename(name).lower()
    if name in (LIVE_LOG, BACKING_LOG) or base.endswith(".log"):
        return "log"
    if mime == "application/json" or mime.endswith("+json") or base.endswith(".json"):
        return "json"
    if mime.startswith("image/"):
        return "image"
    if mime in ARCHIVE_TYPES or base.endswith(ARCHIVE_SUFFIXES):
        return "archive"
    if mime.startswith("text/") or mime in TEXT_TYPES or base.endswith(".txt"):
        return "text"
    return "generic"


def human_size(length: int | None) -> str:
    """`512 B`, `1.5 KiB`, `2.0 MiB`; empty when unknown."""
    if length is None:
        return ""
    if length < 1024:
        return f"{length} B"
    value = float(length)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} TiB"


def image_format(content_type: str | None) -> str | None:
    """The `ipywidgets.Image` format for an image type we can show, else None."""
    mime = _mime(content_type)
    if not mime.startswith("image/"):
        return None
    subtype = mime.split("/", 1)[1]
    subtype = "jpeg" if subtype == "jpg" else subtype
    return subtype if subtype in IMAGE_FORMATS else None


def previewable(entry: dict[str, Any]) -> bool:
    """Text, logs, JSON and common images have an inline preview."""
    kind = artifact_kind(entry["name"], entry.get("contentType"), entry["storageType"])
    if kind in ("text", "log", "json"):
        return True
    return kind == "image" and image_format(entry.get("contentType")) is not None


def plural(count: int, noun: str) -> str:
    """`1 artifact`, `2 artifacts`, `0 artifacts`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
