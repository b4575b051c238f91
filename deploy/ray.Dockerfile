# The image of a Ray node of the compose profile "ray" (docker-compose.yml; docs/scale-out.md): the executor's image
# (bubblewrap, libseccomp, the entrypoint that prepares the sandbox and drops every privilege) plus Ray.
#   docker compose --profile ray build   (after the executor's image is built)
ARG EXECUTOR_IMAGE=refinery/executor:latest
FROM ${EXECUTOR_IMAGE}
USER root
RUN pip install --no-cache-dir "ray==2.60.*"
USER refinery
