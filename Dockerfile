# The site for compose.yaml: locked dependencies without the dev group (no
# test tools, no local MongoDB server), collected static files, gunicorn.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
ENV PATH="/app/.venv/bin:$PATH" DEBUG=0 PYINDEX_ENV_FILE=""
# Settings need a secret to load; this one exists only during the build.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input --verbosity 0
EXPOSE 8000
