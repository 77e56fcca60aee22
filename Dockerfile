# Dataflow worker image for stackcurate: Beam's Python 3.11 SDK harness + the project + CUDA PyTorch.
#
# Built for the GPU `score` stage, and usable for every other stage too, so one image serves the
# whole job and workers install nothing at start-up. Build it with Cloud Build (no local Docker):
#   gcloud builds submit --tag REGION-docker.pkg.dev/PROJECT/stackcurate/worker:0.1.0 .
# and run with --sdk_container_image=that-tag --sdk_location=container (see docs/dataflow.md).
# The Beam version here must equal the launcher's (pyproject pins apache-beam 2.77.x).

ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}

# PyTorch with CUDA from the PyTorch index, installed first so the project's install keeps it.
ARG TORCH_VERSION=2.13.*
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"

WORKDIR /opt/stackcurate
# Dependencies first (pinned by requirements.lock) so code edits do not rebuild this layer.
COPY pyproject.toml requirements.lock README.md ./
COPY pipeline ./pipeline
COPY filters ./filters
COPY pii ./pii
COPY dedup ./dedup
COPY decontam ./decontam
COPY tokenizer ./tokenizer
COPY model ./model
RUN grep -v -E '^(torch|nvidia-|triton)' requirements.lock > /tmp/constraints.txt \
    && pip install -c /tmp/constraints.txt ".[gcp,model]" \
    && python -c "import torch, apache_beam, pipeline.run; print('torch', torch.__version__, 'beam', apache_beam.__version__)"
# Compile the numba kernels (MinHash, the PII pre-scan, the comments scans, the decontamination pre-filter)
# into the installed package's cache: workers with the build machine's CPU model start warm, others compile
# once (about 15 s) and cache beside it. From / so the installed package is imported, not WORKDIR's sources.
RUN cd / && python -c "from dedup.minhash import load_kernels; load_kernels(); import pii.prescan; \
from filters.comments_treesitter import warm_up; warm_up(); \
from decontam.prefilter import AnchorFilter; AnchorFilter(['a benchmark line'])"

# Keep the SDK harness entrypoint of the base image: Dataflow starts workers through it.
ENTRYPOINT ["/opt/apache/beam/boot"]
