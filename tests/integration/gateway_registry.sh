#!/bin/sh
# The schema registry's admin API, Confluent-shaped under /admin: subjects,
# versions, ids, UUIDs, registering with compatibility checks, testing
# compatibility, soft deletes, configuration; the registry driving request
# validation; persistence across a restart; SIGHUP and /admin/reload.
PORT_BASE=39300
. "$(dirname "$0")/data/gateway_lib.sh"

mkdir -p "$TMP/schemas"
cp "$ROOT/schemas/counter.json" "$DATA"/gateway_schemas/*.json "$TMP/schemas/"
port P
G=http://127.0.0.1:$P
A=$G/admin
U=$G/v1/actors
INC=remote::MyActor::Inc
AUTH="Authorization: Bearer $TOKEN"
flags="--http 127.0.0.1:$P --db $TMP/reg.db --schemas $TMP/schemas --admin-token $TOKEN"
start gw "$GWL" $flags
check "gateway is ready" wait_http "$G/readyz" 204

# expect_reg DESCRIPTION STATUS CONFLUENT_CODE: a registry error.
expect_reg() {
    if [ "$STATUS" = "$2" ] && [ "$(body .error.code)" = "$3" ] &&
        [ "$(body .error.details.error_code)" = "$3" ]; then
        ok "$1"
    else
        nok "$1" "want $2 $3, got $STATUS $(head -c 300 "$TMP/body")"
    fi
}

# A message document for Inc with extra properties (JSON text).
inc_doc() {
    jq -c --argjson extra "$1" --argjson req "$2" \
        '.messages[] | select(.name=="Inc") | .request.properties += $extra | .request.required += $req' \
        "$ROOT/schemas/counter.json"
}
# Confluent's request body: {"schema": "<document as a string>"}.
wrap() {
    jq -cn --arg s "$1" '{schema: $s, schemaType: "JSON"}'
}

# ------------------------------------------------------------ reading

req GET "$A/subjects" -H "$AUTH"
expect "list subjects" 200
[ "$(body "index(\"$INC\") != null")" = true ] && ok "subjects include $INC" || nok "subjects: $(cat "$TMP/body")"
[ "$(body 'index("test::Loose::Ghost") != null')" = true ] && ok "subjects from every file" || nok "loose subjects"
req GET "$A/subjects/$INC/versions" -H "$AUTH"
[ "$STATUS" = 200 ] && [ "$(bodyc .)" = "[1]" ] && ok "versions of Inc: [1]" || nok "versions: $(cat "$TMP/body")"
req GET "$A/subjects/$INC/versions/1" -H "$AUTH"
expect "version 1" 200
id1=$(body .id)
[ "$(body .subject)" = "$INC" ] && [ "$(body .version)" = 1 ] && [ "$(body .schemaType)" = JSON ] &&
    ok "version 1 is Confluent-shaped" || nok "version body: $(cat "$TMP/body")"
[ "$(body '.schema | fromjson | .uuid')" = 3b9128f1-0593-44a0-b83a-f4188baa05bf ] && ok "schema text is the message document" || nok "schema text"
req GET "$A/subjects/$INC/versions/latest" -H "$AUTH"
[ "$(body .id)" = "$id1" ] && ok "latest is version 1" || nok "latest"
req GET "$A/subjects/$INC/versions/-1" -H "$AUTH"
[ "$(body .version)" = 1 ] && ok "version -1 is the latest" || nok "-1"
req GET "$A/subjects/$INC/versions/1/schema" -H "$AUTH"
[ "$STATUS" = 200 ] && [ "$(body .name)" = Inc ] && ok "versions/1/schema is the bare document" || nok "bare schema"
req GET "$A/schemas/ids/$id1" -H "$AUTH"
[ "$STATUS" = 200 ] && [ "$(body '.schema | fromjson | .name')" = Inc ] && ok "schema by id" || nok "by id: $STATUS"
req GET "$A/schemas/ids/$id1/versions" -H "$AUTH"
[ "$(bodyc '.[0]')" = "{\"subject\":\"$INC\",\"version\":1}" ] && ok "versions of an id" || nok "id versions: $(cat "$TMP/body")"
req GET "$A/schemas/uuids/3B9128F1-0593-44A0-B83A-F4188BAA05BF" -H "$AUTH"
[ "$STATUS" = 200 ] && [ "$(bodyc .subjects)" = "[\"$INC\"]" ] && [ "$(body '.versions[0].version')" = 1 ] &&
    ok "schema by UUID (any case)" || nok "by uuid: $(cat "$TMP/body")"
req GET "$A/schemas/types" -H "$AUTH"
[ "$(bodyc .)" = '["JSON"]' ] && ok "schema types" || nok "types"

req GET "$A/subjects/nope::X/versions" -H "$AUTH"
expect_reg "unknown subject: 40401" 404 40401
req GET "$A/subjects/$INC/versions/99" -H "$AUTH"
expect_reg "unknown version: 40402" 404 40402
req GET "$A/subjects/$INC/versions/abc" -H "$AUTH"
expect_reg "invalid version: 42202" 422 42202
req GET "$A/schemas/ids/999999" -H "$AUTH"
expect_reg "unknown id: 40403" 404 40403
req GET "$A/schemas/ids/x" -H "$AUTH"
expect_reg "bad id: 40403" 404 40403
req GET "$A/schemas/uuids/00000000-0000-4000-8000-000000000000" -H "$AUTH"
expect_reg "unknown UUID: 40403" 404 40403

# ------------------------------------------------------------ registering

# Before v2, a "note" property is refused by the schema.
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":1,"note":"x"}'
expect "v1 refuses an unknown property" 422 SCHEMA_VIOLATION

v2=$(inc_doc '{"note":{"type":"string","nullable":true}}' '[]')
req POST "$A/compatibility/subjects/$INC/versions/latest" -H "$AUTH" -H "$CT" -d "$(wrap "$v2")"
[ "$STATUS" = 200 ] && [ "$(body .is_compatible)" = true ] && ok "optional field: compatible (test only)" || nok "compat check: $(cat "$TMP/body")"
req GET "$A/subjects/$INC/versions" -H "$AUTH"
[ "$(bodyc .)" = "[1]" ] && ok "testing compatibility registered nothing" || nok "compat registered"
req POST "$A/subjects/$INC/versions" -H "$AUTH" \
    -H "Content-Type: application/vnd.schemaregistry.v1+json" -d "$(wrap "$v2")"
[ "$STATUS" = 200 ] && [ "$(body .version)" = 2 ] && ok "register v2 (BACKWARD-compatible)" || nok "register v2: $(cat "$TMP/body")"
id2=$(body .id)
[ "$id2" != "$id1" ] && ok "v2 has its own id" || nok "id2 = id1"
req POST "$A/subjects/$INC/versions" -H "$AUTH" -H "$CT" -d "$(wrap "$v2")"
[ "$(body .version)" = 2 ] && [ "$(body .id)" = "$id2" ] && ok "registering the same document again is idempotent" || nok "re-register"
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":1,"note":"x"}'
expect "v2 drives validation at once: note accepted" 200
req POST "$A/subjects/$INC" -H "$AUTH" -H "$CT" -d "$(wrap "$v2")"
[ "$STATUS" = 200 ] && [ "$(body .version)" = 2 ] && ok "lookup of a registered document" || nok "lookup: $(cat "$TMP/body")"

bad=$(inc_doc '{"step":{"type":"integer","format":"uint32"}}' '["step"]')
req POST "$A/compatibility/subjects/$INC/versions" -H "$AUTH" -H "$CT" -d "$(wrap "$bad")"
[ "$(body .is_compatible)" = false ] && [ "$(body '.messages | length')" -ge 1 ] && ok "new required field: incompatible, with reasons" || nok "compat: $(cat "$TMP/body")"
req POST "$A/subjects/$INC/versions" -H "$AUTH" -H "$CT" -d "$(wrap "$bad")"
expect_reg "registering an incompatible version: 40901" 409 40901
req POST "$A/subjects/$INC/versions" -H "$AUTH" -H "$CT" -d '{"schema":"{\"name\":\"Inc\"}"}'
expect_reg "invalid document: 42201" 422 42201
req POST "$A/subjects/$INC/versions" -H "$AUTH" -H "$CT" -d "{\"schemaType\":\"AVRO\",\"schema\":$(jq -Rn --arg s "$v2" '$s')}"
expect_reg "schemaType other than JSON: 42201" 422 42201
req POST "$A/subjects/$INC/versions" -H "$AUTH" -H "$CT" -d '{"schema":'
expect "bad JSON body" 400 BAD_JSON
req POST "$A/subjects/$INC/versions" -H "$AUTH" -H "Content-Type: text/plain" -d "$(wrap "$v2")"
expect "registry body must be JSON" 415 UNSUPPORTED_MEDIA_TYPE
req POST "$A/subjects/bad%20subject/versions" -H "$AUTH" -H "$CT" -d "$(wrap "$v2")"
expect_reg "invalid subject: 42208" 422 42208
# The document may also come as an object.
reset=$(jq -c '.messages[] | select(.name=="Inc") | .name="Reset" | .uuid="0f0f0f0f-1111-4222-8333-444444444444"' "$ROOT/schemas/counter.json")
req POST "$A/subjects/remote::MyActor::Reset/versions" -H "$AUTH" -H "$CT" -d "{\"schema\":$reset}"
[ "$STATUS" = 200 ] && [ "$(body .version)" = 1 ] && ok "new subject, document as an object" || nok "new subject: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Reset" -H "$CT" -d '{"amount":1}'
expect "a message the actor does not handle" 404 MESSAGE_NOT_FOUND
[ "$(body .error.details.kind)" = UnknownMessage ] && ok "details.kind UnknownMessage" || nok "kind $(body .error.details.kind)"

# ------------------------------------------------------------ config

req GET "$A/config" -H "$AUTH"
[ "$(body .compatibilityLevel)" = BACKWARD ] && ok "global level BACKWARD by default" || nok "config: $(cat "$TMP/body")"
req PUT "$A/config/remote::MyActor::Dec" -H "$AUTH" -H "$CT" -d '{"compatibility":"FULL"}'
[ "$STATUS" = 200 ] && [ "$(body .compatibility)" = FULL ] && ok "subject level FULL" || nok "put subject config"
req GET "$A/config/remote::MyActor::Dec" -H "$AUTH"
[ "$(body .compatibilityLevel)" = FULL ] && ok "read back FULL" || nok "get subject config"
req GET "$A/config/$INC" -H "$AUTH"
expect_reg "no subject level: 40408" 404 40408
req GET "$A/config/$INC?defaultToGlobal=true" -H "$AUTH"
[ "$(body .compatibilityLevel)" = BACKWARD ] && ok "defaultToGlobal" || nok "defaultToGlobal: $(cat "$TMP/body")"
req PUT "$A/config" -H "$AUTH" -H "$CT" -d '{"compatibility":"SIDEWAYS"}'
expect_reg "invalid level: 42203" 422 42203
req PUT "$A/config" -H "$AUTH" -H "$CT" -d '{"compatibility":"NONE"}'
[ "$(body .compatibility)" = NONE ] && ok "global level NONE" || nok "put global"
req POST "$A/subjects/$INC/versions" -H "$AUTH" -H "$CT" -d "$(wrap "$bad")"
[ "$STATUS" = 200 ] && [ "$(body .version)" = 3 ] && ok "NONE: the incompatible version registers" || nok "NONE register: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":1}'
expect "v3 requires step" 422 SCHEMA_VIOLATION
[ "$(body .error.details.pointer)" = "" ] && ok "missing property reported at the object" || nok "pointer $(body .error.details.pointer)"

# ------------------------------------------------------------ deleting

req DELETE "$A/subjects/$INC/versions/3" -H "$AUTH"
[ "$STATUS" = 200 ] && [ "$(cat "$TMP/body")" = 3 ] && ok "soft delete v3" || nok "delete v3: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":1,"note":"back to v2"}'
expect "after the delete v2 is the latest again" 200
req DELETE "$A/subjects/$INC/versions/3" -H "$AUTH"
expect_reg "deleting twice: 40406" 404 40406
req GET "$A/subjects/$INC/versions" -H "$AUTH"
[ "$(bodyc .)" = "[1,2]" ] && ok "deleted version hidden" || nok "versions: $(cat "$TMP/body")"
req GET "$A/subjects/$INC/versions?deleted=true" -H "$AUTH"
[ "$(bodyc .)" = "[1,2,3]" ] && ok "?deleted=true shows it" || nok "deleted=true: $(cat "$TMP/body")"
req DELETE "$A/subjects/remote::MyActor::Dec" -H "$AUTH"
[ "$STATUS" = 200 ] && [ "$(bodyc .)" = "[1]" ] && ok "soft delete a subject" || nok "delete subject: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Dec" -H "$CT" -d '{"amount":1}'
expect "deleted subject: no route" 404 MESSAGE_NOT_FOUND
req GET "$A/subjects" -H "$AUTH"
[ "$(body 'index("remote::MyActor::Dec")')" = null ] && ok "deleted subject not listed" || nok "listed"
req GET "$A/subjects?deleted=true" -H "$AUTH"
[ "$(body 'index("remote::MyActor::Dec") != null')" = true ] && ok "listed with ?deleted=true" || nok "not listed with deleted"

# ------------------------------------------------------------ restart

stop gw TERM
[ "$STOP_STATUS" = 0 ] && ok "exit 0" || nok "exit $STOP_STATUS"
start gw "$GWL" $flags
check "restarted" wait_http "$G/readyz" 204
req GET "$A/subjects/$INC/versions?deleted=true" -H "$AUTH"
[ "$(bodyc .)" = "[1,2,3]" ] && ok "versions survive a restart" || nok "after restart: $(cat "$TMP/body")"
req GET "$A/subjects/$INC/versions" -H "$AUTH"
[ "$(bodyc .)" = "[1,2]" ] && ok "soft delete survives a restart" || nok "deleted after restart: $(cat "$TMP/body")"
req GET "$A/subjects/$INC/versions/2" -H "$AUTH"
[ "$(body .id)" = "$id2" ] && ok "ids survive a restart" || nok "id after restart"
req GET "$A/config" -H "$AUTH"
[ "$(body .compatibilityLevel)" = NONE ] && ok "global level survives a restart" || nok "level after restart"
req POST "$U/my_actor/ask/Inc" -H "$CT" -d '{"amount":1,"note":"after restart"}'
expect "v2 still drives validation after a restart" 200
# schemas/ is loaded at every start: a subject deleted through the API but
# still in a file registers again, as a new version (as Confluent does when
# a deleted subject is registered to).
req GET "$A/subjects/remote::MyActor::Dec/versions?deleted=true" -H "$AUTH"
[ "$(bodyc .)" = "[1,2]" ] && ok "a deleted subject still in schemas/ comes back as version 2" || nok "Dec after restart: $(cat "$TMP/body")"
req POST "$U/my_actor/ask/Dec" -H "$CT" -d '{"amount":1}'
expect "and is served again" 200

# ------------------------------------------------------------ reload

cat >"$TMP/schemas/hup.json" <<'EOF'
{"actor": "test::Hup", "messages": [{"name": "Ping", "uuid": "abcdef01-2345-4678-89ab-cdef01234567", "kind": "tell", "request": {"type": "null"}}]}
EOF
kill -HUP "$(pid_of gw)"
hup_loaded() {
    [ "$(curl -s -H "$AUTH" "$A/subjects" | jq 'index("test::Hup::Ping") != null')" = true ]
}
check "SIGHUP loads a new schema file" wait_until 10 hup_loaded
check "reload logged" wait_until 10 log_has gw 'select(.event=="schemas_reloaded")'
printf '{"actor": "test::Broken", "messages": [{"name": "X", "uuid": "nope"}]}' >"$TMP/schemas/zz_broken.json"
req POST "$A/reload" -H "$AUTH"
expect_reg "reload with a broken file: 42201" 422 42201
case $(body .error.message) in *zz_broken.json:1:*) ok "the error names file and line" ;; *) nok "reload error: $(body .error.message)" ;; esac
kill -HUP "$(pid_of gw)"
check "SIGHUP with a broken file logs the error" wait_until 10 log_has gw \
    'select(.event=="schemas_reload_failed" and (.message|test("zz_broken.json")))'
req GET "$G/healthz"
expect "still serving after a failed reload" 204
rm "$TMP/schemas/zz_broken.json"
req POST "$A/reload" -H "$AUTH"
[ "$STATUS" = 200 ] && [ "$(body .messages)" -ge 9 ] && ok "/admin/reload" || nok "reload: $(cat "$TMP/body")"

stop gw TERM
finish
