# Image of the Milestone Ledger service; every process (api, worker, migrate) is a `milestones` command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md* ./
COPY domain ./domain
COPY application ./application
COPY adapters ./adapters
COPY projections ./projections
COPY api ./api
COPY cli ./cli
RUN pip install . && rm -rf /app/build

# Never run as root: a compromised process should not own the container.
RUN useradd --system --create-home --home-dir /home/milestones --shell /usr/sbin/nologin milestones
USER milestones
WORKDIR /home/milestones
# Made here, as its user, so the volume compose mounts on it starts out writable by it.
RUN mkdir -p /home/milestones/.milestones
ENV MILESTONES_DATA_DIR=/home/milestones/.milestones \
    MILESTONES_HOST=0.0.0.0 \
    MILESTONES_PORT=8000
EXPOSE 8000

ENTRYPOINT ["milestones"]
CMD ["serve"]
