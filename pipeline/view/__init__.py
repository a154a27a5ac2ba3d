"""``interleaf view``: a local web page over interleaved shards (documents as training sees
them, excluded documents and why)."""

from pipeline.view.server import ShardIndex, make_server, server_url, start_in_thread

__all__ = ["ShardIndex", "make_server", "server_url", "start_in_thread"]
