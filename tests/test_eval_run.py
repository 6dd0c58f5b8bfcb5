"""The evaluation run end to end on a tiny rendered dataset: JSON schema, report, Delta rows, peers' parsers."""
import json
import shutil

import cv2
import numpy as np
import pytest

from jobs import cli
from jobs.evaluate import append_evaluations, evaluation_rows, flat_metrics
from models.eval.pages import EvalConfig
from models.eval.runner import engine_predict, evaluate_dataset
from models.geometry import box_to_quad
from models.gtio import page_from_dict, page_to_dict, save_page
from models.peers.rapid import result_to_page
from models.peers.tesseract import parse_tsv
from models.types import Page, Word

TEXT = [["INVOICE", "2024"], ["TOTAL", "12.50"], ["THANK", "YOU"]]


def render_page(seed: int) -> tuple[np.ndarray, Page]:
    """A white page with three lines of Hershey text and exact word boxes from cv2.getTextSize."""
    rng = np.random.default_rng(seed)
    img = np.full((240, 420, 3), 255, np.uint8)
    words, y = [], 50 + int(rng.integers(0, 10))
    for line in TEXT:
        x = 20 + int(rng.integers(0, 10))
        for t in line:
            (w, h), base = cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, 1.2, 2)
            cv2.putText(img, t, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2, cv2.LINE_AA)
            words.append(Word(quad=box_to_quad(x, y - h, x + w, y + base), text=t))
            x += w + 25
        y += 70
    return img, Page(width=420, height=240, words=words)


@pytest.fixture
def dataset(tmp_path):
    """Two rendered pages in the benchdata layout + saved predictions (page 0 perfect, page 1 one word wrong)."""
    root, preds = tmp_path / "tiny", tmp_path / "preds"
    (root / "images").mkdir(parents=True)
    for k in range(2):
        img, gt = render_page(k)
        cv2.imwrite(str(root / "images" / f"p{k}.png"), img)
        d = page_to_dict(gt, f"p{k}.png")
        d["granularity"] = "word"
        (root / "gt").mkdir(exist_ok=True)
        (root / "gt" / f"p{k}.json").write_text(json.dumps(d))
        pred = page_from_dict(d)
        if k == 1:
            pred.words[2].text = "T0TAL"
        save_page(pred, preds / f"p{k}.json", f"p{k}.png")
    return root, preds


def test_cli_json_schema_and_report(dataset, tmp_path, capsys):
    root, preds = dataset
    rep = tmp_path / "report"
    rc = cli.main(["evaluate", str(root), "--predictions", str(preds), "--json", "--no-mlflow", "--report", str(rep)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schema"] == "lakeocr.evaluation/1"
    assert {"engine", "engine_version", "model_versions", "config", "peak_rss_mb", "datasets", "report"} <= set(out)
    m = out["datasets"]["tiny"]
    assert {"pages", "det", "e2e", "rec", "page_cer", "page_cer_nospace", "bow", "fields", "links",
            "pages_per_s", "pages_per_cpu_s"} <= set(m)
    assert m["pages"] == 2 and m["det"]["hmean"] == 1.0
    assert m["e2e"]["tp"] == 11 and m["e2e"]["n_gt"] == 12
    assert m["rec"]["cer"] == pytest.approx(1 / sum(len(t) for line in TEXT for t in line) / 2)
    assert m["fields"] is None and m["links"] is None
    text = (rep / "README.md").read_text()
    assert "| tiny | 2 |" in text and "`TOTAL` | `T0TAL`" in text
    drawn = sorted((rep / "pages").glob("*.png"))
    assert len(drawn) == 2 and cv2.imread(str(drawn[0])).shape == (240, 420, 3)
    assert "tiny.det.hmean" in flat_metrics(out)


def test_cli_rejects_a_folder_that_is_not_a_dataset(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path), "--predictions", str(tmp_path), "--no-mlflow"]) == 2
    assert "images/ and gt/" in capsys.readouterr().err


class _Echo:
    """An engine that returns a fixed page, to check the runner times and scores every page."""
    name, version = "echo", "0"

    def __init__(self, page):
        self.page = page

    def ocr(self, image):
        assert image.ndim == 3
        return self.page


def test_runner_scores_an_engine(dataset):
    root, _ = dataset
    run = evaluate_dataset(root, engine_predict(_Echo(Page(width=420, height=240))), EvalConfig())
    assert run.metrics["pages"] == 2 and run.metrics["det"]["recall"] == 0.0
    assert run.metrics["pages_per_s"] > 0 and all(c.result.seconds is not None for c in run.cases)


