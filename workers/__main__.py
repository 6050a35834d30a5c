"""``python -m workers``: the vila.v1.Inference gRPC worker (see ``workers.server.app``)."""
import sys

from workers.server.app import main

sys.exit(main())
