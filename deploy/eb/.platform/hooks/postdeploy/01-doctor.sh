#!/bin/bash
# After each deploy, check the deployment before it takes traffic: settings, Redis persistence, the
# store, provider credentials and webhooks. A problem fails this instance's deploy, so Elastic
# Beanstalk stops the rolling deploy and the previous release keeps serving.
set -euo pipefail
cd /var/app/current
# shellcheck disable=SC1090
source /var/app/venv/*/bin/activate
eval "$(/opt/elasticbeanstalk/bin/get-config environment | python3 -c '
import json, shlex, sys
for name, value in json.load(sys.stdin).items():
    print(f"export {name}={shlex.quote(value)}")
')"
tipline doctor
