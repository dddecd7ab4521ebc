#!/usr/bin/env python3
"""Loads the CDNOW purchase log into a running CSCX through its API, as a new user would:
one customer per buyer (POST /api/v1/customers, `metadata.external_id` = cdnow-<id>), and each
purchase as a `login` and a `feature_used` ("purchase") at noon UTC (POST /api/v1/usage/events,
batches of 1,000). Writes the outcomes file of the usual protocol: churned (1) when the customer
makes no purchase from the day after AS_OF to END.

usage: cdnow.py BASE TOKEN INGEST_TOKEN LOG OUTCOMES [AS_OF END]
Standard library only."""
import concurrent.futures
import datetime
import json
import sys
import urllib.request

base, token, ingest, log, outcomes = sys.argv[1:6]
as_of = sys.argv[6] if len(sys.argv) > 6 else "2022-09-30"
end = sys.argv[7] if len(sys.argv) > 7 else "2023-06-30"


def post(path, body, bearer):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + bearer, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status, json.loads(r.read() or b"null")


purchases = {}
for line in open(log):
    if line.startswith("#") or not line.strip():
        continue
    cid, day, _items, _amount = line.split()
    d = datetime.date(int(day[:4]), int(day[4:6]), int(day[6:]))
    purchases.setdefault(cid, []).append(d)

cutoff = datetime.date.fromisoformat(as_of)
horizon = datetime.date.fromisoformat(end)
with open(outcomes, "w") as f:
    f.write("customer_key,outcome\n")
    for cid, days in sorted(purchases.items()):
        if min(days) > cutoff:
            continue
        churned = not any(cutoff < d <= horizon for d in days)
        f.write(f"cdnow-{cid},{int(churned)}\n")


def create(cid):
    status, _ = post(
        "/api/v1/customers",
        {"name": f"CDNOW {cid}", "stage": "active", "metadata": {"external_id": f"cdnow-{cid}"}},
        token,
    )
    assert status == 201, status


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(create, sorted(purchases)))
print(f"created {len(purchases)} customers", file=sys.stderr)

events = []
for cid, days in sorted(purchases.items()):
    for n, d in enumerate(days):
        at = f"{d.isoformat()}T12:00:00Z"
        common = {"customer_key": f"cdnow-{cid}", "user_id": f"u-{cid}", "timestamp": at}
        events.append({**common, "event_id": f"cdnow-{cid}-{n}-login", "event_type": "login"})
        events.append(
            {
                **common,
                "event_id": f"cdnow-{cid}-{n}-purchase",
                "event_type": "feature_used",
                "metadata": {"feature": "purchase"},
            }
        )


def send(batch):
    status, report = post("/api/v1/usage/events", batch, ingest)
    assert status == 200, (status, report)
    return report["accepted"]


batches = [events[i : i + 1000] for i in range(0, len(events), 1000)]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    accepted = sum(pool.map(send, batches))
print(f"sent {len(events)} events, {accepted} accepted", file=sys.stderr)
