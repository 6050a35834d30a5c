"""``python -m ingest``: the ingest service (see ``ingest.service.app``)."""
import sys

from ingest.service.app import main

sys.exit(main())
