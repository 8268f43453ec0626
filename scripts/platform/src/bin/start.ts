// `npm start` (scripts/up.sh builds, then runs this): every declared service on 127.0.0.1. See START_USAGE.
import { launch } from "../launcher.js";
import { repositoryRoot } from "../repository.js";
import { parseStartArguments, START_USAGE, UsageError } from "../start-arguments.js";

let code: number;
try {
  const args = parseStartArguments(process.argv.slice(2));
  if (args.help) {
    console.log(START_USAGE);
    code = 0;
  } else {
    code = await launch({
      root: repositoryRoot,
      only: args.only,
      xds: args.xds,
      tls: args.tls,
      env: process.env,
      terminal: process.stdout.isTTY,
      print: (line) => console.log(line),
      printError: (line) => console.error(line),
    });
  }
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`npm start: ${error.message}\n\n${START_USAGE}`);
    code = 2;
  } else {
    console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    code = 1;
  }
}
// Idle keep-alive connections of the readiness checks must not hold the exit back.
process.exit(code);
