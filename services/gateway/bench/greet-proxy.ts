/**
 * The floor of the gateway benchmark: the least a REST-to-gRPC proxy written in Node does for Greet, over HTTP/1.1.
 * It reads the JSON body, encodes it with the generated codec, calls the greeter with a bare grpc-js client and
 * writes the answer as JSON — no routing, header mapping, deadlines, retries, breakers, metrics or error mapping.
 * `node greet-proxy.js <port> <greeter address>`; POST any path.
 */
import { createServer } from "node:http";
import { credentials } from "@grpc/grpc-js";
import { GreeterServiceClient, GreetRequest, GreetResponse } from "@lattice/proto/lattice/greeter/v1/greeter";

const [port, greeter] = process.argv.slice(2);
if (!port || !greeter) {
  process.stderr.write("usage: greet-proxy.js <port> <greeter address>\n");
  process.exit(2);
}
const client = new GreeterServiceClient(greeter, credentials.createInsecure());
const headers = { "content-type": "application/json" };

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const request = GreetRequest.fromJSON(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    client.greet(request, (error, response) => {
      if (error) res.writeHead(500, headers).end(JSON.stringify({ code: error.code, message: error.details }));
      else res.writeHead(200, headers).end(JSON.stringify(GreetResponse.toJSON(response)));
    });
  });
}).listen(Number(port), "127.0.0.1");
// Exit normally on SIGTERM, so that --cpu-prof writes its profile.
process.once("SIGTERM", () => process.exit(0));
