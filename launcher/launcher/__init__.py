"""The launcher behind ``./start`` and ``./stop``: runs the whole platform on this machine.

``python -m launcher start`` brings up the embedded PostgreSQL (unless ``DATABASE_URL`` is set), migrates, has the
gateway create the first admin (``python -m gateway ensure-admin``), starts every service as ``python -m <service>``
in the background (pid files in ``<data_dir>/run``, logs in ``<data_dir>/logs``) and waits until each answers
``/health``. ``stop`` ends exactly the processes whose pid files it finds (and the embedded PostgreSQL) and keeps the
data. It imports no service: it talks to them through their command lines and HTTP only.
"""

import warnings

# pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR (root, CI) it warns but works.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
