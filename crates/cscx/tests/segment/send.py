"""Sends tracking calls to a CSCX server with Segment's own Python library, unchanged but for
its host: an identify, a group, then tracks and a page without any groupId, and one track of a
user nobody grouped. Prints the errors the library reported, one per line.

usage: send.py HOST WRITE_KEY TRACKS"""
import sys

import segment.analytics as analytics

host, write_key, tracks = sys.argv[1], sys.argv[2], int(sys.argv[3])
errors = []
analytics.write_key = write_key
analytics.host = host
analytics.gzip = True
analytics.max_retries = 1
analytics.on_error = lambda error, batch: errors.append(f"{error} ({len(batch)} messages)")

analytics.identify("u-1", {"email": "ana@sdk.example", "plan": "pro"})
analytics.group("u-1", "acct-sdk", {"name": "SDK Co"})
analytics.flush()  # the group is known before the tracks are read
for n in range(tracks):
    analytics.track("u-1", "Report Run", {"n": n})
analytics.page("u-1", "Docs", "Pricing", {"path": "/pricing"})
analytics.flush()
analytics.track("u-2", "Orphan")
analytics.flush()
analytics.shutdown()
for e in errors:
    print(e)
