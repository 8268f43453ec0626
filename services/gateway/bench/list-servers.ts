/**
 * The servers of the list benchmark: a UserService whose ListUsers answers the same 100 users every time (no
 * database, so the comparison measures transport and encoding only), and a plain Node HTTP/2 server answering the
 * same users as JSON. `node list-servers.js grpc <port>` or `node list-servers.js json <port>`.
 */
import { createServer } from "node:http2";
import { Server, ServerCredentials } from "@grpc/grpc-js";
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
} else if (kind === "json") {
  // What a hand-written JSON endpoint would do per request: build the objects and JSON.stringify them.
  createServer((_req, res) => {
    const body = JSON.stringify({
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
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  }).listen(Number(port), "127.0.0.1");
} else {
  process.stderr.write("usage: list-servers.js grpc|json <port>\n");
  process.exit(2);
}
