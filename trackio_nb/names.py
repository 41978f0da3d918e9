"""Run ids and friendly default run names."""

from __future__ import annotations

import secrets

_ADJECTIVES = [
    "amber",
    "azure",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "daring",
    "eager",
    "gentle",
    "golden",
    "grand",
    "happy",
    "jolly",
    "keen",
    "lively",
    "lucky",
    "mellow",
    "noble",
    "quick",
    "quiet",
    "rapid",
    "shy",
    "silver",
    "smooth",
    "solar",
    "steady",
    "swift",
    "vivid",
    "warm",
    "wild",
    "wise",
]
_NOUNS = [
    "aurora",
    "breeze",
    "brook",
    "canyon",
    "cedar",
    "comet",
    "coral",
    "dawn",
    "delta",
    "dune",
    "ember",
    "falcon",
    "fern",
    "field",
    "forest",
    "glade",
    "harbor",
    "lake",
    "maple",
    "meadow",
    "meteor",
    "moon",
    "nebula",
    "ocean",
    "orbit",
    "otter",
    "pine",
    "planet",
    "prairie",
    "river",
    "sky",
    "snow",
    "star",
    "sunset",
    "tide",
    "valley",
    "wave",
]


def new_run_id() -> str:
    """A 12-character random id; runs are keyed by it, never by name."""
    return secrets.token_hex(6)


def new_run_name(count: int) -> str:
    """A readable name like `brave-sunset-3`, numbered by the project's run count."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{count}"
