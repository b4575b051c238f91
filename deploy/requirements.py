"""Print the third-party requirements of refinery's pyproject.toml files, one a line (the image's dependency layer).

Used by the Dockerfile: the dependency layer is built from the pyproject files alone, so that a change in a service's
code does not reinstall its dependencies. refinery's own packages (refinery-*) are left out: the image runs them from
the copied source (PYTHONPATH). Usage: python3 requirements.py PYPROJECT... [--extra NAME]
"""

import sys
import tomllib


def main(argv: list[str]) -> None:
    extras: list[str] = []
    paths: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--extra":
            extras.append(next(args))
        else:
            paths.append(arg)
    for path in paths:
        with open(path, "rb") as file:
            project = tomllib.load(file)["project"]
        wanted = list(project.get("dependencies", []))
        for extra in extras:
            wanted += project.get("optional-dependencies", {}).get(extra, [])
        for requirement in wanted:
            if not requirement.replace("_", "-").lower().startswith("refinery-"):
                sys.stdout.write(requirement + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
