# Tradehive images: one Dockerfile, one final stage per role (the stage name is the role).
#
# Build from the repository root (the context needs libs/ and services/):
#   docker build --target router -t tradehive/router .
# compose builds each service with `build.target: <role>` (deploy/docker-compose.yml).
# Offline, on the local base and the host-built wheelhouse (deploy/docker/build-images.sh):
#   --build-arg BASE_IMAGE=tradehive/base-local:bookworm --build-arg WHEELHOUSE=1
#
# Stages: base -> deps (third-party venv) -> build (workspace libraries) -> build-<role> (the role's own
# package, alone) -> runtime (venv + libraries, no build tools) -> agent (agent env, probe) -> <role>.
# Everything up to "runtime"/"agent" is identical for every role, so the images share those layers.
# The legacy builder (no BuildKit, as here and in testcontainers) builds every stage before the target, in
# file order: keep the role stages small, and add heavy roles at the end.
ARG BASE_IMAGE=python:3.12-slim

# ---- base: interpreter, runtime user, environment shared by every stage
FROM ${BASE_IMAGE} AS base
ENV LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PYTHONPATH=/opt/tradehive \
    PATH=/opt/tradehive/bin:/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NUMBA_CACHE_DIR=/tmp/numba-cache
RUN groupadd --system --gid 10001 tradehive \
 && useradd --system --uid 10001 --gid tradehive --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tradehive \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/tradehive
# /var/lib/tradehive: durable state (the trader's journal) when a volume is mounted there

# ---- deps: third-party dependencies pinned from uv.lock (one layer, all roles)
# WHEELHOUSE=0 installs from the package index; WHEELHOUSE=1 only from the
# wheels copied from deploy/docker/wheelhouse/ (deploy/docker/build-wheelhouse.sh).
FROM base AS deps
ARG WHEELHOUSE=0
COPY deploy/docker/requirements.txt deploy/docker/requirements-viz.txt deploy/docker/build-requirements.txt \
     deploy/docker/wheelhouse* /tmp/wheels/
RUN if [ "$WHEELHOUSE" = 1 ]; then set -- --no-index --find-links /tmp/wheels; fi \
 && python3 -m venv /opt/venv \
 && pip install "$@" --requirement /tmp/wheels/requirements.txt

# ---- build: the workspace libraries (agentcore, marketcore, tradehive), pure Python, built from source
# without deps into /opt/tradehive (the build backend goes into this stage's copy of the venv, dropped later).
FROM deps AS build
ARG WHEELHOUSE=0
RUN if [ "$WHEELHOUSE" = 1 ]; then set -- --no-index --find-links /tmp/wheels; fi \
 && pip install "$@" --requirement /tmp/wheels/build-requirements.txt
