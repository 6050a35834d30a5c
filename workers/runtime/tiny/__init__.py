"""Tiny random-weight VILA checkpoints, for tests, benchmarks and ``vila-stream model make-tiny``.

Public API: ``make_tiny`` (a generic tiny checkpoint, or one shaped like a release with ``like=``),
``make_like`` and ``like_names``. Modules, each importing only those below it:

- ``make``: the entry points; picks the generic build, a released shape or the flat ``-hf`` layout.
- ``flat``: the flat NVILA ``-hf`` layout, flattened from the ``families`` build of the same release.
- ``families``: one ``Like`` per released checkpoint (config fields, tower, projector, tokenizer).
- ``parts``: the component writers (SigLIP tower, LLM + tokenizer, projector) and the sizes.
- ``tokenizer`` / ``spm``: the byte-level BPE and the SentencePiece tokenizers; ``vocab``: their words.
"""
from workers.runtime.tiny.make import like_names, make_like, make_tiny

__all__ = ["like_names", "make_like", "make_tiny"]
