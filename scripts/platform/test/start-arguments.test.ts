import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseStartArguments, selectServices, UsageError } from "../src/start-arguments.js";
import { all } from "./support.js";

describe("npm start arguments", () => {
  it("takes --only with names after it, comma lists and --only=", () => {
    assert.deepEqual(parseStartArguments([]), { only: [], xds: false, help: false, tls: false });
    assert.deepEqual(parseStartArguments(["--only", "order", "user"]).only, ["order", "user"]);
    assert.deepEqual(parseStartArguments(["--only", "order,user", "--only=greeter"]).only, [
      "order",
      "user",
      "greeter",
    ]);
    assert.equal(parseStartArguments(["--help"]).help, true);
  });

  it("takes --tls anywhere, also after --only names", () => {
    assert.deepEqual(parseStartArguments(["--only", "order", "--tls"]), {
      only: ["order"],
      xds: false,
      help: false,
      tls: true,
    });
    assert.equal(parseStartArguments(["--tls"]).tls, true);
  });

  it("refuses unknown arguments and an empty --only", () => {
    assert.throws(() => parseStartArguments(["--onyl", "order"]), UsageError);
    assert.throws(() => parseStartArguments(["order"]), /unknown argument "order"/);
    assert.throws(() => parseStartArguments(["--only"]), /--only needs at least one service name/);
  });

  it("selects every declaration, or only the named ones without the services they call", () => {
    assert.deepEqual(
      selectServices(all, []).map((service) => service.name),
      ["greeter", "order", "payment", "user"],
    );
    assert.deepEqual(
      selectServices(all, ["order"]).map((service) => service.name),
      ["order"],
    );
  });

  it("names an undeclared service and lists the declared ones", () => {
    assert.throws(
      () => selectServices(all, ["order", "gretter"]),
      /no declared service named gretter \(declared: greeter, order, payment, user\)/,
    );
  });
});
