// Scenario 5 (churn) for k6: CLIENTS connections; each VU completes its subscription and
// subscribes again with a new id every CLIENTS/RATE seconds on average (RATE cycles/s in total),
// for DURATION seconds; then all close together and the next iteration reconnects them all.
//   k6 run -e WS_URL=ws://127.0.0.1:3002/graphql -e CLIENTS=10000 -e RATE=500 -e DURATION=20 bench/k6/churn.js
import { Counter, Trend } from "k6/metrics";
import ws from "k6/ws";
import { PARAMS, subscribeMessage, WS_URL } from "./common.js";

const CLIENTS = Number(__ENV.CLIENTS || 10000);
const RATE = Number(__ENV.RATE || 500);
const DURATION = Number(__ENV.DURATION || 20);
const ops = new Counter("churn_ops");
const reconnect = new Trend("connect_to_ack_ms", true);

export const options = {
  scenarios: {
    churn: {
      executor: "per-vu-iterations",
      vus: CLIENTS,
      iterations: 2,
      maxDuration: `${2 * DURATION + 120}s`,
    },
  },
};

export default function () {
  const t0 = Date.now();
  const period = (CLIENTS / RATE) * 1000;
  ws.connect(WS_URL, PARAMS, (socket) => {
    let id = 1;
    socket.on("open", () => socket.send('{"type":"connection_init"}'));
    socket.on("message", (m) => {
      if (m.indexOf('"connection_ack"') >= 0) {
        reconnect.add(Date.now() - t0);
        socket.send(subscribeMessage(id, "1"));
        socket.setInterval(
          () => {
            socket.send(JSON.stringify({ id: String(id), type: "complete" }));
            id++;
            socket.send(subscribeMessage(id, "1"));
            ops.add(2);
          },
          period * (0.5 + Math.random()),
        );
        socket.setTimeout(() => socket.close(), DURATION * 1000);
      } else if (m.indexOf('"type":"ping"') >= 0) socket.send('{"type":"pong"}');
    });
  });
}
