"""A Celery task message for a job id, as kombu's Redis transport stores it in the queue's list,
built without kombu — so the admission script can push it in the same atomic step that charges
the key and records the job (`RedisJobAdmission` with `publish_to`).

The envelope is what `send_task` and kombu's `Channel._put` write for our task (Celery message
protocol 2, JSON body, no result, default priority): the same keys the worker's consumer reads.
`tests/integration/test_celery_wire.py` compares it with one `send_task` writes, and every e2e
flow on the local quota runs a real worker on messages built here.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid

ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"  # who sent it, as Celery says it
# Celery's embed (no callbacks, no chain) and kwargs, the same for every job: encoded once.
_BODY_TAIL = ', {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'


def task_message(task_name: str, job_id: str, queue: str) -> str:
    """The JSON string to LPUSH on `queue` so a worker runs `task_name(job_id)`."""
    task_id = str(uuid.uuid4())
    body = "[" + json.dumps([job_id]) + _BODY_TAIL
    argsrepr = repr([job_id])
    return json.dumps(
        {
            "body": base64.b64encode(body.encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                "lang": "py",
                "task": task_name,
                "id": task_id,
                "shadow": None,
                "eta": None,
                "expires": None,
                "group": None,
                "group_index": None,
                "retries": 0,
                "timelimit": [None, None],
                "root_id": task_id,
                "parent_id": None,
                "argsrepr": argsrepr,
                "kwargsrepr": "{}",
                "origin": ORIGIN,
                "ignore_result": None,
                "replaced_task_nesting": 0,
                "stamped_headers": None,
                "stamps": {},
            },
            "properties": {
                "correlation_id": task_id,
                "reply_to": None,
                "argsrepr": argsrepr,
                "kwargsrepr": "{}",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )
