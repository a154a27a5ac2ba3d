import pytest

from pipeline.stage import MapStage, Stage, run_local
from pipeline.stats import AccountingError, RunStats, StageStats
from schemas import Document, TextNode


class DropShort(MapStage):
    name = "drop_short"

    def apply(self, doc):
        return doc if len(doc.text) >= 5 else "too_short"


class Upper(MapStage):
    name = "upper"

    def setup(self):
        self.ready = True

    def apply(self, doc):
        assert self.ready
        doc.nodes = [TextNode(n.text.upper()) for n in doc.text_nodes]
        return doc


def docs():
    return [Document(doc_id=str(i), url=f"u{i}", nodes=[TextNode("x" * i)]) for i in range(8)]


def test_run_local_chains_and_accounts():
    out, stats = run_local([DropShort(), Upper()], docs())
    assert [d.doc_id for d in out] == ["5", "6", "7"]
    assert out[0].text == "XXXXX"
    d = stats.to_dict()
    assert d["drop_short"] == {"in": 8, "out": 3, "dropped": {"too_short": 5}, "counters": {}}
    assert d["upper"]["in"] == 3 and d["upper"]["out"] == 3


def test_stats_merge_and_check():
    a = StageStats("s", n_in=3, n_out=2)
    a.drop("r")
    b = StageStats.from_dict("s", a.to_dict())
    run = RunStats([a])
    run.add(b)
    assert run.stage("s").n_in == 6 and run.stage("s").dropped["r"] == 2
    run.check()
    run.stage("s").n_out += 1
    with pytest.raises(AccountingError, match="in=6"):
        run.check()


class Leaky(Stage):
    name = "leaky"

    def process(self, docs):
        for d in docs:
            self.stats.n_in += 1  # counts in, never out or dropped: a bug the check must catch
            if d.doc_id == "0":
                self.stats.n_out += 1
                yield d


def test_unbalanced_stage_is_caught():
    with pytest.raises(AccountingError):
        run_local([Leaky()], docs())
