"""A local API server, start to end: the model loaded by its engine link, then the routes served
by uvicorn until stopped. The command line runs it on its main thread, the app on a thread of its
own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.server.http_api import RequestLog, ServerConfig, build_app
from app.server.link import EngineLink, LinkState


class LocalServer:
    def __init__(self, link: EngineLink, config: ServerConfig, log: RequestLog) -> None:
        import uvicorn

        self.link = link
        self.config = config
        self.log = log
        self._server = uvicorn.Server(
            uvicorn.Config(
                build_app(link, config, log),
                host=config.host,
                port=config.port,
                log_level="warning",
                access_log=False,
            )
        )

    @property
    def url(self) -> str:
        """The OpenAI-compatible base address (Ollama clients take it without ``/v1``)."""
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self.config.port}/v1"

    async def run(self, on_ready: Callable[[str], None]) -> str | None:
        """Load the model, then serve until ``stop``; ``on_ready(url)`` once requests are taken.
        Returns why it could not start (None: it served)."""
        await asyncio.to_thread(self.link.start, asyncio.get_running_loop())
        if self.link.state != LinkState.READY:
            return f"the model could not be loaded: {self.link.error}"
        serving = asyncio.create_task(self._server.serve())
        while not self._server.started and not serving.done():
            await asyncio.sleep(0.05)
        if not self._server.started:
            await serving
            return f"port {self.config.port} is taken by another program"
        on_ready(self.url)
        await serving
        return None

    def stop(self) -> None:
        self._server.should_exit = True
