"""Framework integrations: `transformers.TrackioNbCallback`, `lightning.TrackioNbLogger`.

Each module imports its framework only when imported itself.
"""
