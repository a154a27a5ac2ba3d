"""``interleaf serve``: load the model (and index) up front, then run uvicorn.

Everything that can be misconfigured (checkpoint, model config, index built with other
weights, limits) is checked before the socket opens, so a mistake is a one-line CLI error and
not a server that fails its first request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.serve.app import ServeSettings, ServeState, create_app
from pipeline.serve.index import Index
from pipeline.serve.loading import ModelSource, checkpoint_id, load_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    model: ModelSource
    settings: ServeSettings
    index: str | None = None
    host: str = "127.0.0.1"  # loopback by default: exposing the API is an explicit choice
    port: int = 8000
    log_level: str = "info"


def prepare(options: ServeOptions) -> ServeState:
    """Load and check everything; the state ``create_app`` serves."""
    options.settings.validate()
    options.model.validate()
    index = Index.load(options.index) if options.index else None
    if index is not None:
        index.check_model(options.model.model, checkpoint_id(options.model))
    clip = load_model(options.model)
    return ServeState(clip=clip, settings=options.settings, index=index, random_weights=options.model.random_weights)


def serve(options: ServeOptions) -> None:
    import uvicorn

    state = prepare(options)
    log.info("serving %s on %s (index: %s items)", state.clip.label, state.clip.device,
             len(state.index) if state.index is not None else 0)
    uvicorn.run(create_app(state), host=options.host, port=options.port, log_level=options.log_level)
