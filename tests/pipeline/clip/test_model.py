"""Loading open_clip models (tiny config, random or local weights) and deterministic encoding.

No network and no pretrained weights: the bundled ``interleaf-tiny`` config (64x64 images,
context 32) with random weights or weights saved by the test itself. No GPU here either, so
the CUDA / half-precision paths are only checked for their CPU behaviour.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from pipeline.clip.model import CONFIGS_DIR, ClipSpec, clear_cache, load_clip, register_configs, resolve_device
from pipeline.config import ClipConfig

TINY = "interleaf-tiny"


@pytest.fixture(scope="module")
def tiny():
    return load_clip(ClipSpec(TINY))


def _images(n: int, seed: int) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (40 + i % 30, 50, 3), dtype=np.uint8)) for i in range(n)]


def _reference_model(seed: int) -> torch.nn.Module:
    """A tiny model with other weights than load_clip's seeded random init."""
    register_configs()
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY)
    with torch.no_grad():
        model.logit_scale.fill_(3.0)
    return model.eval()


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k].cpu(), sb[k].cpu()), k


# -- device and precision ---------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_auto_device_is_cpu_fp32_without_gpu():
    # This machine has no GPU: auto must pick CPU in fp32.
    assert resolve_device("auto", "auto") == ("cpu", torch.float32)
    assert resolve_device("cpu", "fp32") == ("cpu", torch.float32)
    with pytest.raises(ValueError, match="needs a GPU"):
        resolve_device("cpu", "bf16")
    with pytest.warns(UserWarning, match="fp32"):
        assert resolve_device("auto", "fp16") == ("cpu", torch.float32)
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda", "auto")
    with pytest.raises(ValueError):
        resolve_device("tpu", "auto")
    with pytest.raises(ValueError):
        resolve_device("auto", "fp8")


# -- loading ----------------------------------------------------------------------------------
def test_tiny_random_init(tiny):
    assert tiny.device == "cpu" and tiny.dtype == torch.float32
    assert not tiny.model.training
    assert tiny.context_length == 32
    assert tuple(tiny.tokenize(["a red circle"]).shape) == (1, 32)
    assert tiny.label == TINY
    assert load_clip(ClipSpec(TINY)) is tiny  # cached per process
    img = tiny.encode_images(_images(3, 0))
    txt = tiny.encode_texts(["a red circle", "", "x" * 5000])  # empty and long texts are fine
    for emb in (img, txt):
        assert emb.dtype == np.float32 and emb.shape == (3, 64)
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert tiny.encode_texts([]).shape == (0, 64)


def test_random_init_is_the_same_in_every_process():
    # Workers must agree even without weights: init is seeded and leaves the global RNG alone.
    first = load_clip(ClipSpec(TINY, precision="fp32"))
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    second = load_clip(ClipSpec(TINY, device="cpu"))  # another spec: loaded again
    assert torch.equal(torch.random.get_rng_state(), state)
    assert second is not first
    _assert_same_weights(first.model, second.model)


def test_open_clip_train_checkpoint_loads(tmp_path, tiny):
    reference = _reference_model(seed=7)
    optimizer = torch.optim.AdamW(reference.parameters(), lr=1e-3)
    # What open_clip_train writes after distributed training: DDP's 'module.' prefix.
    path = tmp_path / "epoch_3.pt"
    torch.save({"epoch": 3, "name": "tiny-run", "state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()},
                "optimizer": optimizer.state_dict()}, path)
    clear_cache()
    loaded = load_clip(ClipSpec.from_config(ClipConfig(model=TINY, checkpoint=str(path))))
    assert loaded.label == f"{TINY}@epoch_3.pt"
    _assert_same_weights(loaded.model, reference)

    images = _images(4, 1)
    texts = ["a red circle", "a blue square", "", "a green triangle"]
    with torch.inference_mode():
        pixels = torch.stack([loaded.preprocess(im) for im in images])
        ref_img = torch.nn.functional.normalize(reference.encode_image(pixels), dim=-1).numpy()
        ref_txt = torch.nn.functional.normalize(reference.encode_text(loaded.tokenize(texts)), dim=-1).numpy()
    np.testing.assert_allclose(loaded.encode_images(images), ref_img, atol=1e-6)
    np.testing.assert_allclose(loaded.encode_texts(texts), ref_txt, atol=1e-6)
    # Different weights than the random init: the checkpoint really was used.
    assert not np.allclose(tiny.encode_texts(texts), ref_txt, atol=1e-3)


