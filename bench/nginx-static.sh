#!/usr/bin/env bash
# Static files behind nginx (docs/benchmarks.md "Static files behind nginx"):
# a hot 1 KiB versioned file (?v= = its current hash) fetched by wrk through
#   cache  - the generated config: nginx keeps the app's answers (proxy_cache),
#   files  - nginx serving --static-root itself (the old generated config),
#   app    - the app alone (Fastify + the kit's staticPath), no nginx.
# Server side (app and nginx) pinned to CPU 1, wrk to CPU 0; rounds are
# interleaved so outside load hits every contender alike.
# Usage: flock /work/.locks/bench bench/nginx-static.sh [rounds] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-5}
dir=$(mktemp -d)
chmod 755 "$dir"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir "$dir/static" "$dir/cache" "$dir/files"
head -c 1024 /dev/urandom | base64 -w 76 | head -c 1024 > "$dir/static/hot.css"
APP_PORT=18531 CACHE_PORT=18532 FILES_PORT=18533
taskset -c 1 node -e "
  const Fastify = (await import('fastify')).default
  const kit = (await import('./dist/index.js')).default
  const app = Fastify()
  await app.register(kit, { staticPath: '$dir/static' })
  await app.listen({ port: $APP_PORT, host: '127.0.0.1' })
" --input-type=module &
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$APP_PORT/static/hot.css" && break; sleep 0.1; done
v=$(curl -sI "http://127.0.0.1:$APP_PORT/static/hot.css" | tr -d '\r' | awk -F'"' 'tolower($1) ~ /^etag/ {print $2}')
node dist/cli/main.js nginx --upstream 127.0.0.1:$APP_PORT --listen 127.0.0.1:$CACHE_PORT --static-root "$dir/static" --aliases '' --prefix "$dir/cache" > "$dir/cache/nginx.conf"
# The old generated static block: nginx reads the files itself.
node dist/cli/main.js nginx --upstream 127.0.0.1:$APP_PORT --listen 127.0.0.1:$FILES_PORT --prefix "$dir/files" |
  sed "s|^        location / {|        location ^~ /static/ {\n            alias $dir/static/;\n            expires max;\n            add_header Cache-Control \"public, immutable\";\n        }\n\n        location / {|" > "$dir/files/nginx.conf"
sed -i 's/^worker_processes auto;/worker_processes 1;/' "$dir/cache/nginx.conf" "$dir/files/nginx.conf"
for mode in cache files; do taskset -c 1 nginx -p "$dir/$mode" -c "$dir/$mode/nginx.conf" -e stderr -g 'daemon off;' & done
for port in $CACHE_PORT $FILES_PORT; do for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/static/hot.css?v=$v" && break; sleep 0.1; done; done
curl -s -o /dev/null "http://127.0.0.1:$CACHE_PORT/static/hot.css?v=$v"
echo "cache status on the second request: $(curl -sI "http://127.0.0.1:$CACHE_PORT/static/hot.css?v=$v" | tr -d '\r' | awk 'tolower($1) == "x-cache-status:" {print $2}')"
declare -A results
for round in $(seq "$ROUNDS"); do
  for mode in cache files app; do
    case $mode in cache) port=$CACHE_PORT ;; files) port=$FILES_PORT ;; app) port=$APP_PORT ;; esac
    rps=$(taskset -c 0 wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$port/static/hot.css?v=$v" | awk '/Requests\/sec/ {print $2}')
    results[$mode]="${results[$mode]:-} $rps"
    echo "round $round $mode $rps req/s"
  done
done
for mode in cache files app; do
  sorted=$(tr ' ' '\n' <<< "${results[$mode]}" | grep . | sort -n | tr '\n' ' ')
  read -r -a v <<< "$sorted"
  echo "$mode median ${v[$(( ${#v[@]} / 2 ))]} range ${v[0]}-${v[-1]} req/s"
done
