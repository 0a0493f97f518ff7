from config.env import envstr
from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "var" / "test-media")))  # noqa: F405
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": envstr("CACHE_URL", "redis://127.0.0.1:6379/12"),
        "KEY_PREFIX": envstr("CACHE_KEY_PREFIX", "test"),
    }
}
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
