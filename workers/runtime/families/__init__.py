"""Model families; see ``registry``. Import order = detection priority."""
from workers.runtime.families import vila15, nvila  # noqa: F401  (registration)
from workers.runtime.families.registry import LEGACY, NVILA, Facts, Family, detect, get_family, known_families

__all__ = ["LEGACY", "NVILA", "Facts", "Family", "detect", "get_family", "known_families"]
