"""Link and entity metrics, and FUNSD text-pair links resolved to word sets."""
from models.postocr.metrics import PRF, entity_prf, funsd_gt_links, link_prf
from models.types import Entity, Page
from tests.test_postocr_cluster import make_page


def test_prf_arithmetic():
    a = PRF(2, 4, 5) + PRF(1, 1, 1)
    assert (a.tp, a.n_pred, a.n_gt) == (3, 5, 6)
    assert abs(a.precision - 0.6) < 1e-9 and abs(a.recall - 0.5) < 1e-9
    assert PRF(0, 0, 0).f1 == 0.0


def test_link_prf_strict_and_overlap():
    gold = [(frozenset({0}), frozenset({1, 2})), (frozenset({3}), frozenset({4}))]
    pred = [(frozenset({0}), frozenset({1})), (frozenset({3}), frozenset({4})), (frozenset({5}), frozenset({6}))]
    assert link_prf(pred, gold).tp == 1
    assert link_prf(pred, gold, min_iou=0.5).tp == 2


def test_entity_prf_needs_label_and_words():
    gt = Page(10, 10, entities=[Entity("DATE", "", [1]), Entity("MONEY", "", [2, 3])])
    pred = Page(10, 10, entities=[Entity("DATE", "", [1]), Entity("MONEY", "", [2]), Entity("PHONE", "", [5])])
    r = entity_prf(pred, gt)
    assert r["DATE"].tp == 1 and r["MONEY"].tp == 0 and r["PHONE"].n_pred == 1
    assert (r["ALL"].tp, r["ALL"].n_pred, r["ALL"].n_gt) == (1, 3, 2)


def test_funsd_text_links_resolve_to_the_nearest_entities():
    page = make_page([("DATE:", 60, 100), ("5/3/94", 160, 100), ("DATE:", 60, 400), ("6/3/94", 160, 400)])
    page.entities = [Entity("question", "DATE:", [0]), Entity("answer", "5/3/94", [1]),
                     Entity("question", "DATE:", [2]), Entity("answer", "6/3/94", [3])]
    page.meta["links"] = [["DATE:", "6/3/94"], ["DATE:", "5/3/94"]]
    assert funsd_gt_links(page) == [(frozenset({2}), frozenset({3})), (frozenset({0}), frozenset({1}))]
