"""corpus_common.py: what the corpus tests (http_, dns_, imap_corpus.py)
share: TAP output, tshark's decimal seconds as integer microseconds, and
reading the sensor's JSON transactions and exit counters.  Each of those
tests compares the sensor with tshark's measurements in ../shared/corpus.
python3 standard library only.
"""
import decimal
import json
import re
import sys

D = decimal.Decimal
US = D(1000000)


class Tap:
    """TAP: a plan, then one line per check; at most max_diag lines of
    diagnostics each, so a wholesale failure stays readable."""

    def __init__(self, planned, max_diag=20):
        self.n = 0
        self.max_diag = max_diag
        print("1..%d" % planned)

    def result(self, ok, desc, diag=()):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, desc))
        diag = list(diag)
        for line in diag[:self.max_diag]:
            print("# " + line)
        if len(diag) > self.max_diag:
            print("# ... and %d more" % (len(diag) - self.max_diag))
        sys.stdout.flush()


def us(text):
    """Seconds as a decimal string -> integer microseconds (half-even)."""
    return int((D(str(text)) * US).to_integral_value(decimal.ROUND_HALF_EVEN))


def parse_txns(stdout):
    """The sensor's -t json lines -> (transactions, unparsable lines)."""
    txns, bad = [], []
    for i, line in enumerate(stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            txns.append(json.loads(line, parse_float=D))
        except ValueError as e:
            bad.append("line %d: %s: %r" % (i, e, line[:200]))
    return txns, bad


def sensor_counters(stderr, protocol):
    """The "transactions PROTOCOL: N (k v, ...)" line of the counters the
    sensor prints at exit, as a dict; None if it is missing."""
    m = re.search(r"^transactions %s: (\d+) \((.*)\)$" % re.escape(protocol),
                  stderr, re.M)
    if not m:
        return None
    out = {"transactions": int(m.group(1))}
    for part in m.group(2).split(","):
        kv = re.match(r"\s*(.*?)\s+(\d+)$", part)
        if kv:
            out[kv.group(1)] = int(kv.group(2))
    return out
