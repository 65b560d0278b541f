"""Slack's side of Socket Mode on loopback: a WebSocket endpoint that ``apps.connections.open`` hands out.

It speaks just enough RFC 6455 for slack_sdk's built-in client (plain ``ws://`` on a non-443 port, which the client
allows): the upgrade handshake, a ``hello`` message, text frames carrying envelopes, the client's acks (masked
frames), ping/pong and close. Tests push envelopes (``slash_commands``, ``interactive``, ``events_api``) and read
the app's acks, as Slack would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import uuid
from typing import Any

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SocketModeServer:
    def __init__(self, app_id: str) -> None:
        self._app_id = app_id
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._connections: list[socket.socket] = []
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self.acks: dict[str, dict[str, Any]] = {}
        self._stopping = threading.Event()
        threading.Thread(target=self._accept, name="socket-mode-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4().hex}"

    def wait_connected(self, timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._connections), timeout):
                raise TimeoutError("the app never opened its Socket Mode connection")

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        envelope_id = str(uuid.uuid4())
        message = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        self._send(self._connections[-1], json.dumps(message))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self.acks, timeout):
                raise TimeoutError(f"no ack for envelope {envelope_id}")
            return self.acks[envelope_id]

    def stop(self) -> None:
        self._stopping.set()
        for connection in [*self._connections, self._listener]:
            try:
                connection.close()
            except OSError:
                pass

    # Connection handling -------------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), name="socket-mode-conn", daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            if not self._handshake(connection):
                connection.close()
                return
            with self._changed:
                self._connections.append(connection)
                self._changed.notify_all()
            hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": self._app_id}}
            self._send(connection, json.dumps(hello))
            self._read_frames(connection)
        except OSError:
            pass
        finally:
            with self._changed:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._changed.notify_all()

    def _handshake(self, connection: socket.socket) -> bool:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                return False
            request += chunk
        headers = {}
        for line in request.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key")
        if not key or headers.get("upgrade", "").lower() != "websocket":
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return False
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
        connection.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        return True

    def _read_frames(self, connection: socket.socket) -> None:
        while not self._stopping.is_set():
            opcode, data = _read_frame(connection)
            if opcode == 0x8:  # close
                return
            if opcode == 0x9:  # ping
                self._send(connection, data, opcode=0xA)
            elif opcode == 0x1:
                message = json.loads(data.decode())
                if "envelope_id" in message:
                    with self._changed:
                        self.acks[message["envelope_id"]] = message
                        self._changed.notify_all()

    def _send(self, connection: socket.socket, text: str | bytes, opcode: int = 0x1) -> None:
        data = text.encode() if isinstance(text, str) else text
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([len(data)])
        elif len(data) < 1 << 16:
            header += bytes([126]) + struct.pack("!H", len(data))
        else:
            header += bytes([127]) + struct.pack("!Q", len(data))
        with self._send_lock:
            connection.sendall(header + data)


def _read_exact(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def _read_frame(connection: socket.socket) -> tuple[int, bytes]:
    first, second = _read_exact(connection, 2)
    opcode, masked, length = first & 0x0F, second & 0x80, second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exact(connection, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exact(connection, 8))[0]
    mask = _read_exact(connection, 4) if masked else b"\0\0\0\0"
    payload = _read_exact(connection, length)
    return opcode, bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
