import json

import pytest

from pipeline.config import Config, ConfigError, config_from_json, load_config


def test_defaults_and_yaml_with_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("shards:\n  max_samples: 10\ninput:\n  paths: [a.warc.gz]\n")
    cfg = load_config(path, ["shards.max_bytes=2048", "extract.langid=false",
                             "spark.conf.spark.executor.memory=4g", "input.paths=[x, y]"])
    assert cfg.shards.max_samples == 10 and cfg.shards.max_bytes == 2048
    assert cfg.extract.langid is False
    assert cfg.spark.conf == {"spark.executor.memory": "4g"}
    assert cfg.input.paths == ["x", "y"]
    assert Config().extract.min_text_chars == 1


def test_unknown_keys_and_bad_types_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key.*shards.max_sample"):
        load_config(None, ["shards.max_sample=3"])
    with pytest.raises(ConfigError, match="shards.max_samples: expected an integer"):
        load_config(None, ["shards.max_samples=lots"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["shards.max_samples"])
    with pytest.raises(ConfigError, match="input.reader"):
        load_config(None, ["input.reader=magic"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_hash_tracks_data_sections_only():
    a, b = Config(), Config()
    b.run.output = "elsewhere"
    b.spark.master = "spark://x:7077"
    assert a.hash() == b.hash()
    b.shards.max_samples = 5
    assert a.hash() != b.hash()
    assert a.hash(("input", "extract")) == b.hash(("input", "extract"))


def test_json_round_trip():
    cfg = load_config(None, ["shards.max_samples=7", "input.paths=[a]"])
    back = config_from_json(cfg.to_json())
    assert back == cfg and json.loads(cfg.to_json())["shards"]["max_samples"] == 7
