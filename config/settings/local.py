from config.env import envbool
from config.settings.base import *  # noqa: F403

DEBUG = envbool("DEBUG", "true")
