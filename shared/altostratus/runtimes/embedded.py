"""The embedded service (`alto serve`): the API, the run state machine's runner and the
event/webhook workers in one process, on the SQLite and file adapters."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType

import uvicorn

from altostratus.domain.view import RunView
from altostratus.ports.browser import BrowserProvider
from altostratus.runtimes import compose, data_dir
from altostratus.runtimes.http_server import ApiAsgiApp
from altostratus.runtimes.local import LocalRuntime, build_local, local_stores
from altostratus.runtimes.local_runner import LocalRunner
from altostratus.runtimes.settings import Settings
from altostratus.runtimes.startup_errors import PortInUseError


class EmbeddedService:
    """`secrets` gives a run's named secrets (typed through `{{secret:NAME}}` placeholders, never
    shown to the model); none by default."""

    def __init__(
        self,
        settings: Settings,
        *,
        browsers: BrowserProvider | None = None,
        secrets: Callable[[RunView], Mapping[str, str]] | None = None,
    ) -> None:
        self.settings = settings
        # Before anything reads or writes the directory: one server per data directory.
        data_dir.prepare(settings.data_dir)
        self._lock = data_dir.DataDirLock(settings.data_dir)
        self._lock.acquire()
        try:
            self._compose(settings, browsers, secrets)
        except BaseException:
            self._lock.release()
            raise
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = settings.base_url()

    def _compose(
        self,
        settings: Settings,
        browsers: BrowserProvider | None,
        secrets: Callable[[RunView], Mapping[str, str]] | None,
    ) -> None:
        local = local_stores(settings)
        key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
        gate = compose.admission(settings, local.stores)
        lifecycle = compose.lifecycle(settings, local.stores, gate)
        slices = compose.agent_slices(
            settings, local.stores, api_key=key, browsers=browsers, embedded=True, gate=gate, secrets=secrets
        )
        self.runner = LocalRunner(
            handlers={
                "run_start": lifecycle.start,
                "agent_step": slices.run,
                "run_finish": lifecycle.finish,
                "run_failed": lifecycle.failed,
            },
            event_log=local.event_log,
            unfinished=local.event_log.unfinished_runs,
            workers=settings.max_browsers,
            on_worker_exit=slices.close_worker,
            admission=gate,
        )
        orchestrator = self.runner if settings.execute_runs else None
        self.runtime: LocalRuntime = build_local(settings, local=local, orchestrator=orchestrator)

    def _listen(self) -> socket.socket:
        host, port = self.settings.host, self.settings.port
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            return socket.create_server((host, port), family=family, backlog=2048)
        except OSError as exc:
            raise PortInUseError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def start(self, *, timeout_s: float = 30.0) -> None:
        # The port first: a server that cannot listen must stop before it touches any run.
        listener = self._listen()
        # Requests a dead process was handling hold their idempotency keys; this process owns
        # the directory now, so they are released for the retries to come.
        self.runtime.release_stale_locks()
        if self.settings.execute_runs:
            # Before the API answers: nobody should ever see a run a dead process left running.
            self.runner.recover()
        app = ApiAsgiApp(self.runtime.api(), max_body_bytes=self.settings.max_body_bytes)
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, name="api-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(
                    f"the API server could not listen on {self.settings.host}:{self.settings.port}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start in time")
            time.sleep(0.01)
        port = listener.getsockname()[1]
        self.base_url = self.settings.model_copy(update={"port": port}).base_url()
        self.runtime.serve_at(self.base_url)  # signed artifact links and app_url point here
        self.runtime.start_integrations()
        if self.settings.execute_runs:
            self.runner.start_workers()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.runner.shutdown(timeout=30)
        self.runtime.close()
        self._lock.release()

    def __enter__(self) -> EmbeddedService:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
