import json

from pipeline.cli import main


def test_extract_html_prints_document_json(tmp_path, capsys):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Cats</title></head><body><nav><a href='/'>Home</a></nav><article>"
        "<p>Cats sleep for most of the day, often in the sunniest spot of the house.</p>"
        "<img src='cat.jpg' alt='A sleeping cat'>"
        "<p>Kittens sleep even more than adult cats, up to twenty hours a day.</p></article></body></html>"
    )
    assert main(["extract-html", str(page), "--url", "https://example.org/cats/"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["title"] == "Cats" and doc["language"] == "en"
    assert [n["type"] for n in doc["nodes"]] == ["text", "image", "text"]
    assert doc["nodes"][1]["url"] == "https://example.org/cats/cat.jpg"


def test_demo_runs_and_prints_summary(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path), "--engine", "local", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "documents: 3 html, 2 pdf set aside" in out and "shards: 1 tar(s), 3 samples" in out
    assert "languages: en 2, zh 1" in out
    manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text())
    assert manifest["stages"]["extract"]["in"] == 26
    assert manifest["stages"]["write_interleaved"]["out"] == 3
    # A second run skips both finished stages.
    assert main(["demo", "--output", str(tmp_path), "--engine", "local", "--no-progress"]) == 0
    assert "already finished, skipped" in capsys.readouterr().out


def test_misconfiguration_is_one_clear_line(tmp_path, capsys):
    assert main(["run", "--output", str(tmp_path)]) == 2
    assert "no input" in capsys.readouterr().err
    assert main(["run", "-i", str(tmp_path / "nothing-*.warc.gz"), "-o", str(tmp_path)]) == 2
    assert "nothing-" in capsys.readouterr().err
    assert main(["run", "-i", "x", "-o", str(tmp_path), "--set", "shards.bogus=1"]) == 2
    assert "unknown config key" in capsys.readouterr().err


def test_show_config_round_trips_through_a_file(tmp_path, capsys):
    assert main(["show-config", "--set", "shards.max_samples=42"]) == 0
    text = capsys.readouterr().out
    assert "max_samples: 42" in text and "# config hash" in text
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["show-config", "--config", str(path)]) == 0
    assert capsys.readouterr().out == text
