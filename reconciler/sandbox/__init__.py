"""The sandbox: a local stand-in for the Infracost Cloud API and for ServiceNow's Table API
(Flask + SQLite, a real HTTP server).

Modules, one job each:

- ``store``: SQLite storage (orgs, hashed tokens, objects, custom properties, write counters);
- ``resources``: the attributes of each kind: validation, defaults on read;
- ``jsonapi``: request documents in, JSON:API resources and errors out;
- ``csvparse``: the custom-properties CSV upload;
- ``faults``: fault injection and quirks, parsed from spec strings, per server or per org;
- ``servicenow``: tables loaded from CSV files, served as ServiceNow's Table API;
- ``app``: the Flask routes and status codes;
- ``server``: a threaded werkzeug server in a background thread;
- ``embedded``: the in-process sandboxes used by ``api: sandbox`` and ``instance: sandbox``.

Nothing here imports the CLI; ``reconciler.commands.sandbox`` is the command on top. Problems a
user can cause (a bad fault spec, an unusable database, a busy port, a bad org slug) raise
``SandboxError``, a ``ReconcilerError``: one line, exit 1.
"""

from __future__ import annotations

from reconciler.errors import ReconcilerError


class SandboxError(ReconcilerError):
    """The sandbox cannot start or serve as asked."""
