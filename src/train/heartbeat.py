"""A lost rank said in one line: a heartbeat between the ranks of a data-parallel run, beside MindSpore's own.

When a rank or its machine disappears, the survivors sit in a collective operation until MindSpore's cluster
gives up, and then print a C++ call stack that names no rank. Here every rank keeps one TCP connection to rank 0
(the hub, at the scheduler's address, port + 1) and each side sends a beat every ``timeout / 5`` seconds. A
connection that closes without a goodbye (the process was killed) or stays silent for ``timeout`` seconds (the
link or the machine went down) is a lost rank: the hub tells every other rank which one, and each survivor calls
``on_lost`` — the trainer prints one line (which rank, where, the last good checkpoint, the command to resume)
and ends the process at once, whatever the collective it was stuck in.

This is not a launcher: mpirun or msrun start and stop the processes; this only watches them.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional

log = logging.getLogger("crnn")


@dataclass(frozen=True)
class LostRank:
    """Which rank is gone, where it ran, why the heartbeat thinks so, and the hub's newest checkpoint."""

    rank: int
    address: str
    reason: str
    checkpoint: str = ""


class _Line:
    """One TCP connection carrying newline-ended text messages; sends from any thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.last_seen = time.monotonic()
        self.said_bye = False
        self._buffer = b""

    def send(self, message: str) -> bool:
        with self.lock:
            try:
                self.sock.sendall(message.encode("utf-8") + b"\n")
                return True
            except OSError:
                return False

    def messages(self):
        """Yield received messages until the connection closes or fails."""
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                self.last_seen = time.monotonic()
                yield line.decode("utf-8", "replace")
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            self._buffer += data


class Heartbeat:
    """Watch the other ranks of this run (see the module docstring). ``checkpoint()`` gives the hub's newest
    checkpoint for the message; ``on_lost`` is called once, from a watcher thread."""

    def __init__(self, rank: int, size: int, host: str, port: int, timeout: float,
                 on_lost: Callable[[LostRank], None], checkpoint: Callable[[], str] = lambda: "") -> None:
        self.rank, self.size, self.host, self.port = rank, size, host, port
        self.timeout = timeout
        self.interval = max(0.2, timeout / 5)
        self.on_lost = on_lost
        self.checkpoint = checkpoint
        self.peers: Dict[int, _Line] = {}         # hub: rank -> connection; worker: {0: the hub}
        self.addresses: Dict[int, str] = {0: host}
        self._lost = threading.Event()
        self._stopping = threading.Event()
        self._server: Optional[socket.socket] = None

    # ---------------------------------------------------------------- start and stop
    def start(self, connect_timeout: float = 120) -> None:
        """Hub: listen and wait for every rank; worker: connect to the hub. Then watch in the background."""
        if self.rank == 0:
            self._accept_all(connect_timeout)
        else:
            self._connect(connect_timeout)
        for rank, line in self.peers.items():
            threading.Thread(target=self._read, args=(rank, line), daemon=True, name=f"heartbeat-read-{rank}").start()
        threading.Thread(target=self._watch, daemon=True, name="heartbeat-watch").start()

    def stop(self) -> None:
        """The run ended normally: say goodbye so that no one takes the closing connection for a lost rank."""
        self._stopping.set()
        for line in self.peers.values():
            line.send("bye")
        if self.rank == 0:  # wait (briefly) for every worker's goodbye before closing the connections
            deadline = time.monotonic() + 2 * self.timeout
            while time.monotonic() < deadline and not all(l.said_bye for l in self.peers.values()):
                time.sleep(0.05)
        for line in self.peers.values():
            try:
                line.sock.close()
            except OSError:
                pass
        if self._server is not None:
            self._server.close()

    def _accept_all(self, connect_timeout: float) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", self.port))
        server.listen(self.size)
        server.settimeout(connect_timeout)
        self._server = server
        while len(self.peers) < self.size - 1:
            try:
                sock, (address, _) = server.accept()
            except socket.timeout:
                missing = sorted(set(range(1, self.size)) - set(self.peers))
                raise TimeoutError(f"heartbeat: ranks {missing} did not connect to {self.host}:{self.port} within "
                                   f"{connect_timeout:.0f} s") from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(10)          # a hello comes at once from one of ours
            line = _Line(sock)
            hello = next(line.messages(), "")
            sock.settimeout(None)
            parts = hello.split()
            if len(parts) < 2 or parts[0] != "hello" or not parts[1].isdigit():
                sock.close()  # not one of ours
                continue
            rank = int(parts[1])
            self.peers[rank] = line
            self.addresses[rank] = address
        log.info("heartbeat: %s", ", ".join(f"rank {r} at {self.addresses[r]}" for r in sorted(self.peers)))

    def _connect(self, connect_timeout: float) -> None:
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=min(5.0, self.timeout))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"heartbeat: no rank 0 at {self.host}:{self.port} after "
                                       f"{connect_timeout:.0f} s") from None
                time.sleep(0.2)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        line = _Line(sock)
        line.send(f"hello {self.rank}")
        self.peers[0] = line

    # ---------------------------------------------------------------- watching
    def _read(self, rank: int, line: _Line) -> None:
        for message in line.messages():
            parts = message.split(" ", 3)
            if parts[0] == "bye":
                line.said_bye = True
            elif parts[0] == "lost" and len(parts) == 4:   # from the hub: another rank is gone
                lost_rank, address, rest = int(parts[1]), parts[2], parts[3]
                reason, _, checkpoint = rest.partition("\t")
                self._declare(LostRank(lost_rank, address, reason, checkpoint), tell_others=False)
        if not line.said_bye and not self._stopping.is_set():
            self._declare(LostRank(rank, self.addresses.get(rank, "?"), "its connection closed (the process ended)",
                                   self.checkpoint() if self.rank == 0 else ""))

    def _watch(self) -> None:
        while not self._stopping.is_set() and not self._lost.is_set():
            for line in self.peers.values():
                line.send("beat")
            now = time.monotonic()
            for rank, line in self.peers.items():
                if not line.said_bye and now - line.last_seen > self.timeout:
                    self._declare(LostRank(rank, self.addresses.get(rank, "?"),
                                           f"no heartbeat for {self.timeout:.0f} s (the link or its machine is down)",
                                           self.checkpoint() if self.rank == 0 else ""))
                    return
            time.sleep(self.interval)

    def _declare(self, lost: LostRank, tell_others: bool = True) -> None:
        if self._lost.is_set() or self._stopping.is_set():
            return
        self._lost.set()
        if self.rank == 0 and tell_others:
            for rank, line in self.peers.items():
                if rank != lost.rank:
                    line.send(f"lost {lost.rank} {lost.address} {lost.reason}\t{lost.checkpoint}")
        self.on_lost(lost)
