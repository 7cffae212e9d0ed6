"""The cohort report as a reader sees it: opened in headless Chromium (Debian's package).

The workflow runs on a copy of the pilot; the rendered ``reports/pilot/report.html`` is then
opened with the ``chromium`` command line, no Python browser driver involved:

- a copy of the page with a small probe script injected first into ``<head>``: the probe
  records ``console.error`` calls, uncaught errors, unhandled promise rejections and failed
  resource loads from the start, and after ``load`` writes the size at which every ``<img>``
  was decoded and laid out into a ``<pre>`` of the DOM, which ``--dump-dom`` prints;
- the page itself, unmodified, for two screenshots in ``tests/artifacts/`` (ignored by git):
  the first 1280 x 2000 px a reader sees, and the whole page; Chromium's log on stderr is
  checked for console errors of the original page too.

Without ``chromium`` on PATH the tests skip, except in CI (``CI`` set), where they fail:
.ci/run installs the package.
"""
from __future__ import annotations

import html
import json
import re
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import copy_run, once_per_session, require_component

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
REPORT = "reports/pilot/report.html"
FIGURES = "data/derived/pilot/figures"
WINDOW = (1280, 2000)
MAX_SCREENSHOT_HEIGHT = 16000  # below Chromium's largest texture

pytestmark = [pytest.mark.browser, pytest.mark.workflow, pytest.mark.xdist_group("workflow")]

PROBE_ID = "__browser_probe__"
# Runs before any script of the page. Console errors, uncaught errors and failed loads of
# <img>/<script>/<link> are collected from the start; after `load` the page is scrolled to
# the bottom and back (so lazily loaded images load too), and the size every image decoded
# to is written as JSON into a <pre> the DOM dump carries. (HTMLImageElement.decode() is not
# used: its promise never settles in a --dump-dom run, which paints no frame.)
PROBE = f"""<script>
(function () {{
  var errors = [];
  var text = function (v) {{ try {{ return (v && v.stack) ? String(v.stack) : String(v); }} catch (e) {{ return '?'; }} }};
  var consoleError = console.error;
  console.error = function () {{
    errors.push('console.error: ' + Array.prototype.map.call(arguments, text).join(' '));
    return consoleError.apply(console, arguments);
  }};
  window.addEventListener('error', function (e) {{
    var t = e.target;
    if (t && t !== window && t.tagName) {{
      errors.push('failed to load <' + t.tagName.toLowerCase() + '> ' + String(t.currentSrc || t.src || t.href || '').slice(0, 100));
    }} else {{
      errors.push('uncaught: ' + e.message + ' (' + e.filename + ':' + e.lineno + ')');
    }}
  }}, true);
  window.addEventListener('unhandledrejection', function (e) {{ errors.push('unhandled rejection: ' + text(e.reason)); }});
  window.addEventListener('load', function () {{
    window.scrollTo(0, document.documentElement.scrollHeight);
    setTimeout(function () {{
      window.scrollTo(0, 0);
      var images = Array.prototype.slice.call(document.images);
      var out = document.createElement('pre');
      out.id = '{PROBE_ID}';
      var lines = function (cell) {{  // line boxes the cell's text is laid out on
        var range = document.createRange();
        range.selectNodeContents(cell);
        var tops = {{}};
        Array.prototype.forEach.call(range.getClientRects(), function (r) {{
          if (r.width > 0) {{ tops[Math.round(r.top)] = true; }}
        }});
        return Object.keys(tops).length;
      }};
      var tables = Array.prototype.map.call(document.querySelectorAll('table'), function (t) {{
        return {{id: t.id || (t.querySelector('caption') || {{textContent: ''}}).textContent.slice(0, 40),
                width: t.getBoundingClientRect().width,
                room: t.parentElement.getBoundingClientRect().width,
                wrapped: Array.prototype.filter.call(t.querySelectorAll('th'), function (th) {{
                  return lines(th) > 1; }}).map(function (th) {{ return th.textContent; }})}};
      }});
      out.textContent = JSON.stringify({{
        tables: tables,
        errors: errors,
        height: document.documentElement.scrollHeight,
        images: images.map(function (img) {{
          var box = img.getBoundingClientRect();
          return {{label: img.getAttribute('aria-label') || img.alt || '',
                  src: String(img.currentSrc || img.src).slice(0, 40),
                  complete: img.complete, naturalWidth: img.naturalWidth,
                  naturalHeight: img.naturalHeight, width: box.width, height: box.height}};
        }})
      }});
      document.body.appendChild(out);
    }}, 500);
  }});
}})();
</script>"""

