"""tap_planhat.streams.RememberingMask answers as singer-sdk's SelectionMask does."""

from __future__ import annotations

from singer_sdk.singerlib import SelectionMask

from tap_planhat.streams import RememberingMask

BREADCRUMBS = [
    (),
    ("properties", "name"),
    ("properties", "custom"),
    ("properties", "custom", "properties", "Seats"),
    ("properties", "custom", "properties", "Hidden"),
    ("properties", "custom", "properties", "Hidden", "properties", "deep"),
    ("properties", "secret"),
    ("properties", "secret", "properties", "inner"),
]


def test_it_answers_like_the_sdks_mask_and_keeps_what_it_inferred() -> None:
    listed = {
        (): True,
        ("properties", "secret"): False,
        ("properties", "custom", "properties", "Hidden"): False,
    }
    sdk, remembering = SelectionMask(listed), RememberingMask(listed)
    for _ in range(2):  # the second round answers from what the first remembered
        assert [remembering[b] for b in BREADCRUMBS] == [sdk[b] for b in BREADCRUMBS]
    assert set(BREADCRUMBS) <= set(remembering)
