#!/bin/sh
# Check the deployment with `tipline doctor`, then (re)start the web process, two workers and the scheduler.
# Nothing is restarted when the doctor finds a problem: the running release keeps serving.
set -eu
set -a
. /etc/tipline/tipline.env
set +a
runuser -u tipline -- /opt/tipline/venv/bin/tipline doctor
systemctl enable tipline-web tipline-worker@1 tipline-worker@2 tipline-scheduler
systemctl restart tipline-worker@1 tipline-worker@2 tipline-scheduler tipline-web
systemctl --no-pager --lines=0 status tipline-web tipline-worker@1 tipline-worker@2 tipline-scheduler
