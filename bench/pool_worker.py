"""`python -m worker` under a Celery pool the settings do not offer, for bench.pools only.

    BENCH_WORKER_POOL=gevent|eventlet|threads python -m bench.pool_worker

`WORKER_POOL` accepts threads, prefork and solo; a green pool needs its monkey-patching before
anything else is imported, which `python -m worker` does not do. Like `imagegate worker`, the
process started is a supervisor (entrypoints.supervise) with the worker as its one child, so
the bench finds and measures it the same way.
"""

import os
import sys

POOL = os.environ.get("BENCH_WORKER_POOL", "threads")
CHILD = "--child" in sys.argv

if CHILD and POOL == "gevent":
    from gevent import monkey

    monkey.patch_all()
elif CHILD and POOL == "eventlet":
    import eventlet

    eventlet.monkey_patch()

import logging  # noqa: E402 - after the monkey-patching, as green pools require

from entrypoints.celery_app import QUEUE  # noqa: E402
from entrypoints.logs import setup_logging  # noqa: E402
from entrypoints.settings import Settings  # noqa: E402
from entrypoints.supervise import supervise  # noqa: E402
from worker.bootstrap import build_worker  # noqa: E402


def main() -> None:
    if not CHILD:
        sys.exit(supervise([sys.executable, "-m", "bench.pool_worker", "--child"]))
    settings = Settings.from_env()
    setup_logging(settings.log_format, settings.log_level)
    logging.getLogger("imagegate.bench").info("pool %s", POOL)
    build_worker(settings).worker_main(
        [
            "worker",
            f"--pool={POOL}",
            f"--concurrency={settings.worker_concurrency}",
            f"--queues={QUEUE}",
            f"--loglevel={settings.log_level}",
            f"--hostname=imagegate-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main()
