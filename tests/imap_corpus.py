#!/usr/bin/env python3
"""imap_corpus.py: the IMAP plugin against tshark on real dovecot captures.

For each corpus capture (imap.pcap, mixed.pcap under $ARTMON_SHARED/corpus)
this runs the real artmon-sensor of the build tree with only the imap
plugin and the default rules (etc/artmon/imap.sigs), and checks every row
of the capture's tshark truth (X.imap.csv: one row per tagged completion
tshark matched to its command) against artmon's transactions:

  - each row is exactly one transaction with the same client and server
    and start == req_time (the command's frame), to the microsecond;
  - the signature is IMAP_<command>, or IMAP_UID_<command> when the
    command line is "tag UID <command> ...": tshark's imap.request.command
    is the word after UID for UID commands, so the capture itself (the
    request frame's payload, read here with a small pcap reader) says
    which of the two it was;
  - status is tshark's OK / NO / BAD, and error is set for NO and BAD;
  - ttlb_us == round(imap_time * 1e6) and ttfb_us == round(ttfb * 1e6);

plus one IMAP_greeting per connection whose handshake was seen, with
start == the handshake's ACK and ttfb_us == first_s2c_data_time - ack_time
(X.tcp.csv), and no other transaction; and no malformed line, orphan
completion or unanswered command is counted (the corpus has none).

One kind of row is timed differently, on purpose, and checked against the
capture instead of tshark: AUTHENTICATE LOGIN.  curl sends "A002
AUTHENTICATE LOGIN <user>", dovecot asks "+ UGFzc3dvcmQ6" (Password:),
curl sends the password as a base64 line, and only then does the server
work and answer.  tshark times the row from the command frame (imap.time
includes the client's round trip) and its ttfb ends at the "+".  artmon
counts the password line as part of the request (the client had not
finished asking) and the "+" as no part of the answer (as HTTP's 100
Continue), so for these rows ttlb runs from the password line's frame to
the completion, and ttfb to the first server byte after the password
line.  The test finds those frames in the pcap, checks the two values
exactly, and checks that only AUTHENTICATE rows have client bytes between
command and completion.

Output is TAP; every mismatch is listed with its row.  python3 standard
library only.
"""
import csv
import decimal
import json
import os
import struct
import subprocess
import sys

D = decimal.Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_common import Tap, us, sensor_counters, parse_txns  # noqa: E402
PCAPS = ("imap", "mixed")
SERVER_PORT = 143
CHECKS_PER_PCAP = 9
MAX_DIAG = 20


# ---------------------------------------------------------------- pcap

def read_pcap(path):
    """Frames of a classic pcap: list indexed by frame number - 1 of
    (time_us, src "ip:port", dst "ip:port", tcp payload), or None for a
    frame that is not TCP over IPv4/IPv6 on Ethernet or raw IP."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + caplen]
        off += caplen
        t = sec * 1000000 + (frac // 1000 if nano else frac)
        frames.append(decode(pkt, linktype, t))
    return frames


def decode(pkt, linktype, t):
    if linktype == 1:                       # Ethernet, maybe VLAN-tagged
        eth, p = struct.unpack(">H", pkt[12:14])[0], 14
        while eth in (0x8100, 0x88a8) and len(pkt) >= p + 4:
            eth, p = struct.unpack(">H", pkt[p + 2:p + 4])[0], p + 4
    elif linktype in (101, 12):             # raw IP
        eth, p = (0x0800 if pkt[:1] and pkt[0] >> 4 == 4 else 0x86dd), 0
    else:
        return None
    if eth == 0x0800 and len(pkt) >= p + 20:
        ihl = (pkt[p] & 0x0f) * 4
        total = struct.unpack(">H", pkt[p + 2:p + 4])[0]
        if pkt[p + 9] != 6:
            return None
        src = ".".join(str(b) for b in pkt[p + 12:p + 16])
        dst = ".".join(str(b) for b in pkt[p + 16:p + 20])
        end, p = p + total, p + ihl
    elif eth == 0x86dd and len(pkt) >= p + 40:
        if pkt[p + 6] != 6:
            return None
        plen = struct.unpack(">H", pkt[p + 4:p + 6])[0]
        src = "[%s]" % pkt[p + 8:p + 24].hex()
        dst = "[%s]" % pkt[p + 24:p + 40].hex()
        end, p = p + 40 + plen, p + 40
    else:
        return None
    if len(pkt) < p + 20:
        return None
    sport, dport = struct.unpack(">HH", pkt[p:p + 4])
    doff = (pkt[p + 12] >> 4) * 4
    payload = pkt[p + doff:end]
    return (t, "%s:%d" % (src, sport), "%s:%d" % (dst, dport), payload)


def frame(frames, number):
    return frames[int(number) - 1]


def command_line(frames, row):
    """The line of the request frame that starts with the row's tag."""
    f = frame(frames, row["req_frame"])
    if not f:
        return None
    for line in f[3].split(b"\r\n"):
        if line.startswith(row["tag"].encode() + b" "):
            return line.decode("latin-1")
    return None


