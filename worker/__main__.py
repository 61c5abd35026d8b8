"""`python -m worker`: one worker process (`imagegate worker` runs this under its supervisor)."""

from worker.bootstrap import main

main()
