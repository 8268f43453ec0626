/**
 * Load from h2load (nghttp2), pinned to CPU 1 while the server under test has CPU 0: a fixed time of requests over
 * `connections` HTTP/2 connections with `streams` requests in flight on each, every one logged with its duration.
 * For gRPC the body is a file holding one length-prefixed message (5-byte frame header + the serialized request).
 * h2load checks HTTP statuses only: whether a server answers grpc-status 0 is checked once with a real client.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { percentile } from "./stats.js";

export interface LoadSpec {
  readonly url: string;
  /** Request headers, "name: value". */
  readonly headers: readonly string[];
  /** A file sent as each request's body (then the method is POST); none for a GET. */
  readonly bodyFile?: string;
  readonly seconds: number;
  readonly connections: number;
  readonly streams: number;
  /** Where h2load writes one line per request (start, status, duration). */
  readonly logFile: string;
}

export interface LoadResult {
  /** Requests per second h2load measured over the run. */
  readonly rps: number;
  /** Requests that completed with a 2xx status. */
  readonly requests: number;
  /** Median and 99th percentile request duration, in milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** h2load's frame for one gRPC message: compressed flag 0, big-endian length, the message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Runs h2load once; throws with its output when it fails or a request did not get a 2xx answer. */
export function h2load(spec: LoadSpec): LoadResult {
  const args = ["-c", "1", "h2load", "-D", String(spec.seconds), "-c", String(spec.connections)];
  args.push("-m", String(spec.streams), "-t", "1");
  for (const header of spec.headers) args.push("-H", header);
  if (spec.bodyFile) args.push("-d", spec.bodyFile);
  args.push("--log-file", spec.logFile, spec.url);
  rmSync(spec.logFile, { force: true }); // h2load appends to it
  const run = spawnSync("taskset", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`h2load failed on ${spec.url}: ${run.stderr || run.stdout}`);
  const count = (pattern: RegExp) => Number(pattern.exec(run.stdout)?.[1]);
  const done = count(/(\d+) done/);
  const succeeded = count(/(\d+) succeeded/);
  // With -D the status counts also cover requests cut off at the end: only failures are checked there.
  const failures = count(/(\d+) failed/) + count(/(\d+) errored/) + count(/(\d+) timeout/);
  const non2xx = count(/(\d+) 3xx/) + count(/(\d+) 4xx/) + count(/(\d+) 5xx/);
  if (!(done > 0) || succeeded !== done || failures !== 0 || non2xx !== 0)
    throw new Error(`${spec.url}: not every request answered 2xx:\n${run.stdout}`);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(run.stdout)?.[1]);
  // --log-file: "start_us<TAB>status<TAB>duration_us" per request.
  const durations = readFileSync(spec.logFile, "utf8")
    .trim()
    .split("\n")
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  return { rps, requests: done, p50Ms: percentile(durations, 0.5), p99Ms: percentile(durations, 0.99) };
}
