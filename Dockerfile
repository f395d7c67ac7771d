# csflow application image: one image for `csflow migrate`, `csflow worker` and `csflow api`
# (docker-compose.yml picks the subcommand). Build: docker build -t csflow:local .
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: install the project and its dependencies into a virtualenv ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
# Then the project. .dockerignore keeps tests, docs, deploy files, caches and secrets (.env)
# out of the context.
COPY . .
RUN pip install . \
    && csflow --help >/dev/null

# ---- runtime: the virtualenv and an unprivileged user, nothing else ------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CSFLOW_DATA_DIR=/var/lib/csflow \
    CSFLOW_LOG_FORMAT=json
RUN groupadd --system --gid 10001 csflow \
    && useradd --system --uid 10001 --gid csflow --home-dir /var/lib/csflow --create-home \
        --shell /usr/sbin/nologin csflow
COPY --from=build /opt/venv /opt/venv
WORKDIR /var/lib/csflow
# Numeric, so that runtimes enforcing "run as non-root" can check it without /etc/passwd.
USER 10001:10001
# 8000: HTTP API (csflow api); 9464: Prometheus metrics (csflow worker).
EXPOSE 8000 9464
ENTRYPOINT ["csflow"]
CMD ["--help"]
