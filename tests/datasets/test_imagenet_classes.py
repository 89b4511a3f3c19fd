"""The shipped class tables (robustness/datasets/classes.py and its JSON files)."""

from __future__ import annotations

from robustness.datasets.classes import (
    imagenet_names,
    imagenet_wnids,
    subset_indices,
    subset_wnids,
    wnid_to_index,
)


def test_imagenet_1k_table_has_1000_unique_sorted_wnids():
    wnids = imagenet_wnids()
    assert len(wnids) == 1000 == len(set(wnids))
    assert list(wnids) == sorted(wnids)
    assert wnids[0] == "n01440764" and wnids[-1] == "n15075141"
    assert all(w.startswith("n") and len(w) == 9 and w[1:].isdigit() for w in wnids)


def test_imagenet_names_match_the_standard_index_order():
    # Indices of the torchvision / timm class table (published, widely used).
    names = imagenet_names()
    assert len(names) == 1000
    expected = {0: "tench", 1: "goldfish", 278: "kit fox", 409: "analog clock", 954: "banana",
                999: "toilet tissue"}
    for index, name in expected.items():
        assert names[index].split(",")[0] == name
    assert wnid_to_index()["n02119789"] == 278  # ILSVRC2012_ID 1 in the devkit is kit fox


def test_imagenet_r_and_a_have_200_imagenet_classes_each():
    for name in ("imagenet-r", "imagenet-a"):
        wnids = subset_wnids(name)
        assert len(wnids) == 200 == len(set(wnids))
        assert set(wnids) <= set(imagenet_wnids())
        assert list(subset_indices(name)) == sorted(wnid_to_index()[w] for w in wnids)


def test_imagenet_a_indices_match_the_authors_eval_code():
    # First and last entries of indices_in_1k in hendrycks/natural-adv-examples eval.py.
    indices = subset_indices("imagenet-a")
    assert indices[:10] == (6, 11, 13, 15, 17, 22, 23, 27, 30, 37)
    assert indices[-8:] == (971, 972, 980, 981, 984, 986, 987, 988)


def test_imagenet_r_membership_matches_the_authors_list():
    # From imagenet_r_wnids in hendrycks/imagenet-r eval.py: goldfish is in, tench is not.
    wnids = set(subset_wnids("imagenet-r"))
    assert "n01443537" in wnids and "n01440764" not in wnids
    assert {"n01484850", "n12267677", "n10565667"} <= wnids
    assert subset_wnids("imagenet-a") != subset_wnids("imagenet-r")
