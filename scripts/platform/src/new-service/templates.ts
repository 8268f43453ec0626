import type { LocalPorts } from "./local-ports.js";
import type { ServiceNaming } from "./naming.js";

/** A file the scaffold writes, relative to the checkout's root. */
export interface ScaffoldFile {
  readonly path: string;
  readonly content: string;
}

/**
 * The files of a new, working service: its declaration (package.json with a `lattice` block), its contract (a
 * .proto with one unary method, its google.api.http mapping and its field rules as buf.validate options, which the
 * kit enforces; buf STANDARD lint clean), business rules without gRPC types, a transport-only handler, the module,
 * main and a test. Formatted as prettier formats them for short names; the scaffold runs prettier over them, so a
 * long name that wraps a line is formatted too.
 */
export function serviceFiles(names: ServiceNaming, ports: LocalPorts): ScaffoldFile[] {
  const dir = `services/${names.service}`;
  return [
    { path: `${dir}/package.json`, content: packageJson(names, ports) },
    { path: `${dir}/tsconfig.json`, content: TSCONFIG },
    { path: `${dir}/src/main.ts`, content: main(names) },
    { path: `${dir}/src/module.ts`, content: moduleFile(names) },
    { path: `${dir}/src/handler.ts`, content: handler(names) },
    { path: `${dir}/src/${names.service}.ts`, content: rules(names) },
    { path: `${dir}/test/${names.service}.test.ts`, content: test(names) },
    { path: `proto/${names.protoFile}`, content: proto(names) },
  ];
}

function packageJson(names: ServiceNaming, ports: LocalPorts): string {
  const manifest = {
    name: `@lattice/${names.service}`,
    version: "0.1.0",
    private: true,
    description: `The ${names.service} service (say here what it does)`,
    type: "module",
    main: "./dist/src/main.js",
    lattice: { grpcServices: [names.fullGrpcService], ports },
    dependencies: { "@lattice/kit": "0.1.0", "@lattice/proto": "0.1.0" },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const TSCONFIG = `{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": ".", "outDir": "dist" },
  "include": ["src/**/*.ts", "test/**/*.ts"],
  "references": [{ "path": "../../proto" }, { "path": "../kit" }]
}
`;

const main = (names: ServiceNaming) => `import { runService } from "@lattice/kit";
import { ${names.camel}Module } from "./module.js";

await runService(${names.camel}Module);
`;

const moduleFile = (names: ServiceNaming) => `import { defineService, serviceDeclaration } from "@lattice/kit";
import { ${names.definition} } from "${names.protoModule}";
import { ${names.camel}Handler } from "./handler.js";

/** The ${names.service} service as the kit runs it, in its own process (main.ts) or inside a test. */
export const ${names.camel}Module = defineService({
  declaration: serviceDeclaration(import.meta.url),
  setup({ server }) {
    server.addService(${names.definition}, ${names.camel}Handler());
  },
});
`;

const handler = (names: ServiceNaming) => `import type { ServiceImplementation } from "@lattice/kit";
import type { ${names.definition} } from "${names.protoModule}";
import * as rules from "./${names.service}.js";

/** Transport only: protobuf messages in and out, the rules live in ${names.service}.ts. */
export function ${names.camel}Handler(): ServiceImplementation<typeof ${names.definition}> {
  return {
    echo(request) {
      return { message: rules.echo(request.message) };
    },
  };
}
`;

const rules = (names: ServiceNaming) => `/**
 * The ${names.service} service's business rules. Plain TypeScript: no gRPC or protobuf types, so it is tested and
 * reused without a server; the handler translates to and from the contract. Field rules (a message of 1 to 100
 * characters, not only white space) are declared in the .proto and enforced by the kit before a request gets here:
 * only rules a contract cannot state belong in this file, throwing the kit's domain errors (ValidationError,
 * NotFoundError, PreconditionError).
 */

/** The message, trimmed of surrounding white space. */
export function echo(message: string): string {
  return message.trim();
}
`;

const test = (names: ServiceNaming) => `import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Status } from "@lattice/kit";
import { grpcErrorOf, startTestService } from "@lattice/kit/testing";
import { ${names.definition} } from "${names.protoModule}";
import { echo } from "../src/${names.service}.js";
import { ${names.camel}Module } from "../src/module.js";

describe("echo", () => {
  it("answers the message trimmed", () => {
    assert.equal(echo("  Ada "), "Ada");
  });
});

describe("the ${names.service} service", () => {
  it("answers Echo over gRPC", async () => {
    await using service = await startTestService(${names.camel}Module);
    const client = service.client(${names.definition});
    assert.equal((await client.echo({ message: " Ada " })).message, "Ada");
  });

  it("refuses an empty or oversize message by the contract's rules, naming the field", async () => {
    await using service = await startTestService(${names.camel}Module);
    const client = service.client(${names.definition});
    for (const [message, rule] of [
      [" \\t", "string.not_blank"],
      ["a".repeat(101), "string.max_len"],
    ] as const) {
      const error = await grpcErrorOf(client.echo({ message }));
      assert.equal(error.code, Status.INVALID_ARGUMENT);
      const violations = error.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.reason]);
      assert.deepEqual(violations, [["message", rule]]);
    }
  });
});
`;

const proto = (names: ServiceNaming) => `syntax = "proto3";

package ${names.protoPackage};

import "buf/validate/validate.proto";
import "google/api/annotations.proto";

// ${names.grpcService} is the ${names.service} service. Say here what it does.
service ${names.grpcService} {
  // Echo answers a message with the same message, trimmed. Replace it with the service's first real method.
  rpc Echo(EchoRequest) returns (EchoResponse) {
    option (google.api.http) = {
      post: "/v1/${names.service}:echo"
      body: "*"
    };
  }
}

message EchoRequest {
  // What to echo: 1 to 100 characters, not only white space. The kit enforces these rules for every method.
  string message = 1 [
    (buf.validate.field).string.max_len = 100,
    (buf.validate.field).cel = {
      id: "string.not_blank"
      message: "must not be empty"
      expression: "this.trim() != ''"
    }
  ];
}

message EchoResponse {
  // The message, trimmed.
  string message = 1;
}
`;
