"""The Quarto renderer: ``quarto render`` of the prepared work folder to HTML and Typst PDF."""
from __future__ import annotations

import subprocess
from pathlib import Path

from alliance_pipeline.common.tables import atomic_write_bytes
from alliance_pipeline.report.render.metadata import RenderError


def quarto_version(quarto: str) -> str:
    out = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


QUARTO_TIMEOUT = 600


def render_quarto(quarto: str, qmd: Path, out_html: Path, out_pdf: Path, *, work_dir: Path) -> None:
    """``quarto render`` in ``work_dir`` to html and typst; outputs moved atomically."""
    for fmt, out, produced in (("html", out_html, "report.html"), ("typst", out_pdf, "report.pdf")):
        result = subprocess.run([quarto, "render", qmd.name, "--to", fmt], cwd=work_dir,
                                capture_output=True, text=True, timeout=QUARTO_TIMEOUT)
        if result.returncode != 0:
            raise RenderError(f"quarto render --to {fmt} failed:\n{result.stderr[-4000:]}")
        path = work_dir / produced
        if not path.exists():
            raise RenderError(f"quarto render --to {fmt} did not produce {produced}")
        atomic_write_bytes(out, path.read_bytes())
