# Nightshift node image: every service, chosen per container with SERVICES.
FROM node:24-bookworm-slim

# Debian's Chromium for the browser pool (Playwright drives it; no browser download at build time).
RUN apt-get update \
	&& apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
	&& rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY tsconfig.json moleculer.config.ts ./
COPY src ./src
COPY services ./services
COPY mixins ./mixins
COPY tasks ./tasks

# A capped young generation: V8 otherwise grows it to 128 MB under a submit burst and keeps that RSS (BENCHMARKS.md).
ENV NODE_ENV=production \
	NODE_OPTIONS=--max-semi-space-size=16 \
	CHROMIUM_PATH=/usr/bin/chromium \
	HOST=0.0.0.0 \
	DATA_DIR=/app/data
USER node
CMD ["node_modules/.bin/tsx", "src/main.ts"]
