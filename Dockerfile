FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY api ./api
COPY simulator ./simulator
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --create-home sluice \
    && mkdir -p /var/lib/sluice && chown sluice /var/lib/sluice
USER sluice
CMD ["sluice", "--help"]
