#!/bin/sh
# As the upstream node image: an option or a script as the first argument runs under node
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v -- "$1" 2>/dev/null)" ]; then set -- node "$@"; fi
exec "$@"