def expected_signature(frames, row):
    line = command_line(frames, row)
    if line is None:
        return None, "request frame has no line with tag %s" % row["tag"]
    words = line.split(" ")
    if len(words) > 2 and words[1].upper() == "UID":
        if words[2].upper() != row["command"]:
            return None, "tshark says %s for %r" % (row["command"], line)
        return "IMAP_UID_" + row["command"], None
    if len(words) < 2 or words[1].upper() != row["command"]:
        return None, "tshark says %s for %r" % (row["command"], line)
    return "IMAP_" + row["command"], None


def client_lines_between(frames, row):
    """Client payload frames of the row's connection after the command's
    frame and before its completion's: (number, time_us)."""
    out = []
    lo, hi = int(row["req_frame"]), int(row["resp_frame"])
    for n in range(lo + 1, hi):
        f = frames[n - 1]
        if f and f[1] == row["client"] and f[2] == row["server"] and f[3]:
            out.append((n, f[0]))
    return out


def first_server_payload_after(frames, row, after):
    hi = int(row["resp_frame"])
    for n in range(after + 1, hi + 1):
        f = frames[n - 1]
        if f and f[1] == row["server"] and f[2] == row["client"] and f[3]:
            return f[0]
    return None


# ---------------------------------------------------------------- sensor

def run_sensor(build, src, pcap):
    cmd = [os.path.join(build, "sensor", "artmon-sensor"), "-r", pcap,
           "-t", "json", "--plugins", "imap",
           "--plugin-dir", os.path.join(build, "plugins", ".libs"),
           "--sigs-dir", os.path.join(src, "etc", "artmon")]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=300)
    return cmd, p


def describe(row):
    return ("stream %s %s %s %s -> %s (frames %s..%s)"
            % (row["tcp_stream"], row["client"], row["tag"], row["command"],
               row["status"], row["req_frame"], row["resp_frame"]))


