"""``python -m services.summarizer``: run the summarizer service."""
import sys

from services.summarizer.app import main

sys.exit(main())
