#!/bin/sh
# Entrypoint of every refinery service image: runs `python -m $REFINERY_SERVICE` as the unprivileged user refinery.
#
# Started as root (docker-compose.yml does this for the executor only, with the capability SYS_ADMIN), it first mounts
# a complete procfs at /run/refinery-proc/proc, in a folder only root may enter, and removes Docker's read-only bind over
# /proc/sys (see below). Docker masks parts of the container's
# /proc (/proc/kcore, /proc/keys, ...), and the kernel lets a process in a new user namespace mount a procfs (what
# bubblewrap does for the sandbox's own /proc) only when a fully visible one already exists in its mount namespace.
# Then it drops to the user refinery with no capabilities at all (bounding set emptied, no_new_privs), for good: the
# service and the sandboxes it starts never hold SYS_ADMIN or any other capability.
set -eu
if [ "$(id -u)" = 0 ]; then
    if [ "${REFINERY_SERVICE:-}" = executor ]; then
        # Mounted one level down: a procfs's own root is world-readable, the folder above it is root's alone.
        if ! mountpoint -q /run/refinery-proc/proc 2>/dev/null; then
            mkdir -p /run/refinery-proc/proc
            chmod 0700 /run/refinery-proc
            mount -t proc -o nosuid,nodev,noexec proc /run/refinery-proc/proc \
                || echo "entrypoint: could not mount a procfs for the sandbox (the container needs the capability SYS_ADMIN at start and, where AppArmor runs, apparmor=unconfined); the executor will report its sandbox unavailable" >&2
        fi
        # Docker binds /proc/sys read-only; bubblewrap's --disable-userns writes the sandbox's own user-namespace
        # limit through it (/proc/sys/user/max_user_namespaces, a per-namespace value). Host-wide sysctls stay
        # unwritable: they belong to root, which the service is no longer once this script has dropped it.
        if mountpoint -q /proc/sys 2>/dev/null; then
            umount /proc/sys || echo "entrypoint: could not unmask /proc/sys for the sandbox" >&2
        fi
    fi
    exec setpriv --reuid=refinery --regid=refinery --init-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$0" "$@"
fi
exec python -m "${REFINERY_SERVICE:?REFINERY_SERVICE is not set}" "$@"
