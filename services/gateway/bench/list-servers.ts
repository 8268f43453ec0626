/**
 * The servers of the list benchmark: a UserService whose ListUsers answers the same 100 users every time (no
 * database, so the comparison measures transport and encoding only) on a bare grpc-js server (`grpc`) or as the kit
 * runs it, full chain (`lattice`, GRPC_PORT and the kit's other settings from the environment), and a plain Node
 * server answering the same users as JSON over HTTP/2 (h2c, `json`) or HTTP/1.1 (`json-http1`).
 * `node list-servers.js grpc|lattice|json|json-http1 [<port>]`.
 */
import { createServer as createHttp1Server } from "node:http";
import { createServer } from "node:http2";
import { fileURLToPath } from "node:url";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { defineService, readDeclaration, runService } from "@lattice/kit";
import { UserServiceService, type User } from "@lattice/proto/lattice/user/v1/user";

/** The 100 users both servers answer with. */
export function hundredUsers(): User[] {
  return Array.from({ length: 100 }, (_, i) => ({
    name: `users/0000000${i}-0000-4000-8000-${String(i).padStart(12, "0")}`,
    email: `user${i}@example.com`,
    displayName: `User number ${i}`,
    createTime: new Date(Date.UTC(2024, 0, 1, 0, 0, i)),
    updateTime: new Date(Date.UTC(2024, 0, 2, 0, 0, i)),
    etag: `"${i}"`,
  }));
}

const [kind, port] = process.argv.slice(2);
const users = hundredUsers();
if (kind === "grpc") {
  const server = new Server();
  const unimplemented = () => {
    throw new Error("not part of the benchmark");
  };
  server.addService(UserServiceService, {
    listUsers: (_call: unknown, done: (e: null, r: unknown) => void) => done(null, { users, nextPageToken: "" }),
    createUser: unimplemented,
    getUser: unimplemented,
    updateUser: unimplemented,
    deleteUser: unimplemented,
  });
  server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), () => undefined);
} else if (kind === "lattice") {
  // The user service's declaration without its database: the handler answers from memory.
  const { database: _database, ...declaration } = readDeclaration(
    fileURLToPath(new URL("../../../user", import.meta.url)),
  );
  const unimplemented = () => {
    throw new Error("not part of the benchmark");
  };
  await runService(
    defineService({
      declaration,
      setup({ server }) {
        server.addService(UserServiceService, {
          listUsers: () => ({ users, nextPageToken: "" }),
          createUser: unimplemented,
          getUser: unimplemented,
          updateUser: unimplemented,
          deleteUser: unimplemented,
        });
      },
    }),
  );
} else if (kind === "json" || kind === "json-http1") {
  // What a hand-written JSON endpoint would do per request: build the objects and JSON.stringify them.
  const body = () =>
    JSON.stringify({
      users: users.map((u) => ({
        name: u.name,
        email: u.email,
        displayName: u.displayName,
        createTime: u.createTime?.toISOString(),
        updateTime: u.updateTime?.toISOString(),
        etag: u.etag,
      })),
      nextPageToken: "",
    });
  const headers = { "content-type": "application/json" };
  if (kind === "json")
    createServer((_req, res) => res.writeHead(200, headers).end(body())).listen(Number(port), "127.0.0.1");
  else createHttp1Server((_req, res) => res.writeHead(200, headers).end(body())).listen(Number(port), "127.0.0.1");
} else {
  process.stderr.write("usage: list-servers.js grpc|lattice|json|json-http1 [<port>]\n");
  process.exit(2);
}
