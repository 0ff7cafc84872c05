#!/bin/sh
# The image's entry point: before `metalscope serve`, bring the database schema up to date
# with the same configuration options (`metalscope db upgrade` creates it, upgrades it, or
# adopts an ironic-inspector database, and does nothing when it is current). Set
# METALSCOPE_DB_UPGRADE=0 to skip that step, e.g. when a separate job runs it. Any other
# command runs as given.
set -eu
if [ "$#" -ge 2 ] && [ "$1" = metalscope ] && [ "$2" = serve ] \
        && [ "${METALSCOPE_DB_UPGRADE:-1}" != 0 ]; then
    command=$1
    shift 2
    "$command" db upgrade "$@"
    exec "$command" serve "$@"
fi
exec "$@"
