"""The device agent: runs on each edge device and applies the deployments App Updater puts to
it. It imports only the Python standard library, so it runs where PySide6 and peewee are not
installed (``python -m appupdater.agent`` or ``appupdater-agent``).

- `protocol.py`: what a deployment request looks like, checked field by field;
- `files.py`: downloading with a SHA-256 check, unpacking a tarball safely, atomic links;
- `state.py`: the agent's state on disk, the deployment runner, activation and rollback;
- `server.py`: the HTTP(S) API under ``/v1`` (docs/agent-api.yaml) and the command line.
"""

AGENT_VERSION = "1.0.0"
API_PREFIX = "/v1"
