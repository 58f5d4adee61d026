#!/usr/bin/env python3
"""Convert excerpts of public data sets into Arbiter schema-version-1 replay events.

Reads, below --data (default: ../shared/data relative to the repository root):

  obd/random/all/all.csv, obd/bts/all/all.csv   Open Bandit Dataset sample
      -> one `impression` per round, plus a `click` right after it when click == 1
  cdnow/CDNOW_sample.txt                        CDNOW 1-in-10 customer sample
      -> one `purchase` per row (rows with no CDs or a zero dollar value are skipped)
  mmm/case_study_data.csv                       pymc-marketing MMM case study
      -> one `spend` per week and `mdsp_*` column

and writes them, sorted by timestamp (stable), as compact JSON lines to --out
(default: replay-data/sample-events.jsonl in the repository root). The output depends
only on the input files: running the script twice gives byte-identical files.

Standard library only. See replay-data/README.md and docs/events.md.
"""

import argparse
import csv
import datetime
import decimal
import hashlib
import json
import os
import re
import sys
from collections import Counter

SCHEMA_VERSION = 1
EVENT_TYPES = ("view", "add_to_cart", "click", "purchase", "impression", "reward",
               "bid_outcome", "spend")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MS = datetime.timedelta(milliseconds=1)
MAX_MONEY = decimal.Decimal("1e12")
MAX_ID_BYTES = 256
# A JSON number, exactly as RFC 8259 defines it.
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data"))
DEFAULT_OUT = os.path.join(REPO_ROOT, "replay-data", "sample-events.jsonl")


class DataError(Exception):
    """An input file does not look the way this script expects."""


# --- JSON text -------------------------------------------------------------------------

def j_str(value):
    return json.dumps(value, ensure_ascii=False)


def j_id(value, where):
    if not value or len(value.encode("utf-8")) > MAX_ID_BYTES:
        raise DataError(f"{where}: id {value!r} is empty or longer than {MAX_ID_BYTES} bytes")
    return j_str(value)


def j_obj(pairs):
    """Compact JSON object from (key, already-encoded value) pairs, in the given order."""
    return "{" + ",".join(j_str(k) + ":" + v for k, v in pairs) + "}"


def j_money(text, where):
    """A money value: the exact decimal of `text`, without trailing zeros or exponent.

    "12.00" -> 12, "29.30" -> 29.3, "0.0" -> 0. The written text denotes the same
    decimal number as the input, so it reads back to the same double.
    """
    try:
        d = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise DataError(f"{where}: {text!r} is not a number") from None
    if not d.is_finite() or d < 0 or d > MAX_MONEY:
        raise DataError(f"{where}: {text!r} is not a money value in [0, 1e12]")
    s = format(d.normalize(), "f")
    return "0" if s in ("-0", "0") else s


# --- time ------------------------------------------------------------------------------

def millis_of(dt):
    """Milliseconds since the epoch of an aware datetime, truncated (floor)."""
    return (dt - EPOCH) // MS


def rfc3339_millis(ms):
    """YYYY-MM-DDTHH:MM:SS.mmmZ for epoch milliseconds."""
    dt = EPOCH + datetime.timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def parse_day(text, where):
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise DataError(f"{where}: {text!r} is not a date YYYY-MM-DD") from None


def day_millis(day):
    return (day - datetime.date(1970, 1, 1)).days * 86_400_000


# --- events ----------------------------------------------------------------------------

class Event:
    __slots__ = ("ms", "type", "line")

    def __init__(self, ms, type_, ts_json, fields):
        if not 0 <= ms < 253_402_300_800_000:
            raise DataError(f"timestamp {ms} ms is outside the range the engine accepts")
        self.ms = ms
        self.type = type_
        self.line = j_obj([("type", j_str(type_)), ("v", str(SCHEMA_VERSION)),
                           ("ts", ts_json)] + fields)


# --- Open Bandit Dataset ---------------------------------------------------------------

OBD_COLUMNS = ("", "timestamp", "item_id", "position", "click", "propensity_score",
               "user_feature_0", "user_feature_1", "user_feature_2", "user_feature_3")


def obd_user(row):
    key = "|".join(row[f"user_feature_{i}"] for i in range(4))
    return "obd-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def read_obd(path, policy, stats):
    events = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in OBD_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing columns {missing}")
        for n, row in enumerate(reader):
            where = f"{path}:{n + 2}"
            if row[""] != str(n):
                raise DataError(f"{where}: index column is {row['']!r}, expected {n}")
            try:
                dt = datetime.datetime.fromisoformat(row["timestamp"])
            except ValueError:
                raise DataError(f"{where}: bad timestamp {row['timestamp']!r}") from None
            if dt.tzinfo is None:
                raise DataError(f"{where}: timestamp {row['timestamp']!r} has no offset")
            ms = millis_of(dt)
            ts = j_str(rfc3339_millis(ms))
            user = j_id(obd_user(row), where)
            decision = j_id(f"obd-{policy}-{row['']}", where)
            position = int(row["position"])
            if position < 1:
                raise DataError(f"{where}: position {position} < 1")
            propensity = row["propensity_score"].strip()
            if not JSON_NUMBER.match(propensity) or not 0 < float(propensity) <= 1:
                raise DataError(f"{where}: propensity {propensity!r} is not a number in (0, 1]")
            if row["click"] not in ("0", "1"):
                raise DataError(f"{where}: click {row['click']!r} is not 0 or 1")
            events.append(Event(ms, "impression", ts, [
                ("decision_id", decision),
                ("user", user),
                ("action", j_id(f"item-{int(row['item_id'])}", where)),
                ("position", str(position)),
                ("propensity", propensity),  # written exactly as in the CSV
            ]))
            if row["click"] == "1":
                events.append(Event(ms, "click", ts, [("user", user), ("decision_id", decision)]))
            stats["obd-" + policy + " rounds"] += 1
    return events


