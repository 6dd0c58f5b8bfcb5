"""The UDF function without Spark: decoding, limits, error rows, rows in = rows out, the pipeline cache."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from jobs.samples import encrypted_pdf
from tests.conftest import FAIL_MARK, FakePipeline, FakeSource, encode, fake_ref, render_doc
from udfs import ocr
from udfs.decode import DecodeError, DecodeLimits, decode_document, sniff_format
from udfs.ocr import ModelRef, OcrConfig, cached_pipeline, ocr_frame
from udfs.schema import PAGE_ROW


def _docs(items: dict[str, bytes]) -> pd.DataFrame:
    return pd.DataFrame({"path": list(items), "content": list(items.values())})


@pytest.mark.parametrize("fmt,pages", [("PNG", 1), ("JPEG", 1), ("BMP", 1), ("WEBP", 1), ("TIFF", 3), ("PDF", 2)])
def test_decode_formats_and_page_counts(fmt, pages):
    img = render_doc(1)
    data = encode(img, fmt, [render_doc(2)] * (pages - 1))
    out = decode_document(data, DecodeLimits(pdf_dpi=72))
    assert len(out) == pages
    assert all(p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3 for p in out)
    if fmt in ("PNG", "BMP", "TIFF"):     # lossless: pixels survive exactly
        np.testing.assert_array_equal(out[0], np.asarray(img))


@pytest.mark.parametrize("data,error_class", [
    (b"", "EmptyFile"),
    (b"just some text, not a document", "UnsupportedFormat"),
    (encode(render_doc(3), "PNG")[:70], "CorruptImage"),
    (encode(render_doc(3), "PDF")[:200], "CorruptPdf"),
    (encrypted_pdf(), "EncryptedPdf"),
])
def test_bad_bytes_raise_decode_error_with_class(data, error_class):
    with pytest.raises(DecodeError) as info:
        decode_document(data)
    assert info.value.error_class == error_class
    assert str(info.value)


def test_limits_refuse_giant_images_and_too_many_pages_before_decoding():
    big = encode(render_doc(4, size=(400, 300)), "PNG")
    with pytest.raises(DecodeError, match="120,000 pixels") as info:
        decode_document(big, DecodeLimits(max_pixels=100_000))
    assert info.value.error_class == "ImageTooLarge"
    tiff = encode(render_doc(5), "TIFF", [render_doc(6)] * 3)
    with pytest.raises(DecodeError) as info:
        decode_document(tiff, DecodeLimits(max_pages=3))
    assert info.value.error_class == "TooManyPages"
    with pytest.raises(ValueError):
        DecodeLimits(max_pixels=0)


def test_sniff_format_uses_magic_bytes_not_names():
    assert sniff_format(encode(render_doc(1), "WEBP")) == "webp"
    assert sniff_format(b"  \n%PDF-1.7 ...") == "pdf"
    assert sniff_format(b"GIF89a") is None


def test_ocr_frame_rows_in_rows_out_with_error_rows():
    ref = fake_ref("7")
    docs = _docs({
        "a.png": encode(render_doc(10), "PNG"),
        "b.tif": encode(render_doc(11), "TIFF", [render_doc(12)]),
        "empty.png": b"",
        "c.pdf": encode(render_doc(13), "PDF")[:150],
    })
    out = ocr_frame(docs, FakePipeline("7"), ref)
    assert list(out.columns) == PAGE_ROW.names
    assert list(out["path"]) == ["a.png", "b.tif", "b.tif", "empty.png", "c.pdf"]   # input order kept
    assert list(out["page"]) == [1, 1, 2, 0, 0]
    assert out.loc[out.path == "b.tif", "n_pages"].tolist() == [2, 2]
    errs = out[out.error_stage.notna()]
    assert errs.error_class.tolist() == ["EmptyFile", "CorruptPdf"]
    assert (errs.words.map(len) == 0).all()
    assert out.loc[0, "doc_id"] == hashlib.sha256(docs.content[0]).hexdigest()
    assert set(out.model_version) == {"7"} and out.loc[0, "component_versions"] == dict(ref.component_versions)
    pa.Table.from_pandas(out, schema=PAGE_ROW, preserve_index=False)   # the declared schema holds


def test_ocr_frame_page_content_matches_the_pipeline_output():
    img = render_doc(20, n_bands=2)
    out = ocr_frame(_docs({"x.png": encode(img, "PNG")}), FakePipeline("1"), fake_ref("1"))
    page = FakePipeline("1").run([np.asarray(img)])[0]
    row = out.iloc[0]
    assert [w["text"] for w in row.words] == [w.text for w in page.words]
    assert row.words[0]["quad"] == [float(v) for v in page.words[0].quad.reshape(-1)]
    assert row.text == "\n".join(ln.text for ln in page.lines)
    assert row.entities[0]["label"] == "ORG"
    total = row.fields[0]
    assert total["field_name"] == "total" and total["value_num"] == float(page.fields["total"])


def test_a_page_the_pipeline_cannot_read_fails_only_its_document():
    bad = render_doc(30)
    bad.putpixel((0, 0), FAIL_MARK)
    docs = _docs({"ok1.png": encode(render_doc(31), "PNG"), "bad.png": encode(bad, "PNG"),
                  "ok2.png": encode(render_doc(32), "PNG")})
    out = ocr_frame(docs, FakePipeline("1"), fake_ref("1"), OcrConfig(batch_pages=8))
    assert out.path.tolist() == ["ok1.png", "bad.png", "ok2.png"]
    assert out.error_stage.tolist()[1] == "ocr" and out.error_class.tolist()[1] == "RuntimeError"
    assert out.error_stage.isna().tolist() == [True, False, True]


def test_ocr_frame_requires_path_and_content():
    with pytest.raises(ValueError, match="content"):
        ocr_frame(pd.DataFrame({"path": ["a"]}), FakePipeline(), fake_ref())


def test_model_ref_refuses_unresolved_aliases():
    with pytest.raises(ValueError, match="resolve"):
        ModelRef("lakeocr-pipeline", "latest")
    with pytest.raises(ValueError):
        ModelRef("lakeocr-pipeline", "")


class _CountingSource(FakeSource):
    loads: list = []

    def load(self, device, precision="auto"):
        _CountingSource.loads.append(self.ref.version)
        return super().load(device, precision)


def test_cache_loads_a_pipeline_once_per_version_and_evicts_whole_pipelines():
    ocr.clear_cache()
    _CountingSource.loads.clear()
    cfg = OcrConfig(device="cpu")
    first = cached_pipeline(_CountingSource(fake_ref("1")), cfg)
    assert cached_pipeline(_CountingSource(fake_ref("1")), cfg) is first
    second = cached_pipeline(_CountingSource(fake_ref("2")), cfg)
    assert second is not first and second.versions["detector"] == "det2"
    cached_pipeline(_CountingSource(fake_ref("3")), cfg)      # evicts v1 (cache holds 2)
    cached_pipeline(_CountingSource(fake_ref("1")), cfg)
    assert _CountingSource.loads == ["1", "2", "3", "1"]
    assert len(ocr._CACHE) == ocr.MAX_CACHED_PIPELINES
    ocr.clear_cache()


def test_the_configured_precision_reaches_every_predictor_of_the_loaded_pipeline():
    from models.zoo import load_pipeline

    with pytest.raises(ValueError, match="precision"):
        OcrConfig(precision="fp8")
    fp32 = load_pipeline(device="cpu", precision="fp32", with_postocr=False)
    assert fp32.detector.precision == fp32.script_id.precision == "fp32"
    assert {r.precision for r in fp32.recognizers.values()} == {"fp32"}
    int8 = load_pipeline(device="cpu", precision="int8", with_postocr=False)
    assert {r.precision for r in int8.recognizers.values()} == {"int8"}
    assert int8.detector.precision != "int8"          # convolutions: the predictor's own "auto"
    with pytest.raises(ValueError, match="precision"):
        load_pipeline(device="cpu", precision="fp8", with_postocr=False)


class _ZooSource(FakeSource):
    def load(self, device, precision="auto"):
        from models.zoo import load_pipeline
        return load_pipeline(device=device, precision=precision, with_postocr=False)


def test_the_configured_reread_reaches_every_recognizer_and_keys_the_cache():
    from models.recognition.predictor import REREAD_SCALES
    from models.zoo import load_pipeline

    loaded = load_pipeline(device="cpu", with_postocr=False, reread=True)
    assert loaded.recognizers and {r.reread for r in loaded.recognizers.values()} == {REREAD_SCALES}
    ocr.clear_cache()
    plain = cached_pipeline(_ZooSource(fake_ref("1")), OcrConfig(device="cpu"))
    again = cached_pipeline(_ZooSource(fake_ref("1")), OcrConfig(device="cpu", reread=True))
    assert again is not plain
    assert {r.reread for r in plain.recognizers.values()} == {()}
    assert {r.reread for r in again.recognizers.values()} == {REREAD_SCALES}
    # the tables keep no characters: their refit is skipped on executors, kept where files are written
    assert loaded.fit_chars and not plain.fit_chars and not again.fit_chars
    ocr.clear_cache()


def test_iterator_form_maps_every_batch_and_reports_it():
    seen = []
    fn = ocr.ocr_partitions(FakeSource(fake_ref("1")), OcrConfig(device="cpu"), on_batch=seen.append)
    batches = [_docs({"a.png": encode(render_doc(40), "PNG")}), _docs({"b.png": b"", "c.png": b"\x89PNG\r\n\x1a\n garbage"})]
    outs = list(fn(iter(batches)))
    assert [len(o) for o in outs] == [1, 2] and len(seen) == 2
    assert outs[1].error_class.tolist() == ["EmptyFile", "CorruptImage"]
    ocr.clear_cache()
