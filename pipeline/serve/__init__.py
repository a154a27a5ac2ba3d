"""Serving a trained open_clip model (CLIP or CoCa) over HTTP, and the embedding index it searches.

``interleaf index`` embeds finished shards into ``OUT/index/`` (``index.py``, reading
samples with ``samples.py``); ``interleaf serve`` loads the model (``loading.py``) and the
index, and answers HTTP requests (``app.py``: FastAPI routes, ``api.py``: request and
response models, ``limits.py``: body size limits, ``images.py``: safe upload decoding),
gathering concurrent requests into padded model passes (``batcher.py``).
"""
