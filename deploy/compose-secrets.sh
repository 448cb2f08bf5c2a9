#!/bin/sh
# Writes random secrets for deploy/compose.yaml into deploy/secrets/
# (git-ignored), once: existing files are kept.
set -eu
cd "$(dirname "$0")"
mkdir -p secrets
chmod 700 secrets
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
[ -f secrets/postgres_password ] || rand > secrets/postgres_password
[ -f secrets/relais_secret ] || rand > secrets/relais_secret
[ -f secrets/database_url ] ||
  printf 'postgres://relais:%s@postgres:5432/relais?sslmode=disable\n' "$(cat secrets/postgres_password)" > secrets/database_url
echo "secrets in $(pwd)/secrets"
