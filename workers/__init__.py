"""Model workers: the VILA runtime (``workers.runtime``), tier profiles and the window runner."""
