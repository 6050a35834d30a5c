"""Session fixtures shared by all tests; each support module owns its own."""
from tests.support.model_fixtures import *  # noqa: F401,F403
from tests.support.video_fixtures import *  # noqa: F401,F403
from tests.support.kafka import *  # noqa: F401,F403
from tests.support.redis_server import *  # noqa: F401,F403
