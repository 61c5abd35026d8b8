"""`python -m worker`: one worker process (`imagegate worker` runs this under its supervisor);
`python -m worker --webhooks`: the webhook consumer beside it (worker/webhooks.py)."""

import sys

if "--webhooks" in sys.argv[1:]:
    from worker.webhooks import main
else:
    from worker.bootstrap import main

main()
