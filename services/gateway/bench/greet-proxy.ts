/**
 * The floors of the gateway benchmark, over HTTP/1.1, POST any path:
 *   `node greet-proxy.js <port> <greeter address>` — the least a REST-to-gRPC proxy written in Node does for Greet:
 *     it reads the JSON body, encodes it with the generated codec, calls the greeter with a bare grpc-js client and
 *     writes the answer as JSON — no routing, header mapping, deadlines, retries, breakers, metrics or error mapping.
 *   `node greet-proxy.js <port> --no-backend` — Node's HTTP/1.1 server alone: the same body read and JSON answer,
 *     the greeting made in place, nothing forwarded. What any gateway in Node spends before it calls anything.
 */
import { createServer } from "node:http";
import { credentials } from "@grpc/grpc-js";
import { GreeterServiceClient, GreetRequest, GreetResponse } from "@lattice/proto/lattice/greeter/v1/greeter";

const [port, greeter] = process.argv.slice(2);
if (!port || !greeter) {
  process.stderr.write("usage: greet-proxy.js <port> <greeter address> | --no-backend\n");
  process.exit(2);
}
const headers = { "content-type": "application/json" };
type Answer = (
  request: GreetRequest,
  reply: (error: { code: number; details: string } | null, response?: GreetResponse) => void,
) => void;

let answer: Answer;
if (greeter === "--no-backend") {
  answer = (request, reply) => reply(null, { message: `Hello, ${request.name}!`, language: request.language });
} else {
  const client = new GreeterServiceClient(greeter, credentials.createInsecure());
  answer = (request, reply) => client.greet(request, (error, response) => reply(error, response));
}

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const request = GreetRequest.fromJSON(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    answer(request, (error, response) => {
      if (error) res.writeHead(500, headers).end(JSON.stringify({ code: error.code, message: error.details }));
      else res.writeHead(200, headers).end(JSON.stringify(GreetResponse.toJSON(response!)));
    });
  });
}).listen(Number(port), "127.0.0.1");
// Exit normally on SIGTERM, so that --cpu-prof writes its profile.
process.once("SIGTERM", () => process.exit(0));
