"""The demo clip for ``make demo``, and the synthetic scenes of the benchmarks and tests (``scenes``), made here.

Usage: python -m services.demo OUT.mp4

A red circle crosses a grey textured background from right to left while a blue
square stays still, with sensor noise: the kind of scene the embedded default
model is trained on. Written with PyAV's H.264 encoder, so it needs no file from
outside the project.
"""
