# The one image of Alliance's own services (docker-compose.yml): the worker (the default command),
# the API (python -m api) and the codec server (python -m api.codec_server). Temporal itself runs
# from Temporal's images in production; the dev server is for the local run only.
FROM python:3.11.10-slim-bookworm

# PYTHONSAFEPATH: modules come from the installed package, never from the working directory.
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONSAFEPATH=1

WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY api api
COPY directory directory
COPY archive archive
COPY texts texts
COPY codec codec
COPY inbound inbound
COPY process_templates process_templates
COPY worker.py temporal_client.py settings.py startup.py run_local.py telemetry.py backup.py demo.py ./

# Not editable: the modules, their templates, catalogs and migrations go to site-packages,
# compiled there by pip (the workflow sandbox imports a workflow's module for every run, and an
# unprivileged user could not write the bytecode later).
RUN pip install --no-cache-dir . \
    && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin alliance \
    && mkdir -p /data \
    && chown alliance:alliance /data

# Reports, the outbox and the local run's files; the compose file keeps the contact directory in
# PostgreSQL and the archive in S3-compatible storage.
ENV ALLIANCE_DATA_DIR=/data
VOLUME /data
USER alliance

CMD ["python", "-m", "worker"]
