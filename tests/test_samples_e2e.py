"""End to end: the bundled model on the labelled sample clips (samples/*.mp4 + .label.json)."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
LABELLED = sorted(
    p for p in SAMPLES.glob("*.label.json") if json.loads(p.read_text()).get("exercise")
)
MAIN_FAULTS = ("sag", "hyperextension", "short_hold", "fast_lowering")


def _load_kind(p: Path) -> str:
    return (json.loads(p.read_text()).get("load") or {}).get("kind", "none")


#: Samples whose findings formcheck is known to get wrong yet, with the reason (issue 17): the
#: fault test is an expected failure there, strict, so it must be updated as soon as it passes.
#: Their counts are checked as everywhere else.
FAULTS_KNOWN_WRONG = {
    "ht_barbell_faults_left": "issue 17: the angle follows the plate found in the picture and "
    "each rep is judged against the set's typical top, so sag (162 for 158 deg), "
    "hyperextension (195 for 204) and fast lowering are found and the good reps are clean of "
    "them; but two false heel_lift flags remain, read from leg landmarks the model placed "
    "implausibly in 567 frames (the other leg stands in there)",
}


def _params(paths, known: dict[str, str] | None = None):
    out = []
    for p in paths:
        name = p.name.removesuffix(".label.json")
        marks = (
            [pytest.mark.xfail(strict=True, reason=known[name])] if known and name in known else []
        )
        out.append(pytest.param(name, marks=marks, id=name))
    return out


#: Every test here runs the pose model on the sample videos (about 2.5 minutes on 2 cores).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def analysed(tmp_path_factory):
    """Run `formcheck analyze` once over every labelled sample; {name: (label, result)}."""
    out = tmp_path_factory.mktemp("samples-out")
    by_ex: dict[str, list[str]] = {}
    labels = {}
    for lp in LABELLED:
        lab = json.loads(lp.read_text())
        labels[lab["name"]] = lab
        by_ex.setdefault(lab["exercise"], []).append(str(SAMPLES / lab["video"]))
    for ex, videos in by_ex.items():
        with pytest.raises(SystemExit) as e:
            main(["analyze", *videos, "--out", str(out), "-e", ex, "-q", "--no-video"])
        assert e.value.code == 0
    return out, {n: (lab, json.loads((out / f"{n}.json").read_text())) for n, lab in labels.items()}


def _match(result, label):
    """Pairs (predicted rep, labelled rep) by greatest time overlap."""
    fps = label["fps"]
    pairs = []
    for r in result["reps"]:
        best, score = None, 0.0
        for t in label["reps"]:
            a0, a1 = t["start_frame"] / fps, t["end_frame"] / fps
            inter = max(0.0, min(r["end_s"], a1) - max(r["start_s"], a0))
            union = max(r["end_s"], a1) - min(r["start_s"], a0)
            if union > 0 and inter / union > score:
                best, score = t, inter / union
        pairs.append((r, best if score >= 0.3 else None))
    return pairs


def test_samples_exist():
    assert len(LABELLED) >= 7, "sample clips missing"
    loads = {_load_kind(p) for p in LABELLED}
    assert {"barbell", "dumbbell"} <= loads, "loaded samples missing"


def test_a_weight_on_the_hips_is_found_and_only_there(analysed):
    _, results = analysed
    for name, (label, result) in results.items():
        kind = (label.get("load") or {}).get("kind", "none")
        loaded = kind != "none"
        assert (result["load"]["kind"] != "none") == loaded, name
        # a barbell is named only where there is one (its plate's rim fitted)
        assert result["load"]["kind"] != "barbell" or kind == "barbell", name
        if kind == "barbell":  # the bar path is the plate's centre, to a few pixels
            assert result["load"]["kind"] == "barbell", name
            truth = np.array(label["per_frame"]["load_near_center_2d"], float)
            found = np.array([c or [np.nan, np.nan] for c in result["load"]["centre_px"]], float)
            n = min(len(truth), len(found))
            assert np.nanmedian(np.linalg.norm(found[:n] - truth[:n], axis=1)) < 5.0, name
        if loaded:
            assert any("weight on the hips" in w for w in result["warnings"]), name
            assert len(result["load"]["centre_px"]) == result["video"]["frames"]


@pytest.mark.parametrize("name", _params(LABELLED))
def test_rep_counts_exact(analysed, name):
    _, results = analysed
    label, result = results[name]
    assert result["rep_count"] == len(label["reps"])
    assert len(result["attempts"]) == len(label["attempts"])
    assert result["camera"]["side"] == label["camera_side"]


@pytest.mark.parametrize("name", _params(LABELLED, FAULTS_KNOWN_WRONG))
def test_clear_cut_faults_flagged_and_good_reps_clean(analysed, name):
    _, results = analysed
    label, result = results[name]
    checked = MAIN_FAULTS + ("heel_lift", "lumbar_arch")
    for pred, true in _match(result, label):
        assert true is not None, f"rep at {pred['start_s']:.1f}s matches no labelled rep"
        if not true.get("clear_cut", True):
            continue
        for f in checked:
            if f in true["faults"]:
                assert f in pred["faults"], f"{name}: missed {f} at {pred['start_s']:.1f}s"
        for f in checked:
            if f not in true["faults"]:
                assert f not in pred["faults"], f"{name}: false {f} at {pred['start_s']:.1f}s"


def test_result_files_and_schema(analysed):
    jsonschema = pytest.importorskip("jsonschema")
    from formcheck.core.session import schema

    out, results = analysed
    for name, (_, result) in results.items():
        jsonschema.validate(result, schema())
        # each exercise's lumbar measure (the profiles' rules.lumbar_arch.measure)
        want = {"hip_thrust": "back_bend", "glute_bridge": "front_crease"}[result["exercise"]]
        assert {r["lumbar"]["silhouette_measure"] for r in result["reps"]} <= {want}
        with open(out / f"{name}.reps.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == result["rep_count"]
        with open(out / f"{name}.frames.csv") as f:
            head = next(csv.reader(f))
        assert "shk_angle_deg" in head and "time_s" in head
        assert (out / f"{name}.track.npz").exists()


def test_reanalyse_from_track_gives_same_result(analysed, tmp_path):
    out, results = analysed
    label, result = results["ht_faults_right"]
    with pytest.raises(SystemExit) as e:
        main(
            [
                "analyze",
                "--track",
                str(out / "ht_faults_right.track.npz"),
                "--out",
                str(tmp_path),
                "-q",
                "--no-video",
            ]
        )
    assert e.value.code == 0
    again = json.loads((tmp_path / "ht_faults_right.json").read_text())
    assert [r["faults"] for r in again["reps"]] == [r["faults"] for r in result["reps"]]
    assert [r["peak_angle_deg"] for r in again["reps"]] == [
        r["peak_angle_deg"] for r in result["reps"]
    ]


def test_set_up_matches_the_exercise(analysed):
    """The set-up check reads every sample's exercise (on the model's real landmarks), and so
    none warns of a mismatch."""
    _, results = analysed
    for name, (label, result) in results.items():
        assert result["exercise_check"]["looks_like"] == label["exercise"], name
        assert not any("looks like" in w for w in result["warnings"]), name


def test_auto_reanalysis_picks_the_bridge(analysed, tmp_path):
    out, results = analysed
    label, result = results["gb_faults_right"]
    with pytest.raises(SystemExit) as e:
        main(
            [
                "analyze",
                "--track",
                str(out / "gb_faults_right.track.npz"),
                "--out",
                str(tmp_path),
                "-q",
                "--no-video",
                "-e",
                "auto",
            ]
        )
    assert e.value.code == 0
    again = json.loads((tmp_path / "gb_faults_right.json").read_text())
    assert again["exercise"] == "glute_bridge"
    assert again["exercise_check"]["source"] == "detected"
    assert [r["faults"] for r in again["reps"]] == [r["faults"] for r in result["reps"]]


def test_annotated_video(tmp_path):
    src = SAMPLES / "gb_tempo_left.mp4"
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(src), "--out", str(tmp_path), "-e", "glute_bridge", "-q"])
    assert e.value.code == 0
    cap = cv2.VideoCapture(str(tmp_path / "gb_tempo_left.annotated.mp4"))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    cap.release()
    label = json.loads((SAMPLES / "gb_tempo_left.label.json").read_text())
    assert ok and n == label["frames"]
    assert frame.shape[:2] == (label["height"], label["width"])
    # H.264 within 1.5x the source's bytes (this clip made 1.56x at CRF 26 alone: the rate cap)
    out = tmp_path / "gb_tempo_left.annotated.mp4"
    assert out.stat().st_size <= 1.5 * src.stat().st_size, out.stat().st_size / src.stat().st_size
