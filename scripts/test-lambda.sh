#!/usr/bin/env bash
# Unit tests of the dev cost breaker function (components/lambda/breaker.py):
# python3 -m unittest with botocore's Stubber, which checks every AWS call
# against the service's API model and answers it; nothing reaches AWS.
#
# Uses a python3 that has boto3 (the Lambda runtime ships it); installs
# Debian's python3-boto3 with apt when none has and we are root, as
# scripts/test-services.sh installs PostgreSQL and Redis. scripts/test.sh
# runs this after the Go tests.
#   scripts/test-lambda.sh            # every test
#   scripts/test-lambda.sh -k reset   # extra args go to unittest
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test-lambda: $*" >&2; }

has_boto3() { "$1" -c 'import boto3, botocore.stub' >/dev/null 2>&1; }

py=""
for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
  if [[ -n "$candidate" && -x "$candidate" ]] && has_boto3 "$candidate"; then py="$candidate"; break; fi
done
if [[ -z "$py" ]]; then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "no python3 with boto3; install it (apt-get install -y python3-boto3) and retry"
    exit 1
  fi
  log "installing python3-boto3 with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq python3-boto3 >/dev/null
  py=/usr/bin/python3
  has_boto3 "$py" || { log "python3-boto3 installed but $py cannot import boto3"; exit 1; }
fi

cd components/lambda
# No byte-code next to the sources; no AWS credentials or metadata service
# are looked up (the tests set their own dummy ones).
export PYTHONDONTWRITEBYTECODE=1 AWS_EC2_METADATA_DISABLED=true
exec "$py" -m unittest "${@:--v}"
