"""`python tests/e2e/generation_only_worker.py`: the generation worker without the webhook
consumer `imagegate worker` runs beside it — so a test can end a job and kill the worker before
any delivery could be made (the window the transition's webhook note exists for)."""

from worker.bootstrap import main

main()
