// Scenario 1 (idle) for k6: CLIENTS virtual users each hold one WebSocket with one subscription for
// HOLD seconds. Watch the router's RSS yourself (e.g. `ps -o rss= -p <pid>`); k6 reports connect
// times (ws_connecting) and acks.
//   k6 run -e WS_URL=ws://127.0.0.1:3002/graphql -e CLIENTS=10000 -e HOLD=60 bench/k6/idle.js
import { check } from "k6";
import { Counter, Trend } from "k6/metrics";
import ws from "k6/ws";
import { PARAMS, subscribeMessage, WS_URL } from "./common.js";

const CLIENTS = Number(__ENV.CLIENTS || 10000);
const HOLD = Number(__ENV.HOLD || 60);
const acked = new Counter("acked_subscriptions");
const ackTime = new Trend("connect_to_ack_ms", true);

export const options = {
  scenarios: {
    idle: { executor: "per-vu-iterations", vus: CLIENTS, iterations: 1, maxDuration: `${HOLD + 120}s` },
  },
};

export default function () {
  const t0 = Date.now();
  const res = ws.connect(WS_URL, PARAMS, (socket) => {
    socket.on("open", () => socket.send('{"type":"connection_init"}'));
    socket.on("message", (m) => {
      if (m.indexOf('"connection_ack"') >= 0) {
        ackTime.add(Date.now() - t0);
        acked.add(1);
        socket.send(subscribeMessage(1, "1"));
        socket.setTimeout(() => socket.close(), HOLD * 1000);
      } else if (m.indexOf('"type":"ping"') >= 0) socket.send('{"type":"pong"}');
    });
  });
  check(res, { "upgraded (101)": (r) => r && r.status === 101 });
}
