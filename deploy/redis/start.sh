#!/bin/sh
# Runs "$@" (redis-server and its arguments) with --aclfile: the users of users.acl.in, each
# with the password in $REDIS_SECRETS_DIR/<user>/password. A missing password is generated
# (32 random bytes, hex) and kept, so `docker compose up` works from a fresh clone and
# restarts keep the same passwords; a password put there before the first start is used as is.
# Only SHA-256 hashes reach the ACL file. Compose mounts each service's directory into that
# service alone, so a service can read its own password and no other.
#
#   REDIS_ACL_TEMPLATE  users.acl.in                 (default: next to this script)
#   REDIS_SECRETS_DIR   <user>/password per user     (default: /run/secrets/redis)
#   REDIS_ACL_FILE      the rendered ACL file        (default: /tmp/hotpath-acl/users.acl)
#   REDIS_EXPORTER_ADDR the exporter's REDIS_ADDR    (default: redis://redis:6379): redis_exporter
#                       reads a password file as a JSON map from address to password, so
#                       exporter/password-map.json is written beside its password
set -eu
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
template=${REDIS_ACL_TEMPLATE:-$here/users.acl.in}
secrets=${REDIS_SECRETS_DIR:-/run/secrets/redis}
acl=${REDIS_ACL_FILE:-/tmp/hotpath-acl/users.acl}
exporter_addr=${REDIS_EXPORTER_ADDR:-redis://redis:6379}

fail() {
  echo "redis start: $*" >&2
  exit 2
}

[ "$#" -gt 0 ] || fail "usage: start.sh redis-server [arguments...]"
[ -r "$template" ] || fail "cannot read the ACL template $template"

# the password of user $1, generated when there is none yet (never printed)
password() {
  dir="$secrets/$1"
  file="$dir/password"
  if [ ! -s "$file" ]; then
    mkdir -p "$dir"
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$file.tmp")
    chmod 0444 "$file.tmp" # the service's own user reads it; only that service mounts the directory
    mv "$file.tmp" "$file"
    echo "redis start: generated a password for user $1 in $file" >&2
  fi
  pw=$(cat "$file")
  case "$pw" in
    *[!!-~]*) fail "$file: a password is printable ASCII without spaces" ;;
  esac
  [ "${#pw}" -ge 16 ] || fail "$file: a password has at least 16 characters"
  if [ "$1" = exporter ]; then
    case "$pw" in *'"'* | *'\'*) fail "$file: the exporter's password goes into JSON: no quote or backslash" ;; esac
  fi
  printf '%s' "$pw"
}

acl_dir=$(dirname "$acl")
mkdir -p "$acl_dir"
tmp="$acl.tmp"
: > "$tmp"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in '' | '#'*) continue ;; esac
  user=$(printf '%s\n' "$line" | cut -d ' ' -f 2)
  [ "$(printf '%s\n' "$line" | cut -d ' ' -f 1)" = user ] && [ -n "$user" ] || fail "$template: not a user line: $line"
  case " $line " in
    *' off '*) printf '%s\n' "$line" >> "$tmp" ;; # disabled (default): no password at all
    *)
      pw=$(password "$user")
      hash=$(printf '%s' "$pw" | sha256sum | cut -d ' ' -f 1)
      printf '%s #%s\n' "$line" "$hash" >> "$tmp"
      if [ "$user" = exporter ]; then
        (umask 077 && printf '{"%s":"%s"}\n' "$exporter_addr" "$pw" > "$secrets/exporter/password-map.json.tmp")
        chmod 0444 "$secrets/exporter/password-map.json.tmp"
        mv "$secrets/exporter/password-map.json.tmp" "$secrets/exporter/password-map.json"
      fi
      ;;
  esac
done < "$template"
chmod 0644 "$tmp" # hashes only; redis-server may run as another user than this script
mv "$tmp" "$acl"
# the official image's entrypoint drops from root to the redis user: let it own the file (ACL SAVE)
if [ "$(id -u)" = 0 ] && id redis > /dev/null 2>&1; then chown -R redis "$acl_dir"; fi

exec "$@" --aclfile "$acl"