def test_evaluations_delta_table_appends(dataset, tmp_path):
    deltalake = pytest.importorskip("deltalake")
    root, preds = dataset
    summary = {"evaluation_id": "e1", "started": "2026-01-01T00:00:00", "engine": "saved", "engine_version": "x",
               "model_versions": {"detector": "abc"}, "peak_rss_mb": {"self": 10.0},
               "datasets": {"tiny": evaluate_dataset(root, lambda p, i: page_from_dict(
                   json.loads((preds / f"{p.stem}.json").read_text()))).metrics}}
    table = str(tmp_path / "evaluations")
    append_evaluations(summary, table)
    append_evaluations({**summary, "evaluation_id": "e2"}, table)
    df = deltalake.DeltaTable(table).to_pandas()
    assert sorted(df["evaluation_id"]) == ["e1", "e2"] and set(df["det_hmean"]) == {1.0}
    assert set(evaluation_rows(summary)[0]) == set(df.columns)


# ------------------------------------------------------------------------------------------ peers
TSV = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
       "1\t1\t0\t0\t0\t0\t0\t0\t200\t100\t-1\t\n"
       "4\t1\t1\t1\t1\t0\t10\t10\t120\t20\t-1\t\n"
       "5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t96.5\tHello\n"
       "5\t1\t1\t1\t1\t2\t70\t10\t60\t20\t91\tworld\n"
       "4\t1\t1\t1\t2\t0\t10\t40\t30\t20\t-1\t\n"
       "5\t1\t1\t1\t2\t1\t10\t40\t30\t20\t-1\t \n")


def test_parse_tesseract_tsv():
    page = parse_tsv(TSV, 200, 100)
    assert [w.text for w in page.words] == ["Hello", "world"]
    assert page.words[0].conf == pytest.approx(0.965) and [w.line_id for w in page.words] == [0, 0]
    assert len(page.lines) == 1 and page.lines[0].text == "Hello world" and page.lines[0].word_ids == [0, 1]
    assert np.allclose(page.words[1].quad, box_to_quad(70, 10, 130, 30))
    with pytest.raises(ValueError):
        parse_tsv("level\tleft\n5\tx\n", 10, 10)


def test_rapidocr_result_split_into_words():
    chars = list("ab cd")
    boxes = [[[10 + 10 * i, 0], [18 + 10 * i, 0], [18 + 10 * i, 20], [10 + 10 * i, 20]] for i in range(5)]
    page = result_to_page([[[[10, 0], [60, 0], [60, 20], [10, 20]], "ab cd", 0.9, boxes, chars, [1.0] * 5]], 100, 40)
    assert [w.text for w in page.words] == ["ab", "cd"] and page.lines[0].word_ids == [0, 1]
    assert np.allclose(page.words[1].quad, box_to_quad(40, 0, 58, 20), atol=0.5)
    assert result_to_page(None, 100, 40).words == []


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed (optional peer)")
def test_tesseract_reads_a_rendered_page():
    from models.peers.tesseract import TesseractEngine

    img, gt = render_page(3)
    page = TesseractEngine().ocr(img)
    assert (page.width, page.height) == (420, 240)
    from models.eval.pages import evaluate_page
    r = evaluate_page(page, gt)
    assert r.det_tp >= 4 and r.e2e_tp >= 3


def test_benchmarks_md_renders_results_and_errors(dataset, tmp_path, monkeypatch, capsys):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("make_benchmarks_md",
                                                  Path(__file__).resolve().parent.parent / "bench" / "make_benchmarks_md.py")
    mbm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mbm)
    root, preds = dataset
    monkeypatch.setattr(mbm, "RESULTS", tmp_path / "results")
    mbm.RESULTS.mkdir()
    assert cli.main(["evaluate", str(root), "--predictions", str(preds), "--json", "--no-mlflow",
                     "--save-json", str(mbm.result_path("tesseract-eng", "tiny"))]) == 0
    mbm.result_path("rapidocr", "tiny", ".error").write_text("rapidocr not installed\n")
    md = mbm.render(["tesseract-eng", "rapidocr", "lakeocr"], ["tiny", "absent"])
    assert "### tiny" in md and "### absent" not in md
    assert "| tesseract-eng | saved-predictions | 1.000 | 1.000 | 1.000 | 0.917 |" in md
    assert "| rapidocr | not run: rapidocr not installed |" in md and "| lakeocr |" not in md