# --- CDNOW -----------------------------------------------------------------------------

def read_cdnow(path, stats):
    """CDNOW_sample.txt: `customer_id sample_index date cds dollars` per line (CRLF).

    CDNOW_master.txt has no sample_index column and a header line; both layouts are
    accepted. customer_id is the original CDNOW id (the one CDNOW_master.txt uses).
    """
    events = []
    per_day = Counter()
    with open(path, newline="", encoding="ascii") as f:
        text = f.read()
    for n, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        where = f"{path}:{n}"
        if not fields:
            continue
        if n == 1 and not fields[0].isdigit():
            continue  # header line (CDNOW_master.txt)
        if len(fields) == 5:
            customer, _sample_index, date, cds, dollars = fields
        elif len(fields) == 4:
            customer, date, cds, dollars = fields
        else:
            raise DataError(f"{where}: expected 4 or 5 fields, found {len(fields)}")
        if not re.fullmatch(r"[0-9]{8}", date):
            raise DataError(f"{where}: date {date!r} is not YYYYMMDD")
        day = parse_day(f"{date[:4]}-{date[4:6]}-{date[6:]}", where)
        # n counts source rows of this customer on this day, skipped ones included, so an
        # order id always names the same source row.
        per_day[(customer, date)] += 1
        order = f"cdnow-{customer}-{date}-{per_day[(customer, date)]}"
        quantity = int(cds)
        value = decimal.Decimal(dollars)
        if quantity == 0 or value == 0:
            stats["cdnow rows skipped (0 CDs or $0.00)"] += 1
            continue
        if quantity < 0 or value < 0:
            raise DataError(f"{where}: negative quantity or value")
        price = (value / quantity).quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)
        item = j_obj([("item", j_str("cdnow-cd")), ("price", j_money(str(price), where)),
                      ("quantity", str(quantity))])
        ms = day_millis(day)
        events.append(Event(ms, "purchase", str(ms), [
            ("user", j_id(f"cdnow-{customer}", where)),
            ("order_id", j_id(order, where)),
            ("items", "[" + item + "]"),
            ("revenue", j_money(dollars, where)),
            ("currency", j_str("USD")),
        ]))
        stats["cdnow rows"] += 1
    return events


# --- marketing-mix case study ----------------------------------------------------------

def read_mmm(path, stats):
    events = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        if "wk_strt_dt" not in header:
            raise DataError(f"{path}: no wk_strt_dt column")
        spend_columns = [c for c in header if c.startswith("mdsp_")]
        if not spend_columns:
            raise DataError(f"{path}: no mdsp_* columns")
        for n, row in enumerate(reader):
            where = f"{path}:{n + 2}"
            day = parse_day(row["wk_strt_dt"], where)
            ms = day_millis(day)
            ts = j_str(day.isoformat() + "T00:00:00Z")
            for column in spend_columns:
                events.append(Event(ms, "spend", ts, [
                    ("channel", j_id(column[len("mdsp_"):], where)),
                    ("amount", j_money(row[column], f"{where} {column}")),
                    ("day", j_str(day.isoformat())),
                ]))
            stats["mmm weeks"] += 1
    return events


# --- main ------------------------------------------------------------------------------

def self_check(events):
    """Each line is a JSON object without repeated keys; clicks follow their impression."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise DataError(f"repeated key in {keys}")
        return dict(pairs)

    previous = None
    for i, e in enumerate(events):
        obj = json.loads(e.line, object_pairs_hook=no_duplicates)
        assert obj["type"] in EVENT_TYPES and obj["v"] == SCHEMA_VERSION
        assert previous is None or previous.ms <= e.ms
        if e.type == "click":
            before = json.loads(events[i - 1].line)
            assert before["type"] == "impression" and before["decision_id"] == obj["decision_id"]
        previous = e


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="directory holding obd/, cdnow/ and mmm/ (default: %(default)s)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="JSON-lines file to write (default: %(default)s)")
    args = parser.parse_args(argv)

    stats = Counter()
    try:
        # Source order decides ties in the stable sort below.
        events = []
        events += read_obd(os.path.join(args.data, "obd", "random", "all", "all.csv"), "random", stats)
        events += read_obd(os.path.join(args.data, "obd", "bts", "all", "all.csv"), "bts", stats)
        events += read_cdnow(os.path.join(args.data, "cdnow", "CDNOW_sample.txt"), stats)
        events += read_mmm(os.path.join(args.data, "mmm", "case_study_data.csv"), stats)
        events.sort(key=lambda e: e.ms)  # stable: ties keep source and row order
        self_check(events)
    except (OSError, DataError) as error:
        print(f"convert-replay-data: {error}", file=sys.stderr)
        return 1

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    data = "".join(e.line + "\n" for e in events).encode("utf-8")
    with open(args.out, "wb") as f:
        f.write(data)

    for key in sorted(stats):
        print(f"{key}: {stats[key]}")
    counts = Counter(e.type for e in events)
    print(f"wrote {len(events)} events, {len(data)} bytes, to {args.out}")
    for t in EVENT_TYPES:
        if counts[t]:
            print(f"  {t}: {counts[t]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
