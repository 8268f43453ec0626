// `npm run new-service -- <name>` (scripts/new-service.sh builds this package, then runs this): a new, working
// service from a declaration. See NEW_SERVICE_USAGE and docs/adding-a-service.md.
import { spawn } from "node:child_process";
import { ServiceNameError } from "../new-service/naming.js";
import { scaffoldService, ServiceExistsError } from "../new-service/scaffold.js";
import { portIsFree } from "../ports.js";
import { repositoryRoot } from "../repository.js";

const NEW_SERVICE_USAGE = `usage: npm run new-service -- <name>

Creates services/<name> (its declaration with free local ports, main, module, handler, rules and a test) and
proto/lattice/<name>/v1/<name>.proto, registers it in tsconfig.json, charts/lattice/values.yaml and skaffold.yaml,
links the workspace and regenerates the code. <name> is a DNS label (lower-case letters, digits, single hyphens,
starting with a letter) that no service uses yet. Steps after it: docs/adding-a-service.md.`;

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repositoryRoot, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code ?? "?"}`})`));
    });
  });
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(NEW_SERVICE_USAGE);
} else if (args.length !== 1 || args[0]!.startsWith("-")) {
  console.error(`new-service: give exactly one service name\n\n${NEW_SERVICE_USAGE}`);
  process.exitCode = 2;
} else {
  try {
    const result = await scaffoldService({
      root: repositoryRoot,
      name: args[0]!,
      isFree: portIsFree,
      run,
      print: (line) => console.log(`new-service: ${line}`),
    });
    const { names, ports } = result;
    console.log(`
${names.service} is ready: ${names.fullGrpcService} on 127.0.0.1:${ports.grpc} (admin ${ports.admin}, health ${ports.health}).

Next (from this folder):
  npx tsc -b && node --test services/${names.service}/dist/test/*.test.js
  npm start -- --only ${names.service}
  npx buf curl --protocol grpc --http2-prior-knowledge -d '{"message":"Ada"}' \\
    http://127.0.0.1:${ports.grpc}/${names.fullGrpcService}/Echo
Then replace Echo with the service's own methods: docs/adding-a-service.md.`);
  } catch (error) {
    if (error instanceof ServiceNameError || error instanceof ServiceExistsError) {
      console.error(`new-service: ${error.message}`);
      process.exitCode = 2;
    } else {
      console.error(`new-service: ${error instanceof Error ? error.message : String(error)}`);
      console.error("new-service: what was written so far stays; `git status` shows it");
      process.exitCode = 1;
    }
  }
}
