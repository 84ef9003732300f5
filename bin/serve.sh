#!/usr/bin/env bash
# Serve the platform: gunicorn, plus a Celery worker and beat when REDIS_URL names a broker.
# Without REDIS_URL (the embedded default) tasks run in-process and no worker is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
VENV=.venv
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
if [ -n "${REDIS_URL:-}" ]; then
  mkdir -p var/run
  echo "REDIS_URL is set: starting a Celery worker and beat (logs in var/run/)."
  "$VENV/bin/celery" -A config worker --loglevel INFO --concurrency 2 >var/run/celery-worker.log 2>&1 &
  pids+=($!)
  "$VENV/bin/celery" -A config beat --loglevel INFO --schedule var/run/celerybeat-schedule \
    >var/run/celery-beat.log 2>&1 &
  pids+=($!)
fi
"$VENV/bin/gunicorn" config.wsgi:application --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --access-logfile - --timeout 120 &
pids+=($!)
wait -n
