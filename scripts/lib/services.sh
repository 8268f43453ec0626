# The declared services of a checkout, for shell scripts: the folders in services/ whose package.json has a
# "lattice" block (the kit and other packages have none). The declaration itself is read by the kit
# (services/kit/src/declaration/service-declaration.ts); this only lists the names.
# shellcheck shell=bash

# Prints the service names of the checkout at $1, one a line, in name order. Needs node (any version).
declared_services() {
  local root="$1"
  node -e '
    const { readFileSync } = require("node:fs");
    const { basename, dirname } = require("node:path");
    const names = process.argv.slice(1)
      .filter((file) => "lattice" in JSON.parse(readFileSync(file, "utf8")))
      .map((file) => basename(dirname(file)))
      .sort();
    for (const name of names) console.log(name);
  ' "$root"/services/*/package.json
}
