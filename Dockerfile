# syntax=docker/dockerfile:1
# Build stage: resolve the locked dependencies into a virtual environment.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.8"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY connectors ./connectors
COPY arbridge ./arbridge
RUN uv sync --frozen --no-dev --all-packages --no-editable

# Runtime stage: the environment only, run as a non-root user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 arbridge
COPY --from=build /app/.venv /app/.venv
COPY rules /app/rules
ENV PATH="/app/.venv/bin:$PATH" \
    ARBRIDGE_CONFIG=/etc/arbridge/config.yaml \
    ARBRIDGE_DATABASE_URL=sqlite:////var/lib/arbridge/arbridge.db \
    ARBRIDGE_RULES__DIRECTORY=/app/rules \
    ARBRIDGE_SERVER__HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
RUN mkdir -p /var/lib/arbridge && chown arbridge /var/lib/arbridge
USER arbridge
WORKDIR /var/lib/arbridge
VOLUME ["/var/lib/arbridge"]
# Webhooks, /healthz, /readyz, /metrics and the QuickBooks OAuth callback.
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# Mount the config at /etc/arbridge/config.yaml; pass secrets as environment variables.
ENTRYPOINT ["arbridge"]
CMD ["run"]