def test_lakeocr_engine_run_is_logged_to_mlflow_with_its_model_versions(dataset, tmp_path, monkeypatch, capsys):
    mlflow = pytest.importorskip("mlflow")
    import models.zoo
    from tests.conftest import FakePipeline

    monkeypatch.setattr(models.zoo, "load_pipeline", lambda **kw: FakePipeline("7"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    root, _ = dataset
    assert cli.main(["evaluate", str(root), "--engine", "lakeocr", "--json",
                     "--weights-dir", str(tmp_path / "no-weights")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "lakeocr" and out["model_versions"] == {"detector": "det7", "recognizer": "rec7"}
    run = mlflow.get_run(out["mlflow_run_id"])
    assert run.data.tags["model_version.detector"] == "det7" and run.data.params["engine"] == "lakeocr"
    assert run.data.metrics["tiny.det.n_gt"] == 12.0


def test_gt_boxes_mode_feeds_the_gt_quads_to_the_readers(dataset, monkeypatch, capsys):
    import models.zoo
    from models.pipeline import Pipeline

    class Reader:
        version = "r1"

        def recognize(self, crops, lines=False):
            assert all(c.shape[0] == 32 for c in crops)
            return [("INVOICE", 0.9)] * len(crops)

    monkeypatch.setattr(models.zoo, "load_pipeline",
                        lambda **kw: Pipeline(detector=kw["detector"], recognizers={"*": Reader()},
                                              versions={"recognizer": "r1"}))
    root, _ = dataset
    assert cli.main(["evaluate", str(root), "--engine", "lakeocr", "--gt-boxes", "--json", "--no-mlflow"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = out["datasets"]["tiny"]
    assert out["engine"] == "lakeocr+gt-boxes" and out["model_versions"] == {"recognizer": "r1"}
    assert m["det"]["hmean"] == 1.0 and m["e2e"]["tp"] == 2 and m["rec"]["n_pairs"] == 12


def test_gt_boxes_mode_keeps_given_lines_and_reads_them_as_lines(tmp_path, monkeypatch, capsys):
    """A line-granular dataset (SROIE-like: "TOTAL" and "12.50" given as two lines on one row): each GT line is
    read with the line decoding (spaces inside kept), and the clusterer keeps the given lines instead of
    grouping the row into one line, so every GT line is matched."""
    import models.zoo
    from models.pipeline import Pipeline
    from models.postocr.cluster import Clusterer

    img, gt = render_page(3)
    line_words = [[0, 1], [2], [3], [4, 5]]        # "INVOICE 2024" | "TOTAL" | "12.50" | "THANK YOU"
    d = {"image": "p0.png", "width": gt.width, "height": gt.height, "granularity": "line", "words": [],
         "lines": []}
    for ids in line_words:
        boxes = np.array([gt.words[i].quad for i in ids]).reshape(-1, 2)
        x0, y0 = boxes.min(0)
        x1, y1 = boxes.max(0)
        d["lines"].append({"text": " ".join(gt.words[i].text for i in ids),
                           "quad": box_to_quad(x0, y0, x1, y1).tolist(), "word_ids": []})
    root = tmp_path / "lines"
    (root / "images").mkdir(parents=True)
    (root / "gt").mkdir()
    cv2.imwrite(str(root / "images" / "p0.png"), img)
    (root / "gt" / "p0.json").write_text(json.dumps(d))
    texts = iter([ln["text"] for ln in d["lines"]])
    seen = []

    class Reader:
        version = "r1"

        def recognize(self, crops, lines=False):
            seen.append(lines)
            return [(next(texts), 0.9) for _ in crops]

    monkeypatch.setattr(models.zoo, "load_pipeline",
                        lambda **kw: Pipeline(detector=kw["detector"], recognizers={"*": Reader()},
                                              stages=[Clusterer()], versions={"recognizer": "r1"}))
    assert cli.main(["evaluate", str(root), "--engine", "lakeocr", "--gt-boxes", "--json", "--no-mlflow"]) == 0
    m = json.loads(capsys.readouterr().out)["datasets"]["lines"]
    assert seen == [True]
    assert m["det"]["n_pred"] == 4 and m["det"]["hmean"] == 1.0 and m["e2e"]["tp"] == 4