# every package reads its version from ../../VERSION (the one place it is set): libs/* and services/* keep that depth
COPY VERSION /src/VERSION
COPY libs /src/libs
# DL3013 (pin pip versions) does not apply to these pip installs: local source trees, not index packages.
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/tradehive /src/libs/*/

# ---- build-<role>: each role's own package alone in /opt/role, so a change to one role rebuilds one image.
FROM build AS build-nameserver
COPY services/nameserver /src/services/nameserver
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/role /src/services/nameserver

FROM build AS build-feeder
COPY services/feeder /src/services/feeder
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/role /src/services/feeder

FROM build AS build-router
COPY services/router /src/services/router
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/role /src/services/router

FROM build AS build-brain
COPY services/brain /src/services/brain
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/role /src/services/brain

FROM build AS build-trader
COPY services/trader /src/services/trader
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/role /src/services/trader

FROM build AS build-recorder
COPY services/recorder /src/services/recorder
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/role /src/services/recorder

# ---- runtime: the virtual environment, the runtime user, nothing else (no wheelhouse, build backend or
# sources). Configuration comes only from the environment (AGENTCORE_*, TRADEHIVE_<ROLE>_*), never from files
# baked in here. Code is copied last and root-owned: the agent's user cannot change it.
FROM base AS runtime
COPY --from=deps /opt/venv /opt/venv
USER 10001:10001
WORKDIR /tmp

# ---- agent: what every agent role shares: fabric ports, readiness from /readyz, the libraries.
FROM runtime AS agent
ENV AGENTCORE_BIND_HOST=0.0.0.0 \
    AGENTCORE_HTTP_PORT=9100 \
    AGENTCORE_PYRO_PORT=9901 \
    AGENTCORE_PORT_BASE=5550
EXPOSE 9100 9901 5550-5553
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['AGENTCORE_HTTP_PORT'], timeout=2)"]
COPY --from=build /opt/tradehive /opt/tradehive

# =========================================================================================================
# Final stages, one per role: `--target <role>`. Exec-form ENTRYPOINT: PID 1 is python itself, so SIGTERM
# reaches the process directly. CMD carries the agent's name (compose/k8s override it, e.g. brain-regime).

# ---- nameserver: the Pyro5 name server (discovery) of the agent fabric (services/nameserver).
FROM runtime AS nameserver
ENV AGENTCORE_NS_HOST=0.0.0.0 \
    AGENTCORE_NS_PORT=9090
EXPOSE 9090
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
    CMD ["python", "-m", "tradehive_nameserver.probe"]
COPY --from=build /opt/tradehive /opt/tradehive
COPY --from=build-nameserver /opt/role /opt/tradehive
ENTRYPOINT ["python", "-m", "tradehive_nameserver"]

# ---- feeder: market data in (replay, simulator, brokers), ticks out.
FROM agent AS feeder
COPY --from=build-feeder /opt/role /opt/tradehive
ENTRYPOINT ["python", "-m", "agentcore.agent", "tradehive_feeder.agent:FeederAgent"]
CMD ["--name", "feeder"]

# ---- router: bars and history from ticks, fanned out to the brains.
FROM agent AS router
COPY --from=build-router /opt/role /opt/tradehive
ENTRYPOINT ["python", "-m", "agentcore.agent", "tradehive_router.agent:RouterAgent"]
CMD ["--name", "router"]

# ---- brain: strategies: signals and order intents.
FROM agent AS brain
COPY --from=build-brain /opt/role /opt/tradehive
ENTRYPOINT ["python", "-m", "agentcore.agent", "tradehive_brain.agent:BrainAgent"]
CMD ["--name", "brain"]

# ---- trader: pre-trade risk, orders, fills and positions.
FROM agent AS trader
COPY --from=build-trader /opt/role /opt/tradehive
ENTRYPOINT ["python", "-m", "agentcore.agent", "tradehive_trader.agent:TraderAgent"]
CMD ["--name", "trader"]

# ---- recorder: every message of a running platform into a Parquet recording (replay and diff, backtests).
FROM agent AS recorder
COPY --from=build-recorder /opt/role /opt/tradehive
ENTRYPOINT ["python", "-m", "agentcore.agent", "tradehive_recorder.agent:RecorderAgent"]
CMD ["--name", "recorder"]

# ---- viz: the desktop chart agent (services/viz: PySide6 + PyQtGraph). Last, because it is the heavy one: its
# X11/GL client libraries are installed in this stage only, so the other roles never build or carry them.
# Run with an X server: compose profile "viz" mounts /tmp/.X11-unix and passes DISPLAY (README, Chart).
FROM build AS build-viz
COPY services/viz /src/services/viz
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation --target /opt/role /src/services/viz

FROM agent AS viz
ARG WHEELHOUSE=0
USER 0:0
# the Qt stack (PySide6, pyqtgraph) into the shared venv, in this stage only (deploy/docker/requirements-viz.txt)
COPY --from=deps /tmp/wheels /tmp/wheels
# hadolint ignore=DL3013
RUN if [ "$WHEELHOUSE" = 1 ]; then set -- --no-index --find-links /tmp/wheels; fi \
 && /opt/venv/bin/pip install "$@" --requirement /tmp/wheels/requirements-viz.txt \
 && rm -rf /tmp/wheels
# Qt's xcb platform plugin and its GL/font dependencies (Debian names; versions follow the base image). The
# offline local base ships no apt sources: build-images.sh passes the host's Debian mirror (DEBIAN_MIRROR).
ARG DEBIAN_MIRROR=""
# hadolint ignore=DL3008
RUN if [ -n "$DEBIAN_MIRROR" ] && ! grep -rqs '^deb \|^URIs:' /etc/apt/sources.list /etc/apt/sources.list.d; then \
        echo "deb $DEBIAN_MIRROR bookworm main" > /etc/apt/sources.list; fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libegl1 libglib2.0-0 libfontconfig1 libdbus-1-3 \
        libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
        libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && if [ -n "$DEBIAN_MIRROR" ]; then : > /etc/apt/sources.list; fi
USER 10001:10001
ENV QT_QPA_PLATFORM=xcb \
    PYQTGRAPH_QT_LIB=PySide6
COPY --from=build-viz /opt/role /opt/tradehive
ENTRYPOINT ["python", "-m", "tradehive_viz.app"]
