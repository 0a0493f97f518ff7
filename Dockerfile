# One image for web, workers and Flower. On Linux the PyPI torch wheel carries CUDA, so the
# same image rates on an NVIDIA GPU when the container is given one (NVIDIA Container Toolkit).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# torch first and pinned, in its own layer: it is by far the largest and changes least.
RUN pip install torch==2.14.1 torchvision==0.29.1
COPY pyproject.toml ./
COPY . .
RUN pip install -e .
# Hashed, compressed static files for whitenoise; collectstatic needs no database or secrets.
RUN DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=collectstatic-only \
    python manage.py collectstatic --noinput
RUN useradd --create-home --uid 1000 neuronjudge && mkdir -p /models \
    && chown neuronjudge /models
USER neuronjudge
ENV DJANGO_SETTINGS_MODULE=config.settings.production
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
