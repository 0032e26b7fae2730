#!/usr/bin/env python3
"""report_html.py: `artmon-report html` renders, stands alone, and looks
like something.

The corpus goes through the real sensor and collector (report_common.py),
is rolled into level 2, and the page is written for the range.  Then:

  * the file refers to nothing outside itself: no URL, no script, no
    link, no image, no @import, no url() but the page's own #clip ids;
  * text from the database is escaped (a signature that is an HTML tag);
  * there is one smoke chart per busy signature (-n), and health charts;
  * headless Chromium renders it at laptop size (1366x900) into a PNG,
    and the PNG is not blank: many colours, a good share of non-white
    pixels, the header's navy and the median line's green among them
    (decoded here with zlib: no imaging library needed).

Skips when Chromium is not installed (Debian package chromium).  The
screenshot is kept in PG_TMP (ARTMON_KEEP_PG=1 keeps it) for a person
to look at.  Run by report_html_pg.sh.  TAP.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_common import ok, done, psql_csv, sensor_ships, CORPUS, TMP  # noqa: E402
from report_common import REPORT, SUMMARISE, HOUR, Loader, base_plan, run  # noqa: E402


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def png_pixels(path):
    """(width, height, list of (r, g, b) rows) of an 8-bit RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    off, idat, w = 8, b"", None
    while off < len(data):
        n, kind = struct.unpack(">I4s", data[off:off + 8])
        body = data[off + 8:off + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("PNG type %d/%d/%d not handled" % (depth, ctype, interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        off += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    pos = 0
    for _ in range(h):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


EXTERNAL = [
    (r"(?i)\b(?:src|href|action|srcset|poster|data)\s*=", "an attribute that loads something"),
    (r"(?i)<\s*(?:script|link|img|iframe|object|embed|video|audio|base)\b", "a loading element"),
    (r"(?i)@import", "@import"),
    (r"(?i)url\(\s*(?!#)", "url() other than a local #id"),
    (r"(?i)\b(?:https?|ftp|file|data):", "a URL"),
    (r"(?i)//[a-z0-9.-]+\.[a-z]{2,}", "a protocol-relative address"),
]


def main():
    chrome = chromium()
    if not sensor_ships() or not os.path.isdir(CORPUS) or not os.path.exists(REPORT):
        print("1..0 # SKIP a sensor that ships, the corpus, or artmon-report is missing")
        return 0
    load = Loader()
    load.start()
    try:
        for sensor, capture, off in base_plan():
            good, err = load.ship(sensor, capture, off)
            if not good:
                ok(False, "%s shipped" % capture, err)
                return done()
    finally:
        load.stop()
    # A signature that is markup must reach the page as text.
    p = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         "UPDATE artmon.summary_l1 SET signature = '<script>alert(1)</script>&' "
         "WHERE signature = 'GET_/gumada.html'"], capture_output=True, text=True, timeout=60)
    rc, out, err = run(SUMMARISE, ["--horizon", "0"])
    ok(p.returncode == 0 and rc == 0, "corpus loaded and rolled up", p.stderr + err)

    page = os.path.join(TMP, "report.html")
    args = ["html", "-o", page, "-n", "6", "--title", "artmon <test> & report",
            "--from", "@%d" % (HOUR - 6 * 3600), "--to", "@%d" % HOUR]
    rc, out, err = run(REPORT, args)
    ok(rc == 0 and os.path.getsize(page) > 10000 and "wrote " in err,
       "artmon-report html -o writes the page (%d bytes)" % (
           os.path.getsize(page) if os.path.exists(page) else 0), err)
    html = open(page, encoding="utf-8").read()
    found = ["%s: %r" % (why, m.group(0)) for rx, why in EXTERNAL
             for m in re.finditer(rx, html)]
    ok(not found, "the page refers to nothing outside itself (no URL, script, link, "
       "image, @import, url() but #ids)", "\n".join(found[:10]))
    ok("&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in html and "<script" not in html and
       "artmon &lt;test&gt; &amp; report" in html,
       "text from the database and the command line is escaped")
    sigs = int(psql_csv("SELECT count(DISTINCT (protocol, signature)) AS n FROM artmon.level1 "
                        "WHERE interval_start >= to_timestamp(%d)" % (HOUR - 6 * 3600))[0]["n"])
    smoke = html.count("time to first byte of ")
    health = html.count("<h3>sensor ")
    ok(smoke == 2 * min(6, sigs) and health == 3 and html.count("<svg") == min(6, sigs) + 5 * 3,
       "one smoke chart per busy signature (-n 6), five health charts per sensor",
       "smoke %d, health sections %d, svg %d" % (smoke, health, html.count("<svg")))
    rc2, out2, err2 = run(REPORT, args[:1] + ["-o", "-"] + args[3:])
    ok(rc2 == 0 and out2.startswith("<!DOCTYPE html>") and out2.endswith("</html>\n"),
       "html -o - writes the page to stdout")
    rc3, out3, err3 = run(REPORT, ["html", "--last", "1h"])
    ok(rc3 == 2 and err3.count("\n") == 1, "html without -o is a usage error (exit 2)", err3)

    if not chrome:
        ok(True, "# SKIP screenshot: no chromium (apt-get install chromium)")
        return done()
    png = os.path.join(TMP, "report.png")
    prof = os.path.join(TMP, "chromium-profile")
    try:
        shot = subprocess.run(
            [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--disable-extensions", "--user-data-dir=" + prof,
             "--screenshot=" + png, "--window-size=1366,900", "file://" + page],
            capture_output=True, text=True, timeout=180,
            env=dict(os.environ, HOME=TMP))
        shot_err = shot.stderr[-2000:]
    except subprocess.TimeoutExpired:
        shot_err = "chromium did not finish in 180 s"
    ok(os.path.exists(png) and os.path.getsize(png) > 1000,
       "headless Chromium renders the page at 1366x900 into a PNG", shot_err)
    if not os.path.exists(png):
        return done()
    w, h, rows = png_pixels(png)
    colours = {}
    for r in rows:
        for px in r:
            colours[px] = colours.get(px, 0) + 1
    total = w * h
    white = sum(n for px, n in colours.items() if min(px) >= 245)

    def near(c, tol=40):
        return sum(n for px, n in colours.items()
                   if all(abs(px[i] - c[i]) <= tol for i in range(3)))
    navy, green = near((0x10, 0x2a, 0x43), 12), near((0x15, 0x80, 0x3d), 40)
    ok(w == 1366 and h == 900 and len(colours) > 200 and white < total * 0.9 and
       total * 0.02 < navy and green > 200,
       "the screenshot is not blank: %d colours, %.0f%% non-white, the header's navy "
       "(%d px) and the median line's green (%d px)" % (
           len(colours), 100.0 * (total - white) / total, navy, green),
       "%dx%d" % (w, h))
    return done()


if __name__ == "__main__":
    sys.exit(main())
