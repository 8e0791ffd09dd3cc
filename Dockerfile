# The Strand container image: the CLI on Node 20 (Debian bookworm), for `strand submit` (the leader
# inside the cluster) and the object-store helpers in task pods. See docs/leader-in-cluster.md.
#
#   docker build -t registry.example.org/strand:0.1.0 .      (or podman build)
#
# Layout (scripts/strand-image.sh builds the same content here without a registry):
#   /usr/local/lib/strand   the package as `npm pack` makes it, with production node_modules
#   /usr/local/bin/strand   -> ../lib/strand/bin/strand.js
#   user strand (10001:10001), WORKDIR /home/strand, ENTRYPOINT ["strand"]

FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (tsc) needs the sources, copied below; better-sqlite3 is built next
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# npm run build also bundles the dashboard (web/) and the Kubernetes client (scripts/)
COPY scripts ./scripts
COPY web ./web
COPY test/conformance ./test/conformance
COPY test/support ./test/support
RUN npm run build \
 && npm pack --ignore-scripts --silent \
 && mkdir -p /out/usr/local/lib/strand \
 && tar -xzf strand-*.tgz -C /out/usr/local/lib/strand --strip-components=1 \
 && cp package-lock.json /out/usr/local/lib/strand/ \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && cp -a node_modules /out/usr/local/lib/strand/node_modules \
 && rm -rf /out/usr/local/lib/strand/node_modules/.bin /out/usr/local/lib/strand/node_modules/.package-lock.json

FROM node:20-bookworm-slim
COPY --from=build /out/ /
RUN ln -s ../lib/strand/bin/strand.js /usr/local/bin/strand \
 && groupadd -g 10001 strand \
 && useradd -u 10001 -g 10001 -d /home/strand -m -s /bin/sh strand
ENV NODE_ENV=production
USER 10001:10001
WORKDIR /home/strand
ENTRYPOINT ["strand"]
CMD ["--help"]
