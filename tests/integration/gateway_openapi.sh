#!/bin/sh
# GET /openapi.json checked by a real OpenAPI 3.1 validator from npm
# (@seriousme/openapi-schema-validator, pinned with its dependencies in
# data/openapi/package-lock.json, installed with `npm ci` under the build
# folder), for the counter, a schema using every shape of the subset, and
# after a version registered through the admin API.
PORT_BASE=39400
. "$(dirname "$0")/data/gateway_lib.sh"
need node npm

V=$B/openapi-validator
if ! cmp -s "$DATA/openapi/package-lock.json" "$V/package-lock.json" ||
    [ ! -d "$V/node_modules/@seriousme/openapi-schema-validator" ]; then
    rm -rf "$V"
    mkdir -p "$V"
    cp "$DATA/openapi/package.json" "$DATA/openapi/package-lock.json" "$V/"
    if (cd "$V" && npm ci --no-audit --no-fund --silent >"$TMP/npm.log" 2>&1); then
        ok "validator installed (npm ci)"
    else
        nok "npm ci failed" "$(tail -5 "$TMP/npm.log")"
    fi
fi
CLI=$V/node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js

validate() {
    node "$CLI" "$1" >"$TMP/validate.out" 2>&1
}

mkdir -p "$TMP/schemas"
cp "$ROOT/schemas/counter.json" "$DATA"/gateway_schemas/*.json "$TMP/schemas/"
port P
G=http://127.0.0.1:$P
start gw "$GWL" --http 127.0.0.1:$P --db "$TMP/o.db" --schemas "$TMP/schemas" --admin-open
check "gateway is ready" wait_http "$G/readyz" 204

req GET "$G/openapi.json"
expect "openapi.json" 200
cp "$TMP/body" "$TMP/openapi.json"
if validate "$TMP/openapi.json"; then ok "the document is valid OpenAPI 3.1"; else nok "invalid" "$(head -c 600 "$TMP/validate.out")"; fi
[ "$(jq -r .openapi "$TMP/openapi.json")" = 3.1.0 ] && ok "openapi: 3.1.0" || nok "version"
for p in "/v1/actors/{name}/ask/Inc" "/v1/actors/{name}/ask/TryDec" \
    "/v1/actors/{name}/tell/LogMessage" "/v1/actors/{name}/ask/Everything" \
    "/v1/actors/{name}/tell/Everything" /healthz /readyz /metrics; do
    [ "$(jq --arg p "$p" '.paths | has($p)' "$TMP/openapi.json")" = true ] && ok "path $p" || nok "no path $p"
done
[ "$(jq -r '.paths["/v1/actors/{name}/ask/Inc"].post.requestBody.content["application/json"].schema["$ref"]' "$TMP/openapi.json")" = \
    "#/components/schemas/remote__MyActor.Inc.request" ] && ok "per-message request schema" || nok "request schema ref"
[ "$(jq '.components.schemas["test__Rich.Everything.request"].properties.shape.anyOf | length' "$TMP/openapi.json")" = 2 ] &&
    ok "nullable becomes anyOf with null" || nok "nullable translation"

# The validator is not a rubber stamp: broken copies fail.
jq 'del(.info)' "$TMP/openapi.json" >"$TMP/broken1.json"
if validate "$TMP/broken1.json"; then nok "a document without info passed"; else ok "a document without info fails"; fi
jq '.paths["/v1/actors/{name}/ask/Inc"].post |= del(.responses) | .paths["/v1/actors/{name}/ask/Inc"].post.parameters[0] = {"name": 5}' \
    "$TMP/openapi.json" >"$TMP/broken2.json"
if validate "$TMP/broken2.json"; then nok "a broken operation passed"; else ok "a broken operation fails"; fi

# Registered at run time: the next document has it, and is still valid.
doc=$(jq -c '.messages[] | select(.name=="Inc") | .name="Double" | .uuid="d0b1e000-0000-4000-8000-000000000002" | .request.properties.factor={"type":"number","format":"double","nullable":true}' "$ROOT/schemas/counter.json")
req POST "$G/admin/subjects/remote::MyActor::Double/versions" -H "$CT" -d "{\"schema\":$doc}"
expect "register a new message" 200
req GET "$G/openapi.json"
cp "$TMP/body" "$TMP/openapi2.json"
[ "$(jq '.paths | has("/v1/actors/{name}/ask/Double")' "$TMP/openapi2.json")" = true ] && ok "the new message has a path" || nok "no Double path"
if validate "$TMP/openapi2.json"; then ok "still valid after registering"; else nok "invalid after registering" "$(head -c 600 "$TMP/validate.out")"; fi

stop gw TERM
finish
