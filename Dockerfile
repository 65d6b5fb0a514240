# webadmin: a small image (Python slim, no CUDA or L4T base needed).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WEBADMIN_BIND=0.0.0.0:8080 \
    WEBADMIN_DATA_DIR=/data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY webadmin ./webadmin
COPY templates ./templates
COPY static ./static
RUN pip install . && rm -rf /src

# A fixed non-root user; compose adds the docker and jtop groups it needs.
RUN useradd --system --uid 10001 --home-dir /data --create-home webadmin
USER webadmin
WORKDIR /data
VOLUME /data
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# Exec form, so SIGTERM reaches gunicorn and it stops within its graceful timeout.
CMD ["webadmin", "serve"]
