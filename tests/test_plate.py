"""The round weight's rim on the person mask (core.plate): synthetic masks with a known disc."""

from __future__ import annotations

import cv2
import numpy as np

from formcheck.core.plate import fit_plate


def _scene(n: int, with_disc: bool = True) -> tuple[np.ndarray, np.ndarray, float]:
    """``n`` 180x320 masks: a body (a thick bent polyline) and, optionally, a disc of radius
    38 px whose centre moves along an arc; returns masks, the disc centres and its radius."""
    masks = np.zeros((n, 180, 320), np.uint8)
    centres = np.zeros((n, 2))
    for i in range(n):
        lift = 25 * np.sin(np.pi * i / (n - 1))
        hip = (150, 120 - lift)
        pts = np.array([(270, 115), hip, (70, 105), (60, 160)], np.int32)
        cv2.polylines(masks[i], [pts], False, 1, thickness=22)
        centres[i] = (hip[0] + 3, hip[1] - 30)
        if with_disc:
            cv2.circle(masks[i], (int(round(centres[i, 0])), int(round(centres[i, 1]))), 38, 1, -1)
    return masks.astype(bool), centres, 38.0


def test_fit_plate_finds_the_disc_and_its_radius():
    masks, centres, radius = _scene(30)
    rng = np.random.default_rng(1)
    seeds = centres + rng.normal(0, 12, centres.shape)  # a rough guess, as load_centres gives
    fit = fit_plate(masks, 1.0, seeds, 210.0, np.arange(30))
    assert fit is not None
    assert abs(fit.radius_px - radius) < 1.5
    err = np.linalg.norm(fit.centre_px - (centres + 0.5), axis=1)  # pixel i spans [i, i + 1)
    assert (
        fit.found > 0.9 and np.nanmedian(err) < 1.5 and np.nanmax(err) < 4.0
    )  # mask px quantisation


def test_fit_plate_scales_with_the_mask():
    masks, centres, _ = _scene(30)
    seeds = centres + np.random.default_rng(1).normal(0, 12, centres.shape)
    at_one = fit_plate(masks, 1.0, seeds, 210.0, np.arange(30))
    at_half = fit_plate(masks, 0.5, seeds * 2, 420.0, np.arange(30))  # mask at half the image
    assert at_one is not None and at_half is not None
    assert abs(at_half.radius_px - 2 * at_one.radius_px) < 1.0
    assert np.nanmedian(np.linalg.norm(at_half.centre_px - 2 * at_one.centre_px, axis=1)) < 1.0


def test_fit_plate_without_a_round_weight_is_none():
    masks, centres, _ = _scene(20, with_disc=False)
    assert fit_plate(masks, 1.0, centres, 210.0, np.arange(20)) is None
