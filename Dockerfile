# One image for every Python service of the stack; compose picks the app per
# container (`uvicorn --factory <service>.app:create_app`). The services share
# the telemetry library and nearly all dependencies, so one build serves all
# four containers and a source edit rebuilds one thin layer.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_SYSTEM_CERTS=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app

# Dependencies first, from the lock file alone, so source edits keep this layer.
COPY pyproject.toml uv.lock ./
COPY libs/telemetry/pyproject.toml libs/telemetry/
COPY libs/engine/pyproject.toml libs/engine/
COPY libs/api/pyproject.toml libs/api/
COPY services/checkout/pyproject.toml services/checkout/
COPY services/payment/pyproject.toml services/payment/
COPY services/inventory/pyproject.toml services/inventory/
COPY services/analyzer/pyproject.toml services/analyzer/
COPY services/ingest/pyproject.toml services/ingest/
COPY tools/chaos/pyproject.toml tools/chaos/
COPY tools/cli/pyproject.toml tools/cli/
RUN uv sync --frozen --no-dev --no-install-workspace --no-cache

COPY libs libs
COPY services services
COPY tools tools
RUN uv sync --frozen --no-dev --no-editable --no-cache

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin aiops
USER aiops

EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["uvicorn", "--factory", "payment.app:create_app", "--host", "0.0.0.0", "--port", "8000"]
