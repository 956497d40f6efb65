#!/bin/sh
# The entry point of every container of the image (web, worker, gpu-worker, migrate): makes sure
# static files are collected, then runs the container's command.
#
# The image collects them at build time; this covers a STATIC_ROOT mounted from a volume or a
# host folder. Without it, the site would run on plain (unhashed, uncompressed) static URLs and
# log an error (core/staticfiles.py). DISSENSUS_COLLECTSTATIC=0 skips the step.
set -eu

static_root="${DJANGO_STATIC_ROOT:-/app/staticfiles}"
if [ "${DISSENSUS_COLLECTSTATIC:-1}" = "1" ] && [ ! -f "$static_root/staticfiles.json" ]; then
    echo "entrypoint: collecting static files into $static_root" >&2
    python manage.py collectstatic --noinput --verbosity 0
fi

exec "$@"