# Chromium writes every console message of a page to stderr (--enable-logging=stderr) as
#   [pid:tid:date:INFO:CONSOLE:1] "message", source: file:///... (line)
# whatever its level, so only messages that are errors by their wording are flagged.
CONSOLE_LINE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)")
CONSOLE_ERROR = re.compile(r"Uncaught|Failed to load resource|Refused to|net::ERR_|"
                           r"SyntaxError|TypeError|ReferenceError|not allowed to load", re.I)


def chromium() -> str:
    """The chromium executable; skip without it, but fail in CI, which installs it."""
    return require_component("chromium", "the report's browser test",
                             "Debian: apt-get install chromium")


def run_chromium(exe: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on ``url``, offline-ish and quiet, with its log on stderr."""
    command = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-extensions",
               "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", *args, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, (f"chromium exited {result.returncode}:\n"
                                    f"{log_tail(result.stderr)}")
    return result


def log_tail(stderr: str, chars: int = 3000) -> str:
    """Chromium's log without its noise about the missing D-Bus of a container."""
    return "\n".join(line for line in stderr.splitlines() if "dbus" not in line)[-chars:]


def console_errors(stderr: str) -> list[str]:
    messages = [m.group(1) for m in map(CONSOLE_LINE.search, stderr.splitlines()) if m]
    return [m for m in messages if CONSOLE_ERROR.search(m)]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def with_probe(page: str) -> str:
    """The page with the probe as the first element of <head> (or of the document)."""
    match = re.search(r"<head\b[^>]*>", page, re.I)
    at = match.end() if match else 0
    return page[:at] + PROBE + page[at:]


def open_report(exe: str, run: Path, root: Path) -> dict:
    """Copy the workflow's run on the pilot (``run``, conftest's shared ``pilot_run``), then
    open its report in Chromium: with the probe (its findings and Chromium's log) and as it is
    (screenshots and Chromium's log)."""
    study = copy_run(run, root / "study")  # the probe page is written beside the report
    page = study / REPORT

    probed = page.with_name("report.probe.html")  # beside the original: same relative links
    probed.write_text(with_probe(page.read_text(encoding="utf-8")), encoding="utf-8")
    dumped = run_chromium(exe, root / "profile-probe", probed.as_uri(), "--dump-dom",
                          f"--window-size={WINDOW[0]},{WINDOW[1]}")
    match = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', dumped.stdout, re.S)
    assert match, ("the probe wrote no result: the page never finished loading within the "
                   f"virtual time budget\n{log_tail(dumped.stderr)}")
    probe = json.loads(html.unescape(match.group(1)))

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report_pilot.png"
    full = ARTIFACTS / "report_pilot_full.png"
    for path in (screenshot, full):
        path.unlink(missing_ok=True)
    shot = run_chromium(exe, root / "profile-shot", page.as_uri(), f"--screenshot={screenshot}",
                        f"--window-size={WINDOW[0]},{WINDOW[1]}")
    height = max(WINDOW[1], min(int(probe["height"]), MAX_SCREENSHOT_HEIGHT))
    shot_full = run_chromium(exe, root / "profile-full", page.as_uri(), f"--screenshot={full}",
                             f"--window-size={WINDOW[0]},{height}")
    return {"figures": str(study / FIGURES), "probe": probe, "stderr_probed": dumped.stderr,
            "stderr_original": shot.stderr + shot_full.stderr,
            "screenshot": str(screenshot), "full": str(full)}


@pytest.fixture(scope="module")
def opened(tmp_path_factory, request):
    exe = chromium()  # skips (or fails in CI) before any work
    run = request.getfixturevalue("pilot_run")
    return once_per_session(tmp_path_factory, "browser", lambda root: open_report(exe, run, root))


def test_every_figure_is_decoded_and_laid_out(opened):
    images = opened["probe"]["images"]
    figures = sorted(Path(opened["figures"]).glob("*.png"))
    assert figures, "the workflow drew no figure"
    assert len(images) >= len(figures), (f"the report shows {len(images)} images for "
                                         f"{len(figures)} figures")
    broken = [img for img in images
              if not (img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0
                      and img["width"] > 0 and img["height"] > 0)]
    assert not broken, f"images not shown: {json.dumps(broken, indent=1)}"
    # each figure of the run is among the decoded images, at its own pixel size
    decoded = [(img["naturalWidth"], img["naturalHeight"]) for img in images]
    for figure in figures:
        size = png_size(figure)
        assert size in decoded, (f"{figure.name} ({size[0]}x{size[1]} px) is not among the "
                                 f"page's images {decoded}")
        decoded.remove(size)


def test_every_table_fits_the_page_with_headers_on_one_line(opened):
    tables = opened["probe"]["tables"]
    assert len(tables) >= 5, tables
    too_wide = [t for t in tables if t["width"] > t["room"] + 0.5]
    assert not too_wide, f"tables wider than the text column: {json.dumps(too_wide, indent=1)}"
    wrapped = [t for t in tables if t["wrapped"]]
    assert not wrapped, f"table headers wrapped over two lines: {json.dumps(wrapped, indent=1)}"


def test_no_console_errors(opened):
    assert opened["probe"]["errors"] == [], "errors in the page's console"
    assert console_errors(opened["stderr_probed"]) == []
    assert console_errors(opened["stderr_original"]) == []


def test_console_error_detection_works(tmp_path):
    """The checks above can see an error: a page with a broken image, a console.error and an
    uncaught exception."""
    exe = chromium()
    page = tmp_path / "bad.html"
    page.write_text(with_probe('<html><head><title>bad</title></head><body>'
                               '<img src="data:image/png;base64,AAAA">'
                               '<script>console.error("boom"); undefinedFunction();</script>'
                               '</body></html>'), encoding="utf-8")
    result = run_chromium(exe, tmp_path / "profile", page.as_uri(), "--dump-dom")
    match = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', result.stdout, re.S)
    probe = json.loads(html.unescape(match.group(1)))
    assert probe["images"][0]["naturalWidth"] == 0
    assert any("boom" in e for e in probe["errors"])
    assert any("undefinedFunction" in e for e in probe["errors"])
    assert any(e.startswith("failed to load <img>") for e in probe["errors"])
    assert any("undefinedFunction" in e for e in console_errors(result.stderr))


def test_screenshot_artefact(opened):
    from PIL import Image  # Pillow, a dependency of matplotlib

    for path, size in ((Path(opened["screenshot"]), WINDOW), (Path(opened["full"]), None)):
        assert path.is_file() and path.stat().st_size > 0, f"no screenshot at {path}"
        width, height = png_size(path)
        assert width == WINDOW[0] and (size is None or height == size[1]), (path, width, height)
        with Image.open(path) as image:
            darkest, lightest = image.convert("L").getextrema()
        assert lightest - darkest > 64, f"{path} is blank"
    # tests/artifacts/ is ignored by git: a screenshot never ends up in a commit
    check = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q",
                            str(Path(opened["screenshot"]).relative_to(REPO))])
    if check.returncode == 128:
        pytest.skip("not a git checkout")
    assert check.returncode == 0, "tests/artifacts/ is not ignored by git (.gitignore)"
