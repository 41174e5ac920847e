// An independent WebSocket server for the end-to-end tests: node's `ws`
// (pinned in tests/jco/package.json), a second implementation that shares no
// code with tungstenite, beside the Python `websockets` one. Paths:
//
//   /echo                      echoes every message
//   /fragments?pieces=N        echoes every message as N fragments (a
//                              continuation frame for each but the first),
//                              after a ping
//   /close?code=C&reason=R     closes with C and R after the first message
//
// Usage: node ws_server.cjs
// It prints "READY <port>" once it listens on 127.0.0.1, then one JSON line
// per connection that ended: {"path": ..., "close_code": ..., "close_reason":
// ..., "messages": ...}, the close frame the client sent (null code when none)
// and how many messages it received, as websockets_server.py does.

"use strict";

const path = require("node:path");
const { createRequire } = require("node:module");
const { WebSocketServer } = createRequire(path.join(__dirname, "../jco/package.json"))("ws");

// No permessage-deflate (as the Python peer): the tests compare frames'
// payloads, and the client offers no extension.
const server = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  perMessageDeflate: false,
  maxPayload: 64 * 1024 * 1024,
});

/** `data` (a Buffer) in `pieces` parts of nearly equal length. */
function split(data, pieces) {
  const parts = [];
  const step = Math.max(1, Math.ceil(data.length / pieces));
  for (let at = 0; at < data.length; at += step) {
    parts.push(data.subarray(at, at + step));
  }
  return parts.length > 0 ? parts : [data];
}

server.on("connection", (ws, request) => {
  const target = new URL(request.url, "ws://127.0.0.1");
  let messages = 0;
  ws.on("close", (code, reason) => {
    // 1006: the connection ended without a close frame; 1005: a close frame
    // without a code.
    const sent = code !== 1006;
    console.log(
      JSON.stringify({
        path: target.pathname,
        close_code: sent && code !== 1005 ? code : null,
        close_reason: sent && code !== 1005 ? reason.toString() : null,
        messages,
      }),
    );
  });
  ws.on("error", () => {});
  switch (target.pathname) {
    case "/echo":
      ws.on("message", (data, isBinary) => {
        messages += 1;
        ws.send(data, { binary: isBinary });
      });
      break;
    case "/fragments": {
      const pieces = Number(target.searchParams.get("pieces") ?? "3");
      ws.on("message", (data, isBinary) => {
        messages += 1;
        ws.ping();
        const parts = split(data, pieces);
        parts.forEach((part, i) => {
          ws.send(part, { binary: isBinary, fin: i === parts.length - 1 });
        });
      });
      break;
    }
    case "/close":
      ws.once("message", () => {
        messages += 1;
        ws.close(Number(target.searchParams.get("code")), target.searchParams.get("reason") ?? "");
      });
      break;
    default:
      ws.close(1008, `no such path ${target.pathname}`);
  }
});

server.on("listening", () => {
  console.log(`READY ${server.address().port}`);
});
