#!/usr/bin/env bash
# Install a pinned trytond (reference/real-peers.md §A) into its own venv and build a template
# SQLite database with the sale, invoice and stock modules activated. Idempotent: a second run
# with everything in place does nothing and takes well under a second.
#
#   contrib/real/tryton/setup.sh [CACHE_DIR]
#
# CACHE_DIR defaults to $BRYGGA_REAL_CACHE/tryton, else /tmp/brygga-real-cache/tryton. It ends
# up holding venv/ (trytond and its modules, ~92 MB) and template/brygga.sqlite (the modules
# activated, ~4.6 MB), plus READY once both are complete. Needs python3.11 (or python3, or
# $BRYGGA_REAL_PYTHON), flock, and PyPI through pip.
set -euo pipefail

cache="${1:-${BRYGGA_REAL_CACHE:-/tmp/brygga-real-cache}/tryton}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${BRYGGA_REAL_PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [[ -z "$python" ]]; then
    echo "setup.sh: no python3.11 or python3 on PATH (set BRYGGA_REAL_PYTHON)" >&2
    exit 1
fi
mkdir -p "$cache"
cd "$cache"

# what the cache was built from: the pins, and the layout of this script's steps (bump LAYOUT
# when a step changes what it builds, so old caches are rebuilt)
LAYOUT=1
stamp="$( (cat "$here/requirements.txt"; echo "layout $LAYOUT") | sha256sum | cut -c1-16)"
if [[ -f READY && "$(cat READY)" == "$stamp" ]]; then
    exit 0
fi
rm -f READY

# one setup at a time per cache (two pytest runs may start together)
exec 9>"$cache/.lock"
flock 9
if [[ -f READY && "$(cat READY)" == "$stamp" ]]; then
    exit 0
fi

if [[ ! -x venv/bin/trytond || ! -f venv/.stamp || "$(cat venv/.stamp)" != "$stamp" ]]; then
    rm -rf venv
    "$python" -m venv venv
    # (pip's "Location ... is ignored" lines are noise from a local find-links config)
    venv/bin/pip install -q --disable-pip-version-check -r "$here/requirements.txt" \
        2> >(grep -v "is ignored: it is neither" >&2)
    echo "$stamp" > venv/.stamp
fi

# the template database: the modules activated, nothing else (the fixture sets up the company,
# accounts and fiscal year over JSON-RPC on a copy); the SQLite file must exist beforehand
rm -rf template.tmp && mkdir -p template.tmp
: > template.tmp/brygga.sqlite
cat > template.tmp/trytond.conf <<CONF
[database]
uri = sqlite://
path = $cache/template.tmp
CONF
printf '%s\n' 'brygga-template-admin' > template.tmp/pass.txt
TRYTONPASSFILE=template.tmp/pass.txt venv/bin/trytond-admin -c template.tmp/trytond.conf \
    -d brygga -u sale account_invoice stock account_invoice_stock --activate-dependencies \
    --email admin@example.com >template.tmp/admin.log 2>&1 || {
        cat template.tmp/admin.log >&2
        exit 1
    }
rm -rf template && mkdir -p template
mv template.tmp/brygga.sqlite template/brygga.sqlite
rm -rf template.tmp
echo "$stamp" > READY
