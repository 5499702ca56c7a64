"""A family's data as one ZIP (issue #21): the names the other services' parts may take, the manifest,
and the archive itself. Pure functions of values: no I/O."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MANIFEST = "manifest.json"
OWN_PREFIX = "documents/"  # documents' own part: what the service adds itself, never a given part
MAX_NAME = 300
# "<service>/<what>" in lower case, each segment starting with a letter or a digit: no absolute path,
# no "..", no backslash, nothing that unpacks outside the folder it is unpacked in.
_NAME = re.compile(r"^[a-z][a-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9._ -]*)+$")


@dataclass(frozen=True)
class ArchiveFile:
    name: str  # path inside the ZIP
    content: bytes
    content_type: str


def part_name_problems(names: Sequence[str]) -> dict[str, str]:
    """What is wrong with the names of the parts another service gave (by ``parts[<index>]``): a path
    that is not ``<service>/<file>``, ``documents/...`` (documents' own part), ``manifest.json`` or a
    name given twice. Empty when every name may go in the archive."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for i, name in enumerate(names):
        key = f"parts[{i}]"
        if len(name) > MAX_NAME or not _NAME.match(name) or ".." in name.split("/"):
            problems[key] = f"{name[:80]!r}: a name is <service>/<file>"
        elif name.startswith(OWN_PREFIX) or name == MANIFEST:
            problems[key] = f"{name!r}: documents writes it itself"
        elif name in seen:
            problems[key] = f"{name!r}: given twice"
        seen.add(name)
    return problems


def zip_entry_name(name: str) -> str:
    """A file name fit for one segment of a path inside the ZIP (no directory in it)."""
    cleaned = name.replace("/", "_").replace("\\", "_").lstrip(".").strip()
    return cleaned or "file"


def manifest(files: Sequence[ArchiveFile], generated_at: datetime, **about: object) -> ArchiveFile:
    """``manifest.json``: when the archive was made, which services answered (the first segment of
    each name) and every file with its type and size; ``about`` adds the export's ids."""
    body = {
        **about,
        "generated_at": generated_at.isoformat(),
        "services": sorted({f.name.split("/", 1)[0] for f in files}),
        "files": [
            {"name": f.name, "content_type": f.content_type, "size_bytes": len(f.content)}
            for f in sorted(files, key=lambda f: f.name)
        ],
    }
    text = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True)
    return ArchiveFile(MANIFEST, text.encode("utf-8"), "application/json")


def build_zip(files: Sequence[ArchiveFile], generated_at: datetime, **about: object) -> bytes:
    """One deflated ZIP of ``files`` followed by their manifest (with ``about``), every entry dated
    ``generated_at``."""
    stamp = generated_at.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for f in [*sorted(files, key=lambda f: f.name), manifest(files, generated_at, **about)]:
            info = zipfile.ZipInfo(f.name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, f.content)
    return buffer.getvalue()