def test_plain_state_dict_loads(tmp_path):
    reference = _reference_model(seed=8)
    path = tmp_path / "weights.pt"
    torch.save(reference.state_dict(), path)
    loaded = load_clip(ClipSpec(TINY, checkpoint=str(path)))
    _assert_same_weights(loaded.model, reference)


def test_missing_checkpoint_and_bad_specs(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_clip(ClipSpec(TINY, checkpoint=str(missing)))
    with pytest.raises(FileNotFoundError, match="cfg.json"):
        load_clip(ClipSpec(TINY, model_config=str(tmp_path / "cfg.json")))
    with pytest.raises(ValueError, match="not both"):
        load_clip(ClipSpec(TINY, pretrained="openai", checkpoint=str(missing)))
    with pytest.raises(ValueError, match="unknown open_clip model"):
        load_clip(ClipSpec("no-such-model"))
    # Weights of another architecture: a clear error naming the file.
    wrong = tmp_path / "wrong.pt"
    torch.save({"state_dict": {"module.foo": torch.zeros(1)}}, wrong)
    with pytest.raises(RuntimeError, match="wrong.pt"):
        load_clip(ClipSpec(TINY, checkpoint=str(wrong)))


def test_model_config_file_is_registered(tmp_path):
    cfg = json.loads((CONFIGS_DIR / f"{TINY}.json").read_text())
    cfg["text_cfg"]["context_length"] = 16
    path = tmp_path / "my-tiny.json"
    path.write_text(json.dumps(cfg))
    loaded = load_clip(ClipSpec("my-tiny", model_config=str(path)))
    assert loaded.context_length == 16
    assert tuple(loaded.tokenize(["a b c"]).shape) == (1, 16)


# -- determinism ------------------------------------------------------------------------------
def test_embeddings_do_not_depend_on_the_batch(tiny):
    images = _images(70, 2)
    texts = [f"caption number {i} " * (i % 5 + 1) for i in range(70)]
    target_img, target_txt = images[0], texts[0]
    runs_img, runs_txt = [], []
    # Alone, with 2 neighbours, in a full batch, with other neighbours (batch_size 64).
    for start, n in ((1, 0), (1, 2), (1, 63), (30, 5)):
        runs_img.append(tiny.encode_images([target_img] + images[start:start + n], 64)[0])
        runs_txt.append(tiny.encode_texts([target_txt] + texts[start:start + n], 64)[0])
    # Same image at another position of its batch, and in a later batch of the same call.
    runs_img.append(tiny.encode_images(images[1:10] + [target_img], 64)[9])
    runs_img.append(tiny.encode_images(images[1:65] + [target_img], 64)[64])
    runs_txt.append(tiny.encode_texts(texts[1:65] + [target_txt], 64)[64])
    for run in runs_img[1:]:
        assert np.array_equal(run, runs_img[0])  # bit-identical: every pass is padded to 64
    for run in runs_txt[1:]:
        assert np.array_equal(run, runs_txt[0])
    # Another configured batch size: still the same to float32 noise.
    for batch_size in (1, 3, 8):
        np.testing.assert_allclose(tiny.encode_images([target_img], batch_size)[0], runs_img[0], atol=1e-6)
        np.testing.assert_allclose(tiny.encode_texts([target_txt], batch_size)[0], runs_txt[0], atol=1e-6)


def test_no_warnings_from_loading_the_tiny_model():
    clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_clip(ClipSpec(TINY))
