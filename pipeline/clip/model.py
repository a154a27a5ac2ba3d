"""Loading an open_clip model once per process, and encoding images and texts deterministically.

Weights come from a local checkpoint file (``clip.checkpoint``: a plain state_dict, an
open_clip checkpoint, or the ``{"epoch", "name", "state_dict", ...}`` file open_clip_train
writes, whose keys start with ``module.`` after distributed training) or from an open_clip
pretrained tag (``clip.pretrained``: needs a reachable hub). With neither, the weights are
random (seeded, so every worker gets the same ones): scores are then meaningless and a warning
is logged, but the pipeline still runs (tests, dry runs).

Device and precision (``resolve_device``): ``auto`` is CUDA when present (bf16 when the GPU
supports it, else fp16) and CPU fp32 otherwise. On CUDA the weights stay fp32 and the forward
passes run under ``torch.autocast`` (open_clip_train's ``amp`` / ``amp_bf16``). Half
precision on CPU: an explicit ``device: cpu`` with fp16 / bf16 is a contradiction and raises
``ValueError``; ``device: auto`` that finds no GPU falls back to fp32 with a warning, so one
config serves GPU and CPU workers.

Determinism across batch composition (measured on CPU, torch 2.14.1, MKL/oneDNN, 2 threads):
an embedding does NOT depend on its neighbours or its position within a batch of a given size,
but it DOES depend on the batch size: batch 1 (and 3) vs 4, 8, 16, 64 differ by up to
~1e-7 (interleaf-tiny 9e-8, ViT-B-32 1.6e-7), because the GEMM kernels are chosen by shape.
So every forward pass is padded to exactly ``batch_size`` rows (zero images, empty-string
tokens) and the padding rows are dropped: the same image or text then gives bit-identical
embeddings whatever else is in its batch, so scores do not change with partition counts,
document order within a task, or reruns. (Across different ``batch_size`` settings the
~1e-7 differences remain.) Thread counts (1 vs 2) changed nothing here; this module never
touches global torch thread settings — set them in the worker (``OMP_NUM_THREADS``,
``torch.set_num_threads``) if needed.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import ClipConfig
from pipeline.resources import package_dir

log = logging.getLogger(__name__)

# Bundled model configs: a real folder also when running from a zip (spark-submit --py-files).
CONFIGS_DIR = package_dir("pipeline.clip", "configs").resolve()
DEFAULT_BATCH_SIZE = 64
INIT_SEED = 0  # random weights (no checkpoint) are the same in every worker process


@dataclass(frozen=True)
class ClipSpec:
    """What identifies a loaded model: the cache key of ``load_clip``."""

    model: str
    pretrained: str | None = None
    checkpoint: str | None = None
    model_config: str | None = None
    device: str = "auto"
    precision: str = "auto"

    @classmethod
    def from_config(cls, config: ClipConfig) -> ClipSpec:
        return cls(model=config.model, pretrained=config.pretrained, checkpoint=config.checkpoint,
                   model_config=config.model_config, device=config.device, precision=config.precision)

    @property
    def label(self) -> str:
        """The ``model`` column of the scores table: name, plus ``@file`` for local weights."""
        return self.model + (f"@{Path(self.checkpoint).name}" if self.checkpoint else "")


def resolve_device(device: str = "auto", precision: str = "auto") -> tuple[str, Any]:
    """(torch device string, compute dtype). See the module docstring for the rules."""
    import torch

    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if precision != "auto" and precision not in dtypes:
        raise ValueError(f"clip.precision must be auto, fp32, bf16 or fp16, not {precision!r}")
    if device == "auto":
        resolved = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cpu" or device == "cuda" or device.startswith("cuda:"):
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"clip.device is {device!r} but CUDA is not available here")
        resolved = device
    else:
        raise ValueError(f"clip.device must be auto, cpu or cuda[:N], not {device!r}")

    if resolved == "cpu":
        if precision in ("bf16", "fp16"):
            if device == "cpu":
                raise ValueError(f"clip.precision {precision} needs a GPU; use fp32 (or auto) with device cpu")
            warnings.warn(f"clip.precision {precision}: no GPU found, running on CPU in fp32", stacklevel=2)
        return "cpu", torch.float32
    if precision == "auto":
        return resolved, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return resolved, dtypes[precision]


class LoadedClip:
    """An open_clip model in eval mode, its val transform and tokenizer, and batch encoders."""

    def __init__(self, spec: ClipSpec, model: Any, preprocess: Callable, tokenizer: Callable, device: str,
                 dtype: Any, context_length: int) -> None:
        self.spec = spec
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = dtype
        self.context_length = context_length
        self._image_shape = tuple(int(s) for s in _image_size(model))

    @property
    def label(self) -> str:
        return self.spec.label

    # -- images -----------------------------------------------------------------------------
    def preprocess_image(self, image: Any) -> Any:
        """PIL image → the model's input tensor (C, H, W), float32 on CPU."""
        return self.preprocess(image)

    def encode_images(self, images: Sequence[Any], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """PIL images → (n, dim) float32, L2-normalised."""
        return self.encode_pixels([self.preprocess(im) for im in images], batch_size)

    def encode_pixels(self, pixels: Sequence[Any], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Preprocessed tensors (C, H, W) → (n, dim) float32, L2-normalised, padded passes."""
        import torch

        def batch(rows: Sequence[Any]) -> Any:
            out = torch.zeros((batch_size, *self._image_shape), dtype=torch.float32)
            for i, row in enumerate(rows):
                out[i] = row
            return out

        return self._encode(pixels, batch_size, batch, self.model.encode_image)

    # -- texts ------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> Any:
        """Token ids (n, context_length): open_clip's tokenizer truncates to the context."""
        return self.tokenizer(list(texts))

    def encode_texts(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Texts → (n, dim) float32, L2-normalised, padded passes (padding: empty strings)."""
        import torch

        def batch(rows: Sequence[str]) -> Any:
            tokens = self.tokenize(list(rows) + [""] * (batch_size - len(rows)))
            return torch.as_tensor(tokens)

        return self._encode(texts, batch_size, batch, self.model.encode_text)

    # -- captions (CoCa) ----------------------------------------------------------------------
    @property
    def can_caption(self) -> bool:
        """Whether the model has a text decoder (open_clip's CoCa family)."""
        return callable(getattr(self.model, "generate", None))

    def caption_pixels(self, pixels: Sequence[Any], batch_size: int = DEFAULT_BATCH_SIZE,
                       max_tokens: int = 30, generation: str = "beam_search") -> list[str]:
        """Preprocessed tensors (C, H, W) → one generated caption each (CoCa ``generate``).

        Beam search is deterministic, and its passes are padded to ``batch_size`` like the
        encoders, so a caption does not depend on what else is in its batch. ``top_k`` /
        ``top_p`` sample under a fixed seed; ``torch.multinomial`` draws the rows of a batch
        from one generator in turn, so a sampled caption would depend on its row (measured:
        shifting images by 4 rows changed their captions). Sampling therefore runs one image
        per pass (``batch_size`` is ignored), each from the same seed: a caption depends on
        its image only. Needs ``transformers`` (extra ``clip``).
        """
        import torch

        if not self.can_caption:
            raise ValueError(f"model {self.spec.model!r} cannot caption: use a CoCa model (e.g. interleaf-coca-tiny)")
        if generation not in ("beam_search", "top_k", "top_p"):
            raise ValueError(f"generation must be beam_search, top_k or top_p, not {generation!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {batch_size}")
        if generation != "beam_search":
            batch_size = 1
        captions: list[str] = []
        for start in range(0, len(pixels), batch_size):
            rows = pixels[start:start + batch_size]
            x = torch.zeros((batch_size, *self._image_shape), dtype=torch.float32)
            for i, row in enumerate(rows):
                x[i] = row
            with torch.random.fork_rng(devices=[]), torch.inference_mode(), self._autocast():
                torch.manual_seed(INIT_SEED)
                tokens = self.model.generate(x.to(self.device), seq_len=max(max_tokens, 6),
                                             generation_type=generation)
            captions.extend(self.decode(ids) for ids in tokens[: len(rows)].tolist())
        return captions

    def decode(self, ids: Sequence[int]) -> str:
        """Token ids → text, without the start / end / padding tokens."""
        from open_clip.tokenizer import SimpleTokenizer

        if isinstance(self.tokenizer, SimpleTokenizer):
            text = self.tokenizer.decode([i for i in ids if i != 0])
            text = text.split("<end_of_text>")[0].replace("<start_of_text>", "")
        else:  # HFTokenizer
            text = self.tokenizer.tokenizer.decode(ids, skip_special_tokens=True)
        return " ".join(text.split())

    # -- shared -----------------------------------------------------------------------------
    def _encode(self, items: Sequence[Any], batch_size: int, make_batch: Callable[[Sequence[Any]], Any],
                encode: Callable[[Any], Any]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {batch_size}")
        out = []
        for start in range(0, len(items), batch_size):
            rows = items[start:start + batch_size]
            x = make_batch(rows).to(self.device)
            with torch.inference_mode(), self._autocast():
                features = encode(x)
            features = F.normalize(features[: len(rows)].float(), dim=-1)
            out.append(features.cpu().numpy().astype(np.float32, copy=False))
        if not out:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return np.concatenate(out)

    def _autocast(self) -> Any:
        import contextlib

        import torch

        if self.device.startswith("cuda") and self.dtype != torch.float32:
            return torch.autocast(device_type="cuda", dtype=self.dtype)
        return contextlib.nullcontext()

    @property
    def embed_dim(self) -> int:
        proj = getattr(self.model, "text_projection", None)
        if proj is not None and hasattr(proj, "shape"):
            return int(proj.shape[-1])
        return int(self.model.visual.output_dim)


def _image_size(model: Any) -> tuple[int, int, int]:
    size = getattr(model.visual, "image_size", 224)
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return 3, h, w


# -- registration and loading -------------------------------------------------------------------
_REGISTERED: set[str] = set()
_CACHE: dict[ClipSpec, LoadedClip] = {}
_LOCK = threading.Lock()


def register_configs(model_config: str | None = None) -> None:
    """Register the bundled configs folder, and ``model_config`` (a JSON file) when given.

    open_clip keeps a global list of config paths and rescans all of them on every call, so
    each path is registered once per process.
    """
    import open_clip

    paths = [CONFIGS_DIR]
    if model_config:
        path = Path(model_config).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"clip.model_config not found: {path}")
        paths.append(path)
    for path in paths:
        if str(path) not in _REGISTERED:
            open_clip.add_model_config(path)
            _REGISTERED.add(str(path))


def config_can_caption(spec: ClipSpec) -> bool | None:
    """Whether ``spec``'s model has a text decoder, read from its open_clip config (no weights
    loaded): True for the CoCa family (a ``multimodal_cfg``), False for CLIP models, None when
    the config cannot be read here (``hf-hub:`` models, unknown names: the load decides)."""
    import open_clip

    if spec.model.startswith("hf-hub:"):
        return None
    try:
        register_configs(spec.model_config)
        cfg = open_clip.get_model_config(spec.model)
    except (OSError, ValueError):
        return None
    return None if cfg is None else "multimodal_cfg" in cfg


def load_clip(spec: ClipSpec) -> LoadedClip:
    """The model for ``spec``, loaded once per process (Spark Python workers reuse it)."""
    with _LOCK:
        loaded = _CACHE.get(spec)
        if loaded is None:
            loaded = _CACHE[spec] = _load(spec)
        return loaded


def clear_cache() -> None:
    """Forget loaded models (tests; frees memory)."""
    with _LOCK:
        _CACHE.clear()


def _load(spec: ClipSpec) -> LoadedClip:
    import open_clip
    import torch
    from open_clip.transform import PreprocessCfg, image_transform_v2

    if spec.pretrained and spec.checkpoint:
        raise ValueError("set clip.pretrained or clip.checkpoint, not both")
    checkpoint = None
    if spec.checkpoint:
        checkpoint = Path(spec.checkpoint).expanduser()
        if not checkpoint.is_file():
            raise FileNotFoundError(f"clip.checkpoint not found: {checkpoint}")
    register_configs(spec.model_config)
    if not spec.model.startswith(("hf-hub:", "local-dir:")) and open_clip.get_model_config(spec.model) is None:
        raise ValueError(f"unknown open_clip model {spec.model!r}; set clip.model_config to its JSON config")
    device, dtype = resolve_device(spec.device, spec.precision)

    # Random init draws from torch's global RNG: seed a forked RNG so every worker builds the
    # same weights (before a checkpoint overwrites them) and the caller's RNG is untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(INIT_SEED)
        model = open_clip.create_model(spec.model, pretrained=spec.pretrained or None, device="cpu",
                                       precision="fp32")
    if checkpoint is not None:
        try:
            # Handles {'state_dict': ...} (open_clip_train) and the 'module.' prefix of DDP.
            open_clip.load_checkpoint(model, str(checkpoint), strict=True, weights_only=True, device="cpu")
        except RuntimeError as e:
            raise RuntimeError(f"clip.checkpoint {checkpoint} does not fit model {spec.model!r}: {e}") from e
    elif not spec.pretrained and not spec.model.startswith(("hf-hub:", "local-dir:")):
        log.warning("clip: model %s has random weights (no checkpoint, no pretrained tag): "
                    "scores are meaningless", spec.model)
    model = model.to(device).eval()
    preprocess = image_transform_v2(PreprocessCfg(**open_clip.get_model_preprocess_cfg(model)), is_train=False)
    context_length = int(getattr(model, "context_length", None) or 77)
    tokenizer = open_clip.get_tokenizer(spec.model, context_length=context_length)
    return LoadedClip(spec, model, preprocess, tokenizer, device, dtype, context_length)
