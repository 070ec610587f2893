# Portcullis image: build with dev dependencies, run with production ones only, as non-root.
# docker build -t portcullis .   (used by docker-compose.yml for the api and worker services)

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY queue ./queue
COPY bench ./bench
COPY scripts ./scripts
COPY test/harness ./test/harness
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# The console's own CSS and JS (plain files, served from the source tree path).
COPY src/ui/public ./src/ui/public
# The image's own user: no root inside the container (CIS Docker Benchmark 4.1).
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["--role", "all"]
