"""A stand-in for a W&B server on 127.0.0.1, for `wandb sync` to upload an exported run to.

No W&B server can run here (W&B's own is a licensed container), so this answers the few
requests wandb 0.31's `wandb sync` makes for an offline run, and keeps what it was sent:

- GraphQL ``UpsertBucket`` (the run: name, project, group, notes, tags, config as
  ``{key: {"value": v}}``) and ``CreateRunFiles`` (an upload URL per file);
- ``POST /files/<entity>/<project>/<run>/file_stream``: history lines (``wandb-history.jsonl``,
  by line offset, so a line sent twice counts once), the summary (``wandb-summary.json``, the
  last one sent wins) and the exit code;
- ``PUT /upload/<name>``: each file's bytes.

What is checked is then what wandb itself read from the transaction log and sent: the reader
under test is wandb's (its wandb-core service reads the log; the Python package has no reader
of its own any more). Nothing here is localrun code.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote


class WandbServer:
    """Start with ``WandbServer()``, read ``url``; ``close()`` when done."""

    def __init__(self) -> None:
        self.runs: dict[str, dict] = {}
        self.history: dict[int, dict] = {}
        self.summary: dict | None = None
        self.exitcode: int | None = None
        self.complete = False
        self.uploads: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _json(self, obj) -> None:
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                server.requests.append(f"GET {self.path}")
                self._json({})

            def do_PUT(self) -> None:
                body = self._body()
                with server.lock:
                    server.requests.append(f"PUT {self.path}")
                    if self.path.startswith("/upload/"):
                        server.uploads[unquote(self.path[len("/upload/") :])] = body
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self._body()
                with server.lock:
                    server.requests.append(f"POST {self.path}")
                    if self.path.startswith("/graphql"):
                        self._json(server.graphql(json.loads(body), self.headers.get("Host")))
                    elif self.path.endswith("/file_stream"):
                        server.file_stream(json.loads(body))
                        self._json({})
                    else:
                        self._json({})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def graphql(self, request: dict, host: str | None) -> dict:
        query = request.get("query", "")
        variables = request.get("variables") or {}
        if "upsertBucket" in query:
            name = variables.get("name") or "run"
            run = self.runs.setdefault(name, {})
            for key, value in variables.items():
                if value is not None:
                    run[key] = json.loads(value) if key in ("config", "summaryMetrics") else value
            project = variables.get("project") or "uncategorized"
            return {
                "data": {
                    "upsertBucket": {
                        "bucket": {
                            "id": f"id-{name}",
                            "name": name,
                            "displayName": variables.get("displayName") or name,
                            "historyLineCount": 0,
                            "project": {
                                "id": f"id-{project}",
                                "name": project,
                                "entity": {"id": "id-entity", "name": "entity"},
                            },
                        },
                        "inserted": True,
                    }
                }
            }
        if "createRunFiles" in query:
            files = [
                {"name": name, "uploadUrl": f"{self.url}/upload/{quote(name)}"}
                for name in variables.get("files") or []
            ]
            return {
                "data": {"createRunFiles": {"runID": "id-run", "uploadHeaders": [], "files": files}}
            }
        return {"data": {}}

    def file_stream(self, body: dict) -> None:
        for name, chunk in (body.get("files") or {}).items():
            lines = chunk.get("content") or []
            if name == "wandb-history.jsonl":
                for i, line in enumerate(lines):
                    self.history[chunk.get("offset", 0) + i] = json.loads(line)
            elif name == "wandb-summary.json" and lines:
                self.summary = json.loads(lines[-1])
        if body.get("complete"):
            self.complete = True
            self.exitcode = body.get("exitcode")

    def rows(self) -> list[dict]:
        """The history lines, in the order of their offsets."""
        return [self.history[i] for i in sorted(self.history)]
