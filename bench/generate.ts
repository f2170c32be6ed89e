/** A large, realistic Containerfile for front-end benchmarks: every instruction kind, flags, heredocs. */
export function generateContainerfile(targetLines: number): string {
  const out: string[] = ['# syntax=docker/dockerfile:1', 'ARG BASE=debian:bookworm', 'ARG VERSION=1.0'];
  let stage = 0;
  while (out.length < targetLines) {
    out.push(`FROM \${BASE} AS stage${stage}`);
    out.push('ARG VERSION');
    out.push(`ENV APP_HOME=/srv/app${stage} PATH=/usr/local/bin:$PATH LANG=C.UTF-8`);
    out.push(`LABEL org.opencontainers.image.version="\${VERSION}" stage=${stage}`);
    out.push('RUN --mount=type=cache,target=/var/cache/apt --network=host apt-get update \\');
    out.push('    && apt-get install -y --no-install-recommends curl ca-certificates \\');
    out.push('    # comments inside continuations are skipped');
    out.push('    && rm -rf /var/lib/apt/lists/*');
    out.push(`WORKDIR \${APP_HOME}`);
    out.push(`COPY --chown=1000:1000 --chmod=0644 src/ ./src/`);
    if (stage > 0) out.push(`COPY --from=stage${stage - 1} /srv/app${stage - 1}/out /prev/`);
    out.push('RUN <<EOF');
    out.push('set -eux');
    out.push('echo building "$APP_HOME"');
    out.push('EOF');
    out.push('ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a.tar.gz /opt/');
    out.push('EXPOSE 8080/tcp 9090');
    out.push('VOLUME ["/data"]');
    out.push('USER 1000:1000');
    out.push('HEALTHCHECK --interval=30s --timeout=3s CMD curl -f http://localhost:8080/ || exit 1');
    out.push('ONBUILD RUN echo triggered');
    out.push('STOPSIGNAL SIGTERM');
    out.push('ENTRYPOINT ["/srv/app/run"]');
    out.push('CMD ["--serve"]');
    out.push('');
    stage++;
  }
  return out.slice(0, targetLines).join('\n') + '\n';
}