def check_pcap(tap, name, build, src, corpus):
    pcap = os.path.join(corpus, name + ".pcap")
    with open(os.path.join(corpus, name + ".imap.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(corpus, name + ".tcp.csv"), newline="") as f:
        conns = [c for c in csv.DictReader(f)
                 if c["server"].endswith(":%d" % SERVER_PORT)]
    frames = read_pcap(pcap)

    cmd, p = run_sensor(build, src, pcap)
    txns, bad = parse_txns(p.stdout)
    imap = [t for t in txns if t.get("protocol") == "imap"]
    ok = p.returncode == 0 and not bad and bool(imap)
    tap.result(ok, "%s: sensor ran and printed %d IMAP transactions"
               % (name, len(imap)),
               [] if ok else ["command: " + " ".join(cmd),
                              "exit: %d" % p.returncode] + bad
               + ["stderr: " + l for l in p.stderr.splitlines()])

    # Pair each row with the transaction of its connection that started
    # at its command frame.
    by_key = {}
    for t in imap:
        by_key.setdefault((t["client"], t["server"], us(t["start"])),
                          []).append(t)
    used, pairs, missing = set(), [], []
    for r in rows:
        cands = [t for t in by_key.get((r["client"], r["server"],
                                        us(r["req_time"])), [])
                 if t["signature"] != "IMAP_greeting" and id(t) not in used]
        if len(cands) != 1:
            missing.append("%s: %d transactions start at its command"
                           % (describe(r), len(cands)))
            continue
        used.add(id(cands[0]))
        pairs.append((r, cands[0]))
    tap.result(not missing and len(pairs) == len(rows) and rows,
               "%s: each of the %d tshark completions is one transaction"
               % (name, len(rows)), missing)

    def field_check(desc, fn):
        bad = []
        for r, t in pairs:
            msg = fn(r, t)
            if msg:
                bad.append("%s: %s" % (describe(r), msg))
        tap.result(not bad and pairs, "%s: %s" % (name, desc), bad)

    def sig_check(r, t):
        want, why = expected_signature(frames, r)
        if why:
            return why
        return None if t["signature"] == want else \
            "signature %r, want %r" % (t["signature"], want)

    field_check("signature is IMAP_<command> or IMAP_UID_<command>",
                sig_check)
    field_check("status is tshark's, and NO/BAD are errors",
                lambda r, t: None if t["status"] == r["status"] and
                t["error"] == (r["status"] != "OK")
                else "status %r error %r" % (t["status"], t["error"]))

    # The timing: tshark's, except where the client sent a continuation
    # line between command and completion (see the docstring).
    conts = {}
    for r, t in pairs:
        c = client_lines_between(frames, r)
        if c:
            conts[id(r)] = c

    def ttlb_check(r, t):
        c = conts.get(id(r))
        if c:
            want = frame(frames, r["resp_frame"])[0] - c[-1][1]
            src = "completion - continuation line (frame %d)" % c[-1][0]
        else:
            want = us(r["imap_time"])
            src = "tshark imap_time %s" % r["imap_time"]
        if t["ttlb_us"] is None or D(t["ttlb_us"]) != want:
            return "ttlb_us %r, want %d (%s)" % (t["ttlb_us"], want, src)
        return None

    def ttfb_check(r, t):
        c = conts.get(id(r))
        if c:
            first = first_server_payload_after(frames, r, c[-1][0])
            want = first - c[-1][1] if first is not None else None
            src = "first server byte after frame %d" % c[-1][0]
        else:
            want = us(r["ttfb"])
            src = "tshark ttfb %s" % r["ttfb"]
        if t["ttfb_us"] is None or want is None or D(t["ttfb_us"]) != want:
            return "ttfb_us %r, want %r (%s)" % (t["ttfb_us"], want, src)
        return None

    field_check("ttlb_us equals tshark's imap.time", ttlb_check)
    field_check("ttfb_us equals tshark's ttfb", ttfb_check)

    odd = ["%s: client bytes between command and completion"
           % describe(r) for r, t in pairs
           if id(r) in conts and r["command"] != "AUTHENTICATE"]
    n_auth = sum(1 for r, t in pairs if id(r) in conts)
    tap.result(not odd, "%s: only AUTHENTICATE has a continuation line "
               "(%d rows timed from it, as documented)" % (name, n_auth), odd)

    # Greetings: one per connection whose handshake was seen.
    greet = {}
    for t in imap:
        if t["signature"] == "IMAP_greeting":
            greet.setdefault((t["client"], t["server"]), []).append(t)
    gbad, ngreet = [], 0
    for c in conns:
        key = (c["client"], c["server"])
        got = greet.pop(key, [])
        if not c["ack_time"] or not c["syn_time"]:
            if got:
                gbad.append("%s: greeting without a handshake" % (key,))
            continue
        if len(got) != 1:
            gbad.append("%s -> %s: %d greetings" % (key + (len(got),)))
            continue
        g = got[0]
        ngreet += 1
        want = us(c["first_s2c_data_time"]) - us(c["ack_time"])
        if us(g["start"]) != us(c["ack_time"]) or g["status"] != "OK" or \
                g["ttfb_us"] is None or D(g["ttfb_us"]) != want:
            gbad.append("%s -> %s: greeting start %s status %s ttfb_us %s; "
                        "want start %s status OK ttfb_us %d"
                        % (key + (g["start"], g["status"], g["ttfb_us"],
                                  c["ack_time"], want)))
    for key, lst in greet.items():
        gbad.append("%s: greeting on a connection tcp.csv does not have"
                    % (key,))
    tap.result(not gbad and ngreet, "%s: one IMAP_greeting per connection "
               "(%d), timed from the handshake's ACK" % (name, ngreet), gbad)

    extra = ["extra: " + json.dumps(t, default=str) for t in imap
             if id(t) not in used and t["signature"] != "IMAP_greeting"]
    cnt = sensor_counters(p.stderr, "imap")
    if cnt is None:
        extra.append("no 'transactions imap:' line in stderr")
    else:
        for key in ("malformed", "responses without request", "unanswered",
                    "unmeasured"):
            if cnt.get(key) != 0:
                extra.append("%s: %s (want 0)" % (key, cnt.get(key)))
    tap.result(not extra, "%s: no transaction tshark does not have but the "
               "greetings; no malformed, orphan or unanswered" % name, extra)


def main():
    build = os.environ.get("ARTMON_BUILDDIR", ".")
    src = os.environ.get("ARTMON_SRCDIR",
                         os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__))))
    shared = os.environ.get("ARTMON_SHARED") or \
        os.path.join(src, "..", "shared")
    corpus = os.path.join(shared, "corpus")
    sensor = os.path.join(build, "sensor", "artmon-sensor")

    if not all(os.path.exists(os.path.join(corpus, n + ext))
               for n in PCAPS for ext in (".pcap", ".imap.csv", ".tcp.csv")):
        print("1..0 # SKIP no IMAP corpus in %s" % corpus)
        return 0
    if not os.access(sensor, os.X_OK):
        print("1..0 # SKIP no sensor at %s" % sensor)
        return 0
    if not os.path.exists(os.path.join(build, "plugins", ".libs",
                                       "imap.so")):
        print("1..0 # SKIP no imap plugin in %s" % build)
        return 0

    tap = Tap(CHECKS_PER_PCAP * len(PCAPS), MAX_DIAG)
    for name in PCAPS:
        check_pcap(tap, name, build, src, corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
