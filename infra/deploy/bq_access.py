"""Dataset-level access for the functions' service accounts (idempotent).

gcloud has no GA command for BigQuery dataset access and the deployment does not
use ``bq``, so this step uses google-cloud-bigquery with Application Default
Credentials, like ``modelctl migrate`` just before it. READER is
``roles/bigquery.dataViewer`` on the dataset, WRITER ``roles/bigquery.dataEditor``:
no function gets data access beyond the registry's dataset.

    python -m infra.deploy.bq_access --project P --dataset D --reader SA_EMAIL --writer SA_EMAIL
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def missing_entries(existing: Iterable[Any], wanted: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (role, email) pairs not already granted, in the order asked."""
    have = {(e.role, e.entity_type, e.entity_id) for e in existing}
    return [(role, email) for role, email in wanted if (role, "userByEmail", email) not in have]


def grant(project: str, dataset: str, wanted: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Add what is missing in one conditional update; return what was added."""
    from google.cloud import bigquery

    client = bigquery.Client(project=project)
    ds = client.get_dataset(f"{project}.{dataset}")
    added = missing_entries(ds.access_entries, wanted)
    if added:
        ds.access_entries = [*ds.access_entries, *(bigquery.AccessEntry(r, "userByEmail", e) for r, e in added)]
        client.update_dataset(ds, ["access_entries"])  # sends the etag: a concurrent edit fails, not lost
    return added


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.bq_access", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("--project", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--reader", action="append", default=[], metavar="EMAIL")
    parser.add_argument("--writer", action="append", default=[], metavar="EMAIL")
    args = parser.parse_args(argv)
    wanted = [("READER", e) for e in args.reader] + [("WRITER", e) for e in args.writer]
    added = grant(args.project, args.dataset, wanted)
    for role, email in added:
        print(f"granted {role} on {args.project}.{args.dataset} to {email}")
    if not added:
        print(f"dataset access on {args.project}.{args.dataset} already in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
