"""The device agent: runs on each edge device and applies the deployments App Updater puts to
it. It imports only the Python standard library, so it runs where PySide6 and peewee are not
installed (``python -m appupdater.agent`` or ``appupdater-agent``).

- `protocol.py`: the API both ends speak — paths, deployment states, the JSON of a
  configuration, a deployment answer and a status (the workstation's gateway imports it too);
- `parsing.py`: a request's path, query and body, checked field by field;
- `files.py`: downloading with a SHA-256 check, unpacking a tarball safely, atomic links;
- `deployment.py`: one deployment's record, as kept in state.json and shown by the API;
- `activation.py`: switching module versions together, journalled, and rolling back;
- `keeping.py`: kept module versions and their completion marks (what is whole on disk);
- `fetching.py`: a deployment's module versions: reused when kept, else downloaded, unpacked;
- `hooks.py`: a module's lifecycle hooks (stop, start, health): only as verified, run bounded;
- `lifecycle.py`: activation with a health gate (stop, switch, start, health) and its rollback;
- `pruning.py`: which kept versions go after a switch (`--keep-versions`), journalled;
- `limits.py`: what a deployment may take (download and unpacked sizes, file:// folder);
- `state.py`: the Agent — its state on disk and the deployment it runs;
- `server.py`: the HTTP(S) API (docs/agent-api.yaml), its connection and time bounds, and the
  command line;
- `startup.py`: what the command line checks before serving: options, token file, TLS files.
"""

AGENT_VERSION = "1.0.0"
