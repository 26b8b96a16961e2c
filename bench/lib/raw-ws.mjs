/**
 * A minimal WebSocket client on `net` for the generator's `--client raw` mode: the handshake, a
 * frame parser that walks each TCP chunk in place (no per-frame stream machinery, no copies for
 * whole frames) and masked text frames out. It exposes the small part of the `ws` API the
 * generator uses (open/message/close/error events, send, pause, resume, close, terminate).
 * Server frames are never fragmented by the stacks we test; fragments are reported as errors.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import net from "node:net";

const HEADER_END = Buffer.from("\r\n\r\n");
export const OPEN = 1;
export const CLOSED = 3;

function frame(opcode, payload) {
  const len = payload.length;
  const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const buf = Buffer.allocUnsafe(head + len);
  buf[0] = 0x80 | opcode;
  if (len < 126) buf[1] = 0x80 | len;
  else if (len < 65536) {
    buf[1] = 0x80 | 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 0x80 | 127;
    buf.writeUInt32BE(0, 2);
    buf.writeUInt32BE(len, 6);
  }
  // A zero masking key: valid framing, and the payload needs no XOR.
  buf.writeUInt32BE(0, head - 4);
  payload.copy(buf, head);
  return buf;
}

export class RawWebSocket extends EventEmitter {
  constructor(url, protocol, { localAddress } = {}) {
    super();
    const u = new URL(url);
    this.readyState = 0;
    this.closeCode = 1006;
    this.upgraded = false;
    this.pending = null; // unparsed bytes
    const socket = net.connect({ host: u.hostname, port: Number(u.port), localAddress });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("connect", () => {
      socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
      );
    });
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", (err) => this.emit("error", err));
    socket.on("close", () => {
      this.readyState = CLOSED;
      this.emit("close", this.closeCode);
    });
  }

  onData(chunk) {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    if (!this.upgraded) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        this.pending = buf;
        return;
      }
      const head = buf.toString("latin1", 0, end);
      if (!head.startsWith("HTTP/1.1 101")) {
        this.emit("error", new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
        this.socket.destroy();
        return;
      }
      this.upgraded = true;
      this.readyState = OPEN;
      this.emit("open");
      buf = buf.subarray(end + 4);
    }
    let i = 0;
    const n = buf.length;
    while (n - i >= 2) {
      const b0 = buf[i];
      let len = buf[i + 1] & 0x7f;
      let h = 2;
      if (len === 126) {
        if (n - i < 4) break;
        len = buf.readUInt16BE(i + 2);
        h = 4;
      } else if (len === 127) {
        if (n - i < 10) break;
        len = buf.readUInt32BE(i + 6);
        h = 10;
      }
      if (n - i < h + len) break;
      const start = i + h;
      const end = start + len;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x80) === 0 || opcode === 0) this.emit("error", new Error("fragmented frame"));
      else if (opcode === 1 || opcode === 2) this.emit("message", buf.subarray(start, end));
      else if (opcode === 9) this.socket.write(frame(10, buf.subarray(start, end)));
      else if (opcode === 8) {
        this.closeCode = len >= 2 ? buf.readUInt16BE(start) : 1005;
        this.socket.end();
      }
      i = end;
    }
    // Keep a partial frame; copy so the chunk it came from can be collected.
    if (i < n) this.pending = Buffer.from(buf.subarray(i));
  }

  send(text) {
    if (this.readyState === OPEN) this.socket.write(frame(1, Buffer.from(text)));
  }

  pause() {
    this.socket.pause();
  }

  resume() {
    this.socket.resume();
  }

  close(code = 1000) {
    if (this.readyState !== OPEN) return this.socket.destroy();
    const p = Buffer.allocUnsafe(2);
    p.writeUInt16BE(code, 0);
    this.socket.write(frame(8, p));
    this.socket.end();
  }

  terminate() {
    this.socket.destroy();
  }
}
