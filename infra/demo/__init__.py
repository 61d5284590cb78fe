"""``make demo``: the whole model lifecycle on the embedded default, narrated (``python -m infra.demo``).

It runs on its own DuckDB registry and folder bucket under ``.local/demo/``, whatever
``MODEL_REGISTRY_URL``, ``MODEL_BUCKET_URL``, ``EVENT_BUS_URL`` or ``SLACK_WEBHOOK_URL``
say (see :mod:`infra.demo.sandbox`), so it can never write into production. It is
not deployed: no staged function contains it.
"""
