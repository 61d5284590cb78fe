"""Local stand-ins for the Google Cloud pieces the functions run against.

* :mod:`infra.local.stack` starts, wires and stops the Pub/Sub emulator,
  fake-gcs-server, one functions-framework process per function and the
  Eventarc bridge (``python -m infra.local.stack up|down|status|env``).
* :mod:`infra.local.eventarc_bridge` turns Cloud Storage notifications into
  Eventarc-shaped ``google.cloud.storage.object.v1.finalized`` CloudEvents.

Everything listens on 127.0.0.1 only.
"""
