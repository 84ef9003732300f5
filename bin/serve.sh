#!/usr/bin/env bash
# Serve the platform: gunicorn and Celery beat, plus a Celery worker when REDIS_URL names a broker.
# Without REDIS_URL (the embedded default) tasks run in-process and no worker is needed; beat then
# runs the periodic tasks in its own process.
#
# Beside it, the national platform simulator (natsim, docs/national.md) on NATSIM_HOST:NATSIM_PORT
# (127.0.0.1:8700), with the demo province 430000 registered (its root CA exported from the
# platform, a shared secret generated once into var/natsim/secret) and the demo receipts of
# Hubei and Guangdong stored; EREC_NATIONAL_URL and EREC_NATIONAL_SECRET point the platform at it.
# When EREC_NATIONAL_URL is already set (the real national platform, or empty to keep events in
# the outbox) or NATSIM=0, no simulator is started and the platform's settings are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
NATSIM_HOST=${NATSIM_HOST:-127.0.0.1}
NATSIM_PORT=${NATSIM_PORT:-8700}
NATSIM_DATA=${NATSIM_DATA:-var/natsim}
VENV=.venv
PY="$VENV/bin/python"
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

start_natsim() {
  mkdir -p "$NATSIM_DATA" var/run
  local secret_file="$NATSIM_DATA/secret"
  if [ -n "${EREC_NATIONAL_SECRET:-}" ]; then
    (umask 077 && printf '%s' "$EREC_NATIONAL_SECRET" >"$secret_file")
  elif [ ! -s "$secret_file" ]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_hex(32), end="")' >"$secret_file")
  fi
  "$PY" manage.py export_certificates --out "$NATSIM_DATA/certs-430000" --region 430000 >/dev/null
  "$PY" -m natsim province-add --data "$NATSIM_DATA" --code 430000 --secret-file "$secret_file" \
    --root "$NATSIM_DATA/certs-430000/root-ca.pem" --ca "$NATSIM_DATA/certs-430000/issuing-ca.pem"
  "$PY" -m natsim seed-foreign --data "$NATSIM_DATA"
  echo "Starting the national platform simulator on http://$NATSIM_HOST:$NATSIM_PORT (log in var/run/natsim.log)."
  "$PY" -m natsim serve --data "$NATSIM_DATA" --host "$NATSIM_HOST" --port "$NATSIM_PORT" --control \
    >var/run/natsim.log 2>&1 &
  pids+=($!)
  export EREC_NATIONAL_URL="http://$NATSIM_HOST:$NATSIM_PORT"
  EREC_NATIONAL_SECRET=$(cat "$secret_file")
  export EREC_NATIONAL_SECRET
  "$PY" - "$EREC_NATIONAL_URL/health" <<'PYEOF'
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("全国平台模拟器未能启动（见 var/run/natsim.log）。The simulator did not start.")
        time.sleep(0.2)
PYEOF
}

if [ "${NATSIM:-1}" != "0" ] && [ -z "${EREC_NATIONAL_URL+set}" ]; then
  start_natsim
else
  echo "EREC_NATIONAL_URL is set (or NATSIM=0): no national platform simulator is started."
fi
mkdir -p var/run
if [ -n "${REDIS_URL:-}" ]; then
  echo "REDIS_URL is set: starting a Celery worker and beat (logs in var/run/)."
  "$VENV/bin/celery" -A config worker --loglevel INFO --concurrency 2 >var/run/celery-worker.log 2>&1 &
  pids+=($!)
else
  # The embedded default has no worker: tasks run in the process that asks for them. Beat still
  # runs, and runs its periodic tasks itself (sweeps of the outboxes, CRLs, reconciliation), so
  # that a retry or an event that waited for the simulator goes out without anyone's help.
  echo "Embedded default: periodic tasks run in the beat process (log in var/run/celery-beat.log)."
fi
"$VENV/bin/celery" -A config beat --loglevel INFO --schedule var/run/celerybeat-schedule \
  >var/run/celery-beat.log 2>&1 &
pids+=($!)
"$VENV/bin/gunicorn" config.wsgi:application --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --access-logfile - --timeout 120 &
pids+=($!)
wait -n
