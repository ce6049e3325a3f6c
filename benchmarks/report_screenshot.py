"""Render sedbench's HTML report in headless Chromium: check every table and figure, save a screenshot.

The report is opened from a file:// URL with every network feature of Chromium off. Chromium's DOM
(--dump-dom) must hold every required table and figure, each figure decoded by the browser (a copy
of the page with a four-line script marks each <img> with its natural width; the report itself
runs no script), and no reference to anything outside the file. Then a screenshot is saved.

    python benchmarks/report_screenshot.py --results results [--report results/report.html] \
        [--screenshot results/report.png] [--width 1280 --height 4000]

With --results and no --report the report is written first. Exit code 0 when every check passes.
Chromium: `apt-get install -y chromium` (Debian), or --chromium PATH.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sedbench.report.html import check_report_html, write_report

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--disable-dev-shm-usage"]
MARK_DECODED = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) img.setAttribute("data-decoded", img.naturalWidth > 0 ? "yes" : "no");
});
</script>"""


def find_chromium(given: str | None = None) -> str | None:
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(binary: str, profile: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=timeout)


def render_and_check(report: Path, screenshot: Path, binary: str, width: int = 1280, height: int = 4000
                     ) -> list[str]:
    """Problems found (empty: all well); the screenshot is written either way when Chromium runs."""
    report = report.resolve()
    with tempfile.TemporaryDirectory(prefix="sedbench-chromium-") as tmp:
        tmp = Path(tmp)
        marked = tmp / "marked.html"
        marked.write_text(report.read_text(encoding="utf-8").replace("</body>", MARK_DECODED + "\n</body>"),
                          encoding="utf-8")
        dom = chromium(binary, tmp / "profile-dom", "--virtual-time-budget=10000", "--dump-dom",
                       marked.as_uri())
        if dom.returncode != 0 or "<html" not in dom.stdout:
            return [f"chromium --dump-dom failed (rc {dom.returncode}): {dom.stderr.strip()[-400:]}"]
        problems = check_report_html(dom.stdout).problems()
        check = check_report_html(dom.stdout)
        if len(check.decoded) != len(check.figures):
            problems.append(f"{len(check.figures) - len(check.decoded)} figure(s) were not checked by the browser")
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        shot = chromium(binary, tmp / "profile-shot", f"--window-size={width},{height}",
                        f"--screenshot={screenshot.resolve()}", report.as_uri())
        if shot.returncode != 0 or not screenshot.is_file():
            problems.append(f"chromium --screenshot failed (rc {shot.returncode}): {shot.stderr.strip()[-400:]}")
        elif screenshot.stat().st_size < 20_000:
            problems.append(f"the screenshot is suspiciously small ({screenshot.stat().st_size} bytes): blank page?")
        print(f"{report}: {len(check.tables)} tables ({', '.join(check.tables)}), {len(check.figures)} figures "
              f"({sum(v == 'yes' for v in check.decoded.values())} decoded by Chromium)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--report", type=Path, default=None, help="an existing report [default: write one]")
    parser.add_argument("--screenshot", type=Path, default=None, help="[default: next to the report, .png]")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--chromium", default=None, help="the browser binary [default: found on PATH]")
    args = parser.parse_args()

    binary = find_chromium(args.chromium)
    if binary is None:
        print("no Chromium found: apt-get install -y chromium (or --chromium PATH)", file=sys.stderr)
        return 2
    report = args.report or write_report(args.results)
    screenshot = args.screenshot or report.with_suffix(".png")
    problems = render_and_check(report, screenshot, binary, args.width, args.height)
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    print(f"screenshot: {screenshot}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
