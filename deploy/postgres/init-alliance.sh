#!/bin/sh
# Run once by the postgres image, when its volume is empty (docker-entrypoint-initdb.d), as the
# superuser POSTGRES_USER (temporal), in the database POSTGRES_DB (temporal) it just made.
#   - temporal_visibility: Temporal's second database (temporal-schema fills both);
#   - alliance: the contact directory, owned by its own user, who can reach nothing else.
# Later changes to the passwords are made by hand (ALTER USER ... PASSWORD ...).
set -eu

psql --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set ON_ERROR_STOP=1 \
    --set owner="$POSTGRES_USER" --set directory_password="$DIRECTORY_DB_PASSWORD" <<'SQL'
CREATE DATABASE temporal_visibility OWNER :"owner";
CREATE USER alliance WITH PASSWORD :'directory_password';
CREATE DATABASE alliance OWNER alliance;
REVOKE ALL ON DATABASE alliance FROM PUBLIC;
REVOKE CONNECT ON DATABASE temporal FROM PUBLIC;
REVOKE CONNECT ON DATABASE temporal_visibility FROM PUBLIC;
SQL
