# Which tests there are (the README's Tests section): a test that needs anything outside Node and the npm packages
# (a database, NATS, containers, root, Go, Python) is an integration test, named *.integration.test.ts or kept under
# tests/*/test/; every other *.test.ts under services/*/test, scripts/*/test and beside an example (examples/<name>/) is
# a unit test.
# shellcheck shell=bash

# Prints, one per line, the compiled form (PACKAGE/dist/test/NAME.js, examples/dist/EXAMPLE/NAME.js) of each test of
# the set $1, run from the repository root: unit, integration, cluster (the integration tests of tests/cluster, which
# need the test cluster of scripts/cluster) or all. Only tests whose source exists, so a deleted test cannot linger in
# dist/ and run.
test_files() {
  local set="$1" source compiled kind
  case "$set" in
    unit | integration | cluster | all) ;;
    *)
      echo "test_files: unknown set '$set' (unit, integration, cluster or all)" >&2
      return 2
      ;;
  esac
  for source in services/*/test/*.test.ts scripts/*/test/*.test.ts tests/*/test/*.test.ts examples/*/*.test.ts; do
    [ -e "$source" ] || continue
    case "$source" in
      # The examples are one package whose folders compile to examples/dist/<name>/.
      examples/*) compiled="examples/dist/${source#examples/}" ;;
      *) compiled="${source%%/test/*}/dist/test/$(basename "$source")" ;;
    esac
    case "$source" in
      tests/cluster/*) kind=cluster ;;
      tests/* | *.integration.test.ts) kind=integration ;;
      *) kind=unit ;;
    esac
    if [ "$set" = all ] || [ "$set" = "$kind" ]; then
      printf '%s
' "${compiled%.ts}.js"
    fi
  done
}
