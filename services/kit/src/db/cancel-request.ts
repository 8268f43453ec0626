import { connect, type Socket } from "node:net";

/** Where a backend runs and the key that proves the right to cancel its statement (from BackendKeyData). */
export interface BackendKey {
  /** Host name, address, or a unix socket directory (starting with "/"). */
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

// CancelRequest: length 16, the code 80877102 (1234 in the high 16 bits, 5678 in the low), process id, secret key.
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Sends PostgreSQL's cancel request for whatever statement the backend is running, on a connection of its own — so
 * it works while every pooled connection is busy, and needs no query. The server answers nothing and closes the
 * connection; this resolves then, or after `timeoutMs`, and never rejects: a cancel that cannot be delivered (the
 * server is down or frozen) leaves the statement to the server's own timeouts. Returns whether it was sent.
 */
export function sendCancelRequest(key: BackendKey, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let sent = false;
    const socket: Socket = key.host.startsWith("/")
      ? connect(`${key.host}/.s.PGSQL.${key.port}`)
      : connect({ host: key.host, port: key.port });
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(sent);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.once("connect", () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      message.writeInt32BE(key.processId, 8);
      message.writeInt32BE(key.secretKey, 12);
      socket.write(message, () => {
        sent = true;
      });
    });
    socket.once("error", finish);
    socket.once("close", finish);
  });
}
