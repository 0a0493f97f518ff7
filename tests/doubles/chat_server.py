"""An OpenAI-compatible chat endpoint on loopback, for testing the endpoint rater over real HTTP.

`reply(request_number, body)` decides each answer: ("text", answer), ("status", code),
("hang", seconds) or ("raw", body). The server records every request and the most requests
it ever had in flight at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[str, Any]


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, reply: Callable[[int, dict], Reply], delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.delay = delay
        self.requests: list[dict] = []
        self.headers_seen: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with server.lock:
            number = len(server.requests)
            server.requests.append(body)
            server.headers_seen.append(dict(self.headers))
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            time.sleep(server.delay)
            self._answer(self.path, *server.reply(number, body))
        finally:
            with server.lock:
                server.in_flight -= 1

    def _answer(self, path: str, kind: str, value: Any) -> None:
        if path != "/v1/chat/completions":
            return self._send(404, b'{"error": "not found"}')
        if kind == "hang":
            time.sleep(value)
            kind, value = "text", "Yes"
        if kind == "status":
            return self._send(value, b'{"error": {"message": "overloaded"}}')
        if kind == "raw":
            return self._send(200, value.encode())
        message = {"role": "assistant", "content": value}
        payload = {"object": "chat.completion", "choices": [{"index": 0, "message": message}]}
        self._send(200, json.dumps(payload).encode())

    def _send(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)


@contextmanager
def chat_server(reply: Callable[[int, dict], Reply], delay: float = 0.0) -> Iterator[ChatServer]:
    server = ChatServer(reply, delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
