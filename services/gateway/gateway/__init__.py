"""refinery gateway: The public API gateway, auth, projects, upload and export; serves the UI."""

__version__ = "0.1.0"
