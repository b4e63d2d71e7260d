#!/usr/bin/env python3
"""Independent oracle for scheduling's iCalendar export (services/scheduling/src/domain/calendar.rs).

Reads an iCalendar document on stdin, parses it with Python's `icalendar` and expands it with
`recurring-ical-events` between the two UTC instants given as arguments (RFC 3339, e.g. 2027-01-01T00:00:00Z).
Prints one line per occurrence, `START/END` as UTC instants (`2027-03-01T08:00:00Z/2027-03-01T09:00:00Z`), sorted.

It expands the document twice: as written (Python then resolves each IANA TZID with its own tz database and ignores
the VTIMEZONE), and with every TZID renamed to one Python cannot know, so that it must use the document's
VTIMEZONE. Both must agree, otherwise it exits 1: that checks the VTIMEZONE the Rust code writes.

Exit codes: 0 done, 1 the two expansions disagree or the document is refused, 2 bad arguments,
77 the Python modules are missing (`pip install icalendar recurring-ical-events`).
"""

import sys
import zoneinfo
from datetime import datetime, timezone

try:
    import icalendar
    import recurring_ical_events
except ImportError as missing:
    print(f"ics_oracle: {missing} (pip install icalendar recurring-ical-events)", file=sys.stderr)
    sys.exit(77)

RENAMED = "Liaison-Oracle/"


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def utc(value):
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise SystemExit(f"ics_oracle: {value!r} is not a date-time with a zone")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(text, start, end, must_use_vtimezone):
    calendar = icalendar.Calendar.from_ical(text)
    lines = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        first, last = event.decoded("DTSTART"), event.decoded("DTEND")
        if must_use_vtimezone and any(
            isinstance(v.tzinfo, zoneinfo.ZoneInfo) and v.tzinfo.key != "UTC" for v in (first, last)
        ):
            raise SystemExit(f"ics_oracle: {first.tzinfo} was resolved by Python's tz database, not the VTIMEZONE")
        lines.append(f"{utc(first)}/{utc(last)}")
    return sorted(lines)


def renamed(text):
    """The document unfolded, with every TZID (parameter and VTIMEZONE property) renamed."""
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    tzids = {str(tz["TZID"]) for tz in icalendar.Calendar.from_ical(text).walk("VTIMEZONE")}
    for tzid in sorted(tzids, key=len, reverse=True):
        unfolded = unfolded.replace(f"TZID={tzid}", f"TZID={RENAMED}{tzid}")
        unfolded = unfolded.replace(f"TZID:{tzid}", f"TZID:{RENAMED}{tzid}")
    return unfolded


def main():
    if len(sys.argv) != 3:
        print("usage: ics_oracle.py START END < calendar.ics", file=sys.stderr)
        return 2
    start, end = instant(sys.argv[1]), instant(sys.argv[2])
    text = sys.stdin.read()
    by_name = expand(text, start, end, must_use_vtimezone=False)
    by_vtimezone = expand(renamed(text), start, end, must_use_vtimezone=True)
    if by_name != by_vtimezone:
        print("ics_oracle: the VTIMEZONE disagrees with the tz database", file=sys.stderr)
        for a, b in zip(by_name, by_vtimezone):
            print(f"  {'  ' if a == b else '!='} {a}   {b}", file=sys.stderr)
        print(f"  ({len(by_name)} by name, {len(by_vtimezone)} by VTIMEZONE)", file=sys.stderr)
        return 1
    for line in by_name:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
